/* snap.c - builds snapshots, carries each socket's history over, and reports the changes. */
#include "snap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>

/* Linux keeps a socket in TIME_WAIT for this long (TCP_TIMEWAIT_LEN, not a sysctl). */
#define TIME_WAIT_S 60.0

#define KEY_INODE (1ull << 63)
#define KEY_TUPLE (3ull << 62)

/* Arrays this big get a mapping of their own; from SNAP_HUGE on, in huge pages. */
#define SNAP_BIG ((size_t)256 << 10)
#define SNAP_HUGE ((size_t)2 << 20)
/* Mappings kept for reuse by the next snapshot: its array, index and match, and a spare. */
#define SNAP_SPARES 4

/*
 * A snapshot's socket array, index and match are made anew each interval (published
 * snapshots are never written), and a page fault costs tens of microseconds on this
 * kind of host: 3,400 faults took 50-90 ms at 100k sockets, ten times the build itself,
 * and even eight 2 MiB faults took 30-50 ms now and then.  So the mappings of a freed
 * snapshot are kept, resident, for the next one to reuse; RSS holds one snapshot's arrays
 * more (15 MB at 100k sockets), and no fresh page is touched in the steady state.
 */
static struct {
	void *p;
	size_t len;
} spares[SNAP_SPARES];
static pthread_mutex_t spares_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t big_len(size_t bytes)
{
	size_t unit = bytes >= SNAP_HUGE ? SNAP_HUGE : (size_t)64 << 10;

	return (bytes + unit - 1) & ~(unit - 1);
}

/* A kept mapping of at least len bytes but not wastefully more, or NULL. */
static void *spare_take(size_t len, size_t *mapped)
{
	void *p = NULL;
	int best = -1;

	pthread_mutex_lock(&spares_lock);
	for (int i = 0; i < SNAP_SPARES; i++)
		if (spares[i].p && spares[i].len >= len && spares[i].len <= len * 2 + SNAP_HUGE &&
		    (best < 0 || spares[i].len < spares[best].len))
			best = i;
	if (best >= 0) {
		p = spares[best].p;
		*mapped = spares[best].len;
		spares[best].p = NULL;
	}
	pthread_mutex_unlock(&spares_lock);
	return p;
}

/*
 * Returns at least bytes of memory, not zeroed.  *mapped is the mapping's length, 0 when
 * the block came from malloc (small arrays).  Returns NULL when memory runs out.
 */
static void *big_alloc(size_t bytes, size_t *mapped)
{
	size_t len = big_len(bytes), align = len >= SNAP_HUGE ? SNAP_HUGE : 0;
	uint8_t *p, *a;

	*mapped = 0;
	if (bytes < SNAP_BIG)
		return malloc(bytes ? bytes : 1);
	a = spare_take(len, mapped);
	if (a)
		return a;
	/* Huge pages need a 2 MiB-aligned start: map a little more and trim. */
	/* cppcheck-suppress invalidFunctionArg ; fd -1 is what MAP_ANONYMOUS asks for */
	p = mmap(NULL, len + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = align ? (uint8_t *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1)) : p;
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + len < p + len + align)
		munmap(a + len, (size_t)(p + len + align - (a + len)));
	if (align)
		(void)madvise(a, len, MADV_HUGEPAGE); /* only a hint: 4 KiB pages work too */
	*mapped = len;
	return a;
}

/* Keeps the mapping for reuse (in place of a smaller one if need be), or unmaps it. */
static void big_free(void *p, size_t mapped)
{
	int slot = 0;

	if (!mapped) {
		free(p);
		return;
	}
	pthread_mutex_lock(&spares_lock);
	/* An empty slot, else the one holding the smallest mapping. */
	for (int i = 0; i < SNAP_SPARES; i++) {
		if (!spares[i].p) {
			slot = i;
			break;
		}
		if (spares[i].len < spares[slot].len)
			slot = i;
	}
	if (!spares[slot].p || spares[slot].len < mapped) {
		void *old = spares[slot].p;
		size_t old_len = spares[slot].len;

		spares[slot].p = p;
		spares[slot].len = mapped;
		p = old;
		mapped = old_len;
	}
	pthread_mutex_unlock(&spares_lock);
	if (p)
		munmap(p, mapped);
}

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

/* Mixes the key's bits (murmur3's finaliser): the low bits pick a slot, the high bits tag it. */
static uint64_t mix(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	key *= 0xc4ceb9fe1a85ec53ull;
	key ^= key >> 33;
	return key;
}

/* Table size for n sockets: a power of two at least twice n, so probes stay short. */
static size_t index_size(size_t n)
{
	size_t size = 16;

	while (size < n * 2)
		size <<= 1;
	return size;
}

const struct snap_sock *snap_find(const struct snap *s, uint64_t key)
{
	uint64_t h = mix(key);
	uint32_t tag = (uint32_t)(h >> 32);
	size_t i;

	if (!s || !s->index)
		return NULL;
	/* The tag spares a visit to a socket (a likely cache miss) for a slot not ours. */
	for (i = h & s->index_mask; s->index[i].pos; i = (i + 1) & s->index_mask) {
		const struct snap_slot *x = &s->index[i];

		if (x->tag == tag && s->socks[x->pos - 1].key == key)
			return &s->socks[x->pos - 1];
	}
	return NULL;
}

