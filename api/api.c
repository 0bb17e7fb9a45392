/* api.c - routes and handlers of the JSON API, reading the sampler's published snapshot. */
#include "api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "assets.h"
#include "handlers.h"
#include "jw.h"
#include "limits.h"
#include "metrics.h"
#include "feed.h"
#include "states.h"

#define JSON_TYPE "application/json"
#define JSON_MAX (256u * 1024 * 1024)

struct route {
	const char *path;
	int prefix; /* path ends in '/' and the rest is an argument */
	api_handler_fn fn;
	const char *type; /* Content-Type when not JSON */
};

/* The page may load its own scripts, styles and data, and nothing else. */
#define PAGE_CSP                                                                           \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "  \
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "      \
	"frame-ancestors 'none'"

void api_response_free(struct api_response *resp)
{
	if (!resp->body_static)
		free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

int api_error_response(const struct api_error *e, struct api_response *resp)
{
	struct jw w;

	jw_init(&w, 4096);
	jw_obj(&w);
	jw_key(&w, "error");
	jw_obj(&w);
	jw_kstr(&w, "code", e->code);
	jw_kstr(&w, "message", e->message);
	if (e->parameter[0])
		jw_kstr(&w, "parameter", e->parameter);
	jw_obj_end(&w);
	jw_obj_end(&w);
	resp->status = e->status;
	resp->content_type = JSON_TYPE;
	resp->no_store = 1;
	return jw_finish(&w, &resp->body, &resp->len);
}

struct snap *api_snapshot(const struct api_ctx *ctx, struct api_error *e)
{
	struct snap *s = feed_current(ctx->feed);

	if (!s)
		api_fail(e, 503, "no_snapshot", NULL, "no snapshot has been taken yet; retry shortly");
	return s;
}

/* ---- filters shared by /snapshot and /sockets ---- */

struct filter {
	uint32_t states;   /* 0 = all */
	int family;        /* 0, AF_INET or AF_INET6 */
	int port, lport, rport; /* -1 = any */
	double min_age;    /* seconds in the current state */
	int64_t pid;       /* -1 = any */
	const char *comm;  /* NULL = any */
	const char *netns; /* the raw netns= value, resolved once the snapshot is known */
	struct netns_sel ns;
	const struct snap *snap;
};

int api_netns_resolve(const char *v, const struct snap *s, struct netns_sel *sel,
		      struct api_error *e)
{
	char *end;
	unsigned long long id;

	sel->all = 0;
	sel->id = 0;
	if (!v || strcmp(v, "self") == 0)
		return 0;
	if (!v[0])
		return api_fail(e, 400, "bad_parameter", "netns",
				"empty value; expected self, all, a namespace id or a name");
	if (strcmp(v, "all") == 0) {
		sel->all = 1;
		return 0;
	}
	if (v[0] >= '1' && v[0] <= '9') {
		errno = 0;
		id = strtoull(v, &end, 10);
		if (!errno && !*end) {
			if (id == s->self_netns)
				return 0;
			for (size_t i = 0; i < s->n_netns; i++) {
				if (s->netns[i].id == id) {
					sel->id = id;
					return 0;
				}
			}
		}
	}
	for (size_t i = 0; i < s->n_netns; i++) {
		if (strcmp(s->netns[i].name, v) == 0) {
			sel->id = s->netns[i].id;
			return 0;
		}
	}
	return api_fail(e, 404, "not_found", "netns",
			"no network namespace '%.64s' is followed; see /api/v1/netns (lingerd --netns all "
			"follows every namespace)", v);
}

const char *api_netns_name(const struct snap *s, uint64_t id)
{
	if (!id)
		return "self";
	for (size_t i = 0; i < s->n_netns; i++)
		if (s->netns[i].id == id)
			return s->netns[i].name;
	return "unknown";
}

const struct kstat *api_netns_kstat(const struct snap *s, uint64_t id)
{
	if (!id)
		return &s->kstat;
	for (size_t i = 0; i < s->n_netns; i++)
		if (s->netns[i].id == id)
			return s->netns[i].have_kstat ? &s->netns[i].kstat : NULL;
	return NULL;
}

static int parse_filter(struct query *q, struct filter *f, int full, struct api_error *e)
{
	static const char *const families[] = { "ipv4", "ipv6", NULL };
	uint64_t u;
	int fam, r;

	f->states = 0;
	f->family = 0;
	f->port = f->lport = f->rport = -1;
	f->min_age = 0;
	f->pid = -1;
	f->comm = NULL;
	f->netns = query_get(q, "netns");
	f->ns.all = 0;
	f->ns.id = 0;
	if ((r = query_enum(q, "family", families, &fam, e)) < 0)
		return r;
	if (r)
		f->family = fam ? AF_INET6 : AF_INET;
	if ((r = query_uint(q, "port", 0, 65535, &u, e)) < 0)
		return r;
	if (r)
		f->port = (int)u;
	if (!full)
		return 0;
	if ((r = query_states(q, "state", &f->states, e)) < 0)
		return r;
	if ((r = query_uint(q, "local_port", 0, 65535, &u, e)) < 0)
		return r;
	if (r)
		f->lport = (int)u;
	if ((r = query_uint(q, "remote_port", 0, 65535, &u, e)) < 0)
		return r;
	if (r)
		f->rport = (int)u;
	if ((r = query_double(q, "min_age", 0, LD_MIN_AGE_MAX, &f->min_age, e)) < 0)
		return r;
	if ((r = query_uint(q, "pid", 1, 4194304, &u, e)) < 0)
		return r;
	if (r)
		f->pid = (int64_t)u;
	f->comm = query_get(q, "comm");
	if (f->comm && (!f->comm[0] || strlen(f->comm) > 16))
		return api_fail(e, 400, "bad_parameter", "comm",
				"expected a process name of 1 to 16 bytes");
	return 0;
}

static const struct snap_proc *owner_of(const struct snap *s, const struct snap_sock *x)
{
	return x->proc ? &s->procs[x->proc - 1] : NULL;
}

/* The latest snapshot with the filter's namespace resolved against it, or NULL with e set. */
static struct snap *filter_snapshot(const struct api_ctx *ctx, struct filter *f,
				    struct api_error *e)
{
	struct snap *s = api_snapshot(ctx, e);

	if (!s)
		return NULL;
	f->snap = s;
	if (api_netns_resolve(f->netns, s, &f->ns, e) < 0) {
		snap_put(s);
		return NULL;
	}
	return s;
}

static int filter_match(const struct filter *f, const struct snap_sock *s, double taken_at)
{
	const struct sock_rec *r = &s->r;

	if (!api_netns_match(&f->ns, r->netns))
		return 0;
	if (f->states && !(f->states & (1u << r->state)))
		return 0;
	if (f->family && r->family != f->family)
		return 0;
	if (f->port >= 0 && r->lport != f->port && r->rport != f->port)
		return 0;
	if (f->lport >= 0 && r->lport != f->lport)
		return 0;
	if (f->rport >= 0 && r->rport != f->rport)
		return 0;
	if (f->min_age > 0 && taken_at - s->state_since < f->min_age)
		return 0;
	if (f->pid >= 0 || f->comm) {
		const struct snap_proc *p = owner_of(f->snap, s);

		if (!p || (f->pid >= 0 && p->pid != f->pid) ||
		    (f->comm && strcmp(p->comm, f->comm) != 0))
			return 0;
	}
	return 1;
}

void api_write_counts(struct jw *w, const uint32_t *counts, uint32_t mask)
{
	static const int order[] = { SOCK_ESTABLISHED, SOCK_SYN_SENT,   SOCK_SYN_RECV,
				     SOCK_FIN_WAIT1,   SOCK_FIN_WAIT2,  SOCK_TIME_WAIT,
				     SOCK_CLOSE,       SOCK_CLOSE_WAIT, SOCK_LAST_ACK,
				     SOCK_LISTEN,      SOCK_CLOSING };

	jw_obj(w);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (mask & (1u << order[i]))
			jw_kuint(w, sock_state_name(order[i]), counts[order[i]]);
	jw_obj_end(w);
}

/* ---- handlers ---- */

static int h_snapshot(const struct api_ctx *ctx, const char *arg, struct query *q,
		      struct jw *w, struct api_error *e)
{
	uint32_t counts[SOCK_STATE_MAX] = { 0 };
	const uint32_t *c = counts;
	struct filter f;
	struct snap *s;
	uint64_t total = 0;

	(void)arg;
	if (parse_filter(q, &f, 0, e) < 0 || query_check_unused(q, e) < 0)
		return -EINVAL;
	s = filter_snapshot(ctx, &f, e);
	if (!s)
		return e->status == 503 ? -EAGAIN : -EINVAL;
	if (f.port < 0 && !f.family && !f.ns.all && !f.ns.id) {
		c = s->counts;
		for (int i = 1; i < SOCK_STATE_MAX; i++)
			total += c[i];
	} else if (f.port < 0 && !f.ns.all && !f.ns.id) {
		c = s->family_counts[f.family == AF_INET6];
		for (int i = 1; i < SOCK_STATE_MAX; i++)
			total += c[i];
	} else {
		for (size_t i = 0; i < s->n; i++) {
			if (!filter_match(&f, &s->socks[i], s->taken_at))
				continue;
			counts[s->socks[i].r.state]++;
			total++;
		}
	}
	jw_obj(w);
	jw_kdouble(w, "taken_at", s->taken_at, 3);
	jw_kuint(w, "seq", s->seq);
	jw_kstr(w, "netns", f.ns.all ? "all" : api_netns_name(s, f.ns.id));
	jw_kstr(w, "source", s->source);
	jw_kbool(w, "partial", s->partial);
	jw_kdouble(w, "duration_ms", s->duration_ms, 3);
	jw_kuint(w, "total", total);
	jw_key(w, "counts");
	api_write_counts(w, c, ~0u);
	jw_obj_end(w);
	snap_put(s);
	return 0;
}

static void write_addr(struct jw *w, const char *key, int family, const uint8_t *addr,
		       uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, sizeof(buf)))
		buf[0] = '\0';
	jw_key(w, key);
	jw_obj(w);
	jw_kstr(w, "addr", buf);
	jw_kuint(w, "port", port);
	jw_obj_end(w);
}

