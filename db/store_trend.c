/* store_trend.c - the trend engine: index ranges bucketed in C, groups ranked, points emitted. */
#include <errno.h>
#include <stdlib.h>

#include "store_impl.h"

/* Later than any unix time we store, and far from where int64 bucket arithmetic overflows. */
#define STORE_TIME_MAX 9e15

/* The bits of state_mask that name a state. */
#define STATE_MASK_VALID (((1u << SOCK_STATE_MAX) - 1) & ~1u)

/* A finished bucket of one series, kept until the read transaction is over. */
struct trend_point {
	uint32_t series; /* state, or rank * SOCK_STATE_MAX + state for a group */
	int64_t bucket;  /* t / step */
	double sum;
	int64_t n, max;
};

/* The bucket being filled for one series. */
struct trend_acc {
	int open, flushed;
	int64_t bucket, last; /* last: the bucket flushed before */
	double sum;
	int64_t n, max;
};

struct trend {
	int64_t step;
	uint32_t max_points;
	struct trend_point *v;
	size_t n, cap;
	int disordered; /* a series' bucket went backwards: sort and merge before emitting */
};

static int trend_flush(struct trend *tr, struct trend_acc *a, uint32_t series)
{
	if (!a->open)
		return 0;
	a->open = 0;
	if (a->flushed && a->bucket <= a->last)
		tr->disordered = 1;
	a->flushed = 1;
	a->last = a->bucket;
	if (tr->n >= tr->max_points)
		return -E2BIG;
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 256;
		struct trend_point *v = realloc(tr->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		tr->v = v;
		tr->cap = cap;
	}
	tr->v[tr->n++] = (struct trend_point){ series, a->bucket, a->sum, a->n, a->max };
	return 0;
}

/*
 * Adds a row (a raw value, or a rollup's sum, n and max) to its series.  Rows come in the
 * order of the index, which is time order, so a series' bucket only moves forward and a
 * new bucket finishes the last one.  (Were the order ever different, trend_emit() still
 * sorts and merges: slower, never wrong.)
 */
static int trend_add(struct trend *tr, struct trend_acc *a, uint32_t series, int64_t bucket,
		     double sum, int64_t n, int64_t max)
{
	int err;

	if (a->open && a->bucket != bucket) {
		err = trend_flush(tr, a, series);
		if (err < 0)
			return err;
	}
	if (!a->open) {
		a->open = 1;
		a->bucket = bucket;
		a->sum = 0;
		a->n = 0;
		a->max = max;
	} else if (max > a->max) {
		a->max = max;
	}
	a->sum += sum;
	a->n += n;
	return 0;
}

static int point_bucket_cmp(const void *pa, const void *pb)
{
	const struct trend_point *a = pa, *b = pb;

	return (a->bucket > b->bucket) - (a->bucket < b->bucket);
}

/* Sorts each series' run of points by bucket and folds repeated buckets together. */
static size_t trend_merge(struct trend_point *v, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && v[j].series == v[i].series)
			j++;
		qsort(v + i, j - i, sizeof(*v), point_bucket_cmp);
		for (size_t k = i; k < j; k++) {
			if (out > 0 && v[out - 1].series == v[k].series &&
			    v[out - 1].bucket == v[k].bucket) {
				v[out - 1].sum += v[k].sum;
				v[out - 1].n += v[k].n;
				if (v[k].max > v[out - 1].max)
					v[out - 1].max = v[k].max;
			} else {
				v[out++] = v[k];
			}
		}
		i = j;
	}
	return out;
}

/*
 * Hands the points out in order of series, then t.  Each series' points were appended in
 * time order, so a stable counting sort by series is the whole ordering: O(n), where a
 * qsort cost ~10 ms for a week of minutes.  names[rank] is a group's key, NULL for host.
 */
