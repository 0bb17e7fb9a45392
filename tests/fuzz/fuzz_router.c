/*
 * fuzz_router.c - api_handle(), the whole API without HTTP, over a real sampler.
 *
 * Once per process: a database in a fresh temporary folder, two real snapshots of this
 * host's sockets (of every network namespace when run as root), including a CLOSE_WAIT socket
 * held by this very process while its name is hostile (quotes, a newline, "<", "=", invalid
 * UTF-8), so every endpoint and format has a name to escape.
 *
 * Input: "METHOD[ body]\nPATH[?QUERY]".  The query goes through query_parse() as the HTTP
 * glue's parameters would.  Checks on every answer: a status, a content type, a body;
 * JSON bodies are valid UTF-8 and parse whole with cJSON; errors carry error.code; 405
 * names Allow; /metrics is well-formed exposition text (names, label escaping, values);
 * CSV is UTF-8 with CRLF records and no formula-starting field; nothing is served 200 for
 * a path spelled with "..", "\" or "//".
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api.h"
#include "fuzz.h"
#include "metrics.h"
#include "query.h"
#include "pool.h"
#include "sampler.h"

static struct sampler *sampler;
static struct pool *readers;
static struct metrics_config metrics;
static struct api_ctx ctx;
static char dir[] = "/tmp/lingerd-fuzz-router-XXXXXX";
static char db[sizeof(dir) + 16];
static int held[3] = { -1, -1, -1 };

static void cleanup(void)
{
	char path[sizeof(dir) + 280];
	struct dirent *ent;
	DIR *d;

	pool_close(readers);
	sampler_close(sampler);
	for (int i = 0; i < 3; i++)
		if (held[i] >= 0)
			close(held[i]);
	/* The database, its WAL and whatever else the store keeps beside it. */
	d = opendir(dir);
	while (d && (ent = readdir(d))) {
		if (ent->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* A listener, and a connection whose peer closed: our end sits in CLOSE_WAIT. */
static uint16_t hold_close_wait(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int c;

	held[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (held[0] < 0 || bind(held[0], (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(held[0], 4) < 0 || getsockname(held[0], (struct sockaddr *)&a, &al) < 0)
		return 0;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 0;
	held[1] = accept(held[0], NULL, NULL);
	close(c);
	usleep(20000);
	return ntohs(a.sin_port);
}

static void init(void)
{
	struct sampler_config cfg = {
		/* Never stepped again: a long interval keeps /healthz from going stale mid-run. */
		.interval_s = 3600,
		.source = CAPTURE_AUTO,
		.db_path = db,
		.attribute_every_s = 0.001,
		.proc_root = "/proc",
		.persist_after_s = 0,
		.retention_s = 7 * 86400.0,
		.raw_retention_s = 86400.0,
		/* As root, every namespace of the host too: netns= and per-namespace metrics. */
		.netns_all = geteuid() == 0,
	};
	char old[17] = "";
	uint16_t port;

	if (!mkdtemp(dir))
		abort();
	snprintf(db, sizeof(db), "%s/lingerd.db", dir);
	atexit(cleanup);
	port = hold_close_wait();
	metrics.ports[0] = 80;
	metrics.ports[1] = port ? port : 443;
	metrics.n_ports = 2;
	metrics.netns = 1;
	if (sampler_open(&sampler, &cfg) < 0)
		abort();
	/* The process name the snapshot records is the main thread's: make it hostile. */
	prctl(PR_GET_NAME, old, 0, 0, 0);
	prctl(PR_SET_NAME, "=q\"<s>\n\xff\xc3(\\,", 0, 0, 0);
	sampler_step(sampler);
	usleep(10000);
	sampler_step(sampler);
	prctl(PR_SET_NAME, old, 0, 0, 0);
	if (pool_open(&readers, db) < 0)
		abort();
	ctx.feed = sampler_feed(sampler);
	ctx.pool = readers;
	ctx.metrics = &metrics;
	ctx.web_root = NULL;
}

/* Skips JSON whitespace. */
static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i;
}

static void check_json(const struct api_response *r)
{
	const char *end = NULL;
	cJSON *doc;

	FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)r->body, r->len));
	FUZZ_CHECK(memchr(r->body, '\0', r->len) == NULL);
	doc = cJSON_ParseWithLengthOpts(r->body, r->len, &end, 0);
	if (!doc)
		fprintf(stderr, "invalid JSON (%d): %.*s\n", r->status, (int)r->len, r->body);
	FUZZ_CHECK(doc != NULL);
	FUZZ_CHECK(skip_ws(r->body, (size_t)(end - r->body), r->len) == r->len);
	if (r->status == 503 && cJSON_GetObjectItemCaseSensitive(doc, "problems")) {
		/* /healthz answers 503 with its own document when degraded, not an error. */
		cJSON *st = cJSON_GetObjectItemCaseSensitive(doc, "status");

		FUZZ_CHECK(cJSON_IsString(st) && strcmp(st->valuestring, "degraded") == 0);
	} else if (r->status >= 400) {
		cJSON *err = cJSON_GetObjectItemCaseSensitive(doc, "error");
		cJSON *code = cJSON_GetObjectItemCaseSensitive(err, "code");

		FUZZ_CHECK(cJSON_IsString(code) && code->valuestring[0]);
	}
	cJSON_Delete(doc);
}

static int name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* One sample line: name{label="value",...} number.  Returns 0 when well-formed. */
static int bad_sample(const char *l, size_t n)
{
	size_t i = 0;

	if (!n || !name_char(l[0], 1))
		return 1;
	while (i < n && name_char(l[i], i == 0))
		i++;
	if (i < n && l[i] == '{') {
		i++;
		while (i < n && l[i] != '}') {
			if (!name_char(l[i], 1))
				return 2;
			while (i < n && name_char(l[i], 0))
				i++;
			if (i + 1 >= n || l[i] != '=' || l[i + 1] != '"')
				return 3;
			for (i += 2; i < n && l[i] != '"'; i++) {
				if (l[i] == '\\') {
					if (i + 1 >= n || !strchr("\\\"n", l[i + 1]))
						return 4; /* only \\, \" and \n are escapes */
					i++;
				}
			}
			if (i >= n)
				return 5;
			i++;
			if (i < n && l[i] == ',')
				i++;
		}
		if (i >= n)
			return 6;
		i++;
	}
	if (i >= n || l[i] != ' ' || i + 1 >= n)
		return 7;
	for (i++; i < n; i++)
		if (!strchr("0123456789.-+eEaINnf", l[i]))
			return 8;
	return 0;
}

static void check_metrics(const struct api_response *r)
{
	const char *p = r->body, *end = r->body + r->len;

	FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)r->body, r->len));
	FUZZ_CHECK(r->len > 0 && r->body[r->len - 1] == '\n');
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)(nl - p);
		int bad;

		FUZZ_CHECK(nl != NULL);
		if (n && p[0] != '#' && (bad = bad_sample(p, n)) != 0) {
			fprintf(stderr, "bad exposition line (%d): %.*s\n", bad, (int)n, p);
			abort();
		}
		p = nl + 1;
	}
}

