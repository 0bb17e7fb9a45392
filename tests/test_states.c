/* test_states.c - the state explanations: every state, both languages, topics, valid UTF-8, no leaks. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sock.h"
#include "states.h"
#include "util.h"

static const char *const order[] = {
	"CLOSED",     "LISTEN",     "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSING",    "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK",
};

static const char *const text_fields[] = {
	"title",  "meaning", "enters_on", "leaves_on", "duration_bound", "problem_when",
	"remedy", "kernel",  "reached_by_text",
};

/* Keys whose string values are codes or names and stay identical in every language. */
static const char *const code_keys[] = {
	"state",   "reached_by", "bounded", "from",  "segment", "active_state", "passive_state",
	"setting", "sends",      "snippet", "name",  "settings", "counters",   "next",
	"affects",
};

static const char *const required_sysctls[] = {
	"net.ipv4.tcp_fin_timeout",     "net.ipv4.tcp_max_tw_buckets",
	"net.ipv4.tcp_tw_reuse",        "net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_max_orphans",     "net.ipv4.tcp_orphan_retries",
	"net.core.somaxconn",           "net.ipv4.tcp_max_syn_backlog",
	"net.ipv4.tcp_syn_retries",     "net.ipv4.tcp_synack_retries",
	"net.ipv4.tcp_keepalive_time",  "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_retries2",
};

static bool is_code_key(const char *key)
{
	for (size_t i = 0; key && i < ARRAY_SIZE(code_keys); i++)
		if (strcmp(key, code_keys[i]) == 0)
			return true;
	return false;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned c = *p, n, cp;

		if (c < 0x80) {
			p++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1, cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2, cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3, cp = c & 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		p += n + 1;
	}
	return true;
}

/* True when s holds a Hangul syllable (U+AC00..U+D7A3: lead bytes 0xEA..0xED). */
static bool has_hangul(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p >= 0xEA && *p <= 0xED && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
			unsigned cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);

			if (cp >= 0xAC00 && cp <= 0xD7A3)
				return true;
		}
	}
	return false;
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static bool nonempty(const char *s)
{
	return s && s[0];
}

static bool array_has(const cJSON *arr, const char *want)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
			return true;
	return false;
}

/* Every element is a non-empty string; returns the count or -1. */
static int string_array_len(const cJSON *arr)
{
	const cJSON *it;
	int n = 0;

	if (!cJSON_IsArray(arr))
		return -1;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !nonempty(it->valuestring))
			return -1;
		n++;
	}
	return n;
}

/* Serializes, checks UTF-8, the absence of markup, and that the text parses back. */
static void check_serializes(const cJSON *obj)
{
	char *txt = cJSON_PrintUnformatted(obj);
	cJSON *back;

	CHECK(txt != NULL);
	if (!txt)
		return;
	CHECK(utf8_valid(txt));
	CHECK(strchr(txt, '<') == NULL);
	back = cJSON_Parse(txt);
	CHECK(back != NULL);
	CHECK(cJSON_Compare(back, obj, 1));
	cJSON_Delete(back);
	free(txt);
}

static bool expect_lingering(int state)
{
	return state == SOCK_FIN_WAIT1 || state == SOCK_FIN_WAIT2 || state == SOCK_CLOSING ||
	       state == SOCK_TIME_WAIT || state == SOCK_CLOSE_WAIT || state == SOCK_LAST_ACK;
}

