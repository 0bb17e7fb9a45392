/* ep_findings.c - /api/v1/findings: the decided findings as JSON, told in English or Korean. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "feed.h"
#include "findings.h"
#include "handlers.h"
#include "limits.h"
#include "params.h"
#include "util.h"
#include "view.h"

/*
 * What a finding says.  A title is a printf format with numbered arguments, so that a
 * language can order them as it needs; an argument a language leaves out (the English
 * plural "s") always comes last.  The arguments, by kind:
 *   CLOSE_WAIT_LEAK, FIN_WAIT2_HELD  who %s, count %u, plural %s
 *   CLOSE_WAIT_UNREAD                who %s, unread bytes %llu, count %u, plural %s
 *   FIN_WAIT1_STUCK                  count %u, remote %s, zero_window phrase %s, plural %s
 *   ACCEPT_QUEUE_FULL                port %u, queued %u, backlog %u, in_process phrase %s
 *   SYN_RECV_BUILDUP                 count %u, port %s
 *   TIME_WAIT_PRESSURE               percent %f, source %s, destination %s, port %u,
 *                                    in TIME_WAIT %u
 *   TIME_WAIT_OVERFLOW               TIME_WAIT %lld, tcp_max_tw_buckets %lld,
 *                                    tw_overflow phrase %s
 *   ORPHANS_NEAR_LIMIT               orphans %lld, percent of tcp_max_orphans %f
 *   LISTEN_OVERFLOWS                 overflows %llu, dropped SYNs %llu, seconds %f
 *   RST_ON_CLOSE                     per minute %f
 *   NETNS_SHARED_HASH                sharing %u, followed %u, host's buckets %lld
 */
struct finding_text {
	const char *title, *explanation, *remedy;
};

/* Short phrases inside titles and subjects. */
struct finding_phrases {
	const char *zero_window, *tw_overflow, *in_process, *uid_process, *unknown_process;
};

#include "text/findings_en.inc"
#include "text/findings_ko.inc"

_Static_assert(ARRAY_SIZE(findings_text_en) == FINDING_KIND_MAX, "English for every kind");
_Static_assert(ARRAY_SIZE(findings_text_ko) == FINDING_KIND_MAX, "Korean for every kind");

static const struct {
	const struct finding_text *text;
	const struct finding_phrases *phrases;
} langs[] = {
	[STATES_LANG_EN] = { findings_text_en, &findings_phrases_en },
	[STATES_LANG_KO] = { findings_text_ko, &findings_phrases_ko },
};

/* What every writer below reads besides the finding. */
struct render {
	struct jw *w;
	const struct findings_input *in;
	const struct finding_text *text; /* of the language asked for, by kind */
	const struct finding_phrases *phrases;
};

static void write_example(struct jw *w, const struct snap_sock *x)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN], buf[2 * INET6_ADDRSTRLEN + 32];

	inet_ntop(x->r.family, x->r.laddr, l, sizeof(l));
	inet_ntop(x->r.family, x->r.raddr, r, sizeof(r));
	snprintf(buf, sizeof(buf),
		 x->r.family == AF_INET6 ? "[%s]:%u -> [%s]:%u" : "%s:%u -> %s:%u", l, x->r.lport,
		 r, x->r.rport);
	jw_kstr(w, "example", buf);
}

/* Opens the subject of a finding judged per namespace: it names the namespace unless own. */
static void subject_begin(const struct render *r, const struct finding *f)
{
	jw_key(r->w, "subject");
	jw_obj(r->w);
	if (f->netns)
		jw_kstr(r->w, "netns", api_netns_name(r->in->snap, f->netns));
}

/* Each writer below writes a finding's title, subject and evidence. */

