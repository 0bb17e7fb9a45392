/* lab.c - real loopback sockets held in every observable TCP state, and two teardown demos. */
#include "lab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sock.h"

/*
 * Limits and timings of the lab.  They live here rather than in limits.h because nothing
 * else in lingerd uses them and the lab must not change the daemon's behaviour.
 */
enum {
	LAB_EX_OK = 0,
	LAB_EX_FAIL = 1,
	LAB_EX_USAGE = 64,
	LAB_COUNT_DEFAULT = 2,
	LAB_COUNT_MAX = 64,         /* about 50 fds a unit: 64 stays far below the fd limit */
	LAB_PORT_DEFAULT = 31100,   /* below ip_local_port_range: no client squats it */
	LAB_HOLD_MAX_S = 366 * 86400,
	LAB_BACKLOG = 4096,         /* idle and defer-accept listeners: never the limit */
	LAB_FILLERS_MAX = 4,        /* connections that fill the backlog-0 accept queue */
	LAB_STEP_MS = 2000,         /* one connect, accept or state change on loopback */
	LAB_SETTLE_MS = 3000,       /* every socket in its final state */
	LAB_POLL_MS = 10,           /* re-check period while waiting for a state */
	LAB_FILL_QUIET_MS = 50,     /* writes blocked this long: the peer's window is shut */
	LAB_FILL_MAX_MS = 3000,
	LAB_FILL_MAX_BYTES = 16 * 1024 * 1024,
	LAB_UNREAD_BYTES = 100,     /* left unread under the FIN in close_wait_unread */
	LAB_SMALL_BUF = 1,          /* the kernel raises this to its minimum buffer */
	LAB_SYNCNT = 127,           /* MAX_TCP_SYNCNT: SYN_SENT lasts hours, not 2 minutes */
	LAB_SYN_SENT_LIFE_S = 14500, /* about 4 + 127 + 120 * 120 s of SYN retransmits */
	LAB_DEFER_ASK_S = 1 << 30, /* the kernel caps it (255 retransmits) and says how long */
	LAB_TIME_WAIT_S = 60,       /* TCP_TIMEWAIT_LEN: a constant, not a sysctl */
	/* Measured here: an orphan's zero-window probes give up when their backoff passes
	 * TCP_RTO_MAX, about 5.6 minutes after close() on loopback. */
	LAB_FIN_WAIT_1_ORPHAN_S = 340,
};

#define LAB_LEAKER_NAME "lab-leaker"

/* The module's only mutable global: set by SIGTERM/SIGINT, read by the hold loops. */
static volatile sig_atomic_t lab_stop;

static void lab_on_signal(int sig)
{
	(void)sig;
	lab_stop = 1;
}

/* ---- addresses and small socket helpers -------------------------------------------- */

struct lab_addr {
	int family;
	uint8_t addr[16]; /* network order; IPv4 uses the first 4 bytes */
	uint16_t port;    /* host order */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "EUNKNOWN";
}

static const char *family_name(int family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
}

static void loopback_sa(int family, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
	}
}

static void addr_from_sa(struct lab_addr *a, const struct sockaddr_storage *ss)
{
	memset(a, 0, sizeof(*a));
	a->family = ss->ss_family;
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		memcpy(a->addr, &s6->sin6_addr, 16);
		a->port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		memcpy(a->addr, &s4->sin_addr, 4);
		a->port = ntohs(s4->sin_port);
	}
}

static int addr_local(int fd, struct lab_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	addr_from_sa(a, &ss);
	return 0;
}

static int addr_remote(int fd, struct lab_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	addr_from_sa(a, &ss);
	return 0;
}

static int addr_equal(const struct lab_addr *a, const struct lab_addr *b)
{
	return a->family == b->family && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

static const char *addr_text(const struct lab_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) < 0 ? -errno : 0;
}

/* Zero linger: close() then sends RST and leaves nothing behind, not even TIME_WAIT. */
static void close_abort(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static int tcp_state_of(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	return ti.tcpi_state;
}

/* Waits until the socket reaches state; -ETIMEDOUT after ms. */
static int wait_state(int fd, int state, int ms)
{
	int64_t end = now_ms() + ms;

	for (;;) {
		int st = tcp_state_of(fd);

		if (st < 0)
			return st;
		if (st == state)
			return 0;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		sleep_ms(1);
	}
}

/* A non-blocking TCP socket; IPv6 ones are v6-only so ::1 never touches IPv4 ports. */
static int tcp_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		ret = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
		if (ret) {
			close(fd);
			return ret;
		}
	}
	return fd;
}

/*
 * Opens a loopback listener on *port; port 0 lets the kernel choose and *port receives
 * the choice.  defer_s > 0 sets TCP_DEFER_ACCEPT.  On success *fdp owns the socket.
 */
static int listener_open(int family, uint16_t *port, int backlog, int reuseaddr, int reuseport,
			 int defer_s, int *fdp)
{
	struct sockaddr_storage ss;
	struct lab_addr a = { 0 };
	socklen_t len;
	int fd, ret;

	*fdp = -1;
	fd = tcp_socket(family);
	if (fd < 0)
		return fd;
	ret = set_int(fd, SOL_SOCKET, SO_REUSEADDR, reuseaddr);
	if (!ret && reuseport)
		ret = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (!ret && defer_s > 0)
		ret = set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, defer_s);
	if (ret)
		goto out;
	loopback_sa(family, *port, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
		ret = -errno;
		goto out;
	}
	ret = addr_local(fd, &a);
	if (ret)
		goto out;
	*port = a.port;
	*fdp = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Starts a non-blocking connect to the loopback port; rcvbuf/syncnt 0 keep the default. */
static int connect_start(int family, uint16_t port, int rcvbuf, int syncnt, int *fdp)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, ret = 0;

	*fdp = -1;
	fd = tcp_socket(family);
	if (fd < 0)
		return fd;
	/* The window scale is fixed by the SYN, so a small window must be asked for first. */
	if (rcvbuf)
		ret = set_int(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf);
	if (!ret && syncnt)
		ret = set_int(fd, IPPROTO_TCP, TCP_SYNCNT, syncnt);
	if (ret)
		goto out;
	loopback_sa(family, port, &ss, &len);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		ret = -errno;
		goto out;
	}
	*fdp = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int connect_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int r, err = 0;

	r = poll(&p, 1, ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

static int accept_wait(int lfd, int ms, int *fdp)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int r, fd;

	*fdp = -1;
	r = poll(&p, 1, ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	*fdp = fd;
	return 0;
}

/*
 * Writes until the peer's window is shut: the sender's queue then holds data that cannot
 * leave, and a FIN queued behind it is never sent.  That is how FIN_WAIT_1, LAST_ACK and
 * CLOSING are held on loopback, where no packet is ever lost.
 */
static int fill_window(int fd)
{
	static const char zeros[16384];
	int64_t start = now_ms(), quiet = start;
	long total = 0;

	for (;;) {
		ssize_t n = send(fd, zeros, sizeof(zeros), MSG_NOSIGNAL | MSG_DONTWAIT);
		int64_t t = now_ms();

		if (n > 0) {
			total += n;
			quiet = t;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -errno;
		} else if (t - quiet >= LAB_FILL_QUIET_MS) {
			return 0;
		} else {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, (int)(LAB_FILL_QUIET_MS - (t - quiet)));
		}
		if (t - start > LAB_FILL_MAX_MS || total > LAB_FILL_MAX_BYTES)
			return -EMSGSIZE; /* the peer keeps reading: the window never shuts */
	}
}