static void check_state_object(const cJSON *o, int state, enum states_lang lang)
{
	static const char *const roles[] = {"active_closer", "passive_closer", "both", "listener",
					    "connector"};
	const char *rb = str_of(o, "reached_by"), *bounded = str_of(o, "bounded");
	const cJSON *num = cJSON_GetObjectItemCaseSensitive(o, "number");
	const cJSON *ling = cJSON_GetObjectItemCaseSensitive(o, "lingering");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(o, "max_seconds");
	const cJSON *next = cJSON_GetObjectItemCaseSensitive(o, "next");
	const cJSON *it;
	bool role_ok = false;
	int n;

	CHECK_STR(str_of(o, "state"), sock_state_name(state));
	CHECK(cJSON_IsNumber(num));
	CHECK_INT(num ? num->valueint : -1, ==, state);
	CHECK(cJSON_IsBool(ling));
	CHECK_INT(cJSON_IsTrue(ling), ==, expect_lingering(state));
	for (size_t i = 0; rb && i < ARRAY_SIZE(roles); i++)
		role_ok |= strcmp(rb, roles[i]) == 0;
	CHECK(role_ok);
	CHECK(bounded && (strcmp(bounded, "yes") == 0 || strcmp(bounded, "no") == 0 ||
			  strcmp(bounded, "orphan_only") == 0));
	if (state == SOCK_TIME_WAIT) {
		CHECK(cJSON_IsNumber(max));
		CHECK_INT(max ? max->valueint : 0, ==, 60);
	} else {
		CHECK(cJSON_IsNull(max));
	}
	for (size_t i = 0; i < ARRAY_SIZE(text_fields); i++) {
		const char *v = str_of(o, text_fields[i]);

		CHECK(nonempty(v));
		if (v && lang == STATES_LANG_KO && !has_hangul(v))
			fprintf(stderr, "no Hangul in %s.%s\n", sock_state_name(state),
				text_fields[i]);
		CHECK(v && has_hangul(v) == (lang == STATES_LANG_KO));
	}
	n = string_array_len(cJSON_GetObjectItemCaseSensitive(o, "settings"));
	CHECK(n >= 0);
	if (state != SOCK_CLOSE && state != SOCK_CLOSE_WAIT)
		CHECK_INT(n, >, 0);
	CHECK_INT(string_array_len(cJSON_GetObjectItemCaseSensitive(o, "counters")), >, 0);
	CHECK_INT(string_array_len(next), >, 0);
	cJSON_ArrayForEach(it, next) {
		/* Every successor is a real state, spelled canonically. */
		int s = sock_state_parse(it->valuestring, strlen(it->valuestring));

		CHECK_INT(s, >, 0);
		CHECK_STR(it->valuestring, sock_state_name(s));
		CHECK_INT(s, !=, state);
	}
}

/*
 * Walks the English and Korean trees together: same keys in the same order, same
 * types and lengths; code values identical; localized values different, with Hangul
 * only in Korean.
 */
static void compare_langs(const cJSON *en, const cJSON *ko, const char *key, bool code)
{
	CHECK_INT(en->type & 0xFF, ==, ko->type & 0xFF);
	if ((en->type & 0xFF) != (ko->type & 0xFF))
		return;
	if (cJSON_IsObject(en) || cJSON_IsArray(en)) {
		const cJSON *a = en->child, *b = ko->child;

		for (; a && b; a = a->next, b = b->next) {
			if (cJSON_IsObject(en))
				CHECK_STR(a->string, b->string);
			compare_langs(a, b, cJSON_IsObject(en) ? a->string : key,
				      cJSON_IsObject(en) ? is_code_key(a->string) : code);
		}
		CHECK(a == NULL && b == NULL);
	} else if (cJSON_IsString(en)) {
		CHECK(nonempty(en->valuestring) && nonempty(ko->valuestring));
		if (key && (strcmp(key, "lang") == 0 || strcmp(key, "default") == 0))
			return;
		if (code) {
			CHECK_STR(en->valuestring, ko->valuestring);
		} else {
			if (strcmp(en->valuestring, ko->valuestring) == 0)
				fprintf(stderr, "untranslated %s: %s\n", key, en->valuestring);
			CHECK(strcmp(en->valuestring, ko->valuestring) != 0);
			CHECK(has_hangul(ko->valuestring));
			CHECK(!has_hangul(en->valuestring));
		}
	} else if (cJSON_IsNumber(en)) {
		CHECK(en->valuedouble == ko->valuedouble);
	} else if (cJSON_IsBool(en)) {
		CHECK_INT(cJSON_IsTrue(en), ==, cJSON_IsTrue(ko));
	}
}