static void write_held(const struct render *r, const struct finding *f, const char *fmt)
{
	struct jw *w = r->w;
	const char *plural = f->u.held.count == 1 ? "" : "s";
	char who[96], title[320];

	if (f->proc)
		snprintf(who, sizeof(who), "%s (pid %d)", f->proc->comm, f->proc->pid);
	else
		snprintf(who, sizeof(who), r->phrases->uid_process, f->sock->r.uid);
	if (f->kind == FINDING_CLOSE_WAIT_UNREAD)
		snprintf(title, sizeof(title), fmt, who, (unsigned long long)f->u.held.unread_bytes,
			 f->u.held.count, plural);
	else
		snprintf(title, sizeof(title), fmt, who, f->u.held.count, plural);
	jw_kstr(w, "title", title);
	jw_key(w, "subject");
	jw_obj(w);
	if (f->proc) {
		jw_kint(w, "pid", f->proc->pid);
		jw_kstr(w, "comm", f->proc->comm);
		jw_kstr(w, "cmdline", f->proc->cmdline);
		jw_kuint(w, "uid", f->proc->uid);
	} else {
		jw_knull(w, "pid");
		jw_kuint(w, "uid", f->sock->r.uid);
		jw_kstr(w, "note", r->phrases->unknown_process);
	}
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kuint(w, "count", f->u.held.count);
	jw_kdouble(w, "oldest_age_s", f->u.held.oldest_age_s, 3);
	jw_kbool(w, "oldest_age_lower_bound", f->u.held.oldest_lb);
	if (f->kind == FINDING_CLOSE_WAIT_LEAK)
		jw_kdouble(w, "growth_per_min", f->u.held.growth_per_min, 3);
	if (f->kind != FINDING_FIN_WAIT2_HELD)
		jw_kuint(w, "unread_bytes", f->u.held.unread_bytes);
	jw_kdouble(w, "min_age_s", r->in->min_age, 3);
	write_example(w, f->sock);
	jw_obj_end(w);
}

static void write_fin_wait1(const struct render *r, const struct finding *f, const char *fmt)
{
	struct jw *w = r->w;
	char title[320];

	snprintf(title, sizeof(title), fmt, f->u.fin_wait1.count, f->key,
		 f->u.fin_wait1.zero_window ? r->phrases->zero_window : "",
		 f->u.fin_wait1.count == 1 ? "" : "s");
	jw_kstr(w, "title", title);
	jw_key(w, "subject");
	jw_obj(w);
	jw_kstr(w, "remote", f->key);
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kuint(w, "count", f->u.fin_wait1.count);
	jw_kuint(w, "zero_window_probing", f->u.fin_wait1.zero_window);
	jw_kuint(w, "orphans", f->u.fin_wait1.orphans);
	jw_kdouble(w, "oldest_age_s", f->u.fin_wait1.oldest_age_s, 3);
	jw_kbool(w, "oldest_age_lower_bound", f->u.fin_wait1.oldest_lb);
	write_example(w, f->sock);
	jw_obj_end(w);
}

static void write_accept(const struct render *r, const struct finding *f, const char *fmt)
{
	struct jw *w = r->w;
	char title[320], in_proc[64] = "";

	if (f->proc)
		snprintf(in_proc, sizeof(in_proc), r->phrases->in_process, f->proc->comm);
	snprintf(title, sizeof(title), fmt, f->sock->r.lport, f->u.accept.queued,
		 f->u.accept.backlog, in_proc);
	jw_kstr(w, "title", title);
	jw_key(w, "subject");
	jw_obj(w);
	jw_kuint(w, "local_port", f->sock->r.lport);
	if (f->proc) {
		jw_kint(w, "pid", f->proc->pid);
		jw_kstr(w, "comm", f->proc->comm);
	}
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kuint(w, "queued", f->u.accept.queued);
	jw_kuint(w, "backlog", f->u.accept.backlog);
	jw_obj_end(w);
}

static void write_syn_recv(const struct render *r, const struct finding *f, const char *fmt)
{
	struct jw *w = r->w;
	char title[320];

	snprintf(title, sizeof(title), fmt, f->u.syn_recv.count, f->key);
	jw_kstr(w, "title", title);
	jw_key(w, "subject");
	jw_obj(w);
	jw_kuint(w, "local_port", f->sock->r.lport);
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kuint(w, "count", f->u.syn_recv.count);
	jw_kint(w, "tcp_max_syn_backlog", f->u.syn_recv.max_syn_backlog);
	jw_obj_end(w);
}

