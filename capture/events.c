/* events.c - loads the teardown tracer (bpf/teardown.bpf.c) and reads what it counted. */
#include "events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limits.h"
#include "sock.h"

const char *events_how_name(int how)
{
	static const char *const names[] = {
		[TD_HOW_NONE] = "none",
		[TD_HOW_ACTIVE] = "active",
		[TD_HOW_PASSIVE] = "passive",
	};

	return how >= 0 && how <= TD_HOW_PASSIVE ? names[how] : "none";
}

const char *events_state_name(int state)
{
	if (state == 12)
		return "NEW_SYN_RECV";
	if (state == 0)
		return "UNKNOWN";
	return sock_state_name(state);
}

double events_wall(uint64_t mono_ns)
{
	struct timespec m, w;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &w);
	return (double)w.tv_sec + w.tv_nsec / 1e9 -
	       ((double)m.tv_sec + m.tv_nsec / 1e9 - (double)mono_ns / 1e9);
}

/* Orphaned teardown states: the sockets no process holds, which only the tracer can name. */
static int closed_orphan(const struct snap_sock *s)
{
	switch (s->r.state) {
	case SOCK_FIN_WAIT1:
	case SOCK_FIN_WAIT2:
	case SOCK_TIME_WAIT:
	case SOCK_CLOSING:
	case SOCK_LAST_ACK:
		return s->r.inode == 0;
	}
	return 0;
}

/* Adds c to snap's closers, reusing the last one when equal.  Index + 1, or 0 (no memory). */
static uint32_t add_closer(struct snap *snap, const struct snap_closer *c)
{
	if (snap->n_closers && !memcmp(&snap->closers[snap->n_closers - 1], c, sizeof(*c)))
		return (uint32_t)snap->n_closers;
	if (snap->n_closers == snap->cap_closers) {
		size_t cap = snap->cap_closers ? snap->cap_closers * 2 : 64;
		struct snap_closer *v = realloc(snap->closers, cap * sizeof(*v));

		if (!v)
			return 0;
		snap->closers = v;
		snap->cap_closers = cap;
	}
	snap->closers[snap->n_closers] = *c;
	return (uint32_t)++snap->n_closers;
}

int events_join(struct events *ev, struct snap *snap, const struct snap *prev)
{
	/* snap_build() matched snap with prev already: follow that instead of looking up. */
	const uint32_t *from = prev && snap->from && snap->from_prev == prev ? snap->from : NULL;
	uint32_t *remap = NULL; /* prev's closer index -> snap's, 0 = not added yet */
	int err = 0;

	if (!ev)
		return 0;
	if (prev && prev->n_closers) {
		remap = calloc(prev->n_closers, sizeof(*remap));
		if (!remap)
			return -ENOMEM;
	}
	for (size_t i = 0; i < snap->n && !err; i++) {
		struct snap_sock *s = &snap->socks[i];
		const struct snap_sock *old;
		struct snap_closer c;
		struct td_sock r;

		if (!closed_orphan(s))
			continue;
		if (from)
			old = from[i] ? &prev->socks[from[i] - 1] : NULL;
		else
			old = prev ? snap_find(prev, s->key) : NULL;
		if (old && old->closer && old->closer <= prev->n_closers) {
			uint32_t *to = &remap[old->closer - 1];

			if (!*to)
				*to = add_closer(snap, &prev->closers[old->closer - 1]);
			s->closer = *to;
			err = *to ? 0 : -ENOMEM;
			continue;
		}
		if (old && old->closer_tried && old->r.state == s->r.state) {
			s->closer_tried = 1;
			continue;
		}
		if (!s->r.cookie || events_lookup(ev, s->r.cookie, &r) < 0 ||
		    r.how == TD_HOW_NONE) {
			s->closer_tried = 1;
			continue;
		}
		memset(&c, 0, sizeof(c));
		c.pid = (int32_t)r.tgid;
		c.tid = (int32_t)r.pid;
		c.cgroup = r.cgroup;
		c.netns = r.netns;
		c.how = r.how;
		c.rst_sent = r.rst_sent;
		memcpy(c.comm, r.comm, sizeof(r.comm));
		s->closer = add_closer(snap, &c);
		err = s->closer ? 0 : -ENOMEM;
	}
	free(remap);
	return err;
}