static int read_int_file(const char *path, int fallback)
{
	FILE *f = fopen(path, "re");
	int v = fallback;

	if (!f)
		return fallback;
	if (fscanf(f, "%d", &v) != 1)
		v = fallback;
	fclose(f);
	return v;
}

/* ---- /proc/net/tcp{,6}: the kernel's view, also of sockets no process holds -------- */

struct proc_row {
	struct lab_addr local, remote;
	int state;
	uint32_t txq, rxq;
};

static void proc_addr(struct lab_addr *a, int family, const char *hex, unsigned port)
{
	size_t words = family == AF_INET6 ? 4 : 1;

	memset(a, 0, sizeof(*a));
	a->family = family;
	a->port = (uint16_t)port;
	/* Each 32-bit word is printed as the host-order integer holding network-order bytes. */
	for (size_t w = 0; w < words; w++) {
		char word[9];
		uint32_t v;

		memcpy(word, hex + w * 8, 8);
		word[8] = '\0';
		v = (uint32_t)strtoul(word, NULL, 16);
		memcpy(a->addr + w * 4, &v, 4);
	}
}

static int proc_parse(const char *line, int family, struct proc_row *r)
{
	char lhex[33], rhex[33];
	unsigned lport, rport, st, txq, rxq;
	size_t want = family == AF_INET6 ? 32 : 8;

	if (sscanf(line, " %*u: %32[0-9A-Fa-f]:%x %32[0-9A-Fa-f]:%x %x %x:%x", lhex, &lport, rhex,
		   &rport, &st, &txq, &rxq) != 7)
		return -EINVAL;
	if (strlen(lhex) != want || strlen(rhex) != want)
		return -EINVAL;
	proc_addr(&r->local, family, lhex, lport);
	proc_addr(&r->remote, family, rhex, rport);
	r->state = (int)st;
	r->txq = txq;
	r->rxq = rxq;
	return 0;
}

/* Calls fn for every row of /proc/net/tcp (or tcp6).  Returns 0 or -errno. */
static int proc_scan(int family, void (*fn)(const struct proc_row *, void *), void *arg)
{
	const char *path = family == AF_INET6 ? "/proc/net/tcp6" : "/proc/net/tcp";
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int first = 1;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		struct proc_row r;

		if (first) { /* the header */
			first = 0;
			continue;
		}
		if (!proc_parse(line, family, &r))
			fn(&r, arg);
	}
	free(line);
	fclose(f);
	return 0;
}

struct tuple_count {
	struct lab_addr local, remote;
	int state; /* -1: any */
	int n;
};

static void count_tuple(const struct proc_row *r, void *arg)
{
	struct tuple_count *tc = arg;

	if (addr_equal(&r->local, &tc->local) && addr_equal(&r->remote, &tc->remote) &&
	    (tc->state < 0 || r->state == tc->state))
		tc->n++;
}

/* Number of sockets with this 4-tuple in state (-1: any state), or -errno. */
static int proc_count(const struct lab_addr *local, const struct lab_addr *remote, int state)
{
	struct tuple_count tc = { .local = *local, .remote = *remote, .state = state };
	int ret = proc_scan(local->family, count_tuple, &tc);

	return ret ? ret : tc.n;
}

/* Waits until the 4-tuple's count in state is (want) or (want > 0: at least want). */
static int proc_wait(const struct lab_addr *local, const struct lab_addr *remote, int state,
		     int want, int ms)
{
	int64_t end = now_ms() + ms;

	for (;;) {
		int n = proc_count(local, remote, state);

		if (n < 0)
			return n;
		if (n == want)
			return 0;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		sleep_ms(LAB_POLL_MS);
	}
}

/* ---- the lab: scenarios and their sockets ------------------------------------------- */

enum lab_scn {
	SCN_LISTEN,
	SCN_ESTABLISHED,
	SCN_SYN_SENT,
	SCN_SYN_RECV,
	SCN_FIN_WAIT_1,
	SCN_FIN_WAIT_1_ORPHAN,
	SCN_FIN_WAIT_2,
	SCN_FIN_WAIT_2_ORPHAN,
	SCN_TIME_WAIT,
	SCN_CLOSE_WAIT,
	SCN_CLOSE_WAIT_UNREAD,
	SCN_CLOSE_WAIT_LEAK,
	SCN_LAST_ACK,
	SCN_CLOSING,
	SCN_MAX,
};

enum lab_owner { OWN_LAB, OWN_LEAKER, OWN_KERNEL };

static const char *const owner_names[] = {
	[OWN_LAB] = "lab", [OWN_LEAKER] = "leaker", [OWN_KERNEL] = "kernel",
};

struct lab_sock {
	int fd; /* -1 once the kernel or the leaker holds it */
	enum lab_scn scn;
	int state; /* the state it must be in */
	const char *role;
	enum lab_owner owner;
	int expires_s; /* -1: lives until the lab lets it go */
	struct lab_addr local, remote;
	uint32_t rqueue, wqueue; /* as the kernel reported them when verified */
	int seen, got;           /* verification: matched; state last seen (0: absent) */
};

struct lab {
	int count;
	int base;
	int hold_s; /* -1: until a signal */
	int nfam;
	int fams[2];
	uint16_t port[SCN_MAX][2]; /* listener port of each scenario, by family index */
	int lfd[SCN_MAX][2];       /* scenario listeners while building; -1 when none */
	struct lab_sock *socks;
	size_t n, cap;
	pid_t leaker;
	int leaker_fd; /* our end of the socketpair: the leaker exits when it closes */
	int fin_timeout_s;
	int defer_s;
};

typedef int (*scn_build_fn)(struct lab *lab, int fi, enum lab_scn scn);

