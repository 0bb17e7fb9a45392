/* test_store_transitions.c - v4: exact state changes, their rollups, teardown timelines, fixture. */
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store_fixture.h"

struct tpoint {
	int from, to;
	int64_t t, n;
};

struct tpoints {
	struct tpoint v[64];
	int n;
};

static int collect(void *arg, int from, int to, int64_t t, int64_t n)
{
	struct tpoints *p = arg;

	if (p->n == (int)(sizeof(p->v) / sizeof(p->v[0])))
		return -ENOSPC;
	p->v[p->n++] = (struct tpoint){ from, to, t, n };
	return 0;
}

/* The sum of n over the points of one pair. */
static int64_t pair_sum(const struct tpoints *p, int from, int to)
{
	int64_t sum = 0;

	for (int i = 0; i < p->n; i++)
		if (p->v[i].from == from && p->v[i].to == to)
			sum += p->v[i].n;
	return sum;
}

static int64_t read_all(struct store_reader *r, int res, const uint64_t *pairs, int64_t step,
			struct tpoints *p)
{
	p->n = 0;
	return store_reader_transitions(r, res, pairs, 0, 2e9, step, 1000, collect, p);
}

/*
 * Three snapshots in one minute and one in the next hour: every resolution and step gives
 * exactly the counts written, a rolled-back snapshot leaves nothing, pairs filter.
 */
static void test_transitions_exact(void)
{
	const char *path = tmp_path("transitions.db");
	const double t0 = TR_T0 + 3600 - 90; /* 90 s before an hour ends */
	const double at[] = { t0, t0 + 10, t0 + 20, t0 + 100 };
	struct store_transition v[][3] = {
		{ { 1, 4, 5 }, { 5, 7, 4 }, { 8, 9, 0 } }, /* n = 0: no row */
		{ { 1, 4, 2 }, { 8, 9, 1 }, { 9, 7, 1 } },
		{ { 1, 4, 1000000000000ll }, { 0, 0, 0 }, { 0, 0, 0 } },
		{ { 1, 4, 7 }, { 2, 1, 7 }, { 10, 3, 0 } },
	};
	uint64_t only_1_4[4] = { 0 };
	struct store_reader *r = NULL;
	struct store *s = NULL;
	struct tpoints p;
	int64_t id = 0;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	/* Outside a snapshot's transaction: refused. */
	CHECK_INT(store_transitions_put(s, 1, t0, v[0], 3), ==, -EINVAL);
	for (int i = 0; i < 4; i++) {
		struct store_snapshot snap = make_snap(at[i], (uint32_t)i);

		CHECK_INT(store_begin(s, &snap, &id), ==, 0);
		CHECK_INT(store_transitions_put(s, id, at[i], v[i], 3), ==, 0);
		CHECK_INT(store_commit(s), ==, 0);
	}
	/* A snapshot that is rolled back takes its changes with it, rollups included. */
	{
		struct store_snapshot snap = make_snap(t0 + 30, 9);
		struct store_transition bad[] = { { 1, 4, 1000 }, { 16, 4, 1 } };

		CHECK_INT(store_begin(s, &snap, &id), ==, 0);
		CHECK_INT(store_transitions_put(s, id, t0 + 30, bad, 2), ==, -EINVAL);
		store_rollback(s);
	}
	store_close(s);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM transitions"), ==, 8);

	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		return;
	/* Raw, one point per snapshot and pair. */
	CHECK_INT(read_all(r, STORE_RES_RAW, NULL, 1, &p), ==, 0);
	CHECK_INT(p.n, ==, 8);
	CHECK_INT(pair_sum(&p, 1, 4), ==, 1000000000014ll);
	CHECK_INT(pair_sum(&p, 5, 7), ==, 4);
	CHECK_INT(pair_sum(&p, 8, 9), ==, 1);
	CHECK_INT(pair_sum(&p, 10, 3), ==, 0);
	/* Ordered by pair, then time. */
	CHECK(p.n == 8 && p.v[0].from == 1 && p.v[0].to == 4 && p.v[0].t == (int64_t)t0 &&
	      p.v[0].n == 5 && p.v[3].t == (int64_t)t0 + 100 && p.v[4].from == 2);
	/* Minutes: the first three snapshots share one (t0 is 30 s into a minute). */
	CHECK_INT(read_all(r, STORE_RES_MINUTE, NULL, 60, &p), ==, 0);
	CHECK_INT(p.n, ==, 6);
	CHECK(p.v[0].from == 1 && p.v[0].to == 4 && p.v[0].t == TR_T0 + 3600 - 120 &&
	      p.v[0].n == 1000000000007ll);
	CHECK(p.v[1].from == 1 && p.v[1].to == 4 && p.v[1].t == TR_T0 + 3600 &&
	      p.v[1].n == 7);
	/* Hours, and minutes summed into an hour-long step: the same two buckets. */
	for (int res = STORE_RES_MINUTE; res <= STORE_RES_HOUR; res += STORE_RES_HOUR - 60) {
		CHECK_INT(read_all(r, res, NULL, 3600, &p), ==, 0);
		CHECK_INT(pair_sum(&p, 1, 4), ==, 1000000000014ll);
		CHECK_INT(pair_sum(&p, 9, 7), ==, 1);
		CHECK(p.n >= 2 && p.v[0].t == TR_T0 && p.v[0].n == 1000000000007ll &&
		      p.v[1].t == TR_T0 + 3600 && p.v[1].n == 7);
	}
	/* One pair only. */
	only_1_4[(1 * 16 + 4) / 64] |= 1ull << ((1 * 16 + 4) % 64);
	CHECK_INT(read_all(r, STORE_RES_RAW, only_1_4, 1, &p), ==, 0);
	CHECK_INT(p.n, ==, 4);
	/* The point bound, a step finer than the resolution, a bad resolution. */
	CHECK_INT(store_reader_transitions(r, STORE_RES_RAW, NULL, 0, 2e9, 1, 6, collect, &p), ==,
		  -E2BIG);
	CHECK_INT(store_reader_transitions(r, STORE_RES_HOUR, NULL, 0, 2e9, 60, 10, collect, &p),
		  ==, -EINVAL);
	CHECK_INT(store_reader_transitions(r, 7, NULL, 0, 2e9, 60, 10, collect, &p), ==, -EINVAL);
	store_reader_close(r);
}