/* Inserts position pos unless the key is already there; returns 0 or -EEXIST. */
static int index_add(struct snap *s, size_t pos)
{
	uint64_t key = s->socks[pos].key, h = mix(key);
	uint32_t tag = (uint32_t)(h >> 32);
	size_t i;

	for (i = h & s->index_mask; s->index[i].pos; i = (i + 1) & s->index_mask)
		if (s->index[i].tag == tag && s->socks[s->index[i].pos - 1].key == key)
			return -EEXIST;
	s->index[i].pos = (uint32_t)(pos + 1);
	s->index[i].tag = tag;
	return 0;
}

/*
 * Removes key from an index whose positions refer to socks, by backward shifting (linear
 * probing needs no tombstones then): every later slot of the run that may move up does.
 */
static void index_del(struct snap_slot *ix, size_t mask, const struct snap_sock *socks,
		      uint64_t key)
{
	uint64_t h = mix(key);
	uint32_t tag = (uint32_t)(h >> 32);
	size_t i, j, home;

	for (i = h & mask; ix[i].pos; i = (i + 1) & mask)
		if (ix[i].tag == tag && socks[ix[i].pos - 1].key == key)
			break;
	if (!ix[i].pos)
		return;
	for (j = (i + 1) & mask; ix[j].pos; j = (j + 1) & mask) {
		home = mix(socks[ix[j].pos - 1].key) & mask;
		/* The entry at j stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		ix[i] = ix[j];
		i = j;
	}
	ix[i].pos = 0;
	ix[i].tag = 0;
}

static int index_alloc(struct snap *s, size_t n)
{
	size_t size = index_size(n);

	big_free(s->index, s->index_mapped);
	s->index = big_alloc(size * sizeof(*s->index), &s->index_mapped);
	if (!s->index)
		return -ENOMEM;
	memset(s->index, 0, size * sizeof(*s->index));
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
	free(s->closers);
	free(s->tw_routes);
	free(s->netns);
	big_free(s->from, s->from_mapped);
	big_free(s->index, s->index_mapped);
	big_free(s->socks, s->socks_mapped);
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

/* A growable set of keys: the sockets that appeared in one build, to drop repeats of them. */
struct keyset {
	uint64_t *v; /* 0 = empty: snap_key() is never 0 */
	size_t mask, n;
};

/* Adds key; returns 0, -EEXIST when it is there already, or -ENOMEM. */
static int keyset_add(struct keyset *ks, uint64_t key)
{
	size_t i;

	if ((ks->n + 1) * 2 > ks->mask + 1 || !ks->v) {
		size_t size = ks->v ? (ks->mask + 1) * 2 : 64;
		uint64_t *v = calloc(size, sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (size_t j = 0; ks->v && j <= ks->mask; j++) {
			if (!ks->v[j])
				continue;
			for (i = mix(ks->v[j]) & (size - 1); v[i]; i = (i + 1) & (size - 1))
				;
			v[i] = ks->v[j];
		}
		free(ks->v);
		ks->v = v;
		ks->mask = size - 1;
	}
	for (i = mix(key) & ks->mask; ks->v[i]; i = (i + 1) & ks->mask)
		if (ks->v[i] == key)
			return -EEXIST;
	ks->v[i] = key;
	ks->n++;
	return 0;
}

/*
 * Gives s the index of prev patched for what changed: vanished keys taken out, positions
 * moved to s's, appeared keys put in.  Sequential but for the changes.  map[j] is the
 * position + 1 in s of prev->socks[j], 0 when it vanished; s->from says which appeared.
 */
static int index_patch(struct snap *s, const struct snap *prev, const uint32_t *map)
{
	size_t size = prev->index_mask + 1;

	s->index = big_alloc(size * sizeof(*s->index), &s->index_mapped);
	if (!s->index)
		return -ENOMEM;
	s->index_mask = prev->index_mask;
	memcpy(s->index, prev->index, size * sizeof(*s->index));
	for (size_t j = 0; j < prev->n; j++)
		if (!map[j])
			index_del(s->index, s->index_mask, prev->socks, prev->socks[j].key);
	for (size_t i = 0; i < size; i++)
		if (s->index[i].pos)
			s->index[i].pos = map[s->index[i].pos - 1];
	for (size_t i = 0; i < s->n; i++)
		if (!s->from[i])
			(void)index_add(s, i); /* repeats were dropped already */
	return 0;
}

/* Adds one kept socket to the per-state summaries of its snapshot. */
static void summarise(struct snap *s, const struct snap_sock *e)
{
	double *o = &s->oldest_since[e->r.state];
	uint8_t *lb = &s->oldest_lb[e->r.state];

	/* The summaries describe lingerd's own namespace; others are counted on demand. */
	if (e->r.netns)
		return;
	s->counts[e->r.state]++;
	s->family_counts[e->r.family == AF_INET6][e->r.state]++;
	if (!e->r.inode)
		s->orphan_counts[e->r.state]++;
	/* rx_queue counts the peer's FIN too: more than 1 means bytes never read. */
	if (e->r.state == SOCK_CLOSE_WAIT && e->r.rqueue > 1)
		s->close_wait_unread++;
	if (*o == 0 || e->state_since < *o) {
		*o = e->state_since;
		*lb = e->lower_bound & SNAP_LB_STATE;
	}
}

int snap_build(struct snap **out, const struct sock_vec *recs, const struct snap *prev, double now,
	       const struct snap_change_ops *ops, void *arg)
{
	struct snap *s;
	uint32_t *map = NULL; /* prev position -> position + 1 in s, 0 = not seen */
	size_t map_mapped = 0;
	struct keyset fresh = { 0 };
	size_t kept = 0, cur = 0, size = index_size(recs->n);
	int err, patch;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->refs = 1;
	/* Every field of a kept socket is written below: no need to zero megabytes first. */
	s->socks = big_alloc(recs->n * sizeof(*s->socks), &s->socks_mapped);
	if (!s->socks) {
		err = -ENOMEM;
		goto fail;
	}
	/*
	 * Reuse prev's table when its size still suits (load between 1/8 and 1/2), so the
	 * index costs a copy plus the changes; otherwise hash every socket into a new one.
	 */
	patch = prev && prev->n && prev->index && prev->index_mask + 1 >= size &&
		prev->index_mask + 1 <= size * 4;
	if (!patch) {
		err = index_alloc(s, recs->n);
		if (err < 0)
			goto fail;
	}
	if (prev && prev->n) {
		map = big_alloc(prev->n * sizeof(*map), &map_mapped);
		s->from = big_alloc(recs->n * sizeof(*s->from), &s->from_mapped);
		if (!map || !s->from) {
			err = -ENOMEM;
			goto fail;
		}
		memset(map, 0, prev->n * sizeof(*map));
		s->from_prev = prev;
	}
	s->taken_boot = now;
	for (size_t i = 0; i < recs->n; i++) {
		const struct sock_rec *r = &recs->v[i];
		struct snap_sock *e = &s->socks[kept];
		const struct snap_sock *old = NULL;
		uint64_t key;

		if (r->state <= 0 || r->state >= SOCK_STATE_MAX)
			continue;
		key = snap_key(r);
		/* A dump lists unchanged sockets in the order of the last one: try there first. */
		if (map) {
			if (cur < prev->n && prev->socks[cur].key == key)
				old = &prev->socks[cur];
			else
				old = snap_find(prev, key);
			if (old && map[old - prev->socks])
				continue; /* moved during the dump and reported twice */
		}
		e->r = *r;
		e->key = key;
		e->proc = 0;
		e->proc_tried = 0;
		e->closer = 0;
		e->closer_tried = 0;
		if (!patch) {
			if (index_add(s, kept) < 0)
				continue; /* reported twice */
		} else if (!old && (err = keyset_add(&fresh, key)) < 0) {
			if (err == -EEXIST)
				continue;
			goto fail;
		}
		if (!old) {
			if (map)
				s->from[kept] = 0;
			kept++;
			e->row_id = 0;
			e->first_seen = now;
			e->state_since = r->state == SOCK_TIME_WAIT ? time_wait_since(r, now) : now;
			e->lower_bound = 0;
			if (!prev || prev->resumed)
				e->lower_bound = SNAP_LB_FIRST |
						 (e->state_since < now ? 0 : SNAP_LB_STATE);
			if (r->state == SOCK_TIME_WAIT)
				e->first_seen = e->state_since;
			summarise(s, e);
			if (ops && ops->appeared && (err = ops->appeared(arg, e)) < 0)
				goto fail;
			continue;
		}
		cur = (size_t)(old - prev->socks) + 1;
		map[cur - 1] = (uint32_t)(kept + 1);
		s->from[kept] = (uint32_t)cur;
		kept++;
		e->row_id = old->row_id;
		e->first_seen = old->first_seen;
		e->state_since = old->state_since;
		e->lower_bound = old->lower_bound;
		if (old->r.state != r->state) {
			e->lower_bound &= (uint8_t)~SNAP_LB_STATE;
			e->state_since = r->state == SOCK_TIME_WAIT ? time_wait_since(r, now) : now;
			if (e->state_since < old->state_since)
				e->state_since = old->state_since;
			summarise(s, e);
			if (ops && ops->changed && (err = ops->changed(arg, e, old->r.state)) < 0)
				goto fail;
			continue;
		}
		summarise(s, e);
	}
	s->n = kept;
	for (size_t i = 0; map && i < prev->n; i++) {
		if (map[i] || !ops || !ops->vanished)
			continue;
		err = ops->vanished(arg, &prev->socks[i]);
		if (err < 0)
			goto fail;
	}
	if (patch) {
		err = index_patch(s, prev, map);
		if (err < 0)
			goto fail;
	}
	big_free(map, map_mapped);
	free(fresh.v);
	*out = s;
	return 0;
fail:
	big_free(map, map_mapped);
	free(fresh.v);
	snap_put(s);
	return err;
}
