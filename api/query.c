/* query.c - query-string parsing and the typed, bounded parameter validators. */
#include "query.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sock.h"
#include "util.h"

static int has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

int query_add(struct query *q, const char *key, const char *val, struct api_error *e)
{
	if (!val)
		val = "";
	if (strlen(key) > LD_MAX_PARAM_LEN || strlen(val) > LD_MAX_PARAM_LEN)
		return api_fail(e, 400, "bad_parameter", strlen(key) > 60 ? "" : key,
				"parameter name or value longer than %d bytes", LD_MAX_PARAM_LEN);
	if (!key[0])
		return api_fail(e, 400, "bad_parameter", "", "empty parameter name");
	if (has_control(key) || has_control(val))
		return api_fail(e, 400, "bad_parameter", has_control(key) ? "" : key,
				"control characters are not allowed in parameters");
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->key[i], key) == 0)
			return api_fail(e, 400, "bad_parameter", key,
					"parameter given more than once");
	if (q->n >= LD_MAX_PARAMS)
		return api_fail(e, 400, "bad_parameter", "", "more than %d parameters",
				LD_MAX_PARAMS);
	q->key[q->n] = key;
	q->val[q->n] = val;
	q->used[q->n] = 0;
	q->n++;
	return 0;
}

/* Decodes src[0..n) into dst (NUL-terminated); '+' is a space.  Returns -EINVAL on bad %. */
static int decode(const char *src, size_t n, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (src[i] == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = util_hex_digit(src[i + 1]);
			lo = util_hex_digit(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			dst[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			dst[o++] = src[i] == '+' ? ' ' : src[i];
		}
	}
	dst[o] = '\0';
	return (int)o;
}

int query_parse(struct query *q, const char *raw, char *buf, size_t cap, struct api_error *e)
{
	size_t len = strlen(raw), used = 0;
	const char *p = raw, *end = raw + len;

	if (len > LD_MAX_QUERY_LEN)
		return api_fail(e, 414, "query_too_long", "", "query string longer than %d bytes",
				LD_MAX_QUERY_LEN);
	if (cap < len + 2)
		return api_fail(e, 500, "internal", "", "query buffer too small");
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		char *k = buf + used;
		const char *v = "";
		int kl, vl;

		if (stop == p) {
			p = stop + 1;
			continue;
		}
		kl = decode(p, (size_t)((eq ? eq : stop) - p), k);
		if (kl < 0)
			return api_fail(e, 400, "bad_parameter", "", "bad percent-encoding");
		if ((size_t)kl != strlen(k))
			return api_fail(e, 400, "bad_parameter", "", "NUL byte in a parameter");
		used += (size_t)kl + 1;
		/*
		 * A bare key ("?x") takes no room for its value: decoding "" would need one byte
		 * more than the raw text has, and "x&y&z" would run past buf.
		 */
		if (eq) {
			char *vb = buf + used;

			vl = decode(eq + 1, (size_t)(stop - eq - 1), vb);
			if (vl < 0)
				return api_fail(e, 400, "bad_parameter", k, "bad percent-encoding");
			if ((size_t)vl != strlen(vb))
				return api_fail(e, 400, "bad_parameter", k,
						"NUL byte in the value");
			used += (size_t)vl + 1;
			v = vb;
		}
		if (query_add(q, k, v, e) < 0)
			return -EINVAL;
		p = stop + (amp ? 1 : 0);
	}
	return 0;
}

const char *query_get(struct query *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++) {
		if (strcmp(q->key[i], name) == 0) {
			q->used[i] = 1;
			return q->val[i];
		}
	}
	return NULL;
}

int query_check_unused(struct query *q, struct api_error *e)
{
	for (size_t i = 0; i < q->n; i++)
		if (!q->used[i])
			return api_fail(e, 400, "unknown_parameter", q->key[i],
					"this endpoint has no parameter '%s'", q->key[i]);
	return 0;
}

int query_uint(struct query *q, const char *name, uint64_t min, uint64_t max, uint64_t *out,
	       struct api_error *e)
{
	const char *v = query_get(q, name);
	uint64_t n = 0;

	if (!v)
		return 0;
	if (!*v)
		return api_fail(e, 400, "bad_parameter", name,
				"empty value; expected an integer from %llu to %llu",
				(unsigned long long)min, (unsigned long long)max);
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || p - v > 19)
			return api_fail(e, 400, "bad_parameter", name,
					"expected an integer from %llu to %llu",
					(unsigned long long)min, (unsigned long long)max);
		if (n > (UINT64_MAX - 9) / 10)
			return api_fail(e, 400, "bad_parameter", name,
					"too large; the maximum is %llu", (unsigned long long)max);
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (n < min || n > max)
		return api_fail(e, 400, "bad_parameter", name, "%llu is out of range %llu..%llu",
				(unsigned long long)n, (unsigned long long)min,
				(unsigned long long)max);
	*out = n;
	return 1;
}

int query_double(struct query *q, const char *name, double min, double max, double *out,
		 struct api_error *e)
{
	const char *v = query_get(q, name);
	char *end;
	double d;

	if (!v)
		return 0;
	/* Plain decimal only: no hex floats, no inf/nan, no leading spaces. */
	for (const char *p = v; *p; p++)
		if (!((*p >= '0' && *p <= '9') || *p == '.' || (*p == '-' && p == v)))
			return api_fail(e, 400, "bad_parameter", name,
					"expected a number from %g to %g", min, max);
	errno = 0;
	d = strtod(v, &end);
	if (!*v || *end || errno || !isfinite(d))
		return api_fail(e, 400, "bad_parameter", name, "expected a number from %g to %g",
				min, max);
	if (d < min || d > max)
		return api_fail(e, 400, "bad_parameter", name, "%s is out of range %g..%g", v, min,
				max);
	*out = d;
	return 1;
}

int query_enum(struct query *q, const char *name, const char *const *words, int *out,
	       struct api_error *e)
{
	const char *v = query_get(q, name);
	char list[160] = "";
	size_t o = 0;

	if (!v)
		return 0;
	for (int i = 0; words[i]; i++) {
		if (strcmp(v, words[i]) == 0) {
			*out = i;
			return 1;
		}
		o += (size_t)snprintf(list + o, o < sizeof(list) ? sizeof(list) - o : 0, "%s%s",
				      i ? ", " : "", words[i]);
		if (o >= sizeof(list))
			o = sizeof(list) - 1;
	}
	return api_fail(e, 400, "bad_parameter", name, "expected one of: %s", list);
}

int query_states(struct query *q, const char *name, uint32_t *mask, struct api_error *e)
{
	const char *v = query_get(q, name), *p;
	uint32_t m = 0;

	if (!v)
		return 0;
	p = v;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int st = sock_state_parse(p, len);

		if (st < 0)
			return api_fail(e, 400, "bad_parameter", name,
					"'%.*s' is not a TCP state (for example CLOSE_WAIT)",
					(int)(len > 40 ? 40 : len), p);
		m |= 1u << st;
		if (!comma)
			break;
		p = comma + 1;
	}
	*mask = m;
	return 1;
}
