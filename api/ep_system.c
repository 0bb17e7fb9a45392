/* ep_system.c - /api/v1/system: the sysctls that bound lingering, the teardown counters. */
#include <errno.h>
#include <math.h>

#include "feed.h"
#include "handlers.h"
#include "history.h"
#include "limits.h"
#include "params.h"
#include "view.h"

int api_h_system(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e)
{
	static const struct kstat none;
	struct kstat then;
	double then_at = 0, dt = 0;
	struct netns_sel ns;
	const char *ns_param;
	struct snap *s;
	const struct kstat *k;
	int have_then = 0;

	(void)arg;
	ns_param = query_get(q, "netns");
	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	s = api_snapshot(ctx, e);
	if (!s)
		return -EAGAIN;
	if (api_netns_resolve(ns_param, s, &ns, e) < 0)
		goto fail;
	if (ns.all) {
		api_fail(e, 400, "bad_parameter", "netns",
			 "one namespace at a time: each has its own settings and counters");
		goto fail;
	}
	/* A namespace whose files could not be read shows every value as null. */
	k = api_netns_kstat(s, ns.id);
	if (!k)
		k = &none;
	/* Rates come from the history of counters, which is kept for lingerd's own namespace. */
	if (!ns.id)
		have_then = history_kstat_at(feed_history(ctx->feed),
					     s->taken_at - LD_RATE_WINDOW_S, &then,
					     &then_at) == 0 ||
			    history_kstat_at(feed_history(ctx->feed), s->taken_at, &then,
					     &then_at) == 0;
	if (have_then)
		dt = s->taken_at - then_at;

	jw_obj(w);
	jw_kdouble(w, "taken_at", s->taken_at, 3);
	jw_kstr(w, "netns", api_netns_name(s, ns.id));
	jw_key(w, "settings");
	jw_arr(w);
	for (int i = 0; i < KSTAT_SETTING_MAX; i++) {
		const struct kstat_info *in = kstat_setting_info(i);

		jw_obj(w);
		jw_kstr(w, "name", in->name);
		jw_kstr(w, "sysctl", in->source);
		if (k->have_setting[i])
			jw_kint(w, "value", k->setting[i]);
		else
			jw_knull(w, "value");
		jw_kstr(w, "what", in->help);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_key(w, "counters");
	jw_arr(w);
	for (int i = 0; i < KSTAT_COUNTER_MAX; i++) {
		const struct kstat_info *in = kstat_counter_info(i);

		jw_obj(w);
		jw_kstr(w, "name", in->name);
		jw_kstr(w, "source", in->source);
		if (k->have_counter[i])
			jw_kuint(w, "value", k->counter[i]);
		else
			jw_knull(w, "value");
		if (have_then && dt >= 1 && k->have_counter[i] && then.have_counter[i] &&
		    k->counter[i] >= then.counter[i])
			jw_kdouble(w, "per_min",
				   (double)(k->counter[i] - then.counter[i]) / (dt / 60), 3);
		else
			jw_knull(w, "per_min");
		jw_kstr(w, "what", in->help);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	if (have_then)
		jw_kdouble(w, "rate_window_s", dt, 3);
	else
		jw_knull(w, "rate_window_s");
	jw_key(w, "gauges");
	jw_arr(w);
	for (int i = 0; i < KSTAT_GAUGE_MAX; i++) {
		const struct kstat_info *in = kstat_gauge_info(i);

		jw_obj(w);
		jw_kstr(w, "name", in->name);
		jw_kstr(w, "source", in->source);
		if (k->have_gauge[i])
			jw_kint(w, "value", k->gauge[i]);
		else
			jw_knull(w, "value");
		jw_kstr(w, "what", in->help);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	snap_put(s);
	return 0;
fail:
	snap_put(s);
	return -EINVAL;
}
