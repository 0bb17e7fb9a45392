/* findings.c - decides what is wrong in a snapshot: the rules, their thresholds and numbers. */
#include "findings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "groups.h"
#include "history.h"
#include "limits.h"
#include "util.h"
#include "view.h"

static const char *const kind_names[] = {
	[FINDING_CLOSE_WAIT_LEAK] = "close_wait_leak",
	[FINDING_CLOSE_WAIT_UNREAD] = "close_wait_unread",
	[FINDING_FIN_WAIT2_HELD] = "fin_wait2_held",
	[FINDING_FIN_WAIT1_STUCK] = "fin_wait1_stuck",
	[FINDING_ACCEPT_QUEUE_FULL] = "accept_queue_full",
	[FINDING_SYN_RECV_BUILDUP] = "syn_recv_buildup",
	[FINDING_TIME_WAIT_PRESSURE] = "time_wait_pressure",
	[FINDING_TIME_WAIT_OVERFLOW] = "time_wait_overflow",
	[FINDING_ORPHANS_NEAR_LIMIT] = "orphans_near_limit",
	[FINDING_LISTEN_OVERFLOWS] = "listen_overflows",
	[FINDING_RST_ON_CLOSE] = "rst_on_close",
	[FINDING_NETNS_SHARED_HASH] = "netns_shared_hash",
};
_Static_assert(ARRAY_SIZE(kind_names) == FINDING_KIND_MAX, "a name for every finding kind");

static const char *const severity_names[] = {
	[FINDING_CRITICAL] = "critical",
	[FINDING_WARNING] = "warning",
	[FINDING_INFO] = "info",
};
_Static_assert(ARRAY_SIZE(severity_names) == FINDING_SEVERITY_MAX, "a name for every severity");

const char *findings_kind_name(enum finding_kind kind)
{
	return (unsigned)kind < FINDING_KIND_MAX ? kind_names[kind] : NULL;
}

const char *findings_severity_name(enum finding_severity severity)
{
	return (unsigned)severity < FINDING_SEVERITY_MAX ? severity_names[severity] : NULL;
}

/* One run of the rules over a snapshot. */
struct decide {
	const struct findings_input *in;
	const struct snap *s;
	struct kstat then; /* kernel counters LD_RATE_WINDOW_S ago (or as far back as known) */
	double then_at;
	int have_then;
	struct finding *out;
	size_t max, n;
	struct finding spill; /* where findings past max are decided, to be counted */
};

/* The next finding, zeroed, in out while there is room. */
static struct finding *add(struct decide *d, enum finding_kind kind, enum finding_severity sev)
{
	struct finding *f = d->n < d->max ? &d->out[d->n] : &d->spill;

	d->n++;
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->severity = sev;
	return f;
}

static int unread(const struct snap_sock *x)
{
	return x->r.rqueue > 1;
}

/*
 * The findings about processes holding sockets of one state, grouped by owner (a pid, or
 * the uid when the owner is not known): at least min_age old, in the namespaces asked for.
 */
struct proc_rule {
	enum finding_kind kind;
	int state;
	int (*extra)(const struct snap_sock *); /* only sockets it accepts, when set */
	int growth;                             /* severity follows count, age and growth */
};

static const struct proc_rule proc_rules[] = {
	{ FINDING_CLOSE_WAIT_LEAK, SOCK_CLOSE_WAIT, NULL, 1 },
	{ FINDING_CLOSE_WAIT_UNREAD, SOCK_CLOSE_WAIT, unread, 0 },
	{ FINDING_FIN_WAIT2_HELD, SOCK_FIN_WAIT2, NULL, 0 },
};

/*
 * The sockets of snapshot s that rule r is about, grouped by owner into g.  Growth runs it
 * on the earlier snapshot too, so that then and now are counted alike.  0 or -ENOMEM.
 */
static int gather_held(const struct decide *d, const struct proc_rule *r, const struct snap *s,
		       struct groups *g)
{
	char key[64];

	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		const struct snap_proc *p = api_owner(s, x);
		struct group *gr;

