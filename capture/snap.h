/* snap.h - an immutable, reference-counted sample of every socket, with each one's history. */
#ifndef LINGERD_SNAP_H
#define LINGERD_SNAP_H

#include <stddef.h>
#include <stdint.h>

#include "kstat.h"
#include "sock.h"

/* Another network namespace whose sockets are in the snapshot (rec.netns == id). */
struct snap_netns {
	uint64_t id;
	char name[64];
	char kind[8];
	int32_t pid;
	char comm[17];
	int error;  /* -errno of its last open or dump, 0 when it was dumped */
	int stale;  /* its dump failed: its sockets are the last known ones, carried over */
	int dumped; /* dumped for this snapshot; else (not due, or failed) its sockets are carried */
	double age_s;       /* since its last good dump (monotonic), -1 when never dumped */
	double dump_ms;     /* how long that dump took */
	unsigned every;     /* dumped every this many intervals while quiet (netns_dump) */
	int64_t ehash;      /* tcp_ehash_entries inside: < 0 shares the host's hash, 0 unknown */
	struct kstat kstat; /* its own counters and sysctls (have_kstat: counters were read) */
	int have_kstat;
};

/* A socket in a snapshot: what the kernel said plus what lingerd remembers of it. */
struct snap_sock {
	struct sock_rec r;
	uint64_t key;         /* tracking key, see snap_key() */
	int64_t row_id;       /* its row in the store's sockets table, 0 when not stored */
	double first_seen;    /* boot-clock seconds (CLOCK_BOOTTIME); snap_wall() for display */
	double state_since;   /* boot-clock seconds */
	uint32_t proc;        /* owner: index + 1 into snap.procs, 0 when unknown */
	uint8_t proc_tried;   /* looked for the owner in this state and found none */
	uint8_t lower_bound;  /* SNAP_LB_* bits: which of the two times are lower bounds */
	uint8_t closer_tried; /* asked the teardown tracer in this state and it knew nothing */
	uint32_t closer;      /* who closed it: index + 1 into snap.closers, 0 when unknown */
};

/*
 * The process that closed a socket, as the teardown tracer (events.c) recorded it inside
 * that process's close() or shutdown(): set for orphaned sockets (TIME_WAIT, FIN_WAIT_1/2,
 * CLOSING, LAST_ACK with inode 0), which no process holds any more.
 */
struct snap_closer {
	int32_t pid;      /* process (thread group) id */
	int32_t tid;      /* the thread that closed */
	uint64_t cgroup;  /* cgroup v2 id */
	uint64_t netns;   /* namespace inode the tracer saw */
	uint8_t how;      /* enum td_how of events.h: active or passive */
	uint8_t rst_sent; /* a reset was sent on it */
	char comm[17];
};

/* TIME_WAIT entries on one route (source address -> destination address and port). */
struct snap_tw_route {
	uint64_t netns; /* as snap_sock's r.netns: 0 for lingerd's own namespace */
	uint8_t family;
	uint16_t rport;
	uint8_t laddr[16], raddr[16];
	uint64_t total; /* since the tracer first saw the route (its map is an LRU) */
	double per_s;   /* since the snapshot before; 0 on the first */
};

/*
 * A socket that was already there when lingerd started cannot have its true times: they
 * are those of lingerd's first sight, lower bounds of the truth (shown as "at least").
 */
#define SNAP_LB_FIRST 1u /* first_seen is no later than the truth */
#define SNAP_LB_STATE 2u /* state_since likewise (TIME_WAIT's comes from its timer: exact) */

/* One slot of the index: pos is the position + 1 in socks (0 = empty), tag the key's hash. */
struct snap_slot {
	uint32_t pos;
	uint32_t tag;
};

/* A process that holds sockets of a snapshot. */
struct snap_proc {
	int32_t pid;
	uint32_t uid;
	uint64_t start; /* start time in clock ticks since boot: tells reused pids apart */
	char comm[17];
	char *cmdline; /* arguments joined by spaces, capped; malloc'd, owned by the snap */
};

/*
 * A snapshot.  Once published it is never written again, so HTTP handlers read it without
 * locks; they hold a reference while they do.
 */
