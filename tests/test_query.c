/* test_query.c - every query parameter validator with good and bad values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "query.h"
#include "sock.h"
#include "util.h"

static int parse(struct query *q, const char *raw, char *buf, struct api_error *e)
{
	memset(q, 0, sizeof(*q));
	memset(e, 0, sizeof(*e));
	return query_parse(q, raw, buf, 4096, e);
}

static void test_parse(void)
{
	struct query q;
	struct api_error e;
	char buf[4096];
	char big[2048];

	CHECK_INT(parse(&q, "a=1&b=%41%42&c&d=x+y&&", buf, &e), ==, 0);
	CHECK_INT(q.n, ==, 4);
	CHECK_STR(query_get(&q, "b"), "AB");
	CHECK_STR(query_get(&q, "c"), "");
	CHECK_STR(query_get(&q, "d"), "x y");
	CHECK(query_get(&q, "zz") == NULL);
	CHECK_INT(query_check_unused(&q, &e), ==, -EINVAL);
	CHECK_STR(e.code, "unknown_parameter");
	CHECK_STR(e.parameter, "a");

	CHECK_INT(parse(&q, "a=1&a=2", buf, &e), ==, -EINVAL);
	CHECK_STR(e.parameter, "a");
	CHECK_INT(e.status, ==, 400);
	CHECK_INT(parse(&q, "a=%4", buf, &e), ==, -EINVAL);
	CHECK_INT(parse(&q, "a=%zz", buf, &e), ==, -EINVAL);
	CHECK_INT(parse(&q, "a=%00x", buf, &e), ==, -EINVAL);
	CHECK_INT(parse(&q, "a=%0a", buf, &e), ==, -EINVAL); /* control character */
	CHECK_INT(parse(&q, "%", buf, &e), ==, -EINVAL);
	CHECK_INT(parse(&q, "=x", buf, &e), ==, -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(parse(&q, big, buf, &e), ==, -EINVAL);
	CHECK_INT(e.status, ==, 414);
	/* More parameters than LD_MAX_PARAMS. */
	{
		char many[1024] = "";
		size_t o = 0;

		for (int i = 0; i < LD_MAX_PARAMS + 1; i++)
			o += (size_t)snprintf(many + o, sizeof(many) - o, "p%d=1&", i);
		CHECK_INT(parse(&q, many, buf, &e), ==, -EINVAL);
	}
}

static void test_uint(void)
{
	static const struct {
		const char *raw;
		int want;
		uint64_t value;
	} cases[] = {
		{ "port=0", 1, 0 },        { "port=65535", 1, 65535 }, { "port=80", 1, 80 },
		{ "port=65536", -EINVAL, 0 }, { "port=-1", -EINVAL, 0 }, { "port=", -EINVAL, 0 },
		{ "port=1e3", -EINVAL, 0 }, { "port=0x50", -EINVAL, 0 }, { "port=+80", -EINVAL, 0 },
		{ "port=%2080", -EINVAL, 0 }, { "port=99999999999999999999999", -EINVAL, 0 },
		{ "port=18446744073709551616", -EINVAL, 0 }, { "other=1", 0, 0 },
	};
	struct query q;
	struct api_error e;
	char buf[4096];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = 12345;

		CHECK_INT(parse(&q, cases[i].raw, buf, &e), ==, 0);
		CHECK_INT(query_uint(&q, "port", 0, 65535, &v, &e), ==, cases[i].want);
		if (cases[i].want == 1)
			CHECK_INT(v, ==, cases[i].value);
		if (cases[i].want < 0) {
			CHECK_STR(e.parameter, "port");
			CHECK_STR(e.code, "bad_parameter");
		}
	}
}

