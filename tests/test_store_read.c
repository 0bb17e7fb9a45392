/* test_store_read.c - readers: time order, concurrency, counter pairs, query plans. */
#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "check.h"
#include "store_fixture.h"

/* The reader orders by time, not by insertion. */
static void test_reader_time_order(void)
{
	const char *path = tmp_path("order.db");
	const double times[] = { 30, 10, 20 };
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct snaps got = { 0 };

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	for (int i = 0; i < 3; i++) {
		struct store_snapshot snap = make_snap(times[i], (uint32_t)i);

		CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
		CHECK_INT(store_commit(s), ==, 0);
	}
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (r) {
		CHECK_INT(store_reader_snapshots(r, 0, 100, 10, collect_snap, &got), ==, 0);
		CHECK_INT(got.n, ==, 3);
		CHECK(got.s[0].taken_at == 10 && got.s[1].taken_at == 20 && got.s[2].taken_at == 30);
		store_reader_close(r);
	}
	store_close(s);
}

/* A reader sees what is committed, never what is in flight, and neither waits on the other. */
static void test_reader_concurrent(void)
{
	const char *path = tmp_path("concurrent.db");
	struct store *s = NULL;
	struct store_reader *r = NULL, *r2 = NULL;
	struct store_snapshot s1 = make_snap(1, 1), s2 = make_snap(2, 2);
	struct snaps c = { 0 };
	double t0, dt;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_begin(s, &s1, NULL), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		goto out;

	CHECK_INT(store_begin(s, &s2, NULL), ==, 0);
	for (uint32_t i = 0; i < 5000; i++) {
		struct sock_rec rec = make_rec(i, AF_INET, SOCK_ESTABLISHED);

		CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, i, &rec, 2, 2 }, NULL), ==, 0);
	}
	/* The writer holds its transaction; the reader's busy timeout would show as >= 1 s. */
	t0 = now_mono();
	CHECK_INT(count_snaps(r), ==, 1);
	CHECK_INT(store_reader_ping(r), ==, 0);
	CHECK_INT(store_reader_open(&r2, path), ==, 0);
	if (r2)
		CHECK_INT(count_snaps(r2), ==, 1);
	dt = now_mono() - t0;
	CHECK(dt < 0.5);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(count_snaps(r), ==, 2);

	/* A writer commits while a reader is mid-walk (the commit runs in the callback). */
	c.writer = s;
	c.stop_after = 1;
	CHECK_INT(store_reader_snapshots(r, 0, 10, 10, collect_snap, &c), ==, 7);
	CHECK_INT(c.writer_err, ==, 0);
	CHECK_INT(count_snaps(r), ==, 3);
out:
	store_reader_close(r2);
	store_reader_close(r);
	store_close(s);
}

static void test_reader_missing(void)
{
	const char *absent = tmp_path("never.db"), *empty = tmp_path("reader-empty.db");
	struct store_reader *r = NULL;

	CHECK_INT(store_reader_open(&r, absent), ==, -ENOENT);
	CHECK(r == NULL);
	CHECK_INT(file_size(absent), ==, -1); /* a reader never creates the file */
	CHECK_INT(write_file(empty, "", 0), ==, 0);
	CHECK_INT(store_reader_open(&r, empty), ==, -ENOENT);
	CHECK(r == NULL);
}

static int snap_write(struct store *s, double t, const uint32_t counts[SOCK_STATE_MAX],
		      const struct kstat *k)
{
	struct store_snapshot snap = { .taken_at = t, .duration_ms = 1, .source = "netlink",
				       .kstat = k };
	int err;

	for (int i = 1; i < SOCK_STATE_MAX; i++) {
		snap.counts[i] = counts ? counts[i] : 0;
		snap.total += snap.counts[i];
	}
	err = store_begin(s, &snap, NULL);
	if (!err)
		err = store_commit(s);
	return err;
}