struct scn_def {
	const char *name;
	int state;
	scn_build_fn build;
	const char *how;
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
		close_abort(fd);
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
	addr_local(fd, &s->local);
	if (remote)
		s->remote = *remote;
	else if (addr_remote(fd, &s->remote) < 0)
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

static int lab_family(const struct lab *lab, int fi)
{
	return lab->fams[fi];
}

/*
 * Opens the scenario's listener on its layout port (BASE + scenario, or ephemeral).  All
 * are opened before the first connect: a port with a bound listener is never picked as
 * an ephemeral client port, so our own clients cannot squat a port we are about to bind.
 */
static int lab_reserve(struct lab *lab, int fi, enum lab_scn scn)
{
	int backlog = scn == SCN_SYN_SENT ? 0 : LAB_BACKLOG;
	int defer_s = scn == SCN_SYN_RECV ? LAB_DEFER_ASK_S : 0;

	return listener_open(lab_family(lab, fi), &lab->port[scn][fi], backlog, 1, 0, defer_s,
			     &lab->lfd[scn][fi]);
}

/* Closes the listeners no state needs; their accepted sockets live on without them. */
static void lab_release_listeners(struct lab *lab)
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
static int pair_add(struct lab *lab, int fi, enum lab_scn scn, int lfd, int small,
		    int sstate, int cstate, struct lab_sock **sp, struct lab_sock **cp)
{
	int family = lab_family(lab, fi), cfd = -1, sfd = -1, ret;

	ret = connect_start(family, lab->port[scn][fi], small ? LAB_SMALL_BUF : 0, 0, &cfd);
	if (!ret)
		ret = connect_wait(cfd, LAB_STEP_MS);
	if (!ret)
		ret = accept_wait(lfd, LAB_STEP_MS, &sfd);
	if (!ret && small)
		ret = set_int(sfd, SOL_SOCKET, SO_SNDBUF, LAB_SMALL_BUF);
	if (ret) {
		close_abort(cfd);
		close_abort(sfd);
		return ret;
	}
	*sp = lab_add(lab, sfd, scn, sstate, "server", NULL);
	if (!*sp) {
		close_abort(cfd);
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

		ret = listener_open(lab_family(lab, fi), &lab->port[scn][fi], LAB_BACKLOG, 1, 1, 0,
				    &fd);
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

		ret = connect_start(family, l->local.port, 0, 0, &fd);
		if (ret)
			return ret;
		c = lab_add(lab, fd, scn, SOCK_ESTABLISHED, "filler", &l->local);
		if (!c)
			return -ENOSPC;
		ret = connect_wait(fd, LAB_STEP_MS);
		if (ret)
			return ret;
		if (!lab_add_peer(lab, c, SOCK_ESTABLISHED, "queued", -1))
			return -ENOSPC;
		/* The child joins the queue when our ACK lands: wait, or the next SYN gets in. */
		for (end = now_ms() + LAB_STEP_MS;; sleep_ms(1)) {
			len = sizeof(ti);
			if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
				return -errno;
			if (ti.tcpi_unacked >= j + 1)
				break;
			if (now_ms() >= end)
				return -ETIMEDOUT;
		}
	}
	target = l->local;
	for (int i = 0; i < lab->count; i++) {
		ret = connect_start(family, target.port, 0, LAB_SYNCNT, &fd);
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
		ret = connect_start(family, l->local.port, 0, 0, &fd);
		if (ret)
			return ret;
		c = lab_add(lab, fd, scn, SOCK_ESTABLISHED, "client", &l->local);
		if (!c)
			return -ENOSPC;
		ret = connect_wait(fd, LAB_STEP_MS);
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
			ret = fill_window(s->fd);
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
			ret = wait_state(c->fd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
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
		ret = connect_start(family, lab->port[scn][fi], 0, 0, &cfd);
		if (!ret)
			ret = connect_wait(cfd, LAB_STEP_MS);
		if (!ret)
			ret = accept_wait(lfd, LAB_STEP_MS, &sfd);
		if (ret)
			break;
		s = lab_add(lab, sfd, scn, SOCK_TIME_WAIT, "server", NULL);
		sfd = -1;
		if (!s) {
			ret = -ENOSPC;
			break;
		}
		lab_orphan(s, LAB_TIME_WAIT_S);
		ret = wait_state(cfd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
		if (ret)
			break;
		close(cfd); /* a graceful close: its FIN turns the server's socket to TIME_WAIT */
		cfd = -1;
	}
	close_abort(cfd);
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
		ret = wait_state(s->fd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
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
		ret = wait_state(s->fd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
		if (!ret)
			ret = fill_window(s->fd);
		if (!ret && shutdown(s->fd, SHUT_WR) < 0)
			ret = -errno;
		if (!ret)
			ret = wait_state(s->fd, SOCK_LAST_ACK, LAB_STEP_MS);
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
			ret = fill_window(s->fd);
		if (ret)
			break;
		if (shutdown(s->fd, SHUT_WR) < 0) {
			ret = -errno;
			break;
		}
		ret = wait_state(s->fd, SOCK_FIN_WAIT1, LAB_STEP_MS);
		if (!ret && shutdown(c->fd, SHUT_WR) < 0)
			ret = -errno;
		if (!ret)
			ret = wait_state(s->fd, SOCK_CLOSING, LAB_STEP_MS);
	}
	return ret;
}

/* The port layout: scenario k listens on BASE + k for both families. */
static const struct scn_def scn_defs[SCN_MAX] = {
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
static const enum lab_scn build_order[SCN_MAX] = {
	SCN_LISTEN,	       SCN_ESTABLISHED,	      SCN_SYN_SENT,
	SCN_SYN_RECV,	       SCN_FIN_WAIT_1,	      SCN_FIN_WAIT_1_ORPHAN,
	SCN_FIN_WAIT_2,	       SCN_FIN_WAIT_2_ORPHAN, SCN_CLOSE_WAIT,
	SCN_CLOSE_WAIT_UNREAD, SCN_CLOSE_WAIT_LEAK,   SCN_LAST_ACK,
	SCN_CLOSING,	       SCN_TIME_WAIT,
};

/* ---- the leaker child -------------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Closes every fd above 2 that is not in keep[] (sorted). */
static void close_all_but(const int *keep, size_t n)
{
	unsigned lo = 3;

	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		if ((unsigned)keep[i] + 1 > lo)
			lo = (unsigned)keep[i] + 1;
	}
	close_range(lo, ~0u, 0);
}

/*
 * The child: holds the leaked CLOSE_WAIT fds and nothing else (so ss -p names it alone),
 * until its parent closes its end of the socketpair rd, dies, or a signal asks it to stop.
 */
static void leaker_run(int *keep, size_t n, int rd, pid_t parent, const sigset_t *waitmask)
{
	int nul;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(LAB_EX_FAIL);
	prctl(PR_SET_NAME, LAB_LEAKER_NAME, 0, 0, 0);
	keep[n] = rd;
	qsort(keep, n + 1, sizeof(*keep), cmp_int);
	close_all_but(keep, n + 1);
	/* Off the caller's stdout pipe, so a reader sees EOF when the lab itself exits. */
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		if (nul > 2)
			close(nul);
	}
	/* Tell the lab the handover is complete: from now on only we hold the leaked fds. */
	if (write(rd, "r", 1) != 1)
		lab_stop = 1;
	while (!lab_stop) {
		struct pollfd p = { .fd = rd, .events = POLLIN };

		if (ppoll(&p, 1, NULL, waitmask) > 0)
			break; /* EOF: the lab is done */
	}
	for (size_t i = 0; i < n + 1; i++)
		if (keep[i] != rd)
			close_abort(keep[i]);
	_exit(LAB_EX_OK);
}

static int lab_fork_leaker(struct lab *lab, const sigset_t *waitmask)
{
	int sv[2], *keep, ret = 0;
	size_t n = 0;
	pid_t pid, self = getpid();

	keep = calloc(lab->n + 1, sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < lab->n; i++) {
		const struct lab_sock *s = &lab->socks[i];

		if (s->scn == SCN_CLOSE_WAIT_LEAK && !strcmp(s->role, "server"))
			keep[n++] = s->fd;
	}
	/* One socketpair both ways: the child says "ready", our close says "exit". */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		goto out;
	}
	fflush(NULL); /* nothing buffered may be written twice */
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	if (pid == 0)
		leaker_run(keep, n, sv[0], self, waitmask);
	close(sv[0]);
	lab->leaker = pid;
	lab->leaker_fd = sv[1];
	{
		struct pollfd p = { .fd = sv[1], .events = POLLIN };
		char b;

		if (poll(&p, 1, LAB_STEP_MS) != 1 || read(sv[1], &b, 1) != 1) {
			ret = -ECHILD; /* it died or hangs: cleanup reaps it */
			goto out;
		}
	}
	/* Hand over: the child's copies are now the only ones. */
	for (size_t i = 0; i < lab->n; i++) {
		struct lab_sock *s = &lab->socks[i];

		if (s->scn == SCN_CLOSE_WAIT_LEAK && !strcmp(s->role, "server")) {
			close(s->fd);
			s->fd = -1;
			s->owner = OWN_LEAKER;
		}
	}
out:
	free(keep);
	return ret;
}

/* ---- verification ------------------------------------------------------------------ */

static void verify_row(const struct proc_row *r, void *arg)
{
	struct lab *lab = arg;
	struct lab_sock *near = NULL;

	for (size_t i = 0; i < lab->n; i++) {
		struct lab_sock *s = &lab->socks[i];

		if (s->seen || !addr_equal(&s->local, &r->local) ||
		    !addr_equal(&s->remote, &r->remote))
			continue;
		if (s->state == r->state) {
			s->seen = 1;
			s->rqueue = r->rxq;
			s->wqueue = r->txq;
			return;
		}
		near = s;
	}
	if (near)
		near->got = r->state;
}

/*
 * Checks every socket against the kernel: the rows of /proc/net/tcp{,6} (which list
 * sockets no process holds, request sockets included) and TCP_INFO for the fds we hold.
 * Returns 0, or -ETIMEDOUT with *bad naming the first socket not in its state.
 */
static int lab_verify(struct lab *lab, int ms, struct lab_sock **bad)
{
	int64_t end = now_ms() + ms;

	for (;;) {
		int ret = 0;

		*bad = NULL;
		for (size_t i = 0; i < lab->n; i++)
			lab->socks[i].seen = lab->socks[i].got = 0;
		for (int fi = 0; fi < lab->nfam && !ret; fi++)
			ret = proc_scan(lab_family(lab, fi), verify_row, lab);
		if (ret)
			return ret;
		for (size_t i = 0; i < lab->n && !*bad; i++) {
			struct lab_sock *s = &lab->socks[i];

			if (!s->seen || (s->fd >= 0 && tcp_state_of(s->fd) != s->state))
				*bad = s;
		}
		if (!*bad)
			break;
		if (now_ms() >= end)
			return -ETIMEDOUT;
		sleep_ms(LAB_POLL_MS);
	}
	/* /proc shows a listener's send queue as 0; netlink reports its backlog: match that. */
	for (size_t i = 0; i < lab->n; i++) {
		struct lab_sock *s = &lab->socks[i];
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (s->state == SOCK_LISTEN && s->fd >= 0 &&
		    !getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			s->wqueue = ti.tcpi_sacked;
	}
	return 0;
}

/* ---- JSON -------------------------------------------------------------------------- */

static const int json_states[] = {
	SOCK_LISTEN,	SOCK_ESTABLISHED, SOCK_SYN_SENT,   SOCK_SYN_RECV, SOCK_FIN_WAIT1,
	SOCK_FIN_WAIT2, SOCK_TIME_WAIT,	  SOCK_CLOSE_WAIT, SOCK_LAST_ACK, SOCK_CLOSING,
};

static void json_int_list(FILE *f, int *v, size_t n, int uniq)
{
	size_t k = 0;

	qsort(v, n, sizeof(*v), cmp_int);
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (uniq && i && v[i] == v[i - 1])
			continue;
		fprintf(f, "%s%d", k++ ? "," : "", v[i]);
	}
	fputc(']', f);
}

static void json_expires(FILE *f, int expires_s)
{
	if (expires_s < 0)
		fputs("null", f);
	else
		fprintf(f, "%d", expires_s);
}

static pid_t sock_pid(const struct lab *lab, const struct lab_sock *s)
{
	if (s->owner == OWN_LAB)
		return getpid();
	if (s->owner == OWN_LEAKER)
		return lab->leaker;
	return 0;
}

static void json_state(FILE *f, const struct lab *lab, int state, int *tmp)
{
	size_t n = 0, k;
	int nfam[2] = { 0, 0 };

	for (size_t i = 0; i < lab->n; i++) {
		if (lab->socks[i].state != state)
			continue;
		nfam[lab->socks[i].local.family == AF_INET6]++;
		n++;
	}
	fprintf(f, "\"%s\":{\"count\":%zu,\"ipv4\":%d,\"ipv6\":%d,\"ports\":",
		sock_state_name(state), n, nfam[0], nfam[1]);
	k = 0;
	for (size_t i = 0; i < lab->n; i++)
		if (lab->socks[i].state == state)
			for (int fi = 0; fi < lab->nfam; fi++)
				tmp[k++] = lab->port[lab->socks[i].scn][fi];
	json_int_list(f, tmp, k, 1);
	fputs(",\"local_ports\":", f);
	k = 0;
	for (size_t i = 0; i < lab->n; i++)
		if (lab->socks[i].state == state)
			tmp[k++] = lab->socks[i].local.port;
	json_int_list(f, tmp, k, 0);
	fputs(",\"pids\":", f);
	k = 0;
	for (size_t i = 0; i < lab->n; i++)
		if (lab->socks[i].state == state && sock_pid(lab, &lab->socks[i]))
			tmp[k++] = (int)sock_pid(lab, &lab->socks[i]);
	json_int_list(f, tmp, k, 1);
	/* Variants: one per scenario and role, in the order the sockets were made. */
	fputs(",\"variants\":{", f);
	k = 0;
	for (size_t i = 0; i < lab->n; i++) {
		const struct lab_sock *s = &lab->socks[i];
		int dup = 0, cnt = 0;

		if (s->state != state)
			continue;
		for (size_t j = 0; j < i && !dup; j++)
			dup = lab->socks[j].state == state && lab->socks[j].scn == s->scn &&
			      !strcmp(lab->socks[j].role, s->role);
		if (dup)
			continue;
		for (size_t j = i; j < lab->n; j++)
			cnt += lab->socks[j].state == state && lab->socks[j].scn == s->scn &&
			       !strcmp(lab->socks[j].role, s->role);
		fprintf(f, "%s\"%s/%s\":{\"count\":%d,\"owner\":\"%s\",\"expires_after_s\":",
			k++ ? "," : "", scn_defs[s->scn].name, s->role, cnt, owner_names[s->owner]);
		json_expires(f, s->expires_s);
		fputc('}', f);
	}
	fputs("}}", f);
}

static void json_sock(FILE *f, const struct lab *lab, const struct lab_sock *s)
{
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];
	pid_t pid = sock_pid(lab, s);

	fprintf(f,
		"{\"state\":\"%s\",\"scenario\":\"%s\",\"role\":\"%s\",\"family\":\"%s\","
		"\"local\":\"%s\",\"lport\":%u,\"remote\":\"%s\",\"rport\":%u,\"owner\":\"%s\","
		"\"pid\":",
		sock_state_name(s->state), scn_defs[s->scn].name, s->role,
		family_name(s->local.family), addr_text(&s->local, l, sizeof(l)), s->local.port,
		addr_text(&s->remote, r, sizeof(r)), s->remote.port, owner_names[s->owner]);
	if (pid)
		fprintf(f, "%d", (int)pid);
	else
		fputs("null", f);
	fprintf(f, ",\"rqueue\":%u,\"wqueue\":%u,\"expires_after_s\":", s->rqueue, s->wqueue);
	json_expires(f, s->expires_s);
	fputc('}', f);
}

/*
 * The one line: everything a test needs to know which sockets exist, and where.
 *
 *   pid, families (["ipv4","ipv6"] or one), count (N), port_base (0: ephemeral),
 *   hold_s (null: until a signal), leaker {pid, comm}, tcp_fin_timeout_s, defer_accept_s;
 *   layout: scenario -> {offset, state (the one it exists for), ports {family: port}, how};
 *     with a base, port = base + offset for both families;
 *   states: each of the ten observable states -> {count, ipv4, ipv6, ports (layout ports of
 *     the scenarios with a socket in this state), local_ports (one per socket, sorted),
 *     pids (processes holding one by fd), variants {"scenario/role": {count, owner,
 *     expires_after_s}}}; counts cover every socket the lab made, peers included, so in a
 *     namespace of its own they equal the kernel's totals;
 *   sockets: one object per socket: state, scenario, role (listener, server, client,
 *     filler, queued, request), family, local, lport, remote, rport (a listener's remote
 *     is the zero address and port 0), owner (lab: our fd; leaker: the child's fd;
 *     kernel: no fd), pid (null for kernel), rqueue and wqueue as netlink reports them
 *     (a listener: accept queue and backlog), expires_after_s (null: lives until the lab
 *     lets go; else an upper bound, in seconds from now, of its life in this state).
 */
static int lab_print(const struct lab *lab)
{
	FILE *f = stdout;
	int *tmp = calloc(lab->n * 2 + 1, sizeof(*tmp));

	if (!tmp)
		return -ENOMEM;
	fprintf(f, "{\"pid\":%d,\"families\":[", (int)getpid());
	for (int fi = 0; fi < lab->nfam; fi++)
		fprintf(f, "%s\"%s\"", fi ? "," : "", family_name(lab_family(lab, fi)));
	fprintf(f, "],\"count\":%d,\"port_base\":%d,\"hold_s\":", lab->count, lab->base);
	if (lab->hold_s < 0)
		fputs("null", f);
	else
		fprintf(f, "%d", lab->hold_s);
	fprintf(f, ",\"leaker\":{\"pid\":%d,\"comm\":\"%s\"}", (int)lab->leaker, LAB_LEAKER_NAME);
	fprintf(f, ",\"tcp_fin_timeout_s\":%d,\"defer_accept_s\":%d", lab->fin_timeout_s,
		lab->defer_s);
	fputs(",\"layout\":{", f);
	for (int k = 0; k < SCN_MAX; k++) {
		fprintf(f, "%s\"%s\":{\"offset\":%d,\"state\":\"%s\",\"ports\":{", k ? "," : "",
			scn_defs[k].name, k, sock_state_name(scn_defs[k].state));
		for (int fi = 0; fi < lab->nfam; fi++)
			fprintf(f, "%s\"%s\":%u", fi ? "," : "", family_name(lab_family(lab, fi)),
				lab->port[k][fi]);
		fprintf(f, "},\"how\":\"%s\"}", scn_defs[k].how);
	}
	fputs("},\"states\":{", f);
	for (size_t i = 0; i < sizeof(json_states) / sizeof(json_states[0]); i++) {
		if (i)
			fputc(',', f);
		json_state(f, lab, json_states[i], tmp);
	}
	fputs("},\"sockets\":[", f);
	for (size_t i = 0; i < lab->n; i++) {
		if (i)
			fputc(',', f);
		json_sock(f, lab, &lab->socks[i]);
	}
	fputs("]}\n", f);
	free(tmp);
	return fflush(f) || ferror(f) ? -EIO : 0;
}

/* ---- lifecycle --------------------------------------------------------------------- */

/*
 * Lets everything go without leaving new sockets behind: the leaker resets its fds and
 * exits, then every fd of ours is closed with zero linger (RST, no TIME_WAIT).  Orphans
 * whose peer we reset die with it; only the time_wait scenario's sockets outlive us.
 */
static void lab_cleanup(struct lab *lab)
{
	if (lab->leaker > 0) {
		close(lab->leaker_fd);
		while (waitpid(lab->leaker, NULL, 0) < 0 && errno == EINTR)
			;
		lab->leaker = 0;
	}
	for (size_t i = lab->n; i-- > 0;) {
		close_abort(lab->socks[i].fd);
		lab->socks[i].fd = -1;
	}
	lab_release_listeners(lab);
}

static int signal_pending(void)
{
	sigset_t pend;

	if (sigpending(&pend) < 0)
		return 0;
	return lab_stop || sigismember(&pend, SIGTERM) == 1 || sigismember(&pend, SIGINT) == 1;
}

static void lab_hold(const struct lab *lab, const sigset_t *waitmask)
{
	int64_t end = now_ms() + (int64_t)lab->hold_s * 1000;

	while (!lab_stop) {
		struct timespec ts, *tp = NULL;

		if (lab->hold_s >= 0) {
			int64_t left = end - now_ms();

			if (left <= 0)
				break;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (long)(left % 1000) * 1000000;
			tp = &ts;
		}
		ppoll(NULL, 0, tp, waitmask);
	}
}

static void lab_build_failed(const struct lab *lab, enum lab_scn scn, int fi, int ret)
{
	fprintf(stderr, "lingerd lab: cannot build %s (scenario %s, %s, port %u): %s (%s)\n",
		sock_state_name(scn_defs[scn].state), scn_defs[scn].name,
		family_name(lab_family(lab, fi)), lab->port[scn][fi], strerror(-ret),
		errno_name(-ret));
}

static int lab_run(struct lab *lab, const sigset_t *waitmask)
{
	struct lab_sock *bad = NULL;
	int ret = 0;

	/* Phase 0 binds every listener (no client yet), phase 1 builds the connections. */
	for (int phase = 0; phase < 2; phase++) {
		for (int k = 0; k < SCN_MAX; k++) {
			enum lab_scn scn = build_order[k];

			for (int fi = 0; fi < lab->nfam; fi++) {
				if (signal_pending()) {
					fprintf(stderr, "lingerd lab: stopped by a signal while "
							"building\n");
					return LAB_EX_OK;
				}
				if (scn == SCN_LISTEN)
					ret = phase ? 0 : build_listen(lab, fi, scn);
				else
					ret = phase ? scn_defs[scn].build(lab, fi, scn)
						    : lab_reserve(lab, fi, scn);
				if (ret) {
					lab_build_failed(lab, scn, fi, ret);
					return LAB_EX_FAIL;
				}
			}
		}
	}
	lab_release_listeners(lab);
	ret = lab_fork_leaker(lab, waitmask);
	if (ret) {
		fprintf(stderr,
			"lingerd lab: cannot build CLOSE_WAIT (scenario close_wait_leak, the "
			"leaker process): %s (%s)\n",
			strerror(-ret), errno_name(-ret));
		return LAB_EX_FAIL;
	}
	ret = lab_verify(lab, LAB_SETTLE_MS, &bad);
	if (ret) {
		char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

		if (!bad) {
			fprintf(stderr, "lingerd lab: cannot read /proc/net/tcp: %s (%s)\n",
				strerror(-ret), errno_name(-ret));
			return LAB_EX_FAIL;
		}
		fprintf(stderr,
			"lingerd lab: cannot build %s (scenario %s, %s %s [%s]:%u -> [%s]:%u): "
			"the socket is in %s after %d ms: %s (%s)\n",
			sock_state_name(bad->state), scn_defs[bad->scn].name, bad->role,
			family_name(bad->local.family), addr_text(&bad->local, l, sizeof(l)),
			bad->local.port, addr_text(&bad->remote, r, sizeof(r)), bad->remote.port,
			bad->got ? sock_state_name(bad->got) : "no state (absent)", LAB_SETTLE_MS,
			strerror(-ret), errno_name(-ret));
		return LAB_EX_FAIL;
	}
	if (signal_pending())
		return LAB_EX_OK;
	ret = lab_print(lab);
	if (ret) {
		fprintf(stderr, "lingerd lab: cannot write the report: %s\n", strerror(-ret));
		return LAB_EX_FAIL;
	}
	lab_hold(lab, waitmask);
	return LAB_EX_OK;
}

/* ---- demos ------------------------------------------------------------------------- */

static const char *const abort_counters[] = { "TCPAbortOnData", "TCPAbortOnClose",
					      "TCPAbortOnLinger" };
#define N_ABORT_COUNTERS (sizeof(abort_counters) / sizeof(abort_counters[0]))

/* Reads TcpExt counters by name from /proc/net/netstat (header line, then values). */
static int netstat_read(long long *vals)
{
	FILE *f = fopen("/proc/net/netstat", "re");
	char *hdr = NULL, *val = NULL;
	size_t hcap = 0, vcap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	for (size_t i = 0; i < N_ABORT_COUNTERS; i++)
		vals[i] = -1;
	while (getline(&hdr, &hcap, f) > 0 && getline(&val, &vcap, f) > 0) {
		char *hs, *vs, *h, *v;

		if (strncmp(hdr, "TcpExt:", 7))
			continue;
		h = strtok_r(hdr, " \n", &hs);
		v = strtok_r(val, " \n", &vs);
		while ((h = strtok_r(NULL, " \n", &hs)) && (v = strtok_r(NULL, " \n", &vs)))
			for (size_t i = 0; i < N_ABORT_COUNTERS; i++)
				if (!strcmp(h, abort_counters[i]))
					vals[i] = strtoll(v, NULL, 10);
		ret = 0;
		break;
	}
	for (size_t i = 0; i < N_ABORT_COUNTERS && !ret; i++)
		if (vals[i] < 0)
			ret = -ENOENT;
	free(hdr);
	free(val);
	fclose(f);
	return ret;
}

/* One loopback connection, listener closed; *port 0 picks one. */
static int demo_connect(uint16_t *port, int reuseaddr, int *cfd, int *sfd)
{
	int lfd, ret;

	*cfd = *sfd = -1;
	ret = listener_open(AF_INET, port, 1, reuseaddr, 0, 0, &lfd);
	if (ret)
		return ret;
	ret = connect_start(AF_INET, *port, 0, 0, cfd);
	if (!ret)
		ret = connect_wait(*cfd, LAB_STEP_MS);
	if (!ret)
		ret = accept_wait(lfd, LAB_STEP_MS, sfd);
	close(lfd);
	if (ret) {
		close_abort(*cfd);
		close_abort(*sfd);
		*cfd = *sfd = -1;
	}
	return ret;
}

enum linger_case { LC_PLAIN, LC_LINGER0, LC_UNREAD, LC_MAX };

static const char *const linger_case_names[LC_MAX] = {
	[LC_PLAIN] = "plain_close", [LC_LINGER0] = "linger_0", [LC_UNREAD] = "unread_data",
};

struct linger_result {
	struct lab_addr local, remote;
	const char *peer; /* what the peer's read saw: "eof" or an errno name */
	int time_wait;
	long long delta[N_ABORT_COUNTERS];
};

/*
 * The client closes first in all cases; plain: FIN, then TIME_WAIT on the client once the
 * server closes too; SO_LINGER {1,0}: RST at once, no TIME_WAIT; unread data: RST too.
 */
static int demo_linger_case(enum linger_case lc, uint16_t port, struct linger_result *res)
{
	long long before[N_ABORT_COUNTERS], after[N_ABORT_COUNTERS];
	struct pollfd p;
	int cfd, sfd, ret, n;
	char b[16];

	ret = demo_connect(&port, 1, &cfd, &sfd);
	if (ret)
		return ret;
	addr_local(cfd, &res->local);
	addr_remote(cfd, &res->remote);
	if (lc == LC_UNREAD) {
		if (send(sfd, "abc", 3, MSG_NOSIGNAL) != 3) {
			ret = -errno;
			goto out;
		}
		p = (struct pollfd){ .fd = cfd, .events = POLLIN };
		if (poll(&p, 1, LAB_STEP_MS) != 1) {
			ret = -ETIMEDOUT;
			goto out;
		}
	}
	ret = netstat_read(before);
	if (ret)
		goto out;
	if (lc == LC_LINGER0) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		if (setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
			ret = -errno;
			goto out;
		}
	}
	close(cfd);
	cfd = -1;
	p = (struct pollfd){ .fd = sfd, .events = POLLIN };
	if (poll(&p, 1, LAB_STEP_MS) != 1) {
		ret = -ETIMEDOUT;
		goto out;
	}
	n = (int)recv(sfd, b, sizeof(b), 0);
	res->peer = n == 0 ? "eof" : n < 0 ? errno_name(errno) : "data";
	close(sfd); /* plain: the server's FIN moves the client to TIME_WAIT */
	sfd = -1;
	/* Settled: the client's tuple is TIME_WAIT (plain) or gone (reset). */
	if (lc == LC_PLAIN)
		ret = proc_wait(&res->local, &res->remote, SOCK_TIME_WAIT, 1, LAB_STEP_MS);
	else
		ret = proc_wait(&res->local, &res->remote, -1, 0, LAB_STEP_MS);
	if (ret)
		goto out;
	n = proc_count(&res->local, &res->remote, SOCK_TIME_WAIT);
	if (n < 0) {
		ret = n;
		goto out;
	}
	res->time_wait = n;
	ret = netstat_read(after);
	if (ret)
		goto out;
	for (size_t i = 0; i < N_ABORT_COUNTERS; i++)
		res->delta[i] = after[i] - before[i];
out:
	close_abort(cfd);
	close_abort(sfd);
	return ret;
}

