/* ep_trends.c - /api/v1/trends: counts over time from the database, raw or rolled up. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "events.h"
#include "feed.h"
#include "handlers.h"
#include "history.h"
#include "limits.h"
#include "params.h"
#include "pool.h"
#include "store.h"
#include "util.h"
#include "view.h"

/*
 * A time: unix seconds ("1732400000"), seconds relative to now ("-60"), a relative
 * duration ("-90s", "-15m", "-1h", "-7d") or "now".
 */
static int parse_time(struct query *q, const char *name, double now, double *out,
		      struct api_error *e)
{
	const char *v = query_get(q, name);
	double d, unit = 1;
	char *end;

	if (!v)
		return 0;
	if (strcmp(v, "now") == 0) {
		*out = now;
		return 1;
	}
	for (const char *c = v; *c; c++)
		if (!((*c >= '0' && *c <= '9') || *c == '.' || (*c == '-' && c == v) ||
		      (!c[1] && c != v && strchr("smhd", *c))))
			goto bad;
	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || !isfinite(d))
		goto bad;
	if (*end) {
		if (v[0] != '-')
			goto bad;
		unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400;
	}
	d *= unit;
	if (d < 0) {
		if (d < -LD_TRENDS_MAX_RANGE_S)
			goto bad;
		d += now;
	} else if (*end || d < 1e9 || d > now + 86400) {
		goto bad;
	}
	*out = d;
	return 1;
bad:
	return api_fail(e, 400, "bad_parameter", name,
			"expected unix seconds, 'now', or a time relative to now such as -60, "
			"-90s, -15m, -1h or -7d");
}

struct emit {
	struct jw *w;
	int state; /* series open for this state, 0 = none */
	char grp[64];
	int grouped;
	uint32_t points;
};

static int on_point(void *arg, int state, const char *grp, int64_t t, double mean, int64_t max)
{
	struct emit *em = arg;

	if (state != em->state || (em->grouped && strcmp(grp ? grp : "", em->grp) != 0)) {
		if (em->state) {
			jw_arr_end(em->w);
			jw_obj_end(em->w);
		}
		jw_obj(em->w);
		jw_kstr(em->w, "state", sock_state_name(state));
		if (em->grouped) {
			snprintf(em->grp, sizeof(em->grp), "%s", grp ? grp : "");
			jw_kstr(em->w, "group", em->grp);
		}
		jw_key(em->w, "points");
		jw_arr(em->w);
		em->state = state;
	}
	jw_arr(em->w);
	jw_int(em->w, t);
	jw_double(em->w, mean, 3);
	jw_int(em->w, max);
	jw_arr_end(em->w);
	em->points++;
	return em->w->err;
}

/*
 * Which namespace a trend is about, into name (empty for lingerd's own).  A namespace
 * followed now is found by name or id through the snapshot; one that is gone by its name,
 * as long as the database still has its history.  "all" has no trend: counts of namespaces
 * that come and go do not add up to a series.  Returns 0, or -EINVAL / -EIO with e set.
 */
static int trend_netns(const struct api_ctx *ctx, struct store_reader *r, const char *v, char *name,
		       size_t len, struct api_error *e)
{
	struct api_error ignored = { 0 };
	struct netns_sel sel;
	struct snap *s;
	int known, err = -ENOENT;

	name[0] = '\0';
	if (!v || strcmp(v, "self") == 0)
		return 0;
	if (!v[0])
		return api_fail(e, 400, "bad_parameter", "netns",
				"empty value; expected self, a namespace name or id");
	if (strcmp(v, "all") == 0)
		return api_fail(e, 400, "bad_parameter", "netns",
				"trends are kept per namespace: ask for self or one name from "
				"/api/v1/netns");
	s = ctx->feed ? feed_current(ctx->feed) : NULL;
	if (s && api_netns_resolve(v, s, &sel, &ignored) == 0) {
		if (sel.id)
			snprintf(name, len, "%s", api_netns_name(s, sel.id));
		err = 0;
	}
	snap_put(s);
	if (err == 0)
		return 0;
	known = strlen(v) < len ? store_reader_netns_known(r, v) : 0;
	if (known < 0)
		return api_fail(e, 503, "database_unavailable", NULL,
				"the history database cannot be read right now");
	if (!known)
		return api_fail(e, 404, "not_found", "netns",
				"no network namespace '%.64s' is followed or has history; see "
				"/api/v1/netns (lingerd --netns all follows every namespace)",
				v);
	snprintf(name, len, "%s", v);
	return 0;
}

