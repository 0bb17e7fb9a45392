/* diag.c - TCP socket dumps over NETLINK_SOCK_DIAG, parsed straight into the record vector. */
#include "diag.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "limits.h"

/*
 * Every TCP state 1..11 plus the kernel-internal TCP_NEW_SYN_RECV (12), so request
 * sockets come back (reported as SYN_RECV).  Bit 13, TCP_BOUND_INACTIVE, is left out on
 * purpose: it adds sockets that are bound but are not connections.
 */
#define DIAG_TCP_NEW_SYN_RECV 12
#define DIAG_STATES (((1u << SOCK_STATE_MAX) - 2u) | (1u << DIAG_TCP_NEW_SYN_RECV))

struct diag {
	int fd;
	int ns_fd;          /* namespace new sockets are made in (borrowed), -1: the caller's */
	int per_family;     /* the kernel refused the one-walk dump: one dump per family */
	int stale;          /* a dump was abandoned mid-way: its rest may still be queued */
	uint32_t seq;       /* last sequence number sent */
	unsigned char *buf; /* LD_NETLINK_BUFSZ bytes, reused by every dump */
};

/*
 * Makes a netlink socket with the largest receive buffer we can get.  SO_RCVBUFFORCE
 * (root or CAP_NET_ADMIN) ignores rmem_max; SO_RCVBUF is the unprivileged fallback and is
 * silently capped.  A small buffer only costs speed (the dump is flow-controlled), so
 * neither failing is an error.
 */
static int diag_socket(void)
{
	int fd, sz = LD_NETLINK_RCVBUF;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* nl_pid 0: the kernel picks a unique port id for us. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

struct socket_job {
	int ns_fd;
	int fd; /* the socket, or -errno */
};

static void *socket_inside(void *arg)
{
	struct socket_job *j = arg;

	j->fd = setns(j->ns_fd, CLONE_NEWNET) < 0 ? -errno : diag_socket();
	return NULL;
}

/*
 * A socket in the namespace d belongs to.  setns() moves only the calling thread, so a
 * short-lived thread enters the namespace; the socket stays bound to it afterwards.
 */
static int diag_socket_for(const struct diag *d)
{
	struct socket_job j = { .ns_fd = d->ns_fd, .fd = -EINVAL };
	pthread_t t;
	int err;

	if (d->ns_fd < 0)
		return diag_socket();
	err = pthread_create(&t, NULL, socket_inside, &j);
	if (err)
		return -err;
	pthread_join(t, NULL);
	return j.fd;
}

void diag_bind_netns(struct diag *d, int ns_fd)
{
	d->ns_fd = ns_fd;
}

int diag_open(struct diag **out)
{
	struct diag *d;
	int fd;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->buf = malloc(LD_NETLINK_BUFSZ);
	if (!d->buf) {
		free(d);
		return -ENOMEM;
	}
	fd = diag_socket();
	if (fd < 0) {
		free(d->buf);
		free(d);
		return fd;
	}
	d->fd = fd;
	d->ns_fd = -1;
	*out = d;
	return 0;
}

void diag_close(struct diag *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d->buf);
	free(d);
}

/*
 * Fills one record from a SOCK_DIAG_BY_FAMILY message payload of plen bytes.  Returns 1
 * when a record was appended, 0 when the socket is skipped (a state or family we do not
 * know), or -errno.  Fields are copied out with memcpy because buf may have any
 * alignment (a replayed fixture, a caller's buffer).
 */
