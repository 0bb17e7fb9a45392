/* teardown.h - what the teardown tracer (teardown.bpf.c) shares with its loader (events.c). */
#ifndef LINGERD_TEARDOWN_H
#define LINGERD_TEARDOWN_H

/*
 * Included by the BPF object (types from vmlinux.h) and by the loader (types from
 * <linux/types.h>), so only __u8..__u64 and plain arrays appear here.  Every layout is
 * shared byte for byte: change both sides together.
 */

#define TD_STATES 13 /* kernel TCP states 0..12 (TCP_NEW_SYN_RECV = 12) */
#define TD_BUCKETS \
	32            /* log2 buckets of microseconds: bucket b holds [2^(b-1), 2^b) us, the
			 last one everything from 2^30 us (18 min) on; a power of two, so that
			 masking bounds the index for the verifier */
#define TD_STEPS 4    /* teardown steps kept per socket: 1->4, 4->5, 5->7 and one spare */
#define TD_REASONS 64 /* reset reasons counted one by one (enum sk_rst_reason); more go to 0 */

/* Histograms of time spent, in this order. */
enum td_hist {
	TD_H_FIN_WAIT1,
	TD_H_FIN_WAIT2,
	TD_H_CLOSE_WAIT,
	TD_H_LAST_ACK,
	TD_H_CLOSING,
	TD_H_LIFETIME,
	TD_H_COUNT
};

/*
 * How the owner of a teardown record was learnt.  Only changes that run in the closing
 * process's own system call (the socket lock held by the caller, so the current task is
 * the closer) name a process:
 *   TD_HOW_ACTIVE  ESTABLISHED->FIN_WAIT1 in close()/shutdown(): this side closed first;
 *   TD_HOW_PASSIVE CLOSE_WAIT->LAST_ACK in close()/shutdown(): the peer closed first.
 * TD_HOW_NONE: the record exists (the socket entered CLOSE_WAIT in softirq) but no process
 * has closed it yet.  A close() that sends a reset leaves no socket to name: it is counted
 * in "procs" instead.
 */
enum td_how { TD_HOW_NONE, TD_HOW_ACTIVE, TD_HOW_PASSIVE };

/* One state change of a socket being torn down. */
struct td_step {
	__u64 ns;   /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u32 tgid; /* process that made the change, 0 when it ran outside one (softirq, timer) */
	__u8 from, to;
	__u8 pad[2];
};

/* What the LRU map "socks" holds per socket cookie, from its first teardown change on. */
struct td_sock {
	__u64 cgroup;  /* cgroup v2 id of the closer */
	__u32 netns;   /* inode of the socket's network namespace */
	__u32 pid;     /* closer's thread id */
	__u32 tgid;    /* closer's process id */
	__u8 how;      /* enum td_how */
	__u8 nsteps;   /* steps recorded, at most TD_STEPS (later ones are dropped) */
	__u8 rst_sent; /* the kernel sent a reset on it */
	__u8 pad;
	char comm[16]; /* closer's thread name */
	struct td_step steps[TD_STEPS];
};

/*
 * Counters of one network namespace, one copy per CPU in the hash map "nstats" keyed by the
 * namespace's inode (created on its first state change); the loader sums the CPUs.  The
 * kernel reuses the inode of a namespace that is gone, so each copy also holds the
 * namespace's cookie (never reused, growing): a copy is reset when a newer namespace with
 * the same inode counts on that CPU, and the loader sums only the copies of the newest.
 */
struct td_nstats {
	__u64 net_cookie;
	__u64 trans[TD_STATES][TD_STATES]; /* [from][to], TCP sockets only */
	__u64 hist[TD_H_COUNT][TD_BUCKETS];
	__u64 hist_sum_us[TD_H_COUNT];
};

/* Host-wide counters, one copy per CPU in the array map "stats" (key 0). */
struct td_stats {
	__u64 rst_sent[TD_REASONS]; /* by reason (0: not given or beyond TD_REASONS) */
	__u64 rst_recv;
	__u64 lost; /* records, steps or namespaces that could not be stored (map full, no memory) */
};

/*
 * Time in each teardown state per process, in the LRU map "phist" keyed by tgid (the loader
 * sets LD_EVENTS_MAX_PHIST): observed for the sockets with a teardown record that names a
 * closer, under that closer (for CLOSE_WAIT: the process that finally closed it).
 */
struct td_phist {
	__u64 hist[TD_H_COUNT][TD_BUCKETS];
	__u64 hist_sum_us[TD_H_COUNT];
	char comm[16];
};

/*
 * TIME_WAIT entries per route, in the LRU map "dsts" (the loader sets LD_EVENTS_MAX_DSTS):
 * a full socket leaving FIN_WAIT2 or CLOSING for CLOSE is the kernel handing it to a
 * TIME_WAIT mini-socket (tcp_time_wait()), except when a reset ends it there, which the
 * count does not tell apart (rare: a reset answering our FIN).  Addresses as the socket
 * holds them (network order); IPv4 in the first 4 bytes.
 */
struct td_dst {
	__u32 netns; /* inode of the socket's network namespace */
	__u16 family;
	__u16 dport; /* host order */
	__u8 saddr[16];
	__u8 daddr[16];
};

/* Resets per process, in the LRU map "procs" keyed by tgid (0: outside any process). */
struct td_proc {
	__u64 rst_sent;
	__u64 rst_recv; /* on sockets it closed (their teardown record names it) */
	char comm[16];
};

/*
 * Resets per peer address, in the LRU map "peers" (the loader sets LD_EVENTS_MAX_PEERS):
 * sent (to a socket's peer, or to the source of a stray segment) and received.  The address
 * in network order, IPv4 in the first 4 bytes.
 */
struct td_peer {
	__u32 netns;
	__u16 family;
	__u16 pad;
	__u8 addr[16];
};

struct td_peer_rst {
	__u64 sent, recv;
};

#endif
