/* procnet.c - parses /proc/net/tcp{,6}, the capture source when sock_diag is unavailable. */
#include "procnet.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>

#include "limits.h"
#include "util.h"

/* Read and parse in pieces this big: under malloc's mmap threshold, so no fresh pages. */
#define PROCNET_READ_CHUNK (64u * 1024)

/* A bounded cursor over one line: nothing here ever looks at or past end. */
struct cursor {
	const char *p;
	const char *end;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void skip_blanks(struct cursor *c)
{
	while (c->p < c->end && is_blank(*c->p))
		c->p++;
}

/*
 * Reads between min and max hex digits as one value.  max <= 16, so the value cannot
 * overflow; a longer run of digits is an error rather than a silent truncation.
 */
static int take_hex(struct cursor *c, unsigned min, unsigned max, uint64_t *v)
{
	uint64_t x = 0;
	unsigned n = 0;
	int d;

	while (c->p < c->end && (d = util_hex_digit(*c->p)) >= 0) {
		if (++n > max)
			return -EPROTO;
		x = x << 4 | (uint64_t)d;
		c->p++;
	}
	if (n < min)
		return -EPROTO;
	*v = x;
	return 0;
}

/* Reads exactly 8 hex digits: IPv6 addresses are four such words with no separator. */
static int take_word(struct cursor *c, uint32_t *v)
{
	uint32_t x = 0;
	int d;

	if (c->end - c->p < 8)
		return -EPROTO;
	for (int i = 0; i < 8; i++) {
		d = util_hex_digit(c->p[i]);
		if (d < 0)
			return -EPROTO;
		x = x << 4 | (uint32_t)d;
	}
	c->p += 8;
	*v = x;
	return 0;
}

/* Reads an unsigned decimal no larger than lim; overflow is an error, not a wrap. */
static int take_dec(struct cursor *c, uint64_t lim, uint64_t *v)
{
	uint64_t x = 0;
	unsigned n = 0;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		unsigned d = (unsigned)(*c->p - '0');

		if (x > (lim - d) / 10)
			return -EPROTO;
		x = x * 10 + d;
		c->p++;
		n++;
	}
	if (n == 0)
		return -EPROTO;
	*v = x;
	return 0;
}

static int take_char(struct cursor *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return -EPROTO;
	c->p++;
	return 0;
}

/* A column must be followed by a blank or the end of the line, never glued to junk. */
static int end_column(struct cursor *c)
{
	if (c->p < c->end && !is_blank(*c->p))
		return -EPROTO;
	skip_blanks(c);
	return 0;
}

/*
 * "0100007F:0016" (IPv4) or 32 hex digits (IPv6) then a port.  The kernel prints each
 * 32-bit word of the address as a host-order integer, so storing the value back in host
 * order restores the original network-order bytes.
 */
static int take_endpoint(struct cursor *c, int family, uint8_t addr[16], uint16_t *port)
{
	unsigned words = family == AF_INET ? 1 : 4;
	uint64_t v;
	int err;

	memset(addr, 0, 16);
	for (unsigned i = 0; i < words; i++) {
		uint32_t w;

		err = take_word(c, &w);
		if (err < 0)
			return err;
		memcpy(addr + 4 * i, &w, 4);
	}
	/* The colon right after the last word also rejects an address that is too long. */
	err = take_char(c, ':');
	if (err < 0)
		return err;
	err = take_hex(c, 1, 4, &v);
	if (err < 0)
		return err;
	*port = (uint16_t)v;
	return end_column(c);
}

