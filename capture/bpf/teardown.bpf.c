// SPDX-License-Identifier: GPL-2.0
/* teardown.bpf.c - counts TCP state changes and records who closed each socket, in-kernel. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "teardown.h"

/*
 * Cost is what matters here: this runs on every TCP state change of the host.  Per change:
 * one per-CPU hash lookup (the namespace's counters), the socket's fields read with plain
 * loads (the socket is BTF-typed: no helper call, unlike BPF_CORE_READ); connecting changes
 * and listeners stop there.  Per socket, one socket-local storage created at its first
 * change (its birth) and looked up at each later one (when the current state began); per
 * connection side that starts tearing down, one LRU insert (owner and timeline) and a
 * lookup per later teardown change; per TIME_WAIT entry, one lookup in "dsts" (an insert
 * for a new route); per socket with a record, at its last change, one lookup in "phist"
 * (its durations, taken from its steps, all at once).  Nothing is sent to user space: the
 * loader reads the maps when it is asked.
 */

#define IPPROTO_TCP_ 6
#define TCP_ESTABLISHED_ 1
#define TCP_SYN_SENT_ 2
#define TCP_SYN_RECV_ 3
#define TCP_FIN_WAIT1_ 4
#define TCP_FIN_WAIT2_ 5
#define TCP_CLOSE_ 7
#define TCP_CLOSE_WAIT_ 8
#define TCP_LAST_ACK_ 9
#define TCP_LISTEN_ 10
#define TCP_CLOSING_ 11

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load: the bound of "socks" is also set there. */
const volatile int have_reason = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct td_stats);
} stats SEC(".maps");

/* Allocated as namespaces appear: the loader sets LD_EVENTS_MAX_NETNS. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 256);
	__type(key, __u32); /* namespace inode */
	__type(value, struct td_nstats);
} nstats SEC(".maps");

/* Per socket, freed with it: when it was born and when its current state began. */
struct sk_times {
	__u64 born_ns; /* 0: born before the tracer was attached */
	__u64 since_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_times);
} times SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* the loader sets LD_EVENTS_MAX_SOCKS */
	__type(key, __u64);         /* socket cookie, the one sock_diag reports */
	__type(value, struct td_sock);
} socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096); /* the loader sets LD_EVENTS_MAX_PROCS */
	__type(key, __u32);        /* tgid */
	__type(value, struct td_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096); /* the loader sets LD_EVENTS_MAX_DSTS */
	__type(key, struct td_dst);
	__type(value, __u64); /* TIME_WAIT entries since the route was first seen */
} dsts SEC(".maps");

/*
 * An IPv6 address of a socket into a key, one 32-bit word at a time: plain loads from the
 * BTF-typed socket, each one a field the verifier knows (a helper call costs more).
 */
static __always_inline void copy_in6(__u8 *dst, const struct in6_addr *a)
{
	__u32 *d = (__u32 *)dst;

	d[0] = a->in6_u.u6_addr32[0];
	d[1] = a->in6_u.u6_addr32[1];
	d[2] = a->in6_u.u6_addr32[2];
	d[3] = a->in6_u.u6_addr32[3];
}

/* One more TIME_WAIT on the socket's route: a lookup, and an insert for a new route. */
static __always_inline void count_time_wait(const struct sock *sk, __u32 netns)
{
	struct td_dst k = {};
	__u64 one = 1, *n;

	k.netns = netns;
	k.family = sk->__sk_common.skc_family;
	k.dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (k.family == 10 /* AF_INET6 */) {
		copy_in6(k.saddr, &sk->__sk_common.skc_v6_rcv_saddr);
		copy_in6(k.daddr, &sk->__sk_common.skc_v6_daddr);
	} else {
		*(__u32 *)k.saddr = sk->__sk_common.skc_rcv_saddr;
		*(__u32 *)k.daddr = sk->__sk_common.skc_daddr;
	}
	n = bpf_map_lookup_elem(&dsts, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&dsts, &k, &one, BPF_NOEXIST) < 0 &&
		 (n = bpf_map_lookup_elem(&dsts, &k)))
		__sync_fetch_and_add(n, 1); /* another CPU inserted it meanwhile */
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096); /* the loader sets LD_EVENTS_MAX_PEERS */
	__type(key, struct td_peer);
	__type(value, struct td_peer_rst);
} peers SEC(".maps");

