/* diag.h - TCP socket dumps over NETLINK_SOCK_DIAG (the interface `ss` uses). */
#ifndef LINGERD_DIAG_H
#define LINGERD_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "sock.h"

struct diag;

/*
 * Opens a NETLINK_SOCK_DIAG socket in the caller's network namespace, with a large
 * receive buffer.  Returns 0 and *out, or -errno (the socket could not be made).
 * Whether the kernel answers TCP dumps is only known at the first diag_dump().
 */
int diag_open(struct diag **out);

/*
 * Ties d to the network namespace open at ns_fd (borrowed: it must stay open while d
 * lives).  The socket that replaces one left unusable by an abandoned dump is then made
 * inside that namespace, not in the calling thread's.
 */
void diag_bind_netns(struct diag *d, int ns_fd);

/* Closes the socket and frees *d.  NULL is accepted. */
void diag_close(struct diag *d);

/*
 * Dumps every TCP socket of one family (AF_INET or AF_INET6), or of both in one walk of
 * the kernel's tables (AF_UNSPEC: the legacy TCPDIAG_GETSOCK request, which a kernel may
 * refuse with an error where the per-family request works), in every state except
 * TCP_BOUND_INACTIVE, without INET_DIAG_INFO, and appends one record per socket to out.
 * On NLM_F_DUMP_INTR the dump is retried up to LD_DUMP_RETRIES times (records of the
 * interrupted attempt are dropped); if it is still interrupted, the last attempt's
 * records are kept and *partial is set to 1.  Returns 0, -EOPNOTSUPP / -ENOENT when the
 * kernel has no TCP diag support (callers fall back to /proc), -EPROTO for a malformed
 * reply, -ENOMEM, or another -errno from the kernel.  On error out holds what it held
 * before the call.
 */
int diag_dump(struct diag *d, int family, struct sock_vec *out, int *partial);

/*
 * Dumps every TCP socket of both families: in one walk (AF_UNSPEC) while the kernel
 * accepts it, else (remembered in d) one dump per family, a kernel without IPv6 being no
 * failure.  A transient error (-ENOBUFS, -EAGAIN, -EBUSY, -EINTR) is retried once on a
 * fresh socket and then returned; it never switches d to per-family dumps.  Same contract
 * as diag_dump() otherwise.
 */
int diag_dump_all(struct diag *d, struct sock_vec *out, int *partial);

/*
 * The state of one dump being parsed.  Zero-initialise, set seq, then feed every
 * datagram received to diag_parse() until done is set.
 */
struct diag_parse_state {
	uint32_t seq;    /* sequence number of the request; other messages are skipped */
	uint16_t type;   /* type of record messages: 0 (SOCK_DIAG_BY_FAMILY) or, for the
			     reply to a legacy request, TCPDIAG_GETSOCK */
	int done;        /* NLMSG_DONE seen */
	int interrupted; /* a message carried NLM_F_DUMP_INTR */
	int error;       /* -errno from NLMSG_ERROR or an error carried by NLMSG_DONE */
};

/*
 * Parses one received datagram of a dump reply (one or more netlink messages) and
 * appends a record per inet_diag_msg to out.  Stops at NLMSG_DONE or NLMSG_ERROR and
 * records them in st.  Returns 0, -EPROTO when a message is truncated or malformed
 * (length fields out of bounds, payload shorter than inet_diag_msg, a bad attribute),
 * or -ENOMEM.  Never reads outside buf[0..len).
 */
int diag_parse(struct diag_parse_state *st, const void *buf, size_t len, struct sock_vec *out);

#endif