/* Sockets are listed oldest in their state first; ties broken by key, so paging is stable. */
struct order_key {
	int64_t since_us;
	uint64_t key;
	const struct snap_sock *s;
};

static int order_cmp(const void *a, const void *b)
{
	const struct order_key *x = a, *y = b;

	if (x->since_us != y->since_us)
		return x->since_us < y->since_us ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return 0;
}

/* Keeps the `cap` smallest keys seen in a max-heap of *len entries. */
static void heap_offer(struct order_key *h, size_t *len, size_t cap, const struct order_key *k)
{
	size_t i, c;

	if (*len < cap) {
		/* Sift up. */
		for (i = (*len)++; i > 0 && order_cmp(&h[(i - 1) / 2], k) < 0; i = (i - 1) / 2)
			h[i] = h[(i - 1) / 2];
		h[i] = *k;
		return;
	}
	if (order_cmp(k, &h[0]) >= 0)
		return;
	/* Replace the largest and sift down. */
	for (i = 0; (c = 2 * i + 1) < *len; i = c) {
		if (c + 1 < *len && order_cmp(&h[c + 1], &h[c]) > 0)
			c++;
		if (order_cmp(&h[c], k) <= 0)
			break;
		h[i] = h[c];
	}
	h[i] = *k;
}

static int64_t since_us(double t)
{
	return (int64_t)llround(t * 1e6);
}

