/* ep_lingering.c - /api/v1/lingering: who holds lingering sockets, how many, how old, how fast. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "feed.h"
#include "groups.h"
#include "handlers.h"
#include "limits.h"
#include "params.h"
#include "view.h"

enum group_by { BY_PROCESS, BY_LOCAL_PORT, BY_REMOTE, BY_REMOTE_PORT };

/* The states a kept past snapshot holds: sock_state_lingering()'s and LISTEN. */
#define PAST_MASK                                                                   \
	((1u << SOCK_FIN_WAIT1) | (1u << SOCK_FIN_WAIT2) | (1u << SOCK_TIME_WAIT) | \
	 (1u << SOCK_CLOSE_WAIT) | (1u << SOCK_LAST_ACK) | (1u << SOCK_CLOSING) |   \
	 (1u << SOCK_LISTEN))

static void group_key(const struct snap *s, const struct snap_sock *x, int by, char *key,
		      size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	const struct snap_proc *p = api_owner(s, x);

	switch (by) {
	case BY_PROCESS:
		/* An orphan is grouped by the process that closed it, when the tracer saw it. */
		if (p)
			snprintf(key, len, "%d", p->pid);
		else if (x->closer)
			snprintf(key, len, "closed_by:%d", s->closers[x->closer - 1].pid);
		else if (!x->r.inode)
			snprintf(key, len, "orphan");
		else
			snprintf(key, len, "uid:%u", x->r.uid);
		break;
	case BY_LOCAL_PORT:
		snprintf(key, len, "%u", x->r.lport);
		break;
	case BY_REMOTE:
		inet_ntop(x->r.family, x->r.raddr, addr, sizeof(addr));
		snprintf(key, len, "%s", addr);
		break;
	default:
		snprintf(key, len, "%u", x->r.rport);
		break;
	}
}

/*
 * The sockets of s in the states of mask, at least min_age old there, in the namespaces of
 * ns, gathered into g by the key of by.  Growth runs it on an earlier snapshot too, so that
 * then and now are counted alike.  Returns 0 or -ENOMEM.
 */
static int gather(const struct snap *s, int by, uint32_t mask, double min_age,
		  const struct netns_sel *ns, double since, double started, struct groups *g)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		struct group *gr;
		char key[64];

		if (!(mask & (1u << x->r.state)) || snap_age(s, x->state_since) < min_age ||
		    !api_netns_match(ns, x->r.netns))
			continue;
		group_key(s, x, by, key, sizeof(key));
		gr = groups_get(g, key);
		if (!gr)
			return -ENOMEM;
		group_add(gr, x, since, started);
	}
	return 0;
}

static void write_group(struct jw *w, const struct snap *s, int by, const struct group *g,
			uint32_t mask, double window, const struct groups *then, double then_at)
{
	const struct snap_sock *x = g->sample;
	const struct snap_proc *p = api_owner(s, x);
	char addr[INET6_ADDRSTRLEN];

	jw_obj(w);
	jw_kstr(w, "key", g->key);
	switch (by) {
	case BY_PROCESS:
		jw_kstr(w, "owner",
			p            ? "process"
			: x->closer  ? "closed_by"
			: x->r.inode ? "unknown"
				     : "orphan");
		if (!p && x->closer) {
			jw_kint(w, "pid", s->closers[x->closer - 1].pid);
			jw_kstr(w, "comm", s->closers[x->closer - 1].comm);
		} else if (p) {
			jw_kint(w, "pid", p->pid);
			jw_kstr(w, "comm", p->comm);
			jw_kstr(w, "cmdline", p->cmdline);
			jw_kuint(w, "uid", p->uid);
		} else if (x->r.inode) {
			jw_kuint(w, "uid", x->r.uid);
		}
		break;
	case BY_LOCAL_PORT:
		jw_kuint(w, "local_port", x->r.lport);
		break;
	case BY_REMOTE:
		inet_ntop(x->r.family, x->r.raddr, addr, sizeof(addr));
		jw_kstr(w, "remote", addr);
		break;
	default:
		jw_kuint(w, "remote_port", x->r.rport);
		break;
	}
	jw_kuint(w, "total", g->total);
	jw_key(w, "counts");
	api_write_counts(w, g->counts, mask);
	jw_kuint(w, "orphans", g->orphans);
	jw_kdouble(w, "oldest_age_s", snap_age(s, g->oldest_since), 3);
	jw_kbool(w, "oldest_age_lower_bound", g->oldest_lb);
	jw_kuint(w, "unread_bytes", g->unread);
	if (window >= 60)
		jw_kdouble(w, "arrivals_per_min", g->arrivals / (window / 60.0), 3);
	else
		jw_knull(w, "arrivals_per_min");
	jw_kdouble(w, "growth_per_min",
		   groups_growth(then, g->key, g->total, s->taken_boot, then_at), 3);
	jw_obj_end(w);
}