		if (x->r.state != r->state || !x->r.inode ||
		    snap_age(s, x->state_since) < d->in->min_age || (r->extra && !r->extra(x)) ||
		    !api_netns_match(&d->in->ns, x->r.netns))
			continue;
		if (p)
			snprintf(key, sizeof(key), "%d", p->pid);
		else
			snprintf(key, sizeof(key), "uid:%u", x->r.uid);
		gr = groups_get(g, key);
		if (!gr)
			return -ENOMEM;
		group_add(gr, x, s->taken_boot - LD_RATE_WINDOW_S, 0);
	}
	return 0;
}

static int held_by_process(struct decide *d, const struct proc_rule *r)
{
	const struct snap *s = d->s, *then = r->growth ? d->in->then : NULL;
	struct groups g = { 0 }, then_g = { 0 };

	if (gather_held(d, r, s, &g) < 0 || (then && gather_held(d, r, then, &then_g) < 0)) {
		groups_free(&g);
		groups_free(&then_g);
		return -ENOMEM;
	}
	groups_sort(&g);
	for (size_t i = 0; i < g.n; i++) {
		const struct group *gr = &g.v[i];
		const struct snap_proc *p = api_owner(s, gr->sample);
		double age = snap_age(s, gr->oldest_since), growth = NAN;
		enum finding_severity sev = FINDING_WARNING;
		struct finding *f;

		if (r->growth) {
			if (then)
				growth = groups_growth(&then_g, gr->key, gr->total, s->taken_boot,
						       then->taken_boot);
			if (gr->total >= 50 || age >= 3600 || growth > 0)
				sev = FINDING_CRITICAL;
		}
		f = add(d, r->kind, sev);
		snprintf(f->key, sizeof(f->key), "%s", gr->key);
		f->sock = gr->sample;
		f->proc = p;
		f->u.held.count = gr->total;
		f->u.held.oldest_age_s = age;
		f->u.held.oldest_lb = gr->oldest_lb;
		f->u.held.growth_per_min = growth;
		f->u.held.unread_bytes = gr->unread;
	}
	groups_free(&g);
	groups_free(&then_g);
	return 0;
}

/* FIN_WAIT_1 sockets by remote address: warning when the peer's window is closed. */
static int fin_wait1_stuck(struct decide *d)
{
	const struct snap *s = d->s;
	struct groups g = { 0 };
	char key[64];

	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		struct group *gr;

		if (x->r.state != SOCK_FIN_WAIT1 || snap_age(s, x->state_since) < d->in->min_age ||
		    !api_netns_match(&d->in->ns, x->r.netns))
			continue;
		inet_ntop(x->r.family, x->r.raddr, key, sizeof(key));
		gr = groups_get(&g, key);
		if (!gr) {
			groups_free(&g);
			return -ENOMEM;
		}
		group_add(gr, x, s->taken_boot - LD_RATE_WINDOW_S, 0);
	}
	groups_sort(&g);
	for (size_t i = 0; i < g.n; i++) {
		const struct group *gr = &g.v[i];
		struct finding *f = add(d, FINDING_FIN_WAIT1_STUCK,
					gr->zero_window ? FINDING_WARNING : FINDING_INFO);

		snprintf(f->key, sizeof(f->key), "%s", gr->key);
		f->sock = gr->sample;
		f->u.fin_wait1.count = gr->total;
		f->u.fin_wait1.zero_window = gr->zero_window;
		f->u.fin_wait1.orphans = gr->orphans;
		f->u.fin_wait1.oldest_age_s = snap_age(s, gr->oldest_since);
		f->u.fin_wait1.oldest_lb = gr->oldest_lb;
	}
	groups_free(&g);
	return 0;
}

