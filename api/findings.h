/* findings.h - what is wrong in a snapshot, decided as plain records with their numbers. */
#ifndef LINGERD_FINDINGS_H
#define LINGERD_FINDINGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "events.h"
#include "params.h"
#include "snap.h"

/*
 * What a finding is about.  The names (findings_kind_name) are the first part of a
 * finding's id in /api/v1/findings and stay stable.  The order is the order the rules run.
 */
enum finding_kind {
	FINDING_CLOSE_WAIT_LEAK,    /* a process holds CLOSE_WAIT sockets it never closed */
	FINDING_CLOSE_WAIT_UNREAD,  /* ... and left bytes unread in them */
	FINDING_FIN_WAIT2_HELD,     /* a process holds FIN_WAIT_2 sockets whose peer never closes */
	FINDING_FIN_WAIT1_STUCK,    /* our FIN towards one remote address is not acknowledged */
	FINDING_ACCEPT_QUEUE_FULL,  /* a listener's accept queue is full right now */
	FINDING_SYN_RECV_BUILDUP,   /* many half-open connections on one local port */
	FINDING_TIME_WAIT_PRESSURE, /* the ephemeral ports towards one destination run out */
	FINDING_TIME_WAIT_OVERFLOW, /* TIME_WAIT near or past tcp_max_tw_buckets */
	FINDING_ORPHANS_NEAR_LIMIT, /* orphaned sockets near tcp_max_orphans */
	FINDING_LISTEN_OVERFLOWS,   /* accept queues overflowed during the window */
	FINDING_RST_ON_CLOSE,       /* connections ended with a RST on close during the window */
	FINDING_NETNS_SHARED_HASH,  /* followed namespaces share the host's connection hash */
	FINDING_KIND_MAX,
};

/* Most severe first: findings are listed in this order. */
enum finding_severity {
	FINDING_CRITICAL,
	FINDING_WARNING,
	FINDING_INFO,
	FINDING_SEVERITY_MAX,
};

/*
 * One diagnosis.  sock and proc point into the snapshot that was diagnosed: they are valid
 * as long as the caller holds that snapshot.  Which member of u is filled follows kind.
 */
