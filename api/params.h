/* params.h - the request parameters several endpoints share: states=, lang= and netns=. */
#ifndef LINGERD_PARAMS_H
#define LINGERD_PARAMS_H

#include <stdint.h>

#include "errors.h"
#include "query.h"
#include "snap.h"
#include "states.h"

/* The lingering states asked for with `name=` (default: all six teardown states). */
int api_states_param(struct query *q, const char *name, uint32_t *mask, struct api_error *e);

/* Reads lang= (en, the default, or ko) into *lang; 400 naming the parameter otherwise. */
int api_lang_param(struct query *q, enum states_lang *lang, struct api_error *e);

/* Which network namespaces a request is about. */
struct netns_sel {
	int all;     /* every namespace in the snapshot */
	uint64_t id; /* else this one; 0 is lingerd's own */
};

/*
 * Resolves a `netns=` value against a snapshot: absent or "self" is lingerd's own, "all"
 * every namespace, a number a namespace id, anything else a namespace name.  Fails with 400
 * (an empty value) or 404 naming the parameter when no such namespace is followed.
 */
int api_netns_resolve(const char *v, const struct snap *s, struct netns_sel *sel,
		      struct api_error *e);

static inline int api_netns_match(const struct netns_sel *sel, uint64_t netns)
{
	return sel->all || sel->id == netns;
}

#endif
