/* http.c - serves the API through libmicrohttpd, configured against its unsafe defaults. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include "assets.h"
#include "limits.h"
#include "log.h"
#include "query.h"

struct http {
	struct MHD_Daemon *daemon;
	const struct api_ctx *ctx;
	const struct http_access *acc;
	MHD_socket quiesced_fd;
	uint16_t port;
};

/*
 * Markers *req_cls points at: set by the URI callback from the raw request line (before
 * libmicrohttpd decodes it), then once the headers have been seen.  Never written.
 */
static const char marker_new, marker_raw_bad, marker_seen;

/* Non-zero when the raw path needs decoding: none of ours does, so it is an evasion try. */
int http_raw_path_suspect(const char *uri)
{
	for (const char *p = uri; *p && *p != '?'; p++)
		if (*p == '%' || *p == '\\')
			return 1;
	return 0;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	return (void *)(http_raw_path_suspect(uri) ? &marker_raw_bad : &marker_new);
}

int http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[256];
	const char *colon, *port_s;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG };
	struct addrinfo *ai = NULL;
	char *end;
	long port;
	size_t hl;

	if (!s || strlen(s) >= sizeof(host))
		return -EINVAL;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - s - 1);
		memcpy(host, s + 1, hl);
		port_s = rb + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
		memcpy(host, s, hl);
		port_s = colon + 1;
	}
	host[hl] = '\0';
	if (!hl || !*port_s)
		return -EINVAL;
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (errno || *end || port < 0 || port > 65535 || port_s[0] == '-' || port_s[0] == '+')
		return -EINVAL;
	hints.ai_flags &= ~AI_ADDRCONFIG;
	if (getaddrinfo(host, port_s, &hints, &ai) != 0 || !ai)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int http_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
	}
	return 0;
}

int http_host_allowed(const char *host, const struct http_access *acc)
{
	char name[256];
	const char *end, *port;
	unsigned char addr[16];
	size_t len;

	if (!host)
		return 1;
	len = strlen(host);
	if (len == 0 || len >= sizeof(name))
		return 0;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end)
			return 0;
		port = end + 1;
		host++;
	} else {
		end = strchr(host, ':');
		if (end && strchr(end + 1, ':'))
			return 0; /* an IPv6 literal must be bracketed */
		port = end ? end : host + len;
		end = port;
	}
	if (*port) {
		if (*port != ':' || !port[1] || strspn(port + 1, "0123456789") != strlen(port + 1) ||
		    strlen(port + 1) > 5)
			return 0;
	}
	len = (size_t)(end - host);
	if (!len)
		return 0;
	memcpy(name, host, len);
	name[len] = '\0';
	if (len && name[len - 1] == '.')
		name[--len] = '\0'; /* "localhost." is localhost */
	if (strcasecmp(name, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, name, addr) == 1 && addr[0] == 127)
		return 1;
	if (inet_pton(AF_INET6, name, addr) == 1 &&
	    IN6_IS_ADDR_LOOPBACK((const struct in6_addr *)addr))
		return 1;
	if (acc && acc->bound && strcasecmp(name, acc->bound) == 0)
		return 1;
	for (size_t i = 0; acc && i < acc->n_hosts; i++)
		if (strcasecmp(name, acc->hosts[i]) == 0)
			return 1;
	return 0;
}

int http_token_ok(const char *authorization, const char *token)
{
	static const char prefix[] = "Bearer ";
	size_t tl, al;
	unsigned char diff = 0;

	if (!authorization || !token || strncmp(authorization, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	authorization += sizeof(prefix) - 1;
	tl = strlen(token);
	al = strlen(authorization);
	/* Every byte of the token is compared whatever the input, so timing tells nothing. */
	for (size_t i = 0; i < tl; i++)
		diff |= (unsigned char)(token[i] ^ (i < al ? authorization[i] : 0));
	return diff == 0 && al == tl;
}

static void add_common_headers(struct MHD_Response *r, const struct api_response *ar)
{
	MHD_add_response_header(r, "Content-Type", ar->content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy",
				ar->csp ? ar->csp : "default-src 'none'; frame-ancestors 'none'");
	if (ar->no_store)
		MHD_add_response_header(r, "Cache-Control", "no-store");
	if (ar->allow)
		MHD_add_response_header(r, "Allow", ar->allow);
	if (ar->status == 401)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"lingerd\"");
}

static enum MHD_Result send_api(struct MHD_Connection *conn, struct api_response *ar)
{
	static const char oom[] = "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (ar->body && ar->body_static) {
		r = MHD_create_response_from_buffer(ar->len, ar->body, MHD_RESPMEM_PERSISTENT);
	} else if (ar->body) {
		r = MHD_create_response_from_buffer_with_free_callback(ar->len, ar->body, free);
		if (r)
			ar->body = NULL; /* the response owns it now */
	} else {
		ar->status = 500;
		ar->content_type = "application/json";
		r = MHD_create_response_from_buffer(sizeof(oom) - 1, (void *)oom,
						    MHD_RESPMEM_PERSISTENT);
	}
	api_response_free(ar);
	if (!r)
		return MHD_NO;
	add_common_headers(r, ar);
	ret = MHD_queue_response(conn, (unsigned int)ar->status, r);
	MHD_destroy_response(r);
	return ret;
}

struct args_ctx {
	struct query *q;
	struct api_error *e;
	int failed;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct args_ctx *a = cls;

