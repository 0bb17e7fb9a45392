/* kstat.c - reads the kernel's TCP teardown counters and the sysctls that bound lingering. */
#include "kstat.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KSTAT_FILE_MAX (256 * 1024)

static const struct kstat_info counters[KSTAT_COUNTER_MAX] = {
	[KSTAT_TW] = { "TW", "TcpExt", "time_wait_entered",
		       "Connections that entered TIME_WAIT through the normal timer path." },
	[KSTAT_TW_KILLED] = { "TWKilled", "TcpExt", "time_wait_killed",
			      "TIME_WAIT sockets ended early (reused or killed by a RST)." },
	[KSTAT_TW_RECYCLED] = { "TWRecycled", "TcpExt", "time_wait_recycled",
				"TIME_WAIT sockets recycled for a new outgoing connection (tcp_tw_reuse)." },
	[KSTAT_TIME_WAIT_OVERFLOW] = { "TCPTimeWaitOverflow", "TcpExt", "time_wait_overflow",
				       "Connections closed without TIME_WAIT because tcp_max_tw_buckets was reached." },
	[KSTAT_ABORT_ON_CLOSE] = { "TCPAbortOnClose", "TcpExt", "abort_on_close",
				   "Connections reset because the application closed them with unread data." },
	[KSTAT_ABORT_ON_DATA] = { "TCPAbortOnData", "TcpExt", "abort_on_data",
				  "Connections reset because data arrived after close() or with SO_LINGER {1,0}." },
	[KSTAT_ABORT_ON_LINGER] = { "TCPAbortOnLinger", "TcpExt", "abort_on_linger",
				    "Orphaned connections reset when the FIN_WAIT_2 linger time ran out." },
	[KSTAT_ABORT_ON_TIMEOUT] = { "TCPAbortOnTimeout", "TcpExt", "abort_on_timeout",
				     "Connections aborted after too many retransmissions or probes." },
	[KSTAT_ABORT_ON_MEMORY] = { "TCPAbortOnMemory", "TcpExt", "abort_on_memory",
				    "Connections reset because orphans or TCP memory exceeded their limits." },
	[KSTAT_LISTEN_OVERFLOWS] = { "ListenOverflows", "TcpExt", "listen_overflows",
				     "Times a listener's accept queue was full." },
	[KSTAT_LISTEN_DROPS] = { "ListenDrops", "TcpExt", "listen_drops",
				 "Incoming connection requests dropped at a listener." },
	[KSTAT_ACTIVE_OPENS] = { "ActiveOpens", "Tcp", "active_opens",
				 "Connections this host opened (SYN_SENT)." },
	[KSTAT_PASSIVE_OPENS] = { "PassiveOpens", "Tcp", "passive_opens",
				  "Connections this host accepted (SYN_RECV)." },
	[KSTAT_ATTEMPT_FAILS] = { "AttemptFails", "Tcp", "attempt_fails",
				  "Connection attempts that failed from SYN_SENT or SYN_RECV." },
	[KSTAT_ESTAB_RESETS] = { "EstabResets", "Tcp", "estab_resets",
				 "Resets received in ESTABLISHED or CLOSE_WAIT." },
	[KSTAT_OUT_RSTS] = { "OutRsts", "Tcp", "out_rsts", "Segments sent with the RST flag." },
	[KSTAT_RETRANS_SEGS] = { "RetransSegs", "Tcp", "retrans_segs", "Segments retransmitted." },
};

static const struct kstat_info gauges[KSTAT_GAUGE_MAX] = {
	[KSTAT_SOCK_INUSE] = { "inuse", "sockstat", "sockets_inuse",
			       "TCP sockets held by processes (not orphans, not TIME_WAIT)." },
	[KSTAT_SOCK_ORPHAN] = { "orphan", "sockstat", "orphans",
				"Sockets no process holds any more, still closing (FIN_WAIT, LAST_ACK, CLOSING)." },
	[KSTAT_SOCK_TW] = { "tw", "sockstat", "time_wait_buckets",
			    "TIME_WAIT sockets, counted against tcp_max_tw_buckets." },
	[KSTAT_SOCK_ALLOC] = { "alloc", "sockstat", "sockets_allocated",
			       "TCP sockets allocated, including orphans." },
	[KSTAT_SOCK_MEM_PAGES] = { "mem", "sockstat", "memory_pages",
				   "Pages of memory TCP buffers use." },
};

