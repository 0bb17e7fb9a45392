/* test_store_trend.c - the trend engine: exact points, ranked groups, namespaces, speed. */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "store_fixture.h"

/*
 * Per-namespace rows and rollups written through the store: exact points, rows that go
 * with a rolled-back snapshot, retention of both, and misuse.
 */
static void test_netns_trend(void)
{
	const char *path = tmp_path("netns.db");
	uint32_t cw = 1u << SOCK_CLOSE_WAIT, lst = 1u << SOCK_LISTEN;
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct points p = { 0 };
	char big[300];
	int64_t deleted = 0;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	/* Snapshots at 1000 + 10 i: ns-a holds i CLOSE_WAIT, ns-b 5 LISTEN until 1030. */
	for (int i = 0; i < 9; i++) {
		struct store_snapshot snap = make_snap(1000 + 10 * i, (uint32_t)i);
		uint32_t a[SOCK_STATE_MAX] = { 0 }, b[SOCK_STATE_MAX] = { 0 };
		int64_t id = 0;

		a[SOCK_CLOSE_WAIT] = (uint32_t)i;
		b[SOCK_LISTEN] = 5;
		CHECK_INT(store_netns_put(s, 1, snap.taken_at, "ns-a", a), ==, -EINVAL); /* outside */
		CHECK_INT(store_begin(s, &snap, &id), ==, 0);
		CHECK_INT(store_netns_put(s, id, snap.taken_at, "ns-a", a), ==, 0);
		if (snap.taken_at <= 1030)
			CHECK_INT(store_netns_put(s, id, snap.taken_at, "ns-b", b), ==, 0);
		CHECK_INT(store_netns_put(s, id, snap.taken_at, "", a), ==, -EINVAL);
		CHECK_INT(store_netns_put(s, id, snap.taken_at, NULL, a), ==, -EINVAL);
		CHECK_INT(store_netns_put(s, id, snap.taken_at, big, a), ==, -EINVAL);
		CHECK_INT(store_netns_put(s, id, NAN, "ns-a", a), ==, -EINVAL);
		CHECK_INT(store_commit(s), ==, 0);
	}
	{
		/* A rolled-back snapshot leaves no namespace row behind. */
		struct store_snapshot snap = make_snap(1095, 99);
		uint32_t a[SOCK_STATE_MAX] = { 0 };
		int64_t id = 0;

		a[SOCK_CLOSE_WAIT] = 1000;
		CHECK_INT(store_begin(s, &snap, &id), ==, 0);
		CHECK_INT(store_netns_put(s, id, snap.taken_at, "ns-a", a), ==, 0);
		store_rollback(s);
	}
	/* Minute rollups of ns-a, written by hand: 960 (2 snapshots, no CLOSE_WAIT), 1020 (6). */
	{
		struct store_snapshot snap = make_snap(1100, 100);

		CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
		CHECK_INT(store_rollup_put(s, &(struct store_rollup){ STORE_RES_MINUTE, 960,
								       SOCK_ESTABLISHED,
								       GROUP_NETNS, "ns-a", 0,
								       0, 0, 0, 2 }),
			  ==, 0);
		CHECK_INT(store_rollup_put(s, &(struct store_rollup){ STORE_RES_MINUTE, 1020,
								       SOCK_ESTABLISHED,
								       GROUP_NETNS, "ns-a", 0,
								       0, 0, 0, 6 }),
			  ==, 0);
		CHECK_INT(store_rollup_put(s, &(struct store_rollup){ STORE_RES_MINUTE, 1020,
								       SOCK_CLOSE_WAIT,
								       GROUP_NETNS, "ns-a", 0,
								       7, 7, 21, 6 }),
			  ==, 0);
		/* A process group of the same name is not the namespace. */
		CHECK_INT(store_rollup_put(s, &(struct store_rollup){ STORE_RES_MINUTE, 1080,
								       SOCK_CLOSE_WAIT,
								       GROUP_PROCESS, "ns-a", 9,
								       9, 9, 1, 9 }),
			  ==, 0);
		CHECK_INT(store_commit(s), ==, 0);
	}
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		goto out;
	CHECK_INT(store_reader_netns_trend(r, "ns-a", STORE_RES_RAW, cw, 1000, 1080, 10, 100,
					   collect_point, &p),
		  ==, 0);
	CHECK_INT(p.n, ==, 9);
	for (size_t i = 0; i < p.n; i++)
		CHECK(p.v[i].t == 1000 + 10 * (int64_t)i && p.v[i].mean == (double)i &&
		      p.v[i].max == (int64_t)i && p.v[i].state == SOCK_CLOSE_WAIT);
	/* 30 s steps: [990, 1020) holds 0 and 1, [1050, 1080) 5, 6, 7, and 1080 holds 8 alone. */
	p.n = 0;
	CHECK_INT(store_reader_netns_trend(r, "ns-a", STORE_RES_RAW, cw, 990, 2000, 30, 100,
					   collect_point, &p),
		  ==, 0);
	CHECK_INT(p.n, ==, 4);
	if (p.n == 4)
		CHECK(p.v[0].t == 990 && p.v[0].mean == 0.5 && p.v[0].max == 1 &&
		      p.v[2].t == 1050 && p.v[2].mean == 6 && p.v[2].max == 7 && p.v[3].t == 1080 &&
		      p.v[3].mean == 8 && p.v[3].max == 8);
	/* ns-b stopped at 1030: its LISTEN points end there. */
	p.n = 0;
	CHECK_INT(store_reader_netns_trend(r, "ns-b", STORE_RES_RAW, lst | cw, 0, 2e9, 10, 100,
					   collect_point, &p),
		  ==, 0);
	CHECK_INT(p.n, ==, 8);
	if (p.n == 8)
		CHECK(p.v[0].state == SOCK_CLOSE_WAIT && p.v[0].max == 0 &&
		      p.v[4].state == SOCK_LISTEN && p.v[4].max == 5 && p.v[7].t == 1030);
	/* Minutes: 960 (2 snapshots, CLOSE_WAIT absent = 0) and 1020; the process row is not it. */
	p.n = 0;
	CHECK_INT(store_reader_netns_trend(r, "ns-a", STORE_RES_MINUTE, cw, 0, 2e9, 60, 100,
					   collect_point, &p),
		  ==, 0);
	CHECK_INT(p.n, ==, 2);
	if (p.n == 2)
		CHECK(p.v[0].t == 960 && p.v[0].mean == 0 && p.v[0].max == 0 && p.v[1].t == 1020 &&
		      p.v[1].mean == 3.5 && p.v[1].max == 7);
	/* One 120 s step over both: (0 * 2 + 21) / 8 snapshots. */
	p.n = 0;
	CHECK_INT(store_reader_netns_trend(r, "ns-a", STORE_RES_MINUTE, cw, 0, 2e9, 120, 100,
					   collect_point, &p),
		  ==, 0);
	CHECK(p.n == 1 && p.v[0].t == 960 && p.v[0].mean == 21.0 / 8 && p.v[0].max == 7);
	/* Too many points, bad arguments. */
	p.n = 0;
	CHECK_INT(store_reader_netns_trend(r, "ns-a", STORE_RES_RAW, cw, 0, 2e9, 10, 3,
					   collect_point, &p),
		  ==, -E2BIG);
	CHECK_INT(store_reader_netns_trend(r, NULL, STORE_RES_RAW, cw, 0, 2e9, 10, 3,
					   collect_point, &p),
		  ==, -EINVAL);
	CHECK_INT(store_reader_netns_trend(r, "ns-a", STORE_RES_MINUTE, cw, 0, 2e9, 10, 3,
					   collect_point, &p),
		  ==, -EINVAL); /* step below the resolution */
	CHECK_INT(store_reader_netns_known(r, "ns-b"), ==, 1);
	store_reader_close(r);
	r = NULL;

	/* Retention: rows before 1030 go with the raw data, rollups before 1000 with theirs. */
	CHECK_INT(store_retention(s, 1030, 1000, 0, 1000, &deleted), ==, 0);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM netns_snapshots WHERE taken_at < 1030"), ==, 0);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM netns_snapshots"), ==, 6 + 1);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM group_rollups WHERE kind = 3"), ==, 2);
	/* Bounded like the rest: one row a call. */
	CHECK_INT(store_retention(s, 2e9, 0, 0, 1, &deleted), ==, 0);
	CHECK_INT(deleted, ==, 1);
	CHECK_INT(store_retention(s, 2e9, 2e9, 2e9, 100000, &deleted), ==, 0);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM netns_snapshots"), ==, 0);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM group_rollups"), ==, 0);
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (r)
		CHECK_INT(store_reader_netns_known(r, "ns-a"), ==, 0);
	store_reader_close(r);