struct finding {
	enum finding_kind kind;
	enum finding_severity severity;
	/*
	 * The namespace of the kinds judged per namespace (TIME_WAIT_PRESSURE and the four on
	 * kernel counters); 0 for lingerd's own, and for the other kinds, whose groups are not
	 * per namespace.
	 */
	uint64_t netns;
	/*
	 * What it is about, the last part of its id: a pid or "uid:N" (held kinds), a remote
	 * address (FIN_WAIT1_STUCK), "port/inode" (ACCEPT_QUEUE_FULL), a local port
	 * (SYN_RECV_BUILDUP), "source>destination:port" (TIME_WAIT_PRESSURE); "" for the kinds
	 * on kernel counters.
	 */
	char key[112];
	/*
	 * A socket of the group, for an example and its addresses (the listener itself for
	 * ACCEPT_QUEUE_FULL); NULL for the kinds on kernel counters.
	 */
	const struct snap_sock *sock;
	const struct snap_proc *proc; /* owner of sock when known, else NULL */
	union {
		struct { /* CLOSE_WAIT_LEAK, CLOSE_WAIT_UNREAD, FIN_WAIT2_HELD */
			uint32_t count;
			double oldest_age_s;
			int oldest_lb; /* that age is a lower bound (the socket predates lingerd) */
			double growth_per_min; /* CLOSE_WAIT_LEAK: over the window; NaN if unknown */
			uint64_t unread_bytes; /* CLOSE_WAIT kinds: bytes never read, else 0 */
		} held;
		struct {
			uint32_t count, zero_window, orphans;
			double oldest_age_s;
			int oldest_lb;
		} fin_wait1;
		struct {
			uint32_t queued, backlog; /* accept queue length and its limit */
		} accept;
		struct {
			uint32_t count;
			int64_t max_syn_backlog; /* tcp_max_syn_backlog (1024 when unknown) */
		} syn_recv;
		struct {
			uint32_t time_wait; /* of in_use, those in TIME_WAIT */
			uint32_t in_use;    /* ports of the range taken towards the destination */
			int64_t low, high;  /* ip_local_port_range */
			double ratio;       /* in_use over the size of the range */
			int64_t tw_reuse;   /* tcp_tw_reuse (0 when unknown) */
			double arrivals_per_min;
			/*
			 * TIME_WAIT entries per second on the route, counted by the teardown
			 * tracer since the snapshot before (NaN: not counted, the tracer is off
			 * or the route not among its top ones); the ports left; and in how many
			 * seconds none is left if they keep coming that fast while TIME_WAITs
			 * leave after 60 s (NaN: they do not run out at that rate).
			 */
			double tw_entries_per_s;
			int64_t headroom;
			double exhaustion_s;
			/* The process that closed most of its TIME_WAITs (teardown tracer), pid 0
			   when the tracer named none. */
			int32_t closer_pid;
			uint32_t closer_time_wait;
			char closer_comm[17];
		} ports;
		struct {
			int64_t time_wait, max_tw_buckets;
			uint64_t overflows; /* TCPTimeWaitOverflow over the window */
			double overflows_per_min;
		} tw_overflow;
		struct {
			int64_t orphans, max_orphans;
			double ratio;
			uint64_t abort_on_memory; /* TCPAbortOnMemory over the window */
		} orphans;
		struct {
			uint64_t overflows,
				drops; /* ListenOverflows, ListenDrops over the window */
			double overflows_per_min, drops_per_min, window_s;
		} listen;
		struct {
			uint64_t on_close, on_data; /* TCPAbortOnClose, TCPAbortOnData */
			double per_min, window_s;
			/*
			 * From the teardown tracer, since it started (NULL / zero without it): the
			 * process with the most resets sent and received, and the peer address
			 * of the namespace with the most.
			 */
			const struct events_proc *proc;
			const struct events_peer *peer;
		} rst;
		struct { /* NETNS_SHARED_HASH: host-wide, netns 0, key "" */
			uint32_t shared, followed; /* namespaces sharing, of those followed */
			int64_t buckets;     /* the host's hash (tcp_ehash_entries' magnitude) */
			int64_t child_ehash; /* tcp_child_ehash_entries here, -1 unknown */
			double dump_ms;      /* the sharing namespaces' last dumps added up */
			const char *example; /* name of one sharing namespace */
		} shared_hash;
	} u;
};

/* What to diagnose. */
struct findings_input {
	const struct snap *snap;
	/*
	 * The in-memory history: the kernel counters LD_RATE_WINDOW_S ago, for rates.  NULL:
	 * no rate is known.  Rates are only known for lingerd's own namespace (the history
	 * keeps its counters only).
	 */
	struct history *history;
	/*
	 * An earlier snapshot (its lingering sockets at least) for the growth of CLOSE_WAIT per
	 * process: the same owner, the same age filter, every socket, then and now.  NULL: no
	 * growth is known.
	 */
	const struct snap *then;
	struct netns_sel ns; /* the namespaces diagnosed */
	/* The tracer's processes and peers by resets, most first (events_procs/_peers). */
	const struct events_proc *rst_procs;
	size_t n_rst_procs;
	const struct events_peer *rst_peers;
	size_t n_rst_peers;
	double min_age; /* sockets held for less than this many seconds are no finding */
};

/*
 * Decides the findings of in->snap.  Writes the first max of them to out, in the order the
 * rules run (the order of enum finding_kind, except that the kinds judged per namespace
 * run namespace by namespace: lingerd's own first, then the snapshot's order), and returns
 * how many there are in all, which may be more than max: call again with room for that
 * many to have them all.  out may be NULL when max is 0.  Returns -ENOMEM when memory
 * for grouping the sockets runs out.  Reads nothing but its input; thread-safe.
 */
ssize_t findings_decide(const struct findings_input *in, struct finding *out, size_t max);

/* "close_wait_leak", ...; "critical", "warning", "info".  NULL for a value out of range. */
const char *findings_kind_name(enum finding_kind kind);
const char *findings_severity_name(enum finding_severity severity);

#endif