static const struct kstat_info settings[KSTAT_SETTING_MAX] = {
	[KSTAT_FIN_TIMEOUT] = { "tcp_fin_timeout", "net/ipv4/tcp_fin_timeout",
				"fin_timeout_seconds",
				"Seconds an orphaned connection may stay in FIN_WAIT_2." },
	[KSTAT_MAX_TW_BUCKETS] = { "tcp_max_tw_buckets", "net/ipv4/tcp_max_tw_buckets",
				   "max_tw_buckets",
				   "Most TIME_WAIT sockets at once; past it connections close without TIME_WAIT." },
	[KSTAT_TW_REUSE] = { "tcp_tw_reuse", "net/ipv4/tcp_tw_reuse", "tw_reuse",
			     "Reuse of TIME_WAIT ports for new outgoing connections (0 off, 1 on, 2 loopback only)." },
	[KSTAT_PORT_RANGE_LOW] = { "ip_local_port_range_low", "net/ipv4/ip_local_port_range",
				   "port_range_low",
				   "First ephemeral port for outgoing connections." },
	[KSTAT_PORT_RANGE_HIGH] = { "ip_local_port_range_high", "net/ipv4/ip_local_port_range",
				    "port_range_high",
				    "Last ephemeral port for outgoing connections." },
	[KSTAT_MAX_ORPHANS] = { "tcp_max_orphans", "net/ipv4/tcp_max_orphans", "max_orphans",
				"Most orphaned sockets; past it orphans are reset at once." },
	[KSTAT_ORPHAN_RETRIES] = { "tcp_orphan_retries", "net/ipv4/tcp_orphan_retries",
				   "orphan_retries",
				   "Retransmissions before an orphaned connection is dropped (0 means 8)." },
	[KSTAT_SOMAXCONN] = { "somaxconn", "net/core/somaxconn", "somaxconn",
			      "Upper bound of a listener's accept queue." },
	[KSTAT_MAX_SYN_BACKLOG] = { "tcp_max_syn_backlog", "net/ipv4/tcp_max_syn_backlog",
				    "max_syn_backlog",
				    "Most half-open connections remembered per listener." },
	[KSTAT_SYN_RETRIES] = { "tcp_syn_retries", "net/ipv4/tcp_syn_retries", "syn_retries",
				"SYN retransmissions before connect() gives up." },
	[KSTAT_SYNACK_RETRIES] = { "tcp_synack_retries", "net/ipv4/tcp_synack_retries",
				   "synack_retries",
				   "SYN-ACK retransmissions before a half-open connection is dropped." },
	[KSTAT_RETRIES2] = { "tcp_retries2", "net/ipv4/tcp_retries2", "retries2",
			     "Retransmissions before an established connection is dropped." },
	[KSTAT_KEEPALIVE_TIME] = { "tcp_keepalive_time", "net/ipv4/tcp_keepalive_time",
				   "keepalive_time_seconds",
				   "Idle seconds before the first keepalive probe (only with SO_KEEPALIVE)." },
	[KSTAT_KEEPALIVE_INTVL] = { "tcp_keepalive_intvl", "net/ipv4/tcp_keepalive_intvl",
				    "keepalive_intvl_seconds",
				    "Seconds between keepalive probes." },
	[KSTAT_KEEPALIVE_PROBES] = { "tcp_keepalive_probes", "net/ipv4/tcp_keepalive_probes",
				     "keepalive_probes",
				     "Unanswered probes before the connection is dropped." },
};

const struct kstat_info *kstat_counter_info(int i)
{
	return i >= 0 && i < KSTAT_COUNTER_MAX ? &counters[i] : NULL;
}

const struct kstat_info *kstat_gauge_info(int i)
{
	return i >= 0 && i < KSTAT_GAUGE_MAX ? &gauges[i] : NULL;
}

const struct kstat_info *kstat_setting_info(int i)
{
	return i >= 0 && i < KSTAT_SETTING_MAX ? &settings[i] : NULL;
}

/*
 * Reads an open file whole, from offset 0 (so a /proc file kept open is generated afresh),
 * into a NUL-terminated malloc'd buffer.  Returns the length or -errno.
 */
static ssize_t slurp_fd(int fd, char **out)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap), *nb;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (len + 1 >= cap) {
			if (cap >= KSTAT_FILE_MAX)
				break;
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = pread(fd, buf + len, cap - 1 - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			free(buf);
			return n;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

static ssize_t slurp(const char *root, const char *rel, char **out)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = slurp_fd(fd, out);
	close(fd);
	return n;
}

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Next whitespace-separated word of [*p, end), or 0 when none is left. */
static size_t word(const char **p, const char *end, const char **w)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	*w = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	*p = s;
	return (size_t)(s - *w);
}

static void take_pair(struct kstat *out, const char *names, const char *nend, const char *vals,
		      const char *vend, size_t plen)
{
	const char *np = names + plen, *vp = vals + plen, *nw, *vw;
	size_t nl, vl;

	for (;;) {
		nl = word(&np, nend, &nw);
		vl = word(&vp, vend, &vw);
		if (!nl || !vl)
			return;
		for (int i = 0; i < KSTAT_COUNTER_MAX; i++) {
			uint64_t v;

			if (strlen(counters[i].name) != nl || memcmp(counters[i].name, nw, nl) != 0)
				continue;
			if (strncmp(counters[i].source, names, plen - 1) != 0 ||
			    strlen(counters[i].source) != plen - 1)
				continue;
			if (parse_u64(vw, vl, &v) == 0) {
				out->counter[i] = v;
				out->have_counter[i] = 1;
			}
		}
	}
}

