/* api.c - the router: a method, path and query in, an endpoint's answer or a page asset out. */
#include "api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "handlers.h"
#include "jw.h"
#include "limits.h"
#include "metrics.h"
#include "util.h"

struct route {
	const char *path;
	int prefix; /* path ends in '/' and the rest is an argument */
	api_handler_fn fn;
	const char *type; /* Content-Type when not JSON */
};

/* The page may load its own scripts, styles and data, and nothing else. */
#define PAGE_CSP                                                                          \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "      \
	"frame-ancestors 'none'"

void api_response_free(struct api_response *resp)
{
	if (!resp->body_static)
		free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

static const struct route routes[] = {
	{ "/metrics", 0, api_h_metrics, METRICS_CONTENT_TYPE },
	{ "/healthz", 0, api_h_healthz, NULL },
	{ "/api/v1/snapshot", 0, api_h_snapshot, NULL },
	{ "/api/v1/sockets", 0, api_h_sockets, NULL },
	{ "/api/v1/sockets/", 1, api_h_socket, NULL },
	{ "/api/v1/events", 0, api_h_events, NULL },
	{ "/api/v1/states", 0, api_h_states, NULL },
	{ "/api/v1/states/", 1, api_h_state, NULL },
	{ "/api/v1/lingering", 0, api_h_lingering, NULL },
	{ "/api/v1/netns", 0, api_h_netns, NULL },
	{ "/api/v1/findings", 0, api_h_findings, NULL },
	{ "/api/v1/system", 0, api_h_system, NULL },
	{ "/api/v1/trends", 0, api_h_trends, NULL },
};

static const struct route *route_find(const char *path, const char **arg)
{
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		size_t len = strlen(routes[i].path);

		if (routes[i].prefix) {
			if (strncmp(path, routes[i].path, len) == 0 && path[len] &&
			    !strchr(path + len, '/')) {
				*arg = path + len;
				return &routes[i];
			}
		} else if (strcmp(path, routes[i].path) == 0) {
			*arg = "";
			return &routes[i];
		}
	}
	return NULL;
}

/*
 * The page ignores its query string: it reads its own (/?lang=ko), and a link that carries one
 * must not turn into a JSON error.  Every other file (the API document, scripts) takes none.
 */
static int serve_asset(const struct api_ctx *ctx, const struct asset *a, struct query *q,
		       struct api_response *resp, struct api_error *e)
{
	unsigned char *data;
	size_t len;
	int err;

	if (strcmp(a->url, "/index.html") != 0 && query_check_unused(q, e) < 0)
		return -EINVAL;
	resp->status = 200;
	resp->content_type = a->type;
	resp->csp = PAGE_CSP;
	err = assets_load_override(a, ctx->web_root, &data, &len);
	if (err == 0) {
		resp->body = (char *)data;
		resp->len = len;
		resp->no_store = 1;
		return 0;
	}
	if (err != -ENODATA)
		return api_fail(e, 500, "internal", NULL, "cannot read %s from --web-root: %s",
				a->file, util_strerror(-err));
	resp->body = (char *)a->data;
	resp->len = a->len;
	resp->body_static = 1;
	resp->etag = a->etag;
	return 0;
}

int api_handle(const struct api_ctx *ctx, const char *method, const char *path, struct query *q,
	       int has_body, struct api_response *resp)
{
	struct api_error e = { 0 };
	const struct asset *asset = NULL;
	const struct route *r;
	const char *arg = "";
	struct jw w;
	int status;

	memset(resp, 0, sizeof(*resp));
	r = route_find(path, &arg);
	if (!r)
		asset = assets_find(path);
	if (!r && !asset) {
		api_fail(&e, 404, "not_found", NULL, "no such endpoint: %.100s", path);
		goto error;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		resp->allow = "GET, HEAD";
		api_fail(&e, 405, "method_not_allowed", NULL,
			 "%.16s is not allowed; use GET or HEAD", method);
		goto error;
	}
	if (has_body) {
		api_fail(&e, 400, "body_not_allowed", NULL, "requests to lingerd carry no body");
		goto error;
	}
	if (asset) {
		if (serve_asset(ctx, asset, q, resp, &e) < 0)
			goto error;
		return 0;
	}
	jw_init(&w, LD_JSON_MAX);
	status = r->fn(ctx, arg, q, &w, &e);
	if (status < 0) {
		jw_free(&w);
		if (status == -ENOMEM)
			api_fail(&e, 500, "out_of_memory", NULL, "out of memory");
		goto error;
	}
	resp->status = status ? status : 200;
	resp->content_type = w.type ? w.type : r->type ? r->type : API_JSON_TYPE;
	resp->no_store = 1;
	status = jw_finish(&w, &resp->body, &resp->len);
	if (status == 0)
		return 0;
	api_fail(&e, 500, "internal", NULL, "the response could not be built (%s)",
		 util_strerror(-status));
error:
	if (resp->body && !resp->body_static)
		free(resp->body);
	resp->body = NULL;
	resp->body_static = 0;
	resp->csp = NULL;
	return api_error_response(&e, resp);
}