/* Retention: the rows of deleted snapshots go with them, old rollups go by time. */
static void test_transitions_retention(void)
{
	const char *path = tmp_path("transitions-ret.db");
	struct store_transition v[] = { { 1, 4, 3 }, { 5, 7, 2 } };
	struct store *s = NULL;
	int64_t id = 0, deleted = 0;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	for (int i = 0; i < 3; i++) {
		struct store_snapshot snap = make_snap(TR_T0 + i * 3600.0, (uint32_t)i);

		CHECK_INT(store_begin(s, &snap, &id), ==, 0);
		CHECK_INT(store_transitions_put(s, id, TR_T0 + i * 3600.0, v, 2), ==, 0);
		CHECK_INT(store_commit(s), ==, 0);
	}
	/* Snapshots before the second hour, rollups before the third. */
	CHECK_INT(store_retention(s, TR_T0 + 3600, TR_T0 + 7200, NAN, 1000, &deleted), ==, 0);
	store_close(s);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM snapshots"), ==, 2);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM transitions"), ==, 4);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM transitions t LEFT JOIN snapshots s"
			       " ON s.id = t.snapshot WHERE s.id IS NULL"),
		  ==, 0);
	/* Two pairs, minute and hour, per snapshot: the third snapshot's four rows stay. */
	CHECK_INT(raw_int(path, "SELECT count(*) FROM transition_rollups"), ==, 4);
	CHECK_INT(raw_int(path, "SELECT min(t) FROM transition_rollups"), ==, TR_T0 + 7200);
}

/* The v4 fixture reads back exactly; a v3 file migrated to v4 has none and takes rows. */
static void test_fixture_v4_transitions(void)
{
	const char *data = getenv("LINGERD_TEST_DATA");
	const char *path = tmp_path("fixture-v4-tr.db"), *v3 = tmp_path("fixture-v3-tr.db");
	struct store_reader *r = NULL;
	struct store *s = NULL;
	struct tpoints p;
	char file[512];
	char *sql;

	if (!data)
		data = "tests/data";
	snprintf(file, sizeof(file), "%s/store-v4.sql", data);
	sql = read_text(file);
	CHECK(sql != NULL);
	if (!sql)
		return;
	CHECK_INT(raw_exec(path, sql), ==, SQLITE_OK);
	free(sql);
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		return;
	CHECK_INT(read_all(r, STORE_RES_RAW, NULL, 60, &p), ==, 0);
	CHECK_INT(p.n, ==, 4);
	CHECK(p.n == 4 && p.v[0].from == 1 && p.v[0].to == 4 && p.v[0].t == 1700000040 &&
	      p.v[0].n == 3 && p.v[1].t == 1700000100 && p.v[1].n == 1);
	CHECK_INT(read_all(r, STORE_RES_HOUR, NULL, 3600, &p), ==, 0);
	CHECK(p.n == 2 && p.v[0].n == 4 && p.v[1].from == 5 && p.v[1].n == 3);
	{
		struct store_timeline t;

		CHECK_INT(store_reader_timeline(r, 0xfffffffffffffffeull, &t), ==, 0);
		CHECK(t.nsteps == 1 && t.steps[0].at == 1700000004.25 && t.steps[0].from == 1 &&
		      t.steps[0].to == 8 && t.how == 0 && t.cgroup == 77 &&
		      t.state == SOCK_CLOSE_WAIT && t.state_since == 1700000004.0);
	}
	store_reader_close(r);

	snprintf(file, sizeof(file), "%s/store-v3.sql", data);
	sql = read_text(file);
	CHECK(sql != NULL);
	if (!sql)
		return;
	CHECK_INT(raw_exec(v3, sql), ==, SQLITE_OK);
	free(sql);
	CHECK_INT(store_open(&s, v3), ==, 0);
	if (!s)
		return;
	CHECK_INT(raw_int(v3, "SELECT count(*) FROM transitions"), ==, 0);
	{
		struct store_snapshot snap = make_snap(1700000180, 4);
		struct store_transition v[] = { { 4, 5, 2 } };
		int64_t id = 0;

		CHECK_INT(store_begin(s, &snap, &id), ==, 0);
		CHECK_INT(store_transitions_put(s, id, 1700000180, v, 1), ==, 0);
		CHECK_INT(store_commit(s), ==, 0);
	}
	store_close(s);
	CHECK_INT(raw_int(v3, "SELECT sum(n) FROM transition_rollups WHERE res = 60"), ==, 2);
}