static int demo_linger(int base)
{
	struct linger_result res[LC_MAX];
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

	memset(res, 0, sizeof(res));
	for (int lc = 0; lc < LC_MAX; lc++) {
		int ret = demo_linger_case(lc, base ? (uint16_t)(base + lc) : 0, &res[lc]);

		if (ret) {
			fprintf(stderr, "lingerd lab linger: case %s failed: %s (%s)\n",
				linger_case_names[lc], strerror(-ret), errno_name(-ret));
			return LAB_EX_FAIL;
		}
	}
	printf("{\"demo\":\"linger\",\"pid\":%d,\"family\":\"ipv4\",\"closer\":\"client\","
	       "\"cases\":[",
	       (int)getpid());
	for (int lc = 0; lc < LC_MAX; lc++) {
		printf("%s{\"case\":\"%s\",\"so_linger\":%s,\"unread_bytes\":%d,"
		       "\"local\":\"%s\",\"lport\":%u,\"remote\":\"%s\",\"rport\":%u,"
		       "\"peer_read\":\"%s\",\"time_wait\":%d,\"counters\":{",
		       lc ? "," : "", linger_case_names[lc], lc == LC_LINGER0 ? "[1,0]" : "null",
		       lc == LC_UNREAD ? 3 : 0, addr_text(&res[lc].local, l, sizeof(l)),
		       res[lc].local.port, addr_text(&res[lc].remote, r, sizeof(r)),
		       res[lc].remote.port, res[lc].peer, res[lc].time_wait);
		for (size_t i = 0; i < N_ABORT_COUNTERS; i++)
			printf("%s\"%s\":%lld", i ? "," : "", abort_counters[i], res[lc].delta[i]);
		printf("}}");
	}
	printf("]}\n");
	return fflush(stdout) ? LAB_EX_FAIL : LAB_EX_OK;
}

