/* linger.c - `lingerd lab linger`: what SO_LINGER does to close(), observed rather than told. */
#include "lab_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "sock.h"

/*
 * Each case opens one loopback connection; the client closes first, the server is the peer.
 * Every result is an observation, never what the case is expected to do: close()'s duration
 * and return, the peer's reads (EOF: a FIN arrived; ECONNRESET: an RST), the counters of
 * /proc/net/netstat and /proc/net/snmp, and the states of both ends as /proc/net/tcp shows
 * them while close() runs and after.
 */
enum linger_case {
	LC_PLAIN,      /* l_onoff = 0 */
	LC_TIMEOUT,    /* l_linger > 0, blocking, unsent data, a peer that does not read */
	LC_TIMEOUT_NB, /* the same on a non-blocking socket */
	LC_ABORT,      /* l_linger = 0 */
	LC_UNREAD,     /* no SO_LINGER, but unread data in the closer's receive queue */
	LC_MAX,
};

static const struct {
	const char *name, *title;
} cases[LC_MAX] = {
	[LC_PLAIN] = { "plain_close", "l_onoff = 0 (the default)" },
	[LC_TIMEOUT] = { "linger_timeout",
			 "l_onoff = 1, l_linger > 0, blocking, unsent data, a peer that does "
			 "not read" },
	[LC_TIMEOUT_NB] = { "linger_timeout_nonblocking", "the same on a non-blocking socket" },
	[LC_ABORT] = { "linger_0", "l_onoff = 1, l_linger = 0" },
	[LC_UNREAD] = { "unread_data", "no SO_LINGER; data left unread in the closer's receive "
				       "queue" },
};

/* The TcpExt counters of /proc/net/netstat, then Tcp's OutRsts of /proc/net/snmp. */
static const char *const counter_names[] = { "TCPAbortOnData", "TCPAbortOnClose",
					     "TCPAbortOnLinger", "OutRsts" };
#define N_COUNTERS (sizeof(counter_names) / sizeof(counter_names[0]))
#define N_EXT (N_COUNTERS - 1)

enum {
	LINGER_EVENTS_MAX = 32,  /* state changes recorded per case: a close has a handful */
	LINGER_DRAIN_MS = 10000, /* the peer reads what the closer left this long at most */
	LINGER_UNREAD_BYTES = 3,
	LINGER_PACE_MS = 50, /* between close(), the peer's reads and its close(): long enough
			      * for the watcher to see the states in between */
};

enum side { SIDE_CLOSER, SIDE_PEER };

struct linger_event {
	int64_t at_us; /* when the read that saw it ended, since close() was called */
	int side;
	int state; /* 0: no socket with this 4-tuple any more */
};

/*
 * A thread that reads /proc/net/tcp in a loop while close() blocks the case's own thread,
 * and records each state either end of the connection is seen in.  A state that lasts less
 * than one read (FIN_WAIT_1 on loopback, often) can be missed: the record says what was
 * seen, never what must have happened.
 */
struct watch {
	struct lab_addr closer, peer; /* the local address of each end */
	atomic_int stop, scans, err;  /* err: the read that failed, -errno */
	int last[2];                  /* last[], ev[] and n are the thread's until it is joined */
	struct linger_event ev[LINGER_EVENTS_MAX];
	size_t n;
	pthread_t thr;
	int running;
};

