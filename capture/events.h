/* events.h - the teardown tracer: who closed each socket, exact state changes, time per step. */
#ifndef LINGERD_EVENTS_H
#define LINGERD_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "bpf/teardown.h"
#include "snap.h"

/*
 * A BPF program on the kernel's inet_sock_set_state tracepoint (and tcp_send_reset /
 * tcp_receive_reset where the kernel has them as BTF tracepoints) keeps, in kernel maps:
 * exact counts of TCP state changes per from->to pair, log2 histograms of the time spent
 * in each teardown state and of whole lifetimes, resets, and per socket cookie (the
 * cookie sock_diag reports, so snapshots join on it) the process that closed it and the
 * steps of its teardown.  Nothing streams to user space; these functions read the maps.
 * The snapshot dump stays the authority for what exists now; the tracer says how it
 * ended and who ended it.
 */
struct events;

/* Sums of the per-CPU counters. */
struct events_stats {
	struct td_stats k;  /* host-wide: resets, losses */
	struct td_nstats n; /* the namespaces asked for: state changes and durations */
	uint64_t socks;     /* teardown records in the map now (counted only on request) */
};

/* A process's resets, from the map "procs". */
struct events_proc {
	uint32_t tgid; /* 0: resets sent outside any process (answers to stray segments, timers) */
	uint64_t rst_sent;
	uint64_t rst_recv; /* received on sockets it closed (the tracer's record names it) */
	char comm[16];
};

/* A process's time in each teardown state, from the map "phist". */
struct events_phist {
	uint32_t tgid;
	uint64_t count; /* observations in the teardown states (lifetimes left out) */
	struct td_phist h;
};

/*
 * Up to max processes with the most observations, most first, into out; *n is set to how
 * many.  0 or -errno.
 */
int events_phists(struct events *ev, struct events_phist *out, size_t max, size_t *n);

/* A peer address's resets, from the map "peers". */
struct events_peer {
	uint64_t netns; /* 0 for lingerd's own namespace, else the namespace's inode */
	uint8_t family;
	uint8_t addr[16];
	uint64_t sent, recv;
};

/*
 * Up to max peers of the namespace netns (0: lingerd's own; any namespace when all is set)
 * with the most resets sent and received, most first, into out; *n is set to how many.
 * 0 or -errno.
 */
int events_peers(struct events *ev, uint64_t netns, int all, struct events_peer *out, size_t max,
		 size_t *n);

/*
 * Loads and attaches the tracer.  Needs a kernel with BTF (/sys/kernel/btf/vmlinux) and
 * CAP_BPF + CAP_PERFMON (or root).  On failure returns -errno and writes why, as a short
 * phrase for "/healthz" ("built without BPF support", "needs CAP_BPF and CAP_PERFMON",
 * ...), into why (why_len bytes).  Returns 0 and *out.
 */
int events_open(struct events **out, char *why, size_t why_len);

/* Detaches and frees.  NULL is fine. */
void events_close(struct events *ev);

/*
 * The teardown record of a socket by cookie: 0 and *out, -ENOENT when the tracer saw no
 * teardown of it (it began before the tracer, or the record was evicted: the map holds
 * LD_EVENTS_MAX_SOCKS records, least recently used first out), or -errno.  Safe from any
 * thread.
 */
int events_lookup(struct events *ev, uint64_t cookie, struct td_sock *out);

/*
 * The counters summed over CPUs: the state changes and durations of the namespace whose
 * inode is netns (0: lingerd's own), or of every namespace when all is set; counts the
 * records too when count_socks.  0 or -errno.
 */
int events_stats(struct events *ev, uint64_t netns, int all, struct events_stats *out,
		 int count_socks);

/*
 * Up to max processes with the most resets sent and received, most first, into out; *n is
 * set to how many.  0 or -errno.
 */
int events_procs(struct events *ev, struct events_proc *out, size_t max, size_t *n);

/*
 * Joins the tracer's owners to an unpublished snapshot: every orphaned socket in a teardown
 * state (TIME_WAIT, FIN_WAIT_1/2, CLOSING, LAST_ACK with inode 0) gets snap.closers[closer - 1].
 * Owners carry over from prev (the snapshot snap was diffed with, or NULL) without asking the
 * kernel; a socket the tracer knew nothing of is asked again only when its state changes.
 * Costs one map lookup per newly orphaned socket.  ev NULL does nothing.  0 or -ENOMEM.
 */
int events_join(struct events *ev, struct snap *snap, const struct snap *prev);

/*
 * Reads the TIME_WAIT entries per route, compares them with the last call's reading (taken
 * at its mono_s) and gives snap the LD_EVENTS_TOP_ROUTES routes with the most entries per
 * second since then (then the most in all), of the namespaces snap follows (lingerd's own
 * and snap->netns[]): the map is host-wide.  One caller only (the sampler): the reading is
 * kept in ev.  ev NULL does nothing.  0, -ENOMEM or -errno.
 */
int events_time_waits(struct events *ev, struct snap *snap, double mono_s);

/*
 * Drops the record of a socket that is gone for good (a TIME_WAIT that expired), so that the
 * map's bound goes to the sockets still there.  Cookies are never reused.  ev NULL is fine.
 */
void events_forget(struct events *ev, uint64_t cookie);

/* Unix seconds of a step's monotonic time stamp (struct td_step.ns). */
double events_wall(uint64_t mono_ns);

/* "active", "passive" or "none" for enum td_how. */
const char *events_how_name(int how);

/* Name of a kernel reset reason (enum sk_rst_reason) from the kernel's BTF, or NULL. */
const char *events_reason_name(struct events *ev, unsigned reason);

/* The state name of a kernel TCP state number 0..TD_STATES-1 ("ESTABLISHED", ...). */
const char *events_state_name(int state);

#endif