/*
 * Leaves a TIME_WAIT on the server's (listener's) port: the server closes first.  The
 * accepted socket inherits SO_REUSEADDR from the listener, and so does its TIME_WAIT.
 */
static int demo_server_time_wait(uint16_t *port, int reuseaddr, struct lab_addr *local,
				 struct lab_addr *remote)
{
	int cfd, sfd, ret;

	ret = demo_connect(port, reuseaddr, &cfd, &sfd);
	if (ret)
		return ret;
	addr_local(sfd, local);
	addr_remote(sfd, remote);
	close(sfd);
	sfd = -1;
	ret = wait_state(cfd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
	if (!ret) {
		close(cfd);
		cfd = -1;
		ret = proc_wait(local, remote, SOCK_TIME_WAIT, 1, LAB_STEP_MS);
	}
	close_abort(cfd);
	return ret;
}

/* Binds (and listens) a fresh socket on the port; returns 0 or -errno. */
static int demo_bind(uint16_t port, int reuseaddr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, ret = 0;

	fd = tcp_socket(AF_INET);
	if (fd < 0)
		return fd;
	ret = set_int(fd, SOL_SOCKET, SO_REUSEADDR, reuseaddr);
	loopback_sa(AF_INET, port, &ss, &len);
	if (!ret && (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1) < 0))
		ret = -errno;
	close(fd);
	return ret;
}