/* A cursor is "<state_since in microseconds>_<key in hex>" of the last item returned. */
static int parse_cursor(const char *v, struct order_key *c)
{
	char *end;

	if (!*v || strlen(v) > 48 || *v == '-' || *v == '+' || *v == ' ')
		return -EINVAL;
	errno = 0;
	c->since_us = strtoll(v, &end, 10);
	if (errno || *end != '_' || end == v)
		return -EINVAL;
	v = end + 1;
	if (!*v || *v == '-' || *v == '+' || *v == ' ')
		return -EINVAL;
	c->key = strtoull(v, &end, 16);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

static void write_socket(struct jw *w, const struct snap *snap, const struct snap_sock *s)
{
	const struct sock_rec *r = &s->r;
	const struct snap_proc *p = owner_of(snap, s);
	char cookie[24];

	jw_obj(w);
	jw_kstr(w, "state", sock_state_name(r->state));
	jw_kstr(w, "family", r->family == AF_INET6 ? "ipv6" : "ipv4");
	jw_kstr(w, "netns", api_netns_name(snap, r->netns));
	write_addr(w, "local", r->family, r->laddr, r->lport);
	write_addr(w, "remote", r->family, r->raddr, r->rport);
	jw_kuint(w, "inode", r->inode);
	jw_kuint(w, "uid", r->uid);
	if (r->cookie) {
		snprintf(cookie, sizeof(cookie), "%llu", (unsigned long long)r->cookie);
		jw_kstr(w, "cookie", cookie);
	} else {
		jw_knull(w, "cookie");
	}
	jw_kuint(w, "rx_queue", r->rqueue);
	jw_kuint(w, "tx_queue", r->wqueue);
	jw_key(w, "timer");
	jw_obj(w);
	jw_kstr(w, "kind", sock_timer_name(r->timer));
	jw_kuint(w, "expires_ms", r->expires_ms);
	jw_kuint(w, "retrans", r->retrans);
	jw_obj_end(w);
	if (r->shutdown == SOCK_SHUT_UNKNOWN) {
		jw_knull(w, "shutdown");
	} else {
		jw_key(w, "shutdown");
		jw_obj(w);
		jw_kbool(w, "read", r->shutdown & SOCK_SHUT_RD);
		jw_kbool(w, "write", r->shutdown & SOCK_SHUT_WR);
		jw_obj_end(w);
	}
	jw_kdouble(w, "first_seen", s->first_seen, 3);
	jw_kdouble(w, "state_since", s->state_since, 3);
	jw_kdouble(w, "age_s", snap->taken_at - s->state_since, 3);
	jw_kstr(w, "owner", r->inode ? "process" : "orphan");
	if (p) {
		jw_kint(w, "pid", p->pid);
		jw_kstr(w, "comm", p->comm);
		jw_kstr(w, "cmdline", p->cmdline);
	} else {
		jw_knull(w, "pid");
		jw_knull(w, "comm");
		jw_knull(w, "cmdline");
	}
	jw_obj_end(w);
}

/*
 * One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; a leading
 * = + - @ is defused with a quote so a spreadsheet never runs a process name as a formula.
 */
static const char *csv_escape(char c)
{
	return c == '"' ? "\"\"" : NULL;
}

static void csv_field(struct jw *w, const char *v, int last)
{
	int quote = strpbrk(v, ",\"\r\n") != NULL;

	if (quote)
		jw_text(w, "\"", 1);
	if (strchr("=+-@", v[0]) && v[0])
		jw_text(w, "'", 1);
	/* The body is declared UTF-8: a byte that is not becomes U+FFFD, as in JSON. */
	jw_text_utf8(w, v, csv_escape);
	if (quote)
		jw_text(w, "\"", 1);
	jw_text(w, last ? "\r\n" : ",", last ? 2 : 1);
}

static void csv_socket(struct jw *w, const struct snap *snap, const struct snap_sock *s)
{
	const struct sock_rec *r = &s->r;
	const struct snap_proc *p = owner_of(snap, s);
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN], num[256];

	inet_ntop(r->family, r->laddr, la, sizeof(la));
	inet_ntop(r->family, r->raddr, ra, sizeof(ra));
	jw_textf(w, "%s,%s,%s,%u,%s,%u,%llu,%u,%llu,%u,%u,%s,%u,%u,", sock_state_name(r->state),
		 r->family == AF_INET6 ? "ipv6" : "ipv4", la, r->lport, ra, r->rport,
		 (unsigned long long)r->inode, r->uid, (unsigned long long)r->cookie, r->rqueue,
		 r->wqueue, sock_timer_name(r->timer), r->expires_ms, r->retrans);
	snprintf(num, sizeof(num), "%.3f,%.3f,%.3f,%s,", s->first_seen, s->state_since,
		 snap->taken_at - s->state_since, r->inode ? "process" : "orphan");
	jw_text(w, num, strlen(num));
	if (p) {
		snprintf(num, sizeof(num), "%d,", p->pid);
		jw_text(w, num, strlen(num));
		csv_field(w, p->comm, 1);
	} else {
		jw_text(w, ",\r\n", 3);
	}
}