/* The counters for a rate: nearest at or before each end, only snapshots that have them. */
static void test_kstat_pair(void)
{
	const char *path = tmp_path("pair.db");
	struct kstat k200 = make_kstat(200), k300 = make_kstat(300), k500 = make_kstat(500),
		     gauges = make_kstat(400), a, b;
	struct store *s = NULL;
	struct store_reader *r = NULL;
	double at = -1, bt = -1;

	k300.have_counter[KSTAT_OUT_RSTS] = 0;
	memset(gauges.have_counter, 0, sizeof(gauges.have_counter)); /* gauges only */
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(snap_write(s, 100, NULL, NULL), ==, 0);
	CHECK_INT(snap_write(s, 200, NULL, &k200), ==, 0);
	CHECK_INT(snap_write(s, 300, NULL, &k300), ==, 0);
	CHECK_INT(snap_write(s, 400, NULL, &gauges), ==, 0);
	CHECK_INT(snap_write(s, 500, NULL, &k500), ==, 0);
	CHECK_INT(snap_write(s, 600, NULL, NULL), ==, 0);
	store_close(s);
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		return;

	CHECK_INT(store_reader_kstat_pair(r, 250, 450, &a, &at, &b, &bt), ==, 0);
	CHECK(at == 200 && bt == 300);
	CHECK(a.counter[KSTAT_TW] == 200 && a.have_counter[KSTAT_OUT_RSTS] == 1);
	CHECK(b.counter[KSTAT_TW] == 300 && b.have_counter[KSTAT_OUT_RSTS] == 0);
	CHECK(b.have_gauge[KSTAT_SOCK_TW] == 1 && b.gauge[KSTAT_SOCK_TW] == 150 + KSTAT_SOCK_TW);
	/* Both ends inclusive. */
	CHECK_INT(store_reader_kstat_pair(r, 300, 500, &a, &at, &b, &bt), ==, 0);
	CHECK(at == 300 && bt == 500 && b.counter[KSTAT_RETRANS_SEGS] == 500 + KSTAT_RETRANS_SEGS);
	/* A gauges-only reading does not count as counters. */
	CHECK_INT(store_reader_kstat_pair(r, 410, 450, &a, &at, &b, &bt), ==, 0);
	CHECK(at == 300 && bt == 300);
	/* History that starts inside the range: the first reading in it. */
	CHECK_INT(store_reader_kstat_pair(r, 50, 250, &a, &at, &b, &bt), ==, 0);
	CHECK(at == 200 && bt == 200);
	CHECK_INT(store_reader_kstat_pair(r, 50, 1000, &a, &at, &b, &bt), ==, 0);
	CHECK(at == 200 && bt == 500);
	/* Past the end: the last one, twice. */
	CHECK_INT(store_reader_kstat_pair(r, 700, 800, &a, &at, &b, &bt), ==, 0);
	CHECK(at == 500 && bt == 500);
	CHECK_INT(store_reader_kstat_pair(r, 50, 150, &a, &at, &b, &bt), ==, -ENOENT);
	CHECK_INT(store_reader_kstat_pair(r, 500, 300, &a, &at, &b, &bt), ==, -EINVAL);
	CHECK_INT(store_reader_kstat_pair(r, 300, 500, NULL, &at, &b, &bt), ==, -EINVAL);
	store_reader_close(r);
}
/*
 * Every statement the store prepares, writer and reader, is planned on an index: no
 * full SCAN of a table (the walk of sockets_open, a partial index of the open rows, is
 * the one whole-index walk by design) and no sort.
 */
static void noop_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)ctx, (void)argc, (void)argv;
}

static void noop_final(sqlite3_context *ctx)
{
	sqlite3_result_null(ctx);
}

static void check_plans(sqlite3 *db, const char *path, char *all, size_t len, int *checked)
{
	sqlite3 *plain = NULL;
	size_t used = strlen(all);

	CHECK_INT(sqlite3_open_v2(path, &plain, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
	/* The readers' trend queries call the store's own aggregate: a stand-in plans the same. */
	sqlite3_create_function_v2(plain, "lingerd_rows", -1, SQLITE_UTF8, NULL, NULL, noop_step,
				   noop_final, NULL);
	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st)) {
		const char *sql = sqlite3_sql(st);
		sqlite3_stmt *ep = NULL;
		char q[4096], plan[1024] = "";
		size_t n = 0;
		int bad = 0;

		if (!sql || (strncmp(sql, "SELECT", 6) != 0 && strncmp(sql, "DELETE", 6) != 0 &&
			     strncmp(sql, "UPDATE", 6) != 0))
			continue;
		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
		CHECK_INT(sqlite3_prepare_v2(plain, q, -1, &ep, NULL), ==, SQLITE_OK);
		while (ep && sqlite3_step(ep) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(ep, 3);

			if (!d)
				continue;
			if (strncmp(d, "SCAN ", 5) == 0 && !strstr(d, "USING INDEX sockets_open") &&
			    strcmp(d, "SCAN (subquery-1)") != 0)
				bad = 1;
			/* Only the fallback ranking of too many groups may sort (see db/store_read.c). */
			if (strstr(d, "TEMP B-TREE") && !strstr(sql, "GROUP BY grp"))
				bad = 1;
			if (n < sizeof(plan))
				n += (size_t)snprintf(plan + n, sizeof(plan) - n, "%s; ", d);
		}
		sqlite3_finalize(ep);
		(*checked)++;
		if (bad)
			fprintf(stderr, "unindexed: %s\n  plan: %s\n", sql, plan);
		CHECK(!bad);
		if (used < len)
			used += (size_t)snprintf(all + used, len - used, "%s\n", plan);
	}
	sqlite3_close(plain);
}

static void test_queries_indexed(void)
{
	const char *path = tmp_path("plans.db");
	static char all[32768];
	struct store *s = NULL;
	struct store_reader *r = NULL;
	int checked = 0;

	all[0] = '\0';
	retention_fixture(path);
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	check_plans(last_db, path, all, sizeof(all), &checked);
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (r)
		check_plans(last_db, path, all, sizeof(all), &checked);
	store_reader_close(r);
	store_close(s);
	CHECK_INT(checked, >=, 15);
	/* And the ones that matter use the index meant for them. */
	CHECK(strstr(all, "USING INDEX snapshots_taken_at (taken_at>? AND taken_at<?)") != NULL);
	CHECK(strstr(all, "USING PRIMARY KEY (res=? AND t>? AND t<?)") != NULL);
	CHECK(strstr(all, "USING PRIMARY KEY (res=? AND kind=? AND t>? AND t<?)") != NULL);
	CHECK(strstr(all, "USING INDEX snapshots_kstat (taken_at<?)") != NULL);
	CHECK(strstr(all, "USING COVERING INDEX sockets_last_seen") != NULL);
	CHECK(strstr(all, "USING PRIMARY KEY (res=? AND kind=? AND t<?)") != NULL);
}

int main(int argc, char **argv)
{
	static const struct store_case cases[] = {
		{ "reader_time_order", test_reader_time_order },
		{ "reader_concurrent", test_reader_concurrent },
		{ "reader_missing", test_reader_missing },
		{ "kstat_pair", test_kstat_pair },
		{ "queries_indexed", test_queries_indexed },
	};

	return store_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &check_failures,
			       &check_passes);
}
