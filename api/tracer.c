/* tracer.c - the teardown tracer in the API: closed_by, /api/v1/sockets/{cookie}, its metrics. */
#include "tracer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "feed.h"
#include "limits.h"
#include "metrics.h"
#include "params.h"
#include "pool.h"
#include "store.h"
#include "view.h"
#include "util.h"

#define TOP_RESET_PROCS 20 /* processes listed by resets sent and received */
#define TOP_RESET_PEERS 20 /* peer addresses listed by resets sent and received */
/* Prometheus buckets: every other power of two of microseconds, 1 us to 2^30 us (18 min);
   the tracer's last bucket holds everything longer and only +Inf counts it. */
#define BUCKET_STEP 2
#define BUCKET_LAST (TD_BUCKETS - 2)

static const char *const hist_states[TD_H_COUNT] = {
	[TD_H_FIN_WAIT1] = "FIN_WAIT_1",  [TD_H_FIN_WAIT2] = "FIN_WAIT_2",
	[TD_H_CLOSE_WAIT] = "CLOSE_WAIT", [TD_H_LAST_ACK] = "LAST_ACK",
	[TD_H_CLOSING] = "CLOSING",       [TD_H_LIFETIME] = "lifetime",
};

/* The name of a namespace inode the tracer recorded, as the snapshot names it. */
static const char *netns_name(const struct snap *s, uint64_t inum)
{
	return api_netns_name(s, inum == s->self_netns ? 0 : inum);
}

static void write_closer(struct jw *w, const struct snap *s, const struct snap_closer *c)
{
	char id[24];

	jw_obj(w);
	jw_kint(w, "pid", c->pid);
	jw_kint(w, "tid", c->tid);
	jw_kstr(w, "comm", c->comm);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)c->cgroup);
	jw_kstr(w, "cgroup_id", id);
	jw_kstr(w, "netns", netns_name(s, c->netns));
	jw_kstr(w, "how", events_how_name(c->how));
	jw_kbool(w, "reset_sent", c->rst_sent);
	jw_obj_end(w);
}

void api_events_closed_by(struct jw *w, const struct snap *s, const struct snap_sock *x)
{
	jw_key(w, "closed_by");
	if (x->closer && x->closer <= s->n_closers)
		write_closer(w, s, &s->closers[x->closer - 1]);
	else
		jw_null(w);
}

/*
 * The changes TCP's state machine makes: always exported, so that the series do not come and
 * go with traffic.  Any other pair the kernel reports is exported once it has been seen.
 */
static const unsigned char usual[][2] = {
	{ 7, 2 }, { 7, 10 }, { 10, 7 }, { 10, 3 }, { 2, 1 }, { 2, 7 },  { 3, 1 },
	{ 3, 7 }, { 1, 4 },  { 1, 8 },  { 1, 7 },  { 4, 5 }, { 4, 11 }, { 4, 7 },
	{ 5, 7 }, { 11, 7 }, { 8, 9 },  { 8, 7 },  { 9, 7 },
};

static int is_usual(int a, int b)
{
	for (size_t i = 0; i < sizeof(usual) / sizeof(usual[0]); i++)
		if (usual[i][0] == a && usual[i][1] == b)
			return 1;
	return 0;
}

/* A state number as a /metrics label ("fin_wait_1") or JSON name ("FIN_WAIT_1"). */
static const char *label(int st)
{
	const char *l = sock_state_label(st);

	return l ? l : st == 12 ? "new_syn_recv" : "unknown";
}

