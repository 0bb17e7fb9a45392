/* api.h - the HTTP API without HTTP: routes a method, path and query to a JSON answer. */
#ifndef LINGERD_API_H
#define LINGERD_API_H

#include <stddef.h>

#include "query.h"

#define API_JSON_TYPE "application/json"

/* What the handlers read from: the sampler's published state and the database. */
struct feed;
struct metrics_config;
struct pool;

struct api_ctx {
	struct feed *feed; /* the published snapshot, status and rollups */
	struct pool *pool; /* read-only database connections for history queries */
	const struct metrics_config *metrics;
	const char *web_root; /* --web-root: serve the page's files from here (development) */
};

/* One answer.  body is malloc'd and owned by the response; api_response_free() frees it. */
struct api_response {
	int status;
	const char *content_type;
	char *body;
	size_t len;
	const char *allow; /* Allow header for 405, else NULL */
	int no_store;      /* Cache-Control: no-store */
	int body_static;   /* body points at embedded bytes: never freed */
	const char *csp;   /* Content-Security-Policy; NULL means the API's "default-src 'none'" */
	const char *etag; /* an embedded file's ETag: revalidated (no-cache), 304 when it matches */
};

/*
 * Answers one request.  method and path come from the HTTP layer (path already
 * percent-decoded, without the query); q holds the decoded parameters; has_body tells
 * whether the request carried a body.  Always fills *resp: errors become JSON bodies with
 * their status.  Returns 0, or -ENOMEM when not even an error body could be built (the
 * caller then sends a fixed 500).
 */
int api_handle(const struct api_ctx *ctx, const char *method, const char *path, struct query *q,
	       int has_body, struct api_response *resp);

void api_response_free(struct api_response *resp);

#endif