out:
	free(p.v);
	store_close(s);
}

/* A scripted series: a snapshot every 10 s for 2.5 h from TR_T0, with a 10 minute gap. */
#define TR_N 900
#define TR_MINUTES (TR_N * 10 / 60)
#define TR_HOURS 3

static int tr_present(int i)
{
	return i < 400 || i >= 460;
}

/* CLOSE_WAIT counts 0, 1, 2, ...; TIME_WAIT cycles through 0..6; ESTABLISHED stays 1000. */
static uint32_t tr_value(int i, int state)
{
	switch (state) {
	case SOCK_CLOSE_WAIT:
		return (uint32_t)i;
	case SOCK_TIME_WAIT:
		return (uint32_t)(i % 7);
	case SOCK_ESTABLISHED:
		return 1000;
	default:
		return 0;
	}
}

struct tr_acc {
	int64_t min, max, last, n;
	double sum;
};

static void tr_acc_add(struct tr_acc *a, int64_t v)
{
	if (a->n == 0 || v < a->min)
		a->min = v;
	if (a->n == 0 || v > a->max)
		a->max = v;
	a->sum += (double)v;
	a->n++;
	a->last = v;
}

/* Runs one trend and compares it with the expectation from samples. */
static void trend_case(struct store_reader *r, int res, uint32_t mask, double from, double to,
		       int64_t step, const struct samples *ss, const char *what)
{
	struct points got = { 0 }, want = { 0 };

	CHECK_INT(store_reader_trend(r, res, mask, from, to, step, 1000000, collect_point, &got), ==,
		  0);
	expect_points(ss, NULL, 0, mask, from, to, step, &want);
	check_points(&got, &want, what);
	CHECK(want.n > 0);
	free(got.v);
	free(want.v);
}