struct snap {
	int refs;           /* atomic */
	uint64_t seq;       /* 1 for the first snapshot of this process */
	int64_t id;         /* its row in the store, 0 when not stored */
	double taken_at;    /* unix seconds, wall clock, when the capture began (for display) */
	double taken_boot;  /* the same instant on the boot clock: ages are taken_boot - since */
	double wall_offset; /* wall minus boot clock as the sampler keeps it (steady between
				steps), 0 when unset: then taken_at - taken_boot is used */
	int resumed;        /* remembered sockets of the last run (sampler_open's resume) */
	double duration_ms; /* capture + diff */
	const char *source; /* "netlink" or "proc" (static string) */
	int partial;
	uint32_t counts[SOCK_STATE_MAX]; /* this and the aggregates below: own namespace only */
	uint32_t family_counts[2][SOCK_STATE_MAX]; /* [0] IPv4, [1] IPv6 */
	uint32_t orphan_counts[SOCK_STATE_MAX];    /* sockets with inode 0 (kernel-owned) */
	double oldest_since[SOCK_STATE_MAX];       /* earliest state_since per state, 0 if none */
	uint8_t oldest_lb[SOCK_STATE_MAX];         /* SNAP_LB_STATE set on that oldest socket */
	uint32_t close_wait_unread;                /* CLOSE_WAIT with bytes never read */
	size_t n;
	struct snap_sock *socks;
	struct snap_slot *index; /* open-addressing hash (linear probing) by key */
	size_t index_mask;
	/*
	 * How snap_build() matched this snapshot against the one it diffed with: from[i] is
	 * the position + 1 in from_prev of socks[i], 0 for a socket that appeared.  Lets later
	 * passes (attribution) carry state over by position instead of by lookup.  from_prev
	 * is only compared, never followed: check it equals a snapshot you hold.  NULL when
	 * the build had no previous snapshot.
	 */
	uint32_t *from;
	const struct snap *from_prev;
	size_t socks_mapped, index_mapped, from_mapped; /* bytes mapped, 0 when malloc'd */
	struct snap_proc *procs;
	size_t nprocs, cap_procs;
	struct snap_closer *closers; /* malloc'd, owned; see snap_sock.closer */
	size_t n_closers, cap_closers;
	/*
	 * The routes with the most TIME_WAIT entries per second, counted by the teardown
	 * tracer since the snapshot before (events_time_waits()), malloc'd, owned; most first.
	 */
	struct snap_tw_route *tw_routes;
	size_t n_tw_routes;
	int attribution;     /* enum procmap_mode of the last walk, -1 when attribution is off */
	struct kstat kstat;  /* kernel counters and settings read with this snapshot */
	uint64_t self_netns; /* lingerd's own namespace id (its sockets carry netns 0) */
	struct snap_netns *netns; /* the other namespaces followed, malloc'd, owned */
	size_t n_netns;
	int64_t self_ehash;  /* tcp_ehash_entries of lingerd's own namespace, 0 unknown */
	int64_t child_ehash; /* its tcp_child_ehash_entries, -1 unknown; --netns all only */
};

/*
 * Adds a process to an unpublished snapshot (copying cmdline) unless its pid is already
 * there.  Returns its index + 1, or 0 when memory runs out.
 */
uint32_t snap_add_proc(struct snap *s, const struct snap_proc *p);

/* What changed between two snapshots; the sampler hands these to the store. */
struct snap_change_ops {
	/* A socket not in prev.  May set s->row_id.  Returns 0 or -errno. */
	int (*appeared)(void *arg, struct snap_sock *s);
	/* Same key, new state (s->state_since is already now).  Returns 0 or -errno. */
	int (*changed)(void *arg, const struct snap_sock *s, int old_state);
	/* A socket of prev that is gone.  Returns 0 or -errno. */
	int (*vanished)(void *arg, const struct snap_sock *old);
};

/*
 * The tracking key of a record: the netlink cookie when there is one; otherwise the
 * inode with the top bit set; otherwise (kernel-owned sockets seen through /proc) a hash
 * of family and 4-tuple with the two top bits set.
 */
uint64_t snap_key(const struct sock_rec *r);

/*
 * Builds a new snapshot from the records of one capture, taken at now on the boot clock
 * (the caller sets taken_at, the wall time, afterwards), carrying first_seen, state_since
 * and their lower-bound marks over from prev (which may be NULL).  Sockets that appear when
 * prev is NULL or resumed get both marks (but for TIME_WAIT's state_since, read from its
 * timer); a state change clears SNAP_LB_STATE.  Calls ops for every socket that
 * appeared, changed state or vanished.  Sockets are matched with prev in capture order
 * (a dump lists unchanged sockets in the same order each time), so an unchanged socket
 * costs a comparison and a copy, not a hash lookup; the index is prev's, patched for the
 * sockets that came and went, when the table size allows.  Work past that linear copy
 * grows with the changes.  A key seen twice in one capture (a dump is not atomic) is
 * kept once.  If an op fails the build stops and returns its error; *out is then NULL.
 * Returns 0 and *out (one reference held by the caller), or -errno.
 */
int snap_build(struct snap **out, const struct sock_vec *recs, const struct snap *prev, double now,
	       const struct snap_change_ops *ops, void *arg);

/* A boot-clock time of snapshot s as unix seconds, for display and the database. */
static inline double snap_wall(const struct snap *s, double t)
{
	return s->wall_offset ? t + s->wall_offset : s->taken_at - (s->taken_boot - t);
}

/* Seconds from boot-clock time t to the snapshot (an age); never negative. */
static inline double snap_age(const struct snap *s, double t)
{
	return s->taken_boot > t ? s->taken_boot - t : 0;
}

/* Finds a socket by key, or NULL. */
const struct snap_sock *snap_find(const struct snap *s, uint64_t key);

/* Reference counting; snap_put frees on the last reference.  NULL is fine for both. */
struct snap *snap_get(struct snap *s);
void snap_put(struct snap *s);

/*
 * A snapshot made of remembered sockets only (used at start-up to carry socket ages over a
 * restart): n entries whose r holds just family 0 and state; the caller fills socks[] and
 * then calls snap_reindex().  Returns NULL when memory runs out.
 */
struct snap *snap_alloc(size_t n);
int snap_reindex(struct snap *s);

#endif
