/* test_findings.c - every findings rule and threshold over real snapshots built in memory. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "api.h"
#include "check.h"
#include "feed.h"
#include "findings.h"
#include "history.h"
#include "limits.h"
#include "snap.h"
#include "util.h"

#define NOW 1750000000.0 /* 40 s into a minute: NOW - 100 and NOW - 400 start minutes */
#define NS1 4026532001ull
#define MAX_SOCKS 512

/* A socket of a scene: what the kernel reports plus how long it has been in its state. */
struct spec {
	int state;
	const char *laddr, *raddr; /* an address with ':' is IPv6 */
	uint16_t lport, rport;
	uint64_t inode;
	uint32_t uid, rq, wq;
	int timer;
	uint64_t netns;
	double age;
	int owner; /* 1-based index into scene.procs, 0 unknown */
};

/*
 * Sockets, owners, kernel figures and namespaces, turned into a chain of snapshots: one at
 * each distinct age (holding the sockets at least that old, with the kernel figures of
 * kstat_then) and the last at NOW with everything and kstat_now.  With a history, every
 * snapshot of the chain is added to it, so rates look back at the older ones, and the
 * newest of the chain at least LD_RATE_WINDOW_S before NOW is kept in then, for growth.
 */
struct scene {
	struct spec socks[MAX_SOCKS];
	size_t n;
	struct snap_proc procs[4];
	size_t nprocs;
	struct kstat kstat_then, kstat_now;
	struct snap_netns netns[2];
	size_t n_netns;
	struct history *history;
	struct snap *then; /* set by build() with a history; the caller snap_put()s it */
};

/* Adds count copies of x, remote ports counting up from x.rport. */
static void add(struct scene *sc, struct spec x, int count)
{
	for (int i = 0; i < count && sc->n < MAX_SOCKS; i++) {
		sc->socks[sc->n] = x;
		sc->socks[sc->n].rport = (uint16_t)(x.rport + i);
		if (x.inode)
			sc->socks[sc->n].inode = x.inode + (uint64_t)i;
		sc->n++;
	}
}

static int proc(struct scene *sc, int32_t pid, uint32_t uid, const char *comm)
{
	struct snap_proc *p = &sc->procs[sc->nprocs++];

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->uid = uid;
	p->start = 1;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	p->cmdline = p->comm;
	return (int)sc->nprocs;
}

static void set_setting(struct kstat *k, int i, int64_t v)
{
	k->setting[i] = v;
	k->have_setting[i] = 1;
}

static void set_gauge(struct kstat *k, int i, int64_t v)
{
	k->gauge[i] = v;
	k->have_gauge[i] = 1;
}

/* Sets counter i to then in the older snapshots and to now in the last. */
static void set_counter(struct scene *sc, int i, uint64_t then, uint64_t now)
{
	sc->kstat_then.counter[i] = then;
	sc->kstat_then.have_counter[i] = 1;
	sc->kstat_now.counter[i] = now;
	sc->kstat_now.have_counter[i] = 1;
}

static void to_rec(const struct spec *x, uint64_t cookie, struct sock_rec *r)
{
	const char *la = x->laddr ? x->laddr : "10.0.0.1", *ra = x->raddr ? x->raddr : "10.0.0.2";

	memset(r, 0, sizeof(*r));
	r->family = strchr(la, ':') ? AF_INET6 : AF_INET;
	inet_pton(r->family, la, r->laddr);
	inet_pton(r->family, ra, r->raddr);
	r->state = (uint8_t)x->state;
	r->lport = x->lport;
	r->rport = x->rport;
	r->inode = x->inode;
	r->uid = x->uid;
	r->rqueue = x->rq;
	r->wqueue = x->wq;
	r->timer = (uint8_t)x->timer;
	r->expires_ms = 1000;
	r->netns = x->netns;
	r->cookie = cookie;
}

static struct snap *build_at(const struct scene *sc, const struct snap *prev, double age)
{
	struct sock_vec v = { 0 };
	struct sock_rec r;
	uint32_t idx[4] = { 0 };
	struct snap *s = NULL;

	for (size_t i = 0; i < sc->n; i++) {
		if (sc->socks[i].age < age)
			continue;
		to_rec(&sc->socks[i], i + 1, &r);
		if (sock_vec_push(&v, &r) < 0)
			abort();
	}
	if (snap_build(&s, &v, prev, NOW - age, NULL, NULL) < 0)
		abort();
	s->taken_at = NOW - age; /* the wall clock agrees with the boot clock here */
	sock_vec_free(&v);
	s->source = "netlink";
	s->kstat = age > 0 ? sc->kstat_then : sc->kstat_now;
	for (size_t i = 0; i < sc->nprocs; i++)
		idx[i] = snap_add_proc(s, &sc->procs[i]);
	for (size_t i = 0; i < s->n; i++) {
		int owner = sc->socks[s->socks[i].r.cookie - 1].owner;

		s->socks[i].proc = owner ? idx[owner - 1] : 0;
	}
	if (sc->n_netns) {
		s->netns = calloc(sc->n_netns, sizeof(*s->netns));
		if (!s->netns)
			abort();
		memcpy(s->netns, sc->netns, sc->n_netns * sizeof(*s->netns));
		s->n_netns = sc->n_netns;
	}
	return s;
}

/* The snapshot at NOW (the caller snap_put()s it), the chain added to sc->history if set. */
static struct snap *build(struct scene *sc)
{
	struct snap *prev = NULL, *s;
	double age = INFINITY;