static void test_double(void)
{
	static const struct {
		const char *raw;
		int want;
		double value;
	} cases[] = {
		{ "min_age=0", 1, 0 },   { "min_age=1.5", 1, 1.5 }, { "min_age=60", 1, 60 },
		{ "min_age=-1", -EINVAL, 0 }, { "min_age=nan", -EINVAL, 0 }, { "min_age=inf", -EINVAL, 0 },
		{ "min_age=1e9", -EINVAL, 0 }, { "min_age=0x10", -EINVAL, 0 }, { "min_age=", -EINVAL, 0 },
		{ "min_age=.", -EINVAL, 0 }, { "min_age=1.2.3", -EINVAL, 0 }, { "min_age=4000000000", -EINVAL, 0 },
	};
	struct query q;
	struct api_error e;
	char buf[4096];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		double v = -7;

		CHECK_INT(parse(&q, cases[i].raw, buf, &e), ==, 0);
		CHECK_INT(query_double(&q, "min_age", 0, LD_MIN_AGE_MAX, &v, &e), ==, cases[i].want);
		if (cases[i].want == 1)
			CHECK(v == cases[i].value);
	}
}

static void test_states(void)
{
	static const struct {
		const char *raw;
		int want;
		uint32_t mask;
	} cases[] = {
		{ "state=CLOSE_WAIT", 1, 1u << SOCK_CLOSE_WAIT },
		{ "state=close_wait", 1, 1u << SOCK_CLOSE_WAIT },
		{ "state=close-wait", 1, 1u << SOCK_CLOSE_WAIT },
		{ "state=FIN_WAIT1,fin-wait-2,TIME_WAIT", 1,
		  (1u << SOCK_FIN_WAIT1) | (1u << SOCK_FIN_WAIT2) | (1u << SOCK_TIME_WAIT) },
		{ "state=closed", 1, 1u << SOCK_CLOSE },
		{ "state=listen,LISTEN", 1, 1u << SOCK_LISTEN },
		{ "state=", -EINVAL, 0 },
		{ "state=CLOSE_WAIT,", -EINVAL, 0 },
		{ "state=BOGUS", -EINVAL, 0 },
		{ "state=close wait", -EINVAL, 0 },
		{ "state=ESTABLISHEDX", -EINVAL, 0 },
	};
	struct query q;
	struct api_error e;
	char buf[4096];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint32_t m = 0;

		CHECK_INT(parse(&q, cases[i].raw, buf, &e), ==, 0);
		CHECK_INT(query_states(&q, "state", &m, &e), ==, cases[i].want);
		if (cases[i].want == 1)
			CHECK_INT(m, ==, cases[i].mask);
		else
			CHECK_STR(e.parameter, "state");
	}
}

static void test_enum(void)
{
	static const char *const fam[] = { "ipv4", "ipv6", NULL };
	struct query q;
	struct api_error e;
	char buf[4096];
	int v = -1;

	CHECK_INT(parse(&q, "family=ipv6", buf, &e), ==, 0);
	CHECK_INT(query_enum(&q, "family", fam, &v, &e), ==, 1);
	CHECK_INT(v, ==, 1);
	CHECK_INT(parse(&q, "family=IPV4", buf, &e), ==, 0);
	CHECK_INT(query_enum(&q, "family", fam, &v, &e), ==, -EINVAL);
	CHECK(strstr(e.message, "ipv4, ipv6") != NULL);
	CHECK_INT(parse(&q, "family=inet", buf, &e), ==, 0);
	CHECK_INT(query_enum(&q, "family", fam, &v, &e), ==, -EINVAL);
}

static void test_state_names(void)
{
	for (int s = 1; s < SOCK_STATE_MAX; s++) {
		const char *n = sock_state_name(s);

		CHECK_INT(sock_state_parse(n, strlen(n)), ==, s);
		CHECK_INT(sock_state_parse(sock_state_label(s), strlen(sock_state_label(s))), ==, s);
	}
	CHECK(sock_state_name(0) == NULL);
	CHECK(sock_state_name(SOCK_STATE_MAX) == NULL);
	CHECK_INT(sock_state_parse("", 0), ==, -EINVAL);
}

int main(void)
{
	test_parse();
	test_uint();
	test_double();
	test_states();
	test_enum();
	test_state_names();
	return CHECK_DONE();
}