/* One more reset sent to (recv 0) or received from (recv 1) a peer. */
static __always_inline void count_peer(struct td_peer *k, int recv)
{
	struct td_peer_rst *v, n = {};

	v = bpf_map_lookup_elem(&peers, k);
	if (!v) {
		bpf_map_update_elem(&peers, k, &n, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&peers, k); /* ours, or another CPU's meanwhile */
		if (!v)
			return;
	}
	__sync_fetch_and_add(recv ? &v->recv : &v->sent, 1);
}

/* The peer of a full socket. */
static __always_inline void peer_of_sock(const struct sock *sk, struct td_peer *k)
{
	k->netns = sk->__sk_common.skc_net.net->ns.inum;
	k->family = sk->__sk_common.skc_family;
	if (k->family == 10 /* AF_INET6 */)
		copy_in6(k->addr, &sk->__sk_common.skc_v6_daddr);
	else
		*(__u32 *)k->addr = sk->__sk_common.skc_daddr;
}

/* The sender of the segment a reset answers (no socket: a stray segment). */
static __always_inline int peer_of_skb(const struct sk_buff *skb, struct td_peer *k)
{
	unsigned char *head = skb->head;
	__u16 nh = skb->network_header;
	__u8 v = 0;

	/* The packet's bytes are plain memory to the verifier: read with the helper. */
	if (bpf_probe_read_kernel(&v, 1, head + nh) < 0)
		return -1;
	k->netns = skb->dev->nd_net.net->ns.inum;
	if (v >> 4 == 4) {
		k->family = 2;
		return bpf_probe_read_kernel(k->addr, 4, head + nh + 12); /* iphdr.saddr */
	}
	if (v >> 4 == 6) {
		k->family = 10;
		return bpf_probe_read_kernel(k->addr, 16, head + nh + 8); /* ipv6hdr.saddr */
	}
	return -1;
}

static __always_inline int hist_of(int state)
{
	switch (state) {
	case TCP_FIN_WAIT1_:
		return TD_H_FIN_WAIT1;
	case TCP_FIN_WAIT2_:
		return TD_H_FIN_WAIT2;
	case TCP_CLOSE_WAIT_:
		return TD_H_CLOSE_WAIT;
	case TCP_LAST_ACK_:
		return TD_H_LAST_ACK;
	case TCP_CLOSING_:
		return TD_H_CLOSING;
	}
	return -1;
}

/* Bits needed for v: 0 for 0, else floor(log2(v)) + 1 (BPF has no count-leading-zeros). */
static __always_inline int bits(__u64 v)
{
	int b = 0;

	if (v >> 32) {
		v >>= 32;
		b += 32;
	}
	if (v >> 16) {
		v >>= 16;
		b += 16;
	}
	if (v >> 8) {
		v >>= 8;
		b += 8;
	}
	if (v >> 4) {
		v >>= 4;
		b += 4;
	}
	if (v >> 2) {
		v >>= 2;
		b += 2;
	}
	if (v >> 1) {
		v >>= 1;
		b += 1;
	}
	return b + (int)v;
}

