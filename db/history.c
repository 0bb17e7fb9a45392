/* history.c - rolls snapshots up into minute and hour buckets and keeps recent minutes. */
#include "history.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct history {
	struct hist_bucket cur[2]; /* [0] minute, [1] hour */
	int loaded[2];             /* cur[i] holds what the store committed, and since added */
	uint32_t *by_port;         /* 65536 * SOCK_STATE_MAX counters, kept zero */
	struct hist_group top[GROUP_KIND_MAX][HIST_MAX_GROUPS]; /* this snapshot's groups */
	struct hist_group *ns; /* this snapshot's namespaces, all of them */
	size_t n_ns, cap_ns;

	pthread_mutex_t lock; /* guards ring */
	struct hist_bucket *ring[HIST_RING_MINUTES];
	size_t ring_next;
};

static const int res_of[2] = { 60, 3600 };

static int group_cmp(const void *a, const void *b)
{
	const struct hist_group *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Keeps out[0..*n) the n_max largest so far; a small insertion step per candidate. */
static void keep_top(struct hist_group *out, size_t *n, size_t n_max, const struct hist_group *g)
{
	size_t i;

	if (!g->total)
		return;
	if (*n == n_max) {
		if (group_cmp(g, &out[*n - 1]) >= 0)
			return;
		(*n)--;
	}
	for (i = *n; i > 0 && group_cmp(g, &out[i - 1]) < 0; i--)
		out[i] = out[i - 1];
	out[i] = *g;
	(*n)++;
}

size_t hist_top_groups(const struct snap *s, int kind, struct hist_group *out, size_t n_max,
		       uint32_t *by_port)
{
	struct hist_group g;
	uint32_t lingering = 0;
	size_t n = 0;

	if (!s || !n_max)
		return 0;
	for (int st = 1; st < SOCK_STATE_MAX; st++)
		if (sock_state_lingering(st))
			lingering |= 1u << st;
	if (kind == GROUP_LOCAL_PORT) {
		for (size_t i = 0; i < s->n; i++) {
			const struct sock_rec *r = &s->socks[i].r;

			if ((lingering >> r->state & 1) && !r->netns)
				by_port[(size_t)r->lport * SOCK_STATE_MAX + r->state]++;
		}
		/*
		 * A second pass over the same sockets visits exactly the touched ports.  Most ports
		 * cannot enter the top: their key is formatted only when they might.
		 */
		for (size_t i = 0; i < s->n; i++) {
			const struct sock_rec *r = &s->socks[i].r;
			uint32_t *c = &by_port[(size_t)r->lport * SOCK_STATE_MAX], total = 0;

			if (!(lingering >> r->state & 1) || r->netns || !c[r->state])
				continue;
			for (int st = 1; st < SOCK_STATE_MAX; st++)
				total += c[st];
			if (n == n_max && total < out[n - 1].total) {
				memset(c, 0, SOCK_STATE_MAX * sizeof(*c));
				continue;
			}
			memset(&g, 0, sizeof(g));
			snprintf(g.key, sizeof(g.key), "%u", r->lport);
			memcpy(g.counts, c, sizeof(g.counts));
			g.total = total;
			memset(c, 0, SOCK_STATE_MAX * sizeof(*c));
			keep_top(out, &n, n_max, &g);
		}
		return n;
	}
	if (kind != GROUP_PROCESS || !s->nprocs)
		return 0;
	{
		/* Processes are few; sum per process index, then merge equal names. */
		uint32_t(*per)[SOCK_STATE_MAX] = calloc(s->nprocs, sizeof(*per));
		struct hist_group *names = calloc(s->nprocs, sizeof(*names));
		size_t nn = 0;

		if (!per || !names) {
			free(per);
			free(names);
			return 0;
		}
		for (size_t i = 0; i < s->n; i++) {
			const struct snap_sock *x = &s->socks[i];

			if (x->proc && (lingering >> x->r.state & 1) && !x->r.netns)
				per[x->proc - 1][x->r.state]++;
		}
		for (size_t p = 0; p < s->nprocs; p++) {
			size_t j;

			for (j = 0; j < nn; j++)
				if (strcmp(names[j].key, s->procs[p].comm) == 0)
					break;
			if (j == nn)
				snprintf(names[nn++].key, sizeof(names[0].key), "%s",
					 s->procs[p].comm);
			for (int st = 1; st < SOCK_STATE_MAX; st++) {
				names[j].counts[st] += per[p][st];
				names[j].total += per[p][st];
			}
		}
		for (size_t j = 0; j < nn; j++)
			keep_top(out, &n, n_max, &names[j]);
		free(per);
		free(names);
	}
	return n;
}

size_t hist_netns_counts(const struct snap *s, struct hist_group *out)
{
	size_t n = 0, last = 0;

	if (!s || !s->n_netns)
		return 0;
	memset(out, 0, s->n_netns * sizeof(*out));
	/*
	 * Sockets of one namespace come out of its dump together: the last match is almost
	 * always the right one, so this stays one pass over the sockets.
	 */
	for (size_t i = 0; i < s->n; i++) {
		const struct sock_rec *r = &s->socks[i].r;

		if (!r->netns)
			continue;
		if (last >= s->n_netns || s->netns[last].id != r->netns)
			for (last = 0; last < s->n_netns && s->netns[last].id != r->netns; last++)
				;
		if (last < s->n_netns) {
			out[last].counts[r->state]++;
			out[last].total++;
		}
	}
	/* Compact in place, dropping the namespaces that could not be dumped. */
	for (size_t i = 0; i < s->n_netns; i++) {
		if (s->netns[i].error)
			continue;
		if (n != i)
			out[n] = out[i];
		snprintf(out[n].key, sizeof(out[n].key), "%s", s->netns[i].name);
		n++;
	}
	return n;
}

const struct hist_group *history_netns(const struct history *h, size_t *n)
{
	*n = h->n_ns;
	return h->ns;
}

/*
 * This snapshot's namespaces into h->ns, and the largest HIST_MAX_GROUPS of them (all, on
 * any ordinary host) into top.  An empty namespace is kept: its zeros are its history.
 */
static int netns_top(struct history *h, const struct snap *s, struct hist_group *top, size_t *ntop)
{
	*ntop = 0;
	h->n_ns = 0;
	if (!s->n_netns)
		return 0;
	if (s->n_netns > h->cap_ns) {
		struct hist_group *v = realloc(h->ns, s->n_netns * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->ns = v;
		h->cap_ns = s->n_netns;
	}
	h->n_ns = hist_netns_counts(s, h->ns);
	if (h->n_ns <= HIST_MAX_GROUPS) {
		memcpy(top, h->ns, h->n_ns * sizeof(*top));
		*ntop = h->n_ns;
		return 0;
	}
	for (size_t i = 0; i < h->n_ns; i++) {
		struct hist_group g = h->ns[i];

		g.total++; /* keep_top() passes over a total of 0; ranks are unchanged */
		keep_top(top, ntop, HIST_MAX_GROUPS, &g);
	}
	for (size_t i = 0; i < *ntop; i++)
		top[i].total--;
	return 0;
}

int history_open(struct history **out)
{
	struct history *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->by_port = calloc((size_t)65536 * SOCK_STATE_MAX, sizeof(*h->by_port));
	if (!h->by_port) {
		free(h);
		return -ENOMEM;
	}
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return 0;
}

void history_close(struct history *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < HIST_RING_MINUTES; i++)
		free(h->ring[i]);
	free(h->ns);
	free(h->by_port);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static void acc_add(struct hist_acc *a, int64_t v, int first)
{
	if (first || v < a->min)
		a->min = v;
	if (first || v > a->max)
		a->max = v;
	a->sum += (double)v;
	a->n++;
	a->last = v;
}

static void bucket_reset(struct hist_bucket *b, int res, int64_t t)
{
	memset(b, 0, sizeof(*b));
	b->res = res;
	b->t = t;
}

/* Finds or adds a group in a bucket; -1 when the bucket is full. */
static int bucket_group(struct hist_bucket *b, int kind, const char *key)
{
	size_t n = b->ngroups[kind];

	for (size_t i = 0; i < n; i++)
		if (strcmp(b->groups[kind][i].key, key) == 0)
			return (int)i;
	if (n == HIST_MAX_GROUPS)
		return -1;
	memset(&b->groups[kind][n], 0, sizeof(b->groups[kind][n]));
	snprintf(b->groups[kind][n].key, sizeof(b->groups[kind][n].key), "%s", key);
	b->ngroups[kind]++;
	return (int)n;
}

static void bucket_add(struct hist_bucket *b, const struct snap *s,
		       struct hist_group top[GROUP_KIND_MAX][HIST_MAX_GROUPS],
		       const size_t ntop[GROUP_KIND_MAX])
{
	int first = b->snapshots == 0;

	b->snapshots++;
	b->last_at = s->taken_at;
	b->kstat = s->kstat;
	for (int st = 1; st < SOCK_STATE_MAX; st++)
		acc_add(&b->host[st], s->counts[st], first);
	for (int k = 1; k < GROUP_KIND_MAX; k++) {
		for (size_t i = 0; i < ntop[k]; i++) {
			int g = bucket_group(b, k, top[k][i].key);

			if (g < 0)
				continue;
			/* A group missing from earlier snapshots of the bucket was 0 there. */
			for (int st = 1; st < SOCK_STATE_MAX; st++) {
				struct hist_acc *a = &b->groups[k][g].acc[st];
				int gfirst = b->groups[k][g].present == 0;

				if (gfirst && b->snapshots > 1) {
					a->min = 0;
					a->max = 0;
					a->n = b->snapshots - 1;
					gfirst = 0;
				}
				acc_add(a, top[k][i].counts[st], gfirst);
			}
			b->groups[k][g].present++;
		}
		/* Groups of the bucket absent from this snapshot: a 0 for it. */
		for (size_t g = 0; g < b->ngroups[k]; g++) {
			int seen = 0;

			for (size_t i = 0; i < ntop[k] && !seen; i++)
				seen = strcmp(b->groups[k][g].key, top[k][i].key) == 0;
			if (seen)
				continue;
			for (int st = 1; st < SOCK_STATE_MAX; st++)
				acc_add(&b->groups[k][g].acc[st], 0, 0);
		}
	}
}

static void ring_push(struct history *h, const struct hist_bucket *b)
{
	struct hist_bucket *copy = malloc(sizeof(*copy));

	if (!copy)
		return; /* growth rates then lack this minute: not worth failing a snapshot */
	*copy = *b;
	pthread_mutex_lock(&h->lock);
	free(h->ring[h->ring_next]);
	h->ring[h->ring_next] = copy;
	h->ring_next = (h->ring_next + 1) % HIST_RING_MINUTES;
	pthread_mutex_unlock(&h->lock);
}

void hist_bucket_seed(struct hist_bucket *b, int kind, const char *key, int state,
		      const struct hist_acc *a)
{
	int g;

	if (state <= 0 || state >= SOCK_STATE_MAX || a->n < 1)
		return;
	if (a->n > b->snapshots)
		b->snapshots = a->n;
	if (kind == 0) {
		b->host[state] = *a;
		return;
	}
	if (kind < 0 || kind >= GROUP_KIND_MAX || !key)
		return;
	g = bucket_group(b, kind, key);
	if (g < 0)
		return;
	b->groups[kind][g].acc[state] = *a;
	b->groups[kind][g].present = 1;
}

/* After a load: the states that had no row were 0 in every snapshot of the bucket. */
static void seed_zeros(struct hist_bucket *b)
{
	const struct hist_acc zero = { .n = b->snapshots };

	if (!b->snapshots)
		return;
	for (int st = 1; st < SOCK_STATE_MAX; st++)
		if (!b->host[st].n)
			b->host[st] = zero;
	for (int k = 1; k < GROUP_KIND_MAX; k++)
		for (size_t g = 0; g < b->ngroups[k]; g++)
			for (int st = 1; st < SOCK_STATE_MAX; st++)
				if (!b->groups[k][g].acc[st].n)
					b->groups[k][g].acc[st] = zero;
}

int history_add(struct history *h, const struct snap *s, const struct history_io *io)
{
	struct hist_group(*top)[HIST_MAX_GROUPS] = h->top;
	size_t ntop[GROUP_KIND_MAX] = { 0 };
	int64_t now = (int64_t)s->taken_at;
	int err;

	ntop[GROUP_LOCAL_PORT] = hist_top_groups(s, GROUP_LOCAL_PORT, top[GROUP_LOCAL_PORT],
						 HIST_TOP_GROUPS, h->by_port);
	ntop[GROUP_PROCESS] = hist_top_groups(s, GROUP_PROCESS, top[GROUP_PROCESS], HIST_TOP_GROUPS,
					      h->by_port);
	err = netns_top(h, s, top[GROUP_NETNS], &ntop[GROUP_NETNS]);
	if (err < 0)
		return err;
	for (int r = 0; r < 2; r++) {
		struct hist_bucket *b = &h->cur[r];
		int64_t t = now - now % res_of[r];

		if (h->loaded[r] && b->t != t) {
			if (r == 0 && b->snapshots)
				ring_push(h, b);
			h->loaded[r] = 0;
		}
		if (!h->loaded[r]) {
			bucket_reset(b, res_of[r], t);
			err = io && io->load ? io->load(io->arg, b) : 0;
			if (err < 0)
				return err;
			seed_zeros(b);
			h->loaded[r] = 1;
		}
		bucket_add(b, s, top, ntop);
		err = io && io->put ? io->put(io->arg, b) : 0;
		if (err < 0)
			return err;
	}
	return 0;
}

void history_discard(struct history *h)
{
	h->loaded[0] = h->loaded[1] = 0;
}

int history_kstat_at(struct history *h, double t, struct kstat *k, double *at)
{
	const struct hist_bucket *best = NULL;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < HIST_RING_MINUTES; i++) {
		const struct hist_bucket *b = h->ring[i];

		if (b && b->last_at <= t && (!best || b->last_at > best->last_at))
			best = b;
	}
	if (best) {
		*k = best->kstat;
		*at = best->last_at;
	}
	pthread_mutex_unlock(&h->lock);
	return best ? 0 : -ENOENT;
}