struct linger_result {
	struct lab_addr local, remote;
	int linger_on, linger_s, blocking;
	long written; /* bytes the closer wrote before close() */
	int unsent;   /* of those, not yet sent when close() was called */
	int64_t close_us;
	int close_err;      /* 0: close() returned 0 */
	int after_state;    /* the closer's 4-tuple right after close() returned (0: gone) */
	uint32_t after_txq; /* and its send queue then */
	long peer_bytes;    /* bytes the peer read after close() */
	int peer_err;       /* 0: the peer's last read was EOF; else its errno */
	int time_wait;      /* TIME_WAIT sockets on the closer's 4-tuple once settled */
	long long delta[N_COUNTERS];
	struct linger_event ev[LINGER_EVENTS_MAX];
	size_t n_ev;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int counters_read(long long *v)
{
	static const char *const out_rsts[] = { "OutRsts" };
	int ret = lab_mib_read("/proc/net/netstat", "TcpExt", counter_names, N_EXT, v);

	return ret ? ret : lab_mib_read("/proc/net/snmp", "Tcp", out_rsts, 1, v + N_EXT);
}

struct tuple_state {
	struct lab_addr a, b; /* matched as local a, remote b (side 0) or the reverse (side 1) */
	int state[2];
	uint32_t txq[2];
};

static void tuple_match(const struct proc_row *r, void *arg)
{
	struct tuple_state *ts = arg;
	int side = -1;

	if (lab_addr_equal(&r->local, &ts->a) && lab_addr_equal(&r->remote, &ts->b))
		side = SIDE_CLOSER;
	else if (lab_addr_equal(&r->local, &ts->b) && lab_addr_equal(&r->remote, &ts->a))
		side = SIDE_PEER;
	if (side < 0)
		return;
	ts->state[side] = r->state;
	ts->txq[side] = r->txq;
}

static void *watch_run(void *arg)
{
	struct watch *w = arg;

	while (!atomic_load(&w->stop)) {
		struct tuple_state ts = { .a = w->closer, .b = w->peer };
		int ret = lab_proc_scan(AF_INET, tuple_match, &ts);
		int64_t t = now_us(); /* each state was seen at the latest by now */

		if (ret) {
			atomic_store(&w->err, ret);
			break;
		}
		for (int s = 0; s < 2; s++) {
			if (ts.state[s] == w->last[s] || w->n == LINGER_EVENTS_MAX)
				continue;
			w->last[s] = ts.state[s];
			w->ev[w->n++] = (struct linger_event){ .at_us = t,
							       .side = s,
							       .state = ts.state[s] };
		}
		atomic_fetch_add(&w->scans, 1);
		lab_sleep_ms(1);
	}
	return NULL;
}

/* Starts the watcher; returns once it has seen the states before close(). */
static int watch_start(struct watch *w, const struct linger_result *res)
{
	int64_t end = lab_now_ms() + LAB_STEP_MS;
	int ret;

	w->closer = res->local;
	w->peer = res->remote;
	w->last[0] = w->last[1] = -1;
	ret = pthread_create(&w->thr, NULL, watch_run, w);
	if (ret)
		return -ret;
	w->running = 1;
	while (atomic_load(&w->scans) == 0 && !atomic_load(&w->err) && lab_now_ms() < end)
		lab_sleep_ms(1);
	return atomic_load(&w->scans) ? 0 : -ETIMEDOUT;
}

/* Stops the watcher; done set, only after it has read /proc once more from start to end. */
static void watch_stop(struct watch *w, int done)
{
	int64_t end = lab_now_ms() + LAB_STEP_MS;
	int from = atomic_load(&w->scans);

	if (!w->running)
		return;
	/* The read under way may have begun before the last change: wait for the next one. */
	while (done && atomic_load(&w->scans) < from + 2 && !atomic_load(&w->err) &&
	       lab_now_ms() < end)
		lab_sleep_ms(1);
	atomic_store(&w->stop, 1);
	pthread_join(w->thr, NULL);
	w->running = 0;
}

/* Reads until EOF or an error: *bytes read, *err 0 for EOF, else the errno. */
static void drain(int fd, long *bytes, int *err)
{
	int64_t end = lab_now_ms() + LINGER_DRAIN_MS;
	char buf[16384];

	*bytes = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = end - lab_now_ms();
		ssize_t n;

		if (left <= 0) {
			*err = ETIMEDOUT;
			return;
		}
		poll(&p, 1, (int)left);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			*bytes += n;
		} else if (n == 0) {
			*err = 0;
			return;
		} else if (errno != EAGAIN && errno != EINTR) {
			*err = errno;
			return;
		}
	}
}