	for (;;) {
		double next = 0;

		/* The next older age still to build, oldest first. */
		for (size_t i = 0; i < sc->n; i++)
			if (sc->socks[i].age < age && sc->socks[i].age > next)
				next = sc->socks[i].age;
		s = build_at(sc, prev, next);
		if (sc->history && history_add(sc->history, s, NULL) < 0)
			abort();
		if (sc->history && s->taken_at <= NOW - LD_RATE_WINDOW_S) {
			snap_put(sc->then);
			sc->then = snap_get(s);
		}
		snap_put(prev);
		if (next == 0)
			return s;
		prev = s;
		age = next;
	}
}

static ssize_t decide(const struct snap *s, struct history *h, double min_age,
		      struct finding *out, size_t max)
{
	struct findings_input in = { .snap = s, .history = h, .min_age = min_age };

	return findings_decide(&in, out, max);
}

static const struct finding *find(const struct finding *v, ssize_t n, enum finding_kind kind,
				  const char *key)
{
	for (ssize_t i = 0; i < n; i++)
		if (v[i].kind == kind && strcmp(v[i].key, key) == 0)
			return &v[i];
	return NULL;
}

static void test_names(void)
{
	CHECK_STR(findings_kind_name(FINDING_CLOSE_WAIT_LEAK), "close_wait_leak");
	CHECK_STR(findings_kind_name(FINDING_RST_ON_CLOSE), "rst_on_close");
	CHECK(findings_kind_name(FINDING_KIND_MAX) == NULL);
	CHECK_STR(findings_severity_name(FINDING_CRITICAL), "critical");
	CHECK_STR(findings_severity_name(FINDING_INFO), "info");
	CHECK(findings_severity_name(FINDING_SEVERITY_MAX) == NULL);
}

/* Processes that hold CLOSE_WAIT and FIN_WAIT_2: grouping, ages, unread bytes, severity. */
static void test_held(void)
{
	static struct scene sc;
	struct finding v[16];
	const struct finding *f;
	struct snap *s;
	ssize_t n;
	int app;

	memset(&sc, 0, sizeof(sc));
	app = proc(&sc, 100, 1000, "app");
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .lport = 80, .rport = 1000, .inode = 10,
				.rq = 1, .age = 120, .owner = app }, 2);
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .lport = 80, .rport = 2000, .inode = 20,
				.rq = 11, .age = 90, .owner = app }, 1);
	/* Too young for the default min_age, and sockets no process holds (inode 0). */
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .lport = 80, .rport = 3000, .inode = 30,
				.rq = 1, .age = 30, .owner = app }, 2);
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .lport = 80, .rport = 4000, .age = 500 },
	    2);
	/* An owner lingerd could not see: grouped by uid; an hour old makes it critical. */
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .laddr = "2001:db8::1",
				.raddr = "2001:db8::2", .lport = 443, .rport = 5000, .inode = 50,
				.uid = 2000, .rq = 1, .age = 4000 }, 1);
	add(&sc, (struct spec){ .state = SOCK_FIN_WAIT2, .lport = 81, .rport = 6000, .inode = 60,
				.age = 100, .owner = app }, 2);
	s = build(&sc);

	n = decide(s, NULL, LD_FINDINGS_MIN_AGE_DEFAULT, v, 16);
	CHECK_INT(n, ==, 4);
	/* Rule order; within a rule the largest group first. */
	CHECK_INT(v[0].kind, ==, FINDING_CLOSE_WAIT_LEAK);
	CHECK_STR(v[0].key, "100");
	CHECK_INT(v[1].kind, ==, FINDING_CLOSE_WAIT_LEAK);
	CHECK_STR(v[1].key, "uid:2000");
	CHECK_INT(v[2].kind, ==, FINDING_CLOSE_WAIT_UNREAD);
	CHECK_INT(v[3].kind, ==, FINDING_FIN_WAIT2_HELD);

	f = &v[0];
	CHECK_INT(f->severity, ==, FINDING_WARNING);
	CHECK_INT(f->u.held.count, ==, 3);
	CHECK_INT(llround(f->u.held.oldest_age_s), ==, 120);
	CHECK_INT(f->u.held.unread_bytes, ==, 10); /* rx_queue counts the FIN: 11 - 1 */
	CHECK(isnan(f->u.held.growth_per_min));    /* no history */
	CHECK(f->proc && f->proc->pid == 100);
	CHECK(f->sock && f->sock->r.state == SOCK_CLOSE_WAIT);
	CHECK_INT(f->netns, ==, 0);

	f = &v[1];
	CHECK_INT(f->severity, ==, FINDING_CRITICAL);
	CHECK(f->proc == NULL);
	CHECK_INT(f->sock->r.uid, ==, 2000);
	CHECK_INT(f->sock->r.family, ==, AF_INET6);

	f = &v[2]; /* only the socket with bytes left unread */
	CHECK_STR(f->key, "100");
	CHECK_INT(f->severity, ==, FINDING_WARNING);
	CHECK_INT(f->u.held.count, ==, 1);
	CHECK_INT(f->u.held.unread_bytes, ==, 10);

	f = &v[3];
	CHECK_STR(f->key, "100");
	CHECK_INT(f->u.held.count, ==, 2);
	CHECK_INT(f->u.held.unread_bytes, ==, 0);

	/* min_age 0 takes the young ones in; still none without an inode. */
	n = decide(s, NULL, 0, v, 16);
	f = find(v, n, FINDING_CLOSE_WAIT_LEAK, "100");
	CHECK(f && f->u.held.count == 5);
	CHECK(find(v, n, FINDING_CLOSE_WAIT_LEAK, "uid:0") == NULL);
	/* Above an hour everything is older than min_age: nothing held is left. */
	n = decide(s, NULL, 5000, v, 16);
	CHECK_INT(n, ==, 0);
	snap_put(s);

	/* Fifty sockets of one process are critical whatever their age. */
	memset(&sc, 0, sizeof(sc));
	app = proc(&sc, 100, 1000, "app");
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .rport = 1000, .inode = 10, .rq = 1,
				.age = 61, .owner = app }, 49);
	s = build(&sc);
	n = decide(s, NULL, 60, v, 16);
	CHECK(n == 1 && v[0].severity == FINDING_WARNING && v[0].u.held.count == 49);
	snap_put(s);
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .rport = 2000, .inode = 100, .rq = 1,
				.age = 61, .owner = app }, 1);
	s = build(&sc);
	n = decide(s, NULL, 60, v, 16);
	CHECK(n == 1 && v[0].severity == FINDING_CRITICAL && v[0].u.held.count == 50);
	snap_put(s);
}

