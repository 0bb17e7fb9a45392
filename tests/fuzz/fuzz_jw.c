/*
 * fuzz_jw.c - the streaming JSON writer.  The input is a little program: each byte picks
 * an operation (open, close, key, string, number, ...) and strings are taken from the
 * bytes that follow, so process names, kernel text and arbitrary doubles all reach jw.
 *
 * Byte 0 picks the mode.  In checked mode the harness only asks for a well-formed document
 * (it inserts keys, balances containers, stops at the depth limit) with a generous cap,
 * so jw_finish() must succeed.  In free mode anything goes, including unbalanced calls and
 * tiny caps, and jw must fail cleanly.  Whenever jw_finish() succeeds, the output must be
 * valid UTF-8 and parse whole with cJSON; a lone string of valid UTF-8 without NUL must
 * come back byte for byte.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>

#include "fuzz.h"
#include "jw.h"

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

/* A string: a length byte, then that many bytes (fewer at the end of the input). */
static size_t take_str(struct rd *r, const uint8_t **s)
{
	size_t len = take(r);

	if (len > r->n)
		len = r->n;
	*s = r->p;
	r->p += len;
	r->n -= len;
	return len;
}

static void check_doc(const char *out, size_t len)
{
	const char *end = NULL;
	cJSON *doc;

	FUZZ_CHECK_INT(strlen(out), ==, len);
	FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)out, len));
	doc = cJSON_ParseWithLengthOpts(out, len, &end, 0);
	if (!doc)
		fprintf(stderr, "jw wrote invalid JSON: %.*s\n", (int)len, out);
	FUZZ_CHECK(doc != NULL);
	FUZZ_CHECK(end == out + len);
	cJSON_Delete(doc);
}

/* One string alone: the repair and escaping, checked by reading it back. */
static void lone_string(const uint8_t *data, size_t size)
{
	struct jw w;
	char *out = NULL, *copy = fuzz_bytes(data, size);
	size_t len;
	cJSON *doc;

	jw_init(&w, 16 * size + 64);
	jw_strn(&w, copy, size);
	FUZZ_CHECK_INT(jw_finish(&w, &out, &len), ==, 0);
	check_doc(out, len);
	doc = cJSON_ParseWithLength(out, len);
	FUZZ_CHECK(cJSON_IsString(doc));
	if (fuzz_utf8_ok(data, size) && !memchr(data, '\0', size)) {
		FUZZ_CHECK_INT(strlen(doc->valuestring), ==, size);
		FUZZ_CHECK(memcmp(doc->valuestring, data, size) == 0);
	}
	cJSON_Delete(doc);
	free(out);
	free(copy);
}

static const char *const raws[] = { "{}", "[]", "\"x\"", "1.5", "null", "[1,{\"a\":[]}]", "-0" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	uint8_t mode = take(&r), stack[JW_MAX_DEPTH + 2]; /* 1 object, 2 array */
	int checked = !(mode & 1), depth = 0, after_key = 0, top_done = 0, rc;
	size_t max = checked ? (size_t)1 << 24 : (size_t)take(&r) * 16 + (mode >> 1);
	struct jw w;
	char *out = NULL;
	size_t len, ops = 0;

	lone_string(data, size);
	jw_init(&w, max);
	while (r.n && ops++ < 4096) {
		uint8_t op = take(&r) % 12;
		const uint8_t *s;
		size_t sl;
		char *str;

		if (checked) {
			/* A complete top-level value ends the document. */
			if (top_done)
				break;
			/* Closing what is open, or a value where one may stand. */
			if (op == 2 && (depth == 0 || after_key))
				op = 9;
			if ((op == 0 || op == 1) && depth + 2 >= JW_MAX_DEPTH)
				op = 9;
			if (op != 2 && op != 3 && depth && stack[depth] == 1 && !after_key) {
				jw_key(&w, "k");
				after_key = 1;
			}
			if (op == 3 && (!depth || stack[depth] != 1 || after_key))
				op = 4;
		}
		switch (op) {
		case 0:
		case 1:
			if (op == 0)
				jw_obj(&w);
			else
				jw_arr(&w);
			if (checked)
				stack[++depth] = op == 0 ? 1 : 2;
			after_key = 0;
			continue;
		case 2:
			if (checked && stack[depth] == 1)
				jw_obj_end(&w);
			else if (checked)
				jw_arr_end(&w);
			else if (take(&r) & 1)
				jw_obj_end(&w);
			else
				jw_arr_end(&w);
			if (checked && --depth == 0)
				top_done = 1;
			continue;
		case 3:
			sl = take_str(&r, &s);
			str = fuzz_cstr(s, sl);
			jw_key(&w, str);
			free(str);
			after_key = 1;
			continue;
		case 4:
			sl = take_str(&r, &s);
			str = fuzz_cstr(s, sl);
			jw_str(&w, str);
			free(str);
			break;
		case 5: {
			int64_t v = 0;

			for (int i = 0; i < 8; i++)
				v = (int64_t)((uint64_t)v << 8 | take(&r));
			jw_int(&w, v);
			break;
		}
		case 6: {
			uint64_t v = 0;

			for (int i = 0; i < 8; i++)
				v = v << 8 | take(&r);
			jw_uint(&w, v);
			break;
		}
		case 7: {
			uint64_t bits = 0;
			double d;
			int decimals = (int)(take(&r) % 16) - 3;

			for (int i = 0; i < 8; i++)
				bits = bits << 8 | take(&r);
			memcpy(&d, &bits, sizeof(d));
			jw_double(&w, d, decimals);
			break;
		}
		case 8:
			jw_bool(&w, take(&r) & 1);
			break;
		case 9:
			jw_null(&w);
			break;
		case 10: {
			const char *j = raws[take(&r) % (sizeof(raws) / sizeof(raws[0]))];

			jw_raw(&w, j, strlen(j));
			break;
		}
		default:
			/* Bytes with NULs inside, as a length-delimited string. */
			sl = take_str(&r, &s);
			str = fuzz_bytes(s, sl);
			jw_strn(&w, str, sl);
			free(str);
			break;
		}
		after_key = 0;
		if (checked && depth == 0)
			top_done = 1;
	}
	if (checked) {
		if (after_key)
			jw_null(&w);
		while (depth > 0) {
			if (stack[depth--] == 1)
				jw_obj_end(&w);
			else
				jw_arr_end(&w);
			top_done = 1;
		}
		if (!top_done)
			jw_null(&w);
	}
	rc = jw_finish(&w, &out, &len);
	if (checked)
		FUZZ_CHECK_INT(rc, ==, 0);
	else
		FUZZ_CHECK(rc == 0 || rc == -E2BIG || rc == -EINVAL);
	if (rc == 0) {
		FUZZ_CHECK(len <= max);
		FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)out, len));
		/* Free mode may write several top-level values ("1,2"); only checked mode is JSON. */
		if (checked)
			check_doc(out, len);
		free(out);
	}
	return 0;
}