/* Listeners whose accept queue is full right now, then SYN_RECV build-ups by local port. */
static int listeners(struct decide *d)
{
	const struct snap *s = d->s;
	struct groups syn = { 0 };
	char key[64];
	int64_t backlog = s->kstat.have_setting[KSTAT_MAX_SYN_BACKLOG]
				  ? s->kstat.setting[KSTAT_MAX_SYN_BACKLOG]
				  : 1024;

	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		struct finding *f;

		if (!api_netns_match(&d->in->ns, x->r.netns))
			continue;
		if (x->r.state == SOCK_SYN_RECV) {
			struct group *gr;

			snprintf(key, sizeof(key), "%u", x->r.lport);
			gr = groups_get(&syn, key);
			if (!gr) {
				groups_free(&syn);
				return -ENOMEM;
			}
			group_add(gr, x, s->taken_boot - LD_RATE_WINDOW_S, 0);
			continue;
		}
		if (x->r.state != SOCK_LISTEN || !x->r.wqueue || x->r.rqueue < x->r.wqueue)
			continue;
		f = add(d, FINDING_ACCEPT_QUEUE_FULL, FINDING_CRITICAL);
		snprintf(f->key, sizeof(f->key), "%u/%llu", x->r.lport,
			 (unsigned long long)x->r.inode);
		f->sock = x;
		f->proc = api_owner(s, x);
		f->u.accept.queued = x->r.rqueue;
		f->u.accept.backlog = x->r.wqueue;
	}
	groups_sort(&syn);
	for (size_t i = 0; i < syn.n; i++) {
		const struct group *gr = &syn.v[i];
		struct finding *f;

		if (gr->total < 64 && gr->total < backlog / 4)
			continue;
		f = add(d, FINDING_SYN_RECV_BUILDUP, FINDING_WARNING);
		snprintf(f->key, sizeof(f->key), "%s", gr->key);
		f->sock = gr->sample;
		f->u.syn_recv.count = gr->total;
		f->u.syn_recv.max_syn_backlog = backlog;
	}
	groups_free(&syn);
	return 0;
}

#define TOP_CLOSERS 8 /* distinct closing processes tallied per destination */

/* Whether two sockets go from the same address to the same destination and port. */
static int same_route(const struct snap_sock *a, const struct snap_sock *b)
{
	return a->r.netns == b->r.netns && a->r.family == b->r.family && a->r.rport == b->r.rport &&
	       !memcmp(a->r.laddr, b->r.laddr, 16) && !memcmp(a->r.raddr, b->r.raddr, 16);
}

/*
 * Names the process that closed most of the TIME_WAITs towards f's destination, from the
 * teardown tracer's closers; runs only for the destinations that fire.
 */
static void name_closer(const struct snap *s, struct finding *f)
{
	struct {
		const struct snap_closer *c;
		uint32_t n;
	} top[TOP_CLOSERS];
	size_t k = 0, best = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		const struct snap_closer *c;
		size_t j;

		if (x->r.state != SOCK_TIME_WAIT || !x->closer || !same_route(x, f->sock))
			continue;
		c = &s->closers[x->closer - 1];
		for (j = 0; j < k && top[j].c->pid != c->pid; j++)
			;
		if (j == k) {
			if (k == TOP_CLOSERS)
				continue;
			top[k].c = c;
			top[k++].n = 0;
		}
		top[j].n++;
	}
	for (size_t j = 1; j < k; j++)
		if (top[j].n > top[best].n)
			best = j;
	if (!k)
		return;
	f->u.ports.closer_pid = top[best].c->pid;
	f->u.ports.closer_time_wait = top[best].n;
	memcpy(f->u.ports.closer_comm, top[best].c->comm, sizeof(f->u.ports.closer_comm));
}

/* The tracer's count of TIME_WAIT entries per second on x's route, or NaN. */
static double tw_rate(const struct snap *s, const struct snap_sock *x)
{
	for (size_t i = 0; i < s->n_tw_routes; i++) {
		const struct snap_tw_route *t = &s->tw_routes[i];

		if (t->netns == x->r.netns && t->family == x->r.family && t->rport == x->r.rport &&
		    !memcmp(t->laddr, x->r.laddr, 16) && !memcmp(t->raddr, x->r.raddr, 16))
			return t->per_s;
	}
	return NAN;
}