/* Trends give exact means and maxes at raw, minute and hour resolution, at several steps. */
static void test_trend_exact(void)
{
	const char *path = tmp_path("trend.db");
	static struct tr_acc minute[TR_MINUTES][SOCK_STATE_MAX], hour[TR_HOURS][SOCK_STATE_MAX];
	const uint32_t lingering = 1u << SOCK_CLOSE_WAIT | 1u << SOCK_TIME_WAIT;
	const uint32_t all = ((1u << SOCK_STATE_MAX) - 1) & ~1u;
	struct samples raw = { 0 }, rm = { 0 }, rh = { 0 };
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct points got = { 0 }, want = { 0 };
	const struct point *p;
	int err = 0;

	memset(minute, 0, sizeof(minute));
	memset(hour, 0, sizeof(hour));
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	for (int i = 0; i < TR_N && !err; i++) {
		uint32_t counts[SOCK_STATE_MAX] = { 0 };
		int64_t t = TR_T0 + 10 * i;
		struct store_snapshot snap = { .taken_at = (double)t, .source = "netlink" };

		if (!tr_present(i))
			continue;
		for (int st = 1; st < SOCK_STATE_MAX; st++) {
			counts[st] = tr_value(i, st);
			snap.counts[st] = counts[st];
			sample_add(&raw, t, st, NULL, counts[st], 1, counts[st]);
			tr_acc_add(&minute[(t - TR_T0) / 60][st], counts[st]);
			tr_acc_add(&hour[(t - TR_T0) / 3600][st], counts[st]);
		}
		err = store_begin(s, &snap, NULL);
		/* The rollups ride with the last snapshot, as the sampler's would. */
		for (int m = 0; i == TR_N - 1 && m < TR_MINUTES && !err; m++) {
			for (int st = 1; st < SOCK_STATE_MAX && !err; st++) {
				const struct tr_acc *a = &minute[m][st];
				struct store_rollup ru = { STORE_RES_MINUTE, TR_T0 + 60 * m, st, 0, NULL,
							   a->min, a->max, a->last, a->sum, a->n };

				if (!a->n)
					continue;
				err = store_rollup_put(s, &ru);
				sample_add(&rm, ru.t, st, NULL, a->sum, a->n, a->max);
			}
		}
		for (int h = 0; i == TR_N - 1 && h < TR_HOURS && !err; h++) {
			for (int st = 1; st < SOCK_STATE_MAX && !err; st++) {
				const struct tr_acc *a = &hour[h][st];
				struct store_rollup ru = { STORE_RES_HOUR, TR_T0 + 3600 * h, st, 0, NULL,
							   a->min, a->max, a->last, a->sum, a->n };

				err = store_rollup_put(s, &ru);
				sample_add(&rh, ru.t, st, NULL, a->sum, a->n, a->max);
			}
		}
		if (!err)
			err = store_commit(s);
	}
	CHECK_INT(err, ==, 0);
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		goto out;

	/* Raw at several steps, over everything and over a window. */
	trend_case(r, STORE_RES_RAW, all, 0, 2e9, 10, &raw, "raw step 10");
	trend_case(r, STORE_RES_RAW, all, 0, 2e9, 60, &raw, "raw step 60");
	trend_case(r, STORE_RES_RAW, lingering, 0, 2e9, 7, &raw, "raw step 7");
	trend_case(r, STORE_RES_RAW, lingering, 0, 2e9, 300, &raw, "raw step 300");
	trend_case(r, STORE_RES_RAW, all, 0, 2e9, 3600, &raw, "raw step 3600");
	trend_case(r, STORE_RES_RAW, lingering, TR_T0 + 605, TR_T0 + 1799.5, 60, &raw,
		   "raw window");
	/* Rollups at steps that are whole buckets, and at one that is not (90 s). */
	trend_case(r, STORE_RES_MINUTE, all, 0, 2e9, 60, &rm, "minute step 60");
	trend_case(r, STORE_RES_MINUTE, lingering, 0, 2e9, 300, &rm, "minute step 300");
	trend_case(r, STORE_RES_MINUTE, lingering, 0, 2e9, 3600, &rm, "minute step 3600");
	trend_case(r, STORE_RES_MINUTE, lingering, 0, 2e9, 90, &rm, "minute step 90");
	trend_case(r, STORE_RES_MINUTE, lingering, TR_T0 + 600, TR_T0 + 1799, 300, &rm,
		   "minute window");
	trend_case(r, STORE_RES_HOUR, all, 0, 2e9, 3600, &rh, "hour step 3600");
	trend_case(r, STORE_RES_HOUR, lingering, 0, 2e9, 7200, &rh, "hour step 7200");

	/* A rollup is the same numbers as the raw rows it summarises, at any whole step. */
	{
		static const struct {
			int res;
			int64_t step;
		} same[] = { { STORE_RES_MINUTE, 60 },  { STORE_RES_MINUTE, 300 },
			     { STORE_RES_MINUTE, 3600 }, { STORE_RES_HOUR, 3600 },
			     { STORE_RES_HOUR, 7200 } };

		for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
			char what[64];

			got.n = want.n = 0;
			snprintf(what, sizeof(what), "res %d = raw at step %lld", same[i].res,
				 (long long)same[i].step);
			CHECK_INT(store_reader_trend(r, same[i].res, all, 0, 2e9, same[i].step, 100000,
						     collect_point, &got),
				  ==, 0);
			CHECK_INT(store_reader_trend(r, STORE_RES_RAW, all, 0, 2e9, same[i].step,
						     100000, collect_point, &want),
				  ==, 0);
			check_points(&got, &want, what);
			got.n = want.n = 0;
		}
	}

	/* By hand, for the reader: CLOSE_WAIT is i, TIME_WAIT is i % 7. */
	got.n = 0;
	CHECK_INT(store_reader_trend(r, STORE_RES_RAW, lingering, 0, 2e9, 60, 100000, collect_point,
				     &got),
		  ==, 0);
	p = find_point(&got, SOCK_CLOSE_WAIT, NULL, TR_T0);
	CHECK(p && p->mean == 2.5 && p->max == 5); /* i = 0..5 */
	p = find_point(&got, SOCK_TIME_WAIT, NULL, TR_T0 + 60);
	CHECK(p && p->mean == (6 % 7 + 7 % 7 + 8 % 7 + 9 % 7 + 10 % 7 + 11 % 7) / 6.0 &&
	      p->max == 6);
	CHECK(find_point(&got, SOCK_CLOSE_WAIT, NULL, TR_T0 + 4200) == NULL); /* in the gap */
	/* Order: state, then t. */
	CHECK(got.n > 2 && got.v[0].state == SOCK_TIME_WAIT &&
	      got.v[got.n - 1].state == SOCK_CLOSE_WAIT);
	for (size_t i = 1; i < got.n; i++)
		CHECK(got.v[i - 1].state < got.v[i].state ||
		      (got.v[i - 1].state == got.v[i].state && got.v[i - 1].t < got.v[i].t));
	got.n = 0;
	CHECK_INT(store_reader_trend(r, STORE_RES_HOUR, 1u << SOCK_CLOSE_WAIT, 0, 2e9, 3600, 100,
				     collect_point, &got),
		  ==, 0);
	CHECK_INT(got.n, ==, 3);
	p = find_point(&got, SOCK_CLOSE_WAIT, NULL, TR_T0);
	CHECK(p && p->mean == 179.5 && p->max == 359);
	p = find_point(&got, SOCK_CLOSE_WAIT, NULL, TR_T0 + 3600);
	CHECK(p && p->mean == 561.5 && p->max == 719); /* 300 samples: the gap is in this hour */

	/* max_points is checked before any point is handed out. */
	got.n = 0;
	CHECK_INT(store_reader_trend(r, STORE_RES_HOUR, 1u << SOCK_CLOSE_WAIT, 0, 2e9, 3600, 2,
				     collect_point, &got),
		  ==, -E2BIG);
	CHECK_INT(got.n, ==, 0);
	CHECK_INT(store_reader_trend(r, STORE_RES_HOUR, 1u << SOCK_CLOSE_WAIT, 0, 2e9, 3600, 3,
				     collect_point, &got),
		  ==, 0);
	CHECK_INT(got.n, ==, 3);
	/* The callback stops the walk. */
	got.n = 0;
	got.stop_after = 2;
	CHECK_INT(store_reader_trend(r, STORE_RES_MINUTE, all, 0, 2e9, 60, 100000, collect_point,
				     &got),
		  ==, 9);
	CHECK_INT(got.n, ==, 2);
	got.stop_after = 0;
	/* Nothing asked, nothing in range. */
	got.n = 0;
	CHECK_INT(store_reader_trend(r, STORE_RES_RAW, 0, 0, 2e9, 60, 10, collect_point, &got), ==, 0);
	CHECK_INT(store_reader_trend(r, STORE_RES_MINUTE, all, 0, TR_T0 - 1, 60, 10, collect_point,
				     &got),
		  ==, 0);
	CHECK_INT(store_reader_trend(r, STORE_RES_MINUTE, all, 2e9, 0, 60, 10, collect_point, &got),
		  ==, 0);
	CHECK_INT(got.n, ==, 0);
	/* Refused arguments. */
	CHECK_INT(store_reader_trend(r, 30, all, 0, 2e9, 60, 10, collect_point, &got), ==, -EINVAL);
	CHECK_INT(store_reader_trend(r, STORE_RES_HOUR, all, 0, 2e9, 60, 10, collect_point, &got), ==,
		  -EINVAL);
	CHECK_INT(store_reader_trend(r, STORE_RES_RAW, all, 0, 2e9, 0, 10, collect_point, &got), ==,
		  -EINVAL);
	CHECK_INT(store_reader_trend(r, STORE_RES_RAW, 1, 0, 2e9, 60, 10, collect_point, &got), ==,
		  -EINVAL);
	CHECK_INT(store_reader_trend(r, STORE_RES_RAW, 1u << SOCK_STATE_MAX, 0, 2e9, 60, 10,
				     collect_point, &got),
		  ==, -EINVAL);
	CHECK_INT(store_reader_trend(r, STORE_RES_RAW, all, 0, 2e9, 60, 10, NULL, NULL), ==, -EINVAL);
	CHECK_INT(got.n, ==, 0);
	store_reader_close(r);
