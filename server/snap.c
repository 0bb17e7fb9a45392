/* snap.c - builds snapshots, carries each socket's history over, and reports the changes. */
#include "snap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Linux keeps a socket in TIME_WAIT for this long (TCP_TIMEWAIT_LEN, not a sysctl). */
#define TIME_WAIT_S 60.0

#define KEY_INODE (1ull << 63)
#define KEY_TUPLE (3ull << 62)

/* FNV-1a: cheap and good enough to tell 4-tuples apart. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t snap_key(const struct sock_rec *r)
{
	uint64_t h = 0xcbf29ce484222325ull;

	if (r->cookie)
		return r->cookie;
	if (r->inode)
		return KEY_INODE | r->inode;
	h = fnv(h, &r->family, sizeof(r->family));
	h = fnv(h, r->laddr, sizeof(r->laddr));
	h = fnv(h, r->raddr, sizeof(r->raddr));
	h = fnv(h, &r->lport, sizeof(r->lport));
	h = fnv(h, &r->rport, sizeof(r->rport));
	h = fnv(h, &r->netns, sizeof(r->netns));
	return KEY_TUPLE | (h >> 2);
}

/* Mixes the key's bits so that sequential cookies spread over the table. */
static size_t slot_of(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & mask;
}

const struct snap_sock *snap_find(const struct snap *s, uint64_t key)
{
	size_t i;

	if (!s || !s->index)
		return NULL;
	for (i = slot_of(key, s->index_mask); s->index[i]; i = (i + 1) & s->index_mask) {
		const struct snap_sock *e = &s->socks[s->index[i] - 1];

		if (e->key == key)
			return e;
	}
	return NULL;
}

/* Inserts position pos unless the key is already there; returns 0 or -EEXIST. */
static int index_add(struct snap *s, size_t pos)
{
	uint64_t key = s->socks[pos].key;
	size_t i;

	for (i = slot_of(key, s->index_mask); s->index[i]; i = (i + 1) & s->index_mask)
		if (s->socks[s->index[i] - 1].key == key)
			return -EEXIST;
	s->index[i] = (uint32_t)(pos + 1);
	return 0;
}

static int index_alloc(struct snap *s, size_t n)
{
	size_t size = 16;

	while (size < n * 2)
		size <<= 1;
	free(s->index);
	s->index = calloc(size, sizeof(*s->index));
	if (!s->index)
		return -ENOMEM;
	s->index_mask = size - 1;
	return 0;
}

struct snap *snap_alloc(size_t n)
{
	struct snap *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->refs = 1;
	s->socks = calloc(n ? n : 1, sizeof(*s->socks));
	if (!s->socks) {
		free(s);
		return NULL;
	}
	s->n = n;
	return s;
}

int snap_reindex(struct snap *s)
{
	size_t kept = 0;
	int err;

	err = index_alloc(s, s->n);
	if (err < 0)
		return err;
	for (size_t i = 0; i < s->n; i++) {
		s->socks[kept] = s->socks[i];
		if (index_add(s, kept) == 0)
			kept++;
	}
	s->n = kept;
	return 0;
}

