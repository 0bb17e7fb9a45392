/* http.h - the libmicrohttpd glue: limits, security headers, and the API behind it. */
#ifndef LINGERD_HTTP_H
#define LINGERD_HTTP_H

#include <stdint.h>
#include <sys/socket.h>

#include "api.h"

struct http;

/*
 * Parses "ADDR:PORT" ("127.0.0.1:9471", "[::1]:0", "localhost:9471") into *ss.
 * Returns 0 or -EINVAL.
 */
int http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Non-zero when the address is in 127.0.0.0/8 or is ::1. */
int http_is_loopback(const struct sockaddr_storage *ss);

/* Who may talk to the server: Host names beyond the loopback ones, and a bearer token. */
struct http_access {
	const char *const *hosts; /* extra Host names (--allow-host), case-insensitive */
	size_t n_hosts;
	const char *bound; /* the listening address as text ("127.0.0.1", "::1") */
	const char *token; /* when set, the API and /metrics need "Bearer <token>" */
};

/*
 * Non-zero when a request's Host header names this server: localhost, a loopback literal
 * (127.0.0.0/8, [::1]), the bound address, or a name in acc->hosts, with any port.  A
 * request without Host (HTTP/1.0 tools) is allowed; browsers always send one, which is
 * what stops DNS rebinding.
 */
int http_host_allowed(const char *host, const struct http_access *acc);

/*
 * Non-zero when the raw request path (before percent-decoding) holds '%' or a backslash.
 * No lingerd path needs either, so such a request is answered 404 whatever it decodes to.
 */
int http_raw_path_suspect(const char *uri);

/*
 * Constant-time check of an Authorization header against "Bearer <token>"; the scheme is
 * compared case-insensitively, the token exactly.
 */
int http_token_ok(const char *authorization, const char *token);

/*
 * Starts serving on the address with a small thread pool and the limits of common/limits.h:
 * a request deadline (a whole request head within LD_HTTP_REQUEST_DEADLINE_MS of waiting for
 * it, however slowly it trickles) and an answer deadline, a connection limit at which the
 * connection that has waited longest for a request is closed to make room, a memory pool
 * per connection, and a cap on /api/ answers in flight (JSON 503 with Retry-After past it).
 * ctx and acc must outlive the server.  Returns 0 and *out, or -errno (-EADDRINUSE when the
 * port is taken).
 */
int http_start(struct http **out, const struct sockaddr_storage *ss, socklen_t len,
	       const struct api_ctx *ctx, const struct http_access *acc);

/*
 * Replaces the bearer token (a copy is kept; requests in flight finish with the old one).
 * Only for a server started with a token.  Returns 0 or -ENOMEM (the old token stays).
 */
int http_set_token(struct http *h, const char *token);

/* The port actually bound (useful with port 0). */
uint16_t http_port(const struct http *h);

/*
 * Starts draining: from now on a connection is closed as soon as it waits for a request
 * (new ones at once); answers in flight finish.  Never calls MHD_quiesce_daemon (see
 * http_start).  NULL is fine.
 */
void http_quiesce(struct http *h);

/*
 * Stops the server, closes every socket it owns and frees *h.  After http_quiesce it first
 * waits up to LD_SHUTDOWN_GRACE_MS for the connections to go.  NULL is fine.
 */
void http_stop(struct http *h);

#endif
