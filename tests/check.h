/* check.h - assertions for the C unit tests that print both operands and keep counting. */
#ifndef LINGERD_CHECK_H
#define LINGERD_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_passes;

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (cond) {                                                            \
			check_passes++;                                                \
		} else {                                                               \
			check_failures++;                                              \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                      \
	} while (0)

#define CHECK_INT(a, op, b)                                                            \
	do {                                                                           \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);        \
		if (check_a_ op check_b_) {                                            \
			check_passes++;                                                \
		} else {                                                               \
			check_failures++;                                              \
			fprintf(stderr, "%s:%d: %s %s %s failed: %lld vs %lld\n", __FILE__, \
				__LINE__, #a, #op, #b, check_a_, check_b_);            \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *check_a_ = (a), *check_b_ = (b);                           \
		if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {         \
			check_passes++;                                                \
		} else {                                                               \
			check_failures++;                                              \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" vs \"%s\"\n",      \
				__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",  \
				check_b_ ? check_b_ : "(null)");                        \
		}                                                                      \
	} while (0)

/* Ends main(): prints the tally and returns the exit status. */
#define CHECK_DONE()                                                                   \
	(printf("%d checks passed, %d failed\n", check_passes, check_failures),         \
	 check_failures ? 1 : 0)

#endif
