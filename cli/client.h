/* client.h - a small HTTP/1.0 client for a lingerd on a loopback address. */
#ifndef LINGERD_CLIENT_H
#define LINGERD_CLIENT_H

#include <stddef.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

/*
 * Where the daemon is and how to ask it.  Only http:// on a loopback address is accepted:
 * the terminal view never sends a token anywhere else, and lingerd itself answers only
 * loopback Host names unless told otherwise.
 */
struct client {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[80]; /* the Host header: "127.0.0.1:9471" or "[::1]:9471" */
	char url[96];  /* the daemon's URL as given, for messages */
	char *token;   /* bearer token, or NULL */
};

/* One answer: the HTTP status and the body, NUL-terminated (len excludes the NUL). */
struct client_reply {
	int status;
	char *body;
	size_t len;
};

/*
 * Parses URL ("http://HOST[:PORT][/]", HOST being 127.0.0.0/8, [::1] or localhost; the port
 * defaults to 80) into c, which owns no memory yet.  Returns 0 or -EINVAL.
 */
int client_init(struct client *c, const char *url);

/*
 * Reads the bearer token from PATH (one line of at least 16 characters without spaces, the
 * daemon's own rule) into c.  Returns 0, -EINVAL for a malformed token, or -errno.
 */
int client_token(struct client *c, const char *path);

/* Wipes and frees the token. */
void client_free(struct client *c);

/*
 * GETs PATH (with its query, already percent-encoded) and fills r; the caller frees r->body
 * with free().  Every status is returned as is.  Returns 0, -ECONNREFUSED and other -errno
 * of the socket, -ETIMEDOUT, -EFBIG past LD_CLI_MAX_REPLY or -EPROTO for a malformed answer.
 */
int client_get(const struct client *c, const char *path, struct client_reply *r);

/*
 * GETs PATH and parses a 200 answer as JSON into *out (the caller deletes it).  On any other
 * status, *why gets the daemon's error message or the status line (static or in buf).
 * Returns 0, -errno as client_get, -EACCES on 401, -EINVAL on 400 (a bad filter), -EIO on
 * another status, -EPROTO for
 * JSON that does not parse.  A 503 from /healthz still carries its body: allow_503 keeps it.
 */
int client_json(const struct client *c, const char *path, int allow_503, cJSON **out, char *why,
		size_t whylen);

/* Appends VALUE to a query string in BUF (size N) as KEY=VALUE, percent-encoding VALUE. */
int client_query_add(char *buf, size_t n, const char *key, const char *value);

#endif