static int trend_emit(struct trend *tr, uint32_t nseries, char *const *names, store_point_cb cb,
		      void *arg)
{
	struct trend_point *sorted = NULL;
	size_t *start = NULL, n = tr->n;
	int err = 0;

	if (n == 0)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	start = calloc((size_t)nseries + 1, sizeof(*start));
	if (!sorted || !start) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		start[tr->v[i].series + 1]++;
	for (uint32_t i = 0; i < nseries; i++)
		start[i + 1] += start[i];
	for (size_t i = 0; i < n; i++)
		sorted[start[tr->v[i].series]++] = tr->v[i];
	if (tr->disordered)
		n = trend_merge(sorted, n);
	for (size_t i = 0; i < n; i++) {
		const struct trend_point *p = &sorted[i];
		int state = (int)(p->series % SOCK_STATE_MAX);
		const char *grp = names ? names[p->series / SOCK_STATE_MAX] : NULL;

		double mean = p->n > 0 ? p->sum / (double)p->n : 0;

		err = cb(arg, state, grp, p->bucket * tr->step, mean, p->max);
		if (err)
			break;
	}
out:
	free(sorted);
	free(start);
	return err;
}

/*
 * Arguments both trends share.  A step that is not a whole number of res buckets is
 * allowed (the API passes the user's step through): each rollup bucket then counts wholly
 * in the step bucket that holds its start, so edges are off by up to res - 1 seconds.
 */
static int trend_args_ok(int res, uint32_t state_mask, int64_t step)
{
	if (res != STORE_RES_RAW && !store_valid_res(res))
		return 0;
	if (step < 1 || step < res)
		return 0;
	return (state_mask & ~STATE_MASK_VALID) == 0;
}

/* One group met in the range: its largest max per state, and its rank once ranked. */
struct group_ent {
	char *grp;
	size_t len;
	uint32_t hash;
	uint32_t seen; /* bit 1 << state: the state had rows */
	int64_t max[SOCK_STATE_MAX];
	int64_t score;
	int64_t rank; /* -1: outside the top */
};

/* Open addressing, cap a power of two kept at least twice n. */
struct group_map {
	struct group_ent *v;
	size_t n, cap;
};

/* What lingerd_rows() does with each row of the query running now. */
enum trend_mode {
	TM_RAW,         /* (taken_at, count of state 1, ..., count of state 11) */
	TM_ROLLUP,      /* (t, state, sum, n, max) */
	TM_GROUP_RANK,  /* (t, state, grp, sum, n, max): largest max per group and state */
	TM_GROUP_POINT, /* the same rows: points of the ranked groups */
	TM_NETNS,       /* (t, state, sum, n, max) of one namespace, every state */
};

struct trend_run {
	enum trend_mode mode;
	uint32_t state_mask;
	struct trend *tr;
	struct trend_acc *acc; /* one per series */
	struct group_map *groups;
	int err;
	/* TM_NETNS: the rollup bucket being read, its n, and the states it had rows of */
	int have_cur;
	int64_t cur_t, cur_n;
	uint32_t cur_seen;
};

static uint32_t group_hash(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static struct group_ent *group_find(struct group_map *m, const unsigned char *p, size_t len,
				    uint32_t h)
{
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct group_ent *e = &m->v[i];

		if (!e->grp)
			return e; /* the empty slot where it would go */
		if (e->hash == h && e->len == len && memcmp(e->grp, p, len) == 0)
			return e;
	}
}

static int group_grow(struct group_map *m)
{
	struct group_map bigger = { .cap = m->cap ? m->cap * 2 : 64 };

	bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
	if (!bigger.v)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].grp)
			*group_find(&bigger, (const unsigned char *)m->v[i].grp, m->v[i].len,
				    m->v[i].hash) = m->v[i];
	bigger.n = m->n;
	free(m->v);
	*m = bigger;
	return 0;
}

/* The entry of a group, added when absent (add 0: NULL when absent). */
static int group_get(struct group_map *m, const unsigned char *p, size_t len, int add,
		     struct group_ent **out)
{
	uint32_t h = group_hash(p, len);
	struct group_ent *e;
	int err;

