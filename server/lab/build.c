/* build.c - the lab's scenarios: one builder for each TCP state, and the port layout. */
#include "lab_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

const char *const lab_owner_names[] = {
	[OWN_LAB] = "lab",
	[OWN_LEAKER] = "leaker",
	[OWN_KERNEL] = "kernel",
};

/*
 * Adds a socket the lab now owns (fd closed by cleanup).  remote NULL: ask the socket.
 * On failure the fd is closed here, so callers never leak it.
 */
static struct lab_sock *lab_add(struct lab *lab, int fd, enum lab_scn scn, int state,
				const char *role, const struct lab_addr *remote)
{
	struct lab_sock *s;

	if (lab->n == lab->cap) {
		lab_close_abort(fd);
		return NULL;
	}
	s = &lab->socks[lab->n++];
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->scn = scn;
	s->state = state;
	s->role = role;
	s->owner = OWN_LAB;
	s->expires_s = -1;
	lab_addr_local(fd, &s->local);
	if (remote)
		s->remote = *remote;
	else if (lab_addr_remote(fd, &s->remote) < 0)
		s->remote.family = s->local.family; /* a listener: the zero address, port 0 */
	return s;
}

/* Adds the kernel-held far end of a connection we hold the near end of. */
static struct lab_sock *lab_add_peer(struct lab *lab, const struct lab_sock *of, int state,
				     const char *role, int expires_s)
{
	struct lab_sock *s;

	if (lab->n == lab->cap)
		return NULL;
	s = &lab->socks[lab->n++];
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->scn = of->scn;
	s->state = state;
	s->role = role;
	s->owner = OWN_KERNEL;
	s->expires_s = expires_s;
	s->local = of->remote;
	s->remote = of->local;
	return s;
}

/* Closes our fd gracefully so that the kernel carries the socket on alone. */
static void lab_orphan(struct lab_sock *s, int expires_s)
{
	close(s->fd);
	s->fd = -1;
	s->owner = OWN_KERNEL;
	s->expires_s = expires_s;
}

int lab_family(const struct lab *lab, int fi)
{
	return lab->fams[fi];
}

/*
 * Opens the scenario's listener on its layout port (BASE + scenario, or ephemeral).  All
 * are opened before the first connect: a port with a bound listener is never picked as
 * an ephemeral client port, so our own clients cannot squat a port we are about to bind.
 */
int lab_reserve(struct lab *lab, int fi, enum lab_scn scn)
{
	int backlog = scn == SCN_SYN_SENT ? 0 : LAB_BACKLOG;
	int defer_s = scn == SCN_SYN_RECV ? LAB_DEFER_ASK_S : 0;

	return lab_listener_open(lab_family(lab, fi), &lab->port[scn][fi], backlog, 1, 0, defer_s,
				 &lab->lfd[scn][fi]);
}

/* Closes the listeners no state needs; their accepted sockets live on without them. */
void lab_release_listeners(struct lab *lab)
{
	for (int k = 0; k < SCN_MAX; k++)
		for (int fi = 0; fi < 2; fi++) {
			if (lab->lfd[k][fi] >= 0)
				close(lab->lfd[k][fi]);
			lab->lfd[k][fi] = -1;
		}
}

/*
 * Connects to the scenario listener and accepts, adding both ends.  small: the client
 * gets a tiny receive window and the server a tiny send buffer, so the server can fill
 * the window quickly.
 */
static int pair_add(struct lab *lab, int fi, enum lab_scn scn, int lfd, int small, int sstate,
		    int cstate, struct lab_sock **sp, struct lab_sock **cp)
{
	int family = lab_family(lab, fi), cfd = -1, sfd = -1, ret;

	ret = lab_connect_start(family, lab->port[scn][fi], small ? LAB_SMALL_BUF : 0, 0, &cfd);
	if (!ret)
		ret = lab_connect_wait(cfd, LAB_STEP_MS);
	if (!ret)
		ret = lab_accept_wait(lfd, LAB_STEP_MS, &sfd);
	if (!ret && small)
		ret = lab_set_int(sfd, SOL_SOCKET, SO_SNDBUF, LAB_SMALL_BUF);
	if (ret) {
		lab_close_abort(cfd);
		lab_close_abort(sfd);
		return ret;
	}
	*sp = lab_add(lab, sfd, scn, sstate, "server", NULL);
	if (!*sp) {
		lab_close_abort(cfd);
		return -ENOSPC;
	}
	*cp = lab_add(lab, cfd, scn, cstate, "client", NULL);
	return *cp ? 0 : -ENOSPC;
}

