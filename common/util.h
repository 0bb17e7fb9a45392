/* util.h - small helpers every stage shares: array length, hex digits, errno descriptions. */
#ifndef LINGERD_UTIL_H
#define LINGERD_UTIL_H

/* The number of elements of an array; a pointer does not compile to a useful answer. */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#include <string.h>

/*
 * The description of errno value err ("No such file or directory"), like strerror() but
 * safe from any thread (strerror() may write a shared buffer for unknown values); never NULL.
 */
static inline const char *util_strerror(int err)
{
	const char *desc = strerrordesc_np(err);

	return desc ? desc : "Unknown error";
}

/* The value of one hexadecimal digit in either case, or -1 when c is not one. */
static inline int util_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
