/* view.c - what endpoints read from the published snapshot: it, its namespaces, its counts. */
#include "view.h"

#include "feed.h"

struct snap *api_snapshot(const struct api_ctx *ctx, struct api_error *e)
{
	struct snap *s = feed_current(ctx->feed);

	if (!s)
		api_fail(e, 503, "no_snapshot", NULL,
			 "no snapshot has been taken yet; retry shortly");
	return s;
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

void api_write_counts(struct jw *w, const uint32_t *counts, uint32_t mask)
{
	jw_obj(w);
	for (int st = 1; st < SOCK_STATE_MAX; st++)
		if (mask & (1u << st))
			jw_kuint(w, sock_state_name(st), counts[st]);
	jw_obj_end(w);
}