struct snap *snap_get(struct snap *s)
{
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

void snap_put(struct snap *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (size_t i = 0; i < s->nprocs; i++)
		free(s->procs[i].cmdline);
	free(s->procs);
	free(s->netns);
	free(s->index);
	free(s->socks);
	free(s);
}

uint32_t snap_add_proc(struct snap *s, const struct snap_proc *p)
{
	/* Few processes hold lingering sockets, and one often holds many in a row. */
	if (s->nprocs && s->procs[s->nprocs - 1].pid == p->pid &&
	    s->procs[s->nprocs - 1].start == p->start)
		return (uint32_t)s->nprocs;
	for (size_t i = s->nprocs; i-- > 0;)
		if (s->procs[i].pid == p->pid && s->procs[i].start == p->start)
			return (uint32_t)(i + 1);
	if (s->nprocs == s->cap_procs) {
		size_t cap = s->cap_procs ? s->cap_procs * 2 : 16;
		struct snap_proc *v = realloc(s->procs, cap * sizeof(*v));

		if (!v)
			return 0;
		s->procs = v;
		s->cap_procs = cap;
	}
	s->procs[s->nprocs] = *p;
	s->procs[s->nprocs].cmdline = strdup(p->cmdline ? p->cmdline : "");
	if (!s->procs[s->nprocs].cmdline)
		return 0;
	return (uint32_t)++s->nprocs;
}

/* When a socket entered TIME_WAIT, from the time its timer has left. */
static double time_wait_since(const struct sock_rec *r, double now)
{
	double left = r->expires_ms / 1000.0;

	if (r->timer != SOCK_TIMER_TIMEWAIT || left > TIME_WAIT_S)
		return now;
	return now - (TIME_WAIT_S - left);
}

int snap_build(struct snap **out, const struct sock_vec *recs, const struct snap *prev,
	       double now, const struct snap_change_ops *ops, void *arg)
{
	struct snap *s;
	uint8_t *seen = NULL;
	size_t kept = 0;
	int err;

	*out = NULL;
	s = snap_alloc(recs->n);
	if (!s)
		return -ENOMEM;
	err = index_alloc(s, recs->n);
	if (err < 0)
		goto fail;
	if (prev && prev->n) {
		seen = calloc(prev->n, 1);
		if (!seen) {
			err = -ENOMEM;
			goto fail;
		}
	}
	s->taken_at = now;
	for (size_t i = 0; i < recs->n; i++) {
		const struct sock_rec *r = &recs->v[i];
		struct snap_sock *e = &s->socks[kept];
		const struct snap_sock *old;

		if (r->state <= 0 || r->state >= SOCK_STATE_MAX)
			continue;
		e->r = *r;
		e->key = snap_key(r);
		if (index_add(s, kept) < 0)
			continue; /* moved during the dump and reported twice */
		kept++;
		if (!r->netns) {
			/* The counts describe lingerd's own namespace; others are counted on demand. */
			s->counts[r->state]++;
			s->family_counts[r->family == AF_INET6][r->state]++;
		}
		old = snap_find(prev, e->key);
		if (!old) {
			e->first_seen = now;
			e->state_since = r->state == SOCK_TIME_WAIT ? time_wait_since(r, now) : now;
			if (r->state == SOCK_TIME_WAIT)
				e->first_seen = e->state_since;
			if (ops && ops->appeared && (err = ops->appeared(arg, e)) < 0)
				goto fail;
			continue;
		}
		seen[old - prev->socks] = 1;
		e->row_id = old->row_id;
		e->first_seen = old->first_seen;
		e->state_since = old->state_since;
		if (old->r.state != r->state) {
			e->state_since = r->state == SOCK_TIME_WAIT ? time_wait_since(r, now) : now;
			if (e->state_since < old->state_since)
				e->state_since = old->state_since;
			if (ops && ops->changed && (err = ops->changed(arg, e, old->r.state)) < 0)
				goto fail;
		}
	}
	s->n = kept;
	for (size_t i = 0; i < kept; i++) {
		const struct snap_sock *e = &s->socks[i];
		double *o = &s->oldest_since[e->r.state];

		if (e->r.netns)
			continue;
		if (!e->r.inode)
			s->orphan_counts[e->r.state]++;
		/* rx_queue counts the peer's FIN too: more than 1 means bytes never read. */
		if (e->r.state == SOCK_CLOSE_WAIT && e->r.rqueue > 1)
			s->close_wait_unread++;
		if (*o == 0 || e->state_since < *o)
			*o = e->state_since;
	}
	for (size_t i = 0; prev && i < prev->n; i++) {
		if (seen[i] || !ops || !ops->vanished)
			continue;
		err = ops->vanished(arg, &prev->socks[i]);
		if (err < 0)
			goto fail;
	}
	free(seen);
	*out = s;
	return 0;
fail:
	free(seen);
	snap_put(s);
	return err;
}
