/*
 * oracle.c - the lab's own reader of /proc/net/tcp{,6}: the kernel's view, also of sockets no
 * process holds.
 *
 * It repeats on purpose what capture/procnet.c does for lingerd: the lab is the oracle the
 * daemon is tested against, so it must not share the code it checks.  A bug in lingerd's
 * parser then shows as a disagreement instead of being copied into both sides.
 */
#include "lab_int.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

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

/* The run of exactly want hex digits at p (after blanks) into buf; the end of it, or NULL. */
static const char *take_hex(const char *p, char *buf, size_t want)
{
	size_t n = 0;

	while (*p == ' ')
		p++;
	while (n <= want && isxdigit((unsigned char)p[n]))
		n++;
	if (n != want)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return p + n;
}

/* The number at p (after blanks) in base, which must end at the character end; the end of
 * it, or NULL. */
static const char *take_num(const char *p, int base, unsigned long max, char end, unsigned long *v)
{
	char *e;

	while (*p == ' ')
		p++;
	if (!isxdigit((unsigned char)*p))
		return NULL;
	errno = 0;
	*v = strtoul(p, &e, base);
	return errno || *e != end || *v > max ? NULL : e;
}

/* One row: "sl: LOCAL:PORT REMOTE:PORT ST TXQ:RXQ ...", addresses in hex words. */
static int proc_parse(const char *line, int family, struct proc_row *r)
{
	char lhex[33], rhex[33];
	unsigned long slot, lport, rport, st, txq, rxq;
	size_t want = family == AF_INET6 ? 32 : 8;
	const char *p = line;

	if (!(p = take_num(p, 10, ULONG_MAX, ':', &slot)) || !(p = take_hex(p + 1, lhex, want)) ||
	    *p != ':' || !(p = take_num(p + 1, 16, UINT16_MAX, ' ', &lport)) ||
	    !(p = take_hex(p, rhex, want)) || *p != ':' ||
	    !(p = take_num(p + 1, 16, UINT16_MAX, ' ', &rport)) ||
	    !(p = take_num(p, 16, UINT8_MAX, ' ', &st)) ||
	    !(p = take_num(p, 16, UINT32_MAX, ':', &txq)) ||
	    !take_num(p + 1, 16, UINT32_MAX, ' ', &rxq))
		return -EINVAL;
	proc_addr(&r->local, family, lhex, (unsigned)lport);
	proc_addr(&r->remote, family, rhex, (unsigned)rport);
	r->state = (int)st;
	r->txq = (uint32_t)txq;
	r->rxq = (uint32_t)rxq;
	return 0;
}

/* Calls fn for every row of /proc/net/tcp (or tcp6).  Returns 0 or -errno. */
int lab_proc_scan(int family, void (*fn)(const struct proc_row *, void *), void *arg)
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

	if (lab_addr_equal(&r->local, &tc->local) && lab_addr_equal(&r->remote, &tc->remote) &&
	    (tc->state < 0 || r->state == tc->state))
		tc->n++;
}

/* Number of sockets with this 4-tuple in state (-1: any state), or -errno. */
int lab_proc_count(const struct lab_addr *local, const struct lab_addr *remote, int state)
{
	struct tuple_count tc = { .local = *local, .remote = *remote, .state = state };
	int ret = lab_proc_scan(local->family, count_tuple, &tc);

	return ret ? ret : tc.n;
}

/* Waits until the 4-tuple's count in state is (want) or (want > 0: at least want). */
int lab_proc_wait(const struct lab_addr *local, const struct lab_addr *remote, int state, int want,
		  int ms)
{
	int64_t end = lab_now_ms() + ms;

	for (;;) {
		int n = lab_proc_count(local, remote, state);

		if (n < 0)
			return n;
		if (n == want)
			return 0;
		if (lab_now_ms() >= end)
			return -ETIMEDOUT;
		lab_sleep_ms(LAB_POLL_MS);
	}
}

/*
 * Reads counters by name from a /proc/net/netstat-style file (/proc/net/netstat, /proc/net/snmp):
 * pairs of lines "Prefix: name name ..." and "Prefix: value value ...".  vals[i] receives
 * names[i]; -ENOENT if the prefix or one of the names is missing.
 */
int lab_mib_read(const char *path, const char *prefix, const char *const *names, size_t n,
		 long long *vals)
{
	FILE *f = fopen(path, "re");
	char *hdr = NULL, *val = NULL;
	size_t hcap = 0, vcap = 0, plen = strlen(prefix);
	int ret = -ENOENT;

	if (!f)
		return -errno;
	for (size_t i = 0; i < n; i++)
		vals[i] = -1;
	while (getline(&hdr, &hcap, f) > 0 && getline(&val, &vcap, f) > 0) {
		char *hs, *vs, *h, *v;

		if (strncmp(hdr, prefix, plen) || hdr[plen] != ':')
			continue;
		h = strtok_r(hdr, " \n", &hs);
		v = strtok_r(val, " \n", &vs);
		while ((h = strtok_r(NULL, " \n", &hs)) && (v = strtok_r(NULL, " \n", &vs)))
			for (size_t i = 0; i < n; i++)
				if (!strcmp(h, names[i]))
					vals[i] = strtoll(v, NULL, 10);
		ret = 0;
		break;
	}
	for (size_t i = 0; i < n && !ret; i++)
		if (vals[i] < 0)
			ret = -ENOENT;
	free(hdr);
	free(val);
	fclose(f);
	return ret;
}