	*out = NULL;
	if (!m->cap) {
		if (!add)
			return 0;
		err = group_grow(m);
		if (err < 0)
			return err;
	}
	e = group_find(m, p, len, h);
	if (e->grp || !add) {
		*out = e->grp ? e : NULL;
		return 0;
	}
	if (m->n >= STORE_TREND_GROUPS_MAX)
		return -EOVERFLOW; /* the caller ranks in SQL instead */
	if ((m->n + 1) * 2 > m->cap) {
		err = group_grow(m);
		if (err < 0)
			return err;
		e = group_find(m, p, len, h);
	}
	e->grp = malloc(len + 1);
	if (!e->grp)
		return -ENOMEM;
	memcpy(e->grp, p, len);
	e->grp[len] = '\0';
	e->len = len;
	e->hash = h;
	e->rank = -1;
	m->n++;
	*out = e;
	return 0;
}

static void group_free(struct group_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].grp);
	free(m->v);
}

/* Larger score first; equal scores in key order, so the ranking is stable across calls. */
static int group_rank_cmp(const void *pa, const void *pb)
{
	const struct group_ent *a = *(const struct group_ent *const *)pa;
	const struct group_ent *b = *(const struct group_ent *const *)pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	c = memcmp(a->grp, b->grp, n);
	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

/*
 * One raw row: every state asked for is bucketed in the same pass (the count columns come
 * from the whitelist STATE_COLS, never from the request).  Rows before 1970 or absurdly
 * far ahead are not points.
 */
static int rows_raw(struct trend_run *run, sqlite3_value **v)
{
	double t = sqlite3_value_double(v[0]);
	int64_t bucket;
	int err = 0;

	if (!(t >= 0 && t <= STORE_TIME_MAX))
		return 0;
	bucket = (int64_t)(t / (double)run->tr->step); /* t >= 0: truncation is floor */
	for (uint32_t i = 1; i < SOCK_STATE_MAX && !err; i++) {
		int64_t x;

		if (!(run->state_mask & (1u << i)))
			continue;
		x = sqlite3_value_int64(v[i]);
		err = trend_add(run->tr, &run->acc[i], i, bucket, (double)x, 1, x);
	}
	return err;
}

/* One rollup row: a bucket's mean is SUM(sum) / SUM(n), its max MAX(max). */
static int rows_rollup(struct trend_run *run, sqlite3_value **v)
{
	int64_t t = sqlite3_value_int64(v[0]);
	int state = sqlite3_value_int(v[1]);

	if (t < 0 || state <= 0 || state >= SOCK_STATE_MAX)
		return 0; /* not a row store_rollup_put() writes */
	return trend_add(run->tr, &run->acc[state], (uint32_t)state, t / run->tr->step,
			 sqlite3_value_double(v[2]), sqlite3_value_int64(v[3]),
			 sqlite3_value_int64(v[4]));
}

/* The states asked for that had no row in the namespace's bucket just read: 0 there. */
static int netns_fill(struct trend_run *run)
{
	int err = 0;

	if (!run->have_cur)
		return 0;
	for (uint32_t st = 1; st < SOCK_STATE_MAX && !err; st++)
		if ((run->state_mask & (1u << st)) && !(run->cur_seen & (1u << st)))
			err = trend_add(run->tr, &run->acc[st], st, run->cur_t / run->tr->step, 0,
					run->cur_n, 0);
	run->have_cur = 0;
	run->cur_seen = 0;
	return err;
}

/* One rollup row of a namespace: rows_rollup(), and a 0 for its absent states. */
static int rows_netns(struct trend_run *run, sqlite3_value **v)
{
	int64_t t = sqlite3_value_int64(v[0]), n = sqlite3_value_int64(v[3]);
	int state = sqlite3_value_int(v[1]), err;

	if (t < 0 || state <= 0 || state >= SOCK_STATE_MAX || n < 1)
		return 0;
	if (run->have_cur && t != run->cur_t) {
		err = netns_fill(run);
		if (err < 0)
			return err;
	}
	if (!run->have_cur) {
		run->have_cur = 1;
		run->cur_t = t;
		run->cur_n = n; /* every row of a bucket has its snapshot count */
	}
	run->cur_seen |= 1u << state;
	if (!(run->state_mask & (1u << state)))
		return 0;
	return trend_add(run->tr, &run->acc[state], (uint32_t)state, t / run->tr->step,
			 sqlite3_value_double(v[2]), n, sqlite3_value_int64(v[4]));
}

/* One group row, for the ranking or for the points of the ranked groups. */
static int rows_group(struct trend_run *run, sqlite3_value **v)
{
	int64_t t = sqlite3_value_int64(v[0]), max = sqlite3_value_int64(v[5]);
	int state = sqlite3_value_int(v[1]), add = run->mode == TM_GROUP_RANK;
	const unsigned char *grp = sqlite3_value_text(v[2]);
	struct group_ent *e;
	uint32_t series;
	int err;

	if (t < 0 || state <= 0 || state >= SOCK_STATE_MAX)
		return 0;
	if (!grp)
		return sqlite3_value_type(v[2]) == SQLITE_NULL ? 0 : -ENOMEM;
	err = group_get(run->groups, grp, (size_t)sqlite3_value_bytes(v[2]), add, &e);
	if (err < 0 || !e)
		return err;
	if (add) {
		if (!(e->seen & (1u << state)) || max > e->max[state])
			e->max[state] = max;
		e->seen |= 1u << state;
		return 0;
	}
	if (e->rank < 0)
		return 0; /* outside the top */
	series = (uint32_t)e->rank * SOCK_STATE_MAX + (uint32_t)state;
	return trend_add(run->tr, &run->acc[series], series, t / run->tr->step,
			 sqlite3_value_double(v[3]), sqlite3_value_int64(v[4]), max);
}

/*
 * lingerd_rows(...): an aggregate that feeds each row of a trend query straight into the
 * running trend.  Rows handed back to C one sqlite3_step() at a time cost ~20 ms for a
 * week of minute rollups of 11 states (110880 rows); consumed inside the VM, ~13 ms.  The
 * function exists only on readers' connections, with SQLITE_DIRECTONLY so that no view
 * or trigger in a file can call it.
 */
static void rows_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct store_reader *r = sqlite3_user_data(ctx);
	struct trend_run *run = r->run;
	int err;

	if (!run || run->err)
		return;
	switch (run->mode) {
	case TM_RAW:
		err = argc == 1 + SOCK_STATE_MAX - 1 ? rows_raw(run, argv) : -EINVAL;
		break;
	case TM_ROLLUP:
		err = argc == 5 ? rows_rollup(run, argv) : -EINVAL;
		break;
	case TM_NETNS:
		err = argc == 5 ? rows_netns(run, argv) : -EINVAL;
		break;
	default:
		err = argc == 6 ? rows_group(run, argv) : -EINVAL;
		break;
	}
	if (err < 0) {
		/* Stops the statement at once: no point in reading the rest of the range. */
		run->err = err;
		sqlite3_result_error_code(ctx, SQLITE_ABORT);
	}
}

