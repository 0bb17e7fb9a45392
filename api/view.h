/* view.h - what endpoints read from the published snapshot: it, its namespaces, owners, counts. */
#ifndef LINGERD_VIEW_H
#define LINGERD_VIEW_H

#include <stdint.h>

#include "api.h"
#include "jw.h"
#include "snap.h"

/* The latest snapshot (caller snap_put()s it), or NULL with e set to 503 no_snapshot. */
struct snap *api_snapshot(const struct api_ctx *ctx, struct api_error *e);

/* The name of a namespace id in a snapshot: "self" for 0, "unknown" for one it lacks. */
const char *api_netns_name(const struct snap *s, uint64_t id);

/*
 * The kernel counters and sysctls of a namespace in a snapshot (0: lingerd's own), or NULL
 * when they could not be read there.
 */
const struct kstat *api_netns_kstat(const struct snap *s, uint64_t id);

/* The process that owns socket x of snapshot s, or NULL when it is not known. */
static inline const struct snap_proc *api_owner(const struct snap *s, const struct snap_sock *x)
{
	return x->proc ? &s->procs[x->proc - 1] : NULL;
}

/* Writes {"STATE": n, ...} for the states in mask, in the kernel's order. */
void api_write_counts(struct jw *w, const uint32_t *counts, uint32_t mask);

#endif
