/* ep_health.c - /healthz: whether the sampler keeps up and the database takes its writes. */
#include <errno.h>

#include "feed.h"
#include "handlers.h"
#include "limits.h"

int api_h_healthz(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		  struct api_error *e)
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
	if (st.db_event[0])
		jw_kstr(w, "db_event", st.db_event);
	jw_kstr(w, "attribution", st.attribution < 0 ? "off" : st.attribution ? "partial" : "full");
	jw_kstr(w, "events", st.events);
	if (st.netns_failed) {
		jw_kuint(w, "netns_failed", st.netns_failed);
		jw_kstr(w, "netns_error", st.netns_error);
	}
	/* A slow round is said, not degraded: quiet namespaces are still served, with their age. */
	if (st.netns_all) {
		jw_kdouble(w, "netns_round_ms", st.netns_round_ms, 3);
		if (st.netns_slow[0])
			jw_kstr(w, "netns_round_slow", st.netns_slow);
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
	if (st.netns_all && st.netns_slow[0])
		jw_str(w, "netns_round_slow");
	jw_arr_end(w);
	jw_obj_end(w);
	return ok ? 200 : 503;
}