	(void)kind;
	if (a->failed)
		return MHD_NO;
	if (query_add(a->q, key, value, a->e) < 0) {
		a->failed = 1;
		return MHD_NO;
	}
	return MHD_YES;
}

static int has_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_TRANSFER_ENCODING);

	if (te)
		return 1;
	return cl && strcmp(cl, "0") != 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	struct http *h = cls;
	struct api_response ar = { 0 };
	struct api_error e = { 0 };
	struct query q = { 0 };
	struct args_ctx a = { &q, &e, 0 };
	int body = has_body(conn);

	(void)version;
	(void)upload_data;
	/*
	 * The first call only announces the headers; answering on the second keeps
	 * keep-alive working.  A request with a body is answered at once, so its body is
	 * never read (libmicrohttpd then closes the connection).
	 */
	if (*req_cls == &marker_new && !body) {
		*req_cls = (void *)&marker_seen;
		return MHD_YES;
	}
	if (*upload_data_size)
		*upload_data_size = 0;
	/* Before anything else: a Host that is not ours is a rebinding attempt or a mistake. */
	if (!http_host_allowed(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
			       h->acc)) {
		api_fail(&e, 421, "misdirected_request", NULL,
			 "this server does not answer for that Host; see --allow-host");
		goto error;
	}
	if (h->acc && h->acc->token && strcmp(url, "/healthz") != 0 && !assets_find(url) &&
	    !http_token_ok(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION),
			   h->acc->token)) {
		api_fail(&e, 401, "unauthorized", NULL,
			 "send the token from --token-file as 'Authorization: Bearer TOKEN'");
		goto error;
	}
	if (*req_cls == &marker_raw_bad) {
		/* "%2e%2e", "%00", "%2f" and friends: no path of ours is spelled that way. */
		api_fail(&e, 404, "not_found", NULL, "no such endpoint");
		goto error;
	}
	if (strlen(url) > LD_MAX_URL_LEN) {
		api_fail(&e, 414, "uri_too_long", NULL, "the URL is longer than %d bytes",
			 LD_MAX_URL_LEN);
		goto error;
	}
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
	if (a.failed)
		goto error;
	if (api_handle(h->ctx, method, url, &q, body, &ar) < 0)
		ar.body = NULL;
	return send_api(conn, &ar);
error:
	if (api_error_response(&e, &ar) < 0)
		ar.body = NULL;
	return send_api(conn, &ar);
}

/*
 * Raises the soft fd limit towards its hard limit (1024 soft is the usual default, too few
 * for a thousand clients) and returns the connections that fit beside the reserve.
 */
static unsigned int conn_limit(void)
{
	struct rlimit rl;
	rlim_t want;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 64;
	want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > LD_NOFILE_WANT ? LD_NOFILE_WANT
									       : rl.rlim_max;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < LD_HTTP_CONN_LIMIT + LD_HTTP_FD_RESERVE)
		return rl.rlim_cur > LD_HTTP_FD_RESERVE + 64 ? (unsigned int)(rl.rlim_cur - LD_HTTP_FD_RESERVE)
							      : 64;
	return LD_HTTP_CONN_LIMIT;
}

int http_start(struct http **out, const struct sockaddr_storage *ss, socklen_t len,
	       const struct api_ctx *ctx, const struct http_access *acc)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC;
	struct http *h = calloc(1, sizeof(*h));
	unsigned int limit = conn_limit();
	int fd, one = 1, err;

	(void)len;
	if (!h)
		return -ENOMEM;
	h->ctx = ctx;
	h->acc = acc;
	h->quiesced_fd = MHD_INVALID_SOCKET;
	/*
	 * Bind the socket ourselves so that a taken port is reported as EADDRINUSE, not as a
	 * silent daemon failure.  SO_REUSEADDR lets a restart bind at once while connections
	 * of the previous run sit in TIME_WAIT (the very case lingerd explains).
	 */
	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, LD_HTTP_BACKLOG) < 0) {
		err = -errno;
		close(fd);
		goto fail;
	}
	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, h,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)LD_HTTP_THREADS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)LD_HTTP_TIMEOUT_S,
		MHD_OPTION_CONNECTION_LIMIT, limit,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)(limit < LD_HTTP_PER_IP_LIMIT ? limit : LD_HTTP_PER_IP_LIMIT),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LD_HTTP_CONN_MEMORY,
		MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
		MHD_OPTION_END);
	if (!h->daemon) {
		close(fd);
		err = -EIO;
		goto fail;
	}
	{
		struct sockaddr_storage bound;
		socklen_t blen = sizeof(bound);

		if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
			h->port = ntohs(bound.ss_family == AF_INET6
						? ((struct sockaddr_in6 *)&bound)->sin6_port
						: ((struct sockaddr_in *)&bound)->sin_port);
	}
	log_info("accepting up to %u connections, %u from one address", limit,
		 limit < LD_HTTP_PER_IP_LIMIT ? limit : LD_HTTP_PER_IP_LIMIT);
	*out = h;
	return 0;
fail:
	free(h);
	return err;
}

uint16_t http_port(const struct http *h)
{
	return h->port;
}

void http_quiesce(struct http *h)
{
	if (h && h->daemon && h->quiesced_fd == MHD_INVALID_SOCKET)
		h->quiesced_fd = MHD_quiesce_daemon(h->daemon);
}

void http_stop(struct http *h)
{
	if (!h)
		return;
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	/* A quiesced daemon hands its listening socket back to us to close. */
	if (h->quiesced_fd != MHD_INVALID_SOCKET)
		close(h->quiesced_fd);
	free(h);
}
