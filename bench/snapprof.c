/* snapprof.c - times each phase of lingerd's sampling path on the sockets of this namespace. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_ZERO_STATS
#define CALLGRIND_ZERO_STATS
#endif

#include "capture.h"
#include "diag.h"
#include "history.h"
#include "procmap.h"
#include "procnet.h"
#include "sampler.h"
#include "snap.h"

/*
 * Links lingerd's own code and runs its phases one by one, so that a profile (perf,
 * callgrind) or a clock can tell them apart:
 *   floor    a dump that only receives, into one reused buffer, as bench/dumpcount does
 *            (for --source proc: the two tables read and dropped, as cat does)
 *   capture  lingerd's capture_take(): the same dump (or read), parsed into records
 *   dump     the kernel's part: a sock_diag dump received into memory, not parsed
 *            (for --source proc: read() of /proc/net/tcp and tcp6 into one buffer)
 *   parse    diag_parse() over those datagrams (procnet_parse() over that text)
 *   build    snap_build() against the previous snapshot (hash, index, diff, summaries)
 *   attrib   procmap_attribute() carrying owners over, after one initial /proc walk
 *   history  history_add() (per-port and per-process grouping, bucket update)
 *   persist  the sampler's scan for sockets that lingered long enough to get a row
 * With --sampler it instead runs the real sampler (capture, diff, commit to a database in a
 * temporary folder) and prints its own duration and commit time per snapshot.
 * Run it in the namespace of a bench/loadgen load; it sleeps --interval between snapshots
 * so that churn shows up in the diff.  One JSON line per snapshot, then one of medians.
 */

#define SP_ARENA (64u * 1024 * 1024)
#define SP_MAX_ITERS 1000

enum { P_FLOOR, P_CAPTURE, P_DUMP, P_PARSE, P_BUILD, P_ATTRIB, P_HISTORY, P_PERSIST, P_MAX };
static const char *const phase_name[P_MAX] = { "floor", "capture", "dump", "parse",
					       "build", "attrib", "history", "persist" };

/* Minor page faults of this process so far: fresh memory costs a fault per page. */
static long faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Datagrams of one dump, back to back, each preceded by its length. */
struct arena {
	unsigned char *p;
	size_t len;
};

static int nl_socket(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, sz = 4 * 1024 * 1024;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return fd;
}

/*
 * Receives one dump of one family into a, unparsed.  The same request lingerd sends.  With
 * keep 0 every datagram lands at the start of a (the floor: bench/dumpcount's way).
 */
static int raw_dump(int fd, int family, uint32_t seq, struct arena *a, int keep)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = seq },
		.r = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = ((1u << 12) - 2u) | (1u << 12) },
	};
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	for (;;) {
		size_t room = SP_ARENA - a->len - sizeof(uint32_t);
		ssize_t n;
		uint32_t l;
		const struct nlmsghdr *h;

		if (room < 256 * 1024)
			return -ENOSPC;
		n = recv(fd, a->p + a->len + sizeof(l), 256 * 1024, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		l = (uint32_t)n;
		memcpy(a->p + a->len, &l, sizeof(l));
		/* The last datagram holds NLMSG_DONE (or an error) as its last message. */
		for (size_t off = 0; off + sizeof(*h) <= (size_t)n;) {
			h = (const void *)(a->p + a->len + sizeof(l) + off);
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				if (keep)
					a->len += sizeof(l) + (size_t)n;
				return 0;
			}
			if (h->nlmsg_len < sizeof(*h))
				return -EPROTO;
			off += NLMSG_ALIGN(h->nlmsg_len);
		}
		if (keep)
			a->len += sizeof(l) + (size_t)n;
	}
}