/*
 * Seconds until a route's headroom is gone when TIME_WAITs come at per_s and the ones there
 * leave after LD_TIME_WAIT_LEN_S (their outflow taken as time_wait / that length), or NaN
 * when they do not outpace it.
 */
static double exhaustion(double per_s, uint32_t time_wait, int64_t headroom)
{
	double net = per_s - time_wait / LD_TIME_WAIT_LEN_S;

	if (isnan(per_s) || net <= 0)
		return NAN;
	return headroom > 0 ? (double)headroom / net : 0;
}

/*
 * Sockets that hold an ephemeral port towards one destination, in namespace ns against that
 * namespace's port range (k): TIME_WAIT taking half the range is a warning, 80% critical.
 * With the teardown tracer's count of TIME_WAIT entries, a route whose ports run out within
 * LD_PORT_EXHAUSTION_HORIZON_S is one too (critical within a minute), however few it holds.
 */
static int time_wait_pressure(struct decide *d, uint64_t ns, const struct kstat *k)
{
	const struct snap *s = d->s;
	struct groups g = { 0 };
	int64_t lo, hi, range;
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN], key[112];

	if (!k->have_setting[KSTAT_PORT_RANGE_LOW] || !k->have_setting[KSTAT_PORT_RANGE_HIGH])
		return 0;
	lo = k->setting[KSTAT_PORT_RANGE_LOW];
	hi = k->setting[KSTAT_PORT_RANGE_HIGH];
	range = hi - lo + 1;
	if (range <= 0)
		return 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct snap_sock *x = &s->socks[i];
		struct group *gr;

		if (x->r.lport < lo || x->r.lport > hi || x->r.state == SOCK_LISTEN ||
		    !x->r.rport || x->r.netns != ns)
			continue;
		inet_ntop(x->r.family, x->r.laddr, l, sizeof(l));
		inet_ntop(x->r.family, x->r.raddr, r, sizeof(r));
		snprintf(key, sizeof(key), "%s>%s:%u", l, r, x->r.rport);
		gr = groups_get(&g, key);
		if (!gr) {
			groups_free(&g);
			return -ENOMEM;
		}
		group_add(gr, x, s->taken_boot - LD_RATE_WINDOW_S, 0);
	}
	groups_sort(&g);
	for (size_t i = 0; i < g.n; i++) {
		const struct group *gr = &g.v[i];
		double ratio = (double)gr->total / (double)range;
		double per_s = tw_rate(s, gr->sample);
		double left = exhaustion(per_s, gr->counts[SOCK_TIME_WAIT], range - gr->total);
		int soon = !isnan(left) && left <= LD_PORT_EXHAUSTION_HORIZON_S;
		struct finding *f;

		if ((ratio < 0.5 && !soon) || !gr->counts[SOCK_TIME_WAIT])
			continue;
		f = add(d, FINDING_TIME_WAIT_PRESSURE,
			ratio >= 0.8 || (soon && left <= 60) ? FINDING_CRITICAL : FINDING_WARNING);
		f->netns = ns;
		snprintf(f->key, sizeof(f->key), "%s", gr->key);
		f->sock = gr->sample;
		f->u.ports.time_wait = gr->counts[SOCK_TIME_WAIT];
		f->u.ports.in_use = gr->total;
		f->u.ports.low = lo;
		f->u.ports.high = hi;
		f->u.ports.ratio = ratio;
		f->u.ports.tw_reuse = k->have_setting[KSTAT_TW_REUSE]
					      ? (int)k->setting[KSTAT_TW_REUSE]
					      : 0;
		f->u.ports.arrivals_per_min = gr->arrivals / (LD_RATE_WINDOW_S / 60.0);
		f->u.ports.tw_entries_per_s = per_s;
		f->u.ports.headroom = range - gr->total;
		f->u.ports.exhaustion_s = left;
		name_closer(s, f);
	}
	groups_free(&g);
	return 0;
}