/*
 * A timeline round-trips exactly (a cookie above 2^63 too), is replaced as it grows, is
 * refused outside a snapshot, and goes with its socket row.
 */
static void test_timeline_round_trip(void)
{
	const char *path = tmp_path("timelines.db");
	struct sock_rec rec = make_rec(1, 2, SOCK_FIN_WAIT2);
	struct store_timeline t = { .cookie = 0xfffffffffffffff0ull, .cgroup = 0x8000000000000001ull,
				    .netns = 4026531840u, .pid = 4242, .tid = 4243,
				    .how = 1, .reset_sent = 0, .comm = "ld-client" };
	struct store_sock ss = { .netns = 0, .key = t.cookie, .rec = &rec,
				 .first_seen = TR_T0, .state_since = TR_T0 + 1 };
	struct store_snapshot snap = make_snap(TR_T0 + 2, 1);
	struct store_reader *r = NULL;
	struct store_timeline got;
	struct store *s = NULL;
	int64_t id = 0, row = 0, deleted = 0;

	t.nsteps = 2;
	t.steps[0].at = TR_T0 + 0.5;
	t.steps[0].pid = 4242;
	t.steps[0].from = 1;
	t.steps[0].to = 4;
	t.steps[1].at = TR_T0 + 0.500125;
	t.steps[1].from = 4;
	t.steps[1].to = 5;
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_timeline_put(s, 1, &t), ==, -EINVAL); /* outside a snapshot */
	CHECK_INT(store_begin(s, &snap, &id), ==, 0);
	CHECK_INT(store_sock_insert(s, &ss, &row), ==, 0);
	CHECK_INT(store_timeline_put(s, row, &t), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);

	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		return;
	CHECK_INT(store_reader_timeline(r, t.cookie + 1, &got), ==, -ENOENT);
	CHECK_INT(store_reader_timeline(r, t.cookie, &got), ==, 0);
	CHECK(got.cookie == t.cookie && got.cgroup == t.cgroup && got.netns == t.netns &&
	      got.pid == 4242 && got.tid == 4243 && got.how == 1 && !got.reset_sent);
	CHECK_STR(got.comm, "ld-client");
	CHECK_INT(got.nsteps, ==, 2);
	CHECK(got.steps[0].at == TR_T0 + 0.5 && got.steps[0].pid == 4242 &&
	      got.steps[0].from == 1 && got.steps[0].to == 4);
	CHECK(got.steps[1].at == TR_T0 + 0.500125 && got.steps[1].pid == 0 &&
	      got.steps[1].from == 4 && got.steps[1].to == 5);
	CHECK(got.state == SOCK_FIN_WAIT2 && got.state_since == TR_T0 + 1 && got.last_seen == 0);

	/* It grows: one more step and the row ends; the new one replaces the old. */
	t.nsteps = 3;
	t.steps[2].at = TR_T0 + 3;
	t.steps[2].from = 5;
	t.steps[2].to = 7;
	snap = make_snap(TR_T0 + 4, 2);
	CHECK_INT(store_begin(s, &snap, &id), ==, 0);
	CHECK_INT(store_sock_end(s, row, TR_T0 + 4), ==, 0);
	CHECK_INT(store_timeline_put(s, row, &t), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(store_reader_timeline(r, t.cookie, &got), ==, 0);
	CHECK(got.nsteps == 3 && got.steps[2].to == 7 && got.last_seen == TR_T0 + 4);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM timeline_steps"), ==, 3);

	/* Retention of the socket row takes its timeline and steps. */
	CHECK_INT(store_retention(s, NAN, NAN, TR_T0 + 5, 1000, &deleted), ==, 0);
	CHECK_INT(store_reader_timeline(r, t.cookie, &got), ==, -ENOENT);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM timeline_steps"), ==, 0);
	store_reader_close(r);
	store_close(s);
}

int main(int argc, char **argv)
{
	static const struct store_case cases[] = {
		{ "transitions_exact", test_transitions_exact },
		{ "transitions_retention", test_transitions_retention },
		{ "fixture_v4_transitions", test_fixture_v4_transitions },
		{ "timeline_round_trip", test_timeline_round_trip },
	};

	return store_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &check_failures,
			       &check_passes);
}