/* CLOSE_WAIT that grows over the window is critical even when few and young. */
static void test_growth(void)
{
	static struct scene sc;
	struct findings_input in = { 0 };
	struct finding v[8];
	struct snap *s;
	ssize_t n;
	int app;

	memset(&sc, 0, sizeof(sc));
	if (history_open(&sc.history) < 0)
		abort();
	app = proc(&sc, 100, 1000, "app");
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .rport = 1000, .inode = 10, .rq = 1,
				.age = 400, .owner = app }, 2);
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .rport = 2000, .inode = 20, .rq = 1,
				.age = 100, .owner = app }, 3);
	s = build(&sc);
	CHECK(sc.then && sc.then->taken_at == NOW - 400);
	in.snap = s;
	in.then = sc.then;
	n = findings_decide(&in, v, 8);
	CHECK_INT(n, ==, 1);
	CHECK_INT(v[0].severity, ==, FINDING_CRITICAL);
	/* All 5 sockets now, and at NOW - 400 the 2 then there: 3 more in 400 s. */
	CHECK_INT(llround(v[0].u.held.growth_per_min * 1000), ==, 450);
	/*
	 * Like with like: at least 60 s old now (5), and at least 60 s old then (none: the 2
	 * were new at NOW - 400), not now's filtered count against then's unfiltered one.
	 */
	in.min_age = 60;
	n = findings_decide(&in, v, 8);
	CHECK(n == 1 && llround(v[0].u.held.growth_per_min * 1000) == 750);
	/* The same snapshot without an earlier one: no growth known, only a warning. */
	n = decide(s, NULL, 60, v, 8);
	CHECK(n == 1 && v[0].severity == FINDING_WARNING && isnan(v[0].u.held.growth_per_min));
	snap_put(s);
	history_close(sc.history);
	snap_put(sc.then);
	sc.then = NULL;
}

/* FIN_WAIT_1 by remote address: a zero window makes it a warning. */
static void test_fin_wait1(void)
{
	static struct scene sc;
	struct finding v[8];
	const struct finding *f;
	struct snap *s;
	ssize_t n;

	memset(&sc, 0, sizeof(sc));
	add(&sc, (struct spec){ .state = SOCK_FIN_WAIT1, .raddr = "10.9.9.9", .rport = 100,
				.timer = SOCK_TIMER_PROBE, .age = 100 }, 2);
	add(&sc, (struct spec){ .state = SOCK_FIN_WAIT1, .raddr = "10.9.9.9", .rport = 200,
				.inode = 7, .timer = SOCK_TIMER_RETRANSMIT, .age = 200 }, 1);
	add(&sc, (struct spec){ .state = SOCK_FIN_WAIT1, .raddr = "10.9.9.8", .rport = 300,
				.timer = SOCK_TIMER_RETRANSMIT, .age = 100 }, 1);
	add(&sc, (struct spec){ .state = SOCK_FIN_WAIT1, .raddr = "10.9.9.7", .rport = 400,
				.timer = SOCK_TIMER_PROBE, .age = 10 }, 1);
	s = build(&sc);
	n = decide(s, NULL, 60, v, 8);
	CHECK_INT(n, ==, 2);
	f = find(v, n, FINDING_FIN_WAIT1_STUCK, "10.9.9.9");
	CHECK(f == &v[0]);
	if (f) {
		CHECK_INT(f->severity, ==, FINDING_WARNING);
		CHECK_INT(f->u.fin_wait1.count, ==, 3);
		CHECK_INT(f->u.fin_wait1.zero_window, ==, 2);
		CHECK_INT(f->u.fin_wait1.orphans, ==, 2);
		CHECK_INT(llround(f->u.fin_wait1.oldest_age_s), ==, 200);
	}
	f = find(v, n, FINDING_FIN_WAIT1_STUCK, "10.9.9.8");
	CHECK(f && f->severity == FINDING_INFO && f->u.fin_wait1.zero_window == 0);
	CHECK(find(v, n, FINDING_FIN_WAIT1_STUCK, "10.9.9.7") == NULL);
	snap_put(s);
}

