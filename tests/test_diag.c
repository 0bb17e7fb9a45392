/* test_diag.c - replays recorded sock_diag replies through diag_parse and checks a live dump. */
/*
 * Fixtures come from tests/tools/capture_netlink.c (see its header for the sockets it
 * makes and the derived cases).  Every datagram is copied into a heap block of exactly
 * its length, so an ASan build catches any read past the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/inet_diag.h>

#include "check.h"
#include "diag.h"
#include "procnet.h"

/* Sequence numbers the capture tool used. */
#define SEQ_V4 0x1d000001u
#define SEQ_V6 0x1d000002u
#define SEQ_ERR_PROTO 0x1d000003u
#define SEQ_ERR_FAMILY 0x1d000004u

#define MAX_DGRAMS 64

struct dgrams {
	unsigned char *b[MAX_DGRAMS];
	size_t len[MAX_DGRAMS];
	int n;
};

static const uint8_t LOOP4[16] = { 127, 0, 0, 1 };
static const uint8_t LOOP6[16] = { [15] = 1 };
static const uint8_t ANY[16];
static const uint8_t MAPPED[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };

static const char *data_dir(void)
{
	const char *d = getenv("LINGERD_TEST_DATA");

	return d ? d : "tests/data";
}

static unsigned char *slurp(const char *name, size_t *len)
{
	char path[1024];
	unsigned char *buf = NULL;
	long sz;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)sz + 1);
		if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
			free(buf);
			buf = NULL;
		}
		*len = (size_t)sz;
	}
	fclose(f);
	return buf;
}

/* Splits a u32-length-prefixed fixture into exactly-sized heap datagrams. */
static int load(const char *name, struct dgrams *g)
{
	size_t len, off = 0;
	unsigned char *raw = slurp(name, &len);

	g->n = 0;
	if (!raw)
		return -1;
	while (off + 4 <= len && g->n < MAX_DGRAMS) {
		uint32_t l;

		memcpy(&l, raw + off, 4);
		off += 4;
		if (l > len - off)
			break;
		g->b[g->n] = malloc(l ? l : 1);
		memcpy(g->b[g->n], raw + off, l);
		g->len[g->n] = l;
		g->n++;
		off += l;
	}
	free(raw);
	return off == len ? 0 : -1;
}

static void unload(struct dgrams *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->b[i]);
	g->n = 0;
}

/* Feeds every datagram of a fixture; returns the first diag_parse error. */
static int replay(const char *name, uint32_t seq, struct diag_parse_state *st,
		  struct sock_vec *out)
{
	struct dgrams g;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->seq = seq;
	if (load(name, &g) < 0) {
		CHECK(!"fixture loads");
		unload(&g);
		return -999;
	}
	for (int i = 0; i < g.n && !st->done && rc == 0; i++)
		rc = diag_parse(st, g.b[i], g.len[i], out);
	unload(&g);
	return rc;
}

static const struct sock_rec *find(const struct sock_vec *sv, int family, unsigned lport,
				   unsigned rport)
{
	for (size_t i = 0; i < sv->n; i++) {
		const struct sock_rec *r = &sv->v[i];

		if (r->family == family && r->lport == lport && r->rport == rport)
			return r;
	}
	return NULL;
}

/* Three recognisable records, so a failed call can be seen to leave them alone. */
static void prefill(struct sock_vec *sv)
{
	struct sock_rec r;

	memset(&r, 0xa5, sizeof(r));
	sv->n = 0;
	for (int i = 0; i < 3; i++)
		sock_vec_push(sv, &r);
}

static int prefill_intact(const struct sock_vec *sv)
{
	if (sv->n != 3)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		const unsigned char *p = (const unsigned char *)&sv->v[i];

		for (size_t k = 0; k < sizeof(sv->v[i]); k++)
			if (p[k] != 0xa5)
				return 0;
	}
	return 1;
}

