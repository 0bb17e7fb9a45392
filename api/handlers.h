/* handlers.h - the contract between the router (api.c) and the files that hold endpoints. */
#ifndef LINGERD_HANDLERS_H
#define LINGERD_HANDLERS_H

#include "api.h"
#include "jw.h"
#include "query.h"
#include "snap.h"
#include "states.h"

/*
 * Every endpoint has this shape: it validates q (failing with e filled in and -EINVAL),
 * writes its document into w, and returns 0 for 200, a positive HTTP status, or -errno
 * (-ENOMEM, or -EAGAIN with e set when there is nothing to answer yet).
 */
typedef int (*api_handler_fn)(const struct api_ctx *ctx, const char *arg, struct query *q,
			      struct jw *w, struct api_error *e);

/* The latest snapshot (caller snap_put()s it), or NULL with e set to 503 no_snapshot. */
struct snap *api_snapshot(const struct api_ctx *ctx, struct api_error *e);

/* The lingering states asked for with `states=` (default: all six teardown states). */
int api_states_param(struct query *q, const char *name, uint32_t *mask, struct api_error *e);

/* Writes {"STATE": n, ...} for the states in mask, in the kernel's order. */
void api_write_counts(struct jw *w, const uint32_t *counts, uint32_t mask);

/* Which network namespaces a request is about. */
struct netns_sel {
	int all;     /* every namespace in the snapshot */
	uint64_t id; /* else this one; 0 is lingerd's own */
};

/*
 * Resolves a `netns=` value against a snapshot: absent or "self" is lingerd's own, "all"
 * every namespace, a number a namespace id, anything else a namespace name.  Fails with 400
 * naming the parameter when no such namespace is followed.
 */
/* Reads lang= (en, the default, or ko) into *lang; 400 naming the parameter otherwise. */
int api_lang_param(struct query *q, enum states_lang *lang, struct api_error *e);

int api_netns_resolve(const char *v, const struct snap *s, struct netns_sel *sel,
		      struct api_error *e);

static inline int api_netns_match(const struct netns_sel *sel, uint64_t netns)
{
	return sel->all || sel->id == netns;
}

/* The name of a namespace id in a snapshot: "self" for 0. */
const char *api_netns_name(const struct snap *s, uint64_t id);

/*
 * The kernel counters and sysctls of a namespace in a snapshot (0: lingerd's own), or NULL
 * when they could not be read there.
 */
const struct kstat *api_netns_kstat(const struct snap *s, uint64_t id);

int api_h_netns(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		struct api_error *e);
int api_h_lingering(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		    struct api_error *e);
int api_h_findings(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		   struct api_error *e);
int api_h_system(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e);
int api_h_trends(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e);

#endif