/* Parses one data line into r.  Columns after inode are ignored. */
static int parse_line(struct cursor *c, int family, long ticks_per_s, struct sock_rec *r)
{
	uint64_t v, rq, wq, tr, when;
	int err;

	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)family;
	r->shutdown = SOCK_SHUT_UNKNOWN;

	skip_blanks(c);
	/* "sl": the kernel's running index, of no use to us, but it must be there. */
	if ((err = take_dec(c, UINT32_MAX, &v)) < 0 || (err = take_char(c, ':')) < 0 ||
	    (err = end_column(c)) < 0)
		return err;
	if ((err = take_endpoint(c, family, r->laddr, &r->lport)) < 0 ||
	    (err = take_endpoint(c, family, r->raddr, &r->rport)) < 0)
		return err;
	if ((err = take_hex(c, 1, 2, &v)) < 0 || (err = end_column(c)) < 0)
		return err;
	if (v < SOCK_ESTABLISHED || v >= SOCK_STATE_MAX)
		return -EPROTO;
	r->state = (uint8_t)v;
	/* tx_queue:rx_queue */
	if ((err = take_hex(c, 1, 8, &wq)) < 0 || (err = take_char(c, ':')) < 0 ||
	    (err = take_hex(c, 1, 8, &rq)) < 0 || (err = end_column(c)) < 0)
		return err;
	r->wqueue = (uint32_t)wq;
	r->rqueue = (uint32_t)rq;
	/* tr:tm->when; "when" is printed with %lX, so it may use up to 16 digits. */
	if ((err = take_hex(c, 1, 2, &tr)) < 0 || (err = take_char(c, ':')) < 0 ||
	    (err = take_hex(c, 1, 16, &when)) < 0 || (err = end_column(c)) < 0)
		return err;
	r->timer = (uint8_t)tr;
	/* Ticks to ms, saturating: a bogus huge value must not wrap to a small one. */
	if (when > UINT64_MAX / 1000)
		v = UINT32_MAX;
	else
		v = when * 1000 / (uint64_t)ticks_per_s;
	r->expires_ms = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	if ((err = take_hex(c, 1, 8, &v)) < 0 || (err = end_column(c)) < 0)
		return err;
	r->retrans = (uint32_t)v;
	if ((err = take_dec(c, UINT32_MAX, &v)) < 0 || (err = end_column(c)) < 0)
		return err;
	r->uid = (uint32_t)v;
	/* timeout (probes out): printed %d, so allow a sign; unused. */
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if ((err = take_dec(c, INT32_MAX, &v)) < 0 || (err = end_column(c)) < 0)
		return err;
	if ((err = take_dec(c, UINT64_MAX, &v)) < 0 || (err = end_column(c)) < 0)
		return err;
	r->inode = v;
	return 0;
}

/*
 * The fast path.  The kernel prints every line with one format (get_tcp4_sock() and its
 * timewait and request siblings: "%4d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX
 * %08X %5u %8d %lu ..."), so fixed-width hex columns can be read without a cursor, with a
 * table instead of branches per digit: a quarter of the general parser's instructions.
 * Anything off that exact shape is declined (returns 0) and the line goes to parse_line(),
 * which alone decides what is an error; so the fast path only ever accepts lines that
 * parse_line() reads the same way.
 */
int procnet_fast = 1;

/* Hex digit values with bit 4 set; 0 for every other byte. */
static const uint8_t hexv[256] = {
	['0'] = 0x10, ['1'] = 0x11, ['2'] = 0x12, ['3'] = 0x13, ['4'] = 0x14, ['5'] = 0x15,
	['6'] = 0x16, ['7'] = 0x17, ['8'] = 0x18, ['9'] = 0x19, ['A'] = 0x1a, ['B'] = 0x1b,
	['C'] = 0x1c, ['D'] = 0x1d, ['E'] = 0x1e, ['F'] = 0x1f, ['a'] = 0x1a, ['b'] = 0x1b,
	['c'] = 0x1c, ['d'] = 0x1d, ['e'] = 0x1e, ['f'] = 0x1f,
};

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ONES 0x0101010101010101ull
#define HIGH 0x8080808080808080ull

/*
 * Eight hex digits at once (SWAR): a byte is a digit when 0x30 <= b <= 0x39, or a letter
 * when 0x61 <= (b | 0x20) <= 0x66; for bytes below 0x80, b + (0x80 - lo) sets the byte's
 * top bit exactly when b >= lo, without a carry into the next byte.  Each byte's value is
 * (b & 15) + 9 * (bit 6 of b), then the nibbles are packed, first digit highest.
 */
/* Inlined: called four times a line, the call would cost a fifth of the work. */
static inline __attribute__((always_inline)) int fast_hex8(const unsigned char *p, uint32_t *v)
{
	uint64_t x, low, digit, alpha;

	memcpy(&x, p, 8);
	if (x & HIGH)
		return 0;
	low = x | 0x2020202020202020ull;
	digit = ((x + 0x50 * ONES) & ~(x + 0x46 * ONES)) & HIGH;
	alpha = ((low + 0x1f * ONES) & ~(low + 0x19 * ONES)) & HIGH;
	if ((digit | alpha) != HIGH)
		return 0;
	x = (x & 0x0f0f0f0f0f0f0f0full) + ((x >> 6) & ONES) * 9;
	x = ((x << 4) | (x >> 8)) & 0x00ff00ff00ff00ffull;
	x = ((x << 8) | (x >> 16)) & 0x0000ffff0000ffffull;
	x = ((x << 16) | (x >> 32)) & 0xffffffffull;
	*v = (uint32_t)x;
	return 1;
}
#else
static int fast_hex(const unsigned char *p, int n, uint32_t *v);