static int cookies_distinct(const struct sock_vec *sv)
{
	for (size_t i = 0; i < sv->n; i++) {
		if (sv->v[i].cookie == 0)
			return 0;
		for (size_t j = i + 1; j < sv->n; j++)
			if (sv->v[i].cookie == sv->v[j].cookie)
				return 0;
	}
	return 1;
}

static void test_v4_dump(void)
{
	struct sock_vec sv = { 0 };
	struct diag_parse_state st;
	const struct sock_rec *r;

	CHECK_INT(replay("netlink-v4.bin", SEQ_V4, &st, &sv), ==, 0);
	CHECK_INT(st.done, ==, 1);
	CHECK_INT(st.error, ==, 0);
	CHECK_INT(st.interrupted, ==, 0);
	CHECK_INT(sv.n, ==, 9);
	CHECK(cookies_distinct(&sv));
	for (size_t i = 0; i < sv.n; i++) {
		CHECK_INT(sv.v[i].family, ==, AF_INET);
		CHECK_INT(sv.v[i].uid, ==, 0);
		CHECK(memcmp(sv.v[i].laddr, LOOP4, 16) == 0);
	}

	r = find(&sv, AF_INET, 7001, 0);
	CHECK(r != NULL);
	if (r) {
		CHECK_INT(r->state, ==, SOCK_LISTEN);
		CHECK(memcmp(r->raddr, ANY, 16) == 0);
		CHECK_INT(r->inode, !=, 0);
		CHECK_INT(r->timer, ==, SOCK_TIMER_NONE);
		CHECK_INT(r->shutdown, ==, 0);
		CHECK_INT(r->wqueue, ==, 16); /* the listen() backlog */
	}
	/* Established both ways; the server never read the client's 5 bytes. */
	r = find(&sv, AF_INET, 7101, 7001);
	CHECK(r && r->state == SOCK_ESTABLISHED && r->inode != 0 && r->rqueue == 0);
	CHECK(r && memcmp(r->raddr, LOOP4, 16) == 0);
	r = find(&sv, AF_INET, 7001, 7101);
	CHECK(r && r->state == SOCK_ESTABLISHED && r->rqueue == 5 && r->shutdown == 0);
	/* Server close(): its end is an orphan, kept as a timewait sock in FIN_WAIT_2. */
	r = find(&sv, AF_INET, 7001, 7102);
	CHECK(r != NULL);
	if (r) {
		CHECK_INT(r->state, ==, SOCK_FIN_WAIT2);
		CHECK_INT(r->inode, ==, 0);
		CHECK_INT(r->timer, ==, SOCK_TIMER_TIMEWAIT);
		CHECK(r->expires_ms > 0 && r->expires_ms <= 60000);
		CHECK_INT(r->shutdown, ==, SOCK_SHUT_UNKNOWN);
	}
	r = find(&sv, AF_INET, 7102, 7001);
	CHECK(r != NULL);
	if (r) {
		CHECK_INT(r->state, ==, SOCK_CLOSE_WAIT);
		CHECK_INT(r->inode, !=, 0);
		CHECK_INT(r->shutdown, ==, SOCK_SHUT_RD);
		CHECK_INT(r->rqueue, ==, 1); /* the FIN counts in rcv_nxt - copied_seq */
	}
	/* shutdown(SHUT_WR): FIN_WAIT_2 still held by its fd, no timer, may live forever. */
	r = find(&sv, AF_INET, 7103, 7001);
	CHECK(r != NULL);
	if (r) {
		CHECK_INT(r->state, ==, SOCK_FIN_WAIT2);
		CHECK_INT(r->inode, !=, 0);
		CHECK_INT(r->timer, ==, SOCK_TIMER_NONE);
		CHECK_INT(r->shutdown, ==, SOCK_SHUT_WR);
	}
	r = find(&sv, AF_INET, 7001, 7103);
	CHECK(r && r->state == SOCK_CLOSE_WAIT && r->inode != 0 && r->shutdown == SOCK_SHUT_RD);
	r = find(&sv, AF_INET, 7104, 7001);
	CHECK(r != NULL);
	if (r) {
		CHECK_INT(r->state, ==, SOCK_TIME_WAIT);
		CHECK_INT(r->inode, ==, 0);
		CHECK_INT(r->timer, ==, SOCK_TIMER_TIMEWAIT);
		CHECK(r->expires_ms > 0 && r->expires_ms <= 60000);
		CHECK_INT(r->shutdown, ==, SOCK_SHUT_UNKNOWN);
		CHECK(memcmp(r->raddr, LOOP4, 16) == 0);
	}
	r = find(&sv, AF_INET, 7302, 7003);
	CHECK(r && r->state == SOCK_ESTABLISHED);
	sock_vec_free(&sv);
}