/* Waits until the closer's 4-tuple holds nothing but TIME_WAIT and the peer's is gone. */
static int settle(const struct linger_result *res)
{
	int64_t end = lab_now_ms() + LAB_STEP_MS;

	for (;;) {
		int all = lab_proc_count(&res->local, &res->remote, -1);
		int tw = lab_proc_count(&res->local, &res->remote, SOCK_TIME_WAIT);
		int peer = lab_proc_count(&res->remote, &res->local, -1);

		if (all < 0 || tw < 0 || peer < 0)
			return all < 0 ? all : tw < 0 ? tw : peer;
		if (all == tw && peer == 0)
			return 0;
		if (lab_now_ms() >= end)
			return -ETIMEDOUT;
		lab_sleep_ms(LAB_POLL_MS);
	}
}

static int set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int linger_case(enum linger_case lc, int linger_s, uint16_t port, struct linger_result *res)
{
	long long before[N_COUNTERS], after[N_COUNTERS];
	int small = lc == LC_TIMEOUT || lc == LC_TIMEOUT_NB;
	struct watch w = { 0 };
	int cfd, sfd, ret;
	int64_t t0;

	ret = lab_pair_open(&port, 1, small, &cfd, &sfd);
	if (ret)
		return ret;
	lab_addr_local(cfd, &res->local);
	lab_addr_remote(cfd, &res->remote);
	res->blocking = lc != LC_TIMEOUT_NB;
	if (lc == LC_UNREAD) {
		struct pollfd p = { .fd = cfd, .events = POLLIN };

		if (send(sfd, "abc", LINGER_UNREAD_BYTES, MSG_NOSIGNAL) != LINGER_UNREAD_BYTES) {
			ret = errno ? -errno : -EIO;
			goto out;
		}
		if (poll(&p, 1, LAB_STEP_MS) != 1) {
			ret = -ETIMEDOUT;
			goto out;
		}
	}
	if (small) {
		ret = lab_fill_window(cfd, &res->written);
		if (!ret && ioctl(cfd, SIOCOUTQNSD, &res->unsent) < 0)
			ret = -errno;
		if (ret)
			goto out;
	}
	if (res->blocking) {
		ret = set_blocking(cfd);
		if (ret)
			goto out;
	}
	if (lc == LC_TIMEOUT || lc == LC_TIMEOUT_NB || lc == LC_ABORT) {
		struct linger lg = { .l_onoff = 1, .l_linger = lc == LC_ABORT ? 0 : linger_s };

		if (setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
			ret = -errno;
			goto out;
		}
		res->linger_on = 1;
		res->linger_s = lg.l_linger;
	}
	ret = counters_read(before);
	if (!ret)
		ret = watch_start(&w, res);
	if (ret)
		goto out;

	t0 = now_us();
	if (close(cfd) < 0)
		res->close_err = errno;
	res->close_us = now_us() - t0;
	cfd = -1; /* closed whatever close() answered: Linux never keeps the fd */
	{
		struct tuple_state ts = { .a = res->local, .b = res->remote };

		ret = lab_proc_scan(AF_INET, tuple_match, &ts);
		if (ret)
			goto out;
		res->after_state = ts.state[SIDE_CLOSER];
		res->after_txq = ts.txq[SIDE_CLOSER];
	}
	lab_sleep_ms(LINGER_PACE_MS);
	drain(sfd, &res->peer_bytes, &res->peer_err);
	lab_sleep_ms(LINGER_PACE_MS);
	close(sfd); /* after EOF a FIN; the closer's end then goes to TIME_WAIT */
	sfd = -1;
	ret = settle(res);
	watch_stop(&w, !ret);
	if (!ret)
		ret = atomic_load(&w.err);
	if (ret)
		goto out;
	for (size_t i = 0; i < w.n; i++) {
		res->ev[i] = w.ev[i];
		res->ev[i].at_us -= t0;
	}
	res->n_ev = w.n;
	ret = lab_proc_count(&res->local, &res->remote, SOCK_TIME_WAIT);
	if (ret < 0)
		goto out;
	res->time_wait = ret;
	ret = counters_read(after);
	if (ret)
		goto out;
	for (size_t i = 0; i < N_COUNTERS; i++)
		res->delta[i] = after[i] - before[i];
out:
	watch_stop(&w, 0);
	lab_close_abort(cfd);
	lab_close_abort(sfd);
	return ret;
}