static void write_ports(const struct render *r, const struct finding *f, const char *fmt)
{
	const struct snap_sock *x = f->sock;
	struct jw *w = r->w;
	char l[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN], title[320];

	inet_ntop(x->r.family, x->r.laddr, l, sizeof(l));
	inet_ntop(x->r.family, x->r.raddr, ra, sizeof(ra));
	snprintf(title, sizeof(title), fmt, f->u.ports.ratio * 100, l, ra, x->r.rport,
		 f->u.ports.time_wait);
	jw_kstr(w, "title", title);
	subject_begin(r, f);
	jw_kstr(w, "source", l);
	jw_kstr(w, "destination", ra);
	jw_kuint(w, "destination_port", x->r.rport);
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kuint(w, "time_wait", f->u.ports.time_wait);
	jw_kuint(w, "ports_in_use", f->u.ports.in_use);
	jw_key(w, "port_range");
	jw_arr(w);
	jw_int(w, f->u.ports.low);
	jw_int(w, f->u.ports.high);
	jw_arr_end(w);
	jw_kint(w, "ports_available", f->u.ports.high - f->u.ports.low + 1);
	jw_kdouble(w, "ratio", f->u.ports.ratio, 4);
	jw_kint(w, "tcp_tw_reuse", f->u.ports.tw_reuse);
	jw_kdouble(w, "arrivals_per_min", f->u.ports.arrivals_per_min, 3);
	/* Counted by the teardown tracer (null without it): the rate, what is left, and when. */
	jw_kint(w, "headroom", f->u.ports.headroom);
	if (isnan(f->u.ports.tw_entries_per_s))
		jw_knull(w, "time_wait_entries_per_s");
	else
		jw_kdouble(w, "time_wait_entries_per_s", f->u.ports.tw_entries_per_s, 3);
	if (isnan(f->u.ports.exhaustion_s))
		jw_knull(w, "time_to_exhaustion_s");
	else
		jw_kdouble(w, "time_to_exhaustion_s", f->u.ports.exhaustion_s, 1);
	/* Who makes them, when the teardown tracer saw the closes (null otherwise). */
	if (f->u.ports.closer_pid) {
		jw_kint(w, "closed_by_pid", f->u.ports.closer_pid);
		jw_kstr(w, "closed_by_comm", f->u.ports.closer_comm);
		jw_kuint(w, "closed_by_time_wait", f->u.ports.closer_time_wait);
	} else {
		jw_knull(w, "closed_by_pid");
		jw_knull(w, "closed_by_comm");
		jw_knull(w, "closed_by_time_wait");
	}
	jw_obj_end(w);
}

static void write_tw_overflow(const struct render *r, const struct finding *f, const char *fmt)
{
	struct jw *w = r->w;
	char title[320];

	snprintf(title, sizeof(title), fmt, (long long)f->u.tw_overflow.time_wait,
		 (long long)f->u.tw_overflow.max_tw_buckets,
		 f->u.tw_overflow.overflows > 0 ? r->phrases->tw_overflow : "");
	jw_kstr(w, "title", title);
	subject_begin(r, f);
	jw_kstr(w, "setting", "net.ipv4.tcp_max_tw_buckets");
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kint(w, "time_wait", f->u.tw_overflow.time_wait);
	jw_kint(w, "tcp_max_tw_buckets", f->u.tw_overflow.max_tw_buckets);
	jw_kuint(w, "overflows_in_window", f->u.tw_overflow.overflows);
	jw_kdouble(w, "overflows_per_min", f->u.tw_overflow.overflows_per_min, 3);
	jw_obj_end(w);
}

static void write_orphans(const struct render *r, const struct finding *f, const char *fmt)
{
	struct jw *w = r->w;
	char title[320];

	snprintf(title, sizeof(title), fmt, (long long)f->u.orphans.orphans,
		 f->u.orphans.ratio * 100);
	jw_kstr(w, "title", title);
	subject_begin(r, f);
	jw_kstr(w, "setting", "net.ipv4.tcp_max_orphans");
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kint(w, "orphans", f->u.orphans.orphans);
	jw_kint(w, "tcp_max_orphans", f->u.orphans.max_orphans);
	jw_kdouble(w, "ratio", f->u.orphans.ratio, 4);
	jw_kuint(w, "abort_on_memory_in_window", f->u.orphans.abort_on_memory);
	jw_obj_end(w);
}

static void write_listen(const struct render *r, const struct finding *f, const char *fmt)
{
	struct jw *w = r->w;
	char title[320];

	snprintf(title, sizeof(title), fmt, (unsigned long long)f->u.listen.overflows,
		 (unsigned long long)f->u.listen.drops, f->u.listen.window_s);
	jw_kstr(w, "title", title);
	subject_begin(r, f);
	jw_kstr(w, "counter", "ListenOverflows");
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kdouble(w, "listen_overflows_per_min", f->u.listen.overflows_per_min, 3);
	jw_kdouble(w, "listen_drops_per_min", f->u.listen.drops_per_min, 3);
	jw_obj_end(w);
}