static void rows_final(sqlite3_context *ctx)
{
	sqlite3_result_null(ctx);
}

int store_trend_register(struct store_reader *r)
{
	int rc = sqlite3_create_function_v2(r->db, "lingerd_rows", -1,
					    SQLITE_UTF8 | SQLITE_DIRECTONLY, r, NULL, rows_step,
					    rows_final, NULL);

	return rc == SQLITE_OK ? 0 : store_err(rc);
}

/* Runs one lingerd_rows() query to its end with run as the trend being fed. */
static int trend_query(struct store_reader *r, sqlite3_stmt *st, struct trend_run *run)
{
	int rc;

	r->run = run;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	r->run = NULL;
	if (run->err)
		return run->err;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_reader_trend(struct store_reader *r, int res, uint32_t state_mask, double from, double to,
		       int64_t step, uint32_t max_points, store_point_cb cb, void *arg)
{
	struct trend tr = { .step = step, .max_points = max_points };
	struct trend_acc acc[SOCK_STATE_MAX];
	struct trend_run run = { .state_mask = state_mask, .tr = &tr, .acc = acc };
	sqlite3_stmt *st;
	int err;

	if (!r || !cb || !trend_args_ok(res, state_mask, step))
		return -EINVAL;
	if (state_mask == 0)
		return 0;
	memset(acc, 0, sizeof(acc));
	if (res == STORE_RES_RAW) {
		run.mode = TM_RAW;
		st = r->st[RS_TREND_RAW];
		sqlite3_bind_double(st, 1, from);
		sqlite3_bind_double(st, 2, to);
	} else {
		run.mode = TM_ROLLUP;
		st = r->st[RS_TREND_ROLLUP];
		sqlite3_bind_int(st, 1, res);
		sqlite3_bind_double(st, 2, from);
		sqlite3_bind_double(st, 3, to);
		sqlite3_bind_int64(st, 4, state_mask);
	}
	err = trend_query(r, st, &run);
	for (uint32_t i = 1; i < SOCK_STATE_MAX && !err; i++)
		err = trend_flush(&tr, &acc[i], i);
	if (!err)
		err = trend_emit(&tr, SOCK_STATE_MAX, NULL, cb, arg);
	free(tr.v);
	return err;
}

int store_reader_netns_trend(struct store_reader *r, const char *name, int res, uint32_t state_mask,
			     double from, double to, int64_t step, uint32_t max_points,
			     store_point_cb cb, void *arg)
{
	struct trend tr = { .step = step, .max_points = max_points };
	struct trend_acc acc[SOCK_STATE_MAX];
	struct trend_run run = { .state_mask = state_mask, .tr = &tr, .acc = acc };
	sqlite3_stmt *st;
	int err;

	if (!r || !cb || !name || !trend_args_ok(res, state_mask, step))
		return -EINVAL;
	if (state_mask == 0)
		return 0;
	memset(acc, 0, sizeof(acc));
	if (res == STORE_RES_RAW) {
		run.mode = TM_RAW;
		st = r->st[RS_NETNS_RAW];
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_double(st, 2, from);
		sqlite3_bind_double(st, 3, to);
	} else {
		run.mode = TM_NETNS;
		st = r->st[RS_NETNS_ROLLUP];
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, res);
		sqlite3_bind_double(st, 3, from);
		sqlite3_bind_double(st, 4, to);
	}
	err = trend_query(r, st, &run);
	if (!err && run.mode == TM_NETNS)
		err = netns_fill(&run);
	for (uint32_t i = 1; i < SOCK_STATE_MAX && !err; i++)
		err = trend_flush(&tr, &acc[i], i);
	if (!err)
		err = trend_emit(&tr, SOCK_STATE_MAX, NULL, cb, arg);
	free(tr.v);
	return err;
}

