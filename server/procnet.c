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

/* First read size: a host with a few hundred sockets fits in one read. */
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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
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

	while (c->p < c->end && (d = hex_digit(*c->p)) >= 0) {
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
		d = hex_digit(c->p[i]);
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

int procnet_parse(const char *text, size_t len, int family, long ticks_per_s,
		  struct sock_vec *out)
{
	const char *p = text, *end = text + len;
	size_t base = out->n;
	int err = 0, header = 1;

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (ticks_per_s <= 0)
		return -EINVAL;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		struct cursor c = { p, eol ? eol : end };
		struct sock_rec *r;

		p = eol ? eol + 1 : end;
		if (header) {
			header = 0;
			continue;
		}
		skip_blanks(&c);
		if (c.p == c.end)
			continue; /* a blank line, e.g. a doubled final newline */
		r = sock_vec_grow(out);
		if (!r) {
			err = -ENOMEM;
			goto out;
		}
		r->netns = 0;
		err = parse_line(&c, family, ticks_per_s, r);
		if (err < 0)
			goto out;
	}
out:
	if (err < 0)
		out->n = base;
	return err;
}

int procnet_read(const char *path, int family, struct sock_vec *out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	long tck;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* st_size is 0 for proc files: read until EOF, growing by doubling up to the cap. */
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap = cap ? cap * 2 : PROCNET_READ_CHUNK;
			char *nbuf;

			/* One byte past the cap tells "exactly at the cap" from "too big". */
			if (ncap > (size_t)LD_PROC_MAX_BYTES + 1)
				ncap = (size_t)LD_PROC_MAX_BYTES + 1;
			if (ncap <= cap) {
				err = -EFBIG;
				goto out;
			}
			nbuf = realloc(buf, ncap);
			if (!nbuf) {
				err = -ENOMEM;
				goto out;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > LD_PROC_MAX_BYTES) {
			err = -EFBIG;
			goto out;
		}
	}
	tck = sysconf(_SC_CLK_TCK);
	if (tck <= 0)
		tck = 100; /* USER_HZ on every Linux architecture we run on */
	err = procnet_parse(buf, len, family, tck, out);
out:
	free(buf);
	close(fd);
	return err;
}
