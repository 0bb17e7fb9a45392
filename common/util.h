/* util.h - small helpers every stage shares: the length of an array, the value of a hex digit. */
#ifndef LINGERD_UTIL_H
#define LINGERD_UTIL_H

/* The number of elements of an array; a pointer does not compile to a useful answer. */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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
