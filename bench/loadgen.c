/* loadgen.c - holds a known mix of TCP socket states on 127.0.0.0/8 for lingerd's benchmarks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

/*
 * How the states are made (one child process holds each connection's two ends):
 *   ESTABLISHED  a connected pair, both fds held (2 sockets).
 *   CLOSE_WAIT + FIN_WAIT_2  the client shutdown(SHUT_WR)s, the server never reads or
 *                closes: both fds held, both states live forever (2 sockets).
 *   CLOSE_WAIT alone (when asked for more CLOSE_WAIT than FIN_WAIT_2)  the client close()s;
 *                its orphaned FIN_WAIT_2 half dies after net.ipv4.tcp_fin_timeout.
 *   TIME_WAIT    the client close()s, the server reads EOF and close()s: no fd is left and
 *                the client end is in TIME_WAIT for the kernel's fixed 60 s; each slice is
 *                made again 60 s after it was made, so the count holds (apart from the
 *                seconds around the first expiry, when slices are spread out, and the
 *                kernel's timer slack).
 * Churn replaces held connections with new ones of the same kind; the old ones are closed
 * with SO_LINGER {1,0} (RST) so that they leave no TIME_WAIT behind and the mix stays exact.
 */

#define LG_NET_BASE 0x7f000000u    /* 127.0.0.0 */
#define LG_LISTEN_ADDR 0x7f000001u /* 127.0.0.1 */
#define LG_TW_LEN_S 60.0           /* TCP_TIMEWAIT_LEN */
#define LG_TW_CHUNKS 50            /* TIME_WAIT is made again in this many slices... */
#define LG_TW_SPREAD_S 10.0        /* ...spread over this long, centred on the first expiry */
#define LG_FD_SPARE 64             /* fds a child keeps for listeners, pipes, stdio */
#define LG_FDS_PER_CHILD_MAX 18000
#define LG_MAX_CHILDREN 256
#define LG_MAX_PORTS_PER_CHILD 64
#define LG_MAX_SOURCES 250
#define LG_TICK_MS 100

enum lg_kind { LG_EST, LG_HALF, LG_CW_ONLY, LG_KIND_MAX };

struct lg_opts {
	long count;
	double pct_est, pct_cw, pct_fw2, pct_tw;
	int procs_min;
	int fds_per_child;
	int ports_per_child;
	int port_base;
	int sources;
	int source_base;
	double churn;
	double churn_interval;
	double hold;
	double max_runtime;
	int unshare_net;
	int force_sysctl;
};

/* What one child is asked to hold. */
struct lg_plan {
	int index;
	long pairs, half, cw_only, tw;
	int port_base, n_ports;
};

/* What one child reports once its share stands (written atomically: < PIPE_BUF). */
struct lg_report {
	int index;
	int pid;
	int err; /* 0 or -errno */
	long est, cw, fw2, tw, fw2_orphans, listen;
	double build_ms;
	char msg[160];
};

struct lg_conn {
	int cfd, sfd;
	uint8_t kind;
};

struct lg_tw_batch {
	double due;  /* when to make this slice again */
	long n;
};

struct lg_child {
	struct lg_plan plan;
	const struct lg_opts *o;
	int listeners[LG_MAX_PORTS_PER_CHILD];
	struct lg_conn *conns;
	long n_conns;
	long next_churn;
	struct lg_tw_batch tw[LG_TW_CHUNKS];
	unsigned rr;  /* round robin over sources and ports */
	double churn; /* fraction replaced per interval; the parent may change it */
	char msg[160];
};

static volatile sig_atomic_t child_stop;

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_child_signal(int sig)
{
	(void)sig;
	child_stop = 1;
}

static int set_linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0 ? -errno : 0;
}

static void close_rst(int fd)
{
	if (fd < 0)
		return;
	set_linger0(fd);
	close(fd);
}