/* Full accept queues, and SYN_RECV against 64 or a quarter of tcp_max_syn_backlog. */
static void test_listeners(void)
{
	static struct scene sc;
	struct finding v[8];
	const struct finding *f;
	struct snap *s;
	ssize_t n;
	int srv;

	memset(&sc, 0, sizeof(sc));
	srv = proc(&sc, 300, 0, "server");
	add(&sc, (struct spec){ .state = SOCK_LISTEN, .lport = 80, .inode = 55, .rq = 10, .wq = 10,
				.owner = srv }, 1);
	add(&sc, (struct spec){ .state = SOCK_LISTEN, .lport = 81, .inode = 56, .rq = 9, .wq = 10 },
	    1);
	add(&sc, (struct spec){ .state = SOCK_LISTEN, .lport = 82, .inode = 57 }, 1);
	add(&sc, (struct spec){ .state = SOCK_SYN_RECV, .lport = 80, .rport = 1000 }, 64);
	add(&sc, (struct spec){ .state = SOCK_SYN_RECV, .lport = 81, .rport = 2000 }, 63);
	s = build(&sc);
	n = decide(s, NULL, 60, v, 8);
	CHECK_INT(n, ==, 2);
	CHECK_INT(v[0].kind, ==, FINDING_ACCEPT_QUEUE_FULL);
	CHECK_STR(v[0].key, "80/55");
	CHECK_INT(v[0].severity, ==, FINDING_CRITICAL);
	CHECK_INT(v[0].u.accept.queued, ==, 10);
	CHECK_INT(v[0].u.accept.backlog, ==, 10);
	CHECK(v[0].proc && strcmp(v[0].proc->comm, "server") == 0);
	CHECK(v[0].sock && v[0].sock->r.lport == 80);
	CHECK_INT(v[1].kind, ==, FINDING_SYN_RECV_BUILDUP);
	CHECK_STR(v[1].key, "80");
	CHECK_INT(v[1].severity, ==, FINDING_WARNING);
	CHECK_INT(v[1].u.syn_recv.count, ==, 64);
	CHECK_INT(v[1].u.syn_recv.max_syn_backlog, ==, 1024);
	snap_put(s);

	/* A small tcp_max_syn_backlog lowers the bar to a quarter of it. */
	set_setting(&sc.kstat_now, KSTAT_MAX_SYN_BACKLOG, 100);
	add(&sc, (struct spec){ .state = SOCK_SYN_RECV, .lport = 83, .rport = 3000 }, 25);
	add(&sc, (struct spec){ .state = SOCK_SYN_RECV, .lport = 84, .rport = 4000 }, 24);
	s = build(&sc);
	n = decide(s, NULL, 60, v, 8);
	CHECK_INT(n, ==, 4);
	f = find(v, n, FINDING_SYN_RECV_BUILDUP, "81");
	CHECK(f && f->u.syn_recv.count == 63 && f->u.syn_recv.max_syn_backlog == 100);
	CHECK(find(v, n, FINDING_SYN_RECV_BUILDUP, "83") != NULL);
	CHECK(find(v, n, FINDING_SYN_RECV_BUILDUP, "84") == NULL);
	snap_put(s);
}

