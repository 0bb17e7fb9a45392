/* http_access.c - who may talk to lingerd: the listen address, Host names, bearer tokens. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Non-zero when the raw path needs decoding: none of ours does, so it is an evasion try. */
int http_raw_path_suspect(const char *uri)
{
	for (const char *p = uri; *p && *p != '?'; p++)
		if (*p == '%' || *p == '\\')
			return 1;
	return 0;
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
		if (*port != ':' || !port[1] ||
		    strspn(port + 1, "0123456789") != strlen(port + 1) || strlen(port + 1) > 5)
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
	static const char scheme[] = "Bearer";
	size_t tl, al;
	unsigned char diff = 0;

	/* The scheme is case-insensitive (RFC 9110 11.1); the token itself is not. */
	if (!authorization || !token ||
	    strncasecmp(authorization, scheme, sizeof(scheme) - 1) != 0 ||
	    authorization[sizeof(scheme) - 1] != ' ')
		return 0;
	authorization += sizeof(scheme) - 1;
	while (*authorization == ' ')
		authorization++;
	tl = strlen(token);
	al = strlen(authorization);
	/* Every byte of the token is compared whatever the input, so timing tells nothing. */
	for (size_t i = 0; i < tl; i++)
		diff |= (unsigned char)(token[i] ^ (i < al ? authorization[i] : 0));
	return diff == 0 && al == tl;
}