static int demo_reuseaddr(int base)
{
	static const struct {
		int old_reuse, new_reuse;
	} cases[] = { { 1, 0 }, { 1, 1 }, { 0, 1 }, { 0, 0 } };
	struct lab_addr local[2], remote[2];
	uint16_t port[2];
	int tw[2], bound[4];

	/* One TIME_WAIT per kind of old socket; each is probed by two binds. */
	for (int k = 0; k < 2; k++) {
		int ret;

		port[k] = base ? (uint16_t)(base + k) : 0;
		ret = demo_server_time_wait(&port[k], k == 0, &local[k], &remote[k]);
		if (!ret)
			ret = tw[k] = proc_count(&local[k], &remote[k], SOCK_TIME_WAIT);
		if (ret < 0) {
			fprintf(stderr,
				"lingerd lab reuseaddr: cannot leave a TIME_WAIT: %s (%s)\n",
				strerror(-ret), errno_name(-ret));
			return LAB_EX_FAIL;
		}
	}
	for (int c = 0; c < 4; c++)
		bound[c] = demo_bind(port[!cases[c].old_reuse], cases[c].new_reuse);
	printf("{\"demo\":\"reuseaddr\",\"pid\":%d,\"family\":\"ipv4\",\"cases\":[", (int)getpid());
	for (int c = 0; c < 4; c++) {
		int k = !cases[c].old_reuse;
		char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

		printf("%s{\"old_reuseaddr\":%s,\"new_reuseaddr\":%s,\"port\":%u,"
		       "\"time_wait\":{\"local\":\"%s\",\"lport\":%u,"
		       "\"remote\":\"%s\",\"rport\":%u,"
		       "\"count\":%d},\"bind\":\"%s\"}",
		       c ? "," : "", cases[c].old_reuse ? "true" : "false",
		       cases[c].new_reuse ? "true" : "false", port[k],
		       addr_text(&local[k], l, sizeof(l)), local[k].port,
		       addr_text(&remote[k], r, sizeof(r)), remote[k].port, tw[k],
		       bound[c] ? errno_name(-bound[c]) : "ok");
	}
	printf("]}\n");
	return fflush(stdout) ? LAB_EX_FAIL : LAB_EX_OK;
}