static void test_v6_dump(void)
{
	struct sock_vec sv = { 0 };
	struct diag_parse_state st;
	const struct sock_rec *r;

	CHECK_INT(replay("netlink-v6.bin", SEQ_V6, &st, &sv), ==, 0);
	CHECK_INT(st.done, ==, 1);
	CHECK_INT(st.error, ==, 0);
	CHECK_INT(sv.n, ==, 10);
	CHECK(cookies_distinct(&sv));

	r = find(&sv, AF_INET6, 7002, 0);
	CHECK(r && r->state == SOCK_LISTEN && memcmp(r->laddr, LOOP6, 16) == 0 &&
	      memcmp(r->raddr, ANY, 16) == 0);
	r = find(&sv, AF_INET6, 7003, 0);
	CHECK(r && r->state == SOCK_LISTEN && memcmp(r->laddr, ANY, 16) == 0);
	r = find(&sv, AF_INET6, 7201, 7002);
	CHECK(r && r->state == SOCK_ESTABLISHED && memcmp(r->laddr, LOOP6, 16) == 0 &&
	      memcmp(r->raddr, LOOP6, 16) == 0 && r->inode != 0);
	r = find(&sv, AF_INET6, 7202, 7002);
	CHECK(r && r->state == SOCK_CLOSE_WAIT && r->inode != 0);
	r = find(&sv, AF_INET6, 7002, 7202);
	CHECK(r && r->state == SOCK_FIN_WAIT2 && r->inode == 0 && r->timer == SOCK_TIMER_TIMEWAIT);
	r = find(&sv, AF_INET6, 7203, 7002);
	CHECK(r && r->state == SOCK_TIME_WAIT && r->inode == 0 && r->timer == SOCK_TIMER_TIMEWAIT &&
	      memcmp(r->laddr, LOOP6, 16) == 0);
	/* v4-mapped ends stay AF_INET6 and keep the ::ffff:a.b.c.d bytes. */
	r = find(&sv, AF_INET6, 7301, 7003);
	CHECK(r && r->state == SOCK_ESTABLISHED && memcmp(r->laddr, MAPPED, 16) == 0 &&
	      memcmp(r->raddr, MAPPED, 16) == 0);
	r = find(&sv, AF_INET6, 7003, 7301);
	CHECK(r && r->state == SOCK_ESTABLISHED && memcmp(r->laddr, MAPPED, 16) == 0);
	r = find(&sv, AF_INET6, 7003, 7302);
	CHECK(r && r->state == SOCK_ESTABLISHED && memcmp(r->raddr, MAPPED, 16) == 0);
	sock_vec_free(&sv);
}