#ifndef LINGERD_HAVE_BPF

int events_open(struct events **out, char *why, size_t why_len)
{
	*out = NULL;
	snprintf(why, why_len, "built without BPF support");
	return -ENOTSUP;
}

void events_close(struct events *ev)
{
	(void)ev;
}

void events_forget(struct events *ev, uint64_t cookie)
{
	(void)ev;
	(void)cookie;
}

int events_time_waits(struct events *ev, struct snap *snap, double mono_s)
{
	(void)ev;
	(void)snap;
	(void)mono_s;
	return 0;
}

int events_lookup(struct events *ev, uint64_t cookie, struct td_sock *out)
{
	(void)ev;
	(void)cookie;
	(void)out;
	return -ENOTSUP;
}

int events_stats(struct events *ev, uint64_t netns, int all, struct events_stats *out,
		 int count_socks)
{
	(void)ev;
	(void)netns;
	(void)all;
	(void)out;
	(void)count_socks;
	return -ENOTSUP;
}

int events_procs(struct events *ev, struct events_proc *out, size_t max, size_t *n)
{
	(void)ev;
	(void)out;
	(void)max;
	*n = 0;
	return -ENOTSUP;
}

int events_peers(struct events *ev, uint64_t netns, int all, struct events_peer *out, size_t max,
		 size_t *n)
{
	(void)ev;
	(void)netns;
	(void)all;
	(void)out;
	(void)max;
	*n = 0;
	return -ENOTSUP;
}

int events_phists(struct events *ev, struct events_phist *out, size_t max, size_t *n)
{
	(void)ev;
	(void)out;
	(void)max;
	*n = 0;
	return -ENOTSUP;
}

const char *events_reason_name(struct events *ev, unsigned reason)
{
	(void)ev;
	(void)reason;
	return NULL;
}

#else

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "teardown.skel.h"
#include "util.h"

/* One route's count, as read from the map "dsts". */
struct dst_count {
	struct td_dst k;
	uint64_t n;
};

struct events {
	struct teardown *skel;
	int ncpus;
	uint64_t self_netns;     /* inode of lingerd's own namespace */
	struct dst_count *dsts;  /* the last reading of "dsts", sorted by key */
	struct dst_count *spare; /* room for the next reading (they swap): no malloc per call */
	size_t n_dsts;
	double dsts_at;                  /* its monotonic time, 0 before the first */
	const char *reasons[TD_REASONS]; /* names from the kernel's BTF, NULL where none */
	struct btf *vmlinux;             /* owns the strings reasons[] points to */
};

/* libbpf's own messages would go to stderr on every failed probe: the reason is enough. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* Whether the kernel offers tracepoint name as a BTF-typed raw tracepoint. */
static int has_tp(const struct btf *vmlinux, const char *name)
{
	char t[64];

	snprintf(t, sizeof(t), "btf_trace_%s", name);
	return btf__find_by_name_kind(vmlinux, t, BTF_KIND_TYPEDEF) > 0;
}

/* Fills ev->reasons from enum sk_rst_reason; returns whether the kernel has that enum. */
static int read_reasons(struct events *ev)
{
	int id = btf__find_by_name_kind(ev->vmlinux, "sk_rst_reason", BTF_KIND_ENUM);
	const struct btf_type *t;
	const struct btf_enum *e;

	if (id <= 0)
		return 0;
	t = btf__type_by_id(ev->vmlinux, id);
	e = btf_enum(t);
	for (int i = 0; i < btf_vlen(t); i++, e++) {
		const char *name = btf__name_by_offset(ev->vmlinux, e->name_off);

		if (e->val < 0 || e->val >= TD_REASONS || !name)
			continue;
		if (!strncmp(name, "SK_RST_REASON_", 14))
			name += 14;
		ev->reasons[e->val] = name;
	}
	return 1;
}