int api_h_lingering(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		    struct api_error *e)
{
	static const char *const bys[] = { "process", "local_port", "remote", "remote_port", NULL };
	struct feed_status st;
	struct groups g = { 0 }, then_g = { 0 };
	struct netns_sel ns;
	const char *ns_param;
	struct snap *then = NULL;
	uint64_t limit = LD_LINGERING_LIMIT_DEFAULT;
	uint32_t mask;
	double min_age = 0, window;
	struct snap *s;
	int by = BY_PROCESS, err = 0;

	(void)arg;
	if (query_enum(q, "group_by", bys, &by, e) < 0 ||
	    api_states_param(q, "states", &mask, e) < 0 ||
	    query_double(q, "min_age", 0, LD_MIN_AGE_MAX, &min_age, e) < 0 ||
	    query_uint(q, "limit", 1, LD_LINGERING_LIMIT_MAX, &limit, e) < 0)
		return -EINVAL;
	ns_param = query_get(q, "netns");
	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	s = api_snapshot(ctx, e);
	if (!s)
		return -EAGAIN;
	if (api_netns_resolve(ns_param, s, &ns, e) < 0) {
		snap_put(s);
		return -EINVAL;
	}
	feed_status(ctx->feed, &st);
	window = s->taken_boot - st.started_boot;
	if (window > LD_RATE_WINDOW_S)
		window = LD_RATE_WINDOW_S;
	err = gather(s, by, mask, min_age, &ns, s->taken_boot - window, st.started_boot, &g);
	if (err < 0)
		goto out;
	/*
	 * Growth: the same groups in a snapshot kept from about LD_RATE_WINDOW_S ago (from the
	 * first minute on, the oldest kept), gathered alike.  The kept ones hold the lingering
	 * states and LISTEN only: with any other state asked for, growth is not known.
	 */
	if (!(mask & ~PAST_MASK))
		then = feed_past(ctx->feed, s->taken_boot, LD_RATE_WINDOW_S, LD_GROWTH_MIN_S);
	if (then) {
		err = gather(then, by, mask, min_age, &ns, then->taken_boot, st.started_boot,
			     &then_g);
		if (err < 0)
			goto out;
	}
	groups_sort(&g);
	jw_obj(w);
	jw_kdouble(w, "taken_at", s->taken_at, 3);
	jw_kstr(w, "group_by", bys[by]);
	jw_key(w, "states");
	jw_arr(w);
	for (int stt = 1; stt < SOCK_STATE_MAX; stt++)
		if (mask & (1u << stt))
			jw_str(w, sock_state_name(stt));
	jw_arr_end(w);
	jw_kdouble(w, "window_s", window, 3);
	jw_kuint(w, "total_groups", g.n);
	jw_key(w, "groups");
	jw_arr(w);
	for (size_t i = 0; i < g.n && i < limit; i++)
		write_group(w, s, by, &g.v[i], mask, window, then ? &then_g : NULL,
			    then ? then->taken_boot : 0);
	jw_arr_end(w);
	jw_obj_end(w);
out:
	groups_free(&g);
	groups_free(&then_g);
	snap_put(then);
	snap_put(s);
	return err;
}