static int h_sockets(const struct api_ctx *ctx, const char *arg, struct query *q,
		     struct jw *w, struct api_error *e)
{
	static const char *const formats[] = { "json", "csv", NULL };
	int csv = 0;
	struct order_key cur = { 0 }, *keys = NULL;
	const char *cursor;
	uint64_t limit = LD_SOCKETS_LIMIT_DEFAULT;
	size_t n = 0, kept = 0, end;
	struct filter f;
	struct snap *s;
	char next[64];

	(void)arg;
	if (parse_filter(q, &f, 1, e) < 0 ||
	    query_uint(q, "limit", 1, LD_SOCKETS_LIMIT_MAX, &limit, e) < 0 ||
	    query_enum(q, "format", formats, &csv, e) < 0)
		return -EINVAL;
	cursor = query_get(q, "cursor");
	if (cursor && parse_cursor(cursor, &cur) < 0)
		return api_fail(e, 400, "bad_parameter", "cursor",
				"not a cursor returned by this endpoint");
	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	s = filter_snapshot(ctx, &f, e);
	if (!s)
		return e->status == 503 ? -EAGAIN : -EINVAL;
	/*
	 * Only the first `limit` in order are needed: a bounded max-heap keeps them while the
	 * whole snapshot streams past, O(n log limit) instead of sorting every socket.
	 */
	keys = malloc(limit * sizeof(*keys));
	if (!keys) {
		snap_put(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		struct order_key k;

		if (!filter_match(&f, x, s->taken_at))
			continue;
		k.since_us = since_us(x->state_since);
		k.key = x->key;
		k.s = x;
		if (cursor && order_cmp(&k, &cur) <= 0)
			continue;
		heap_offer(keys, &kept, limit, &k);
		n++;
	}
	qsort(keys, kept, sizeof(*keys), order_cmp);
	end = kept;
	if (csv) {
		/* CSV has no place for the cursor: page it with limit and cursor from JSON. */
		static const char header[] =
			"state,family,local_addr,local_port,remote_addr,remote_port,inode,uid,cookie,"
			"rx_queue,tx_queue,timer,expires_ms,retrans,first_seen,state_since,age_s,owner,"
			"pid,comm\r\n";

		w->type = "text/csv; charset=utf-8";
		jw_text(w, header, sizeof(header) - 1);
		for (size_t i = 0; i < end; i++)
			csv_socket(w, s, keys[i].s);
		free(keys);
		snap_put(s);
		return 0;
	}

	jw_obj(w);
	jw_kdouble(w, "taken_at", s->taken_at, 3);
	jw_kuint(w, "matched", n);
	jw_key(w, "sockets");
	jw_arr(w);
	for (size_t i = 0; i < end; i++)
		write_socket(w, s, keys[i].s);
	jw_arr_end(w);
	if (end < n) {
		snprintf(next, sizeof(next), "%lld_%llx", (long long)keys[end - 1].since_us,
			 (unsigned long long)keys[end - 1].key);
		jw_kstr(w, "next", next);
	} else {
		jw_knull(w, "next");
	}
	jw_obj_end(w);
	free(keys);
	snap_put(s);
	return 0;
}

int api_states_param(struct query *q, const char *name, uint32_t *mask, struct api_error *e)
{
	int r = query_states(q, name, mask, e);

	if (r < 0)
		return r;
	if (r == 0) {
		*mask = 0;
		for (int st = 1; st < SOCK_STATE_MAX; st++)
			if (sock_state_lingering(st))
				*mask |= 1u << st;
	}
	return 0;
}

int api_lang_param(struct query *q, enum states_lang *lang, struct api_error *e)
{
	static const char *const langs[] = { "en", "ko", NULL };
	int l = 0;

	if (query_enum(q, "lang", langs, &l, e) < 0)
		return -EINVAL;
	*lang = l ? STATES_LANG_KO : STATES_LANG_EN;
	return 0;
}

static int put_cjson(struct jw *w, cJSON *doc)
{
	char *txt;

	if (!doc)
		return -ENOMEM;
	txt = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!txt)
		return -ENOMEM;
	jw_raw(w, txt, strlen(txt));
	cJSON_free(txt);
	return 0;
}