/* Opens the child's listening sockets on 127.0.0.1.  Returns 0 or -errno. */
static int child_listen(struct lg_child *c)
{
	for (int i = 0; i < c->plan.n_ports; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons((uint16_t)(c->plan.port_base + i)),
					  .sin_addr.s_addr = htonl(LG_LISTEN_ADDR) };
		int one = 1, fd, err;

		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
			err = -errno;
			snprintf(c->msg, sizeof(c->msg), "listen on 127.0.0.1:%d: %s",
				 c->plan.port_base + i, strerror(-err));
			close(fd);
			return err;
		}
		c->listeners[i] = fd;
	}
	return 0;
}

/*
 * Connects a client from the next source address to the next listener and accepts it.
 * The accept queue is FIFO and only this process connects to its listeners, one at a
 * time, so the accepted socket is the client's peer.  Returns 0 or -errno.
 */
static int make_pair(struct lg_child *c, int *cfd, int *sfd)
{
	unsigned k = c->rr++;
	int port_i = (int)(k % (unsigned)c->plan.n_ports);
	int src_i = (int)((k / (unsigned)c->plan.n_ports) % (unsigned)c->o->sources);
	struct sockaddr_in src = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(LG_NET_BASE | (uint32_t)(c->o->source_base + src_i)) };
	struct sockaddr_in dst = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)(c->plan.port_base + port_i)),
				   .sin_addr.s_addr = htonl(LG_LISTEN_ADDR) };
	int one = 1, fd, s, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Ports are then picked at connect() per 4-tuple, not per address: no 28k cap. */
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		err = -errno;
		goto fail;
	}
	while (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		if (errno == EINTR && !child_stop)
			continue;
		err = -errno;
		goto fail;
	}
	for (;;) {
		s = accept4(c->listeners[port_i], NULL, NULL, SOCK_CLOEXEC);
		if (s >= 0)
			break;
		if (errno == EINTR && !child_stop)
			continue;
		err = -errno;
		goto fail;
	}
	*cfd = fd;
	*sfd = s;
	return 0;
fail:
	snprintf(c->msg, sizeof(c->msg), "connect from 127.0.0.%d to port %d: %s",
		 c->o->source_base + src_i, c->plan.port_base + port_i, strerror(-err));
	close(fd);
	return err;
}

/* Builds one held connection of the given kind into *cn.  Returns 0 or -errno. */
static int make_conn(struct lg_child *c, struct lg_conn *cn, int kind)
{
	int err = make_pair(c, &cn->cfd, &cn->sfd);

	if (err < 0)
		return err;
	cn->kind = (uint8_t)kind;
	if (kind == LG_HALF) {
		if (shutdown(cn->cfd, SHUT_WR) < 0)
			return -errno;
	} else if (kind == LG_CW_ONLY) {
		close(cn->cfd);
		cn->cfd = -1;
	}
	return 0;
}

/* One TIME_WAIT on the client end: client FIN first, server reads EOF, then closes. */
static int make_time_wait(struct lg_child *c)
{
	char b;
	int cfd, sfd, err;
	ssize_t n;

	err = make_pair(c, &cfd, &sfd);
	if (err < 0)
		return err;
	close(cfd);
	do
		n = recv(sfd, &b, 1, 0);
	while (n < 0 && errno == EINTR && !child_stop);
	err = n < 0 ? -errno : 0;
	close(sfd);
	return err;
}

static int make_time_waits(struct lg_child *c, long n)
{
	for (long i = 0; i < n && !child_stop; i++) {
		int err = make_time_wait(c);

		if (err < 0)
			return err;
	}
	return 0;
}

/* Replaces held connections until about churn * (sockets held + TIME_WAIT) have changed. */
static int child_churn(struct lg_child *c, double *carry)
{
	double total = 2.0 * (double)(c->plan.pairs + c->plan.half) + (double)c->plan.cw_only +
		       (double)c->plan.tw;
	double want = c->churn * total + *carry;

	if (!c->n_conns)
		return 0;
	while (want >= 1.0 && !child_stop) {
		struct lg_conn *cn = &c->conns[c->next_churn];
		int kind = cn->kind, err;

		c->next_churn = (c->next_churn + 1) % c->n_conns;
		close_rst(cn->cfd);
		close_rst(cn->sfd);
		cn->cfd = cn->sfd = -1;
		err = make_conn(c, cn, kind);
		if (err < 0)
			return err;
		want -= kind == LG_CW_ONLY ? 1.0 : 2.0;
	}
	*carry = want > 0 ? want : 0;
	return 0;
}

