/* query.h - query-string parameters, validated one by one, with errors that name the culprit. */
#ifndef LINGERD_QUERY_H
#define LINGERD_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "limits.h"

/* The decoded parameters of one request.  Values point into memory the caller owns. */
struct query {
	size_t n;
	const char *key[LD_MAX_PARAMS];
	const char *val[LD_MAX_PARAMS]; /* "" for a bare key ("?x") */
	uint8_t used[LD_MAX_PARAMS];
};

/*
 * Adds one parameter.  Fails with 400 for too many parameters, a name or value longer than
 * LD_MAX_PARAM_LEN, a parameter given twice, or bytes below 0x20 in either.
 */
int query_add(struct query *q, const char *key, const char *val, struct api_error *e);

/*
 * Parses a raw query string ("a=1&b=%20x") into q, percent-decoding into buf (of size
 * cap, which must be at least strlen(raw) + 1).  Used by tests and fuzzers; the HTTP
 * glue adds the parameters libmicrohttpd already decoded with query_add().
 */
int query_parse(struct query *q, const char *raw, char *buf, size_t cap, struct api_error *e);

/* The value of name, or NULL when absent; marks it used. */
const char *query_get(struct query *q, const char *name);

/* Fails with 400 "unknown_parameter" when a parameter was never asked for. */
int query_check_unused(struct query *q, struct api_error *e);

/*
 * Typed getters.  Each returns 1 when the parameter is present and valid (*out set), 0 when
 * absent (*out untouched), or -EINVAL with e filled in (400 bad_parameter naming it).
 */
int query_uint(struct query *q, const char *name, uint64_t min, uint64_t max, uint64_t *out,
	       struct api_error *e);
int query_double(struct query *q, const char *name, double min, double max, double *out,
		 struct api_error *e);
/* One of the given words (NULL-terminated list); *out is its index. */
int query_enum(struct query *q, const char *name, const char *const *words, int *out,
	       struct api_error *e);
/* A comma list of TCP state names in any accepted spelling; *mask has bit (1 << state). */
int query_states(struct query *q, const char *name, uint32_t *mask, struct api_error *e);

#endif