/* CSV: declared UTF-8, so it must be; records end in CRLF; no field starts a formula. */
static void check_csv(const struct api_response *r)
{
	const char *p = r->body, *end = r->body + r->len;

	FUZZ_CHECK(r->status == 200);
	if (!fuzz_utf8_ok((const unsigned char *)r->body, r->len)) {
		fprintf(stderr, "CSV that is not UTF-8: %.*s\n", (int)r->len, r->body);
		abort();
	}
	FUZZ_CHECK(r->len >= 2 && end[-2] == '\r' && end[-1] == '\n');
	FUZZ_CHECK(memchr(r->body, '\0', r->len) == NULL);
	/* A field that begins with = + - @ is what spreadsheets run; quoting does not help. */
	for (; p < end; p++)
		if ((p == r->body || p[-1] == ',' || p[-1] == '\n' ||
		     (p[-1] == '"' && (p - 1 == r->body || p[-2] == ',' || p[-2] == '\n'))) &&
		    strchr("=+@", *p) && *p)
			FUZZ_CHECK(!"a CSV field starts with a formula character");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *all = fuzz_cstr(data, size), *nl, *path, *qs, *buf = NULL;
	char method[17];
	struct api_response r;
	struct api_error e;
	struct query q;
	int has_body = 0, rc;

	if (!sampler)
		init();
	nl = strchr(all, '\n');
	if (!nl)
		goto out;
	*nl = '\0';
	path = nl + 1;
	if (strlen(all) > 5 && strcmp(all + strlen(all) - 5, " body") == 0) {
		has_body = 1;
		all[strlen(all) - 5] = '\0';
	}
	snprintf(method, sizeof(method), "%s", all);
	qs = strchr(path, '?');
	if (qs)
		*qs++ = '\0';
	memset(&q, 0, sizeof(q));
	memset(&e, 0, sizeof(e));
	if (qs) {
		/*
		 * Room to spare: the HTTP glue gets its parameters decoded by libmicrohttpd, and
		 * query_parse()'s own bounds are fuzz_query's business, not this harness's.
		 */
		size_t cap = 2 * strlen(qs) + 2;

		buf = malloc(cap);
		if (!buf)
			abort();
		if (query_parse(&q, qs, buf, cap, &e) < 0)
			goto out;
	}
	rc = api_handle(&ctx, method, path, &q, has_body, &r);
	FUZZ_CHECK_INT(rc, ==, 0);
	FUZZ_CHECK(r.status >= 200 && r.status <= 599);
	FUZZ_CHECK(r.content_type != NULL);
	FUZZ_CHECK(r.body != NULL || r.len == 0);
	if (r.status == 405)
		FUZZ_CHECK(r.allow != NULL);
	if (r.status == 200)
		FUZZ_CHECK(!strstr(path, "..") && !strchr(path, '\\') && !strstr(path, "//"));
	if (strncmp(r.content_type, "application/json", 16) == 0)
		check_json(&r);
	else if (strcmp(r.content_type, METRICS_CONTENT_TYPE) == 0)
		check_metrics(&r);
	else if (strncmp(r.content_type, "text/csv", 8) == 0)
		check_csv(&r);
	else
		FUZZ_CHECK(r.status == 200); /* an embedded asset; errors are always JSON */
	api_response_free(&r);
out:
	free(buf);
	free(all);
	return 0;
}