static int build_listen(struct lab *lab, int fi, enum lab_scn scn)
{
	/* N listeners share one port through SO_REUSEPORT, so the layout stays N-free. */
	for (int i = 0; i < lab->count; i++) {
		int fd, ret;

		ret = lab_listener_open(lab_family(lab, fi), &lab->port[scn][fi], LAB_BACKLOG, 1, 1,
					0, &fd);
		if (ret)
			return ret;
		if (!lab_add(lab, fd, scn, SOCK_LISTEN, "listener", NULL))
			return -ENOSPC;
	}
	return 0;
}

static int build_established(struct lab *lab, int fi, enum lab_scn scn)
{
	struct lab_sock *s, *c;
	int lfd = lab->lfd[scn][fi], ret = 0;

	for (int i = 0; i < lab->count && !ret; i++)
		ret = pair_add(lab, fi, scn, lfd, 0, SOCK_ESTABLISHED, SOCK_ESTABLISHED, &s, &c);
	return ret;
}

/*
 * SYN_SENT: a listener with backlog 0 whose accept queue is full drops every SYN
 * (ListenOverflows), so the client keeps retransmitting.  TCP_SYNCNT 127 stretches that
 * from about 2 minutes to hours.
 */
static int build_syn_sent(struct lab *lab, int fi, enum lab_scn scn)
{
	int family = lab_family(lab, fi), lfd = lab->lfd[scn][fi], fd, ret;
	struct lab_sock *l, *c;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	struct lab_addr target;
	unsigned fillers;

	lab->lfd[scn][fi] = -1; /* this listener stays: the sockets list owns it now */
	l = lab_add(lab, lfd, scn, SOCK_LISTEN, "listener", NULL);
	if (!l)
		return -ENOSPC;
	/* A listener's tcpi_sacked is its backlog; the queue is full at backlog + 1. */
	if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	fillers = ti.tcpi_sacked + 1;
	if (fillers > LAB_FILLERS_MAX)
		return -EOVERFLOW;
	for (unsigned j = 0; j < fillers; j++) {
		int64_t end;

		ret = lab_connect_start(family, l->local.port, 0, 0, &fd);
		if (ret)
			return ret;
		c = lab_add(lab, fd, scn, SOCK_ESTABLISHED, "filler", &l->local);
		if (!c)
			return -ENOSPC;
		ret = lab_connect_wait(fd, LAB_STEP_MS);
		if (ret)
			return ret;
		if (!lab_add_peer(lab, c, SOCK_ESTABLISHED, "queued", -1))
			return -ENOSPC;
		/* The child joins the queue when our ACK lands: wait, or the next SYN gets in. */
		for (end = lab_now_ms() + LAB_STEP_MS;; lab_sleep_ms(1)) {
			len = sizeof(ti);
			if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
				return -errno;
			if (ti.tcpi_unacked >= j + 1)
				break;
			if (lab_now_ms() >= end)
				return -ETIMEDOUT;
		}
	}
	target = l->local;
	for (int i = 0; i < lab->count; i++) {
		ret = lab_connect_start(family, target.port, 0, LAB_SYNCNT, &fd);
		if (ret)
			return ret;
		c = lab_add(lab, fd, scn, SOCK_SYN_SENT, "client", &target);
		if (!c)
			return -ENOSPC;
		c->expires_s = LAB_SYN_SENT_LIFE_S;
	}
	return 0;
}

/*
 * SYN_RECV: with TCP_DEFER_ACCEPT the listener drops the client's bare ACK and keeps the
 * request socket until data arrives or the deferral (capped at 255 retransmits) ends.
 * The client, which got the SYN-ACK, is ESTABLISHED and sends nothing.
 */
