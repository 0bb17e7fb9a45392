/*
 * fuzz_label.c - metrics_label_value(), the escaper for Prometheus label values that come
 * from outside (network namespace names on /metrics).  The escaped value is put in a whole
 * sample line, which must be well-formed exposition text and valid UTF-8 whatever the input,
 * and unescape to the input exactly when that was valid UTF-8.
 */
#include "fuzz.h"
#include "jw.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *v = fuzz_cstr(data, size), *out = NULL, *back;
	size_t vl = strlen(v), len, o = 0, i;
	struct jw w;

	jw_init(&w, 4 * vl + 64);
	jw_text(&w, "m{l=\"", 5);
	metrics_label_value(&w, v);
	jw_text(&w, "\"} 1\n", 5);
	FUZZ_CHECK_INT(jw_finish(&w, &out, &len), ==, 0);
	/* One line: every line feed was escaped. */
	FUZZ_CHECK(memchr(out, '\n', len) == out + len - 1);
	/* Between the quotes, only \\, \" and \n escapes, and no bare quote. */
	back = malloc(len + 1);
	if (!back)
		abort();
	for (i = 5; i < len && out[i] != '"'; i++) {
		if (out[i] == '\\') {
			FUZZ_CHECK(i + 1 < len);
			i++;
			FUZZ_CHECK(out[i] == '\\' || out[i] == '"' || out[i] == 'n');
			back[o++] = out[i] == 'n' ? '\n' : out[i];
		} else {
			back[o++] = out[i];
		}
	}
	FUZZ_CHECK(i < len && strcmp(out + i, "\"} 1\n") == 0);
	/* The exposition is UTF-8 whatever the name held; valid text comes back exactly. */
	FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)out, len));
	if (fuzz_utf8_ok((const unsigned char *)v, vl)) {
		FUZZ_CHECK_INT(o, ==, vl);
		FUZZ_CHECK(memcmp(back, v, vl) == 0);
	}
	free(back);
	free(out);
	free(v);
	return 0;
}