static int diag_parse_msg(const unsigned char *p, size_t plen, struct sock_vec *out)
{
	struct inet_diag_msg m;
	struct sock_rec *r;
	size_t off;
	uint16_t alen = 0;
	unsigned state;
	uint8_t shut = SOCK_SHUT_UNKNOWN; /* TIME_WAIT and request sockets carry no attributes */

	if (plen < sizeof(m))
		return -EPROTO;
	memcpy(&m, p, sizeof(m));
	state = m.idiag_state;
	if (state == DIAG_TCP_NEW_SYN_RECV)
		state = SOCK_SYN_RECV;
	/* A newer kernel's state we cannot name: skip it rather than lose the whole dump. */
	if (state == 0 || state >= SOCK_STATE_MAX)
		return 0;
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
		return 0;

	/*
	 * Validate the attributes before taking a slot, so an error leaves out unchanged.  The
	 * last attribute's padding may be missing; stepping past plen simply ends the walk.
	 */
	for (off = NLMSG_ALIGN(sizeof(m)); off < plen; off += RTA_ALIGN((size_t)alen)) {
		uint16_t type;

		if (plen - off < sizeof(struct rtattr))
			return -EPROTO;
		memcpy(&alen, p + off, sizeof(alen));
		memcpy(&type, p + off + sizeof(alen), sizeof(type));
		if (alen < sizeof(struct rtattr) || alen > plen - off)
			return -EPROTO;
		if (type == INET_DIAG_SHUTDOWN) {
			if (alen < RTA_LENGTH(1))
				return -EPROTO;
			shut = p[off + RTA_LENGTH(0)];
		}
	}

	/* The vector is reused from one sample to the next: it has room nearly always. */
	if (out->n < out->cap)
		r = &out->v[out->n++];
	else if (!(r = sock_vec_grow(out)))
		return -ENOMEM;
	r->cookie = (uint64_t)m.id.idiag_cookie[0] | (uint64_t)m.id.idiag_cookie[1] << 32;
	r->inode = m.idiag_inode;
	r->netns = 0;
	r->uid = m.idiag_uid;
	r->rqueue = m.idiag_rqueue;
	r->wqueue = m.idiag_wqueue;
	r->expires_ms = m.idiag_expires;
	r->retrans = m.idiag_retrans;
	r->lport = ntohs(m.id.idiag_sport);
	r->rport = ntohs(m.id.idiag_dport);
	r->family = m.idiag_family;
	r->state = (uint8_t)state;
	r->timer = m.idiag_timer;
	r->shutdown = shut;
	if (m.idiag_family == AF_INET) {
		memset(r->laddr, 0, sizeof(r->laddr));
		memset(r->raddr, 0, sizeof(r->raddr));
		memcpy(r->laddr, m.id.idiag_src, 4);
		memcpy(r->raddr, m.id.idiag_dst, 4);
	} else {
		memcpy(r->laddr, m.id.idiag_src, 16);
		memcpy(r->raddr, m.id.idiag_dst, 16);
	}
	return 1;
}

int diag_parse(struct diag_parse_state *st, const void *buf, size_t len, struct sock_vec *out)
{
	const unsigned char *p = buf;
	size_t base = out->n, off = 0;
	int err = 0;

	while (off < len && !st->done) {
		struct nlmsghdr h;
		size_t left = len - off, plen;
		const unsigned char *pl;

		if (left < sizeof(h)) {
			err = -EPROTO;
			goto out;
		}
		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > left) {
			err = -EPROTO;
			goto out;
		}
		pl = p + off + NLMSG_HDRLEN;
		plen = h.nlmsg_len - NLMSG_HDRLEN;
		/* The last message of a datagram may lack its padding. */
		off = NLMSG_ALIGN(h.nlmsg_len) >= left ? len : off + NLMSG_ALIGN(h.nlmsg_len);

		/* A leftover of an earlier request on this socket, not part of this dump. */
		if (h.nlmsg_seq != st->seq)
			continue;
		if (h.nlmsg_flags & NLM_F_DUMP_INTR)
			st->interrupted = 1;

		/* A compat dump's records carry the request's type, TCPDIAG_GETSOCK. */
		if (h.nlmsg_type == (st->type ? st->type : SOCK_DIAG_BY_FAMILY)) {
			int rc = diag_parse_msg(pl, plen, out);

			if (rc < 0) {
				err = rc;
				goto out;
			}
			continue;
		}
		switch (h.nlmsg_type) {
		case NLMSG_DONE: {
			int e = 0;

			/* Since Linux 4.x DONE carries an int: < 0 when the dump itself failed. */
			if (plen >= sizeof(e))
				memcpy(&e, pl, sizeof(e));
			if (e < 0)
				st->error = e;
			st->done = 1;
			break;
		}
		case NLMSG_ERROR: {
			int e;

			if (plen < sizeof(e)) {
				err = -EPROTO;
				goto out;
			}
			memcpy(&e, pl, sizeof(e));
			if (e > 0) {
				err = -EPROTO;
				goto out;
			}
			/* error 0 is an ACK, which a dump without NLM_F_ACK never asked for. */
			if (e < 0) {
				st->error = e;
				st->done = 1;
			}
			break;
		}
		default:
			/* NLMSG_NOOP and anything newer: nothing for us. */
			break;
		}
	}
out:
	if (err < 0)
		out->n = base;
	return err;
}

/* Sends one whole request to the kernel.  0 or -errno. */
static int send_request(struct diag *d, const void *req, size_t len)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	ssize_t n;

	do
		n = sendto(d->fd, req, len, 0, (struct sockaddr *)&to, sizeof(to));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

/*
 * The legacy request (TCPDIAG_GETSOCK, struct inet_diag_req): the kernel serves it with
 * family AF_UNSPEC, so one walk of the TCP hash tables returns both families.  Two
 * SOCK_DIAG_BY_FAMILY dumps walk them twice, and the IPv6 walk of a host with 100k IPv4
 * sockets alone costs 17-19 ms to return nothing.
 */
