/* capture_netlink.c - records real sock_diag replies and /proc/net/tcp{,6} as test fixtures. */
/*
 * Not built by CMake: it rewrites tests/data and must run in a fresh network namespace so
 * the dump holds exactly the sockets made here.  From the repository root, as root:
 *
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -O1 tests/tools/capture_netlink.c \
 *       -o /tmp/capture_netlink
 *   unshare -n sh -c 'ip link set lo up && /tmp/capture_netlink tests/data'
 *
 * It deliberately shares no code with server/diag.c, so the fixtures do not inherit a bug
 * of the parser they test.
 *
 * File format of netlink-*.bin: a sequence of datagrams, each a u32 length in host byte
 * order followed by exactly that many bytes as recvfrom() returned them.  Netlink itself is
 * host-endian, so these fixtures are x86-64 (little-endian) bytes.
 *
 * Sockets made (all ports fixed, clients bound before connect):
 *   IPv4  listener 127.0.0.1:7001
 *         7101->7001 ESTABLISHED both ends; the client sent 5 bytes the server never reads
 *         7102->7001 server close(): server FIN_WAIT_2 orphan, client CLOSE_WAIT
 *         7103->7001 client shutdown(SHUT_WR): client FIN_WAIT_2 (held), server CLOSE_WAIT
 *         7104->7001 client close() then server close(): client TIME_WAIT
 *         7302->7003 AF_INET client of the dual-stack listener, ESTABLISHED
 *   IPv6  listener [::1]:7002 (v6only), listener [::]:7003 (dual-stack)
 *         7201->7002 ESTABLISHED both ends
 *         7202->7002 server close(): server FIN_WAIT_2 orphan, client CLOSE_WAIT
 *         7203->7002 client TIME_WAIT
 *         [::ffff:127.0.0.1]:7301->7003 ESTABLISHED both ends (v4-mapped)
 *         7003->7302 server end of the AF_INET client above, v4-mapped
 *
 * Files written: proc-header-only.txt (before any socket exists), netlink-v4.bin, netlink-v6.bin (real dumps, sequence numbers SEQ_V4 and
 * SEQ_V6), netlink-done-enoent.bin (a real reply to a protocol without a diag handler:
 * on Linux 6.x the dump starts and its NLMSG_DONE carries -ENOENT), netlink-error-family.bin
 * (a real NLMSG_ERROR -EINVAL for an unknown family),
 * proc-tcp.txt, proc-tcp6.txt (read right after the dumps), and cases derived from the
 * real v4 bytes, each described at derive() below.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEQ_V4 0x1d000001u
#define SEQ_V6 0x1d000002u
#define SEQ_ERR_PROTO 0x1d000003u
#define SEQ_ERR_FAMILY 0x1d000004u

#define MAX_DGRAMS 64

struct dgram {
	unsigned char *b;
	uint32_t len;
};

struct dump {
	struct dgram d[MAX_DGRAMS];
	int n;
};

static const char *outdir;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void sa4(struct sockaddr_in *a, const char *ip, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &a->sin_addr) != 1)
		die("inet_pton");
}

static void sa6(struct sockaddr_in6 *a, const char *ip, int port)
{
	memset(a, 0, sizeof(*a));
	a->sin6_family = AF_INET6;
	a->sin6_port = htons((uint16_t)port);
	if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1)
		die("inet_pton6");
}

static int tcp_socket(int family)
{
	int one = 1, fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		die("SO_REUSEADDR");
	return fd;
}

static int listener(int family, const char *ip, int port, int v6only)
{
	int fd = tcp_socket(family);
	struct sockaddr_storage ss;
	socklen_t len;

	if (family == AF_INET) {
		sa4((struct sockaddr_in *)&ss, ip, port);
		len = sizeof(struct sockaddr_in);
	} else {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
			die("IPV6_V6ONLY");
		sa6((struct sockaddr_in6 *)&ss, ip, port);
		len = sizeof(struct sockaddr_in6);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("bind listener");
	if (listen(fd, 16) < 0)
		die("listen");
	return fd;
}

/* Connects a client bound to (ip, cport) to (ip, sport); returns the client and accepted fds. */
static void pair(int lfd, int family, const char *ip, int cport, int sport, int *cfd, int *sfd)
{
	struct sockaddr_storage b, t;
	socklen_t len;
	int fd = tcp_socket(family);

	if (family == AF_INET) {
		sa4((struct sockaddr_in *)&b, ip, cport);
		sa4((struct sockaddr_in *)&t, ip, sport);
		len = sizeof(struct sockaddr_in);
	} else {
		sa6((struct sockaddr_in6 *)&b, ip, cport);
		sa6((struct sockaddr_in6 *)&t, ip, sport);
		len = sizeof(struct sockaddr_in6);
	}
	if (bind(fd, (struct sockaddr *)&b, len) < 0)
		die("bind client");
	if (connect(fd, (struct sockaddr *)&t, len) < 0)
		die("connect");
	*cfd = fd;
	*sfd = accept(lfd, NULL, NULL);
	if (*sfd < 0)
		die("accept");
}