out:
	store_close(s);
	free(raw.v);
	free(rm.v);
	free(rh.v);
	free(got.v);
	free(want.v);
}

/* Runs a group trend and compares it with the expectation for the given ranking. */
static void group_case(struct store_reader *r, int res, int kind, uint32_t mask, double from,
		       double to, int64_t step, uint32_t top, const struct samples *ss,
		       const char *const *ranked, size_t nranked, const char *what)
{
	struct points got = { 0 }, want = { 0 };

	CHECK_INT(store_reader_group_trend(r, res, kind, mask, from, to, step, top, 100000,
					   collect_point, &got),
		  ==, 0);
	expect_points(ss, ranked, nranked, mask, from, to, step, &want);
	check_points(&got, &want, what);
	free(got.v);
	free(want.v);
}

/* Groups ranked by their largest max summed over the states asked, top N, then points. */
static void test_group_trend(void)
{
	const char *path = tmp_path("groups.db");
	const uint32_t cw = 1u << SOCK_CLOSE_WAIT, tw = 1u << SOCK_TIME_WAIT;
	struct samples ss = { 0 }, ports = { 0 };
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct store_snapshot snap = make_snap(TR_T0 + 600, 1);
	struct points got = { 0 };
	int err;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	err = store_begin(s, &snap, NULL);
	for (int m = 0; m < 10 && !err; m++) {
		int64_t t = TR_T0 + 60 * m;
		struct store_rollup rows[] = {
			/* alpha: CLOSE_WAIT, max 10 once (minute 3) */
			{ 60, t, SOCK_CLOSE_WAIT, 2, "alpha", 0, m == 3 ? 10 : 5, m, 6.0 * m, 6 },
			/* beta: 6 in both states: the largest sum over states */
			{ 60, t, SOCK_CLOSE_WAIT, 2, "beta", 6, 6, 6, 36, 6 },
			{ 60, t, SOCK_TIME_WAIT, 2, "beta", 0, 6, 1, 6.0 * m, 6 },
			/* delta: CLOSE_WAIT, max 10 once (minute 4), ties alpha */
			{ 60, t, SOCK_CLOSE_WAIT, 2, "delta", 0, m == 4 ? 10 : 2, 1, 3, 6 },
		};

		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && !err; i++) {
			err = store_rollup_put(s, &rows[i]);
			sample_add(&ss, rows[i].t, rows[i].state, rows[i].grp, rows[i].sum, rows[i].n,
				   rows[i].max);
		}
		/* gamma: TIME_WAIT 9 in minute 5 only. */
		if (!err && m == 5) {
			struct store_rollup g = { 60, t, SOCK_TIME_WAIT, 2, "gamma", 0, 9, 0, 20, 6 };

			err = store_rollup_put(s, &g);
			sample_add(&ss, g.t, g.state, g.grp, g.sum, g.n, g.max);
		}
		/* Other kinds and resolutions must not leak in. */
		if (!err) {
			struct store_rollup p = { 60, t, SOCK_CLOSE_WAIT, 1, "8080", 100, 100, 100, 600,
						  6 };

			err = store_rollup_put(s, &p);
			sample_add(&ports, p.t, p.state, p.grp, p.sum, p.n, p.max);
		}
	}
	if (!err)
		err = store_rollup_put(s, &(struct store_rollup){ 3600, TR_T0, SOCK_CLOSE_WAIT, 2,
								  "alpha", 0, 1000, 0, 1000, 360 });
	if (!err)
		err = store_commit(s);
	CHECK_INT(err, ==, 0);
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		goto out;

	{
		static const char *const both[] = { "beta", "alpha", "delta", "gamma" };
		static const char *const only_cw[] = { "alpha", "delta", "beta" };
		static const char *const only_tw[] = { "gamma", "beta" };
		static const char *const late[] = { "beta", "delta", "gamma", "alpha" };
		static const char *const port[] = { "8080" };

		group_case(r, 60, 2, cw | tw, 0, 2e9, 60, 10, &ss, both, 4, "cw+tw top 10");
		group_case(r, 60, 2, cw | tw, 0, 2e9, 60, 3, &ss, both, 3, "cw+tw top 3");
		group_case(r, 60, 2, cw | tw, 0, 2e9, 300, 2, &ss, both, 2, "cw+tw step 300");
		group_case(r, 60, 2, cw, 0, 2e9, 120, 5, &ss, only_cw, 3, "cw");
		group_case(r, 60, 2, tw, 0, 2e9, 60, 5, &ss, only_tw, 2, "tw");
		/* From minute 4 on, alpha's 10 is out of range. */
		group_case(r, 60, 2, cw | tw, TR_T0 + 240, 2e9, 60, 4, &ss, late, 4, "late");
		group_case(r, 60, 1, cw | tw, 0, 2e9, 60, 4, &ports, port, 1, "ports");
	}
	/* Order by hand: beta's CLOSE_WAIT, then beta's TIME_WAIT, then alpha. */
	CHECK_INT(store_reader_group_trend(r, 60, 2, cw | tw, 0, 2e9, 600, 2, 100, collect_point,
					   &got),
		  ==, 0);
	CHECK_INT(got.n, ==, 3);
	if (got.n == 3) {
		CHECK(got.v[0].state == SOCK_TIME_WAIT && strcmp(got.v[0].grp, "beta") == 0 &&
		      got.v[0].max == 6 && got.v[0].mean == 4.5); /* sum 6 * (0+..+9) over n 60 */
		CHECK(got.v[1].state == SOCK_CLOSE_WAIT && strcmp(got.v[1].grp, "beta") == 0 &&
		      got.v[1].mean == 6);
		CHECK(got.v[2].state == SOCK_CLOSE_WAIT && strcmp(got.v[2].grp, "alpha") == 0 &&
		      got.v[2].max == 10 && got.v[2].mean == 4.5);
	}
	/* Hour rows are their own series: alpha's 1000 ranks it first there, alone. */
	got.n = 0;
	CHECK_INT(store_reader_group_trend(r, 3600, 2, cw | tw, 0, 2e9, 3600, 5, 100, collect_point,
					   &got),
		  ==, 0);
	CHECK_INT(got.n, ==, 1);
	CHECK(got.n == 1 && strcmp(got.v[0].grp, "alpha") == 0 && got.v[0].max == 1000);
	/* Limits and refusals. */
	got.n = 0;
	CHECK_INT(store_reader_group_trend(r, 60, 2, cw | tw, 0, 2e9, 60, 0, 100, collect_point, &got),
		  ==, 0);
	CHECK_INT(store_reader_group_trend(r, 60, 2, cw | tw, 0, 2e9, 60, 4, 10, collect_point, &got),
		  ==, -E2BIG);
	CHECK_INT(got.n, ==, 0);
	CHECK_INT(store_reader_group_trend(r, STORE_RES_RAW, 2, cw, 0, 2e9, 60, 4, 10, collect_point,
					   &got),
		  ==, -EINVAL);
	CHECK_INT(store_reader_group_trend(r, 60, 0, cw, 0, 2e9, 60, 4, 10, collect_point, &got), ==,
		  -EINVAL);
	CHECK_INT(store_reader_group_trend(r, 60, 2, cw, 0, 2e9, 30, 4, 10, collect_point, &got), ==,
		  -EINVAL);
	got.stop_after = 1;
	CHECK_INT(store_reader_group_trend(r, 60, 2, cw, 0, 2e9, 60, 4, 100, collect_point, &got), ==,
		  9);
	CHECK_INT(got.n, ==, 1);
	store_reader_close(r);