/*
 * Mixes the kinds (a fixed-seed Fisher-Yates), so that churn, which walks the slots in turn,
 * replaces every kind in proportion from its first interval on.
 */
static void shuffle_kinds(struct lg_conn *v, long n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (long i = n - 1; i > 0; i--) {
		long j;
		uint8_t k;

		x ^= x << 13; /* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		j = (long)(x % (uint64_t)(i + 1));
		k = v[i].kind;
		v[i].kind = v[j].kind;
		v[j].kind = k;
	}
}

static void child_cleanup(struct lg_child *c)
{
	for (long i = 0; i < c->n_conns; i++) {
		close_rst(c->conns[i].cfd);
		close_rst(c->conns[i].sfd);
	}
	for (int i = 0; i < c->plan.n_ports; i++)
		if (c->listeners[i] >= 0)
			close(c->listeners[i]);
	free(c->conns);
}

/*
 * The child: builds its share, reports it on report_fd, then holds it (churning, making
 * TIME_WAIT again as it expires) until SIGTERM, a read on ctl_fd says otherwise, or the
 * deadline.  Never returns.
 */
static void child_main(const struct lg_opts *o, const struct lg_plan *plan, int report_fd,
		       int ctl_fd)
{
	struct lg_child c = { .plan = *plan, .o = o, .churn = o->churn };
	struct lg_report rep = { .index = plan->index, .pid = getpid() };
	struct sigaction sa = { .sa_handler = on_child_signal };
	double t0 = now_mono(), deadline = t0 + o->max_runtime + 30, next_churn, carry = 0;
	int err = 0;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(1);
	for (int i = 0; i < LG_MAX_PORTS_PER_CHILD; i++)
		c.listeners[i] = -1;
	c.n_conns = plan->pairs + plan->half + plan->cw_only;
	c.conns = calloc((size_t)c.n_conns + 1, sizeof(*c.conns));
	if (!c.conns) {
		err = -ENOMEM;
		goto report;
	}
	for (long i = 0; i < c.n_conns; i++)
		c.conns[i].cfd = c.conns[i].sfd = -1;
	err = child_listen(&c);
	if (err < 0)
		goto report;
	for (long i = 0; i < c.n_conns; i++)
		c.conns[i].kind = i < plan->pairs ? LG_EST : i < plan->pairs + plan->half ? LG_HALF
											 : LG_CW_ONLY;
	shuffle_kinds(c.conns, c.n_conns, (uint64_t)plan->index + 1);
	for (long i = 0; i < c.n_conns && !child_stop; i++) {
		err = make_conn(&c, &c.conns[i], c.conns[i].kind);
		if (err < 0)
			goto report;
	}
	err = make_time_waits(&c, plan->tw);
	if (err < 0)
		goto report;
	/*
	 * All were made just now and all expire together; making them again in one burst would
	 * steal the CPU from what is being measured every minute.  Slices are made again one
	 * after another over LG_TW_SPREAD_S around the first expiry (the count is off by up to
	 * half the TIME_WAIT share for those seconds, once), and each 60 s after its own last
	 * making from then on: a steady trickle.
	 */
	for (int k = 0; k < LG_TW_CHUNKS; k++) {
		c.tw[k].n = plan->tw / LG_TW_CHUNKS + (k < plan->tw % LG_TW_CHUNKS);
		c.tw[k].due = now_mono() + LG_TW_LEN_S - LG_TW_SPREAD_S / 2 +
			      k * (LG_TW_SPREAD_S / LG_TW_CHUNKS);
	}
	if (child_stop)
		err = -EINTR;
report:
	rep.err = err;
	if (err == 0) {
		rep.est = 2 * plan->pairs;
		rep.cw = plan->half + plan->cw_only;
		rep.fw2 = plan->half;
		rep.fw2_orphans = plan->cw_only;
		rep.tw = plan->tw;
		rep.listen = plan->n_ports;
	} else if (!c.msg[0]) {
		snprintf(rep.msg, sizeof(rep.msg), "%s", strerror(-err));
	}
	if (c.msg[0])
		snprintf(rep.msg, sizeof(rep.msg), "%s", c.msg);
	rep.build_ms = (now_mono() - t0) * 1e3;
	if (write(report_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep) || err < 0) {
		child_cleanup(&c);
		_exit(1);
	}
	close(report_fd);

	next_churn = now_mono() + o->churn_interval;
	while (!child_stop) {
		struct pollfd p = { .fd = ctl_fd, .events = POLLIN };
		double now = now_mono(), wake = next_churn;
		int ms;

		for (int k = 0; k < LG_TW_CHUNKS; k++)
			if (c.tw[k].n && c.tw[k].due < wake)
				wake = c.tw[k].due;
		if (deadline < wake)
			wake = deadline;
		ms = wake > now ? (int)((wake - now) * 1e3) + 1 : 0;
		if (ms > LG_TICK_MS * 10)
			ms = LG_TICK_MS * 10;
		if (poll(&p, 1, ms) > 0) {
			double churn;
			ssize_t n = read(ctl_fd, &churn, sizeof(churn));

			if (n == 0)
				break; /* the parent is gone */
			if (n == (ssize_t)sizeof(churn)) {
				c.churn = churn;
				carry = 0;
				next_churn = now_mono() + o->churn_interval;
			}
		}
		now = now_mono();
		if (now >= deadline)
			break;
		for (int k = 0; k < LG_TW_CHUNKS; k++) {
			if (!c.tw[k].n || now < c.tw[k].due)
				continue;
			c.tw[k].due = now + LG_TW_LEN_S;
			if (make_time_waits(&c, c.tw[k].n) < 0)
				goto done;
		}
		if (child_stop)
			break;
		if (now >= next_churn) {
			next_churn += o->churn_interval;
			if (next_churn < now)
				next_churn = now + o->churn_interval;
			if (c.churn > 0 && child_churn(&c, &carry) < 0)
				break;
		}
	}
done:
	child_cleanup(&c);
	_exit(0);
}

static int write_sysctl(const char *path, long v)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CLOEXEC), len, err = 0;

	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%ld\n", v);
	if (write(fd, buf, (size_t)len) != len)
		err = -errno;
	close(fd);
	return err;
}