static void write_rst(const struct render *r, const struct finding *f, const char *fmt)
{
	struct jw *w = r->w;
	char title[320];

	snprintf(title, sizeof(title), fmt, f->u.rst.per_min);
	jw_kstr(w, "title", title);
	subject_begin(r, f);
	jw_kstr(w, "counter", "TCPAbortOnClose+TCPAbortOnData");
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kuint(w, "abort_on_close", f->u.rst.on_close);
	jw_kuint(w, "abort_on_data", f->u.rst.on_data);
	jw_kdouble(w, "per_min", f->u.rst.per_min, 3);
	jw_kdouble(w, "window_s", f->u.rst.window_s, 3);
	/* The teardown tracer's counts since it started: who resets most, and whom. */
	jw_key(w, "by_process");
	if (f->u.rst.proc) {
		jw_obj(w);
		jw_kint(w, "pid", f->u.rst.proc->tgid);
		jw_kstr(w, "comm", f->u.rst.proc->comm);
		jw_kuint(w, "sent", f->u.rst.proc->rst_sent);
		jw_kuint(w, "received", f->u.rst.proc->rst_recv);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	jw_key(w, "by_peer");
	if (f->u.rst.peer) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(f->u.rst.peer->family, f->u.rst.peer->addr, a, sizeof(a));
		jw_obj(w);
		jw_kstr(w, "address", a);
		jw_kuint(w, "sent", f->u.rst.peer->sent);
		jw_kuint(w, "received", f->u.rst.peer->recv);
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	jw_obj_end(w);
}

static void write_shared_hash(const struct render *r, const struct finding *f, const char *fmt)
{
	struct jw *w = r->w;
	char title[320];

	snprintf(title, sizeof(title), fmt, f->u.shared_hash.shared, f->u.shared_hash.followed,
		 (long long)f->u.shared_hash.buckets);
	jw_kstr(w, "title", title);
	jw_key(w, "subject");
	jw_obj(w);
	jw_kstr(w, "setting", "net.ipv4.tcp_child_ehash_entries");
	jw_obj_end(w);
	jw_key(w, "evidence");
	jw_obj(w);
	jw_kuint(w, "namespaces_sharing", f->u.shared_hash.shared);
	jw_kuint(w, "namespaces_followed", f->u.shared_hash.followed);
	jw_kint(w, "host_ehash_entries", f->u.shared_hash.buckets);
	if (f->u.shared_hash.child_ehash >= 0)
		jw_kint(w, "tcp_child_ehash_entries", f->u.shared_hash.child_ehash);
	else
		jw_knull(w, "tcp_child_ehash_entries");
	jw_kdouble(w, "their_dumps_ms", f->u.shared_hash.dump_ms, 3);
	jw_kstr(w, "example", f->u.shared_hash.example);
	jw_obj_end(w);
}

static void (*const writers[])(const struct render *r, const struct finding *f, const char *fmt) = {
	[FINDING_CLOSE_WAIT_LEAK] = write_held,
	[FINDING_CLOSE_WAIT_UNREAD] = write_held,
	[FINDING_FIN_WAIT2_HELD] = write_held,
	[FINDING_FIN_WAIT1_STUCK] = write_fin_wait1,
	[FINDING_ACCEPT_QUEUE_FULL] = write_accept,
	[FINDING_SYN_RECV_BUILDUP] = write_syn_recv,
	[FINDING_TIME_WAIT_PRESSURE] = write_ports,
	[FINDING_TIME_WAIT_OVERFLOW] = write_tw_overflow,
	[FINDING_ORPHANS_NEAR_LIMIT] = write_orphans,
	[FINDING_LISTEN_OVERFLOWS] = write_listen,
	[FINDING_RST_ON_CLOSE] = write_rst,
	[FINDING_NETNS_SHARED_HASH] = write_shared_hash,
};
_Static_assert(ARRAY_SIZE(writers) == FINDING_KIND_MAX, "a writer for every finding kind");

static void write_finding(const struct render *r, const struct finding *f)
{
	const char *kind = findings_kind_name(f->kind), *sep = f->key[0] ? "/" : "";
	const struct finding_text *t = &r->text[f->kind];
	struct jw *w = r->w;
	char id[160];

	/* The id: kind, then the namespace of a per-namespace finding unless own, then key. */
	if (f->netns)
		snprintf(id, sizeof(id), "%s/%s%s%s", kind, api_netns_name(r->in->snap, f->netns),
			 sep, f->key);
	else
		snprintf(id, sizeof(id), "%s%s%s", kind, sep, f->key);
	jw_obj(w);
	jw_kstr(w, "id", id);
	jw_kstr(w, "severity", findings_severity_name(f->severity));
	writers[f->kind](r, f, t->title);
	jw_kstr(w, "explanation", t->explanation);
	jw_kstr(w, "remedy", t->remedy);
	jw_obj_end(w);
}

/* Every finding of in, in a malloc'd array the caller frees; -ENOMEM. */
static ssize_t decide_all(const struct findings_input *in, struct finding **out)
{
	size_t cap = 64;
	ssize_t n;

	for (;;) {
		*out = malloc(cap * sizeof(**out));
		if (!*out)
			return -ENOMEM;
		n = findings_decide(in, *out, cap);
		if (n < 0 || (size_t)n <= cap)
			return n;
		free(*out);
		cap = (size_t)n;
	}
}

#define TOP_RST 8 /* processes and peers read for the RST-on-close finding */

int api_h_findings(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		   struct api_error *e)
{
	struct findings_input in = { .min_age = LD_FINDINGS_MIN_AGE_DEFAULT };
	struct events_proc procs[TOP_RST];
	struct events_peer peers[TOP_RST];
	enum states_lang lang;
	struct finding *v = NULL;
	size_t counts[FINDING_SEVERITY_MAX] = { 0 };
	const char *ns_param;
	struct render r;
	struct snap *s, *then = NULL;
	ssize_t n;

	(void)arg;
	if (query_double(q, "min_age", 0, LD_MIN_AGE_MAX, &in.min_age, e) < 0)
		return -EINVAL;
	ns_param = query_get(q, "netns");
	if (api_lang_param(q, &lang, e) < 0 || query_check_unused(q, e) < 0)
		return -EINVAL;
	s = api_snapshot(ctx, e);
	if (!s)
		return -EAGAIN;
	if (api_netns_resolve(ns_param, s, &in.ns, e) < 0) {
		snap_put(s);
		return -EINVAL;
	}
	in.snap = s;
	in.history = feed_history(ctx->feed);
	then = feed_past(ctx->feed, s->taken_at, LD_RATE_WINDOW_S, LD_GROWTH_MIN_S);
	in.then = then;
	if (feed_events(ctx->feed)) {
		/* Read on request: the maps are small and only this finding needs them. */
		if (events_procs(feed_events(ctx->feed), procs, TOP_RST, &in.n_rst_procs) == 0)
			in.rst_procs = procs;
		if (events_peers(feed_events(ctx->feed), in.ns.id, in.ns.all, peers, TOP_RST,
				 &in.n_rst_peers) == 0)
			in.rst_peers = peers;
	}
	n = decide_all(&in, &v);
	if (n < 0)
		goto out;
	r = (struct render){ w, &in, langs[lang].text, langs[lang].phrases };
	for (ssize_t i = 0; i < n; i++)
		counts[v[i].severity]++;
	jw_obj(w);
	jw_kdouble(w, "taken_at", s->taken_at, 3);
	jw_kdouble(w, "min_age", in.min_age, 3);
	jw_kstr(w, "lang", lang == STATES_LANG_KO ? "ko" : "en");
	jw_key(w, "summary");
	jw_obj(w);
	for (int sev = 0; sev < FINDING_SEVERITY_MAX; sev++)
		jw_kuint(w, findings_severity_name(sev), counts[sev]);
	jw_obj_end(w);
	/* Most severe first; within a severity, in the order the rules found them. */
	jw_key(w, "findings");
	jw_arr(w);
	for (int sev = 0; sev < FINDING_SEVERITY_MAX; sev++)
		for (ssize_t i = 0; i < n; i++)
			if (v[i].severity == (enum finding_severity)sev)
				write_finding(&r, &v[i]);
	jw_arr_end(w);
	jw_obj_end(w);
	n = 0;
out:
	free(v);
	snap_put(then);
	snap_put(s);
	return (int)n;
}