static int build_syn_recv(struct lab *lab, int fi, enum lab_scn scn)
{
	int family = lab_family(lab, fi), lfd = lab->lfd[scn][fi], fd, ret;
	socklen_t len = sizeof(int);
	struct lab_sock *l, *c;

	lab->lfd[scn][fi] = -1; /* this listener stays: the sockets list owns it now */
	l = lab_add(lab, lfd, scn, SOCK_LISTEN, "listener", NULL);
	if (!l)
		return -ENOSPC;
	if (getsockopt(lfd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &lab->defer_s, &len) < 0)
		return -errno;
	for (int i = 0; i < lab->count; i++) {
		ret = lab_connect_start(family, l->local.port, 0, 0, &fd);
		if (ret)
			return ret;
		c = lab_add(lab, fd, scn, SOCK_ESTABLISHED, "client", &l->local);
		if (!c)
			return -ENOSPC;
		ret = lab_connect_wait(fd, LAB_STEP_MS);
		if (ret)
			return ret;
		if (!lab_add_peer(lab, c, SOCK_SYN_RECV, "request", lab->defer_s))
			return -ENOSPC;
	}
	return 0;
}

/*
 * FIN_WAIT_1: the server fills the window of a client that never reads, then shuts its
 * side; the FIN waits behind the unsent data.  Held by fd it lasts as long as the client
 * answers window probes; orphaned by close() the probes give up after a few minutes.
 */
static int build_fin_wait_1(struct lab *lab, int fi, enum lab_scn scn)
{
	struct lab_sock *s, *c;
	int lfd = lab->lfd[scn][fi], ret = 0;

	for (int i = 0; i < lab->count && !ret; i++) {
		ret = pair_add(lab, fi, scn, lfd, 1, SOCK_FIN_WAIT1, SOCK_ESTABLISHED, &s, &c);
		if (!ret)
			ret = lab_fill_window(s->fd, NULL);
		if (ret)
			break;
		if (scn == SCN_FIN_WAIT_1_ORPHAN)
			lab_orphan(s, LAB_FIN_WAIT_1_ORPHAN_S);
		else if (shutdown(s->fd, SHUT_WR) < 0)
			ret = -errno;
	}
	return ret;
}

/*
 * FIN_WAIT_2: the server's FIN is acked, the client never closes (so it is CLOSE_WAIT).
 * After shutdown(SHUT_WR) the fd keeps it forever; after close() the kernel keeps it for
 * tcp_fin_timeout as a timewait socket whose substate is FIN_WAIT_2.
 */