static long read_sysctl(const char *path)
{
	char buf[32] = "";
	long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		v = strtol(buf, NULL, 10);
	close(fd);
	return v;
}

/* Non-zero when /proc/net/dev lists an interface other than lo. */
static int has_other_interfaces(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/net/dev", "re");
	int n = 0;

	if (!f)
		return 1;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *name = line;

		if (!colon)
			continue; /* the two header lines */
		while (*name == ' ')
			name++;
		if (colon - name != 2 || strncmp(name, "lo", 2) != 0)
			n++;
	}
	fclose(f);
	return n > 0;
}

/*
 * Non-zero when this process seems to be in the host's network namespace: the same as
 * PID 1's, or, when PID 1's cannot be read (a sandbox), one with more than a loopback.
 */
static int in_host_netns(void)
{
	struct stat a, b;

	if (stat("/proc/self/ns/net", &a) < 0)
		return 1;
	if (stat("/proc/1/ns/net", &b) < 0)
		return has_other_interfaces();
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

static int loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		err = -errno;
	else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			err = -errno;
	}
	close(fd);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: loadgen [--count N] [--established PCT] [--close-wait PCT] [--fin-wait2 PCT]\n"
		"               [--time-wait PCT] [--procs MIN] [--fds-per-child N] [--ports-per-child N]\n"
		"               [--port-base PORT] [--sources N] [--churn FRACTION] [--churn-interval S]\n"
		"               [--hold S] [--max-runtime S] [--unshare] [--force-sysctl]\n"
		"\n"
		"Builds COUNT TCP sockets on 127.0.0.0/8 (default 70%% ESTABLISHED as pairs, 10%% each\n"
		"CLOSE_WAIT, FIN_WAIT_2 and TIME_WAIT) over several processes, prints one JSON line when\n"
		"they stand, and holds them until SIGTERM/SIGINT, --hold or --max-runtime (default 900 s).\n"
		"Lines on stdin: 'churn FRACTION' changes the churn; 'quit' ends.  Run it inside a private\n"
		"network namespace (ip netns exec, or --unshare); there it sets tcp_tw_reuse=0 and raises\n"
		"tcp_max_tw_buckets if needed, in the host namespace only with --force-sysctl.\n");
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !(d >= lo && d <= hi))
		return -EINVAL;
	*out = d;
	return 0;
}