static __always_inline void observe(struct td_nstats *st, int h, __u64 ns)
{
	__u64 us = ns / 1000;
	__u64 top = (1ull << (TD_BUCKETS - 1)) - 1;
	/* [2^(b-1), 2^b); with us clamped, the mask (for the verifier) never changes b. */
	__u32 b = (__u32)bits(us < top ? us : top) & (TD_BUCKETS - 1);

	if (h < 0 || h >= TD_H_COUNT)
		return;
	st->hist[h][b]++;
	st->hist_sum_us[h] += us;
}

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024); /* the loader sets LD_EVENTS_MAX_PHIST */
	__type(key, __u32);        /* tgid */
	__type(value, struct td_phist);
} phist SEC(".maps");

/* Only a zeroed value to insert: too large for the BPF stack (about 1.6 KB). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct td_phist);
} phist_zero SEC(".maps");

static __always_inline void phist_add(struct td_phist *p, int h, __u64 ns)
{
	__u64 us = ns / 1000;
	__u64 top = (1ull << (TD_BUCKETS - 1)) - 1;
	__u32 b = (__u32)bits(us < top ? us : top) & (TD_BUCKETS - 1);

	if (h < 0 || h >= TD_H_COUNT)
		return;
	__sync_fetch_and_add(&p->hist[h][b], 1);
	__sync_fetch_and_add(&p->hist_sum_us[h], us);
}

/*
 * At a socket's last change (to CLOSE, from the state `from`), the time it spent in each
 * teardown state, from its recorded steps, under its closer: one lookup per socket rather
 * than one per change.  life: its lifetime, 0 when unknown.
 */
static __always_inline void observe_proc(const struct td_sock *r, int from, __u64 now, __u64 life)
{
	__u32 tgid = r->tgid, zero = 0, n = r->nsteps;
	struct td_phist *p, *z;

	if (r->how == TD_HOW_NONE || !tgid)
		return;
	p = bpf_map_lookup_elem(&phist, &tgid);
	if (!p) {
		z = bpf_map_lookup_elem(&phist_zero, &zero);
		if (!z)
			return;
		__builtin_memcpy(z->comm, r->comm, sizeof(z->comm));
		bpf_map_update_elem(&phist, &tgid, z, BPF_NOEXIST);
		p = bpf_map_lookup_elem(&phist, &tgid); /* ours, or another CPU's meanwhile */
		if (!p)
			return;
	}
	for (__u32 i = 0; i < TD_STEPS; i++) {
		__u64 end;

		if (i >= n)
			break;
		if (i + 1 < n && i + 1 < TD_STEPS)
			end = r->steps[i + 1].ns;
		else if (r->steps[i].to == from)
			end = now; /* the state being left now */
		else
			break; /* steps were dropped: the rest is not known */
		phist_add(p, hist_of(r->steps[i].to), end - r->steps[i].ns);
	}
	if (life)
		phist_add(p, TD_H_LIFETIME, life);
}

/*
 * Whether the current task is the process acting on sk: true only inside a system call
 * that holds the socket lock (lock_sock), where softirq and timer handlers that find the
 * lock owned defer their work to the owner.  Elsewhere "current" is whoever was
 * interrupted (bcc #2305).
 */
static __always_inline int owned_by_caller(const struct sock *sk)
{
	return sk->sk_lock.owned != 0;
}

static __always_inline void name_owner(struct td_sock *r, const struct sock *sk, __u8 how)
{
	__u64 id = bpf_get_current_pid_tgid();

	r->pid = (__u32)id;
	r->tgid = id >> 32;
	r->how = how;
	r->cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(r->comm, sizeof(r->comm));
}

/*
 * This CPU's counters of a namespace, made on its first state change, reset when the inode
 * now belongs to a newer namespace; NULL when the map is full.
 */
static __always_inline struct td_nstats *nstats_of(__u32 netns, __u64 cookie)
{
	static const struct td_nstats zero;
	struct td_nstats *n = bpf_map_lookup_elem(&nstats, &netns);

	if (n && n->net_cookie == cookie)
		return n;
	/* A program's update of a per-CPU map writes this CPU's copy only. */
	bpf_map_update_elem(&nstats, &netns, &zero, n ? BPF_EXIST : BPF_NOEXIST);
	n = bpf_map_lookup_elem(&nstats, &netns);
	if (n)
		n->net_cookie = cookie;
	return n;
}