/*
 * transitions=: "all", or pairs FROM-TO separated by commas, named as /api/v1/events names
 * the states (ESTABLISHED-FIN_WAIT_1).  Sets the pairs' bits (from * 16 + to).
 */
static int parse_pairs(const char *v, uint64_t pairs[4], struct api_error *e)
{
	memset(pairs, 0, 4 * sizeof(pairs[0]));
	if (strcmp(v, "all") == 0) {
		memset(pairs, 0xff, 4 * sizeof(pairs[0]));
		return 0;
	}
	if (!*v)
		return api_fail(
			e, 400, "bad_parameter", "transitions",
			"empty value; expected all or pairs such as ESTABLISHED-FIN_WAIT_1");
	while (*v) {
		size_t len = strcspn(v, ","), la;
		const char *dash = memchr(v, '-', len);
		int a = -1, b = -1;

		la = dash ? (size_t)(dash - v) : 0;
		for (int st = 1; dash && st < TD_STATES; st++) {
			const char *name = events_state_name(st);

			if (strlen(name) == la && strncmp(v, name, la) == 0)
				a = st;
			if (strlen(name) == len - la - 1 &&
			    strncmp(dash + 1, name, len - la - 1) == 0)
				b = st;
		}
		if (a < 0 || b < 0)
			return api_fail(e, 400, "bad_parameter", "transitions",
					"expected all or pairs such as ESTABLISHED-FIN_WAIT_1,"
					"FIN_WAIT_2-CLOSED (state names as in /api/v1/events)");
		pairs[(a * 16 + b) / 64] |= 1ull << ((a * 16 + b) % 64);
		v += len;
		if (*v == ',' && *++v == '\0')
			return api_fail(e, 400, "bad_parameter", "transitions",
					"a trailing comma names no pair");
	}
	return 0;
}

struct emit_pair {
	struct jw *w;
	int open, from, to;
};

static int on_transitions(void *arg, int from, int to, int64_t t, int64_t n)
{
	struct emit_pair *em = arg;

	if (!em->open || from != em->from || to != em->to) {
		if (em->open) {
			jw_arr_end(em->w);
			jw_obj_end(em->w);
		}
		jw_obj(em->w);
		jw_kstr(em->w, "from", events_state_name(from));
		jw_kstr(em->w, "to", events_state_name(to));
		jw_key(em->w, "points");
		jw_arr(em->w);
		em->open = 1;
		em->from = from;
		em->to = to;
	}
	jw_arr(em->w);
	jw_int(em->w, t);
	jw_int(em->w, n);
	jw_arr_end(em->w);
	return em->w->err;
}

/* A step of about range / LD_TRENDS_TARGET_POINTS, rounded up to a round number of seconds. */
static int64_t auto_step(double range, int64_t res)
{
	static const int64_t nice[] = { 1,   2,   5,    10,   15,   30,    60,    120,   300,
					600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400 };
	double want = range / LD_TRENDS_TARGET_POINTS;

	for (size_t i = 0; i < ARRAY_SIZE(nice); i++)
		if (nice[i] >= want && nice[i] >= res)
			return nice[i];
	return 86400;
}