static int parse_args(int argc, char **argv, struct lg_opts *o)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "established", required_argument, NULL, 'e' },
		{ "close-wait", required_argument, NULL, 'c' },
		{ "fin-wait2", required_argument, NULL, 'f' },
		{ "time-wait", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "fds-per-child", required_argument, NULL, 'F' },
		{ "ports-per-child", required_argument, NULL, 'P' },
		{ "port-base", required_argument, NULL, 'b' },
		{ "sources", required_argument, NULL, 's' },
		{ "churn", required_argument, NULL, 'C' },
		{ "churn-interval", required_argument, NULL, 'I' },
		{ "hold", required_argument, NULL, 'H' },
		{ "max-runtime", required_argument, NULL, 'M' },
		{ "unshare", no_argument, NULL, 'U' },
		{ "force-sysctl", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double d;
	int ch;

	*o = (struct lg_opts){ .count = 1000, .pct_est = 70, .pct_cw = 10, .pct_fw2 = 10,
			       .pct_tw = 10, .procs_min = 2, .fds_per_child = LG_FDS_PER_CHILD_MAX,
			       .ports_per_child = 4, .port_base = 12000, .sources = 8,
			       .source_base = 2, .churn_interval = 1, .max_runtime = 900 };
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		const char *name = longopts[0].name;

		for (int i = 0; longopts[i].name; i++)
			if (longopts[i].val == ch)
				name = longopts[i].name;
		switch (ch) {
		case 'h':
			usage(stdout);
			exit(0);
		case 'U':
			o->unshare_net = 1;
			continue;
		case 'S':
			o->force_sysctl = 1;
			continue;
		case '?':
			usage(stderr);
			return -EINVAL;
		default:
			break;
		}
		if (parse_num(optarg, 0, 1e9, &d) < 0) {
			fprintf(stderr, "loadgen: --%s: '%s' is not a valid number\n", name, optarg);
			return -EINVAL;
		}
		switch (ch) {
		case 'n': o->count = (long)d; break;
		case 'e': o->pct_est = d; break;
		case 'c': o->pct_cw = d; break;
		case 'f': o->pct_fw2 = d; break;
		case 't': o->pct_tw = d; break;
		case 'p': o->procs_min = (int)d; break;
		case 'F': o->fds_per_child = (int)d; break;
		case 'P': o->ports_per_child = (int)d; break;
		case 'b': o->port_base = (int)d; break;
		case 's': o->sources = (int)d; break;
		case 'C': o->churn = d; break;
		case 'I': o->churn_interval = d; break;
		case 'H': o->hold = d; break;
		case 'M': o->max_runtime = d; break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	if (fabs(o->pct_est + o->pct_cw + o->pct_fw2 + o->pct_tw - 100.0) > 0.01) {
		fprintf(stderr, "loadgen: the four shares must add up to 100\n");
		return -EINVAL;
	}
	if (o->pct_fw2 > o->pct_cw) {
		fprintf(stderr, "loadgen: a held FIN_WAIT_2 is one half of a half-closed connection "
				"whose other half is CLOSE_WAIT: --fin-wait2 cannot exceed --close-wait\n");
		return -EINVAL;
	}
	if (o->churn > 1 || o->churn_interval < 0.01 || o->max_runtime < 1 ||
	    o->ports_per_child < 1 || o->ports_per_child > LG_MAX_PORTS_PER_CHILD ||
	    o->sources < 1 || o->sources > LG_MAX_SOURCES || o->port_base < 1 ||
	    o->procs_min < 1 || o->procs_min > LG_MAX_CHILDREN || o->fds_per_child < 100) {
		fprintf(stderr, "loadgen: an option is out of range (see --help)\n");
		return -EINVAL;
	}
	return 0;
}

/* Splits the load into per-child plans.  Returns the number of children or -errno. */
static int make_plans(const struct lg_opts *o, struct lg_plan *plans, long fd_budget)
{
	long est = lround(o->count * o->pct_est / 100.0);
	long cw = lround(o->count * o->pct_cw / 100.0);
	long fw2 = lround(o->count * o->pct_fw2 / 100.0);
	long tw = lround(o->count * o->pct_tw / 100.0);
	long pairs = est / 2, half = fw2, cw_only = cw - fw2;
	long fds = 2 * pairs + 2 * half + cw_only, per = o->fds_per_child;
	int n;

	if (per > fd_budget - LG_FD_SPARE)
		per = fd_budget - LG_FD_SPARE;
	if (per < 100)
		return -EMFILE;
	n = (int)((fds + per - 1) / per);
	if (n < o->procs_min)
		n = o->procs_min;
	if (n > LG_MAX_CHILDREN)
		return -E2BIG;
	if (o->port_base + (long)n * o->ports_per_child > 65535)
		return -ERANGE;
	for (int i = 0; i < n; i++) {
		plans[i] = (struct lg_plan){
			.index = i,
			.pairs = pairs / n + (i < pairs % n),
			.half = half / n + (i < half % n),
			.cw_only = cw_only / n + (i < cw_only % n),
			.tw = tw / n + (i < tw % n),
			.port_base = o->port_base + i * o->ports_per_child,
			.n_ports = o->ports_per_child,
		};
	}
	return n;
}

/* Sets what makes counts exact in a private namespace; returns a JSON fragment. */
static void tune_netns(const struct lg_opts *o, long tw, char *note, size_t len)
{
	const char *twb = "/proc/sys/net/ipv4/tcp_max_tw_buckets";
	const char *reuse = "/proc/sys/net/ipv4/tcp_tw_reuse";
	int host = in_host_netns(), tuned = !host || o->force_sysctl;
	long buckets = read_sysctl(twb);

	if (tuned) {
		/* tw_reuse (default 2: on loopback) would let new connects kill our TIME_WAITs. */
		write_sysctl(reuse, 0);
		if (buckets >= 0 && buckets < 2 * tw + 1024)
			write_sysctl(twb, 2 * tw + 1024);
	}
	snprintf(note, len,
		 "\"netns\":\"%s\",\"tcp_max_tw_buckets\":%ld,\"tcp_tw_reuse\":%ld,"
		 "\"tcp_fin_timeout\":%ld",
		 host ? "host" : "private", read_sysctl(twb), read_sysctl(reuse),
		 read_sysctl("/proc/sys/net/ipv4/tcp_fin_timeout"));
}

static void kill_children(const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
}

static int wait_children(pid_t *pids, int n, double grace_s)
{
	double until = now_mono() + grace_s;
	int left = n, rc = 0;

	while (left > 0) {
		int st;
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p > 0) {
			for (int i = 0; i < n; i++)
				if (pids[i] == p) {
					pids[i] = 0;
					left--;
					if (!WIFEXITED(st) || WEXITSTATUS(st))
						rc = 1;
				}
			continue;
		}
		if (p < 0)
			break;
		if (now_mono() > until) {
			for (int i = 0; i < n; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGKILL);
			until = now_mono() + 5;
		}
		usleep(20000);
	}
	return rc;
}

