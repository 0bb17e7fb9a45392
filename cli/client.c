/* client.c - a small HTTP/1.0 client for a lingerd on a loopback address. */
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "limits.h"

int client_init(struct client *c, const char *url)
{
	const char *p, *host_end, *port_s = NULL;
	char host[64];
	unsigned long port = 80;
	size_t hl;

	memset(c, 0, sizeof(*c));
	if (strncmp(url, "http://", 7) != 0 || strlen(url) >= sizeof(c->url))
		return -EINVAL;
	snprintf(c->url, sizeof(c->url), "%s", url);
	p = url + 7;
	if (*p == '[') {
		host_end = strchr(p, ']');
		if (!host_end)
			return -EINVAL;
		p++;
		hl = (size_t)(host_end - p);
		host_end++;
	} else {
		host_end = p + strcspn(p, ":/");
		hl = (size_t)(host_end - p);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (*host_end == ':') {
		char *end;

		port_s = host_end + 1;
		errno = 0;
		port = strtoul(port_s, &end, 10);
		if (errno || end == port_s || port == 0 || port > 65535 || (*end && *end != '/'))
			return -EINVAL;
		host_end = end;
	}
	/* Only the root path: a daemon behind a path prefix is not on loopback anyway. */
	if (*host_end && strcmp(host_end, "/") != 0)
		return -EINVAL;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");

	struct sockaddr_in *a4 = (struct sockaddr_in *)&c->addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&c->addr;

	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			return -EINVAL;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		c->addrlen = sizeof(*a4);
		snprintf(c->host, sizeof(c->host), "%s:%lu", host, port);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			return -EINVAL;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		c->addrlen = sizeof(*a6);
		snprintf(c->host, sizeof(c->host), "[%s]:%lu", host, port);
	} else {
		return -EINVAL;
	}
	return 0;
}

int client_token(struct client *c, const char *path)
{
	char buf[512];
	size_t n;
	int err = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f))
		err = -EIO;
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!err && (strlen(buf) < 16 || strpbrk(buf, " \t")))
		err = -EINVAL;
	if (!err && !(c->token = strdup(buf)))
		err = -ENOMEM;
	explicit_bzero(buf, sizeof(buf));
	return err;
}

void client_free(struct client *c)
{
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
		c->token = NULL;
	}
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads until EOF (HTTP/1.0: the server closes after the body) into a malloc'd buffer. */
static int recv_all(int fd, char **out, size_t *outlen)
{
	size_t len = 0, cap = 16384;
	char *buf = malloc(cap + 1), *nb;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			if (cap >= LD_CLI_MAX_REPLY) {
				err = -EFBIG;
				goto out;
			}
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		r = recv(fd, buf + len, cap - len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
out:
	free(buf);
	return err;
}

/* The status of a response's first line "HTTP/1.x NNN ...", or -1 when it is not one. */
static int status_code(const char *raw)
{
	const char *p = raw;
	int code = 0;

	if (strncmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
		return -1;
	p += 9;
	for (int i = 0; i < 3; i++, p++) {
		if (*p < '0' || *p > '9')
			return -1;
		code = code * 10 + (*p - '0');
	}
	if ((*p != ' ' && *p != '\r') || code < 100 || code > 599)
		return -1;
	return code;
}

int client_get(const struct client *c, const char *path, struct client_reply *r)
{
	struct timeval tv = { .tv_sec = LD_CLI_TIMEOUT_S };
	char req[4096], *raw = NULL, *body;
	size_t rawlen = 0;
	int fd, n, err, status;

	memset(r, 0, sizeof(*r));
	/*
	 * HTTP/1.0: the daemon answers without chunked encoding and closes the connection after
	 * the body, so EOF ends the answer.
	 */
	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.0\r\nHost: %s\r\nAccept: application/json, text/csv\r\n"
		     "User-Agent: lingerd/%s\r\n%s%s%s\r\n",
		     path, c->host, LINGERD_VERSION, c->token ? "Authorization: Bearer " : "",
		     c->token ? c->token : "", c->token ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return -E2BIG;
	fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&c->addr, c->addrlen) < 0) {
		err = errno == EINPROGRESS ? -ETIMEDOUT : -errno;
		goto out;
	}
	err = send_all(fd, req, (size_t)n);
	explicit_bzero(req, sizeof(req));
	if (err < 0)
		goto out;
	err = recv_all(fd, &raw, &rawlen);
	if (err < 0)
		goto out;
	status = status_code(raw);
	if (status < 0) {
		err = -EPROTO;
		goto out;
	}
	body = strstr(raw, "\r\n\r\n");
	if (!body) {
		err = -EPROTO;
		goto out;
	}
	body += 4;
	r->status = status;
	r->len = rawlen - (size_t)(body - raw);
	memmove(raw, body, r->len + 1);
	r->body = raw;
	raw = NULL;
out:
	free(raw);
	close(fd);
	return err;
}

int client_json(const struct client *c, const char *path, int allow_503, cJSON **out, char *why,
		size_t whylen)
{
	struct client_reply r;
	cJSON *doc;
	int err;

	*out = NULL;
	why[0] = '\0';
	err = client_get(c, path, &r);
	if (err < 0)
		return err;
	doc = cJSON_ParseWithLength(r.body, r.len);
	if (r.status != 200 && !(allow_503 && r.status == 503 && doc)) {
		/* The daemon's errors are {"error":{"code":..,"message":..}}. */
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");

		snprintf(why, whylen, "%s answered %d%s%s", path, r.status,
			 cJSON_IsString(m) ? ": " : "", cJSON_IsString(m) ? m->valuestring : "");
		err = r.status == 401 ? -EACCES : r.status == 400 ? -EINVAL : -EIO;
		cJSON_Delete(doc);
		goto out;
	}
	if (!doc) {
		snprintf(why, whylen, "%s answered something that is not JSON", path);
		err = -EPROTO;
		goto out;
	}
	*out = doc;
out:
	free(r.body);
	return err;
}

int client_query_add(char *buf, size_t n, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(buf);
	int w;

	w = snprintf(buf + len, n - len, "%s%s=", strchr(buf, '?') ? "&" : "?", key);
	if (w < 0 || (size_t)w >= n - len)
		return -E2BIG;
	len += (size_t)w;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
			    *p == '~' || *p == ',';

		if (len + (plain ? 1 : 3) >= n)
			return -E2BIG;
		if (plain) {
			buf[len++] = (char)*p;
		} else {
			buf[len++] = '%';
			buf[len++] = hex[*p >> 4];
			buf[len++] = hex[*p & 15];
		}
	}
	buf[len] = '\0';
	return 0;
}