int events_open(struct events **out, char *why, size_t why_len)
{
	struct events *ev;
	int err, have_reason;

	*out = NULL;
	if (!getenv("LINGERD_BPF_DEBUG"))
		libbpf_set_print(quiet);
	if (access("/sys/kernel/btf/vmlinux", R_OK) < 0) {
		err = -errno;
		snprintf(why, why_len, "the kernel has no BTF (/sys/kernel/btf/vmlinux)");
		return err;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->vmlinux = btf__load_vmlinux_btf();
	if (!ev->vmlinux) {
		err = -errno;
		snprintf(why, why_len, "cannot read the kernel's BTF: %s", util_strerror(-err));
		goto fail;
	}
	if (!has_tp(ev->vmlinux, "inet_sock_set_state")) {
		err = -ENOTSUP;
		snprintf(why, why_len, "the kernel has no inet_sock_set_state tracepoint");
		goto fail;
	}
	{
		struct stat sb;

		if (stat("/proc/self/ns/net", &sb) == 0)
			ev->self_netns = sb.st_ino;
	}
	ev->ncpus = libbpf_num_possible_cpus();
	if (ev->ncpus <= 0) {
		err = ev->ncpus < 0 ? ev->ncpus : -EINVAL;
		snprintf(why, why_len, "cannot count CPUs");
		goto fail;
	}
	ev->skel = teardown__open();
	if (!ev->skel) {
		err = -errno;
		snprintf(why, why_len, "cannot open the BPF object: %s", util_strerror(-err));
		goto fail;
	}
	have_reason = read_reasons(ev);
	ev->skel->rodata->have_reason = have_reason;
	bpf_map__set_max_entries(ev->skel->maps.socks, LD_EVENTS_MAX_SOCKS);
	bpf_map__set_max_entries(ev->skel->maps.procs, LD_EVENTS_MAX_PROCS);
	bpf_map__set_max_entries(ev->skel->maps.nstats, LD_EVENTS_MAX_NETNS);
	bpf_map__set_max_entries(ev->skel->maps.dsts, LD_EVENTS_MAX_DSTS);
	bpf_map__set_max_entries(ev->skel->maps.peers, LD_EVENTS_MAX_PEERS);
	bpf_map__set_max_entries(ev->skel->maps.phist, LD_EVENTS_MAX_PHIST);
	if (!has_tp(ev->vmlinux, "tcp_send_reset"))
		bpf_program__set_autoload(ev->skel->progs.on_send_reset, false);
	if (!has_tp(ev->vmlinux, "tcp_receive_reset"))
		bpf_program__set_autoload(ev->skel->progs.on_receive_reset, false);
	err = teardown__load(ev->skel);
	if (err) {
		if (err == -EPERM)
			snprintf(why, why_len, "needs CAP_BPF and CAP_PERFMON (or root)");
		else
			snprintf(why, why_len, "the kernel refused the BPF program: %s",
				 util_strerror(-err));
		goto fail;
	}
	err = teardown__attach(ev->skel);
	if (err) {
		snprintf(why, why_len, "cannot attach to the tracepoints: %s", util_strerror(-err));
		goto fail;
	}
	*out = ev;
	return 0;
fail:
	events_close(ev);
	return err < 0 ? err : -EINVAL;
}

void events_close(struct events *ev)
{
	if (!ev)
		return;
	teardown__destroy(ev->skel);
	btf__free(ev->vmlinux);
	free(ev->dsts);
	free(ev->spare);
	free(ev);
}

void events_forget(struct events *ev, uint64_t cookie)
{
	__u64 key = cookie;

	if (ev)
		bpf_map__delete_elem(ev->skel->maps.socks, &key, sizeof(key), 0);
}

/* Runs the kernel skipped because the program was already running on that CPU. */
static uint64_t missed_runs(const struct bpf_program *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(p);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
		return 0;
	return info.recursion_misses;
}

int events_lookup(struct events *ev, uint64_t cookie, struct td_sock *out)
{
	__u64 key = cookie;

	if (bpf_map__lookup_elem(ev->skel->maps.socks, &key, sizeof(key), out, sizeof(*out), 0))
		return -errno;
	return 0;
}

/*
 * Adds the per-CPU copies of one entry (size bytes of counters each) of map m into dst.
 * With newest set, the first counter is a namespace cookie: only the copies of the newest
 * namespace are added (see struct td_nstats).  0, -ENOENT when the key is absent, or -errno.
 */
static int sum_cpus(struct events *ev, struct bpf_map *m, const void *key, size_t key_size,
		    void *dst, size_t size, int newest)
{
	/* Per-CPU values are 8-byte aligned copies, one per possible CPU. */
	__u64 *v = calloc((size_t)ev->ncpus, size), *d = dst, top = 0;
	size_t words = size / sizeof(__u64);
	int err = 0;

	if (!v)
		return -ENOMEM;
	if (bpf_map__lookup_elem(m, key, key_size, v, (size_t)ev->ncpus * size, 0)) {
		err = -errno;
		goto out;
	}
	for (int c = 0; newest && c < ev->ncpus; c++)
		if (v[(size_t)c * words] > top)
			top = v[(size_t)c * words];
	for (int c = 0; c < ev->ncpus; c++) {
		const __u64 *src = &v[(size_t)c * words];

		if (newest && src[0] != top)
			continue;
		for (size_t i = newest ? 1 : 0; i < words; i++)
			d[i] += src[i];
	}
out:
	free(v);
	return err;
}

int events_stats(struct events *ev, uint64_t netns, int all, struct events_stats *out,
		 int count_socks)
{
	struct bpf_map *m = ev->skel->maps.nstats;
	__u32 zero = 0, key, next, *prev = NULL;
	int err;

	_Static_assert(sizeof(struct td_stats) % sizeof(__u64) == 0, "counters only");
	_Static_assert(sizeof(struct td_nstats) % sizeof(__u64) == 0, "counters only");
	memset(out, 0, sizeof(*out));
	err = sum_cpus(ev, ev->skel->maps.stats, &zero, sizeof(zero), &out->k, sizeof(out->k), 0);
	if (err < 0)
		return err;
	/* A state change the program never saw is lost too (a softirq nested in a run). */
	out->k.lost += missed_runs(ev->skel->progs.on_state) +
		       missed_runs(ev->skel->progs.on_send_reset) +
		       missed_runs(ev->skel->progs.on_receive_reset);
	if (!all) {
		key = (__u32)(netns ? netns : ev->self_netns);
		err = sum_cpus(ev, m, &key, sizeof(key), &out->n, sizeof(out->n), 1);
		if (err < 0 && err != -ENOENT)
			return err;
	}
	while (all && !bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		key = next;
		prev = &key;
		err = sum_cpus(ev, m, &key, sizeof(key), &out->n, sizeof(out->n), 1);
		if (err < 0 && err != -ENOENT)
			return err;
	}
	if (count_socks) {
		__u64 k, nk, *pk = NULL;

		while (!bpf_map__get_next_key(ev->skel->maps.socks, pk, &nk, sizeof(nk))) {
			out->socks++;
			k = nk;
			pk = &k;
		}
	}
	return 0;
}

static int by_key(const void *a, const void *b)
{
	return memcmp(&((const struct dst_count *)a)->k, &((const struct dst_count *)b)->k,
		      sizeof(struct td_dst));
}

static int followed(const struct snap *snap, uint64_t netns)
{
	for (size_t i = 0; i < snap->n_netns; i++)
		if (snap->netns[i].id == netns)
			return 1;
	return 0;
}

static int by_rate(const void *a, const void *b)
{
	const struct snap_tw_route *x = a, *y = b;

	if (x->per_s != y->per_s)
		return x->per_s < y->per_s ? 1 : -1;
	return x->total < y->total ? 1 : x->total > y->total ? -1 : 0;
}

int events_time_waits(struct events *ev, struct snap *snap, double mono_s)
{
	struct bpf_map *m;
	struct td_dst key, next, *prev = NULL;
	struct dst_count *now;
	struct snap_tw_route *top;
	double dt;
	size_t n = 0, k = 0;

	if (!ev)
		return 0;
	m = ev->skel->maps.dsts;
	if (!ev->spare)
		ev->spare = malloc(LD_EVENTS_MAX_DSTS * sizeof(*ev->spare));
	now = ev->spare;
	top = calloc(LD_EVENTS_TOP_ROUTES, sizeof(*top));
	if (!now || !top) {
		free(top);
		return -ENOMEM;
	}
	while (n < LD_EVENTS_MAX_DSTS && !bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(m, &key, sizeof(key), &now[n].n, sizeof(now[n].n), 0))
			continue;
		now[n++].k = key;
	}
	qsort(now, n, sizeof(*now), by_key);
	dt = ev->dsts_at ? mono_s - ev->dsts_at : 0;
	for (size_t i = 0, j = 0; i < n; i++) {
		const struct td_dst *d = &now[i].k;
		struct snap_tw_route r = { .total = now[i].n };
		uint64_t delta = 0;
		int c = 1;

		while (j < ev->n_dsts && (c = by_key(&ev->dsts[j], &now[i])) < 0)
			j++;
		/* A route new since the last reading (or evicted and back) came in meanwhile. */
		if (ev->dsts_at)
			delta = c == 0 && now[i].n >= ev->dsts[j].n ? now[i].n - ev->dsts[j].n
								    : now[i].n;
		r.per_s = dt > 0 ? (double)delta / dt : 0;
		r.netns = d->netns == ev->self_netns ? 0 : d->netns;
		if (r.netns && !followed(snap, r.netns))
			continue; /* the map is host-wide: a namespace lingerd does not follow */
		r.family = (uint8_t)d->family;
		r.rport = d->dport;
		memcpy(r.laddr, d->saddr, sizeof(r.laddr));
		memcpy(r.raddr, d->daddr, sizeof(r.raddr));
		/* Keep the top LD_EVENTS_TOP_ROUTES by replacing the least. */
		if (k == LD_EVENTS_TOP_ROUTES) {
			size_t least = 0;

			for (size_t t = 1; t < k; t++)
				if (by_rate(&top[t], &top[least]) > 0)
					least = t;
			if (by_rate(&r, &top[least]) >= 0)
				continue;
			top[least] = r;
		} else {
			top[k++] = r;
		}
	}
	qsort(top, k, sizeof(*top), by_rate);
	ev->spare = ev->dsts;
	ev->dsts = now;
	ev->n_dsts = n;
	ev->dsts_at = mono_s;
	free(snap->tw_routes);
	snap->tw_routes = top;
	snap->n_tw_routes = k;
	return 0;
}