static int parse_arena(const struct arena *a, uint32_t seq0, struct sock_vec *out)
{
	struct diag_parse_state st = { .seq = seq0 };
	size_t off = 0;
	int err;

	while (off < a->len) {
		uint32_t l;

		memcpy(&l, a->p + off, sizeof(l));
		off += sizeof(l);
		err = diag_parse(&st, a->p + off, l, out);
		if (err < 0)
			return err;
		off += l;
		if (st.done) {
			st.done = 0;
			st.seq++;
		}
	}
	return 0;
}

/* Reads a whole /proc file into a->p + a->len. */
static int read_file(const char *path, struct arena *a, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	*len = 0;
	if (fd < 0)
		return -errno;
	while ((n = read(fd, a->p + a->len + *len, SP_ARENA - a->len - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Reads a file to its end in 128 KiB pieces and drops them, as cat does. */
static int read_drop(const char *path, unsigned char *buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, 128 * 1024)) > 0)
		;
	close(fd);
	return n < 0 ? -errno : 0;
}

static int on_appeared(void *arg, struct snap_sock *s)
{
	(void)s;
	((size_t *)arg)[0]++;
	return 0;
}

static int on_changed(void *arg, const struct snap_sock *s, int old)
{
	(void)s;
	(void)old;
	((size_t *)arg)[1]++;
	return 0;
}

static int on_vanished(void *arg, const struct snap_sock *s)
{
	(void)s;
	((size_t *)arg)[2]++;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int sampler_loop(int iters, double interval, enum capture_source src)
{
	char dir[] = "/tmp/snapprof.XXXXXX", db[64];
	struct sampler_config cfg = {
		.interval_s = interval, .source = src, .db_path = db, .attribute_every_s = 0,
		.persist_after_s = 600, .retention_s = 86400, .raw_retention_s = 86400,
	};
	struct sampler *s;
	double *dur = calloc((size_t)iters, sizeof(*dur)), *com = calloc((size_t)iters, sizeof(*com));
	double *floor = calloc((size_t)iters, sizeof(*floor));
	double *ratio = calloc((size_t)iters, sizeof(*ratio));
	struct arena a = { malloc(SP_ARENA), 0 };
	uint32_t seq = 0;
	int err, fd = nl_socket();

	if (!dur || !com || !floor || !ratio || !a.p || fd < 0 || !mkdtemp(dir))
		return -ENOMEM;
	snprintf(db, sizeof(db), "%s/db", dir);
	err = sampler_open(&s, &cfg);
	if (err < 0)
		return err;
	for (int i = 0; i < iters; i++) {
		struct feed_status st;
		double t0 = mono_ms();

		/* The floor right before the snapshot, so both see the same host load. */
		if (src == CAPTURE_PROC) {
			err = read_drop("/proc/net/tcp", a.p);
			if (err == 0)
				err = read_drop("/proc/net/tcp6", a.p);
		} else {
			err = raw_dump(fd, AF_INET, ++seq, &a, 0);
			if (err == 0)
				err = raw_dump(fd, AF_INET6, ++seq, &a, 0);
		}
		if (err < 0)
			break;
		floor[i] = mono_ms() - t0;
		err = sampler_step(s);
		if (err < 0)
			break;
		feed_status(sampler_feed(s), &st);
		dur[i] = st.last_duration_ms;
		com[i] = st.last_commit_ms;
		ratio[i] = (dur[i] + com[i]) / floor[i];
		printf("{\"iter\":%d,\"floor_ms\":%.3f,\"duration_ms\":%.3f,\"commit_ms\":%.3f,"
		       "\"ratio\":%.3f}\n",
		       i, floor[i], dur[i], com[i], ratio[i]);
		fflush(stdout);
		if (i + 1 < iters)
			sleep_s(interval);
	}
	sampler_close(s);
	/* The first two snapshots insert every row: not the steady state. */
	if (err == 0 && iters > 2)
		printf("{\"median_floor_ms\":%.3f,\"median_duration_ms\":%.3f,"
		       "\"median_commit_ms\":%.3f,\"median_ratio\":%.3f}\n",
		       median(floor + 2, (size_t)iters - 2), median(dur + 2, (size_t)iters - 2),
		       median(com + 2, (size_t)iters - 2), median(ratio + 2, (size_t)iters - 2));
	{
		static const char *const sfx[] = { "", "-wal", "-shm", ".lock" };
		char path[96];

		for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", db, sfx[i]);
			unlink(path);
		}
		rmdir(dir);
	}
	free(dur);
	free(com);
	free(floor);
	free(ratio);
	free(a.p);
	close(fd);
	return err;
}

struct job {
	int iters;
	double interval;
	enum capture_source src;
	int err;
};

static void *sampler_job(void *arg)
{
	struct job *j = arg;

	j->err = sampler_loop(j->iters, j->interval, j->src);
	return NULL;
}

/*
 * lingerd samples in a thread of its own, and glibc gives such a thread its own malloc
 * arena, which hands freed memory back to the kernel far more eagerly than the main one:
 * run the sampler the same way, or page faults the daemon pays would not show here.
 */
static int run_sampler(int iters, double interval, enum capture_source src)
{
	struct job j = { iters, interval, src, 0 };
	pthread_t t;

	if (pthread_create(&t, NULL, sampler_job, &j) != 0)
		return -EAGAIN;
	pthread_join(t, NULL);
	return j.err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "iters", required_argument, NULL, 'i' },
		{ "interval", required_argument, NULL, 'I' },
		{ "source", required_argument, NULL, 's' },
		{ "sampler", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int iters = 7, proc = 0, sampler = 0, fd = -1, ch, err = 0;
	double interval = 1.0, *ms[P_MAX] = { 0 };
	struct arena a = { 0 };
	struct sock_vec recs = { 0 }, capvec = { 0 };
	struct capture *cap = NULL;
	struct snap *prev = NULL;
	struct procmap *pm = NULL;
	struct history *h = NULL;
	uint32_t seq = 0;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			iters = (int)strtol(optarg, NULL, 10);
			break;
		case 'I':
			interval = strtod(optarg, NULL);
			break;
		case 's':
			proc = strcmp(optarg, "proc") == 0;
			break;
		case 'S':
			sampler = 1;
			break;
		default:
			fprintf(stderr, "usage: snapprof [--iters N] [--interval S] "
					"[--source netlink|proc] [--sampler]\n");
			return ch == 'h' ? 0 : 64;
		}
	}
	if (iters < 2 || iters > SP_MAX_ITERS || interval < 0)
		return 64;
	if (sampler) {
		err = run_sampler(iters, interval, proc ? CAPTURE_PROC : CAPTURE_NETLINK);
		goto out;
	}
	a.p = malloc(SP_ARENA);
	for (int p = 0; p < P_MAX; p++)
		ms[p] = calloc((size_t)iters, sizeof(double));
	if (!a.p || !ms[P_MAX - 1] || procmap_open(&pm, "/proc") < 0 || history_open(&h) < 0) {
		err = -ENOMEM;
		goto out;
	}
	err = capture_open(&cap, proc ? CAPTURE_PROC : CAPTURE_NETLINK);
	if (err < 0)
		goto out;
	if (!proc && (fd = nl_socket()) < 0) {
		err = fd;
		goto out;
	}
	for (int i = 0; i < iters; i++) {
		size_t changes[3] = { 0 }, persist = 0;
		static const struct snap_change_ops ops = { on_appeared, on_changed, on_vanished };
		struct snap *snap = NULL;
		double t[P_MAX + 1], now;
		long f[P_MAX + 1];
		uint32_t seq0;
		int partial = 0;

		a.len = 0;
		sock_vec_clear(&recs);
		now = (double)time(NULL);
		t[0] = mono_ms();
		f[0] = faults();
		if (!proc) {
			err = raw_dump(fd, AF_INET, ++seq, &a, 0);
			if (err == 0)
				err = raw_dump(fd, AF_INET6, ++seq, &a, 0);
		} else {
			err = read_drop("/proc/net/tcp", a.p);
			if (err == 0)
				err = read_drop("/proc/net/tcp6", a.p);
		}
		if (err < 0)
			goto out;
		t[1] = mono_ms();
		f[1] = faults();
		err = capture_take(cap, &capvec, &partial);
		if (err < 0)
			goto out;
		t[2] = mono_ms();
		f[2] = faults();
		seq0 = seq + 1;
		if (!proc) {
			err = raw_dump(fd, AF_INET, ++seq, &a, 1);
			if (err == 0)
				err = raw_dump(fd, AF_INET6, ++seq, &a, 1);
		} else {
			size_t l4 = 0, l6 = 0;

			err = read_file("/proc/net/tcp", &a, &l4);
			a.len += l4;
			if (err == 0)
				err = read_file("/proc/net/tcp6", &a, &l6);
			a.len += l6;
			t[3] = mono_ms();
		f[3] = faults();
			if (err == 0)
				err = procnet_parse((char *)a.p, l4, AF_INET, 100, &recs);
			if (err == 0)
				err = procnet_parse((char *)a.p + l4, l6, AF_INET6, 100, &recs);
		}
		if (err < 0)
			goto out;
		if (!proc) {
			t[3] = mono_ms();
		f[3] = faults();
			err = parse_arena(&a, seq0, &recs);
			if (err < 0)
				goto out;
		}
		t[4] = mono_ms();
		f[4] = faults();
		err = snap_build(&snap, &recs, prev, now, &ops, changes);
		if (err < 0)
			goto out;
		snap->taken_at = now;
		t[5] = mono_ms();
		f[5] = faults();
		err = procmap_attribute(pm, snap, prev, (double)i, i ? 1e9 : 0);
		if (err < 0)
			goto out;
		t[6] = mono_ms();
		f[6] = faults();
		err = history_add(h, snap, NULL);
		if (err < 0)
			goto out;
		t[7] = mono_ms();
		f[7] = faults();
		for (size_t k = 0; k < snap->n; k++) {
			const struct snap_sock *e = &snap->socks[k];

			if (!e->row_id && e->r.state != SOCK_TIME_WAIT &&
			    sock_state_lingering(e->r.state) && now - e->state_since >= 600)
				persist++;
		}
		t[8] = mono_ms();
		f[8] = faults();
		printf("{\"iter\":%d,\"n\":%zu,\"appeared\":%zu,\"changed\":%zu,\"vanished\":%zu,"
		       "\"procs\":%zu",
		       i, snap->n, changes[0], changes[1], changes[2], snap->nprocs);
		for (int p = 0; p < P_MAX; p++) {
			ms[p][i] = t[p + 1] - t[p];
			printf(",\"%s_ms\":%.3f", phase_name[p], ms[p][i]);
		}
		for (int p = 0; p < P_MAX; p++)
			printf(",\"%s_faults\":%ld", phase_name[p], f[p + 1] - f[p]);
		printf("}\n");
		fflush(stdout);
		snap_put(prev);
		prev = snap;
		/* Under callgrind, count the snapshots after the first one only. */
		if (i == 0)
			CALLGRIND_ZERO_STATS;
		if (i + 1 < iters)
			sleep_s(interval);
	}
	/* The first snapshot has no previous one and walks /proc: left out of the medians. */
	printf("{\"medians\":true");
	for (int p = 0; p < P_MAX; p++)
		printf(",\"%s_ms\":%.3f", phase_name[p], median(ms[p] + 1, (size_t)iters - 1));
	printf("}\n");
out:
	if (err < 0)
		fprintf(stderr, "snapprof: %s\n", strerror(-err));
	snap_put(prev);
	sock_vec_free(&recs);
	sock_vec_free(&capvec);
	capture_close(cap);
	procmap_close(pm);
	history_close(h);
	if (fd >= 0)
		close(fd);
	free(a.p);
	for (int p = 0; p < P_MAX; p++)
		free(ms[p]);
	return err < 0;
}