static int h_states(const struct api_ctx *ctx, const char *arg, struct query *q,
		    struct jw *w, struct api_error *e)
{
	enum states_lang lang;

	(void)ctx;
	(void)arg;
	if (api_lang_param(q, &lang, e) < 0 || query_check_unused(q, e) < 0)
		return -EINVAL;
	return put_cjson(w, states_all(lang));
}

static int h_state(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		   struct api_error *e)
{
	enum states_lang lang;
	int st;

	(void)ctx;
	st = sock_state_parse(arg, strlen(arg));
	if (st < 0)
		return api_fail(e, 404, "not_found", NULL,
				"no TCP state named '%.40s'; see /api/v1/states", arg);
	if (api_lang_param(q, &lang, e) < 0 || query_check_unused(q, e) < 0)
		return -EINVAL;
	return put_cjson(w, states_one(st, lang));
}

static int h_healthz(const struct api_ctx *ctx, const char *arg, struct query *q,
		     struct jw *w, struct api_error *e)
{
	struct feed_status st;
	int stale, ok;

	(void)arg;
	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	feed_status(ctx->feed, &st);
	stale = st.stale_s > LD_STALE_INTERVALS * st.interval_s + 1.0;
	ok = !stale && st.db_ok && !st.netns_failed;
	jw_obj(w);
	jw_kstr(w, "status", ok ? "ok" : "degraded");
	jw_kstr(w, "source", st.source);
	if (st.last_snapshot_at)
		jw_kdouble(w, "last_snapshot_at", st.last_snapshot_at, 3);
	else
		jw_knull(w, "last_snapshot_at");
	jw_kdouble(w, "interval_s", st.interval_s, 3);
	jw_kstr(w, "db", st.db_ok ? "ok" : st.db_error);
	jw_kstr(w, "attribution", st.attribution < 0 ? "off" : st.attribution ? "partial" : "full");
	if (st.netns_failed) {
		jw_kuint(w, "netns_failed", st.netns_failed);
		jw_kstr(w, "netns_error", st.netns_error);
	}
	jw_kuint(w, "snapshots", st.snapshots);
	jw_kdouble(w, "last_duration_ms", st.last_duration_ms, 3);
	jw_key(w, "problems");
	jw_arr(w);
	if (stale)
		jw_str(w, "sampler_stalled");
	if (!st.db_ok)
		jw_str(w, "database_failing");
	if (st.netns_failed)
		jw_str(w, "netns_unreadable");
	jw_arr_end(w);
	jw_obj_end(w);
	return ok ? 200 : 503;
}

