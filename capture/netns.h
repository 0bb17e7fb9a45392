/* netns.h - the network namespaces of the host: found, named, and dumped through setns(). */
#ifndef LINGERD_NETNS_H
#define LINGERD_NETNS_H

#include <stddef.h>
#include <stdint.h>

#include "kstat.h"
#include "sock.h"

#define NETNS_MAX 1024              /* namespaces followed at once; more are left out and counted */
#define NETNS_SETTINGS_EVERY_S 60.0 /* sysctls change rarely: re-read inside each this often */
/*
 * A quiet namespace (its counters and sockets unchanged) is dumped at least this often.  With
 * 100k sockets on the host a near-empty namespace that shares the host's connection hash costs
 * about 17 ms a dump (one walk for both families): at 60 s, 100 quiet namespaces add about
 * 2 dumps, 35 ms, to each 1 s interval.  Its sockets are served from its last dump meanwhile.
 */
#define NETNS_QUIET_MAX_S 60.0

/* One namespace lingerd follows. */
struct netns {
	uint64_t id;           /* inode of the namespace: unique while it exists */
	char name[64];         /* file name under /run/netns, "docker:ID", "pid:PID", or "self" */
	char kind[8];          /* "self", "named", "docker" or "process" */
	int32_t pid;           /* a process inside it (0 when none was seen) */
	char comm[17];         /* that process's name */
	int fd;                /* open namespace file, for setns() */
	struct diag *diag;     /* a sock_diag socket created inside the namespace */
	struct kstat_files kf; /* its /proc/net counter files, opened from inside it */
	struct kstat
		kstat; /* its counters (each dump) and sysctls (every NETNS_SETTINGS_EVERY_S) */
	int have_kstat;
	double settings_at; /* monotonic seconds of the last sysctl reading, 0: at open */
	int seen;           /* found by the last scan */
	int error;          /* -errno of the last failed open or dump, 0 when fine */
	/* The schedule: see netns_dump(). */
	int snmp_fd, sockstat_fd; /* its Tcp and sockstat counters, for the activity signature */
	uint64_t activity;        /* signature of those counters at the last look */
	uint64_t content;         /* signature of its sockets at the last dump */
	double dumped_at;         /* monotonic seconds of its last good dump, 0: never */
	double dump_ms;           /* how long that dump took */
	unsigned every;           /* dumped every this many intervals while quiet (1: busy) */
	unsigned waited;          /* intervals since its last dump */
	int changed;              /* marked changed (netns_mark_changed, or its counters moved) */
	int dumped;               /* dumped by the last netns_dump(): its sockets are fresh */
	int64_t ehash; /* tcp_ehash_entries read inside: < 0 shares the host's hash, 0 unknown */
};

/* What the last netns_dump() cost. */
struct netns_round {
	double ms;      /* the whole call: activity reads and the dumps made */
	size_t dumped;  /* namespaces dumped */
	size_t carried; /* namespaces not due: their last known sockets stand */
	double full_ms; /* the last dump of every namespace added up: a round without stagger */
	size_t shared;  /* namespaces known to share the host's connection hash */
	const char *slowest; /* name of the namespace whose last dump took longest, or NULL */
	double slowest_ms;
};

/* The set lingerd follows.  Owned by the sampler thread. */
struct netns_set {
	struct netns *v;
	size_t n;
	uint64_t self;       /* lingerd's own namespace */
	size_t left_out;     /* found beyond NETNS_MAX */
	unsigned max_every;  /* the caller's bound on netns.every: NETNS_QUIET_MAX_S in intervals */
	int64_t child_ehash; /* tcp_child_ehash_entries of lingerd's namespace, -1 unknown */
	int64_t self_ehash;  /* tcp_ehash_entries of lingerd's namespace, 0 unknown */
	struct netns_round round;
};

/* Reads lingerd's own namespace id (the inode of /proc/self/ns/net).  0 or -errno. */
int netns_self(uint64_t *id);

/*
 * Finds the namespaces of the host: files under /run/netns and /run/docker/netns, and the
 * namespace of every process (unique by inode).  New ones are opened (setns() in a short
 * thread, then a fresh netlink socket inside); vanished ones are closed and removed.  The
 * own namespace is not in the set: the regular capture covers it.  Needs CAP_SYS_ADMIN to
 * enter a namespace; those that cannot be entered stay listed with their error.
 * Returns 0 or -ENOMEM.
 */
int netns_scan(struct netns_set *set, const char *proc_root);

/*
 * Dumps the TCP sockets of the followed namespaces that are due into out, with rec.netns
 * set, and reads those namespaces' kernel counters (and, every NETNS_SETTINGS_EVERY_S of the
 * monotonic clock now, their sysctls) into ns->kstat.  Called once per interval.
 *
 * Which are due: a namespace never dumped, one whose last dump failed, one marked changed,
 * and one whose Tcp counters (/proc/net/snmp, from InSegs to CurrEstab) or TCP sockstat
 * (inuse, tw) moved since the last call: any connection opened, segment sent or received,
 * socket hashed or TIME_WAIT ended.  These are dumped in this call, and a namespace whose
 * dump shows a change is dumped every interval (ns->every = 1).  A namespace that neither
 * moved nor changed doubles ns->every after each dump, up to set->max_every; past its every,
 * it waits its turn: at most ceil(n / max_every) such namespaces are dumped per call, the
 * longest-waiting first, so that quiet ones are spread over the intervals instead of all
 * falling due together; one that has waited max_every intervals is dumped whatever the
 * budget, so every namespace is dumped at least once every max_every intervals.  What the counters cannot see (an accept() that empties a listener's queue, a
 * write() into a zero window) shows at the next scheduled dump.
 *
 * A namespace not dumped (ns->dumped 0) keeps its error, or 0 when it was just not due; the
 * caller carries its last known sockets over.  set->round says what the call cost.
 * Returns 0 or -ENOMEM.
 */
int netns_dump(struct netns_set *set, struct sock_vec *out, int *partial, double now);

/*
 * Marks namespace id changed: netns_dump() dumps it in its next call and treats it as busy.
 * The hook for an event source (a state-change tracepoint sees every namespace's sockets,
 * with the namespace's inode): call it from the sampler thread, which owns the set, for each
 * namespace an event touched since the last call (a source running on its own thread hands
 * the ids over, e.g. as a bitmap drained before netns_dump()).  With such a source, the
 * activity signature becomes redundant, and max_every can grow to make the dumps a
 * reconciliation.  Returns 0, or -ENOENT when id is not followed.
 */
int netns_mark_changed(struct netns_set *set, uint64_t id);

void netns_free(struct netns_set *set);

#endif