out:
	store_close(s);
	free(ss.v);
	free(ports.v);
	free(got.v);
}

/*
 * A group absent from a minute (no row: nothing lingered there) counts as 0 in it: a process
 * with 10 CLOSE_WAIT in minutes 0 and 2 and none in 1 and 3 has a mean of 5 over two
 * minutes, not 10, and a point of 0 in each empty minute.  Means divide by the host's
 * snapshot count (12 a minute here), whatever n the group's rows carry.
 */
static void test_group_trend_zero_minutes(void)
{
	const char *path = tmp_path("groups-zero.db");
	const uint32_t cw = 1u << SOCK_CLOSE_WAIT, tw = 1u << SOCK_TIME_WAIT;
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct store_snapshot snap = make_snap(TR_T0 + 600, 1);
	struct points got = { 0 };
	int err;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	err = store_begin(s, &snap, NULL);
	for (int m = 0; m < 4 && !err; m++) {
		int64_t t = TR_T0 + 60 * m;

		for (int st = 1; st < SOCK_STATE_MAX && !err; st++)
			err = store_rollup_put(s, &(struct store_rollup){ 60, t, st, 0, NULL, 3, 3, 3,
									  36, 12 });
		if (!err && m % 2 == 0)
			err = store_rollup_put(s, &(struct store_rollup){ 60, t, SOCK_CLOSE_WAIT,
									  GROUP_PROCESS, "web", 10, 10,
									  10, 120, 12 });
	}
	if (!err)
		err = store_commit(s);
	CHECK_INT(err, ==, 0);
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		goto out;
	/* Two-minute steps: (120 + 0) / 24 snapshots. */
	CHECK_INT(store_reader_group_trend(r, 60, GROUP_PROCESS, cw | tw, TR_T0, TR_T0 + 239, 120,
					   5, 100, collect_point, &got),
		  ==, 0);
	CHECK_INT(got.n, ==, 2); /* no TIME_WAIT series: it never had a row */
	for (size_t i = 0; i < got.n && i < 2; i++) {
		CHECK_INT(got.v[i].state, ==, SOCK_CLOSE_WAIT);
		CHECK_STR(got.v[i].grp, "web");
		CHECK_INT(got.v[i].t, ==, TR_T0 + 120 * (int64_t)i);
		CHECK(got.v[i].mean == 5.0);
		CHECK_INT(got.v[i].max, ==, 10);
	}
	/* Minute steps: 10, 0, 10, 0. */
	got.n = 0;
	CHECK_INT(store_reader_group_trend(r, 60, GROUP_PROCESS, cw, TR_T0, TR_T0 + 239, 60, 5, 100,
					   collect_point, &got),
		  ==, 0);
	CHECK_INT(got.n, ==, 4);
	for (size_t i = 0; i < got.n && i < 4; i++) {
		CHECK_INT(got.v[i].t, ==, TR_T0 + 60 * (int64_t)i);
		CHECK(got.v[i].mean == (i % 2 ? 0.0 : 10.0));
		CHECK_INT(got.v[i].max, ==, i % 2 ? 0 : 10);
	}
	/* The zeros count against the point budget like any point. */
	got.n = 0;
	CHECK_INT(store_reader_group_trend(r, 60, GROUP_PROCESS, cw, TR_T0, TR_T0 + 239, 60, 5, 3,
					   collect_point, &got),
		  ==, -E2BIG);
	store_reader_close(r);
out:
	store_close(s);
	free(got.v);
}