static int h_metrics(const struct api_ctx *ctx, const char *arg, struct query *q,
		     struct jw *w, struct api_error *e)
{
	int err;

	(void)arg;
	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	err = metrics_render(ctx->feed, ctx->metrics, w);
	if (err == -ENOMEM)
		return err;
	return 0;
}

static const struct route routes[] = {
	{ "/metrics", 0, h_metrics, METRICS_CONTENT_TYPE },
	{ "/healthz", 0, h_healthz, NULL },
	{ "/api/v1/snapshot", 0, h_snapshot, NULL },
	{ "/api/v1/sockets", 0, h_sockets, NULL },
	{ "/api/v1/states", 0, h_states, NULL },
	{ "/api/v1/states/", 1, h_state, NULL },
	{ "/api/v1/lingering", 0, api_h_lingering, NULL },
	{ "/api/v1/netns", 0, api_h_netns, NULL },
	{ "/api/v1/findings", 0, api_h_findings, NULL },
	{ "/api/v1/system", 0, api_h_system, NULL },
	{ "/api/v1/trends", 0, api_h_trends, NULL },
};

static const struct route *route_find(const char *path, const char **arg)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		size_t len = strlen(routes[i].path);

		if (routes[i].prefix) {
			if (strncmp(path, routes[i].path, len) == 0 && path[len] &&
			    !strchr(path + len, '/')) {
				*arg = path + len;
				return &routes[i];
			}
		} else if (strcmp(path, routes[i].path) == 0) {
			*arg = "";
			return &routes[i];
		}
	}
	return NULL;
}