int main(int argc, char **argv)
{
	static struct lg_plan plans[LG_MAX_CHILDREN];
	static pid_t pids[LG_MAX_CHILDREN];
	static int ctl[LG_MAX_CHILDREN];
	struct lg_opts o;
	struct rlimit rl;
	struct lg_report tot = { 0 };
	char note[256], line[256];
	double t0 = now_mono(), deadline, build_ms = 0;
	int rep_pipe[2], sfd, n, got = 0, rc = 1, stdin_open = 1;
	sigset_t set;

	if (parse_args(argc, argv, &o) < 0)
		return 64;
	deadline = t0 + o.max_runtime;
	if (o.hold > 0 && t0 + o.hold < deadline)
		deadline = t0 + o.hold; /* checked again from when the load stands */
	if (o.unshare_net) {
		if (unshare(CLONE_NEWNET) < 0) {
			fprintf(stderr, "loadgen: unshare(CLONE_NEWNET): %s\n", strerror(errno));
			return 1;
		}
		if (loopback_up() < 0) {
			fprintf(stderr, "loadgen: cannot bring lo up: %s\n", strerror(errno));
			return 1;
		}
	}
	/* Raise the soft fd limit to the hard one; children inherit it. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	n = make_plans(&o, plans, (long)(rl.rlim_cur > 1000000 ? 1000000 : rl.rlim_cur));
	if (n < 0) {
		fprintf(stderr, "loadgen: cannot split the load: %s\n", strerror(-n));
		return 1;
	}
	{
		long tw = 0;

		for (int i = 0; i < n; i++)
			tw += plans[i].tw;
		tune_netns(&o, tw, note, sizeof(note));
	}

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(rep_pipe, O_CLOEXEC) < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		int cp[2];

		if (pipe2(cp, O_CLOEXEC) < 0) {
			fprintf(stderr, "loadgen: pipe: %s\n", strerror(errno));
			goto out;
		}
		fflush(stdout);
		pids[i] = fork();
		if (pids[i] < 0) {
			fprintf(stderr, "loadgen: fork: %s\n", strerror(errno));
			pids[i] = 0;
			close(cp[0]);
			close(cp[1]);
			goto out;
		}
		if (pids[i] == 0) {
			close(rep_pipe[0]);
			close(cp[1]);
			for (int j = 0; j < i; j++)
				close(ctl[j]);
			child_main(&o, &plans[i], rep_pipe[1], cp[0]);
		}
		close(cp[0]);
		ctl[i] = cp[1];
	}
	close(rep_pipe[1]);
	/* Signals are handled through a signalfd from here on (children set their own). */
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);

	while (got < n) {
		struct pollfd p[2] = { { .fd = rep_pipe[0], .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		struct lg_report r;
		double left = deadline - now_mono();

		if (left <= 0 || poll(p, 2, (int)(left * 1e3) + 1) <= 0) {
			fprintf(stderr, "loadgen: the load was not built before the deadline\n");
			goto out;
		}
		if (p[1].revents) {
			struct signalfd_siginfo si;

			struct pollfd rp = { .fd = rep_pipe[0], .events = POLLIN };

			if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				continue;
			if (si.ssi_signo != SIGCHLD) {
				fprintf(stderr, "loadgen: interrupted while building\n");
				goto out;
			}
			/* A child that failed wrote its report before exiting; one that crashed did not. */
			if (!p[0].revents && poll(&rp, 1, 0) <= 0) {
				fprintf(stderr, "loadgen: a child died while building\n");
				printf("{\"event\":\"error\",\"error\":\"a child died while building\"}\n");
				fflush(stdout);
				goto out;
			}
		}
		if (!p[0].revents)
			continue;
		if (read(rep_pipe[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
			fprintf(stderr, "loadgen: a child died while building\n");
			goto out;
		}
		if (r.err < 0) {
			printf("{\"event\":\"error\",\"child\":%d,\"error\":\"%s\"}\n", r.index, r.msg);
			fflush(stdout);
			fprintf(stderr, "loadgen: child %d: %s\n", r.index, r.msg);
			goto out;
		}
		tot.est += r.est;
		tot.cw += r.cw;
		tot.fw2 += r.fw2;
		tot.fw2_orphans += r.fw2_orphans;
		tot.tw += r.tw;
		tot.listen += r.listen;
		if (r.build_ms > build_ms)
			build_ms = r.build_ms;
		got++;
	}
	if (o.hold > 0 && now_mono() + o.hold < t0 + o.max_runtime)
		deadline = now_mono() + o.hold;
	else
		deadline = t0 + o.max_runtime;

	printf("{\"event\":\"ready\",\"count\":%ld,\"total\":%ld,\"built\":{\"ESTABLISHED\":%ld,"
	       "\"CLOSE_WAIT\":%ld,\"FIN_WAIT_2\":%ld,\"TIME_WAIT\":%ld,\"LISTEN\":%ld},"
	       "\"fin_wait2_orphans\":%ld,\"procs\":%d,\"pid\":%d,\"pids\":[",
	       o.count, tot.est + tot.cw + tot.fw2 + tot.tw, tot.est, tot.cw, tot.fw2, tot.tw,
	       tot.listen, tot.fw2_orphans, n, (int)getpid());
	for (int i = 0; i < n; i++)
		printf("%s%d", i ? "," : "", (int)pids[i]);
	printf("],\"listen\":\"127.0.0.1\",\"ports\":[%d,%d],\"sources\":[\"127.0.0.%d\",\"127.0.0.%d\"],"
	       "\"churn\":%g,\"churn_interval\":%g,\"build_ms\":%.1f,\"fd_limit\":%lu,%s}\n",
	       o.port_base, o.port_base + n * o.ports_per_child - 1, o.source_base,
	       o.source_base + o.sources - 1, o.churn, o.churn_interval, build_ms,
	       (unsigned long)rl.rlim_cur, note);
	fflush(stdout);

	for (;;) {
		struct pollfd p[2] = { { .fd = sfd, .events = POLLIN },
				       { .fd = stdin_open ? 0 : -1, .events = POLLIN } };
		double left = deadline - now_mono();

		if (left <= 0) {
			rc = 0;
			break;
		}
		if (poll(p, 2, (int)(left * 1e3) + 1) <= 0)
			continue;
		if (p[0].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
				continue;
			if (si.ssi_signo == SIGCHLD) {
				fprintf(stderr, "loadgen: a child exited early (pid %u)\n", si.ssi_pid);
				printf("{\"event\":\"error\",\"error\":\"child %u exited\"}\n", si.ssi_pid);
				fflush(stdout);
				break;
			}
			rc = 0;
			break;
		}
		if (p[1].revents) {
			double churn;

			if (!fgets(line, sizeof(line), stdin)) {
				stdin_open = 0; /* EOF: keep holding until a signal or the deadline */
				continue;
			}
			if (strncmp(line, "quit", 4) == 0) {
				rc = 0;
				break;
			}
			if (sscanf(line, "churn %lf", &churn) == 1 && churn >= 0 && churn <= 1) {
				for (int i = 0; i < n; i++)
					if (write(ctl[i], &churn, sizeof(churn)) < 0)
						fprintf(stderr, "loadgen: control pipe: %s\n", strerror(errno));
				printf("{\"event\":\"churn\",\"churn\":%g}\n", churn);
			} else {
				printf("{\"event\":\"error\",\"error\":\"unknown command\"}\n");
			}
			fflush(stdout);
		}
	}
out:
	kill_children(pids, n);
	if (wait_children(pids, n, 10) && rc == 0)
		rc = 1;
	printf("{\"event\":\"done\",\"rc\":%d,\"runtime_s\":%.1f}\n", rc, now_mono() - t0);
	return rc;
}
