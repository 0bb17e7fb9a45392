/* ep_metrics.c - /metrics: the Prometheus exposition (metrics.c renders it). */
#include <errno.h>

#include "handlers.h"
#include "metrics.h"

/* A scrape before the first snapshot still gets lingerd's own metrics, with status 200. */
int api_h_metrics(const struct api_ctx *ctx, const char *arg, struct query *q, struct jw *w,
		  struct api_error *e)
{
	int err;

	(void)arg;
	if (query_check_unused(q, e) < 0)
		return -EINVAL;
	err = metrics_render(ctx->feed, ctx->metrics, w);
	if (err == -ENOMEM)
		return err;
	return 0;
}