void api_events_metrics(struct feed *f, struct jw *w)
{
	struct events *ev = feed_events(f);
	struct events_stats st;
	uint64_t sent = 0;

	/* lingerd's own namespace, like every other unlabelled series here. */
	if (!ev || events_stats(ev, 0, 0, &st, 0) < 0)
		return;
	jw_textf(w, "# HELP lingerd_tcp_transitions_total TCP state changes counted in the kernel "
		    "since lingerd started, by from and to state.\n"
		    "# TYPE lingerd_tcp_transitions_total counter\n");
	for (int a = 0; a < TD_STATES; a++)
		for (int b = 0; b < TD_STATES; b++)
			if (st.n.trans[a][b] || is_usual(a, b))
				jw_textf(
					w,
					"lingerd_tcp_transitions_total{from=\"%s\",to=\"%s\"} %llu\n",
					label(a), label(b), (unsigned long long)st.n.trans[a][b]);
	jw_textf(w, "# HELP lingerd_tcp_state_duration_seconds Time sockets spent in each "
		    "teardown state before leaving it, and whole connection lifetimes "
		    "(state=\"lifetime\").\n"
		    "# TYPE lingerd_tcp_state_duration_seconds histogram\n");
	for (int h = 0; h < TD_H_COUNT; h++) {
		uint64_t cum = 0, all = 0;

		for (int b = 0; b < TD_BUCKETS; b++)
			all += st.n.hist[h][b];
		for (int b = 0; b <= BUCKET_LAST; b++) {
			cum += st.n.hist[h][b];
			if (b % BUCKET_STEP)
				continue;
			jw_textf(
				w,
				"lingerd_tcp_state_duration_seconds_bucket{state=\"%s\",le=\"%g\"} "
				"%llu\n",
				hist_states[h], (double)(1ull << b) / 1e6, (unsigned long long)cum);
		}
		jw_textf(
			w,
			"lingerd_tcp_state_duration_seconds_bucket{state=\"%s\",le=\"+Inf\"} %llu\n",
			hist_states[h], (unsigned long long)all);
		jw_textf(w, "lingerd_tcp_state_duration_seconds_sum{state=\"%s\"} %.6f\n",
			 hist_states[h], (double)st.n.hist_sum_us[h] / 1e6);
		jw_textf(w, "lingerd_tcp_state_duration_seconds_count{state=\"%s\"} %llu\n",
			 hist_states[h], (unsigned long long)all);
	}
	/* One series: the kernel's reasons are many and vary by version (/api/v1/events). */
	for (unsigned r = 0; r < TD_REASONS; r++)
		sent += st.k.rst_sent[r];
	jw_textf(w,
		 "# HELP lingerd_tcp_resets_sent_total Resets the kernel sent (host-wide; by "
		 "reason and process in /api/v1/events).\n"
		 "# TYPE lingerd_tcp_resets_sent_total counter\n"
		 "lingerd_tcp_resets_sent_total %llu\n",
		 (unsigned long long)sent);
	jw_textf(w,
		 "# HELP lingerd_tcp_resets_received_total Resets the kernel received on a "
		 "socket.\n# TYPE lingerd_tcp_resets_received_total counter\n"
		 "lingerd_tcp_resets_received_total %llu\n",
		 (unsigned long long)st.k.rst_recv);
	jw_textf(w,
		 "# HELP lingerd_bpf_lost_total Teardown records or steps the tracer could not "
		 "store (map full, no memory, timeline full), and program runs the kernel "
		 "skipped (a run nested in another on the same CPU).\n"
		 "# TYPE lingerd_bpf_lost_total counter\nlingerd_bpf_lost_total %llu\n",
		 (unsigned long long)st.k.lost);
}

/*
 * The teardown kept with the socket's lifetime row (lingerd --persist-after), for a socket
 * the tracer has forgotten (evicted, or before a restart).  1 when found, else 0: a
 * database that cannot be read leaves the answer as the kernel gives it.
 */
static int stored_timeline(const struct api_ctx *ctx, uint64_t cookie, struct store_timeline *t)
{
	struct store_reader *r = NULL;
	int err;

	if (!ctx->pool || pool_get(ctx->pool, &r) < 0)
		return 0;
	err = store_reader_timeline(r, cookie, t);
	pool_put(ctx->pool, r, err == -EIO);
	return err == 0;
}