/*
 * A counter's increase per minute over the window into *delta, or NaN (and 0) when no
 * earlier reading is known: the history keeps lingerd's own namespace only (ns 0).
 */
static double rate(const struct decide *d, uint64_t ns, const struct kstat *k, int counter,
		   uint64_t *delta)
{
	double dt = d->s->taken_at - d->then_at;

	*delta = 0;
	if (ns || !d->have_then || dt < LD_RATE_WINDOW_MIN_S || !k->have_counter[counter] ||
	    !d->then.have_counter[counter] || k->counter[counter] < d->then.counter[counter])
		return NAN;
	*delta = k->counter[counter] - d->then.counter[counter];
	return (double)*delta / (dt / 60.0);
}

/* Findings on the kernel counters and sysctls k of namespace ns. */
static void kernel_findings(struct decide *d, uint64_t ns, const struct kstat *k)
{
	double window = d->s->taken_at - d->then_at;
	struct finding *f;
	uint64_t d1, d2;
	double r1, r2;

	/* TIME_WAIT bucket overflow. */
	r1 = rate(d, ns, k, KSTAT_TIME_WAIT_OVERFLOW, &d1);
	if (d1 > 0 || (k->have_gauge[KSTAT_SOCK_TW] && k->have_setting[KSTAT_MAX_TW_BUCKETS] &&
		       k->gauge[KSTAT_SOCK_TW] >= 0.8 * (double)k->setting[KSTAT_MAX_TW_BUCKETS])) {
		f = add(d, FINDING_TIME_WAIT_OVERFLOW, d1 > 0 ? FINDING_CRITICAL : FINDING_WARNING);
		f->netns = ns;
		f->u.tw_overflow.time_wait = k->gauge[KSTAT_SOCK_TW];
		f->u.tw_overflow.max_tw_buckets = k->setting[KSTAT_MAX_TW_BUCKETS];
		f->u.tw_overflow.overflows = d1;
		f->u.tw_overflow.overflows_per_min = r1;
	}
	/* Orphans near their limit. */
	rate(d, ns, k, KSTAT_ABORT_ON_MEMORY, &d1);
	if (k->have_gauge[KSTAT_SOCK_ORPHAN] && k->have_setting[KSTAT_MAX_ORPHANS] &&
	    k->setting[KSTAT_MAX_ORPHANS] > 0 &&
	    (d1 > 0 ||
	     k->gauge[KSTAT_SOCK_ORPHAN] >= 0.5 * (double)k->setting[KSTAT_MAX_ORPHANS])) {
		double ratio = (double)k->gauge[KSTAT_SOCK_ORPHAN] /
			       (double)k->setting[KSTAT_MAX_ORPHANS];

		f = add(d, FINDING_ORPHANS_NEAR_LIMIT,
			d1 > 0 || ratio >= 0.8 ? FINDING_CRITICAL : FINDING_WARNING);
		f->netns = ns;
		f->u.orphans.orphans = k->gauge[KSTAT_SOCK_ORPHAN];
		f->u.orphans.max_orphans = k->setting[KSTAT_MAX_ORPHANS];
		f->u.orphans.ratio = ratio;
		f->u.orphans.abort_on_memory = d1;
	}
	/* Accept queue overflows. */
	r1 = rate(d, ns, k, KSTAT_LISTEN_OVERFLOWS, &d1);
	r2 = rate(d, ns, k, KSTAT_LISTEN_DROPS, &d2);
	if (d1 > 0 || d2 > 0) {
		f = add(d, FINDING_LISTEN_OVERFLOWS, FINDING_WARNING);
		f->netns = ns;
		f->u.listen.overflows = d1;
		f->u.listen.drops = d2;
		f->u.listen.overflows_per_min = r1;
		f->u.listen.drops_per_min = r2;
		f->u.listen.window_s = window;
	}
	/* RST on close. */
	r1 = rate(d, ns, k, KSTAT_ABORT_ON_CLOSE, &d1);
	r2 = rate(d, ns, k, KSTAT_ABORT_ON_DATA, &d2);
	if (d1 + d2 > 0) {
		double per_min = (isnan(r1) ? 0 : r1) + (isnan(r2) ? 0 : r2);

		f = add(d, FINDING_RST_ON_CLOSE, per_min >= 60 ? FINDING_WARNING : FINDING_INFO);
		f->netns = ns;
		f->u.rst.on_close = d1;
		f->u.rst.on_data = d2;
		f->u.rst.per_min = per_min;
		f->u.rst.window_s = window;
		f->u.rst.proc = NULL;
		f->u.rst.peer = NULL;
		/* Resets by process are host-wide: named once, with lingerd's own namespace. */
		for (size_t i = 0; !ns && i < d->in->n_rst_procs && !f->u.rst.proc; i++)
			if (d->in->rst_procs[i].tgid)
				f->u.rst.proc = &d->in->rst_procs[i];
		for (size_t i = 0; i < d->in->n_rst_peers && !f->u.rst.peer; i++)
			if (d->in->rst_peers[i].netns == ns)
				f->u.rst.peer = &d->in->rst_peers[i];
	}
}

