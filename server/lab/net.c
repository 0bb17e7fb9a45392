/* net.c - the lab's socket helpers: loopback addresses, listeners, connects, a shut window. */
#include "lab_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t lab_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lab_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *lab_errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "EUNKNOWN";
}

const char *lab_family_name(int family)
{
	return family == AF_INET6 ? "ipv6" : "ipv4";
}

void lab_loopback_sa(int family, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
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

int lab_addr_local(int fd, struct lab_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	addr_from_sa(a, &ss);
	return 0;
}

int lab_addr_remote(int fd, struct lab_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	addr_from_sa(a, &ss);
	return 0;
}

int lab_addr_equal(const struct lab_addr *a, const struct lab_addr *b)
{
	return a->family == b->family && a->port == b->port && !memcmp(a->addr, b->addr, 16);
}

const char *lab_addr_text(const struct lab_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, a->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

int lab_set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val)) < 0 ? -errno : 0;
}

/* Zero linger: close() then sends RST and leaves nothing behind, not even TIME_WAIT. */
void lab_close_abort(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

int lab_tcp_state_of(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	return ti.tcpi_state;
}

/* Waits until the socket reaches state; -ETIMEDOUT after ms. */
int lab_wait_state(int fd, int state, int ms)
{
	int64_t end = lab_now_ms() + ms;

	for (;;) {
		int st = lab_tcp_state_of(fd);

		if (st < 0)
			return st;
		if (st == state)
			return 0;
		if (lab_now_ms() >= end)
			return -ETIMEDOUT;
		lab_sleep_ms(1);
	}
}

/* A non-blocking TCP socket; IPv6 ones are v6-only so ::1 never touches IPv4 ports. */
int lab_tcp_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		ret = lab_set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
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
int lab_listener_open(int family, uint16_t *port, int backlog, int reuseaddr, int reuseport,
		      int defer_s, int *fdp)
{
	struct sockaddr_storage ss;
	struct lab_addr a = { 0 };
	socklen_t len;
	int fd, ret;

	*fdp = -1;
	fd = lab_tcp_socket(family);
	if (fd < 0)
		return fd;
	ret = lab_set_int(fd, SOL_SOCKET, SO_REUSEADDR, reuseaddr);
	if (!ret && reuseport)
		ret = lab_set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (!ret && defer_s > 0)
		ret = lab_set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, defer_s);
	if (ret)
		goto out;
	lab_loopback_sa(family, *port, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
		ret = -errno;
		goto out;
	}
	ret = lab_addr_local(fd, &a);
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
int lab_connect_start(int family, uint16_t port, int rcvbuf, int syncnt, int *fdp)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, ret = 0;

	*fdp = -1;
	fd = lab_tcp_socket(family);
	if (fd < 0)
		return fd;
	/* The window scale is fixed by the SYN, so a small window must be asked for first. */
	if (rcvbuf)
		ret = lab_set_int(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf);
	if (!ret && syncnt)
		ret = lab_set_int(fd, IPPROTO_TCP, TCP_SYNCNT, syncnt);
	if (ret)
		goto out;
	lab_loopback_sa(family, port, &ss, &len);
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

int lab_connect_wait(int fd, int ms)
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

int lab_accept_wait(int lfd, int ms, int *fdp)
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
int lab_fill_window(int fd, long *sent)
{
	static const char zeros[16384];
	int64_t start = lab_now_ms(), quiet = start;
	long total = 0;

	for (;;) {
		ssize_t n = send(fd, zeros, sizeof(zeros), MSG_NOSIGNAL | MSG_DONTWAIT);
		int64_t t = lab_now_ms();

		if (n > 0) {
			total += n;
			quiet = t;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			return -errno;
		} else if (t - quiet >= LAB_FILL_QUIET_MS) {
			if (sent)
				*sent = total;
			return 0;
		} else {
			struct pollfd p = { .fd = fd, .events = POLLOUT };

			poll(&p, 1, (int)(LAB_FILL_QUIET_MS - (t - quiet)));
		}
		if (t - start > LAB_FILL_MAX_MS || total > LAB_FILL_MAX_BYTES)
			return -EMSGSIZE; /* the peer keeps reading: the window never shuts */
	}
}

int lab_read_int_file(const char *path, int fallback)
{
	FILE *f = fopen(path, "re");
	char buf[32], *end;
	long v;

	if (!f)
		return fallback;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	errno = 0;
	v = strtol(buf, &end, 10);
	return errno || end == buf || v < INT_MIN || v > INT_MAX ? fallback : (int)v;
}

int lab_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int lab_pair_open(uint16_t *port, int reuseaddr, int small, int *cfd, int *sfd)
{
	int lfd, ret;

	*cfd = *sfd = -1;
	ret = lab_listener_open(AF_INET, port, 1, reuseaddr, 0, 0, &lfd);
	if (ret)
		return ret;
	/* Accepted sockets inherit the listener's buffer, and the window scale is fixed by
	 * the SYN: a small receive window must be asked for before the connection exists. */
	if (small)
		ret = lab_set_int(lfd, SOL_SOCKET, SO_RCVBUF, LAB_SMALL_BUF);
	if (!ret)
		ret = lab_connect_start(AF_INET, *port, 0, 0, cfd);
	if (!ret && small)
		ret = lab_set_int(*cfd, SOL_SOCKET, SO_SNDBUF, LAB_SMALL_BUF);
	if (!ret)
		ret = lab_connect_wait(*cfd, LAB_STEP_MS);
	if (!ret)
		ret = lab_accept_wait(lfd, LAB_STEP_MS, sfd);
	close(lfd);
	if (ret) {
		lab_close_abort(*cfd);
		lab_close_abort(*sfd);
		*cfd = *sfd = -1;
	}
	return ret;
}

const char *lab_strerror(int err)
{
	const char *desc = strerrordesc_np(err);

	return desc ? desc : "Unknown error";
}