/*
 * More groups than the store ranks in memory (a long range of ephemeral local ports): the
 * ranking moves into SQL and gives the same answer, in the same order.
 */
static void test_group_trend_many(void)
{
	const char *path = tmp_path("groups-many.db");
	const uint32_t cw = 1u << SOCK_CLOSE_WAIT, tw = 1u << SOCK_TIME_WAIT;
	static const char *const top3[] = { "top-a", "top-b", "top-c" };
	struct samples ss = { 0 };
	struct store *s = NULL;
	struct store_reader *r = NULL;
	char sql[1024];
	int kinds[] = { GROUP_LOCAL_PORT, GROUP_PROCESS };

	CHECK_INT(store_open(&s, path), ==, 0);
	store_close(s);
	/* 20000 small groups for local ports only; the same three leaders for both kinds. */
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE g(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM g WHERE k < 19999)"
		 " INSERT INTO group_rollups SELECT 60, 1, %d, 8, 'g' || k, 0, k %% 1000, 1.0, 1, 0"
		 " FROM g;"
		 "INSERT INTO group_rollups VALUES"
		 " (60, 1, %d, 8, 'top-b', 0, 4000, 4000.0, 1, 0),"
		 " (60, 1, %d, 6, 'top-b', 0, 1000, 1000.0, 1, 0),"
		 " (60, 1, %d, 8, 'top-a', 0, 5000, 9000.0, 2, 0),"
		 " (60, 1, %d, 8, 'top-c', 0, 3000, 3000.0, 1, 0),"
		 " (60, 2, %d, 8, 'top-b', 0, 4000, 4000.0, 1, 0),"
		 " (60, 2, %d, 6, 'top-b', 0, 1000, 1000.0, 1, 0),"
		 " (60, 2, %d, 8, 'top-a', 0, 5000, 9000.0, 2, 0),"
		 " (60, 2, %d, 8, 'top-c', 0, 3000, 3000.0, 1, 0),"
		 " (60, 2, %d, 8, 'small', 0, 10, 10.0, 1, 0)",
		 TR_T0, TR_T0 + 60, TR_T0 + 60, TR_T0 + 120, TR_T0 + 180, TR_T0 + 60, TR_T0 + 60,
		 TR_T0 + 120, TR_T0 + 180, TR_T0);
	CHECK_INT(raw_exec(path, sql), ==, SQLITE_OK);
	sample_add(&ss, TR_T0 + 60, SOCK_CLOSE_WAIT, "top-b", 4000, 1, 4000);
	sample_add(&ss, TR_T0 + 60, SOCK_TIME_WAIT, "top-b", 1000, 1, 1000);
	sample_add(&ss, TR_T0 + 120, SOCK_CLOSE_WAIT, "top-a", 9000, 2, 5000);
	sample_add(&ss, TR_T0 + 180, SOCK_CLOSE_WAIT, "top-c", 3000, 1, 3000);
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		goto out;
	/* top-a and top-b tie at 5000 (top-b over two states): key order decides. */
	for (size_t k = 0; k < 2; k++) {
		char what[32];

		snprintf(what, sizeof(what), "many, kind %d", kinds[k]);
		group_case(r, 60, kinds[k], cw | tw, 0, 2e9, 60, 3, &ss, top3, 3, what);
		group_case(r, 60, kinds[k], cw | tw, 0, 2e9, 3600, 3, &ss, top3, 3, what);
	}
	store_reader_close(r);