static int diag_request_compat(struct diag *d)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req r;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = TCPDIAG_GETSOCK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = ++d->seq,
		},
		.r = {
			.idiag_family = AF_INET, /* ignored by a dump */
			.idiag_ext = 0,
			.idiag_states = DIAG_STATES,
		},
	};
	return send_request(d, &req, sizeof(req));
}

static int diag_request(struct diag *d, int family)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {
			.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = ++d->seq,
		},
		.r = {
			.sdiag_family = (uint8_t)family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_ext = 0, /* no INET_DIAG_INFO: it triples the reply size */
			.idiag_states = DIAG_STATES,
		},
	};
	return send_request(d, &req, sizeof(req));
}

/* One full dump: request, then datagrams until DONE or ERROR.  Appends to out. */
static int diag_dump_once(struct diag *d, int family, struct sock_vec *out, int *interrupted)
{
	struct diag_parse_state st = { 0 };
	int err;

	err = family == AF_UNSPEC ? diag_request_compat(d) : diag_request(d, family);
	if (err < 0)
		return err;
	/* From here on an early return leaves the rest of the reply queued. */
	d->stale = 1;
	st.seq = d->seq;
	st.type = family == AF_UNSPEC ? TCPDIAG_GETSOCK : SOCK_DIAG_BY_FAMILY;
	while (!st.done) {
		struct sockaddr_nl from;
		socklen_t flen = sizeof(from);
		ssize_t n;

		/* MSG_TRUNC makes recvfrom report the datagram's real length. */
		n = recvfrom(d->fd, d->buf, LD_NETLINK_BUFSZ, MSG_TRUNC, (struct sockaddr *)&from,
			     &flen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPROTO;
		/* Cannot happen with today's kernels (dump datagrams stay under 32 KiB). */
		if ((size_t)n > LD_NETLINK_BUFSZ)
			return -EMSGSIZE;
		/* Only the kernel (port id 0) may answer; anything else is not ours to parse. */
		if (flen < sizeof(from) || from.nl_family != AF_NETLINK || from.nl_pid != 0)
			continue;
		err = diag_parse(&st, d->buf, (size_t)n, out);
		if (err < 0)
			return err;
	}
	d->stale = 0;
	*interrupted = st.interrupted;
	return st.error;
}

int diag_dump(struct diag *d, int family, struct sock_vec *out, int *partial)
{
	size_t base = out->n;
	int err = 0;

	if (family != AF_INET && family != AF_INET6 && family != AF_UNSPEC)
		return -EINVAL;
	/*
	 * The kernel answers a new dump with EBUSY while an old one is unfinished on the
	 * socket, so after an abandoned dump start over on a fresh socket.
	 */
	if (d->stale || d->fd < 0) {
		int fd = diag_socket_for(d);

		if (fd < 0)
			return fd;
		if (d->fd >= 0)
			close(d->fd);
		d->fd = fd;
		d->stale = 0;
	}
	for (int attempt = 0;; attempt++) {
		int interrupted = 0;

		/* Records of an interrupted attempt may hold duplicates: drop them. */
		out->n = base;
		err = diag_dump_once(d, family, out, &interrupted);
		if (err < 0)
			goto out;
		if (!interrupted)
			break;
		if (attempt == LD_DUMP_RETRIES) {
			if (partial)
				*partial = 1;
			break;
		}
	}
out:
	if (err < 0)
		out->n = base;
	return err;
}

/* Errors of one attempt (a receive buffer overrun, a busy socket), not of the request. */
static int transient(int err)
{
	return err == -ENOBUFS || err == -EAGAIN || err == -EBUSY || err == -EINTR;
}

int diag_dump_all(struct diag *d, struct sock_vec *out, int *partial)
{
	int err;

	if (!d->per_family) {
		/* Both families in one walk of the kernel's tables: a fifth less than two. */
		err = diag_dump(d, AF_UNSPEC, out, partial);
		if (transient(err))
			err = diag_dump(d, AF_UNSPEC, out, partial); /* on a fresh socket */
		if (err == 0 || err == -ENOMEM || transient(err))
			return err;
		/* The kernel refused the request: the per-family dumps decide, for good. */
		d->per_family = 1;
		if (partial)
			*partial = 0;
	}
	err = diag_dump(d, AF_INET, out, partial);
	if (err < 0)
		return err;
	/* A kernel without IPv6 has no tcp6 table to dump: that is not a failure. */
	err = diag_dump(d, AF_INET6, out, partial);
	if (err == -EAFNOSUPPORT || err == -ENOENT)
		err = 0;
	return err;
}