/* The /proc tables were read right after the dumps: both parsers must agree on them. */
static void cross_check(const char *bin, uint32_t seq, const char *txt, int family)
{
	struct sock_vec nl = { 0 }, pr = { 0 };
	struct diag_parse_state st;
	size_t len;
	char *text = (char *)slurp(txt, &len);

	CHECK_INT(replay(bin, seq, &st, &nl), ==, 0);
	CHECK(text != NULL);
	if (text)
		CHECK_INT(procnet_parse(text, len, family, 100, &pr), ==, 0);
	CHECK_INT(pr.n, ==, nl.n);
	for (size_t i = 0; i < pr.n; i++) {
		const struct sock_rec *p = &pr.v[i];
		const struct sock_rec *n = find(&nl, family, p->lport, p->rport);

		CHECK(n != NULL);
		if (!n)
			continue;
		CHECK_INT(n->state, ==, p->state);
		CHECK_INT(n->inode, ==, p->inode);
		CHECK_INT(n->uid, ==, p->uid);
		CHECK_INT(n->timer, ==, p->timer);
		CHECK_INT(n->rqueue, ==, p->rqueue);
		CHECK(memcmp(n->laddr, p->laddr, 16) == 0);
		CHECK(memcmp(n->raddr, p->raddr, 16) == 0);
	}
	free(text);
	sock_vec_free(&nl);
	sock_vec_free(&pr);
}