/* ---- command line ------------------------------------------------------------------ */

static void lab_usage(FILE *f)
{
	fprintf(f, "usage: lingerd lab [--count N] [--port BASE] [--hold SECONDS] "
		   "[--family 4|6|both]\n"
		   "       lingerd lab linger [--port BASE]     SO_LINGER {1,0} vs close()\n"
		   "       lingerd lab reuseaddr [--port BASE]  SO_REUSEADDR vs a TIME_WAIT\n"
		   "Holds loopback sockets in every observable TCP state (N of each, default %d;\n"
		   "scenario k listens on BASE+k, default BASE %d, 0 = ephemeral) and prints one\n"
		   "line of JSON describing them; holds until SIGTERM/SIGINT or SECONDS.\n"
		   "The demos use BASE, BASE+1, BASE+2 (default 0: ephemeral) on 127.0.0.1.\n",
		   LAB_COUNT_DEFAULT, LAB_PORT_DEFAULT);
}

/* Parses a decimal in [lo, hi]; 0 or -EINVAL. */
static int parse_num(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* Matches "--name value" or "--name=value"; advances *i over what it used. */
static int opt_match(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n))
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n])
		return 0;
	*val = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

struct lab_opts {
	int demo; /* 0 lab, 1 linger, 2 reuseaddr */
	int count, base, hold_s, fam4, fam6;
};