static int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (fd < 0)
		die("netlink socket");
	return fd;
}

static void nl_send(int fd, uint32_t seq, int family, int proto)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = seq;
	req.r.sdiag_family = (uint8_t)family;
	req.r.sdiag_protocol = (uint8_t)proto;
	/* The same request lingerd sends: states 1..12, no bit 13, no extensions. */
	req.r.idiag_states = 0x1ffe;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		die("sendto");
}

/* Receives datagrams until one holds NLMSG_DONE or NLMSG_ERROR. */
static void nl_record(int fd, struct dump *dp)
{
	static unsigned char buf[1 << 16];
	int end = 0;

	dp->n = 0;
	while (!end) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);

		if (n < 0)
			die("recv");
		if ((size_t)n > sizeof(buf) || dp->n == MAX_DGRAMS) {
			fprintf(stderr, "datagram too large or too many\n");
			exit(1);
		}
		dp->d[dp->n].b = malloc((size_t)n);
		if (!dp->d[dp->n].b)
			die("malloc");
		memcpy(dp->d[dp->n].b, buf, (size_t)n);
		dp->d[dp->n].len = (uint32_t)n;
		dp->n++;
		for (size_t off = 0; off + sizeof(struct nlmsghdr) <= (size_t)n;) {
			struct nlmsghdr h;

			memcpy(&h, buf + off, sizeof(h));
			if (h.nlmsg_type == NLMSG_DONE || h.nlmsg_type == NLMSG_ERROR)
				end = 1;
			if (h.nlmsg_len < sizeof(h))
				break;
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
	}
}

static void write_dump(const char *name, const struct dump *dp)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f)
		die(path);
	for (int i = 0; i < dp->n; i++) {
		if (fwrite(&dp->d[i].len, 4, 1, f) != 1 ||
		    (dp->d[i].len && fwrite(dp->d[i].b, dp->d[i].len, 1, f) != 1))
			die("fwrite");
	}
	if (fclose(f) != 0)
		die("fclose");
	printf("wrote %s (%d datagrams)\n", path, dp->n);
}

