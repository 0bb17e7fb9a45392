/*
 * fuzz_query.c - the query-string parser and every typed getter.  The raw string is what a
 * client controls; the buffer is the smallest query_parse() accepts, so any write past it
 * is an ASan report.  Checks: errors are 400/414 with a code, accepted parameters obey the
 * documented limits, getters keep their ranges, and asking for every key leaves none unused.
 */
#include <errno.h>
#include <math.h>

#include "fuzz.h"
#include "query.h"
#include "sock.h"

static const char *const words[] = { "en", "ko", "json", "text", NULL };

static void check_error(const struct api_error *e)
{
	FUZZ_CHECK(e->status == 400 || e->status == 414);
	FUZZ_CHECK(e->code != NULL);
	FUZZ_CHECK(memchr(e->message, '\0', sizeof(e->message)) != NULL);
	FUZZ_CHECK(memchr(e->parameter, '\0', sizeof(e->parameter)) != NULL);
}

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* Runs one getter, chosen by kind, on name; checks its contract. */
static void get(struct query *q, const char *name, int kind)
{
	struct api_error e;
	uint64_t u = 7;
	double d = 7;
	int idx = -1, rc;
	uint32_t mask = 0;

	memset(&e, 0, sizeof(e));
	switch (kind & 3) {
	case 0:
		rc = query_uint(q, name, 1, LD_SOCKETS_LIMIT_MAX, &u, &e);
		if (rc == 1)
			FUZZ_CHECK(u >= 1 && u <= LD_SOCKETS_LIMIT_MAX);
		else if (rc == 0)
			FUZZ_CHECK(u == 7);
		break;
	case 1:
		rc = query_double(q, name, 0, LD_MIN_AGE_MAX, &d, &e);
		if (rc == 1)
			FUZZ_CHECK(isfinite(d) && d >= 0 && d <= LD_MIN_AGE_MAX);
		break;
	case 2:
		rc = query_enum(q, name, words, &idx, &e);
		if (rc == 1)
			FUZZ_CHECK(idx >= 0 && idx < 4 && strcmp(query_get(q, name), words[idx]) == 0);
		break;
	default:
		rc = query_states(q, name, &mask, &e);
		if (rc == 1) {
			FUZZ_CHECK(mask != 0);
			/* Only bits of real states: 1 .. SOCK_STATE_MAX - 1. */
			FUZZ_CHECK((mask & ~(((1u << SOCK_STATE_MAX) - 1) & ~1u)) == 0);
		}
		break;
	}
	FUZZ_CHECK(rc == 1 || rc == 0 || rc == -EINVAL);
	if (rc < 0) {
		FUZZ_CHECK_INT(e.status, ==, 400);
		FUZZ_CHECK(strcmp(e.code, "bad_parameter") == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw = fuzz_cstr(data, size);
	size_t len = strlen(raw), cap = len + 2;
	char *buf = malloc(cap);
	struct query q;
	struct api_error e;
	int rc;

	if (!buf)
		abort();
	memset(&q, 0, sizeof(q));
	memset(&e, 0, sizeof(e));
	rc = query_parse(&q, raw, buf, cap, &e);
	if (rc < 0) {
		FUZZ_CHECK_INT(rc, ==, -EINVAL);
		check_error(&e);
		goto out;
	}
	FUZZ_CHECK_INT(rc, ==, 0);
	FUZZ_CHECK(len <= LD_MAX_QUERY_LEN);
	FUZZ_CHECK(q.n <= LD_MAX_PARAMS);
	for (size_t i = 0; i < q.n; i++) {
		FUZZ_CHECK(q.key[i][0] != '\0');
		FUZZ_CHECK(strlen(q.key[i]) <= LD_MAX_PARAM_LEN);
		FUZZ_CHECK(strlen(q.val[i]) <= LD_MAX_PARAM_LEN);
		FUZZ_CHECK(!has_control(q.key[i]) && !has_control(q.val[i]));
		FUZZ_CHECK(q.key[i] >= buf && q.key[i] < buf + cap);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(q.key[i], q.key[j]) != 0);
	}
	/* The names the handlers really ask for, then every key with a getter it picks. */
	get(&q, "limit", 0);
	get(&q, "min_age", 1);
	get(&q, "lang", 2);
	get(&q, "state", 3);
	for (size_t i = 0; i < q.n; i++)
		get(&q, q.key[i], (int)(q.key[i][0] + q.val[i][0]));
	memset(&e, 0, sizeof(e));
	FUZZ_CHECK_INT(query_check_unused(&q, &e), ==, 0);
out:
	free(buf);
	free(raw);
	return 0;
}