/* 404 for what is not a cookie or a cookie nobody knows; 503 before the first snapshot. */
int api_h_socket(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e)
{
	struct events *ev = feed_events(ctx->feed);
	const struct snap_sock *x = NULL;
	struct store_timeline t;
	struct td_sock r;
	unsigned long long cookie;
	struct snap *s;
	char *end;
	int known, stored = 0;

	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	errno = 0;
	cookie = strtoull(arg, &end, 10);
	/* Like an unknown state name, a malformed cookie names no resource: 404. */
	if (errno || *end || !cookie || arg[0] < '1' || arg[0] > '9')
		return api_fail(
			e, 404, "not_found", NULL,
			"'%.40s' is not a socket cookie (a decimal number from /api/v1/sockets)",
			arg);
	s = api_snapshot(ctx, e);
	if (!s)
		return -EAGAIN;
	for (size_t i = 0; i < s->n && !x; i++)
		if (s->socks[i].r.cookie == cookie)
			x = &s->socks[i];
	known = ev && events_lookup(ev, cookie, &r) == 0;
	if (!known && stored_timeline(ctx, cookie, &t)) {
		/* The kernel's record in its shape, from what the row kept. */
		memset(&r, 0, sizeof(r));
		r.cgroup = t.cgroup;
		r.netns = t.netns;
		r.pid = (uint32_t)t.tid;
		r.tgid = (uint32_t)t.pid;
		r.how = (uint8_t)t.how;
		r.rst_sent = (uint8_t)t.reset_sent;
		memcpy(r.comm, t.comm, sizeof(r.comm));
		stored = known = 1;
	}
	if (!x && !known) {
		snap_put(s);
		return api_fail(e, 404, "not_found", NULL,
				"no socket with cookie %llu in the last snapshot%s", cookie,
				ev ? " nor in the teardown tracer or the history" : "");
	}
	jw_obj(w);
	jw_kstr(w, "cookie", arg);
	if (x) {
		jw_kstr(w, "state", sock_state_name(x->r.state));
		jw_kstr(w, "netns", api_netns_name(s, x->r.netns));
		jw_kdouble(w, "state_since", snap_wall(s, x->state_since), 3);
	} else {
		jw_knull(w, "state");
		jw_kstr(w, "netns", known ? netns_name(s, r.netns) : "unknown");
		jw_knull(w, "state_since");
	}
	if (x && x->closer) {
		api_events_closed_by(w, s, x);
	} else if (known && r.how != TD_HOW_NONE) {
		struct snap_closer c = { .pid = (int32_t)r.tgid,
					 .tid = (int32_t)r.pid,
					 .cgroup = r.cgroup,
					 .netns = r.netns,
					 .how = r.how,
					 .rst_sent = r.rst_sent };

		memcpy(c.comm, r.comm, sizeof(r.comm));
		jw_key(w, "closed_by");
		write_closer(w, s, &c);
	} else {
		jw_knull(w, "closed_by");
	}
	jw_kstr(w, "timeline_source", !known ? NULL : stored ? "history" : "tracer");
	jw_key(w, "timeline");
	if (!known) {
		jw_null(w);
	} else if (stored) {
		jw_arr(w);
		for (int i = 0; i < t.nsteps; i++) {
			jw_obj(w);
			jw_kdouble(w, "at", t.steps[i].at, 6);
			jw_kstr(w, "from", events_state_name(t.steps[i].from));
			jw_kstr(w, "to", events_state_name(t.steps[i].to));
			if (t.steps[i].pid)
				jw_kint(w, "pid", t.steps[i].pid);
			else
				jw_knull(w, "pid");
			jw_obj_end(w);
		}
		jw_arr_end(w);
	} else {
		jw_arr(w);
		for (int i = 0; i < r.nsteps && i < TD_STEPS; i++) {
			jw_obj(w);
			jw_kdouble(w, "at", events_wall(r.steps[i].ns), 6);
			jw_kstr(w, "from", events_state_name(r.steps[i].from));
			jw_kstr(w, "to", events_state_name(r.steps[i].to));
			if (r.steps[i].tgid)
				jw_kint(w, "pid", r.steps[i].tgid);
			else
				jw_knull(w, "pid");
			jw_obj_end(w);
		}
		jw_arr_end(w);
	}
	jw_obj_end(w);
	snap_put(s);
	return 0;
}