static int fast_hex8(const unsigned char *p, uint32_t *v)
{
	return fast_hex(p, 8, v);
}
#endif

/* Exactly n hex digits at p (the caller checked n bytes are there); 0 if one is not. */
static int fast_hex(const unsigned char *p, int n, uint32_t *v)
{
	uint32_t x = 0, ok = 0x10;

	for (int i = 0; i < n; i++) {
		ok &= hexv[p[i]];
		x = x << 4 | (hexv[p[i]] & 15u);
	}
	*v = x;
	return ok != 0;
}

/* 1..max decimal digits at *pp, at most lim; 0 (declined) otherwise. */
static inline __attribute__((always_inline)) int
fast_dec(const unsigned char **pp, const unsigned char *end, int max, uint64_t lim, uint64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t x = 0;
	int n = 0;

	while (p < end && (unsigned)(*p - '0') < 10) {
		if (++n > max)
			return 0;
		x = x * 10 + (unsigned)(*p++ - '0');
	}
	if (!n || x > lim)
		return 0;
	*v = x;
	*pp = p;
	return 1;
}

static void fast_spaces(const unsigned char **pp, const unsigned char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* Columns are padded with runs of blanks: skip eight at a time while they last. */
	while (end - *pp >= 8) {
		uint64_t x;

		memcpy(&x, *pp, 8);
		x ^= 0x2020202020202020ull; /* a blank becomes 0 */
		if (x) {
			*pp += __builtin_ctzll(x) / 8;
			return;
		}
		*pp += 8;
	}
#endif
	while (*pp < end && **pp == ' ')
		(*pp)++;
}

/* "ADDR:PORT " with ADDR 8 (IPv4) or 32 (IPv6) hex digits and PORT 4. */
static int fast_endpoint(const unsigned char **pp, const unsigned char *end, int words,
			 uint8_t addr[16], uint16_t *port)
{
	const unsigned char *p = *pp;
	uint32_t w, v;

	if (end - p < 8 * words + 6 || p[8 * words] != ':' || p[8 * words + 5] != ' ')
		return 0;
	memset(addr, 0, 16);
	for (int i = 0; i < words; i++) {
		if (!fast_hex8(p + 8 * i, &w))
			return 0;
		memcpy(addr + 4 * i, &w, 4);
	}
	if (!fast_hex(p + 8 * words + 1, 4, &v))
		return 0;
	*port = (uint16_t)v;
	*pp = p + 8 * words + 6;
	return 1;
}

/* Parses the line [p, end) into r when it has the kernel's exact shape; 0 to decline. */
static int parse_fast(const unsigned char *p, const unsigned char *end, int family,
		      long ticks_per_s, struct sock_rec *r)
{
	int words = family == AF_INET ? 1 : 4;
	uint32_t st, wq, rq, tr, retr, w;
	uint64_t v, when = 0;
	int n;

	memset(r, 0, sizeof(*r));
	r->family = (uint8_t)family;
	r->shutdown = SOCK_SHUT_UNKNOWN;
	fast_spaces(&p, end);
	if (!fast_dec(&p, end, 10, UINT32_MAX, &v) || end - p < 2 || p[0] != ':' || p[1] != ' ')
		return 0;
	p += 2;
	if (!fast_endpoint(&p, end, words, r->laddr, &r->lport) ||
	    !fast_endpoint(&p, end, words, r->raddr, &r->rport))
		return 0;
	/* "01 00000000:00000000 00:" then when, then " 00000000 " */
	if (end - p < 24 || p[2] != ' ' || p[11] != ':' || p[20] != ' ' || p[23] != ':' ||
	    !fast_hex(p, 2, &st) || !fast_hex8(p + 3, &wq) || !fast_hex8(p + 12, &rq) ||
	    !fast_hex(p + 21, 2, &tr))
		return 0;
	if (st < SOCK_ESTABLISHED || st >= SOCK_STATE_MAX)
		return 0;
	p += 24;
	/* tm->when is %08lX: eight digits or more, up to sixteen. */
	n = 0;
	if (end - p >= 9 && fast_hex8(p, &w) && !(hexv[p[8]] & 0x10)) {
		when = w;
		n = 8;
		p += 8;
	}
	for (; p < end && (hexv[*p] & 0x10); n++, p++) {
		if (n == 16)
			return 0;
		when = when << 4 | (hexv[*p] & 15u);
	}
	if (n < 8 || end - p < 10 || p[0] != ' ' || p[9] != ' ' || !fast_hex8(p + 1, &retr))
		return 0;
	p += 10;
	r->state = (uint8_t)st;
	r->wqueue = wq;
	r->rqueue = rq;
	r->timer = (uint8_t)tr;
	if (when > UINT64_MAX / 1000)
		v = UINT32_MAX;
	else
		v = when * 1000 / (uint64_t)ticks_per_s;
	r->expires_ms = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	r->retrans = retr;
	/* uid (%5u), timeout (%8d, unused), inode (%lu), each after blanks. */
	fast_spaces(&p, end);
	if (!fast_dec(&p, end, 10, UINT32_MAX, &v) || p == end || *p != ' ')
		return 0;
	r->uid = (uint32_t)v;
	fast_spaces(&p, end);
	if (p < end && *p == '-')
		p++;
	if (!fast_dec(&p, end, 10, INT32_MAX, &v) || p == end || *p != ' ')
		return 0;
	fast_spaces(&p, end);
	if (!fast_dec(&p, end, 19, UINT64_MAX, &v) || (p < end && !is_blank((char)*p)))
		return 0;
	r->inode = v;
	return 1;
}