int api_h_trends(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e)
{
	static const char *const bys[] = { "local_port", "process", NULL };
	static const char *const resolutions[] = { "raw", "minute", "hour", NULL };
	static const int res_seconds[] = { STORE_RES_RAW, STORE_RES_MINUTE, STORE_RES_HOUR };
	double now = clock_wall(), from = now - 3600, to = now;
	struct emit em = { .w = w };
	struct store_reader *r = NULL;
	uint64_t step = 0, top = LD_TRENDS_TOP_DEFAULT;
	int by = -1, resi = -1, err, res;
	const char *netns;
	char ns[HIST_KEY_MAX];
	uint64_t pairs[4];
	const char *pairs_arg;
	uint32_t mask;

	(void)arg;
	if (api_states_param(q, "states", &mask, e) < 0 ||
	    parse_time(q, "from", now, &from, e) < 0 || parse_time(q, "to", now, &to, e) < 0 ||
	    query_uint(q, "step", 1, LD_TRENDS_STEP_MAX_S, &step, e) < 0 ||
	    query_enum(q, "by", bys, &by, e) < 0 ||
	    query_enum(q, "resolution", resolutions, &resi, e) < 0 ||
	    query_uint(q, "top", 1, LD_TRENDS_TOP_MAX, &top, e) < 0)
		return -EINVAL;
	netns = query_get(q, "netns");
	pairs_arg = query_get(q, "transitions");
	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	if (pairs_arg) {
		if (parse_pairs(pairs_arg, pairs, e) < 0)
			return -EINVAL;
		if (query_get(q, "states") || by >= 0 || (netns && strcmp(netns, "self") != 0))
			return api_fail(e, 400, "bad_parameter", "transitions",
					"state changes are kept for lingerd's own namespace, per "
					"pair: leave out states=, by= and netns=");
	}
	if (from >= to)
		return api_fail(e, 400, "bad_parameter", "from", "from must be earlier than to");
	if (resi < 0)
		resi = to - from <= 6 * 3600 ? 0 : to - from <= 2 * 86400 ? 1 : 2;
	if (by >= 0 && resi == 0)
		resi = 1; /* groups are only kept in rollups */
	res = res_seconds[resi];
	if (!step)
		step = (uint64_t)auto_step(to - from, res);
	if ((int64_t)step < res)
		return api_fail(e, 400, "bad_parameter", "step",
				"step must be at least the resolution (%d s for %s)", res,
				resolutions[resi]);
	if (!pairs_arg &&
	    (to - from) / (double)step * __builtin_popcount(mask) * (by >= 0 ? top : 1) >
		    LD_TRENDS_MAX_POINTS)
		return api_fail(e, 400, "bad_parameter", "step",
				"too many points: use a larger step or a shorter range");
	if (!ctx->pool || pool_get(ctx->pool, &r) < 0)
		return api_fail(e, 503, "database_unavailable", NULL,
				"the history database cannot be read right now");
	err = trend_netns(ctx, r, netns, ns, sizeof(ns), e);
	if (err == 0 && ns[0] && by >= 0)
		err = api_fail(e, 400, "bad_parameter", "by",
			       "by= groups lingerd's own namespace only; leave out by= or netns=");
	if (err < 0) {
		pool_put(ctx->pool, r, 0);
		return err;
	}

	jw_obj(w);
	jw_kdouble(w, "from", from, 3);
	jw_kdouble(w, "to", to, 3);
	jw_kuint(w, "step", step);
	jw_kstr(w, "resolution", resolutions[resi]);
	jw_kstr(w, "netns", ns[0] ? ns : "self");
	if (by >= 0)
		jw_kstr(w, "by", bys[by]);
	if (pairs_arg)
		jw_kstr(w, "transitions", pairs_arg);
	jw_key(w, "series");
	jw_arr(w);
	em.grouped = by >= 0;
	if (pairs_arg) {
		struct emit_pair ep = { .w = w };

		err = store_reader_transitions(r, res, pairs, from, to, (int64_t)step,
					       LD_TRENDS_MAX_POINTS, on_transitions, &ep);
		if (ep.open) {
			jw_arr_end(w);
			jw_obj_end(w);
		}
	} else if (ns[0])
		err = store_reader_netns_trend(r, ns, res, mask, from, to, (int64_t)step,
					       LD_TRENDS_MAX_POINTS, on_point, &em);
	else if (by >= 0)
		err = store_reader_group_trend(r, res, by == 0 ? GROUP_LOCAL_PORT : GROUP_PROCESS,
					       mask, from, to, (int64_t)step, (uint32_t)top,
					       LD_TRENDS_MAX_POINTS, on_point, &em);
	else
		err = store_reader_trend(r, res, mask, from, to, (int64_t)step,
					 LD_TRENDS_MAX_POINTS, on_point, &em);
	if (em.state) {
		jw_arr_end(w);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	pool_put(ctx->pool, r, err == -EIO);
	if (err < 0 && err != -E2BIG) {
		if (err == -ENOMEM)
			return err;
		return api_fail(e, 503, "database_unavailable", NULL,
				"the history query failed (%s)", util_strerror(-err));
	}
	if (err == -E2BIG)
		return api_fail(e, 400, "bad_parameter", "step",
				"too many points: use a larger step or a shorter range");
	return 0;
}
