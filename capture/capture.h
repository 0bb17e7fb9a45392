/* capture.h - one sample of every TCP socket, from netlink or from /proc, whichever works. */
#ifndef LINGERD_CAPTURE_H
#define LINGERD_CAPTURE_H

#include "sock.h"

enum capture_source {
	CAPTURE_AUTO = 0,
	CAPTURE_NETLINK = 1,
	CAPTURE_PROC = 2,
};

struct capture;

/*
 * Prepares a capture.  CAPTURE_AUTO tries netlink and falls back to /proc for good when
 * the kernel does not answer TCP diag requests; CAPTURE_NETLINK and CAPTURE_PROC use
 * only that source.  Returns 0 and *out or -errno.
 */
int capture_open(struct capture **out, enum capture_source want);
void capture_close(struct capture *c);

/* The source the next sample will use (never CAPTURE_AUTO). */
enum capture_source capture_source(const struct capture *c);
/* "netlink" or "proc". */
const char *capture_source_name(enum capture_source s);
/* Parses "auto", "netlink" or "proc"; -EINVAL otherwise. */
int capture_source_parse(const char *s);

/*
 * Replaces the contents of out with every TCP socket of both families.  *partial is set
 * when a dump stayed interrupted after its retries.  Returns 0 or -errno; on error out is
 * empty.
 */
int capture_take(struct capture *c, struct sock_vec *out, int *partial);

#endif