static int by_resets(const void *a, const void *b)
{
	const struct events_proc *x = a, *y = b;
	uint64_t nx = x->rst_sent + x->rst_recv, ny = y->rst_sent + y->rst_recv;

	return nx < ny ? 1 : nx > ny ? -1 : 0;
}

static int by_peer_resets(const void *a, const void *b)
{
	const struct events_peer *x = a, *y = b;
	uint64_t nx = x->sent + x->recv, ny = y->sent + y->recv;

	return nx < ny ? 1 : nx > ny ? -1 : 0;
}

static int by_count(const void *a, const void *b)
{
	const struct events_phist *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

int events_phists(struct events *ev, struct events_phist *out, size_t max, size_t *n)
{
	struct bpf_map *m = ev->skel->maps.phist;
	__u32 key, next, *prev = NULL;
	struct events_phist p;
	size_t k = 0;

	while (!bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(m, &key, sizeof(key), &p.h, sizeof(p.h), 0))
			continue;
		p.tgid = key;
		p.count = 0;
		p.h.comm[sizeof(p.h.comm) - 1] = '\0';
		for (int h = 0; h < TD_H_LIFETIME; h++)
			for (int b = 0; b < TD_BUCKETS; b++)
				p.count += p.h.hist[h][b];
		if (k == max) {
			size_t least = 0;

			for (size_t i = 1; i < k; i++)
				if (out[i].count < out[least].count)
					least = i;
			if (!k || out[least].count >= p.count)
				continue;
			out[least] = p;
		} else {
			out[k++] = p;
		}
	}
	qsort(out, k, sizeof(*out), by_count);
	*n = k;
	return 0;
}