static void test_errors(void)
{
	struct sock_vec sv = { 0 };
	struct diag_parse_state st;

	/* Real: a protocol without a handler; Linux 6.x starts the dump, DONE says -ENOENT. */
	CHECK_INT(replay("netlink-done-enoent.bin", SEQ_ERR_PROTO, &st, &sv), ==, 0);
	CHECK_INT(st.done, ==, 1);
	CHECK_INT(st.error, ==, -ENOENT);
	CHECK_INT(sv.n, ==, 0);

	/* Real: NLMSG_ERROR for an unknown family. */
	CHECK_INT(replay("netlink-error-family.bin", SEQ_ERR_FAMILY, &st, &sv), ==, 0);
	CHECK_INT(st.done, ==, 1);
	CHECK_INT(st.error, ==, -EINVAL);
	CHECK_INT(sv.n, ==, 0);

	/* Derived: records, then a DONE carrying -ENOBUFS. */
	CHECK_INT(replay("netlink-done-error.bin", SEQ_V4, &st, &sv), ==, 0);
	CHECK_INT(st.done, ==, 1);
	CHECK_INT(st.error, ==, -ENOBUFS);
	CHECK_INT(sv.n, ==, 9);

	static const char *const bad[] = {
		"netlink-truncated.bin", "netlink-overlong.bin",   "netlink-short-msg.bin",
		"netlink-bad-attr.bin",  "netlink-short-attr.bin",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		prefill(&sv);
		rc = replay(bad[i], SEQ_V4, &st, &sv);
		if (rc != -EPROTO)
			fprintf(stderr, "case %s\n", bad[i]);
		CHECK_INT(rc, ==, -EPROTO);
		CHECK(prefill_intact(&sv));
		CHECK_INT(st.done, ==, 0);
	}

	/* Derived: NLM_F_DUMP_INTR on one message marks the whole dump. */
	sv.n = 0;
	CHECK_INT(replay("netlink-intr.bin", SEQ_V4, &st, &sv), ==, 0);
	CHECK_INT(st.interrupted, ==, 1);
	CHECK_INT(st.done, ==, 1);
	CHECK_INT(sv.n, ==, 9);

	/*
	 * Derived: message 1 set to state 12 (a request socket) reads as SYN_RECV; message 2
	 * set to 13 is skipped.  The real dump, parsed in order, names those two sockets.
	 */
	struct sock_vec real = { 0 };

	CHECK_INT(replay("netlink-v4.bin", SEQ_V4, &st, &real), ==, 0);
	sv.n = 0;
	CHECK_INT(replay("netlink-odd-states.bin", SEQ_V4, &st, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 8);
	if (real.n >= 2) {
		const struct sock_rec *r = find(&sv, AF_INET, real.v[0].lport, real.v[0].rport);

		CHECK(r && r->state == SOCK_SYN_RECV);
		CHECK(find(&sv, AF_INET, real.v[1].lport, real.v[1].rport) == NULL);
	}
	sock_vec_free(&real);

	/* Messages of another request (a stale sequence number) are ignored, even DONE. */
	sv.n = 0;
	CHECK_INT(replay("netlink-v4.bin", SEQ_V4 + 1, &st, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 0);
	CHECK_INT(st.done, ==, 0);
	sock_vec_free(&sv);
}

/*
 * Every prefix of every real datagram, and every single-byte corruption of the records
 * datagram: the parser must answer 0 or -EPROTO, keep out intact on error, and (under
 * ASan) never touch a byte past the exact-size copy.
 */
static void test_hostile(void)
{
	static const char *const files[] = { "netlink-v4.bin", "netlink-v6.bin",
					     "netlink-error-family.bin",
					     "netlink-done-enoent.bin" };
	struct sock_vec sv = { 0 };
	int bad_rc = 0, bad_keep = 0;

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct dgrams g;

		if (load(files[f], &g) < 0) {
			CHECK(!"fixture loads");
			unload(&g);
			continue;
		}
		for (int i = 0; i < g.n; i++) {
			for (size_t cut = 0; cut <= g.len[i]; cut++) {
				struct diag_parse_state st = { .seq = 0 };
				unsigned char *b = malloc(cut ? cut : 1);
				struct nlmsghdr_min { uint32_t len, type_flags, seq; } h;
				int rc;

				memcpy(b, g.b[i], cut);
				memcpy(&h, g.b[i], sizeof(h));
				st.seq = h.seq;
				prefill(&sv);
				rc = diag_parse(&st, b, cut, &sv);
				bad_rc += rc != 0 && rc != -EPROTO;
				bad_keep += rc == -EPROTO && !prefill_intact(&sv);
				free(b);
			}
		}
		/* Corrupt each byte of the first datagram in turn. */
		for (size_t k = 0; k < g.len[0]; k++) {
			for (int x = 0; x < 3; x++) {
				static const unsigned char flips[] = { 0xff, 0x80, 0x01 };
				struct diag_parse_state st = { .seq = 0 };
				unsigned char *b = malloc(g.len[0]);
				uint32_t seq;
				int rc;

				memcpy(b, g.b[0], g.len[0]);
				memcpy(&seq, g.b[0] + 8, 4);
				b[k] ^= flips[x];
				st.seq = seq;
				prefill(&sv);
				rc = diag_parse(&st, b, g.len[0], &sv);
				bad_rc += rc != 0 && rc != -EPROTO;
				bad_keep += rc == -EPROTO && !prefill_intact(&sv);
				free(b);
			}
		}
		unload(&g);
	}
	CHECK_INT(bad_rc, ==, 0);
	CHECK_INT(bad_keep, ==, 0);
	sock_vec_free(&sv);
}

/*
 * The test's own sockets among a dump: the listener on 127.0.0.1:port and the two ends of its
 * one connection.  Other sockets of the host may use the same port number (a TIME_WAIT of
 * another test, say), so the loopback address must match too, and only one connection counts.
 */
static int count_port(const struct sock_vec *sv, unsigned port)
{
	int listen = 0, server = 0, client = 0;

	for (size_t i = 0; i < sv->n; i++) {
		const struct sock_rec *r = &sv->v[i];

		if (r->family != AF_INET || memcmp(r->laddr, LOOP4, 4) != 0)
			continue;
		if (r->lport == port && r->state == SOCK_LISTEN)
			listen++;
		else if (r->lport == port && r->state == SOCK_ESTABLISHED)
			server++;
		else if (r->rport == port && r->state == SOCK_ESTABLISHED &&
			 memcmp(r->raddr, LOOP4, 4) == 0)
			client++;
	}
	return listen + server + client;
}

/* Checks one live record against what the socket itself says. */
static void check_live(const struct sock_vec *sv, int fd, int state)
{
	struct sockaddr_in me, peer = { 0 };
	socklen_t len = sizeof(me);
	const struct sock_rec *r;
	struct stat sb;
	uint64_t cookie = 0;
	socklen_t clen = sizeof(cookie);

	CHECK_INT(getsockname(fd, (struct sockaddr *)&me, &len), ==, 0);
	len = sizeof(peer);
	if (state != SOCK_LISTEN)
		CHECK_INT(getpeername(fd, (struct sockaddr *)&peer, &len), ==, 0);
	r = find(sv, AF_INET, ntohs(me.sin_port), ntohs(peer.sin_port));
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_INT(r->state, ==, state);
	CHECK(memcmp(r->laddr, &me.sin_addr, 4) == 0);
	CHECK(memcmp(r->raddr, &peer.sin_addr, 4) == 0);
	CHECK(memcmp(r->laddr + 4, ANY, 12) == 0);
	CHECK_INT(fstat(fd, &sb), ==, 0);
	CHECK_INT(r->inode, ==, sb.st_ino);
	CHECK_INT(r->uid, ==, geteuid());
	CHECK_INT(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &clen), ==, 0);
	CHECK_INT(r->cookie, ==, cookie);
	CHECK_INT(r->shutdown, ==, 0);
}

