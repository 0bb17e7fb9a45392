/* run.c - one run of the lab: build, hand the leak to a child, verify, report, hold, clean up. */
#include "lab_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sock.h"

/* The module's only mutable global: set by SIGTERM/SIGINT, read by the hold loops. */
static volatile sig_atomic_t lab_stop;

static void lab_on_signal(int sig)
{
	(void)sig;
	lab_stop = 1;
}

/* ---- the leaker child -------------------------------------------------------------- */

/* Closes every fd above 2 that is not in keep[] (sorted). */
static void close_all_but(const int *keep, size_t n)
{
	unsigned lo = 3;

	for (size_t i = 0; i < n; i++) {
		if ((unsigned)keep[i] > lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		if ((unsigned)keep[i] + 1 > lo)
			lo = (unsigned)keep[i] + 1;
	}
	close_range(lo, ~0u, 0);
}

/*
 * The child: holds the leaked CLOSE_WAIT fds and nothing else (so ss -p names it alone),
 * until its parent closes its end of the socketpair rd, dies, or a signal asks it to stop.
 */
static void leaker_run(int *keep, size_t n, int rd, pid_t parent, const sigset_t *waitmask)
{
	int nul;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(LAB_EX_FAIL);
	prctl(PR_SET_NAME, LAB_LEAKER_NAME, 0, 0, 0);
	keep[n] = rd;
	qsort(keep, n + 1, sizeof(*keep), lab_cmp_int);
	close_all_but(keep, n + 1);
	/* Off the caller's stdout pipe, so a reader sees EOF when the lab itself exits. */
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		if (nul > 2)
			close(nul);
	}
	/* Tell the lab the handover is complete: from now on only we hold the leaked fds. */
	if (write(rd, "r", 1) != 1)
		lab_stop = 1;
	while (!lab_stop) {
		struct pollfd p = { .fd = rd, .events = POLLIN };

		if (ppoll(&p, 1, NULL, waitmask) > 0)
			break; /* EOF: the lab is done */
	}
	for (size_t i = 0; i < n + 1; i++)
		if (keep[i] != rd)
			lab_close_abort(keep[i]);
	_exit(LAB_EX_OK);
}

static int lab_fork_leaker(struct lab *lab, const sigset_t *waitmask)
{
	int sv[2], *keep, ret = 0;
	size_t n = 0;
	pid_t pid, self = getpid();

	keep = calloc(lab->n + 1, sizeof(*keep));
	if (!keep)
		return -ENOMEM;
	for (size_t i = 0; i < lab->n; i++) {
		const struct lab_sock *s = &lab->socks[i];

		if (s->scn == SCN_CLOSE_WAIT_LEAK && !strcmp(s->role, "server"))
			keep[n++] = s->fd;
	}
	/* One socketpair both ways: the child says "ready", our close says "exit". */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		goto out;
	}
	fflush(NULL); /* nothing buffered may be written twice */
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		goto out;
	}
	if (pid == 0)
		leaker_run(keep, n, sv[0], self, waitmask);
	close(sv[0]);
	lab->leaker = pid;
	lab->leaker_fd = sv[1];
	{
		struct pollfd p = { .fd = sv[1], .events = POLLIN };
		char b;

		if (poll(&p, 1, LAB_STEP_MS) != 1 || read(sv[1], &b, 1) != 1) {
			ret = -ECHILD; /* it died or hangs: cleanup reaps it */
			goto out;
		}
	}
	/* Hand over: the child's copies are now the only ones. */
	for (size_t i = 0; i < lab->n; i++) {
		struct lab_sock *s = &lab->socks[i];

		if (s->scn == SCN_CLOSE_WAIT_LEAK && !strcmp(s->role, "server")) {
			close(s->fd);
			s->fd = -1;
			s->owner = OWN_LEAKER;
		}
	}
out:
	free(keep);
	return ret;
}
/* ---- verification ------------------------------------------------------------------ */

static void verify_row(const struct proc_row *r, void *arg)
{
	struct lab *lab = arg;
	struct lab_sock *near = NULL;

	for (size_t i = 0; i < lab->n; i++) {
		struct lab_sock *s = &lab->socks[i];

		if (s->seen || !lab_addr_equal(&s->local, &r->local) ||
		    !lab_addr_equal(&s->remote, &r->remote))
			continue;
		if (s->state == r->state) {
			s->seen = 1;
			s->rqueue = r->rxq;
			s->wqueue = r->txq;
			return;
		}
		near = s;
	}
	if (near)
		near->got = r->state;
}