int events_peers(struct events *ev, uint64_t netns, int all, struct events_peer *out, size_t max,
		 size_t *n)
{
	struct bpf_map *m = ev->skel->maps.peers;
	struct td_peer key, next, *prev = NULL;
	struct td_peer_rst v;
	size_t k = 0;

	/* Small (LD_EVENTS_MAX_PEERS) and read on request only: keep the top max. */
	while (!bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		struct events_peer p;

		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(m, &key, sizeof(key), &v, sizeof(v), 0))
			continue;
		p.netns = key.netns == ev->self_netns ? 0 : key.netns;
		if (!all && p.netns != netns)
			continue; /* the map is host-wide: other namespaces must not crowd these out */
		p.family = (uint8_t)key.family;
		memcpy(p.addr, key.addr, sizeof(p.addr));
		p.sent = v.sent;
		p.recv = v.recv;
		if (k == max) {
			size_t least = 0;

			for (size_t i = 1; i < k; i++)
				if (by_peer_resets(&out[i], &out[least]) > 0)
					least = i;
			if (!k || by_peer_resets(&p, &out[least]) >= 0)
				continue;
			out[least] = p;
		} else {
			out[k++] = p;
		}
	}
	qsort(out, k, sizeof(*out), by_peer_resets);
	*n = k;
	return 0;
}

