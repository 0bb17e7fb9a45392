/*
 * fuzz_http.c - the checks that run before any handler: the Host allow-list, the bearer
 * token compare, the embedded-asset lookup (the only place a URL could meet a file) and the
 * TCP state names accepted in paths and parameters.
 *
 * Input: "HOST\nAUTH\nTOKEN\nPATH" (missing parts are empty); the whole input is also given
 * to sock_state_parse as an unterminated byte run.
 */
#include <ctype.h>

#include "assets.h"
#include "fuzz.h"
#include "http.h"
#include "sock.h"

static const char *const extra_hosts[] = { "lingerd.example", "Box.Internal" };
static const struct http_access acc = {
	.hosts = extra_hosts,
	.n_hosts = 2,
	.bound = "10.1.2.3",
	.token = NULL,
};

/* Splits at the next '\n': returns the part and moves *p past it. */
static char *next_part(char **p)
{
	char *s = *p, *nl = strchr(s, '\n');

	if (nl) {
		*nl = '\0';
		*p = nl + 1;
	} else {
		*p = s + strlen(s);
	}
	return s;
}

static void check_host(const char *host)
{
	int ok = http_host_allowed(host, &acc);
	char *up = strdup(host), *low = strdup(host);

	if (!up || !low)
		abort();
	FUZZ_CHECK(ok == 0 || ok == 1);
	for (char *c = up; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	for (char *c = low; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	/* Host names are case-insensitive, and so are IPv6 hex digits. */
	FUZZ_CHECK_INT(http_host_allowed(up, &acc), ==, ok);
	FUZZ_CHECK_INT(http_host_allowed(low, &acc), ==, ok);
	if (ok) {
		/* Nothing that could smuggle a second name or a header through an accepted Host. */
		for (const unsigned char *c = (const unsigned char *)host; *c; c++)
			FUZZ_CHECK(*c > 0x20 && *c < 0x7f && *c != '/' && *c != '@' && *c != '\\');
	}
	/* Without an access list only loopback names pass, so never more than with one. */
	if (http_host_allowed(host, NULL))
		FUZZ_CHECK(ok);
	free(up);
	free(low);
}

static void check_token(const char *auth, const char *token)
{
	/* credentials = auth-scheme 1*SP token68, the scheme case-insensitive (RFC 9110 11.4). */
	int want = strncasecmp(auth, "Bearer ", 7) == 0 &&
		   strcmp(auth + 7 + strspn(auth + 7, " "), token) == 0;

	FUZZ_CHECK_INT(http_token_ok(auth, token), ==, want);
	FUZZ_CHECK_INT(http_token_ok(NULL, token), ==, 0);
	FUZZ_CHECK_INT(http_token_ok(auth, NULL), ==, 0);
}

static void check_asset(const char *path)
{
	const struct asset *a = assets_find(path);

	if (!a)
		return;
	/* Exactly one spelling per asset: no normalisation that a traversal could abuse. */
	FUZZ_CHECK(strcmp(a->url, path) == 0 ||
		   (strcmp(path, "/") == 0 && strcmp(a->url, "/index.html") == 0));
	FUZZ_CHECK(a->data != NULL && a->type != NULL);
	FUZZ_CHECK(strstr(path, "..") == NULL && strchr(path, '\\') == NULL);
}

static void check_state(const uint8_t *data, size_t size)
{
	char *b = fuzz_bytes(data, size);
	int st = sock_state_parse(b, size);

	if (st >= 0) {
		const char *name = sock_state_name(st);

		FUZZ_CHECK(st > 0 && st < SOCK_STATE_MAX);
		FUZZ_CHECK(name != NULL);
		FUZZ_CHECK_INT(sock_state_parse(name, strlen(name)), ==, st);
		FUZZ_CHECK(sock_state_label(st) != NULL);
	}
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *all = fuzz_cstr(data, size), *p = all;
	char *host = next_part(&p), *auth = next_part(&p), *token = next_part(&p);
	char *path = next_part(&p);

	check_host(host);
	check_token(auth, token);
	check_asset(path);
	check_asset(host);
	check_state(data, size);
	free(all);
	return 0;
}
