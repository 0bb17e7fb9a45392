/* test_procnet.c - parses recorded and hostile /proc/net/tcp{,6} text. */
/*
 * proc-*.txt come from tests/tools/capture_netlink.c (a private netns with known ports).
 * Inline cases are copied into heap blocks of exactly their length with no terminating
 * NUL, so an ASan build catches any read past the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "procnet.h"

#define HDR4 "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
#define HDR6 "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
/* A real ESTABLISHED line; the cases below change one column at a time. */
#define GOOD4 "   3: 0100007F:1B59 0100007F:1BBD 01 00000002:00000005 01:0000012C 00000003  1000        0 9311 1 00000000768b1379 20 4 30 10 -1"

static const uint8_t LOOP4[16] = { 127, 0, 0, 1 };
static const uint8_t LOOP6[16] = { [15] = 1 };
static const uint8_t ANY[16];
static const uint8_t MAPPED[16] = { [10] = 0xff, [11] = 0xff, 127, 0, 0, 1 };

static const char *data_dir(void)
{
	const char *d = getenv("LINGERD_TEST_DATA");

	return d ? d : "tests/data";
}

/* Parses text from an exact-size heap copy (no NUL after it). */
static int parse(const char *text, size_t len, int family, long hz, struct sock_vec *out)
{
	char *b = malloc(len ? len : 1);
	int rc;

	memcpy(b, text, len);
	rc = procnet_parse(b, len, family, hz, out);
	free(b);
	return rc;
}

static int parse_str(const char *text, int family, struct sock_vec *out)
{
	return parse(text, strlen(text), family, 100, out);
}

static int read_fixture(const char *name, int family, struct sock_vec *out)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	return procnet_read(path, family, out);
}

static const struct sock_rec *find(const struct sock_vec *sv, unsigned lport, unsigned rport)
{
	for (size_t i = 0; i < sv->n; i++)
		if (sv->v[i].lport == lport && sv->v[i].rport == rport)
			return &sv->v[i];
	return NULL;
}