static int lab_parse(int argc, char **argv, struct lab_opts *o)
{
	int i = 1;

	*o = (struct lab_opts){ .count = LAB_COUNT_DEFAULT, .base = LAB_PORT_DEFAULT,
				.hold_s = -1, .fam4 = 1, .fam6 = 1 };
	if (i < argc && !strcmp(argv[i], "linger")) {
		o->demo = 1;
		o->base = 0;
		i++;
	} else if (i < argc && !strcmp(argv[i], "reuseaddr")) {
		o->demo = 2;
		o->base = 0;
		i++;
	}
	for (; i < argc; i++) {
		const char *v = NULL;
		const char *what = argv[i];

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		if (opt_match(argc, argv, &i, "--port", &v)) {
			if (parse_num(v, 0, 65536 - SCN_MAX, &o->base))
				goto bad;
		} else if (!o->demo && opt_match(argc, argv, &i, "--count", &v)) {
			if (parse_num(v, 1, LAB_COUNT_MAX, &o->count))
				goto bad;
		} else if (!o->demo && opt_match(argc, argv, &i, "--hold", &v)) {
			if (parse_num(v, 0, LAB_HOLD_MAX_S, &o->hold_s))
				goto bad;
		} else if (!o->demo && opt_match(argc, argv, &i, "--family", &v)) {
			if (v && !strcmp(v, "4"))
				o->fam6 = 0;
			else if (v && !strcmp(v, "6"))
				o->fam4 = 0;
			else if (!v || strcmp(v, "both"))
				goto bad;
		} else {
			fprintf(stderr, "lingerd lab: unknown argument '%s'\n", what);
			return -EINVAL;
		}
		continue;
bad:
		fprintf(stderr, "lingerd lab: bad value for %s: '%s'\n", what, v ? v : "(missing)");
		return -EINVAL;
	}
	return 0;
}

int lab_main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = lab_on_signal }, old_term, old_int;
	sigset_t block, old_mask, waitmask;
	struct lab lab = { 0 };
	struct lab_opts o;
	int ret;

	ret = lab_parse(argc, argv, &o);
	if (ret) {
		if (ret > 0) {
			lab_usage(stdout);
			return LAB_EX_OK;
		}
		lab_usage(stderr);
		return LAB_EX_USAGE;
	}
	if (o.demo == 1)
		return demo_linger(o.base);
	if (o.demo == 2)
		return demo_reuseaddr(o.base);
	/* In `lingerd demo` the lab is a child of the daemon: make it tell apart in ps and /proc. */
	prctl(PR_SET_NAME, "lingerd-lab", 0, 0, 0);

	/*
	 * Signals stay blocked while building (every wait is bounded) and are taken only in
	 * ppoll(), so a SIGTERM can never slip in between a check and a sleep.
	 */
	lab_stop = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	waitmask = old_mask;
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);

	lab.count = o.count;
	lab.base = o.base;
	lab.hold_s = o.hold_s;
	if (o.fam4)
		lab.fams[lab.nfam++] = AF_INET;
	if (o.fam6)
		lab.fams[lab.nfam++] = AF_INET6;
	for (int k = 0; k < SCN_MAX; k++)
		for (int fi = 0; fi < 2; fi++) {
			lab.port[k][fi] = o.base ? (uint16_t)(o.base + k) : 0;
			lab.lfd[k][fi] = -1;
		}
	lab.leaker_fd = -1;
	lab.fin_timeout_s = read_int_file("/proc/sys/net/ipv4/tcp_fin_timeout", 60);
	/* Per family and unit: at most 26 sockets; per family: listeners and fillers. */
	lab.cap = (size_t)lab.nfam * ((size_t)o.count * 26 + 2 * LAB_FILLERS_MAX + 16);
	lab.socks = calloc(lab.cap, sizeof(*lab.socks));
	if (!lab.socks) {
		fprintf(stderr, "lingerd lab: out of memory\n");
		ret = LAB_EX_FAIL;
	} else {
		ret = lab_run(&lab, &waitmask);
	}
	lab_cleanup(&lab);
	free(lab.socks);

	/* Unblock first: a signal still pending lands in our handler, not the caller's. */
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	return ret;
}