static int serve_asset(const struct api_ctx *ctx, const struct asset *a, struct query *q,
		       struct api_response *resp, struct api_error *e)
{
	unsigned char *data;
	size_t len;
	int err;

	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	resp->status = 200;
	resp->content_type = a->type;
	resp->csp = PAGE_CSP;
	err = assets_load_override(a, ctx->web_root, &data, &len);
	if (err == 0) {
		resp->body = (char *)data;
		resp->len = len;
		resp->no_store = 1;
		return 0;
	}
	if (err != -ENODATA)
		return api_fail(e, 500, "internal", NULL, "cannot read %s from --web-root: %s",
				a->file, strerror(-err));
	resp->body = (char *)a->data;
	resp->len = a->len;
	resp->body_static = 1;
	return 0;
}

int api_handle(const struct api_ctx *ctx, const char *method, const char *path,
	       struct query *q, int has_body, struct api_response *resp)
{
	struct api_error e = { 0 };
	const struct asset *asset = NULL;
	const struct route *r;
	const char *arg = "";
	struct jw w;
	int status;

	memset(resp, 0, sizeof(*resp));
	r = route_find(path, &arg);
	if (!r)
		asset = assets_find(path);
	if (!r && !asset) {
		api_fail(&e, 404, "not_found", NULL, "no such endpoint: %.100s", path);
		goto error;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		resp->allow = "GET, HEAD";
		api_fail(&e, 405, "method_not_allowed", NULL, "%.16s is not allowed; use GET or HEAD",
			 method);
		goto error;
	}
	if (has_body) {
		api_fail(&e, 400, "body_not_allowed", NULL, "requests to lingerd carry no body");
		goto error;
	}
	if (asset) {
		if (serve_asset(ctx, asset, q, resp, &e) < 0)
			goto error;
		return 0;
	}
	jw_init(&w, JSON_MAX);
	status = r->fn(ctx, arg, q, &w, &e);
	if (status < 0) {
		jw_free(&w);
		if (status == -ENOMEM)
			api_fail(&e, 500, "out_of_memory", NULL, "out of memory");
		goto error;
	}
	resp->status = status ? status : 200;
	resp->content_type = w.type ? w.type : r->type ? r->type : JSON_TYPE;
	resp->no_store = 1;
	status = jw_finish(&w, &resp->body, &resp->len);
	if (status == 0)
		return 0;
	api_fail(&e, 500, "internal", NULL, "the response could not be built (%s)",
		 strerror(-status));
error:
	if (resp->body && !resp->body_static)
		free(resp->body);
	resp->body = NULL;
	resp->body_static = 0;
	resp->csp = NULL;
	return api_error_response(&e, resp);
}