static int build_fin_wait_2(struct lab *lab, int fi, enum lab_scn scn)
{
	struct lab_sock *s, *c;
	int lfd = lab->lfd[scn][fi], ret = 0;

	for (int i = 0; i < lab->count && !ret; i++) {
		ret = pair_add(lab, fi, scn, lfd, 0, SOCK_FIN_WAIT2, SOCK_CLOSE_WAIT, &s, &c);
		if (ret)
			break;
		if (scn == SCN_FIN_WAIT_2_ORPHAN)
			lab_orphan(s, lab->fin_timeout_s);
		else if (shutdown(s->fd, SHUT_WR) < 0)
			ret = -errno;
		if (!ret)
			ret = lab_wait_state(c->fd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
	}
	return ret;
}

/*
 * TIME_WAIT on the server's (listener's) port: the server closes first, then the client;
 * the client's socket disappears after its LAST_ACK is acked, the server's stays 60 s.
 */
static int build_time_wait(struct lab *lab, int fi, enum lab_scn scn)
{
	int family = lab_family(lab, fi), lfd = lab->lfd[scn][fi], cfd = -1, sfd = -1, ret = 0;
	struct lab_sock *s;

	for (int i = 0; i < lab->count; i++) {
		ret = lab_connect_start(family, lab->port[scn][fi], 0, 0, &cfd);
		if (!ret)
			ret = lab_connect_wait(cfd, LAB_STEP_MS);
		if (!ret)
			ret = lab_accept_wait(lfd, LAB_STEP_MS, &sfd);
		if (ret)
			break;
		s = lab_add(lab, sfd, scn, SOCK_TIME_WAIT, "server", NULL);
		sfd = -1;
		if (!s) {
			ret = -ENOSPC;
			break;
		}
		lab_orphan(s, LAB_TIME_WAIT_S);
		ret = lab_wait_state(cfd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
		if (ret)
			break;
		close(cfd); /* a graceful close: its FIN turns the server's socket to TIME_WAIT */
		cfd = -1;
	}
	lab_close_abort(cfd);
	return ret;
}

/*
 * CLOSE_WAIT: the client sends FIN (shutdown, so it stays FIN_WAIT_2 by fd) and the
 * server never closes.  Variants: the server read the EOF (receive queue empty: the
 * classic leak), the server left data and FIN unread, or a separate process holds it.
 */
static int build_close_wait(struct lab *lab, int fi, enum lab_scn scn)
{
	static const char data[LAB_UNREAD_BYTES];
	struct lab_sock *s, *c;
	int lfd = lab->lfd[scn][fi], ret = 0;

	for (int i = 0; i < lab->count && !ret; i++) {
		char b;

		ret = pair_add(lab, fi, scn, lfd, 0, SOCK_CLOSE_WAIT, SOCK_FIN_WAIT2, &s, &c);
		if (ret)
			break;
		if (scn == SCN_CLOSE_WAIT_UNREAD &&
		    send(c->fd, data, sizeof(data), MSG_NOSIGNAL) != (ssize_t)sizeof(data)) {
			ret = errno ? -errno : -EIO;
			break;
		}
		if (shutdown(c->fd, SHUT_WR) < 0) {
			ret = -errno;
			break;
		}
		ret = lab_wait_state(s->fd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
		if (!ret && scn != SCN_CLOSE_WAIT_UNREAD && recv(s->fd, &b, 1, 0) != 0)
			ret = -EPROTO; /* the FIN is in: the read must be EOF */
	}
	return ret;
}

/*
 * LAST_ACK: the client sends FIN first (server CLOSE_WAIT), then the server fills the
 * client's window and shuts down; its FIN waits behind the data the client never reads.
 */
static int build_last_ack(struct lab *lab, int fi, enum lab_scn scn)
{
	struct lab_sock *s, *c;
	int lfd = lab->lfd[scn][fi], ret = 0;

	for (int i = 0; i < lab->count && !ret; i++) {
		ret = pair_add(lab, fi, scn, lfd, 1, SOCK_LAST_ACK, SOCK_FIN_WAIT2, &s, &c);
		if (ret)
			break;
		if (shutdown(c->fd, SHUT_WR) < 0) {
			ret = -errno;
			break;
		}
		ret = lab_wait_state(s->fd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
		if (!ret)
			ret = lab_fill_window(s->fd, NULL);
		if (!ret && shutdown(s->fd, SHUT_WR) < 0)
			ret = -errno;
		if (!ret)
			ret = lab_wait_state(s->fd, SOCK_LAST_ACK, LAB_STEP_MS);
	}
	return ret;
}

/*
 * CLOSING (simultaneous close): the server's FIN is stuck behind data in FIN_WAIT_1 when
 * the client's FIN arrives; the server acks it and moves to CLOSING, where it stays
 * because its own FIN can never be sent, so never acked.
 */
static int build_closing(struct lab *lab, int fi, enum lab_scn scn)
{
	struct lab_sock *s, *c;
	int lfd = lab->lfd[scn][fi], ret = 0;

	for (int i = 0; i < lab->count && !ret; i++) {
		ret = pair_add(lab, fi, scn, lfd, 1, SOCK_CLOSING, SOCK_FIN_WAIT2, &s, &c);
		if (!ret)
			ret = lab_fill_window(s->fd, NULL);
		if (ret)
			break;
		if (shutdown(s->fd, SHUT_WR) < 0) {
			ret = -errno;
			break;
		}
		ret = lab_wait_state(s->fd, SOCK_FIN_WAIT1, LAB_STEP_MS);
		if (!ret && shutdown(c->fd, SHUT_WR) < 0)
			ret = -errno;
		if (!ret)
			ret = lab_wait_state(s->fd, SOCK_CLOSING, LAB_STEP_MS);
	}
	return ret;
}

/* The port layout: scenario k listens on BASE + k for both families. */
const struct scn_def lab_scn_defs[SCN_MAX] = {
	[SCN_LISTEN] = { "listen", SOCK_LISTEN, build_listen,
			 "N listeners sharing the port (SO_REUSEPORT), never connected" },
	[SCN_ESTABLISHED] = { "established", SOCK_ESTABLISHED, build_established,
			      "N idle connections, both ends held" },
	[SCN_SYN_SENT] = { "syn_sent", SOCK_SYN_SENT, build_syn_sent,
			   "listener with backlog 0 and a full accept queue drops SYNs; "
			   "N clients retransmit (TCP_SYNCNT 127)" },
	[SCN_SYN_RECV] = { "syn_recv", SOCK_SYN_RECV, build_syn_recv,
			   "TCP_DEFER_ACCEPT listener keeps N request sockets; "
			   "their clients are ESTABLISHED and silent" },
	[SCN_FIN_WAIT_1] = { "fin_wait_1", SOCK_FIN_WAIT1, build_fin_wait_1,
			     "server shutdown(SHUT_WR) with its FIN behind data the client "
			     "does not read; held by fd" },
	[SCN_FIN_WAIT_1_ORPHAN] = { "fin_wait_1_orphan", SOCK_FIN_WAIT1, build_fin_wait_1,
				    "as fin_wait_1 but close(): orphaned, window probes "
				    "give up after minutes" },
	[SCN_FIN_WAIT_2] = { "fin_wait_2", SOCK_FIN_WAIT2, build_fin_wait_2,
			     "server shutdown(SHUT_WR), client never closes; held by fd, "
			     "no timer, lives forever" },
	[SCN_FIN_WAIT_2_ORPHAN] = { "fin_wait_2_orphan", SOCK_FIN_WAIT2, build_fin_wait_2,
				    "server close(), client never closes; orphan bounded by "
				    "tcp_fin_timeout" },
	[SCN_TIME_WAIT] = { "time_wait", SOCK_TIME_WAIT, build_time_wait,
			    "server closed first, then client: TIME_WAIT on the server port, "
			    "60 s" },
	[SCN_CLOSE_WAIT] = { "close_wait", SOCK_CLOSE_WAIT, build_close_wait,
			     "client sent FIN, server read EOF and never closes (rqueue 0)" },
	[SCN_CLOSE_WAIT_UNREAD] = { "close_wait_unread", SOCK_CLOSE_WAIT, build_close_wait,
				    "client sent 100 bytes and FIN, server never reads nor "
				    "closes" },
	[SCN_CLOSE_WAIT_LEAK] = { "close_wait_leak", SOCK_CLOSE_WAIT, build_close_wait,
				  "as close_wait but the fd is held only by a child process "
				  "named " LAB_LEAKER_NAME },
	[SCN_LAST_ACK] = { "last_ack", SOCK_LAST_ACK, build_last_ack,
			   "client sent FIN, server then shut down with its FIN behind unread "
			   "data" },
	[SCN_CLOSING] = { "closing", SOCK_CLOSING, build_closing,
			  "server FIN stuck behind data (FIN_WAIT_1), then the client's FIN "
			  "arrives" },
};

/*
 * Build order differs from the layout: TIME_WAIT comes last because it is the one state
 * a failed build cannot take back (no peer to reset it).
 */
const enum lab_scn lab_build_order[SCN_MAX] = {
	SCN_LISTEN,     SCN_ESTABLISHED,       SCN_SYN_SENT,        SCN_SYN_RECV,
	SCN_FIN_WAIT_1, SCN_FIN_WAIT_1_ORPHAN, SCN_FIN_WAIT_2,      SCN_FIN_WAIT_2_ORPHAN,
	SCN_CLOSE_WAIT, SCN_CLOSE_WAIT_UNREAD, SCN_CLOSE_WAIT_LEAK, SCN_LAST_ACK,
	SCN_CLOSING,    SCN_TIME_WAIT,
};
