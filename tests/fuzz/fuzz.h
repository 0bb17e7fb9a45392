/* fuzz.h - what every harness shares: the libFuzzer entry point and loud, exact assertions. */
#ifndef LINGERD_FUZZ_H
#define LINGERD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The one function a harness defines.  libFuzzer calls it with every input it makes up;
 * replay.c calls it with every file of a corpus.  It returns 0; a broken promise of the
 * code under test aborts, so both drivers report it as a finding.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, \
				#cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

#define FUZZ_CHECK_INT(a, op, b)                                                          \
	do {                                                                              \
		long long fuzz_a_ = (long long)(a), fuzz_b_ = (long long)(b);             \
		if (!(fuzz_a_ op fuzz_b_)) {                                              \
			fprintf(stderr, "%s:%d: %s %s %s failed: %lld vs %lld\n", __FILE__,  \
				__LINE__, #a, #op, #b, fuzz_a_, fuzz_b_);                 \
			abort();                                                          \
		}                                                                         \
	} while (0)

/*
 * A NUL-terminated heap copy of the input, sized exactly, so that reading one byte past
 * the string is an ASan report rather than a silent read of the fuzzer's buffer.  The
 * caller frees it.  Embedded NULs are kept: C-string callees simply stop at the first.
 */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* An exact-size heap copy without a terminator, for (pointer, length) parsers. */
static inline char *fuzz_bytes(const uint8_t *data, size_t size)
{
	char *s = malloc(size ? size : 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	return s;
}

/* Non-zero when s[0..n) is valid UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static inline int fuzz_utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1fu;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0fu;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07u;
		else
			return 0;
		if (len > n - i)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3fu);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

#endif