/* Ports of the ephemeral range taken towards one destination, with TIME_WAIT among them. */
static void test_time_wait_pressure(void)
{
	static struct scene sc;
	struct finding v[8];
	const struct finding *f;
	struct snap *s;
	ssize_t n;

	memset(&sc, 0, sizeof(sc));
	add(&sc, (struct spec){ .state = SOCK_TIME_WAIT, .raddr = "10.0.0.3", .lport = 50000,
				.rport = 443, .timer = SOCK_TIMER_TIMEWAIT }, 1);
	for (int i = 0; i < 8; i++) {
		/* 10.0.0.3:443: 4 TIME_WAIT + 1 ESTABLISHED = half the range. */
		if (i > 0 && i < 4)
			add(&sc, (struct spec){ .state = SOCK_TIME_WAIT, .raddr = "10.0.0.3",
						.lport = (uint16_t)(50000 + i), .rport = 443,
						.timer = SOCK_TIMER_TIMEWAIT }, 1);
		if (i == 4)
			add(&sc, (struct spec){ .state = SOCK_ESTABLISHED, .raddr = "10.0.0.3",
						.lport = 50004, .rport = 443, .inode = 9 }, 1);
		/* 10.0.0.4:443: 8 TIME_WAIT, critical; 10.0.0.5:80: 6 established, none. */
		add(&sc, (struct spec){ .state = SOCK_TIME_WAIT, .raddr = "10.0.0.4",
					.lport = (uint16_t)(50000 + i), .rport = 443,
					.timer = SOCK_TIMER_TIMEWAIT }, 1);
		if (i < 6)
			add(&sc, (struct spec){ .state = SOCK_ESTABLISHED, .raddr = "10.0.0.5",
						.lport = (uint16_t)(50000 + i), .rport = 80,
						.inode = 100 }, 1);
	}
	/* 10.0.0.6: 4 of 10 ports, and ports outside the range or listeners do not count. */
	add(&sc, (struct spec){ .state = SOCK_TIME_WAIT, .raddr = "10.0.0.6", .lport = 50000,
				.rport = 443, .timer = SOCK_TIMER_TIMEWAIT }, 1);
	for (int i = 1; i < 4; i++)
		add(&sc, (struct spec){ .state = SOCK_TIME_WAIT, .raddr = "10.0.0.6",
					.lport = (uint16_t)(50000 + i), .rport = 443,
					.timer = SOCK_TIMER_TIMEWAIT }, 1);
	add(&sc, (struct spec){ .state = SOCK_TIME_WAIT, .raddr = "10.0.0.6", .lport = 49999,
				.rport = 443, .timer = SOCK_TIMER_TIMEWAIT }, 1);
	add(&sc, (struct spec){ .state = SOCK_LISTEN, .raddr = "0.0.0.0", .lport = 50009 }, 1);

	/* Without a port range there is nothing to measure against. */
	s = build(&sc);
	CHECK_INT(decide(s, NULL, 60, v, 8), ==, 0);
	snap_put(s);

	set_setting(&sc.kstat_now, KSTAT_PORT_RANGE_LOW, 50000);
	set_setting(&sc.kstat_now, KSTAT_PORT_RANGE_HIGH, 50009);
	set_setting(&sc.kstat_now, KSTAT_TW_REUSE, 1);
	s = build(&sc);
	n = decide(s, NULL, 60, v, 8);
	CHECK_INT(n, ==, 2);
	f = &v[0]; /* the largest group first */
	CHECK_INT(f->kind, ==, FINDING_TIME_WAIT_PRESSURE);
	CHECK_STR(f->key, "10.0.0.1>10.0.0.4:443");
	CHECK_INT(f->severity, ==, FINDING_CRITICAL);
	CHECK_INT(f->u.ports.in_use, ==, 8);
	CHECK_INT(f->u.ports.time_wait, ==, 8);
	CHECK_INT(llround(f->u.ports.ratio * 100), ==, 80);
	CHECK_INT(f->u.ports.low, ==, 50000);
	CHECK_INT(f->u.ports.high, ==, 50009);
	CHECK_INT(f->u.ports.tw_reuse, ==, 1);
	CHECK_INT(f->netns, ==, 0);
	f = &v[1];
	CHECK_STR(f->key, "10.0.0.1>10.0.0.3:443");
	CHECK_INT(f->severity, ==, FINDING_WARNING);
	CHECK_INT(f->u.ports.in_use, ==, 5);
	CHECK_INT(f->u.ports.time_wait, ==, 4);
	CHECK(isnan(v[0].u.ports.tw_entries_per_s) && isnan(v[0].u.ports.exhaustion_s));
	CHECK_INT(v[0].u.ports.headroom, ==, 2);

	/*
	 * The teardown tracer counted 1 TIME_WAIT a second towards 10.0.0.6:443 (4 of 10 ports,
	 * no finding on its own): they come faster than 4 leave in 60 s, so its 6 free ports
	 * go in 6 / (1 - 4/60) s: critical.  10.0.0.3 gets none now: it does not run out.
	 */
	s->tw_routes = calloc(2, sizeof(*s->tw_routes));
	CHECK(s->tw_routes != NULL);
	for (size_t i = 0; s->tw_routes && i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		struct snap_tw_route *t = &s->tw_routes[s->n_tw_routes];
		char ra[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, x->r.raddr, ra, sizeof(ra));
		if (x->r.lport != 50000 || x->r.rport != 443 ||
		    (strcmp(ra, "10.0.0.6") != 0 && strcmp(ra, "10.0.0.3") != 0))
			continue;
		t->family = x->r.family;
		t->rport = x->r.rport;
		memcpy(t->laddr, x->r.laddr, 16);
		memcpy(t->raddr, x->r.raddr, 16);
		t->total = 100;
		t->per_s = ra[7] == '6' ? 1.0 : 0.0;
		s->n_tw_routes++;
	}
	CHECK_INT(s->n_tw_routes, ==, 2);
	n = decide(s, NULL, 60, v, 8);
	CHECK_INT(n, ==, 3);
	f = &v[2];
	CHECK_STR(f->key, "10.0.0.1>10.0.0.6:443");
	CHECK_INT(f->severity, ==, FINDING_CRITICAL);
	CHECK(f->u.ports.tw_entries_per_s == 1.0);
	CHECK_INT(f->u.ports.headroom, ==, 6);
	CHECK(fabs(f->u.ports.exhaustion_s - 6 / (1 - 4 / 60.0)) < 1e-9);
	CHECK_STR(v[1].key, "10.0.0.1>10.0.0.3:443");
	CHECK(v[1].u.ports.tw_entries_per_s == 0 && isnan(v[1].u.ports.exhaustion_s));
	CHECK_INT(v[1].severity, ==, FINDING_WARNING);
	snap_put(s);
}

