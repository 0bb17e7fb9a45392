/* ep_netns.c - /api/v1/netns: the network namespaces lingerd follows, with their counts. */
#include <errno.h>
#include <stdlib.h>

#include "handlers.h"
#include "view.h"

/* The schedule's part of an entry: when its sockets were dumped and whether it shares the hash. */
static void write_schedule(struct jw *w, const struct snap *s, const struct snap_netns *n,
			   int64_t ehash)
{
	if (!n) {
		jw_kbool(w, "dumped", 1);
		jw_kdouble(w, "dumped_at", s->taken_at, 3);
		jw_kdouble(w, "age_s", 0, 3);
		jw_kuint(w, "dump_every", 1);
	} else {
		jw_kbool(w, "dumped", n->dumped);
		if (n->age_s >= 0) {
			jw_kdouble(w, "dumped_at", s->taken_at - n->age_s, 3);
			jw_kdouble(w, "age_s", n->age_s, 3);
		} else {
			jw_knull(w, "dumped_at");
			jw_knull(w, "age_s");
		}
		jw_kuint(w, "dump_every", n->every ? n->every : 1);
	}
	if (ehash) {
		jw_kbool(w, "shares_host_hash", ehash < 0);
		jw_kint(w, "ehash_entries", ehash < 0 ? -ehash : ehash);
	} else {
		jw_knull(w, "shares_host_hash");
		jw_knull(w, "ehash_entries");
	}
}

static void write_ns(struct jw *w, const char *name, const char *kind, uint64_t id, int32_t pid,
		     const char *comm, int error, int stale, const uint32_t *counts)
{
	uint32_t total = 0, lingering = 0;

	for (int st = 1; st < SOCK_STATE_MAX; st++) {
		total += counts[st];
		if (sock_state_lingering(st))
			lingering += counts[st];
	}
	jw_obj(w);
	jw_kstr(w, "name", name);
	jw_kstr(w, "kind", kind);
	jw_kuint(w, "id", id);
	if (pid)
		jw_kint(w, "pid", pid);
	else
		jw_knull(w, "pid");
	if (comm && comm[0])
		jw_kstr(w, "comm", comm);
	else
		jw_knull(w, "comm");
	if (error)
		jw_kint(w, "error", error);
	else
		jw_knull(w, "error");
	jw_kbool(w, "stale", stale);
	jw_kuint(w, "total", total);
	jw_kuint(w, "lingering", lingering);
	jw_key(w, "counts");
	api_write_counts(w, counts, ~0u);
}

int api_h_netns(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		struct api_error *e)
{
	uint32_t(*counts)[SOCK_STATE_MAX];
	struct snap *s;

	(void)arg;
	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	s = api_snapshot(ctx, e);
	if (!s)
		return -EAGAIN;
	counts = calloc(s->n_netns + 1, sizeof(*counts));
	if (!counts) {
		snap_put(s);
		return -ENOMEM;
	}
	/* Sockets of one namespace come out of the dump together: remember the last match. */
	for (size_t i = 0, last = 0; i < s->n; i++) {
		uint64_t id = s->socks[i].r.netns;

		if (!id)
			continue;
		if (last >= s->n_netns || s->netns[last].id != id)
			for (last = 0; last < s->n_netns && s->netns[last].id != id; last++)
				;
		if (last < s->n_netns)
			counts[last + 1][s->socks[i].r.state]++;
	}
	jw_obj(w);
	jw_kdouble(w, "taken_at", s->taken_at, 3);
	jw_key(w, "namespaces");
	jw_arr(w);
	write_ns(w, "self", "self", s->self_netns, 0, NULL, 0, 0, s->counts);
	write_schedule(w, s, NULL, s->self_ehash);
	jw_obj_end(w);
	for (size_t i = 0; i < s->n_netns; i++) {
		const struct snap_netns *n = &s->netns[i];

		write_ns(w, n->name, n->kind, n->id, n->pid, n->comm, n->error, n->stale,
			 counts[i + 1]);
		write_schedule(w, s, n, n->ehash);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	free(counts);
	snap_put(s);
	return 0;
}