static void test_lang_parse(void)
{
	CHECK_INT(states_lang_parse("en"), ==, STATES_LANG_EN);
	CHECK_INT(states_lang_parse("EN"), ==, STATES_LANG_EN);
	CHECK_INT(states_lang_parse("eN"), ==, STATES_LANG_EN);
	CHECK_INT(states_lang_parse("ko"), ==, STATES_LANG_KO);
	CHECK_INT(states_lang_parse("KO"), ==, STATES_LANG_KO);
	CHECK_INT(states_lang_parse("Ko"), ==, STATES_LANG_KO);
	CHECK_INT(states_lang_parse(NULL), ==, -EINVAL);
	CHECK_INT(states_lang_parse(""), ==, -EINVAL);
	CHECK_INT(states_lang_parse("e"), ==, -EINVAL);
	CHECK_INT(states_lang_parse("eng"), ==, -EINVAL);
	CHECK_INT(states_lang_parse("en-US"), ==, -EINVAL);
	CHECK_INT(states_lang_parse("kr"), ==, -EINVAL);
	CHECK_INT(states_lang_parse("fr"), ==, -EINVAL);
	CHECK_INT(states_lang_parse(" en"), ==, -EINVAL);
	CHECK_INT(states_lang_parse("en "), ==, -EINVAL);
	CHECK_INT(states_lang_parse("\xea\xb0\x80"), ==, -EINVAL);
}

static void test_one_bounds(void)
{
	static const int bad[] = {0, -1, SOCK_STATE_MAX, 12, 13, 255};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(states_one(bad[i], STATES_LANG_EN) == NULL);
		CHECK(states_one(bad[i], STATES_LANG_KO) == NULL);
	}
	CHECK(states_one(SOCK_ESTABLISHED, (enum states_lang)7) == NULL);
	CHECK(states_all((enum states_lang)7) == NULL);
}

static void test_each_state(void)
{
	for (int s = 1; s < SOCK_STATE_MAX; s++) {
		cJSON *en = states_one(s, STATES_LANG_EN);
		cJSON *ko = states_one(s, STATES_LANG_KO);

		CHECK(en != NULL && ko != NULL);
		if (en && ko) {
			check_state_object(en, s, STATES_LANG_EN);
			check_state_object(ko, s, STATES_LANG_KO);
			compare_langs(en, ko, NULL, false);
			check_serializes(en);
			check_serializes(ko);
		}
		cJSON_Delete(en);
		cJSON_Delete(ko);
	}
}

/* The facts an operator acts on are stated, and the removed sysctl is never advised. */
static void test_facts(void)
{
	cJSON *tw = states_one(SOCK_TIME_WAIT, STATES_LANG_EN);
	cJSON *cw = states_one(SOCK_CLOSE_WAIT, STATES_LANG_EN);
	cJSON *fw2 = states_one(SOCK_FIN_WAIT2, STATES_LANG_EN);
	cJSON *cl = states_one(SOCK_CLOSE, STATES_LANG_EN);
	const char *s;

	CHECK(tw && cw && fw2 && cl);
	if (tw && cw && fw2 && cl) {
		s = str_of(tw, "duration_bound");
		CHECK(s && strstr(s, "60 s") && strstr(s, "TCP_TIMEWAIT_LEN"));
		s = str_of(tw, "remedy");
		CHECK(s && strstr(s, "tcp_tw_reuse") && strstr(s, "ip_local_port_range"));
		CHECK(s && strstr(s, "tcp_tw_recycle") && strstr(s, "removed"));
		CHECK(s && !strstr(s, "tcp_tw_recycle=1"));
		s = str_of(tw, "problem_when");
		CHECK(s && strstr(s, "EADDRNOTAVAIL") && strstr(s, "TCPTimeWaitOverflow"));
		CHECK_STR(str_of(tw, "reached_by"), "active_closer");
		CHECK_STR(str_of(cw, "reached_by"), "passive_closer");
		CHECK_STR(str_of(cw, "bounded"), "no");
		CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cw, "settings")), ==, 0);
		s = str_of(cw, "duration_bound");
		CHECK(s && strstr(s, "close()"));
		s = str_of(cw, "remedy");
		CHECK(s && strstr(s, "read()") && strstr(s, "close()"));
		CHECK_STR(str_of(fw2, "bounded"), "orphan_only");
		CHECK(array_has(cJSON_GetObjectItemCaseSensitive(fw2, "settings"),
				"net.ipv4.tcp_fin_timeout"));
		CHECK_STR(str_of(cl, "state"), "CLOSED");
		CHECK_INT(cJSON_GetObjectItemCaseSensitive(cl, "number")->valueint, ==, 7);
	}
	cJSON_Delete(tw);
	cJSON_Delete(cw);
	cJSON_Delete(fw2);
	cJSON_Delete(cl);
}