void kstat_parse_pairs(struct kstat *out, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *l1 = p, *e1 = memchr(p, '\n', (size_t)(end - p)), *l2, *e2, *colon;

		if (!e1)
			return;
		l2 = e1 + 1;
		if (l2 >= end)
			return;
		e2 = memchr(l2, '\n', (size_t)(end - l2));
		if (!e2)
			e2 = end;
		colon = memchr(l1, ':', (size_t)(e1 - l1));
		/* A pair is two lines with the same "Prefix:"; otherwise resynchronise. */
		if (!colon || (size_t)(e2 - l2) <= (size_t)(colon - l1) ||
		    memcmp(l1, l2, (size_t)(colon - l1 + 1)) != 0) {
			p = l2;
			continue;
		}
		take_pair(out, l1, e1, l2, e2, (size_t)(colon - l1 + 1));
		p = e2 < end ? e2 + 1 : end;
	}
}

void kstat_parse_sockstat(struct kstat *out, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p)), *w, *q;
		size_t wl;

		if (!e)
			e = end;
		if ((size_t)(e - p) > 4 && memcmp(p, "TCP:", 4) == 0) {
			q = p + 4;
			for (;;) {
				const char *vw;
				size_t vl;
				uint64_t v;

				wl = word(&q, e, &w);
				vl = word(&q, e, &vw);
				if (!wl || !vl)
					break;
				if (parse_u64(vw, vl, &v) < 0)
					continue;
				for (int i = 0; i < KSTAT_GAUGE_MAX; i++) {
					if (strlen(gauges[i].name) == wl &&
					    memcmp(gauges[i].name, w, wl) == 0) {
						out->gauge[i] = (int64_t)v;
						out->have_gauge[i] = 1;
					}
				}
			}
		}
		p = e + 1;
	}
}

static int open_in(const char *dir, const char *name)
{
	char path[600]; /* dir is at most 511 bytes (kstat_read_counters) plus a short name */

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int kstat_files_open(struct kstat_files *f, const char *net_dir)
{
	f->snmp = open_in(net_dir, "snmp");
	f->netstat = open_in(net_dir, "netstat");
	f->sockstat = open_in(net_dir, "sockstat");
	return f->snmp < 0 ? -ENOENT : 0;
}

void kstat_files_close(struct kstat_files *f)
{
	int *fds[] = { &f->snmp, &f->netstat, &f->sockstat };

	for (size_t i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int kstat_files_read(const struct kstat_files *f, struct kstat *out)
{
	char *buf;
	ssize_t n;
	int err = 0;

	memset(out->have_counter, 0, sizeof(out->have_counter));
	memset(out->have_gauge, 0, sizeof(out->have_gauge));
	n = f->snmp >= 0 ? slurp_fd(f->snmp, &buf) : -ENOENT;
	if (n < 0) {
		err = (int)n;
	} else {
		kstat_parse_pairs(out, buf, (size_t)n);
		free(buf);
	}
	n = f->netstat >= 0 ? slurp_fd(f->netstat, &buf) : -ENOENT;
	if (n >= 0) {
		kstat_parse_pairs(out, buf, (size_t)n);
		free(buf);
	}
	n = f->sockstat >= 0 ? slurp_fd(f->sockstat, &buf) : -ENOENT;
	if (n >= 0) {
		kstat_parse_sockstat(out, buf, (size_t)n);
		free(buf);
	}
	return err;
}

int kstat_read_counters(struct kstat *out, const char *proc_root)
{
	struct kstat_files f;
	char dir[512];
	int err;

	snprintf(dir, sizeof(dir), "%s/net", proc_root);
	kstat_files_open(&f, dir);
	err = kstat_files_read(&f, out);
	kstat_files_close(&f);
	return err;
}

int kstat_read_settings(struct kstat *out, const char *proc_root)
{
	char rel[128];

	memset(out->have_setting, 0, sizeof(out->have_setting));
	for (int i = 0; i < KSTAT_SETTING_MAX; i++) {
		const char *p, *w, *end;
		uint64_t v;
		size_t wl;
		char *buf;
		ssize_t n;
		int words = i == KSTAT_PORT_RANGE_LOW ? 2 : 1;

		if (i == KSTAT_PORT_RANGE_HIGH)
			continue; /* read together with the low end */
		snprintf(rel, sizeof(rel), "sys/%s", settings[i].source);
		n = slurp(proc_root, rel, &buf);
		if (n < 0)
			continue;
		p = buf;
		end = buf + n;
		while (p < end && *p == '\n')
			p++;
		for (int k = 0; k < words; k++) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			wl = word(&p, nl ? nl : end, &w);
			if (!wl || parse_u64(w, wl, &v) < 0 || v > INT64_MAX)
				break;
			out->setting[i + k] = (int64_t)v;
			out->have_setting[i + k] = 1;
		}
		free(buf);
	}
	return 0;
}

int kstat_read(struct kstat *out, const char *proc_root)
{
	int err = kstat_read_counters(out, proc_root);

	kstat_read_settings(out, proc_root);
	return err;
}