/*
 * Checks every socket against the kernel: the rows of /proc/net/tcp{,6} (which list
 * sockets no process holds, request sockets included) and TCP_INFO for the fds we hold.
 * Returns 0, or -ETIMEDOUT with *bad naming the first socket not in its state.
 */
static int lab_verify(struct lab *lab, int ms, struct lab_sock **bad)
{
	int64_t end = lab_now_ms() + ms;

	for (;;) {
		int ret = 0;

		*bad = NULL;
		for (size_t i = 0; i < lab->n; i++)
			lab->socks[i].seen = lab->socks[i].got = 0;
		for (int fi = 0; fi < lab->nfam && !ret; fi++)
			ret = lab_proc_scan(lab_family(lab, fi), verify_row, lab);
		if (ret)
			return ret;
		for (size_t i = 0; i < lab->n && !*bad; i++) {
			struct lab_sock *s = &lab->socks[i];

			if (!s->seen || (s->fd >= 0 && lab_tcp_state_of(s->fd) != s->state))
				*bad = s;
		}
		if (!*bad)
			break;
		if (lab_now_ms() >= end)
			return -ETIMEDOUT;
		lab_sleep_ms(LAB_POLL_MS);
	}
	/* /proc shows a listener's send queue as 0; netlink reports its backlog: match that. */
	for (size_t i = 0; i < lab->n; i++) {
		struct lab_sock *s = &lab->socks[i];
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		if (s->state == SOCK_LISTEN && s->fd >= 0 &&
		    !getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
			s->wqueue = ti.tcpi_sacked;
	}
	return 0;
}
/* ---- lifecycle --------------------------------------------------------------------- */

/*
 * Lets everything go without leaving new sockets behind: the leaker resets its fds and
 * exits, then every fd of ours is closed with zero linger (RST, no TIME_WAIT).  Orphans
 * whose peer we reset die with it; only the time_wait scenario's sockets outlive us.
 */
static void lab_cleanup(struct lab *lab)
{
	if (lab->leaker > 0) {
		close(lab->leaker_fd);
		while (waitpid(lab->leaker, NULL, 0) < 0 && errno == EINTR)
			;
		lab->leaker = 0;
	}
	for (size_t i = lab->n; i-- > 0;) {
		lab_close_abort(lab->socks[i].fd);
		lab->socks[i].fd = -1;
	}
	lab_release_listeners(lab);
}

static int signal_pending(void)
{
	sigset_t pend;

	if (sigpending(&pend) < 0)
		return 0;
	return lab_stop || sigismember(&pend, SIGTERM) == 1 || sigismember(&pend, SIGINT) == 1;
}

static void lab_hold(const struct lab *lab, const sigset_t *waitmask)
{
	int64_t end = lab_now_ms() + (int64_t)lab->hold_s * 1000;

	while (!lab_stop) {
		struct timespec ts, *tp = NULL;

		if (lab->hold_s >= 0) {
			int64_t left = end - lab_now_ms();

			if (left <= 0)
				break;
			ts.tv_sec = left / 1000;
			ts.tv_nsec = (long)(left % 1000) * 1000000;
			tp = &ts;
		}
		ppoll(NULL, 0, tp, waitmask);
	}
}

static void lab_build_failed(const struct lab *lab, enum lab_scn scn, int fi, int ret)
{
	fprintf(stderr, "lingerd lab: cannot build %s (scenario %s, %s, port %u): %s (%s)\n",
		sock_state_name(lab_scn_defs[scn].state), lab_scn_defs[scn].name,
		lab_family_name(lab_family(lab, fi)), lab->port[scn][fi], lab_strerror(-ret),
		lab_errno_name(-ret));
}

static int lab_run(struct lab *lab, const sigset_t *waitmask)
{
	struct lab_sock *bad = NULL;
	int ret = 0;

	/* Phase 0 binds every listener (no client yet), phase 1 builds the connections. */
	for (int phase = 0; phase < 2; phase++) {
		for (int k = 0; k < SCN_MAX; k++) {
			enum lab_scn scn = lab_build_order[k];

			for (int fi = 0; fi < lab->nfam; fi++) {
				if (signal_pending()) {
					fprintf(stderr, "lingerd lab: stopped by a signal while "
							"building\n");
					return LAB_EX_OK;
				}
				/* LISTEN's builder binds its own listeners, in phase 0. */
				if (scn == SCN_LISTEN)
					ret = phase ? 0 : lab_scn_defs[scn].build(lab, fi, scn);
				else
					ret = phase ? lab_scn_defs[scn].build(lab, fi, scn)
						    : lab_reserve(lab, fi, scn);
				if (ret) {
					lab_build_failed(lab, scn, fi, ret);
					return LAB_EX_FAIL;
				}
			}
		}
	}
	lab_release_listeners(lab);
	ret = lab_fork_leaker(lab, waitmask);
	if (ret) {
		fprintf(stderr,
			"lingerd lab: cannot build CLOSE_WAIT (scenario close_wait_leak, the "
			"leaker process): %s (%s)\n",
			lab_strerror(-ret), lab_errno_name(-ret));
		return LAB_EX_FAIL;
	}
	ret = lab_verify(lab, LAB_SETTLE_MS, &bad);
	if (ret) {
		char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

		if (!bad) {
			fprintf(stderr, "lingerd lab: cannot read /proc/net/tcp: %s (%s)\n",
				lab_strerror(-ret), lab_errno_name(-ret));
			return LAB_EX_FAIL;
		}
		fprintf(stderr,
			"lingerd lab: cannot build %s (scenario %s, %s %s [%s]:%u -> [%s]:%u): "
			"the socket is in %s after %d ms: %s (%s)\n",
			sock_state_name(bad->state), lab_scn_defs[bad->scn].name, bad->role,
			lab_family_name(bad->local.family),
			lab_addr_text(&bad->local, l, sizeof(l)), bad->local.port,
			lab_addr_text(&bad->remote, r, sizeof(r)), bad->remote.port,
			bad->got ? sock_state_name(bad->got) : "no state (absent)", LAB_SETTLE_MS,
			lab_strerror(-ret), lab_errno_name(-ret));
		return LAB_EX_FAIL;
	}
	if (signal_pending())
		return LAB_EX_OK;
	ret = lab->summary ? lab_print_summary(lab) : lab_print(lab);
	if (ret) {
		fprintf(stderr, "lingerd lab: cannot write the report: %s\n", lab_strerror(-ret));
		return LAB_EX_FAIL;
	}
	lab_hold(lab, waitmask);
	return LAB_EX_OK;
}

int lab_run_main(const struct lab_opts *o)
{
	struct sigaction sa = { .sa_handler = lab_on_signal }, old_term, old_int;
	sigset_t block, old_mask, waitmask;
	struct lab lab = { 0 };
	int ret;

	/* In `lingerd demo` the lab is a child of the daemon: tell it apart in ps and /proc. */
	prctl(PR_SET_NAME, "lingerd-lab", 0, 0, 0);

	/*
	 * Signals stay blocked while building (every wait is bounded) and are taken only in
	 * ppoll(), so a SIGTERM can never slip in between a check and a sleep.
	 */
	lab_stop = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old_mask);
	waitmask = old_mask;
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);

	lab.count = o->count;
	lab.base = o->base;
	lab.hold_s = o->hold_s;
	lab.summary = o->summary;
	if (o->fam4)
		lab.fams[lab.nfam++] = AF_INET;
	if (o->fam6)
		lab.fams[lab.nfam++] = AF_INET6;
	for (int k = 0; k < SCN_MAX; k++)
		for (int fi = 0; fi < 2; fi++) {
			lab.port[k][fi] = o->base ? (uint16_t)(o->base + k) : 0;
			lab.lfd[k][fi] = -1;
		}
	lab.leaker_fd = -1;
	lab.fin_timeout_s = lab_read_int_file("/proc/sys/net/ipv4/tcp_fin_timeout", 60);
	/* Per family and unit: at most 26 sockets; per family: listeners and fillers. */
	lab.cap = (size_t)lab.nfam * ((size_t)o->count * 26 + 2 * LAB_FILLERS_MAX + 16);
	lab.socks = calloc(lab.cap, sizeof(*lab.socks));
	if (!lab.socks) {
		fprintf(stderr, "lingerd lab: out of memory\n");
		ret = LAB_EX_FAIL;
	} else {
		ret = lab_run(&lab, &waitmask);
	}
	lab_cleanup(&lab);
	free(lab.socks);

	/* Unblock first: a signal still pending lands in our handler, not the caller's. */
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	return ret;
}
