/* handlers.h - the contract between the router (api.c) and the ep_*.c files that hold endpoints. */
#ifndef LINGERD_HANDLERS_H
#define LINGERD_HANDLERS_H

#include "api.h"
#include "errors.h"
#include "jw.h"
#include "query.h"

/*
 * Every endpoint has this shape: it validates q (failing with e filled in and -EINVAL),
 * writes its document into w, and returns 0 for 200, a positive HTTP status, or -errno
 * (-ENOMEM, or -EAGAIN with e set when there is nothing to answer yet).  arg is the rest of
 * the path after a route that ends in '/' ("" otherwise).  A document that is not JSON sets
 * w->type.
 */
typedef int (*api_handler_fn)(const struct api_ctx *ctx, const char *arg, struct query *q,
			      struct jw *w, struct api_error *e);

/* ep_health.c: /healthz */
int api_h_healthz(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		  struct api_error *e);
/* ep_metrics.c: /metrics */
int api_h_metrics(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		  struct api_error *e);
/* ep_sockets.c: /api/v1/snapshot and /api/v1/sockets */
int api_h_snapshot(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		   struct api_error *e);
int api_h_sockets(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		  struct api_error *e);
/* ep_states.c: /api/v1/states and /api/v1/states/{state} */
int api_h_states(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e);
int api_h_state(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		struct api_error *e);
/* ep_lingering.c, ep_netns.c, ep_findings.c, ep_system.c, ep_trends.c */
int api_h_lingering(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		    struct api_error *e);
int api_h_netns(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		struct api_error *e);
int api_h_findings(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		   struct api_error *e);
int api_h_system(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e);
int api_h_trends(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e);
/* tracer.c: /api/v1/sockets/{cookie} (one socket's teardown) and /api/v1/events (the tracer's
   counters, histograms and resets by process) */
int api_h_socket(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e);
int api_h_events(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		 struct api_error *e);

#endif