int events_procs(struct events *ev, struct events_proc *out, size_t max, size_t *n)
{
	struct bpf_map *m = ev->skel->maps.procs;
	__u32 key, next, *prev = NULL;
	struct td_proc p;
	size_t k = 0;

	/* The map is small (LD_EVENTS_MAX_PROCS): keep the top max by replacing the least. */
	while (!bpf_map__get_next_key(m, prev, &next, sizeof(next))) {
		key = next;
		prev = &key;
		if (bpf_map__lookup_elem(m, &key, sizeof(key), &p, sizeof(p), 0))
			continue;
		if (k == max) {
			size_t least = 0;

			for (size_t i = 1; i < k; i++)
				if (by_resets(&out[i], &out[least]) > 0)
					least = i;
			if (!k ||
			    out[least].rst_sent + out[least].rst_recv >= p.rst_sent + p.rst_recv)
				continue;
			k--;
			out[least] = out[k];
		}
		out[k].tgid = key;
		out[k].rst_sent = p.rst_sent;
		out[k].rst_recv = p.rst_recv;
		memcpy(out[k].comm, p.comm, sizeof(out[k].comm));
		out[k].comm[sizeof(out[k].comm) - 1] = '\0';
		k++;
	}
	qsort(out, k, sizeof(*out), by_resets);
	*n = k;
	return 0;
}

const char *events_reason_name(struct events *ev, unsigned reason)
{
	return reason < TD_REASONS ? ev->reasons[reason] : NULL;
}

#endif
