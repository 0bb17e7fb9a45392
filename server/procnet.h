/* procnet.h - the /proc/net/tcp and /proc/net/tcp6 text tables, the fallback capture source. */
#ifndef LINGERD_PROCNET_H
#define LINGERD_PROCNET_H

#include <stddef.h>

#include "sock.h"

/*
 * Parses the whole text of /proc/net/tcp (family AF_INET) or /proc/net/tcp6 (AF_INET6)
 * and appends one record per line.  Addresses are converted from the kernel's per-32-bit
 * word host-order hex to network byte order; tm->when is converted from clock ticks
 * (ticks_per_s, normally sysconf(_SC_CLK_TCK)) to milliseconds; cookie is 0 and
 * shutdown SOCK_SHUT_UNKNOWN.  The header line is skipped.  A malformed line (bad hex,
 * missing column, state out of range) makes the call fail with -EPROTO and leaves out
 * as it was; -ENOMEM when memory runs out.  Never reads outside text[0..len).
 */
int procnet_parse(const char *text, size_t len, int family, long ticks_per_s,
		  struct sock_vec *out);

/*
 * Reads path (for example "/proc/net/tcp6") whole and parses it as procnet_parse() does.
 * Returns 0, -errno from open/read, -EFBIG above LD_PROC_MAX_BYTES, or procnet_parse's
 * errors.
 */
int procnet_read(const char *path, int family, struct sock_vec *out);

#endif