/* The kernel's counters and gauges, with and without a history to take rates from. */
static void test_kernel(void)
{
	static struct scene sc;
	struct finding v[16];
	const struct finding *f;
	struct snap *s;
	ssize_t n;

	memset(&sc, 0, sizeof(sc));
	set_gauge(&sc.kstat_now, KSTAT_SOCK_TW, 79);
	set_setting(&sc.kstat_now, KSTAT_MAX_TW_BUCKETS, 100);
	set_gauge(&sc.kstat_now, KSTAT_SOCK_ORPHAN, 49);
	set_setting(&sc.kstat_now, KSTAT_MAX_ORPHANS, 100);
	s = build(&sc);
	CHECK_INT(decide(s, NULL, 60, v, 16), ==, 0); /* both just below their thresholds */
	snap_put(s);

	set_gauge(&sc.kstat_now, KSTAT_SOCK_TW, 80);
	set_gauge(&sc.kstat_now, KSTAT_SOCK_ORPHAN, 50);
	s = build(&sc);
	n = decide(s, NULL, 60, v, 16);
	CHECK_INT(n, ==, 2);
	CHECK(v[0].kind == FINDING_TIME_WAIT_OVERFLOW && v[0].severity == FINDING_WARNING);
	CHECK_INT(v[0].u.tw_overflow.time_wait, ==, 80);
	CHECK_INT(v[0].u.tw_overflow.max_tw_buckets, ==, 100);
	CHECK(isnan(v[0].u.tw_overflow.overflows_per_min));
	CHECK(v[1].kind == FINDING_ORPHANS_NEAR_LIMIT && v[1].severity == FINDING_WARNING);
	CHECK_INT(llround(v[1].u.orphans.ratio * 100), ==, 50);
	CHECK_STR(v[0].key, "");
	CHECK(v[0].sock == NULL);
	snap_put(s);

	/* Counters that grew over the window: 6 minutes between the two snapshots. */
	if (history_open(&sc.history) < 0)
		abort();
	sc.kstat_then = sc.kstat_now;
	set_gauge(&sc.kstat_now, KSTAT_SOCK_TW, 10);
	set_gauge(&sc.kstat_now, KSTAT_SOCK_ORPHAN, 80);
	set_counter(&sc, KSTAT_TIME_WAIT_OVERFLOW, 100, 106);
	set_counter(&sc, KSTAT_ABORT_ON_MEMORY, 7, 7);
	set_counter(&sc, KSTAT_LISTEN_OVERFLOWS, 10, 13);
	set_counter(&sc, KSTAT_LISTEN_DROPS, 10, 19);
	set_counter(&sc, KSTAT_ABORT_ON_CLOSE, 0, 24);
	set_counter(&sc, KSTAT_ABORT_ON_DATA, 5, 5);
	add(&sc, (struct spec){ .state = SOCK_ESTABLISHED, .inode = 1, .age = 360 }, 1);
	s = build(&sc);
	n = decide(s, sc.history, 60, v, 16);
	CHECK_INT(n, ==, 4);
	f = find(v, n, FINDING_TIME_WAIT_OVERFLOW, "");
	CHECK(f && f->severity == FINDING_CRITICAL && f->u.tw_overflow.overflows == 6);
	CHECK(f && llround(f->u.tw_overflow.overflows_per_min * 1000) == 1000);
	f = find(v, n, FINDING_ORPHANS_NEAR_LIMIT, "");
	CHECK(f && f->severity == FINDING_CRITICAL && f->u.orphans.abort_on_memory == 0);
	f = find(v, n, FINDING_LISTEN_OVERFLOWS, "");
	CHECK(f && f->severity == FINDING_WARNING && f->u.listen.overflows == 3 &&
	      f->u.listen.drops == 9);
	CHECK(f && llround(f->u.listen.window_s) == 360 &&
	      llround(f->u.listen.drops_per_min * 1000) == 1500);
	f = find(v, n, FINDING_RST_ON_CLOSE, "");
	CHECK(f && f->severity == FINDING_INFO && f->u.rst.on_close == 24 && f->u.rst.on_data == 0);
	CHECK(f && llround(f->u.rst.per_min * 1000) == 4000);
	/* The kinds judged per namespace run in their order. */
	CHECK(n == 4 && v[0].kind == FINDING_TIME_WAIT_OVERFLOW &&
	      v[3].kind == FINDING_RST_ON_CLOSE);
	snap_put(s);

	/* A RST a second makes it a warning (a new history: this one has reached NOW). */
	history_close(sc.history);
	snap_put(sc.then);
	sc.then = NULL;
	if (history_open(&sc.history) < 0)
		abort();
	set_counter(&sc, KSTAT_ABORT_ON_CLOSE, 0, 360);
	s = build(&sc);
	n = decide(s, sc.history, 60, v, 16);
	f = find(v, n, FINDING_RST_ON_CLOSE, "");
	CHECK(f && f->severity == FINDING_WARNING && llround(f->u.rst.per_min) == 60);
	CHECK(f && !f->u.rst.proc && !f->u.rst.peer); /* no tracer: nobody named */
	/* With the tracer's tops: the first real process (pid 0 is none), the namespace's peer. */
	{
		struct events_proc procs[] = { { .tgid = 0, .rst_sent = 900 },
					       { .tgid = 77, .rst_sent = 40, .rst_recv = 2,
						 .comm = "app" } };
		struct events_peer peers[] = { { .netns = 4026532000u, .family = AF_INET,
						 .sent = 500 },
					       { .netns = 0, .family = AF_INET, .sent = 30,
						 .recv = 1 } };
		struct findings_input in = { .snap = s, .history = sc.history, .min_age = 60,
					     .rst_procs = procs, .n_rst_procs = 2,
					     .rst_peers = peers, .n_rst_peers = 2 };

		n = findings_decide(&in, v, 16);
		f = find(v, n, FINDING_RST_ON_CLOSE, "");
		CHECK(f && f->u.rst.proc == &procs[1] && f->u.rst.peer == &peers[1]);
	}
	/* Without the history no rate is known and no counter finding is made. */
	n = decide(s, NULL, 60, v, 16);
	CHECK(find(v, n, FINDING_RST_ON_CLOSE, "") == NULL);
	CHECK(find(v, n, FINDING_LISTEN_OVERFLOWS, "") == NULL);
	snap_put(s);
	history_close(sc.history);
	snap_put(sc.then);
	sc.then = NULL;
}

