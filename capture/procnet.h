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
int procnet_parse(const char *text, size_t len, int family, long ticks_per_s, struct sock_vec *out);

/*
 * Lines in the kernel's exact format take a fast path; any other line is read by the
 * general parser, which alone decides what is malformed, so results never depend on the
 * path.  1 by default; tests set 0 (general parser only) to compare the two, and 2 (fast
 * path only: a declined line fails with -EPROTO) to prove that real lines take it.
 */
extern int procnet_fast;

/*
 * Reads path (for example "/proc/net/tcp6") and parses it as procnet_parse() does, a
 * piece at a time as it is read, so memory stays small whatever the file's size.  Returns
 * 0, -errno from open/read, -EFBIG above LD_PROC_MAX_BYTES, -EPROTO for a line longer
 * than 64 KiB, or procnet_parse's errors; on error out is as it was.
 */
int procnet_read(const char *path, int family, struct sock_vec *out);

#endif
