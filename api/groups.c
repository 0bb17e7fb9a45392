/* groups.c - gathers a snapshot's sockets into keyed groups with counts, ages and arrivals. */
#include "groups.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t key_hash(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *k; k++)
		h = (h ^ (uint8_t)*k) * 0x100000001b3ull;
	return h;
}

static int groups_rehash(struct groups *g, size_t size)
{
	uint32_t *index = calloc(size, sizeof(*index));

	if (!index)
		return -ENOMEM;
	free(g->index);
	g->index = index;
	g->mask = size - 1;
	for (size_t i = 0; i < g->n; i++) {
		size_t j = key_hash(g->v[i].key) & g->mask;

		while (g->index[j])
			j = (j + 1) & g->mask;
		g->index[j] = (uint32_t)(i + 1);
	}
	return 0;
}

/* Finds or adds a group; there can be thousands (remote ports of TIME_WAIT), so hash. */
struct group *groups_get(struct groups *g, const char *key)
{
	size_t j;

	if ((g->n + 1) * 2 > g->mask + 1 && groups_rehash(g, g->mask ? (g->mask + 1) * 2 : 256) < 0)
		return NULL;
	for (j = key_hash(key) & g->mask; g->index[j]; j = (j + 1) & g->mask)
		if (strcmp(g->v[g->index[j] - 1].key, key) == 0)
			return &g->v[g->index[j] - 1];
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		struct group *v = realloc(g->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		g->v = v;
		g->cap = cap;
	}
	memset(&g->v[g->n], 0, sizeof(g->v[0]));
	snprintf(g->v[g->n].key, sizeof(g->v[0].key), "%s", key);
	g->index[j] = (uint32_t)(g->n + 1);
	return &g->v[g->n++];
}

void group_add(struct group *gr, const struct snap_sock *x, double since, double started)
{
	if (!gr->sample)
		gr->sample = x;
	gr->counts[x->r.state]++;
	gr->total++;
	if (!x->r.inode)
		gr->orphans++;
	if (x->r.state == SOCK_CLOSE_WAIT && x->r.rqueue > 1)
		gr->unread += x->r.rqueue - 1;
	if (x->r.timer == SOCK_TIMER_PROBE)
		gr->zero_window++;
	if (!gr->oldest_since || x->state_since < gr->oldest_since) {
		gr->oldest_since = x->state_since;
		gr->oldest_lb = (x->lower_bound & SNAP_LB_STATE) != 0;
	}
	if (x->state_since >= since && x->first_seen > started)
		gr->arrivals++;
}

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if (x->oldest_since != y->oldest_since)
		return x->oldest_since < y->oldest_since ? -1 : 1;
	return strcmp(x->key, y->key);
}

void groups_sort(struct groups *g)
{
	free(g->index);
	g->index = NULL;
	g->mask = 0;
	if (g->n)
		qsort(g->v, g->n, sizeof(g->v[0]), group_cmp);
}

void groups_free(struct groups *g)
{
	free(g->v);
	free(g->index);
	memset(g, 0, sizeof(*g));
}

const struct group *groups_find(const struct groups *g, const char *key)
{
	if (!g->index)
		return NULL;
	for (size_t j = key_hash(key) & g->mask; g->index[j]; j = (j + 1) & g->mask)
		if (strcmp(g->v[g->index[j] - 1].key, key) == 0)
			return &g->v[g->index[j] - 1];
	return NULL;
}

double groups_growth(const struct groups *then, const char *key, uint32_t now_total, double now_at,
		     double then_at)
{
	const struct group *g;

	if (!then || !(now_at > then_at))
		return NAN;
	g = groups_find(then, key);
	return ((double)now_total - (g ? (double)g->total : 0)) / ((now_at - then_at) / 60.0);
}
