/* ep_sockets.c - /api/v1/snapshot (counts) and /api/v1/sockets (paged, JSON or CSV). */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "handlers.h"
#include "limits.h"
#include "params.h"
#include "tracer.h"
#include "view.h"

/* ---- filters shared by /snapshot and /sockets ---- */

struct filter {
	uint32_t states;        /* 0 = all */
	int family;             /* 0, AF_INET or AF_INET6 */
	int port, lport, rport; /* -1 = any */
	double min_age;         /* seconds in the current state */
	int64_t pid;            /* -1 = any */
	const char *comm;       /* NULL = any */
	const char *netns;      /* the raw netns= value, resolved once the snapshot is known */
	struct netns_sel ns;
	const struct snap *snap;
};

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
		const struct snap_proc *p = api_owner(f->snap, s);

		if (!p || (f->pid >= 0 && p->pid != f->pid) ||
		    (f->comm && strcmp(p->comm, f->comm) != 0))
			return 0;
	}
	return 1;
}

int api_h_snapshot(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		   struct api_error *e)
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
			if (!filter_match(&f, &s->socks[i], s->taken_boot))
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
	const struct snap_proc *p = api_owner(snap, s);
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
	jw_kdouble(w, "first_seen", snap_wall(snap, s->first_seen), 3);
	jw_kbool(w, "first_seen_lower_bound", (s->lower_bound & SNAP_LB_FIRST) != 0);
	jw_kdouble(w, "state_since", snap_wall(snap, s->state_since), 3);
	jw_kdouble(w, "age_s", snap_age(snap, s->state_since), 3);
	jw_kbool(w, "age_lower_bound", (s->lower_bound & SNAP_LB_STATE) != 0);
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
	api_events_closed_by(w, snap, s);
	jw_obj_end(w);
}

/*
 * One CSV field (RFC 4180), defused for the programs that open it: a leading = + - @ TAB or
 * CR (what spreadsheets read as a formula) gets a quote in front, and every control
 * character (C0, DEL, and C1 as UTF-8, such as U+009B, a terminal's CSI) becomes U+FFFD, so
 * neither a spreadsheet nor a terminal that shows the file runs a process name.  Quoted when
 * it holds a comma or a quote.
 */
static const char *csv_escape(char c)
{
	if (c == '"')
		return "\"\"";
	if ((unsigned char)c < 0x20 || c == 0x7f)
		return "\xef\xbf\xbd";
	return NULL;
}

static void csv_field(struct jw *w, const char *v, int last)
{
	int quote = strpbrk(v, ",\"") != NULL || (v[0] && strchr("=+-@\t\r", v[0]));
	char *copy = NULL;
	const char *c1;

	if (quote)
		jw_text(w, "\"", 1);
	if (v[0] && strchr("=+-@\t\r", v[0]))
		jw_text(w, "'", 1);
	/* C1 controls are two bytes in UTF-8 (C2 80..C2 9F): spelled as U+FFFD's three. */
	for (c1 = v; (c1 = strchr(c1, 0xc2)) &&
		     !((unsigned char)c1[1] >= 0x80 && (unsigned char)c1[1] <= 0x9f);
	     c1++)
		;
	if (c1 && (copy = malloc(strlen(v) / 2 * 3 + 4))) {
		size_t o = 0;

		for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
			if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
				memcpy(copy + o, "\xef\xbf\xbd", 3);
				o += 3;
				p++;
			} else {
				copy[o++] = (char)*p;
			}
		}
		copy[o] = '\0';
		v = copy;
	} else if (c1) {
		v = ""; /* out of memory: an empty field rather than an unsafe one */
	}
	/* The body is declared UTF-8: a byte that is not becomes U+FFFD, as in JSON. */
	jw_text_utf8(w, v, csv_escape);
	free(copy);
	if (quote)
		jw_text(w, "\"", 1);
	jw_text(w, last ? "\r\n" : ",", last ? 2 : 1);
}

static void csv_socket(struct jw *w, const struct snap *snap, const struct snap_sock *s)
{
	const struct sock_rec *r = &s->r;
	const struct snap_proc *p = api_owner(snap, s);
	char la[INET6_ADDRSTRLEN], ra[INET6_ADDRSTRLEN], num[256];

	inet_ntop(r->family, r->laddr, la, sizeof(la));
	inet_ntop(r->family, r->raddr, ra, sizeof(ra));
	jw_textf(w, "%s,%s,%s,%u,%s,%u,%llu,%u,%llu,%u,%u,%s,%u,%u,", sock_state_name(r->state),
		 r->family == AF_INET6 ? "ipv6" : "ipv4", la, r->lport, ra, r->rport,
		 (unsigned long long)r->inode, r->uid, (unsigned long long)r->cookie, r->rqueue,
		 r->wqueue, sock_timer_name(r->timer), r->expires_ms, r->retrans);
	snprintf(num, sizeof(num), "%.3f,%.3f,%.3f,%s,%s,", snap_wall(snap, s->first_seen),
		 snap_wall(snap, s->state_since), snap_age(snap, s->state_since),
		 s->lower_bound & SNAP_LB_STATE ? "true" : "false",
		 r->inode ? "process" : "orphan");
	jw_text(w, num, strlen(num));
	if (p) {
		snprintf(num, sizeof(num), "%d,", p->pid);
		jw_text(w, num, strlen(num));
		csv_field(w, p->comm, 1);
	} else {
		jw_text(w, ",\r\n", 3);
	}
}

int api_h_sockets(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		  struct api_error *e)
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

		if (!filter_match(&f, x, s->taken_boot))
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
			"rx_queue,tx_queue,timer,expires_ms,retrans,first_seen,state_since,age_s,age_lower_bound,owner,"
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