/* Which namespaces are diagnosed, and what a per-namespace finding carries. */
static void test_namespaces(void)
{
	static struct scene sc;
	struct findings_input in = { .min_age = 60 };
	struct finding v[16];
	struct snap *s;
	ssize_t n;
	int app;

	memset(&sc, 0, sizeof(sc));
	app = proc(&sc, 100, 1000, "app");
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .rport = 1000, .inode = 10, .rq = 1,
				.age = 100, .owner = app }, 2);
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .rport = 2000, .inode = 20, .rq = 1,
				.netns = NS1, .age = 100, .uid = 7 }, 3);
	sc.n_netns = 1;
	sc.netns[0].id = NS1;
	snprintf(sc.netns[0].name, sizeof(sc.netns[0].name), "blue");
	sc.netns[0].have_kstat = 1;
	set_gauge(&sc.netns[0].kstat, KSTAT_SOCK_TW, 9);
	set_setting(&sc.netns[0].kstat, KSTAT_MAX_TW_BUCKETS, 10);
	/* The namespace's counters grew, but rates are only known for lingerd's own. */
	sc.netns[0].kstat.counter[KSTAT_ABORT_ON_CLOSE] = 1000;
	sc.netns[0].kstat.have_counter[KSTAT_ABORT_ON_CLOSE] = 1;
	set_counter(&sc, KSTAT_ABORT_ON_CLOSE, 0, 0);
	if (history_open(&sc.history) < 0)
		abort();
	s = build(&sc);
	in.snap = s;
	in.history = sc.history;

	n = findings_decide(&in, v, 16); /* lingerd's own */
	CHECK_INT(n, ==, 1);
	CHECK(n == 1 && strcmp(v[0].key, "100") == 0 && v[0].u.held.count == 2);

	in.ns.id = NS1;
	n = findings_decide(&in, v, 16);
	CHECK_INT(n, ==, 2);
	CHECK(find(v, n, FINDING_CLOSE_WAIT_LEAK, "uid:7") != NULL);
	CHECK(n == 2 && v[1].kind == FINDING_TIME_WAIT_OVERFLOW && v[1].netns == NS1 &&
	      v[1].u.tw_overflow.time_wait == 9);

	in.ns.id = 0;
	in.ns.all = 1;
	n = findings_decide(&in, v, 16);
	CHECK_INT(n, ==, 3);
	CHECK(find(v, n, FINDING_CLOSE_WAIT_LEAK, "100") != NULL);
	CHECK(find(v, n, FINDING_CLOSE_WAIT_LEAK, "uid:7") != NULL);
	CHECK(find(v, n, FINDING_RST_ON_CLOSE, "") == NULL);

	/* Fewer slots than findings: the total, and the first ones in the same order. */
	{
		struct finding w[2];

		CHECK_INT(findings_decide(&in, NULL, 0), ==, 3);
		CHECK_INT(findings_decide(&in, w, 2), ==, 3);
		CHECK(w[0].kind == v[0].kind && strcmp(w[0].key, v[0].key) == 0);
		CHECK(w[1].kind == v[1].kind && strcmp(w[1].key, v[1].key) == 0);
	}
	snap_put(s);
	history_close(sc.history);
	snap_put(sc.then);
	sc.then = NULL;
}

/* Namespaces sharing the host's connection hash: one host-wide finding, severity by cost. */
static void test_shared_hash(void)
{
	static struct scene sc;
	struct findings_input in = { .min_age = 60 };
	struct finding v[4];
	struct snap *s;
	ssize_t n;

	memset(&sc, 0, sizeof(sc));
	sc.n_netns = 2;
	sc.netns[0].id = NS1;
	snprintf(sc.netns[0].name, sizeof(sc.netns[0].name), "blue");
	sc.netns[0].ehash = -262144; /* shares the host's */
	sc.netns[0].dump_ms = 30;
	sc.netns[1].id = NS1 + 1;
	snprintf(sc.netns[1].name, sizeof(sc.netns[1].name), "green");
	sc.netns[1].ehash = 1024; /* its own */
	sc.netns[1].dump_ms = 1;
	s = build(&sc);
	s->child_ehash = 0;
	in.snap = s;
	n = findings_decide(&in, v, 4);
	CHECK_INT(n, ==, 1);
	CHECK(n == 1 && v[0].kind == FINDING_NETNS_SHARED_HASH && v[0].severity == FINDING_INFO &&
	      v[0].netns == 0 && v[0].key[0] == '\0' && v[0].u.shared_hash.shared == 1 &&
	      v[0].u.shared_hash.followed == 2 && v[0].u.shared_hash.buckets == 262144 &&
	      v[0].u.shared_hash.child_ehash == 0 && v[0].u.shared_hash.dump_ms == 30 &&
	      strcmp(v[0].u.shared_hash.example, "blue") == 0);
	/* Host-wide: not when another namespace alone is asked for. */
	in.ns.id = NS1;
	CHECK_INT(findings_decide(&in, v, 4), ==, 0);
	in.ns.id = 0;
	snap_put(s);

	/* Their dumps add up to the warning's threshold. */
	sc.netns[1].ehash = -262144;
	sc.netns[1].dump_ms = LD_NETNS_SHARED_WARN_MS - 30;
	s = build(&sc);
	in.snap = s;
	n = findings_decide(&in, v, 4);
	CHECK(n == 1 && v[0].severity == FINDING_WARNING && v[0].u.shared_hash.shared == 2);
	snap_put(s);

	/* Unknown (the sysctl unread) is no finding. */
	sc.netns[0].ehash = sc.netns[1].ehash = 0;
	s = build(&sc);
	in.snap = s;
	CHECK_INT(findings_decide(&in, v, 4), ==, 0);
	snap_put(s);
}