out:
	free(ss.v);
}

/*
 * Milliseconds of the fastest and the median of runs of one trend call, wall clock, and
 * the fastest in CPU time (what a shared, loaded test machine disturbs least).
 */
struct timing {
	double best, median, cpu;
	size_t points;
	int err;
};

static double now_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_point(void *arg, int state, const char *grp, int64_t t, double mean,
		       int64_t max)
{
	(void)state, (void)grp, (void)t, (void)mean, (void)max;
	(*(size_t *)arg)++;
	return 0;
}

static int double_cmp(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

static struct timing time_trend(struct store_reader *r, int res, int kind, uint32_t mask,
				double from, double to, int64_t step)
{
	double runs[7];
	struct timing tm = { .cpu = 1e9 };

	for (int i = 0; i < 7; i++) {
		double t0 = now_mono(), c0 = now_cpu();

		tm.points = 0;
		if (kind)
			tm.err = store_reader_group_trend(r, res, kind, mask, from, to, step, 5,
							  1000000, count_point, &tm.points);
		else
			tm.err = store_reader_trend(r, res, mask, from, to, step, 1000000, count_point,
						    &tm.points);
		runs[i] = (now_mono() - t0) * 1000;
		if ((now_cpu() - c0) * 1000 < tm.cpu)
			tm.cpu = (now_cpu() - c0) * 1000;
	}
	qsort(runs, 7, sizeof(runs[0]), double_cmp);
	tm.best = runs[0];
	tm.median = runs[3];
	return tm;
}

static double bytes_per_row(const char *path, const char *objects, const char *table)
{
	char sql[512];
	long long bytes, rows;

	snprintf(sql, sizeof(sql), "SELECT sum(pgsize) FROM dbstat WHERE name IN (%s)", objects);
	bytes = raw_int(path, sql);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	rows = raw_int(path, sql);
	return rows > 0 ? (double)bytes / (double)rows : 0;
}

/*
 * Week-scale data: a day of 1 s snapshots with kernel counters, a week of minute and hour
 * rollups of 11 states, a week of minute rollups of 20 processes in 2 states.  Prints the
 * trend times (the target is a 7-day trend under 20 ms) and bytes per row; asserts are
 * loose (shared CI machines, sanitizers) and only catch a lost index.
 */
static void test_trend_speed(void)
{
	const char *path = tmp_path("speed.db");
	const int64_t end = TR_T0 + 7 * 86400, week = end - 7 * 86400, day = end - 86400;
	const uint32_t all = ((1u << SOCK_STATE_MAX) - 1) & ~1u;
	const uint32_t lingering = 1u << SOCK_CLOSE_WAIT | 1u << SOCK_TIME_WAIT;
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct timing week_minute, week_minute_60, week_hour, day_raw, day_raw_60, week_groups,
		week_groups_hour;
	int64_t deleted = 0;
	double t0, ret_snaps_ms, ret_socks_ms;
	char sql[4096], kcols[1024];
	size_t n = 0;
	int rc;

	/* The k_ columns named from kstat.h, so this test never hard-codes the schema. */
	for (int i = 0; i < KSTAT_COUNTER_MAX + KSTAT_GAUGE_MAX; i++)
		n += (size_t)snprintf(kcols + n, sizeof(kcols) - n, ", k_%s",
				      i < KSTAT_COUNTER_MAX ? kstat_counter_info(i)->metric :
							      kstat_gauge_info(i - KSTAT_COUNTER_MAX)->metric);
	CHECK_INT(store_open(&s, path), ==, 0);
	store_close(s);
	s = NULL;
	snprintf(sql, sizeof(sql),
		 "BEGIN;"
		 "WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < 86399)"
		 " INSERT INTO snapshots (taken_at, duration_ms, source, partial, total,"
		 " established, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait, close,"
		 " close_wait, last_ack, listen, closing%s)"
		 " SELECT %lld + x + 0.137, 3.25, 'netlink', 0, 100000, 80000 + x %% 1000, 12, 3,"
		 " 40, 300 + x %% 50, 15000 + x %% 700, 0, 120 + x %% 30, 10, 64, 0,"
		 " 3000000000 + x * 37, 100000 + x, 0, 12, 40000 + x, 9000 + x, 3, 700000 + x * 2,"
		 " 5, 1200, 1300, 900000000 + x * 20, 800000000 + x * 19, 4000000 + x,"
		 " 2000000 + x, 50000000 + x * 5, 70000000 + x * 7, 85000, 40, 15000 + x %% 700,"
		 " 85100, 20000 + x %% 100 FROM i;"
		 "WITH RECURSIVE m(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM m WHERE x < 10079),"
		 " s(st) AS (SELECT 1 UNION ALL SELECT st + 1 FROM s WHERE st < 11)"
		 " INSERT INTO rollups SELECT 60, %lld + 60 * x, st, 15000 + x %% 100,"
		 " 15600 + x %% 100, 60.0 * (15300 + x %% 100), 60, 15400 FROM m, s;"
		 "WITH RECURSIVE h(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM h WHERE x < 167),"
		 " s(st) AS (SELECT 1 UNION ALL SELECT st + 1 FROM s WHERE st < 11)"
		 " INSERT INTO rollups SELECT 3600, %lld + 3600 * x, st, 15000, 15700,"
		 " 3600.0 * 15350, 3600, 15400 FROM h, s;"
		 "WITH RECURSIVE m(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM m WHERE x < 10079),"
		 " g(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM g WHERE k < 19),"
		 " s(st) AS (SELECT 6 UNION ALL SELECT 8)"
		 " INSERT INTO group_rollups SELECT 60, 2, %lld + 60 * x, st, 'process-' || k,"
		 " 0, 10 + k + x %% 7, 10 * 60.0, 60, 10 FROM m, g, s;"
		 "WITH RECURSIVE i(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM i WHERE x < 19999)"
		 " INSERT INTO sockets (netns, key, family, state, laddr, lport, raddr, rport,"
		 " inode, uid, first_seen, state_since, last_seen) SELECT 4026531840, x, 2, 8,"
		 " x'7f000001', 8080, x'0a000001', 40000 + x %% 20000, 1000000 + x, 1000,"
		 " %lld + x * 0.5, %lld + x * 0.5, %lld + x * 0.5 + 30 FROM i;"
		 "COMMIT",
		 kcols, (long long)day, (long long)week, (long long)week, (long long)week, (long long)day,
		 (long long)day, (long long)day);
	rc = raw_exec(path, sql);
	CHECK_INT(rc, ==, SQLITE_OK);
	if (rc != SQLITE_OK)
		return;
	printf("bytes a row: snapshot %.1f (with its 2 indexes), minute/hour rollup %.1f,"
	       " group rollup %.1f, socket %.1f (with its indexes)\n",
	       bytes_per_row(path, "'snapshots', 'snapshots_taken_at', 'snapshots_kstat'",
			     "snapshots"),
	       bytes_per_row(path, "'rollups'", "rollups"),
	       bytes_per_row(path, "'group_rollups'", "group_rollups"),
	       bytes_per_row(path, "'sockets', 'sockets_last_seen', 'sockets_open'", "sockets"));

	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		return;
	week_minute = time_trend(r, STORE_RES_MINUTE, 0, all, week, end, 3600);
	week_minute_60 = time_trend(r, STORE_RES_MINUTE, 0, all, week, end, 60);
	week_hour = time_trend(r, STORE_RES_HOUR, 0, all, week, end, 3600);
	day_raw = time_trend(r, STORE_RES_RAW, 0, all, day, end, 300);
	day_raw_60 = time_trend(r, STORE_RES_RAW, 0, lingering, day, end, 60);
	week_groups = time_trend(r, STORE_RES_MINUTE, GROUP_PROCESS, lingering, week, end, 3600);
	week_groups_hour = time_trend(r, STORE_RES_HOUR, GROUP_PROCESS, lingering, week, end,
				      3600);
	store_reader_close(r);
	CHECK_INT(week_minute.err, ==, 0);
	CHECK_INT(week_minute.points, ==, 168 * 11);
	CHECK_INT(week_minute_60.err, ==, 0);
	CHECK_INT(week_minute_60.points, ==, 10080 * 11);
	CHECK_INT(week_hour.err, ==, 0);
	CHECK_INT(week_hour.points, ==, 168 * 11);
	CHECK_INT(day_raw.err, ==, 0);
	CHECK_INT(day_raw.points, ==, 288 * 11);
	CHECK_INT(day_raw_60.points, ==, 1440 * 2);
	CHECK_INT(week_groups.err, ==, 0);
	CHECK_INT(week_groups.points, ==, 5 * 2 * 168);
	CHECK_INT(week_groups_hour.points, ==, 0);
	printf("trend ms, best/median wall/best cpu of 7 runs:\n"
	       "  7d minute rollups, 11 states, step 1h: %.2f/%.2f/%.2f\n"
	       "  7d minute rollups, 11 states, step 1m: %.2f/%.2f/%.2f\n"
	       "  7d hour rollups, 11 states, step 1h:   %.2f/%.2f/%.2f\n"
	       "  1d raw, 11 states, step 5m:            %.2f/%.2f/%.2f\n"
	       "  1d raw, 2 states, step 1m:             %.2f/%.2f/%.2f\n"
	       "  7d minute groups (20 x 2 states), top 5, step 1h: %.2f/%.2f/%.2f\n"
	       "  7d hour groups (none stored):          %.2f/%.2f/%.2f\n",
	       week_minute.best, week_minute.median, week_minute.cpu, week_minute_60.best,
	       week_minute_60.median, week_minute_60.cpu, week_hour.best, week_hour.median,
	       week_hour.cpu, day_raw.best, day_raw.median, day_raw.cpu, day_raw_60.best,
	       day_raw_60.median, day_raw_60.cpu, week_groups.best, week_groups.median,
	       week_groups.cpu, week_groups_hour.best, week_groups_hour.median,
	       week_groups_hour.cpu);
	/* Ten times the targets: these catch a lost index, not a slow machine. */
	CHECK(week_minute.median < 200);
	CHECK(week_hour.median < 200);
	CHECK(day_raw.median < 1000);

	/* A retention batch as the sampler runs it: 5000 snapshots, then 5000 ended sockets. */
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	t0 = now_mono();
	CHECK_INT(store_retention(s, (double)day + 5000, 0, 0, 5000, &deleted), ==, 0);
	ret_snaps_ms = (now_mono() - t0) * 1000;
	CHECK_INT(deleted, ==, 5000);
	t0 = now_mono();
	CHECK_INT(store_retention(s, 0, 0, 1e12, 5000, &deleted), ==, 0);
	ret_socks_ms = (now_mono() - t0) * 1000;
	CHECK_INT(deleted, ==, 5000);
	store_close(s);
	printf("retention batch of 5000: snapshots %.1f ms, sockets %.1f ms\n", ret_snaps_ms,
	       ret_socks_ms);
	CHECK(ret_snaps_ms < 2000 && ret_socks_ms < 2000);
}

int main(int argc, char **argv)
{
	static const struct store_case cases[] = {
		{ "netns_trend", test_netns_trend },
		{ "trend_exact", test_trend_exact },
		{ "group_trend", test_group_trend },
		{ "group_trend_many", test_group_trend_many },
		{ "group_trend_zero_minutes", test_group_trend_zero_minutes },
		{ "trend_speed", test_trend_speed },
	};

	return store_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &check_failures,
			       &check_passes);
}