static void check_handshake(const cJSON *topics, const char *key, int steps)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(topics, key);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(t, "steps");
	const cJSON *st;

	CHECK(cJSON_IsObject(t));
	CHECK(nonempty(str_of(t, "title")) && nonempty(str_of(t, "text")));
	CHECK(cJSON_IsArray(arr));
	CHECK_INT(cJSON_GetArraySize(arr), ==, steps);
	cJSON_ArrayForEach(st, arr) {
		CHECK(nonempty(str_of(st, "text")) && nonempty(str_of(st, "segment")));
		CHECK(sock_state_parse(str_of(st, "active_state"),
				       strlen(str_of(st, "active_state"))) > 0);
		CHECK(sock_state_parse(str_of(st, "passive_state"),
				       strlen(str_of(st, "passive_state"))) > 0);
	}
}

static void check_topics(const cJSON *topics)
{
	const cJSON *lg = cJSON_GetObjectItemCaseSensitive(topics, "so_linger");
	const cJSON *cases = cJSON_GetObjectItemCaseSensitive(lg, "cases");
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(topics, "so_reuseaddr");
	const cJSON *msl = cJSON_GetObjectItemCaseSensitive(topics, "two_msl");
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(topics, "sysctls");
	const cJSON *it;

	CHECK(cJSON_IsObject(topics));
	check_handshake(topics, "four_way_close", 4);
	check_handshake(topics, "three_way_open", 3);

	CHECK(nonempty(str_of(msl, "title")) && nonempty(str_of(msl, "text")));
	CHECK_INT(string_array_len(cJSON_GetObjectItemCaseSensitive(msl, "reasons")), ==, 2);
	CHECK_INT(cJSON_GetObjectItemCaseSensitive(msl, "linux_time_wait_seconds")->valueint, ==,
		  60);

	CHECK(nonempty(str_of(lg, "title")) && nonempty(str_of(lg, "text")));
	CHECK_INT(cJSON_GetArraySize(cases), ==, 3);
	if (cJSON_GetArraySize(cases) == 3) {
		static const char *const settings[] = {"l_onoff=0", "l_onoff=1, l_linger>0",
						       "l_onoff=1, l_linger=0"};
		static const char *const sends[] = {"FIN", "FIN", "RST"};

		for (int i = 0; i < 3; i++) {
			const cJSON *c = cJSON_GetArrayItem(cases, i);

			CHECK_STR(str_of(c, "setting"), settings[i]);
			CHECK_STR(str_of(c, "sends"), sends[i]);
			CHECK_INT(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "time_wait")), ==,
				  i != 2);
			CHECK(nonempty(str_of(c, "title")) && nonempty(str_of(c, "close")) &&
			      nonempty(str_of(c, "unsent_data")) && nonempty(str_of(c, "advice")));
		}
		CHECK(array_has(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cases, 2),
								 "counters"),
				"TCPAbortOnData"));
	}

	CHECK(nonempty(str_of(ra, "title")) && nonempty(str_of(ra, "text")) &&
	      nonempty(str_of(ra, "snippet")));
	CHECK(strstr(str_of(ra, "snippet"), "SO_REUSEADDR") != NULL);
	CHECK_INT(string_array_len(cJSON_GetObjectItemCaseSensitive(ra, "does")), >, 0);
	CHECK_INT(string_array_len(cJSON_GetObjectItemCaseSensitive(ra, "does_not")), >, 0);

	CHECK(cJSON_IsArray(sc));
	cJSON_ArrayForEach(it, sc) {
		CHECK(nonempty(str_of(it, "name")) && nonempty(str_of(it, "default")) &&
		      nonempty(str_of(it, "what")) && nonempty(str_of(it, "advice")));
		CHECK(strncmp(str_of(it, "name"), "net.", 4) == 0);
		CHECK_INT(string_array_len(cJSON_GetObjectItemCaseSensitive(it, "affects")), >, 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(required_sysctls); i++) {
		bool found = false;

		cJSON_ArrayForEach(it, sc)
			found |= strcmp(str_of(it, "name"), required_sysctls[i]) == 0;
		if (!found)
			fprintf(stderr, "sysctl missing: %s\n", required_sysctls[i]);
		CHECK(found);
	}
}