/*
 * Every kind at once, through the endpoint in both languages: each finding has its texts,
 * the summary adds up, and the most severe come first.
 */
static void test_rendered(void)
{
	static const char *const langs[] = { "en", "ko" };
	static struct scene sc;
	struct feed *feed;
	struct snap *s;
	int app;

	memset(&sc, 0, sizeof(sc));
	if (history_open(&sc.history) < 0 || feed_open(&feed, sc.history, "/nonexistent.db") < 0)
		abort();
	app = proc(&sc, 100, 1000, "app");
	add(&sc, (struct spec){ .state = SOCK_CLOSE_WAIT, .rport = 1000, .inode = 10, .rq = 5,
				.age = 360, .owner = app }, 2);
	add(&sc, (struct spec){ .state = SOCK_FIN_WAIT2, .rport = 2000, .inode = 20, .age = 360,
				.owner = app }, 1);
	add(&sc, (struct spec){ .state = SOCK_FIN_WAIT1, .raddr = "10.9.9.9", .rport = 3000,
				.timer = SOCK_TIMER_PROBE, .age = 360 }, 1);
	add(&sc, (struct spec){ .state = SOCK_LISTEN, .lport = 80, .inode = 30, .rq = 5, .wq = 5,
				.owner = app }, 1);
	add(&sc, (struct spec){ .state = SOCK_SYN_RECV, .lport = 80, .rport = 4000 }, 64);
	add(&sc, (struct spec){ .state = SOCK_TIME_WAIT, .raddr = "10.0.0.3", .lport = 50000,
				.rport = 443, .timer = SOCK_TIMER_TIMEWAIT }, 1);
	set_setting(&sc.kstat_now, KSTAT_PORT_RANGE_LOW, 50000);
	set_setting(&sc.kstat_now, KSTAT_PORT_RANGE_HIGH, 50001);
	set_gauge(&sc.kstat_now, KSTAT_SOCK_TW, 10);
	set_setting(&sc.kstat_now, KSTAT_MAX_TW_BUCKETS, 10);
	set_gauge(&sc.kstat_now, KSTAT_SOCK_ORPHAN, 10);
	set_setting(&sc.kstat_now, KSTAT_MAX_ORPHANS, 10);
	set_counter(&sc, KSTAT_LISTEN_OVERFLOWS, 0, 1);
	set_counter(&sc, KSTAT_ABORT_ON_CLOSE, 0, 1);
	sc.n_netns = 1;
	sc.netns[0].id = NS1;
	snprintf(sc.netns[0].name, sizeof(sc.netns[0].name), "blue");
	sc.netns[0].ehash = -262144;
	s = build(&sc);
	s->child_ehash = -1;
	feed_lock(feed);
	feed_publish_locked(feed, s);
	feed_unlock(feed);

	for (size_t l = 0; l < ARRAY_SIZE(langs); l++) {
		struct api_ctx ctx = { .feed = feed };
		struct query q = { 0 };
		struct api_error e = { 0 };
		struct api_response r;
		cJSON *doc, *list, *x;
		int seen[FINDING_KIND_MAX] = { 0 }, sum = 0, last_sev = 0;

		CHECK_INT(query_add(&q, "lang", langs[l], &e), ==, 0);
		CHECK_INT(api_handle(&ctx, "GET", "/api/v1/findings", &q, 0, &r), ==, 0);
		CHECK_INT(r.status, ==, 200);
		doc = cJSON_Parse(r.body);
		CHECK(doc != NULL);
		list = cJSON_GetObjectItemCaseSensitive(doc, "findings");
		CHECK_INT(cJSON_GetArraySize(list), ==, FINDING_KIND_MAX);
		cJSON_ArrayForEach(x, list) {
			const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(x, "id"));
			const char *sev = cJSON_GetStringValue(cJSON_GetObjectItem(x, "severity"));
			int k, sv;

			for (k = 0; k < FINDING_KIND_MAX; k++) {
				size_t len = strlen(findings_kind_name(k));

				if (id && strncmp(id, findings_kind_name(k), len) == 0 &&
				    (!id[len] || id[len] == '/'))
					break;
			}
			CHECK(k < FINDING_KIND_MAX);
			if (k < FINDING_KIND_MAX)
				seen[k]++;
			for (sv = 0; sv < FINDING_SEVERITY_MAX; sv++)
				if (sev && strcmp(sev, findings_severity_name(sv)) == 0)
					break;
			CHECK(sv < FINDING_SEVERITY_MAX && sv >= last_sev);
			last_sev = sv;
			for (const char *const *t = (const char *const[]){ "title", "explanation",
									  "remedy", NULL };
			     *t; t++) {
				const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(x, *t));

				CHECK(v && strlen(v) > 10 && !strchr(v, '$'));
			}
		}
		for (int k = 0; k < FINDING_KIND_MAX; k++)
			CHECK_INT(seen[k], ==, 1);
		cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "summary"))
			sum += x->valueint;
		CHECK_INT(sum, ==, FINDING_KIND_MAX);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(doc, "lang")), langs[l]);
		cJSON_Delete(doc);
		api_response_free(&r);
	}
	feed_close(feed);
	history_close(sc.history);
	snap_put(sc.then);
	sc.then = NULL;
}

int main(void)
{
	test_names();
	test_held();
	test_growth();
	test_fin_wait1();
	test_listeners();
	test_time_wait_pressure();
	test_kernel();
	test_namespaces();
	test_shared_hash();
	test_rendered();
	return CHECK_DONE();
}