static const char *errno_or(int err, const char *zero)
{
	return err ? lab_errno_name(err) : zero;
}

/* What reached the peer, as its reads show it. */
static const char *wire(const struct linger_result *r)
{
	if (r->peer_err == ECONNRESET)
		return "RST";
	return r->peer_err ? "unknown" : "FIN";
}

static const char *state_or_gone(int state)
{
	return state ? sock_state_name(state) : NULL;
}

static void print_json(const struct linger_result *res, int linger_s)
{
	printf("{\"demo\":\"linger\",\"pid\":%d,\"family\":\"ipv4\",\"closer\":\"client\","
	       "\"linger_s\":%d,\"cases\":[",
	       (int)getpid(), linger_s);
	for (int lc = 0; lc < LC_MAX; lc++) {
		const struct linger_result *r = &res[lc];
		char l[INET6_ADDRSTRLEN], rm[INET6_ADDRSTRLEN], so[32];
		const char *after = state_or_gone(r->after_state);

		if (r->linger_on)
			snprintf(so, sizeof(so), "[1,%d]", r->linger_s);
		else
			snprintf(so, sizeof(so), "null");
		printf("%s{\"case\":\"%s\",\"so_linger\":%s,\"blocking\":%s,\"unread_bytes\":%d,"
		       "\"written_bytes\":%ld,\"unsent_bytes\":%d,"
		       "\"local\":\"%s\",\"lport\":%u,\"remote\":\"%s\",\"rport\":%u,"
		       "\"close_ms\":%.3f,\"close_result\":\"%s\","
		       "\"after_close\":{\"state\":%s%s%s,\"send_queue\":%u},"
		       "\"peer_read\":\"%s\",\"peer_bytes\":%ld,\"wire\":\"%s\",\"time_wait\":%d,"
		       "\"states\":[",
		       lc ? "," : "", cases[lc].name, so, r->blocking ? "true" : "false",
		       lc == LC_UNREAD ? LINGER_UNREAD_BYTES : 0, r->written, r->unsent,
		       lab_addr_text(&r->local, l, sizeof(l)), r->local.port,
		       lab_addr_text(&r->remote, rm, sizeof(rm)), r->remote.port,
		       (double)r->close_us / 1000, errno_or(r->close_err, "ok"), after ? "\"" : "",
		       after ? after : "null", after ? "\"" : "", r->after_txq,
		       errno_or(r->peer_err, "eof"), r->peer_bytes, wire(r), r->time_wait);
		for (size_t i = 0; i < r->n_ev; i++) {
			const char *st = state_or_gone(r->ev[i].state);

			printf("%s{\"at_ms\":%.3f,\"end\":\"%s\",\"state\":%s%s%s}", i ? "," : "",
			       (double)r->ev[i].at_us / 1000,
			       r->ev[i].side == SIDE_CLOSER ? "closer" : "peer", st ? "\"" : "",
			       st ? st : "null", st ? "\"" : "");
		}
		printf("],\"counters\":{");
		for (size_t i = 0; i < N_COUNTERS; i++)
			printf("%s\"%s\":%lld", i ? "," : "", counter_names[i], r->delta[i]);
		printf("}}");
	}
	printf("]}\n");
}

/* States in which the send queue /proc shows counts the FIN as one byte. */
static int fin_pending(int state)
{
	return state == SOCK_FIN_WAIT1 || state == SOCK_CLOSING || state == SOCK_LAST_ACK;
}