/* What parsing one table needs to remember from one piece of text to the next. */
struct table {
	int family;
	long ticks_per_s;
	int header; /* the first line is still to come */
	struct sock_vec *out;
};

/* Parses the lines of [p, end) (the last may lack its newline).  0, -EPROTO or -ENOMEM. */
static int parse_lines(struct table *t, const char *p, const char *end)
{
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		struct cursor c = { p, eol ? eol : end };
		struct sock_rec *r;
		int err;

		p = eol ? eol + 1 : end;
		if (t->header) {
			t->header = 0;
			continue;
		}
		skip_blanks(&c);
		if (c.p == c.end)
			continue; /* a blank line, e.g. a doubled final newline */
		if (t->out->n < t->out->cap)
			r = &t->out->v[t->out->n++];
		else if (!(r = sock_vec_grow(t->out)))
			return -ENOMEM;
		if (procnet_fast &&
		    parse_fast((const unsigned char *)c.p, (const unsigned char *)c.end, t->family,
			       t->ticks_per_s, r)) {
			r->netns = 0;
			continue;
		}
		if (procnet_fast == 2)
			return -EPROTO;
		err = parse_line(&c, t->family, t->ticks_per_s, r);
		r->netns = 0;
		if (err < 0)
			return err;
	}
	return 0;
}

int procnet_parse(const char *text, size_t len, int family, long ticks_per_s, struct sock_vec *out)
{
	struct table t = { family, ticks_per_s, 1, out };
	size_t base = out->n;
	int err;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (ticks_per_s <= 0)
		return -EINVAL;
	err = parse_lines(&t, text, text + len);
	if (err < 0)
		out->n = base;
	return err;
}

int procnet_read(const char *path, int family, struct sock_vec *out)
{
	struct table t = { family, 0, 1, out };
	size_t base = out->n, have = 0, total = 0;
	char *buf;
	int fd, err = 0;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	t.ticks_per_s = sysconf(_SC_CLK_TCK);
	if (t.ticks_per_s <= 0)
		t.ticks_per_s = 100; /* USER_HZ on every Linux architecture we run on */
	/*
	 * Parsed piece by piece as it is read: the text of 100k sockets is 15 MB, and a buffer
	 * that size costs more in page faults than the parsing; a small one stays in cache.
	 */
	buf = malloc(PROCNET_READ_CHUNK);
	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, PROCNET_READ_CHUNK - have);
		const char *last;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		total += (size_t)n;
		if (total > LD_PROC_MAX_BYTES) {
			err = -EFBIG;
			goto out;
		}
		/* Whole lines now; the unfinished last one moves to the front for the next read. */
		last = memrchr(buf, '\n', have);
		if (!last) {
			/* No line is this long: the file is not what we think it is. */
			if (have == PROCNET_READ_CHUNK) {
				err = -EPROTO;
				goto out;
			}
			continue;
		}
		err = parse_lines(&t, buf, last + 1);
		if (err < 0)
			goto out;
		have -= (size_t)(last + 1 - buf);
		memmove(buf, last + 1, have);
	}
	err = parse_lines(&t, buf, buf + have);
out:
	if (err < 0)
		out->n = base;
	free(buf);
	if (fd >= 0)
		close(fd);
	return err;
}
