/* jw.h - a small streaming JSON writer with a hard size cap, for long arrays and series. */
#ifndef LINGERD_JW_H
#define LINGERD_JW_H

#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 32

/*
 * A writer appends to one growable buffer.  Errors are sticky: after the first one (out of
 * memory, over the cap, nesting too deep or unbalanced) every call does nothing and
 * jw_finish() reports it, so callers write a whole document and check once.
 */
struct jw {
	char *buf;
	size_t len;
	size_t cap;
	size_t max; /* hard cap on len */
	int err;    /* 0 or -ENOMEM / -E2BIG / -EINVAL */
	int depth;
	uint8_t first[JW_MAX_DEPTH]; /* nothing written yet at this depth */
	uint8_t after_key;
	const char *type; /* media type of the document when it is not JSON (CSV, text) */
};

void jw_init(struct jw *w, size_t max);
/* Frees the buffer (unless jw_finish handed it out). */
void jw_free(struct jw *w);
/*
 * Ends the document: returns 0 and hands over the NUL-terminated buffer (*out, *len; the
 * caller frees it), or the sticky error (the buffer is freed then).
 */
int jw_finish(struct jw *w, char **out, size_t *len);

void jw_obj(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr(struct jw *w);
void jw_arr_end(struct jw *w);
/* Writes a member name; the next value call writes its value. */
void jw_key(struct jw *w, const char *key);

/*
 * Strings are escaped; bytes that are not valid UTF-8 become U+FFFD, so every document is
 * valid UTF-8 JSON whatever a process name or the kernel contains.
 */
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
/* Non-finite values are written as null; decimals as needed up to `decimals`. */
void jw_double(struct jw *w, double v, int decimals);
void jw_bool(struct jw *w, int v);
void jw_null(struct jw *w);
/* Appends an already-serialised JSON value (for example from cJSON) as one value. */
void jw_raw(struct jw *w, const char *json, size_t n);

/*
 * Plain text, for documents that are not JSON (the Prometheus exposition): appended as is,
 * with no separator and no escaping.  jw_textf formats like printf.
 */
void jw_text(struct jw *w, const char *s, size_t n);
void jw_textf(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Writes the text s for a format other than JSON (CSV, Prometheus labels) that must be UTF-8:
 * a byte that is not part of valid UTF-8 becomes U+FFFD, as jw_str does, and an ASCII byte
 * for which esc returns a string is written as that string.
 */
void jw_text_utf8(struct jw *w, const char *s, const char *(*esc)(char c));

/* Shorthands: a member name and its value. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kuint(struct jw *w, const char *key, uint64_t v);
void jw_kdouble(struct jw *w, const char *key, double v, int decimals);
void jw_kbool(struct jw *w, const char *key, int v);
void jw_knull(struct jw *w, const char *key);

#endif