static int point_cmp(const void *pa, const void *pb)
{
	const struct trend_point *a = pa, *b = pb;

	if (a->series != b->series)
		return a->series < b->series ? -1 : 1;
	return (a->bucket > b->bucket) - (a->bucket < b->bucket);
}

/* Appends p to the growing array out[0 .. *n), at most max points.  0, -E2BIG, -ENOMEM. */
static int point_push(struct trend_point **out, size_t *n, size_t *cap, size_t max,
		      struct trend_point p)
{
	if (*n >= max)
		return -E2BIG;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		struct trend_point *v = realloc(*out, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		*out = v;
		*cap = c;
	}
	(*out)[(*n)++] = p;
	return 0;
}

/*
 * A group's mean counts the snapshots it was not in as 0: each of its series gets a point
 * in every bucket the host has snapshots in (0 where the group had no row: no row is
 * written for a minute it was absent from or 0 in), and each mean divides by the host's
 * snapshot count of the bucket, not by the minutes the group had rows in.  host: the
 * host's buckets (one state's rollups, whose n is the snapshot count).
 */
static int group_fill_zeros(struct trend *tr, struct trend *host)
{
	struct trend_point *out = NULL;
	size_t n = 0, cap = 0, i = 0;
	int err = 0;

	if (!tr->n)
		return 0;
	if (host->n) {
		qsort(host->v, host->n, sizeof(*host->v), point_cmp);
		host->n = trend_merge(host->v, host->n);
	}
	qsort(tr->v, tr->n, sizeof(*tr->v), point_cmp);
	tr->n = trend_merge(tr->v, tr->n);
	while (i < tr->n && !err) {
		uint32_t series = tr->v[i].series;
		size_t h = 0;

		/* The series' points and the host's buckets, both in bucket order, merged. */
		while (!err && (h < host->n || (i < tr->n && tr->v[i].series == series))) {
			int mine = i < tr->n && tr->v[i].series == series;
			struct trend_point p;

			if (mine && (h == host->n || tr->v[i].bucket <= host->v[h].bucket)) {
				p = tr->v[i++];
				if (h < host->n && host->v[h].bucket == p.bucket)
					p.n = host->v[h++].n;
			} else {
				p = (struct trend_point){ series, host->v[h].bucket, 0,
							  host->v[h].n, 0 };
				h++;
			}
			err = point_push(&out, &n, &cap, tr->max_points, p);
		}
	}
	if (err < 0) {
		free(out);
		return err;
	}
	free(tr->v);
	tr->v = out;
	tr->n = n;
	tr->cap = cap;
	tr->disordered = 0;
	return 0;
}