/* The histograms of one set of counters, keyed by state ("lifetime" last). */
static void write_hists(struct jw *w, const __u64 hist[TD_H_COUNT][TD_BUCKETS],
			const __u64 sum_us[TD_H_COUNT])
{
	jw_obj(w);
	for (int h = 0; h < TD_H_COUNT; h++) {
		uint64_t all = 0;

		jw_key(w, hist_states[h]);
		jw_obj(w);
		/* buckets[b]: how many took less than 2^b microseconds and at least 2^(b-1). */
		jw_key(w, "log2_us_buckets");
		jw_arr(w);
		for (int b = 0; b < TD_BUCKETS; b++) {
			jw_uint(w, hist[h][b]);
			all += hist[h][b];
		}
		jw_arr_end(w);
		jw_kuint(w, "count", all);
		jw_kdouble(w, "sum_s", (double)sum_us[h] / 1e6, 6);
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

/* The processes with the most teardowns timed, each with its histograms (host-wide). */
static int write_proc_hists(struct jw *w, struct events *ev)
{
	struct events_phist *v = NULL;
	size_t n = 0;
	int err = 0;

	jw_key(w, "durations_by_process");
	jw_arr(w);
	if (ev) {
		v = malloc(LD_EVENTS_TOP_PHIST * sizeof(*v));
		err = v ? events_phists(ev, v, LD_EVENTS_TOP_PHIST, &n) : -ENOMEM;
	}
	for (size_t i = 0; i < n && !err; i++) {
		jw_obj(w);
		jw_kint(w, "pid", v[i].tgid);
		jw_kstr(w, "comm", v[i].h.comm);
		jw_key(w, "durations");
		write_hists(w, (const __u64(*)[TD_BUCKETS])v[i].h.hist, v[i].h.hist_sum_us);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	free(v);
	return err;
}

int api_h_events(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e)
{
	struct events *ev = feed_events(ctx->feed);
	struct events_proc top[TOP_RESET_PROCS];
	struct events_peer peers[TOP_RESET_PEERS];
	struct feed_status fs;
	struct events_stats st;
	struct netns_sel sel;
	const char *ns_param;
	struct snap *s;
	size_t n = 0, n_peers = 0;
	int err;

	(void)arg;
	ns_param = query_get(q, "netns");
	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	feed_status(ctx->feed, &fs);
	s = api_snapshot(ctx, e);
	if (!s)
		return -EAGAIN;
	err = api_netns_resolve(ns_param, s, &sel, e);
	if (err < 0) {
		snap_put(s);
		return -EINVAL;
	}
	/* Off is an answer, not an error: the same shape, empty, saying why. */
	memset(&st, 0, sizeof(st));
	err = ev ? events_stats(ev, sel.id, sel.all, &st, 1) : 0;
	if (err == 0 && ev)
		err = events_procs(ev, top, TOP_RESET_PROCS, &n);
	if (err == 0 && ev)
		err = events_peers(ev, sel.id, sel.all, peers, TOP_RESET_PEERS, &n_peers);
	if (err < 0) {
		snap_put(s);
		return api_fail(e, 503, "events_failed", NULL, "cannot read the tracer's maps: %s",
				util_strerror(-err));
	}
	jw_obj(w);
	jw_kstr(w, "events", fs.events);
	jw_kstr(w, "netns", ns_param ? ns_param : "self");
	jw_key(w, "transitions");
	jw_arr(w);
	for (int a = 0; a < TD_STATES; a++)
		for (int b = 0; b < TD_STATES; b++) {
			if (!st.n.trans[a][b])
				continue;
			jw_obj(w);
			jw_kstr(w, "from", events_state_name(a));
			jw_kstr(w, "to", events_state_name(b));
			jw_kuint(w, "count", st.n.trans[a][b]);
			jw_obj_end(w);
		}
	jw_arr_end(w);
	jw_key(w, "durations");
	if (ev) {
		write_hists(w, (const __u64(*)[TD_BUCKETS])st.n.hist, st.n.hist_sum_us);
	} else {
		jw_obj(w);
		jw_obj_end(w);
	}
	if (write_proc_hists(w, ev) == -ENOMEM) {
		snap_put(s);
		return -ENOMEM;
	}
	jw_key(w, "resets");
	jw_obj(w);
	{
		uint64_t sent = 0;

		for (int r = 0; r < TD_REASONS; r++)
			sent += st.k.rst_sent[r];
		jw_kuint(w, "sent", sent);
	}
	jw_key(w, "sent_by_reason");
	jw_obj(w);
	for (unsigned r = 0; r < TD_REASONS && ev; r++) {
		const char *name = events_reason_name(ev, r);

		if (st.k.rst_sent[r])
			jw_kuint(w,
				 name ? name
				 : r  ? "UNKNOWN"
				      : "NOT_SPECIFIED",
				 st.k.rst_sent[r]);
	}
	jw_obj_end(w);
	jw_kuint(w, "received", st.k.rst_recv);
	jw_key(w, "sent_by_process");
	jw_arr(w);
	for (size_t i = 0; i < n; i++) {
		jw_obj(w);
		if (top[i].tgid) {
			jw_kint(w, "pid", top[i].tgid);
			jw_kstr(w, "comm", top[i].comm);
		} else {
			jw_knull(w, "pid");
			jw_knull(w, "comm");
		}
		jw_kuint(w, "sent", top[i].rst_sent);
		jw_kuint(w, "received", top[i].rst_recv);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	/* Peers of the namespaces asked for; a reset to a stray segment goes to its sender. */
	jw_key(w, "by_peer");
	jw_arr(w);
	for (size_t i = 0; i < n_peers; i++) {
		char a[INET6_ADDRSTRLEN];

		if (!sel.all && peers[i].netns != sel.id)
			continue;
		inet_ntop(peers[i].family, peers[i].addr, a, sizeof(a));
		jw_obj(w);
		jw_kstr(w, "netns", api_netns_name(s, peers[i].netns));
		jw_kstr(w, "address", a);
		jw_kuint(w, "sent", peers[i].sent);
		jw_kuint(w, "received", peers[i].recv);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	/* Counted at the last snapshot, since the one before: the busiest routes. */
	jw_key(w, "time_wait_routes");
	jw_arr(w);
	for (size_t i = 0; i < s->n_tw_routes; i++) {
		const struct snap_tw_route *t = &s->tw_routes[i];
		char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

		if (!sel.all && t->netns != sel.id)
			continue;
		inet_ntop(t->family, t->laddr, l, sizeof(l));
		inet_ntop(t->family, t->raddr, r, sizeof(r));
		jw_obj(w);
		jw_kstr(w, "netns", api_netns_name(s, t->netns));
		jw_kstr(w, "source", l);
		jw_kstr(w, "destination", r);
		jw_kuint(w, "destination_port", t->rport);
		jw_kdouble(w, "per_s", t->per_s, 3);
		jw_kuint(w, "total", t->total);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_kuint(w, "records", st.socks);
	jw_kuint(w, "lost", st.k.lost);
	jw_obj_end(w);
	snap_put(s);
	return 0;
}