/*
 * Followed namespaces that share the host's connection hash (tcp_ehash_entries negative
 * inside): each dump of one walks every socket of the host.  A warning once their dumps
 * together take LD_NETNS_SHARED_WARN_MS, else information.  Host-wide: judged when lingerd's
 * own namespace is among those asked for.
 */
static void netns_shared_hash(struct decide *d)
{
	const struct snap *s = d->s;
	struct finding *f;
	uint32_t shared = 0;
	double ms = 0;
	const char *example = NULL;
	int64_t buckets = 0;

	for (size_t i = 0; i < s->n_netns; i++) {
		const struct snap_netns *n = &s->netns[i];

		if (n->ehash >= 0)
			continue;
		shared++;
		ms += n->dump_ms;
		buckets = -n->ehash;
		if (!example)
			example = n->name;
	}
	if (!shared)
		return;
	f = add(d, FINDING_NETNS_SHARED_HASH,
		ms >= LD_NETNS_SHARED_WARN_MS ? FINDING_WARNING : FINDING_INFO);
	f->u.shared_hash.shared = shared;
	f->u.shared_hash.followed = (uint32_t)s->n_netns;
	f->u.shared_hash.buckets = buckets;
	f->u.shared_hash.child_ehash = s->child_ehash;
	f->u.shared_hash.dump_ms = ms;
	f->u.shared_hash.example = example;
}

ssize_t findings_decide(const struct findings_input *in, struct finding *out, size_t max)
{
	const struct snap *s = in->snap;
	struct decide d = { .in = in, .s = s, .out = out, .max = out ? max : 0 };
	int err = 0;

	if (in->history && (history_kstat_at(in->history, s->taken_at - LD_RATE_WINDOW_S, &d.then,
					     &d.then_at) == 0 ||
			    history_kstat_at(in->history, s->taken_at, &d.then, &d.then_at) == 0))
		d.have_then = 1;
	for (size_t i = 0; !err && i < ARRAY_SIZE(proc_rules); i++)
		err = held_by_process(&d, &proc_rules[i]);
	if (!err)
		err = fin_wait1_stuck(&d);
	if (!err)
		err = listeners(&d);
	/* Kernel counters and the port range are each namespace's own. */
	if (!err && (in->ns.all || !in->ns.id)) {
		err = time_wait_pressure(&d, 0, &s->kstat);
		kernel_findings(&d, 0, &s->kstat);
	}
	for (size_t i = 0; !err && i < s->n_netns; i++) {
		const struct snap_netns *n = &s->netns[i];

		if (!api_netns_match(&in->ns, n->id) || !n->have_kstat)
			continue;
		err = time_wait_pressure(&d, n->id, &n->kstat);
		kernel_findings(&d, n->id, &n->kstat);
	}
	if (!err && (in->ns.all || !in->ns.id))
		netns_shared_hash(&d);
	return err ? err : (ssize_t)d.n;
}