static void test_live(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sock_vec sv = { 0 }, pr = { 0 };
	struct diag *d = NULL;
	socklen_t len = sizeof(a);
	int lfd, cfd, sfd, partial = 0, rc;
	unsigned port;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(lfd >= 0);
	CHECK_INT(bind(lfd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	CHECK_INT(listen(lfd, 8), ==, 0);
	CHECK_INT(getsockname(lfd, (struct sockaddr *)&a, &len), ==, 0);
	port = ntohs(a.sin_port);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_INT(connect(cfd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
	sfd = accept(lfd, NULL, NULL);
	CHECK(sfd >= 0);

	CHECK_INT(diag_open(&d), ==, 0);
	if (!d)
		goto out;
	/* Records already in the vector survive; new ones are appended after them. */
	prefill(&sv);
	rc = diag_dump(d, AF_INET, &sv, &partial);
	CHECK_INT(rc, ==, 0);
	CHECK_INT(partial, ==, 0);
	CHECK(sv.n >= 6);
	CHECK(memcmp(&sv.v[2], &sv.v[0], sizeof(sv.v[0])) == 0 && sv.v[0].uid == 0xa5a5a5a5u);
	check_live(&sv, lfd, SOCK_LISTEN);
	check_live(&sv, cfd, SOCK_ESTABLISHED);
	check_live(&sv, sfd, SOCK_ESTABLISHED);
	CHECK_INT(count_port(&sv, port), ==, 3);

	/* /proc/net/tcp sees the same three sockets with the same inodes. */
	CHECK_INT(procnet_read("/proc/net/tcp", AF_INET, &pr), ==, 0);
	CHECK_INT(count_port(&pr, port), ==, count_port(&sv, port));
	for (size_t i = 0; i < pr.n; i++) {
		const struct sock_rec *p = &pr.v[i], *n;

		if (p->lport != port && p->rport != port)
			continue;
		n = find(&sv, AF_INET, p->lport, p->rport);
		CHECK(n && n->inode == p->inode && n->state == p->state);
	}

	/* The socket is reusable dump after dump, and the other family works too. */
	for (int i = 0; i < 3; i++) {
		sv.n = 0;
		CHECK_INT(diag_dump(d, AF_INET, &sv, &partial), ==, 0);
		CHECK_INT(count_port(&sv, port), ==, 3);
	}
	sv.n = 0;
	CHECK_INT(diag_dump(d, AF_INET6, &sv, NULL), ==, 0);
	for (size_t i = 0; i < sv.n; i++)
		CHECK_INT(sv.v[i].family, ==, AF_INET6);

	/* One walk for both families (the legacy request) finds the same three sockets. */
	sv.n = 0;
	CHECK_INT(diag_dump(d, AF_UNSPEC, &sv, &partial), ==, 0);
	CHECK_INT(count_port(&sv, port), ==, 3);
	check_live(&sv, lfd, SOCK_LISTEN);
	check_live(&sv, sfd, SOCK_ESTABLISHED);

	prefill(&sv);
	CHECK_INT(diag_dump(d, AF_UNIX, &sv, &partial), ==, -EINVAL);
	CHECK(prefill_intact(&sv));
out:
	diag_close(d);
	diag_close(NULL);
	close(sfd);
	close(cfd);
	close(lfd);
	sock_vec_free(&sv);
	sock_vec_free(&pr);
}

/* Feeds a fixture as the reply to a request whose records have the given type. */
static int replay_type(const char *name, uint32_t seq, uint16_t type,
		       struct diag_parse_state *st, struct sock_vec *out)
{
	struct dgrams g;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->seq = seq;
	st->type = type;
	if (load(name, &g) < 0) {
		CHECK(!"fixture loads");
		unload(&g);
		return -999;
	}
	for (int i = 0; i < g.n && !st->done && rc == 0; i++)
		rc = diag_parse(st, g.b[i], g.len[i], out);
	unload(&g);
	return rc;
}

/* The same socket in the same state; timers ran on between the dumps, so not expires_ms. */
static int same_rec(const struct sock_rec *a, const struct sock_rec *b)
{
	return a->cookie == b->cookie && a->inode == b->inode && a->netns == b->netns &&
	       a->uid == b->uid && a->rqueue == b->rqueue && a->wqueue == b->wqueue &&
	       a->retrans == b->retrans && a->lport == b->lport && a->rport == b->rport &&
	       a->family == b->family && a->state == b->state && a->timer == b->timer &&
	       a->shutdown == b->shutdown && memcmp(a->laddr, b->laddr, 16) == 0 &&
	       memcmp(a->raddr, b->raddr, 16) == 0;
}

/*
 * Real replies (tests/tools/capture_compat.py): one legacy TCPDIAG_GETSOCK dump and the two
 * per-family dumps of the same sockets.  The one walk returns exactly the union, record for
 * record (cookies included), and a parser expecting the other message type takes none.
 */
static void test_compat_dump(void)
{
	struct sock_vec all = { 0 }, fam = { 0 };
	struct diag_parse_state st;
	size_t v4 = 0, v6 = 0, found = 0;

	CHECK_INT(replay_type("netlink-compat.bin", 0x4c430001, TCPDIAG_GETSOCK, &st, &all), ==, 0);
	CHECK_INT(st.done, ==, 1);
	CHECK_INT(st.error, ==, 0);
	CHECK_INT(replay("netlink-compat-v4.bin", 0x4c430002, &st, &fam), ==, 0);
	v4 = fam.n;
	CHECK_INT(replay("netlink-compat-v6.bin", 0x4c430003, &st, &fam), ==, 0);
	v6 = fam.n - v4;
	CHECK_INT(v4, ==, 6); /* listener, ESTABLISHED pair, CLOSE_WAIT + FIN_WAIT_2, TIME_WAIT */
	CHECK_INT(v6, ==, 9); /* the same, plus a dual-stack listener and a v4-mapped pair */
	CHECK_INT(all.n, ==, fam.n);
	CHECK(cookies_distinct(&all));
	for (size_t i = 0; i < all.n; i++)
		for (size_t j = 0; j < fam.n; j++)
			if (same_rec(&all.v[i], &fam.v[j])) {
				found++;
				break;
			}
	CHECK_INT(found, ==, all.n);

	/* Record messages of the other type are not records of this dump. */
	fam.n = 0;
	CHECK_INT(replay("netlink-compat.bin", 0x4c430001, &st, &fam), ==, 0);
	CHECK_INT(fam.n, ==, 0);
	CHECK_INT(st.done, ==, 1);
	sock_vec_free(&all);
	sock_vec_free(&fam);
}

int main(void)
{
	test_v4_dump();
	test_v6_dump();
	cross_check("netlink-v4.bin", SEQ_V4, "proc-tcp.txt", AF_INET);
	cross_check("netlink-v6.bin", SEQ_V6, "proc-tcp6.txt", AF_INET6);
	test_errors();
	test_compat_dump();
	test_hostile();
	test_live();
	return CHECK_DONE();
}
