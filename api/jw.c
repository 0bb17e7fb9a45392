/* jw.c - the streaming JSON writer: escaping, UTF-8 repair and the size cap. */
#include "jw.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(struct jw *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
	w->first[0] = 1;
}

void jw_free(struct jw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

static void fail(struct jw *w, int err)
{
	if (!w->err)
		w->err = err;
}

static int reserve(struct jw *w, size_t n)
{
	size_t cap;
	char *b;

	if (w->err)
		return -1;
	if (n > w->max - w->len) {
		fail(w, -E2BIG);
		return -1;
	}
	if (w->len + n + 1 <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n + 1)
		cap *= 2;
	b = realloc(w->buf, cap);
	if (!b) {
		fail(w, -ENOMEM);
		return -1;
	}
	w->buf = b;
	w->cap = cap;
	return 0;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (reserve(w, n) < 0)
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

/* Writes the comma that separates values, unless a key was just written. */
static void sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (!w->first[w->depth])
		put(w, ",", 1);
	w->first[w->depth] = 0;
}

static void open_(struct jw *w, char c)
{
	sep(w);
	if (w->depth + 1 >= JW_MAX_DEPTH) {
		fail(w, -EINVAL);
		return;
	}
	put(w, &c, 1);
	w->first[++w->depth] = 1;
}

static void close_(struct jw *w, char c)
{
	if (w->depth == 0 || w->after_key) {
		fail(w, -EINVAL);
		return;
	}
	w->depth--;
	put(w, &c, 1);
}

void jw_obj(struct jw *w)
{
	open_(w, '{');
}

void jw_obj_end(struct jw *w)
{
	close_(w, '}');
}

void jw_arr(struct jw *w)
{
	open_(w, '[');
}

void jw_arr_end(struct jw *w)
{
	close_(w, ']');
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not valid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void string(struct jw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	put(w, "\"", 1);
	while (i < n && !w->err) {
		unsigned char c = s[i];
		size_t ul;
		char esc[8];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			/* Copy plain ASCII in runs: the common case. */
			run = i;
			while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
				i++;
			put(w, str + run, i - run);
			continue;
		}
		switch (c) {
		case '"':
			put(w, "\\\"", 2);
			i++;
			continue;
		case '\\':
			put(w, "\\\\", 2);
			i++;
			continue;
		case '\n':
			put(w, "\\n", 2);
			i++;
			continue;
		case '\t':
			put(w, "\\t", 2);
			i++;
			continue;
		case '\r':
			put(w, "\\r", 2);
			i++;
			continue;
		default:
			break;
		}
		if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(w, esc, 6);
			i++;
			continue;
		}
		ul = utf8_len(s + i, n - i);
		if (ul == 0) {
			put(w, "\xef\xbf\xbd", 3);
			i++;
		} else {
			put(w, str + i, ul);
			i += ul;
		}
	}
	put(w, "\"", 1);
}

void jw_key(struct jw *w, const char *key)
{
	if (w->after_key) {
		fail(w, -EINVAL);
		return;
	}
	sep(w);
	string(w, key, strlen(key));
	put(w, ":", 1);
	w->after_key = 1;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	sep(w);
	string(w, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	if (!s) {
		jw_null(w);
		return;
	}
	jw_strn(w, s, strlen(s));
}

void jw_int(struct jw *w, int64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%lld", (long long)v);

	sep(w);
	put(w, b, (size_t)n);
}

void jw_uint(struct jw *w, uint64_t v)
{
	char b[32];
	int n = snprintf(b, sizeof(b), "%llu", (unsigned long long)v);

	sep(w);
	put(w, b, (size_t)n);
}

void jw_text_utf8(struct jw *w, const char *s, const char *(*esc)(char c))
{
	for (size_t i = 0, n = strlen(s); i < n;) {
		size_t ul = utf8_len((const unsigned char *)s + i, n - i);
		const char *e = ul == 1 && esc ? esc(s[i]) : NULL;

		if (!ul) {
			jw_text(w, "\xef\xbf\xbd", 3);
			i++;
			continue;
		}
		if (e)
			jw_text(w, e, strlen(e));
		else
			jw_text(w, s + i, ul);
		i += ul;
	}
}

void jw_double(struct jw *w, double v, int decimals)
{
	char b[64];
	int n;

	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	if (decimals < 0 || decimals > 9)
		decimals = 3;
	n = snprintf(b, sizeof(b), "%.*f", decimals, v);
	if (n < 0 || (size_t)n >= sizeof(b)) {
		/* Past about 1e53 fixed notation does not fit b: exponent form is JSON too. */
		n = snprintf(b, sizeof(b), "%.17g", v);
	} else if (decimals > 0) {
		/* Trim trailing zeros so 12.500 reads 12.5 and 3.000 reads 3. */
		while (n > 1 && b[n - 1] == '0')
			n--;
		if (b[n - 1] == '.')
			n--;
	}
	if (n == 2 && b[0] == '-' && b[1] == '0')
		b[0] = '0', n = 1;
	sep(w);
	put(w, b, (size_t)n);
}

void jw_bool(struct jw *w, int v)
{
	sep(w);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
	sep(w);
	put(w, "null", 4);
}

void jw_raw(struct jw *w, const char *json, size_t n)
{
	sep(w);
	put(w, json, n);
}

void jw_text(struct jw *w, const char *s, size_t n)
{
	put(w, s, n);
}

void jw_textf(struct jw *w, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		fail(w, -EINVAL);
		return;
	}
	if ((size_t)n < sizeof(small)) {
		put(w, small, (size_t)n);
		return;
	}
	if (reserve(w, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(w->buf + w->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w->len += (size_t)n;
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_str(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kuint(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_uint(w, v);
}

void jw_kdouble(struct jw *w, const char *key, double v, int decimals)
{
	jw_key(w, key);
	jw_double(w, v, decimals);
}

void jw_kbool(struct jw *w, const char *key, int v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_knull(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_null(w);
}

int jw_finish(struct jw *w, char **out, size_t *len)
{
	if (!w->err && (w->depth != 0 || w->after_key))
		fail(w, -EINVAL);
	if (!w->err && !w->buf)
		put(w, "", 0);
	if (w->err) {
		int err = w->err;

		jw_free(w);
		return err;
	}
	*out = w->buf;
	*len = w->len;
	w->buf = NULL;
	return 0;
}
