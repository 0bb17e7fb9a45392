/* test_jw.c - the streaming JSON writer: escaping, UTF-8 repair, caps and balance. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jw.h"

static char *doc(struct jw *w)
{
	char *out = NULL;
	size_t len;

	if (jw_finish(w, &out, &len) < 0)
		return NULL;
	return out;
}

int main(void)
{
	struct jw w;
	char *s, *out;
	size_t len;

	jw_init(&w, 1 << 20);
	jw_obj(&w);
	jw_kstr(&w, "a", "x\"y\\z\n\t\x01");
	jw_kint(&w, "b", -5);
	jw_kuint(&w, "c", 18446744073709551615ull);
	jw_kdouble(&w, "d", 12.5, 3);
	jw_kdouble(&w, "e", 3.0, 3);
	jw_kdouble(&w, "f", NAN, 3);
	jw_kdouble(&w, "g", -0.0001, 3);
	jw_kbool(&w, "h", 1);
	jw_knull(&w, "i");
	jw_key(&w, "j");
	jw_arr(&w);
	jw_int(&w, 1);
	jw_int(&w, 2);
	jw_arr(&w);
	jw_arr_end(&w);
	jw_arr_end(&w);
	jw_obj_end(&w);
	s = doc(&w);
	CHECK_STR(s, "{\"a\":\"x\\\"y\\\\z\\n\\t\\u0001\",\"b\":-5,\"c\":18446744073709551615,"
		     "\"d\":12.5,\"e\":3,\"f\":null,\"g\":0,\"h\":true,\"i\":null,\"j\":[1,2,[]]}");
	free(s);

	/* Invalid UTF-8 becomes U+FFFD; valid multibyte text passes through. */
	jw_init(&w, 1 << 20);
	jw_str(&w, "\xed\x95\x9c \xff \xc0\xaf \xed\xa0\x80 \xf0\x9f\x98\x80 \xe2\x82");
	s = doc(&w);
	CHECK_STR(s, "\"\xed\x95\x9c \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
		     "\xf0\x9f\x98\x80 \xef\xbf\xbd\xef\xbf\xbd\"");
	free(s);

	/* The cap is hard and the error sticky. */
	jw_init(&w, 16);
	jw_arr(&w);
	for (int i = 0; i < 100; i++)
		jw_str(&w, "0123456789");
	jw_arr_end(&w);
	CHECK_INT(jw_finish(&w, &out, &len), ==, -E2BIG);

	/* Unbalanced documents are refused. */
	jw_init(&w, 1024);
	jw_obj(&w);
	CHECK_INT(jw_finish(&w, &out, &len), ==, -EINVAL);
	jw_init(&w, 1024);
	jw_arr_end(&w);
	CHECK_INT(jw_finish(&w, &out, &len), ==, -EINVAL);
	jw_init(&w, 1024);
	jw_obj(&w);
	jw_key(&w, "k");
	jw_obj_end(&w);
	CHECK_INT(jw_finish(&w, &out, &len), ==, -EINVAL);
	jw_init(&w, 1 << 16);
	for (int i = 0; i < JW_MAX_DEPTH + 2; i++)
		jw_arr(&w);
	CHECK_INT(jw_finish(&w, &out, &len), ==, -EINVAL);

	/* An empty writer yields an empty string, not NULL. */
	jw_init(&w, 16);
	CHECK_INT(jw_finish(&w, &out, &len), ==, 0);
	CHECK_INT(len, ==, 0);
	free(out);
	return CHECK_DONE();
}