static void test_good_line(void)
{
	struct sock_vec sv = { 0 };
	const struct sock_rec *r;

	CHECK_INT(parse_str(HDR4 GOOD4 "\n", AF_INET, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 1);
	r = &sv.v[0];
	CHECK_INT(r->family, ==, AF_INET);
	CHECK(memcmp(r->laddr, LOOP4, 16) == 0);
	CHECK(memcmp(r->raddr, LOOP4, 16) == 0);
	CHECK_INT(r->lport, ==, 7001);
	CHECK_INT(r->rport, ==, 7101);
	CHECK_INT(r->state, ==, SOCK_ESTABLISHED);
	CHECK_INT(r->wqueue, ==, 2);
	CHECK_INT(r->rqueue, ==, 5);
	CHECK_INT(r->timer, ==, SOCK_TIMER_RETRANSMIT);
	CHECK_INT(r->expires_ms, ==, 3000); /* 0x12C = 300 ticks at 100 Hz */
	CHECK_INT(r->retrans, ==, 3);
	CHECK_INT(r->uid, ==, 1000);
	CHECK_INT(r->inode, ==, 9311);
	CHECK_INT(r->cookie, ==, 0);
	CHECK_INT(r->shutdown, ==, SOCK_SHUT_UNKNOWN);

	/* Ticks are converted with the rate given, not an assumed 100 Hz. */
	sv.n = 0;
	CHECK_INT(parse(HDR4 GOOD4, strlen(HDR4 GOOD4), AF_INET, 1000, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 1);
	CHECK_INT(sv.v[0].expires_ms, ==, 300);
	sock_vec_free(&sv);
}

static void test_recorded_v4(void)
{
	struct sock_vec sv = { 0 };
	const struct sock_rec *r;

	CHECK_INT(read_fixture("proc-tcp.txt", AF_INET, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 9);
	r = find(&sv, 7001, 0);
	CHECK(r && r->state == SOCK_LISTEN && r->inode != 0 && memcmp(r->laddr, LOOP4, 16) == 0 &&
	      memcmp(r->raddr, ANY, 16) == 0);
	r = find(&sv, 7001, 7101);
	CHECK(r && r->state == SOCK_ESTABLISHED && r->rqueue == 5);
	r = find(&sv, 7101, 7001);
	CHECK(r && r->state == SOCK_ESTABLISHED && r->inode != 0);
	r = find(&sv, 7102, 7001);
	CHECK(r && r->state == SOCK_CLOSE_WAIT && r->inode != 0);
	r = find(&sv, 7001, 7102);
	CHECK(r && r->state == SOCK_FIN_WAIT2 && r->inode == 0 && r->timer == SOCK_TIMER_TIMEWAIT &&
	      r->expires_ms > 0 && r->expires_ms <= 60000);
	r = find(&sv, 7103, 7001);
	CHECK(r && r->state == SOCK_FIN_WAIT2 && r->inode != 0 && r->timer == SOCK_TIMER_NONE);
	r = find(&sv, 7104, 7001);
	CHECK(r && r->state == SOCK_TIME_WAIT && r->inode == 0 && r->timer == SOCK_TIMER_TIMEWAIT &&
	      r->expires_ms > 0 && r->expires_ms <= 60000 && r->expires_ms % 10 == 0);
	r = find(&sv, 7302, 7003);
	CHECK(r && r->state == SOCK_ESTABLISHED);
	sock_vec_free(&sv);
}

static void test_recorded_v6(void)
{
	struct sock_vec sv = { 0 }, nonl = { 0 };
	const struct sock_rec *r;

	CHECK_INT(read_fixture("proc-tcp6.txt", AF_INET6, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 10);
	r = find(&sv, 7002, 0);
	CHECK(r && r->state == SOCK_LISTEN && r->family == AF_INET6 &&
	      memcmp(r->laddr, LOOP6, 16) == 0);
	r = find(&sv, 7003, 0);
	CHECK(r && r->state == SOCK_LISTEN && memcmp(r->laddr, ANY, 16) == 0);
	r = find(&sv, 7201, 7002);
	CHECK(r && r->state == SOCK_ESTABLISHED && memcmp(r->raddr, LOOP6, 16) == 0);
	r = find(&sv, 7203, 7002);
	CHECK(r && r->state == SOCK_TIME_WAIT && r->inode == 0);
	r = find(&sv, 7301, 7003);
	CHECK(r && r->state == SOCK_ESTABLISHED && memcmp(r->laddr, MAPPED, 16) == 0 &&
	      memcmp(r->raddr, MAPPED, 16) == 0);
	r = find(&sv, 7003, 7302);
	CHECK(r && memcmp(r->raddr, MAPPED, 16) == 0);

	/* The same table without its final newline parses to the same records. */
	CHECK_INT(read_fixture("proc-no-newline.txt", AF_INET6, &nonl), ==, 0);
	CHECK_INT(nonl.n, ==, sv.n);
	CHECK(nonl.n == sv.n && memcmp(nonl.v, sv.v, sv.n * sizeof(sv.v[0])) == 0);
	sock_vec_free(&sv);
	sock_vec_free(&nonl);
}

static void test_header_only(void)
{
	struct sock_vec sv = { 0 };

	CHECK_INT(read_fixture("proc-header-only.txt", AF_INET, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 0);
	CHECK_INT(parse("", 0, AF_INET, 100, &sv), ==, 0);
	CHECK_INT(parse(HDR4, strlen(HDR4) - 1, AF_INET, 100, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 0);
	sock_vec_free(&sv);
}

struct text_case {
	const char *name;
	int family;
	const char *text; /* without the header line */
	int rc;
};

#define L4(st, rest) "   0: 0100007F:1B59 0100007F:1BBD " st " " rest
#define TAIL "00000000:00000000 00:00000000 00000000     0        0 9311"

static const struct text_case cases[] = {
	{ "good", AF_INET, GOOD4 "\n", 0 },
	{ "lower-case hex", AF_INET, "0: 0100007f:1b59 0100007f:1bbd 0a " TAIL, 0 },
	{ "trailing blanks and CRLF", AF_INET, GOOD4 "   \t \r\n", 0 },
	{ "blank lines between", AF_INET, "\n  \n" GOOD4 "\n\n\n", 0 },
	{ "only required columns", AF_INET, L4("01", TAIL), 0 },
	{ "negative timeout", AF_INET, L4("01", "00000000:00000000 00:00000000 00000000 0 -1 9311"), 0 },
	{ "uid at u32 max", AF_INET, L4("01", "00000000:00000000 00:00000000 00000000 4294967295 0 1"), 0 },
	{ "inode at u64 max", AF_INET,
	  L4("01", "00000000:00000000 00:00000000 00000000 0 0 18446744073709551615"), 0 },
	{ "when of 16 digits", AF_INET, L4("01", "00000000:00000000 00:FFFFFFFFFFFFFFFF 00000000 0 0 1"), 0 },
	{ "closing state", AF_INET, L4("0B", TAIL), 0 },

	{ "bad hex in address", AF_INET, "0: 0100007G:1B59 0100007F:1BBD 01 " TAIL, -EPROTO },
	{ "bad hex in port", AF_INET, "0: 0100007F:1B5Z 0100007F:1BBD 01 " TAIL, -EPROTO },
	{ "bad hex in queue", AF_INET, L4("01", "0000000X:00000000 00:00000000 00000000 0 0 1"), -EPROTO },
	{ "short address", AF_INET, "0: 100007F:1B59 0100007F:1BBD 01 " TAIL, -EPROTO },
	{ "long address", AF_INET, "0: 00100007F:1B59 0100007F:1BBD 01 " TAIL, -EPROTO },
	{ "v6 address in v4 table", AF_INET,
	  "0: 00000000000000000000000001000000:1B5A 0100007F:1BBD 01 " TAIL, -EPROTO },
	{ "v4 address in v6 table", AF_INET6, GOOD4, -EPROTO },
	{ "v6 address of 31 digits", AF_INET6,
	  "0: 0000000000000000000000001000000:1B5A 00000000000000000000000001000000:1C22 01 " TAIL,
	  -EPROTO },
	{ "port of 5 digits", AF_INET, "0: 0100007F:11B59 0100007F:1BBD 01 " TAIL, -EPROTO },
	{ "missing port", AF_INET, "0: 0100007F 0100007F:1BBD 01 " TAIL, -EPROTO },
	{ "missing sl colon", AF_INET, "0 0100007F:1B59 0100007F:1BBD 01 " TAIL, -EPROTO },
	{ "ends after state", AF_INET, L4("01", ""), -EPROTO },
	{ "ends after remote", AF_INET, "   0: 0100007F:1B59 0100007F:1BBD", -EPROTO },
	{ "missing inode", AF_INET, L4("01", "00000000:00000000 00:00000000 00000000 0 0"), -EPROTO },
	{ "missing rx_queue", AF_INET, L4("01", "00000000 00:00000000 00000000 0 0 1"), -EPROTO },
	{ "state 0", AF_INET, L4("00", TAIL), -EPROTO },
	{ "state 12", AF_INET, L4("0C", TAIL), -EPROTO },
	{ "state 13", AF_INET, L4("0D", TAIL), -EPROTO },
	{ "state of 3 digits", AF_INET, L4("00A", TAIL), -EPROTO },
	{ "state glued to junk", AF_INET, L4("0Ax", TAIL), -EPROTO },
	{ "huge uid", AF_INET, L4("01", "00000000:00000000 00:00000000 00000000 99999999999 0 1"), -EPROTO },
	{ "uid past u32", AF_INET, L4("01", "00000000:00000000 00:00000000 00000000 4294967296 0 1"), -EPROTO },
	{ "inode past u64", AF_INET,
	  L4("01", "00000000:00000000 00:00000000 00000000 0 0 18446744073709551616"), -EPROTO },
	{ "inode of 40 digits", AF_INET,
	  L4("01", "00000000:00000000 00:00000000 00000000 0 0 9999999999999999999999999999999999999999"),
	  -EPROTO },
	{ "when of 17 digits", AF_INET,
	  L4("01", "00000000:00000000 00:1FFFFFFFFFFFFFFFF 00000000 0 0 1"), -EPROTO },
	{ "queue of 9 digits", AF_INET, L4("01", "000000000:00000000 00:00000000 00000000 0 0 1"), -EPROTO },
	{ "negative uid", AF_INET, L4("01", "00000000:00000000 00:00000000 00000000 -1 0 1"), -EPROTO },
	{ "negative inode", AF_INET, L4("01", "00000000:00000000 00:00000000 00000000 0 0 -1"), -EPROTO },
	{ "bad line after good ones", AF_INET, GOOD4 "\n" GOOD4 "\n" L4("0C", TAIL) "\n", -EPROTO },
	{ "garbage line", AF_INET, "hello world\n", -EPROTO },
};

static void test_cases(void)
{
	struct sock_vec sv = { 0 };
	struct sock_rec mark;

	memset(&mark, 0x5a, sizeof(mark));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct text_case *c = &cases[i];
		const char *hdr = c->family == AF_INET ? HDR4 : HDR6;
		size_t hl = strlen(hdr), tl = strlen(c->text);
		char *t = malloc(hl + tl);
		int rc;

		memcpy(t, hdr, hl);
		memcpy(t + hl, c->text, tl);
		sv.n = 0;
		sock_vec_push(&sv, &mark);
		rc = parse(t, hl + tl, c->family, 100, &sv);
		if (rc != c->rc)
			fprintf(stderr, "case \"%s\"\n", c->name);
		CHECK_INT(rc, ==, c->rc);
		if (c->rc < 0) {
			/* A failed call leaves the vector exactly as it found it. */
			CHECK_INT(sv.n, ==, 1);
			CHECK(memcmp(&sv.v[0], &mark, sizeof(mark)) == 0);
		} else {
			CHECK_INT(sv.n, >=, 2);
		}
		free(t);
	}

	/* Specific values of the edge cases that parse. */
	sv.n = 0;
	CHECK_INT(parse_str(HDR4 L4("01", "00000000:00000000 00:FFFFFFFFFFFFFFFF 00000000 "
					  "4294967295 0 18446744073709551615"),
			    AF_INET, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 1);
	CHECK(sv.v[0].expires_ms == UINT32_MAX); /* saturated, not wrapped */
	CHECK(sv.v[0].uid == UINT32_MAX);
	CHECK(sv.v[0].inode == UINT64_MAX);

	CHECK_INT(parse_str(HDR4 GOOD4, AF_UNIX, &sv), ==, -EINVAL);
	CHECK_INT(parse(HDR4 GOOD4, strlen(HDR4 GOOD4), AF_INET, 0, &sv), ==, -EINVAL);
	sock_vec_free(&sv);
}

/* Every prefix of a real table either parses or fails cleanly, within bounds. */
static void test_prefixes(void)
{
	char path[1024];
	struct sock_vec sv = { 0 };
	char buf[4096];
	size_t len;
	int bad = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc-tcp6.txt", data_dir());
	f = fopen(path, "rb");
	CHECK(f != NULL);
	if (!f)
		return;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (size_t cut = 0; cut <= len; cut++) {
		int rc;

		sv.n = 0;
		rc = parse(buf, cut, AF_INET6, 100, &sv);
		bad += rc != 0 && rc != -EPROTO;
		bad += rc == -EPROTO && sv.n != 0;
	}
	CHECK_INT(bad, ==, 0);
	sock_vec_free(&sv);
}

/* A table larger than the first read buffer, read from a real file. */
static void test_read_big(void)
{
	char path[] = "/tmp/test_procnet.XXXXXX";
	struct sock_vec sv = { 0 };
	int fd = mkstemp(path);
	FILE *f;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	fputs(HDR4, f);
	for (int i = 0; i < 5000; i++)
		fprintf(f, "%5d: 0100007F:%04X 0100007F:1B59 01 00000000:00000000 00:00000000 "
			   "00000000     0        0 %d 1 0000000000000000 20 4 30 10 -1          \n",
			i, 10000 + i, 100000 + i);
	fclose(f);
	CHECK_INT(procnet_read(path, AF_INET, &sv), ==, 0);
	CHECK_INT(sv.n, ==, 5000);
	CHECK(sv.n == 5000 && sv.v[4999].lport == 14999 && sv.v[4999].inode == 104999);
	unlink(path);

	CHECK_INT(procnet_read("/nonexistent/tcp", AF_INET, &sv), ==, -ENOENT);
	/* The live table parses (whatever sockets the host has right now). */
	sv.n = 0;
	CHECK_INT(procnet_read("/proc/net/tcp", AF_INET, &sv), ==, 0);
	CHECK_INT(procnet_read("/proc/net/tcp6", AF_INET6, &sv), ==, 0);
	sock_vec_free(&sv);
}

/* Reads a fixture whole into a malloc'd block; NULL when it cannot. */
static char *slurp(const char *name, size_t *len)
{
	char path[1024];
	char *b = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", data_dir(), name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		b = malloc((size_t)n);
		if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
			free(b);
			b = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return b;
}

/* Parses text with the fast path on (1), off (0) or alone (2). */
static int parse_mode(int mode, const char *text, size_t len, int family, struct sock_vec *out)
{
	int rc;

	procnet_fast = mode;
	rc = parse(text, len, family, 100, out);
	procnet_fast = 1;
	return rc;
}

/* Same return code, same records, byte for byte. */
static int same_result(const char *text, size_t len, int family)
{
	struct sock_vec a = { 0 }, b = { 0 };
	int ra = parse_mode(1, text, len, family, &a), rb = parse_mode(0, text, len, family, &b);
	int same = ra == rb && a.n == b.n &&
		   (a.n == 0 || memcmp(a.v, b.v, a.n * sizeof(*a.v)) == 0);

	sock_vec_free(&a);
	sock_vec_free(&b);
	return same;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/*
 * Tables captured from a bench/loadgen load (100k sockets, IPv4: LISTEN, ESTABLISHED,
 * CLOSE_WAIT, FIN_WAIT_2, TIME_WAIT with its timer) and from IPv6 sockets in the same
 * states plus a v4-mapped one: every real line takes the fast path, and the fast path
 * agrees with the general parser on them and on thousands of damaged copies of them.
 */
static void test_fast_path(void)
{
	static const struct {
		const char *name;
		int family;
		size_t lines;
	} tables[] = {
		{ "proc-tcp-load.txt", AF_INET, 120 },
		{ "proc-tcp6-load.txt", AF_INET6, 23 },
		{ "proc-tcp.txt", AF_INET, 9 },
		{ "proc-tcp6.txt", AF_INET6, 10 },
	};
	/* Hex digits, their neighbours in ASCII ('/' ':' '@' 'G' '`' 'g'), blanks, signs. */
	static const char pool[] = "0123456789abcdefABCDEF/:@G`gx -\t\r\n\x7f\xb0\xe6";
	int bad = 0;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		struct sock_vec sv = { 0 };
		size_t len = 0;
		char *text = slurp(tables[i].name, &len);

		CHECK(text != NULL);
		if (!text)
			continue;
		CHECK_INT(parse_mode(2, text, len, tables[i].family, &sv), ==, 0);
		CHECK_INT(sv.n, ==, tables[i].lines);
		CHECK(same_result(text, len, tables[i].family));
		sock_vec_free(&sv);

		/* One damaged line at a time: a byte changed, dropped, doubled, or a cut. */
		for (int round = 0; round < 3000; round++) {
			const char *hdr_end = memchr(text, '\n', len);
			size_t hl = (size_t)(hdr_end - text) + 1, start = hl, end, at, n;
			char *t;

			/* A random data line. */
			for (unsigned skip = rnd((unsigned)tables[i].lines); skip > 0; skip--)
				start = (size_t)((const char *)memchr(text + start, '\n', len - start) -
						 text) + 1;
			end = (size_t)((const char *)memchr(text + start, '\n', len - start) - text);
			n = end - start;
			t = malloc(hl + n + 2);
			memcpy(t, text, hl);
			memcpy(t + hl, text + start, n);
			at = hl + rnd((unsigned)n);
			switch (rnd(4)) {
			case 0:
				t[at] = rnd(8) ? pool[rnd(sizeof(pool) - 1)] : (char)rnd(256);
				break;
			case 1:
				memmove(t + at, t + at + 1, hl + n - at - 1);
				n--;
				break;
			case 2:
				memmove(t + at + 1, t + at, hl + n - at);
				n++;
				break;
			default:
				n = at - hl;
				break;
			}
			if (!same_result(t, hl + n, tables[i].family)) {
				if (bad++ < 5)
					fprintf(stderr, "fast and general parsers differ on: %.*s\n",
						(int)n, t + hl);
			}
			free(t);
		}
		free(text);
	}
	CHECK_INT(bad, ==, 0);
}

/*
 * procnet_read() parses as it reads: a table spanning many reads gives what parsing it
 * whole gives, and a line longer than a read piece fails cleanly.
 */
static void test_read_pieces(void)
{
	char path[] = "/tmp/test_procnet.XXXXXX";
	struct sock_vec a = { 0 }, b = { 0 }, mark = { 0 };
	size_t len = 0, total = 0;
	char *text = slurp("proc-tcp-load.txt", &len), *all;
	const char *body;
	int fd;
	FILE *f;

	CHECK(text != NULL);
	if (!text)
		return;
	body = memchr(text, '\n', len) + 1;
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0) {
		free(text);
		return;
	}
	f = fdopen(fd, "w");
	fwrite(text, 1, len, f);
	for (int i = 0; i < 40; i++) /* about 700 KB: a dozen read pieces */
		fwrite(body, 1, len - (size_t)(body - text), f);
	fclose(f);
	all = malloc(len * 41);
	f = fopen(path, "rb");
	total = fread(all, 1, len * 41, f);
	fclose(f);
	CHECK_INT(procnet_read(path, AF_INET, &a), ==, 0);
	CHECK_INT(procnet_parse(all, total, AF_INET, sysconf(_SC_CLK_TCK), &b), ==, 0);
	CHECK_INT(a.n, ==, 120 * 41);
	CHECK(a.n == b.n && memcmp(a.v, b.v, a.n * sizeof(*a.v)) == 0);

	/* A line of 100 KB: refused, and the vector is left as it was. */
	f = fopen(path, "w");
	fputs(HDR4, f);
	fputs(GOOD4, f);
	for (int i = 0; i < 100000; i++)
		fputc(' ', f);
	fputs("\n", f);
	fclose(f);
	a.n = 3;
	CHECK_INT(procnet_read(path, AF_INET, &a), ==, -EPROTO);
	CHECK_INT(a.n, ==, 3);
	unlink(path);
	free(all);
	free(text);
	sock_vec_free(&a);
	sock_vec_free(&b);
	sock_vec_free(&mark);
}

int main(void)
{
	test_good_line();
	test_recorded_v4();
	test_recorded_v6();
	test_header_only();
	test_cases();
	test_prefixes();
	test_read_big();
	test_fast_path();
	test_read_pieces();
	return CHECK_DONE();
}