/* Counts something the maps could not hold; off the fast path, so looked up only then. */
static __always_inline void lost(void)
{
	__u32 zero = 0;
	struct td_stats *st = bpf_map_lookup_elem(&stats, &zero);

	if (st)
		__sync_fetch_and_add(&st->lost, 1);
}

static __always_inline void add_step(struct td_sock *r, __u64 now, int from, int to, __u32 tgid)
{
	__u8 i = r->nsteps;

	if (i >= TD_STEPS) {
		lost();
		return;
	}
	r->steps[i].ns = now;
	r->steps[i].tgid = tgid;
	r->steps[i].from = (__u8)from;
	r->steps[i].to = (__u8)to;
	r->nsteps = i + 1;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_state, const struct sock *sk, int from, int to)
{
	struct sock *s = (struct sock *)sk;
	const struct net *net;
	struct td_nstats *ns;
	struct sk_times *t;
	struct td_sock *r;
	__u32 tgid = 0, netns, i;
	__u64 now, cookie, life = 0;
	int owned;

	if (sk->sk_protocol != IPPROTO_TCP_ || (__u32)from >= TD_STATES || (__u32)to >= TD_STATES)
		return 0;
	net = sk->__sk_common.skc_net.net;
	netns = net->ns.inum;
	ns = nstats_of(netns, net->net_cookie);
	if (!ns) {
		lost();
		return 0;
	}
	i = (__u32)from * TD_STATES + (__u32)to;
	barrier_var(i); /* the verifier bounds the very value that indexes */
	if (i >= TD_STATES * TD_STATES)
		return 0;
	(&ns->trans[0][0])[i]++;
	if (to == TCP_CLOSE_ && (from == TCP_FIN_WAIT2_ || from == TCP_CLOSING_))
		count_time_wait(sk, netns);
	/* Connecting: nothing is timed until it is established (lifetime starts at birth). */
	if (to == TCP_ESTABLISHED_ && (from == TCP_SYN_SENT_ || from == TCP_SYN_RECV_))
		return 0;
	/* A listener is not a connection: nothing to time. */
	if (to == TCP_LISTEN_ || (from == TCP_LISTEN_ && to == TCP_CLOSE_))
		return 0;
	now = bpf_ktime_get_ns();

	/* Time in the state left; a socket's clock starts when it starts connecting. */
	if (from == TCP_CLOSE_ || from == TCP_LISTEN_) {
		t = bpf_sk_storage_get(&times, s, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!t) {
			lost();
			return 0;
		}
		t->born_ns = now;
		t->since_ns = now;
		return 0;
	}
	t = bpf_sk_storage_get(&times, s, 0, 0);
	if (t) {
		observe(ns, hist_of(from), now - t->since_ns);
		if (to == TCP_CLOSE_ && t->born_ns) {
			life = now - t->born_ns;
			observe(ns, TD_H_LIFETIME, life);
		}
		t->since_ns = now;
	}

	/* Teardown records: only sockets that were established get one. */
	if (from == TCP_SYN_SENT_ || from == TCP_SYN_RECV_)
		return 0;
	/*
	 * Records are for the sockets a snapshot can find without an owner: those that leave
	 * ESTABLISHED by a FIN.  One that ends here without a TIME_WAIT after it (a reset, the
	 * last ACK) leaves nothing to name, so its record goes at once and the LRU bound is
	 * spent on the ones that linger.
	 */
	if (from == TCP_ESTABLISHED_ && to != TCP_FIN_WAIT1_ && to != TCP_CLOSE_WAIT_)
		return 0;
	owned = owned_by_caller(sk);
	if (owned)
		tgid = bpf_get_current_pid_tgid() >> 32;
	cookie = bpf_get_socket_cookie(s);
	if (from == TCP_ESTABLISHED_) {
		struct td_sock n = {};

		n.netns = netns;
		if (to == TCP_FIN_WAIT1_ && owned)
			name_owner(&n, sk, TD_HOW_ACTIVE);
		add_step(&n, now, from, to, tgid);
		if (bpf_map_update_elem(&socks, &cookie, &n, BPF_ANY) < 0)
			lost();
		return 0;
	}
	r = bpf_map_lookup_elem(&socks, &cookie);
	if (!r)
		return 0; /* it started tearing down before the tracer, or was evicted */
	if (from == TCP_CLOSE_WAIT_ && to == TCP_LAST_ACK_ && owned && r->how == TD_HOW_NONE)
		name_owner(r, sk, TD_HOW_PASSIVE);
	if (to == TCP_CLOSE_)
		observe_proc(r, from, now, life);
	if (to == TCP_CLOSE_ && from != TCP_FIN_WAIT2_ && from != TCP_CLOSING_) {
		bpf_map_delete_elem(&socks, &cookie);
		return 0;
	}
	add_step(r, now, from, to, tgid);
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(on_send_reset, const struct sock *sk, const struct sk_buff *skb)
{
	struct td_stats *st;
	struct td_proc *p, n = {};
	__u32 zero = 0, tgid = 0;
	__u64 reason = 0;

	st = bpf_map_lookup_elem(&stats, &zero);
	if (!st)
		return 0;
	if (have_reason)
		reason = ctx[2];
	if (reason >= TD_REASONS)
		reason = 0;
	st->rst_sent[reason]++;
	{
		struct td_peer k = {};

		if (sk)
			peer_of_sock(sk, &k);
		if (sk || (skb && peer_of_skb(skb, &k) == 0))
			count_peer(&k, 0);
	}
	/* A reset answering a stray segment (sk NULL or not ours to own) names nobody. */
	if (sk && owned_by_caller(sk))
		tgid = bpf_get_current_pid_tgid() >> 32;
	if (sk && tgid) {
		__u64 cookie = bpf_get_socket_cookie((struct sock *)sk);
		struct td_sock *r = bpf_map_lookup_elem(&socks, &cookie);

		if (r)
			r->rst_sent = 1;
	}
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (p) {
		__sync_fetch_and_add(&p->rst_sent, 1);
		return 0;
	}
	n.rst_sent = 1;
	if (tgid)
		bpf_get_current_comm(n.comm, sizeof(n.comm));
	if (bpf_map_update_elem(&procs, &tgid, &n, BPF_NOEXIST) < 0) {
		p = bpf_map_lookup_elem(&procs, &tgid); /* another CPU added it meanwhile */
		if (p)
			__sync_fetch_and_add(&p->rst_sent, 1);
		else
			st->lost++;
	}
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(on_receive_reset, struct sock *sk)
{
	__u32 zero = 0, tgid = 0;
	struct td_stats *st = bpf_map_lookup_elem(&stats, &zero);
	struct td_peer k = {};
	struct td_proc *p, n = {};
	struct td_sock *r;
	__u64 cookie;

	if (st)
		st->rst_recv++;
	if (!sk)
		return 0;
	peer_of_sock(sk, &k);
	count_peer(&k, 1);
	/* In softirq: the process is the one that closed the socket, when one did. */
	cookie = bpf_get_socket_cookie(sk);
	r = bpf_map_lookup_elem(&socks, &cookie);
	if (!r || r->how == TD_HOW_NONE)
		return 0;
	tgid = r->tgid;
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p) {
		__builtin_memcpy(n.comm, r->comm, sizeof(n.comm));
		bpf_map_update_elem(&procs, &tgid, &n, BPF_NOEXIST);
		p = bpf_map_lookup_elem(&procs, &tgid);
		if (!p)
			return 0;
	}
	__sync_fetch_and_add(&p->rst_recv, 1);
	return 0;
}