static void copy_file(const char *from, const char *name, int drop_final_newline)
{
	static char buf[1 << 20];
	char path[512];
	size_t len = 0;
	ssize_t n;
	int fd = open(from, O_RDONLY);
	FILE *f;

	if (fd < 0)
		die(from);
	while ((n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		die("read");
	close(fd);
	if (drop_final_newline && len && buf[len - 1] == '\n')
		len--;
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(path);
	printf("wrote %s\n", path);
}

/* A datagram copy; the derived cases edit copies, never the recorded bytes. */
static struct dgram dup_dgram(const struct dgram *g, uint32_t len)
{
	struct dgram c = { malloc(g->len + 64), len };

	if (!c.b)
		die("malloc");
	memcpy(c.b, g->b, g->len);
	return c;
}

static struct nlmsghdr *msg_at(unsigned char *b, size_t off)
{
	return (struct nlmsghdr *)(b + off);
}

/* Offset of the first message that carries at least one attribute. */
static size_t first_with_attr(const struct dgram *g)
{
	for (size_t off = 0; off < g->len;) {
		struct nlmsghdr *h = msg_at(g->b, off);

		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h->nlmsg_len > NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
			return off;
		off += NLMSG_ALIGN(h->nlmsg_len);
	}
	fprintf(stderr, "no message with attributes\n");
	exit(1);
}

/*
 * Cases derived from the real v4 dump v (records in datagram 0, DONE in the last):
 *   netlink-done-error.bin   the real datagrams, DONE's int set to -ENOBUFS
 *   netlink-truncated.bin    datagram 0 cut 20 bytes into its second message
 *   netlink-overlong.bin     datagram 0 with the first nlmsg_len 4 past the datagram
 *   netlink-short-msg.bin    the first message cut to a 40-byte payload (< inet_diag_msg)
 *   netlink-bad-attr.bin     the first attribute's rta_len runs past its message
 *   netlink-short-attr.bin   the first attribute's rta_len is 2 (< sizeof(struct rtattr))
 *   netlink-intr.bin         the real datagrams, NLM_F_DUMP_INTR on the first message
 *   netlink-odd-states.bin   the real datagrams, message 1 state 12 (TCP_NEW_SYN_RECV),
 *                            message 2 state 13 (TCP_BOUND_INACTIVE, must be skipped)
 */
static void derive(const struct dump *v)
{
	const struct dgram *d0 = &v->d[0], *last = &v->d[v->n - 1];
	struct dump o;
	struct nlmsghdr *h;
	size_t off;

	/* DONE carrying an error: the real DONE payload is an int 0. */
	o = *v;
	o.d[v->n - 1] = dup_dgram(last, last->len);
	for (off = 0; off < last->len; off += NLMSG_ALIGN(h->nlmsg_len)) {
		h = msg_at(o.d[v->n - 1].b, off);
		if (h->nlmsg_type == NLMSG_DONE) {
			int e = -ENOBUFS;

			memcpy(NLMSG_DATA(h), &e, sizeof(e));
		}
	}
	write_dump("netlink-done-error.bin", &o);

	h = msg_at(d0->b, 0);
	o.n = 1;
	o.d[0] = dup_dgram(d0, NLMSG_ALIGN(h->nlmsg_len) + 20);
	write_dump("netlink-truncated.bin", &o);

	o.d[0] = dup_dgram(d0, d0->len);
	msg_at(o.d[0].b, 0)->nlmsg_len = d0->len + 4;
	write_dump("netlink-overlong.bin", &o);

	o.d[0] = dup_dgram(d0, NLMSG_LENGTH(40));
	msg_at(o.d[0].b, 0)->nlmsg_len = NLMSG_LENGTH(40);
	write_dump("netlink-short-msg.bin", &o);

	off = first_with_attr(d0);
	o.d[0] = dup_dgram(d0, d0->len);
	{
		struct nlmsghdr *m = msg_at(o.d[0].b, off);
		struct rtattr *a = (struct rtattr *)((unsigned char *)NLMSG_DATA(m) +
						     NLMSG_ALIGN(sizeof(struct inet_diag_msg)));

		a->rta_len = (unsigned short)(m->nlmsg_len - NLMSG_LENGTH(sizeof(struct inet_diag_msg)) + 4);
		write_dump("netlink-bad-attr.bin", &o);
		o.d[0] = dup_dgram(d0, d0->len);
		m = msg_at(o.d[0].b, off);
		a = (struct rtattr *)((unsigned char *)NLMSG_DATA(m) +
				      NLMSG_ALIGN(sizeof(struct inet_diag_msg)));
		a->rta_len = 2;
		write_dump("netlink-short-attr.bin", &o);
	}

	o = *v;
	o.d[0] = dup_dgram(d0, d0->len);
	msg_at(o.d[0].b, 0)->nlmsg_flags |= NLM_F_DUMP_INTR;
	write_dump("netlink-intr.bin", &o);

	o = *v;
	o.d[0] = dup_dgram(d0, d0->len);
	h = msg_at(o.d[0].b, 0);
	((struct inet_diag_msg *)NLMSG_DATA(h))->idiag_state = 12;
	h = msg_at(o.d[0].b, NLMSG_ALIGN(h->nlmsg_len));
	((struct inet_diag_msg *)NLMSG_DATA(h))->idiag_state = 13;
	write_dump("netlink-odd-states.bin", &o);
}

int main(int argc, char **argv)
{
	int l4, l6, ld, c[16], s[16];
	struct dump v4, v6, e;
	int nl;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR (run in a fresh netns)\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	/* A fresh namespace has no TCP socket yet: a real header-only table. */
	copy_file("/proc/net/tcp", "proc-header-only.txt", 0);

	l4 = listener(AF_INET, "127.0.0.1", 7001, 1);
	l6 = listener(AF_INET6, "::1", 7002, 1);
	ld = listener(AF_INET6, "::", 7003, 0);

	pair(l4, AF_INET, "127.0.0.1", 7101, 7001, &c[0], &s[0]);
	if (write(c[0], "hello", 5) != 5)
		die("write");
	pair(l4, AF_INET, "127.0.0.1", 7102, 7001, &c[1], &s[1]);
	close(s[1]);
	pair(l4, AF_INET, "127.0.0.1", 7103, 7001, &c[2], &s[2]);
	shutdown(c[2], SHUT_WR);
	pair(l4, AF_INET, "127.0.0.1", 7104, 7001, &c[3], &s[3]);
	close(c[3]);
	usleep(50 * 1000);
	close(s[3]);
	pair(ld, AF_INET, "127.0.0.1", 7302, 7003, &c[4], &s[4]);

	pair(l6, AF_INET6, "::1", 7201, 7002, &c[5], &s[5]);
	pair(l6, AF_INET6, "::1", 7202, 7002, &c[6], &s[6]);
	close(s[6]);
	pair(l6, AF_INET6, "::1", 7203, 7002, &c[7], &s[7]);
	close(c[7]);
	usleep(50 * 1000);
	close(s[7]);
	pair(ld, AF_INET6, "::ffff:127.0.0.1", 7301, 7003, &c[8], &s[8]);

	/* Let every FIN and ACK land so the states are final before the snapshot. */
	usleep(200 * 1000);

	nl = nl_open();
	nl_send(nl, SEQ_V4, AF_INET, IPPROTO_TCP);
	nl_record(nl, &v4);
	nl_send(nl, SEQ_V6, AF_INET6, IPPROTO_TCP);
	nl_record(nl, &v6);
	copy_file("/proc/net/tcp", "proc-tcp.txt", 0);
	copy_file("/proc/net/tcp6", "proc-tcp6.txt", 0);
	copy_file("/proc/net/tcp6", "proc-no-newline.txt", 1);
	write_dump("netlink-v4.bin", &v4);
	write_dump("netlink-v6.bin", &v6);

	/* Protocol 200 has no inet_diag handler and family 250 no sock_diag handler. */
	nl_send(nl, SEQ_ERR_PROTO, AF_INET, 200);
	nl_record(nl, &e);
	write_dump("netlink-done-enoent.bin", &e);
	nl_send(nl, SEQ_ERR_FAMILY, 250, IPPROTO_TCP);
	nl_record(nl, &e);
	write_dump("netlink-error-family.bin", &e);

	derive(&v4);
	return 0;
}