static void print_states(const struct linger_result *r)
{
	size_t i = 0;

	printf("   states seen (/proc/net/tcp, read about every millisecond):\n");
	while (i < r->n_ev) {
		int64_t at = r->ev[i].at_us;

		printf("     %+9.1f ms ", (double)at / 1000);
		for (int first = 1; i < r->n_ev && r->ev[i].at_us == at; i++, first = 0) {
			const char *st = state_or_gone(r->ev[i].state);

			printf("%s%s %s", first ? "" : ", ",
			       r->ev[i].side == SIDE_CLOSER ? "closer" : "peer", st ? st : "gone");
		}
		printf("\n");
	}
}

static void print_text(const struct linger_result *res, int linger_s)
{
	printf("SO_LINGER and close(): %d closes of a loopback connection, the client closing "
	       "first,\nwith l_linger = %d s where it is set.  Everything below was observed, "
	       "not assumed.\n",
	       LC_MAX, linger_s);
	for (int lc = 0; lc < LC_MAX; lc++) {
		const struct linger_result *r = &res[lc];
		char l[INET6_ADDRSTRLEN], rm[INET6_ADDRSTRLEN];

		printf("\n%d. %s: %s\n", lc + 1, cases[lc].name, cases[lc].title);
		printf("   closer %s:%u -> peer %s:%u, %s socket\n",
		       lab_addr_text(&r->local, l, sizeof(l)), r->local.port,
		       lab_addr_text(&r->remote, rm, sizeof(rm)), r->remote.port,
		       r->blocking ? "a blocking" : "a non-blocking");
		if (r->written)
			printf("   before close(): %ld bytes written, %d of them not yet sent\n",
			       r->written, r->unsent);
		if (lc == LC_UNREAD)
			printf("   before close(): %d bytes received and never read\n",
			       LINGER_UNREAD_BYTES);
		printf("   close() returned %s after %.3f ms\n", errno_or(r->close_err, "0"),
		       (double)r->close_us / 1000);
		if (!r->after_state)
			printf("   right after: the closer's socket is gone\n");
		else if (fin_pending(r->after_state) && r->after_txq > 0)
			printf("   right after: the closer's socket, held by no process, is in %s "
			       "with\n     %u bytes of data and its FIN not yet acknowledged\n",
			       sock_state_name(r->after_state), r->after_txq - 1);
		else
			printf("   right after: the closer's socket, held by no process, is in "
			       "%s\n",
			       sock_state_name(r->after_state));
		printf("   the peer then read %ld bytes and %s", r->peer_bytes,
		       errno_or(r->peer_err, "EOF"));
		if (r->written)
			printf(": %ld of the %ld bytes written were lost",
			       r->written - r->peer_bytes, r->written);
		printf("\n   on the wire: %s\n   counters: TcpExt ", wire(r));
		for (size_t i = 0; i < N_COUNTERS; i++)
			printf("%s%s %+lld%s", i == N_EXT ? "Tcp " : "", counter_names[i],
			       r->delta[i],
			       i + 1 < N_COUNTERS ? (i + 1 == N_EXT ? "; " : ", ") : "\n");
		print_states(r);
		printf("   TIME_WAIT on the closer's side once settled: %s\n",
		       r->time_wait ? "yes" : "none");
	}
	printf("\nThe counters are this network namespace's: other connections move them too.\n");
}

int lab_demo_linger(int base, int linger_s, int json)
{
	struct linger_result res[LC_MAX];

	memset(res, 0, sizeof(res));
	for (int lc = 0; lc < LC_MAX; lc++) {
		int ret = linger_case(lc, linger_s, base ? (uint16_t)(base + lc) : 0, &res[lc]);

		if (ret) {
			fprintf(stderr, "lingerd lab linger: case %s failed: %s (%s)\n",
				cases[lc].name, lab_strerror(-ret), lab_errno_name(-ret));
			return LAB_EX_FAIL;
		}
	}
	if (json)
		print_json(res, linger_s);
	else
		print_text(res, linger_s);
	return fflush(stdout) ? LAB_EX_FAIL : LAB_EX_OK;
}