/* A state's settings and a sysctl's "affects" point at each other. */
static void check_cross_links(const cJSON *states, const cJSON *sysctls)
{
	const cJSON *st, *sc, *name;

	cJSON_ArrayForEach(st, states) {
		cJSON_ArrayForEach(name, cJSON_GetObjectItemCaseSensitive(st, "settings")) {
			bool found = false;

			cJSON_ArrayForEach(sc, sysctls)
				if (strcmp(str_of(sc, "name"), name->valuestring) == 0)
					found |= array_has(
						cJSON_GetObjectItemCaseSensitive(sc, "affects"),
						str_of(st, "state"));
			if (!found)
				fprintf(stderr, "%s: %s not linked back\n", str_of(st, "state"),
					name->valuestring);
			CHECK(found);
		}
	}
	cJSON_ArrayForEach(sc, sysctls) {
		cJSON_ArrayForEach(name, cJSON_GetObjectItemCaseSensitive(sc, "affects")) {
			bool found = false;

			cJSON_ArrayForEach(st, states)
				if (strcmp(str_of(st, "state"), name->valuestring) == 0)
					found |= array_has(
						cJSON_GetObjectItemCaseSensitive(st, "settings"),
						str_of(sc, "name"));
			if (!found)
				fprintf(stderr, "%s: %s not linked back\n", str_of(sc, "name"),
					name->valuestring);
			CHECK(found);
		}
	}
}

static void check_all(const cJSON *all, enum states_lang lang)
{
	const cJSON *states = cJSON_GetObjectItemCaseSensitive(all, "states");
	const cJSON *topics = cJSON_GetObjectItemCaseSensitive(all, "topics");

	CHECK_STR(str_of(all, "lang"), lang == STATES_LANG_KO ? "ko" : "en");
	CHECK(cJSON_IsArray(states));
	CHECK_INT(cJSON_GetArraySize(states), ==, ARRAY_SIZE(order));
	for (int i = 0; i < cJSON_GetArraySize(states) && i < (int)ARRAY_SIZE(order); i++) {
		const cJSON *st = cJSON_GetArrayItem(states, i);
		int s = sock_state_parse(order[i], strlen(order[i]));
		cJSON *one = states_one(s, lang);

		CHECK_STR(str_of(st, "state"), order[i]);
		check_state_object(st, s, lang);
		/* The list carries the same objects states_one() returns. */
		CHECK(one && cJSON_Compare(st, one, 1));
		cJSON_Delete(one);
	}
	check_topics(topics);
	check_cross_links(states, cJSON_GetObjectItemCaseSensitive(topics, "sysctls"));
	check_serializes(all);
}

static void test_all(void)
{
	cJSON *en = states_all(STATES_LANG_EN);
	cJSON *ko = states_all(STATES_LANG_KO);

	CHECK(en != NULL && ko != NULL);
	if (en && ko) {
		check_all(en, STATES_LANG_EN);
		check_all(ko, STATES_LANG_KO);
		compare_langs(en, ko, NULL, false);
	}
	cJSON_Delete(en);
	cJSON_Delete(ko);
}

/* Allocation-failure injection: the n-th cJSON allocation and all after it fail. */
static long alloc_budget = -1;

static void *failing_malloc(size_t n)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(n);
}

/*
 * Fails each allocation in turn until the build succeeds: every error path must return
 * NULL and release what it took (LeakSanitizer reports any leak at exit).
 */
static void test_out_of_memory(void)
{
	cJSON_Hooks hooks = {.malloc_fn = failing_malloc, .free_fn = free};

	cJSON_InitHooks(&hooks);
	for (int lang = STATES_LANG_EN; lang <= STATES_LANG_KO; lang++) {
		long n, fails = 0;

		for (n = 0;; n++) {
			cJSON *all;

			alloc_budget = n;
			all = states_all((enum states_lang)lang);
			alloc_budget = -1;
			if (all) {
				cJSON_Delete(all);
				break;
			}
			fails++;
		}
		CHECK_INT(fails, ==, n);
		CHECK_INT(n, >, 100);
		for (int s = 1; s < SOCK_STATE_MAX; s++) {
			for (n = 0;; n++) {
				cJSON *one;

				alloc_budget = n;
				one = states_one(s, (enum states_lang)lang);
				alloc_budget = -1;
				if (one) {
					cJSON_Delete(one);
					break;
				}
			}
			CHECK_INT(n, >, 10);
		}
	}
	cJSON_InitHooks(NULL);
}

int main(void)
{
	test_lang_parse();
	test_one_bounds();
	test_each_state();
	test_facts();
	test_all();
	test_out_of_memory();
	return CHECK_DONE();
}