/* The host's buckets of [from, to] in steps of host->step, with their snapshot counts. */
static int host_buckets(struct store_reader *r, int res, double from, double to, struct trend *host)
{
	struct trend_acc acc[SOCK_STATE_MAX];
	struct trend_run run = {
		.mode = TM_ROLLUP, .state_mask = 1u << SOCK_ESTABLISHED, .tr = host, .acc = acc
	};
	sqlite3_stmt *st = r->st[RS_TREND_ROLLUP];
	int err;

	memset(acc, 0, sizeof(acc));
	sqlite3_bind_int(st, 1, res);
	sqlite3_bind_double(st, 2, from);
	sqlite3_bind_double(st, 3, to);
	sqlite3_bind_int64(st, 4, run.state_mask);
	err = trend_query(r, st, &run);
	if (!err)
		err = trend_flush(host, &acc[SOCK_ESTABLISHED], SOCK_ESTABLISHED);
	return err;
}

/* Ranks the groups of pass 1 in memory: ranked[0 .. *n) best first. */
static int group_rank_map(struct group_map *m, struct group_ent ***ranked, size_t *n)
{
	struct group_ent **v = malloc((m->n ? m->n : 1) * sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		struct group_ent *e = &m->v[i];

		if (!e->grp)
			continue;
		for (int st = 1; st < SOCK_STATE_MAX; st++)
			if (e->seen & (1u << st))
				e->score += e->max[st];
		v[k++] = e;
	}
	qsort(v, k, sizeof(*v), group_rank_cmp);
	*ranked = v;
	*n = k;
	return 0;
}

/*
 * Ranks in SQL when the range holds more groups than memory should: the map is emptied
 * and refilled with the top groups only, ranked[0 .. *n) best first.
 */
static int group_rank_sql(struct store_reader *r, struct group_map *m, int res, int kind,
			  uint32_t state_mask, double from, double to, uint32_t top,
			  struct group_ent ***ranked, size_t *n)
{
	sqlite3_stmt *st = r->st[RS_GROUP_RANK];
	struct group_ent **v = NULL;
	size_t k = 0;
	int rc = SQLITE_DONE, err = 0;

	/* More than the map holds would be more than memory should, here as in pass 1. */
	if (top > STORE_TREND_GROUPS_MAX)
		top = STORE_TREND_GROUPS_MAX;
	group_free(m);
	memset(m, 0, sizeof(*m));
	sqlite3_bind_int(st, 1, res);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_double(st, 3, from);
	sqlite3_bind_double(st, 4, to);
	sqlite3_bind_int64(st, 5, state_mask);
	sqlite3_bind_int64(st, 6, top);
	v = malloc((size_t)top * sizeof(*v));
	if (!v)
		err = -ENOMEM;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *grp = sqlite3_column_text(st, 0);
		struct group_ent *e = NULL;

		if (!grp || k >= top)
			continue;
		err = group_get(m, grp, (size_t)sqlite3_column_bytes(st, 0), 1, &e);
		if (err < 0)
			break;
		e->score = sqlite3_column_int64(st, 1);
		v[k++] = e;
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_reset(st);
	if (err < 0) {
		free(v);
		return err;
	}
	*ranked = v;
	*n = k;
	return 0;
}

/*
 * Two passes over the same index range in one read transaction: one ranks the groups (a
 * hash of group -> max per state; a GROUP BY would sort every row), one buckets the
 * points of the top groups.  Memory: the distinct groups of the range (bounded, see
 * STORE_TREND_GROUPS_MAX), and the points.
 */
int store_reader_group_trend(struct store_reader *r, int res, int kind, uint32_t state_mask,
			     double from, double to, int64_t step, uint32_t top,
			     uint32_t max_points, store_point_cb cb, void *arg)
{
	struct trend tr = { .step = step, .max_points = max_points };
	struct trend host = { .step = step, .max_points = max_points };
	struct group_map m = { 0 };
	struct trend_run run = {
		.mode = TM_GROUP_RANK, .state_mask = state_mask, .tr = &tr, .groups = &m
	};
	struct group_ent **ranked = NULL;
	sqlite3_stmt *st = NULL;
	char **names = NULL;
	size_t n = 0, ntop;
	int err;

	if (!r || !cb || !store_valid_res(res) || !trend_args_ok(res, state_mask, step) ||
	    (kind != GROUP_LOCAL_PORT && kind != GROUP_PROCESS))
		return -EINVAL;
	if (top == 0 || state_mask == 0)
		return 0;
	err = store_reader_txn_begin(r);
	if (err < 0)
		return err;
	st = r->st[RS_GROUP_ROWS];
	sqlite3_bind_int(st, 1, res);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_double(st, 3, from);
	sqlite3_bind_double(st, 4, to);
	sqlite3_bind_int64(st, 5, state_mask);
	err = trend_query(r, st, &run);
	if (err == -EOVERFLOW)
		err = group_rank_sql(r, &m, res, kind, state_mask, from, to, top, &ranked, &n);
	else if (err == 0)
		err = group_rank_map(&m, &ranked, &n);
	if (err < 0 || n == 0)
		goto out;
	ntop = n < top ? n : top;
	names = malloc(ntop * sizeof(*names));
	run.acc = calloc(ntop * SOCK_STATE_MAX, sizeof(*run.acc));
	if (!names || !run.acc) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ntop; i++) {
		ranked[i]->rank = (int64_t)i;
		names[i] = ranked[i]->grp;
	}
	run.mode = TM_GROUP_POINT;
	run.err = 0;
	err = trend_query(r, st, &run);
	if (!err)
		err = host_buckets(r, res, from, to, &host);
	store_reader_txn_end(r);
	for (size_t i = 0; i < ntop * SOCK_STATE_MAX && !err; i++)
		err = trend_flush(&tr, &run.acc[i], (uint32_t)i);
	if (!err)
		err = group_fill_zeros(&tr, &host);
	if (!err)
		err = trend_emit(&tr, (uint32_t)(ntop * SOCK_STATE_MAX), names, cb, arg);
out:
	store_reader_txn_end(r);
	free(tr.v);
	free(host.v);
	free(run.acc);
	free(names);
	free(ranked);
	group_free(&m);
	return err;
}
