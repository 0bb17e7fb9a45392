/* test_store_write.c - the writer: round trip, transactions, misuse, errors, WAL, speed. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "store_fixture.h"

static void test_round_trip(void)
{
	const char *path = tmp_path("round.db");
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct sock_rec ra = make_rec(1, AF_INET, SOCK_ESTABLISHED);
	struct sock_rec rb = make_rec(2, AF_INET6, SOCK_LISTEN);
	struct sock_rec rc = make_rec(3, AF_INET, SOCK_CLOSE_WAIT);
	struct sock_rec rd = make_rec(4, AF_INET6, SOCK_SYN_SENT);
	struct sock_rec re = make_rec(5, AF_INET, SOCK_TIME_WAIT);
	const uint64_t big_ns = 0xfffffffffffffff0ull, key_a = (1ull << 63) | 7;
	struct store_snapshot s1 = make_snap(1000, 1), s2 = make_snap(1005, 2),
			      s3 = make_snap(1010, 3);
	int64_t sid[3] = { 0 }, a = 0, b = 0, c = 0, d = 0, e = 0;
	struct open_rows o = { 0 };
	struct snaps got = { 0 };
	const struct open_row *row;
	char buf[64];
	double last = -1;

	s2.partial = 1;
	s3.source = "proc";
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_last_snapshot_at(s, &last), ==, 0);
	CHECK(last == 0);

	/* 1: three sockets appear. */
	CHECK_INT(store_begin(s, &s1, &sid[0]), ==, 0);
	CHECK_INT(store_sock_insert(s, &(struct store_sock){ big_ns, key_a, &ra, 999, 999 }, &a), ==, 0);
	CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, 2, &rb, 1000, 1000 }, &b), ==, 0);
	CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, UINT64_MAX, &rc, 1000, 1000 }, &c),
		  ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	/* 2: a changes state, b vanishes, d appears. */
	CHECK_INT(store_begin(s, &s2, &sid[1]), ==, 0);
	CHECK_INT(store_sock_state(s, a, SOCK_FIN_WAIT1, 1004.5), ==, 0);
	CHECK_INT(store_sock_end(s, b, 1005), ==, 0);
	CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, 4, &rd, 1005, 1005 }, &d), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	/* 3: c vanishes, e appears. */
	CHECK_INT(store_begin(s, &s3, &sid[2]), ==, 0);
	CHECK_INT(store_sock_end(s, c, 1010), ==, 0);
	CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, 5, &re, 1010, 1010 }, &e), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK(sid[0] > 0 && sid[1] > sid[0] && sid[2] > sid[1]);
	CHECK(a > 0 && b > a && c > b && d > c && e > d);

	CHECK_INT(store_last_snapshot_at(s, &last), ==, 0);
	CHECK(last == 1010);

	/* Exactly the alive ones, with their identity and times. */
	CHECK_INT(store_open_sockets(s, collect_open, &o), ==, 0);
	CHECK_INT(o.n, ==, 3);
	row = find_open(&o, a);
	CHECK(row != NULL);
	if (row) {
		CHECK(row->netns == big_ns);
		CHECK(row->key == key_a);
		CHECK_INT(row->state, ==, SOCK_FIN_WAIT1);
		CHECK(row->first_seen == 999 && row->state_since == 1004.5);
	}
	row = find_open(&o, d);
	CHECK(row && row->key == 4 && row->state == SOCK_SYN_SENT && row->first_seen == 1005);
	row = find_open(&o, e);
	CHECK(row && row->key == 5 && row->state == SOCK_TIME_WAIT && row->first_seen == 1010);
	CHECK(find_open(&o, b) == NULL && find_open(&o, c) == NULL);

	/* A walk stops on the callback's word and hands its value back. */
	memset(&o, 0, sizeof(o));
	o.stop_after = 1;
	CHECK_INT(store_open_sockets(s, collect_open, &o), ==, 42);
	CHECK_INT(o.n, ==, 1);

	/* meta */
	CHECK_INT(store_meta_get(s, "boot_id", buf, sizeof(buf)), ==, -ENOENT);
	CHECK_INT(store_meta_set(s, "boot_id", "one"), ==, 0);
	CHECK_INT(store_meta_set(s, "boot_id", "two"), ==, 0);
	CHECK_INT(store_meta_get(s, "boot_id", buf, sizeof(buf)), ==, 0);
	CHECK_STR(buf, "two");
	CHECK_INT(store_meta_get(s, "boot_id", buf, 3), ==, -ERANGE);
	CHECK_STR(buf, "");
	store_close(s);

	/* What landed in the file: addresses as 4- or 16-byte BLOBs, u64 bits kept. */
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets"), ==, 5);
	CHECK_INT(raw_int(path, "SELECT length(laddr) FROM sockets WHERE key = 2"), ==, 16);
	CHECK_INT(raw_int(path, "SELECT length(raddr) FROM sockets WHERE key = 5"), ==, 4);
	CHECK_INT(raw_int(path, "SELECT laddr = x'7f000001' FROM sockets WHERE key = 5"), ==, 1);
	CHECK_INT(raw_int(path, "SELECT key FROM sockets WHERE lport = 1027"), ==, -1);
	CHECK_INT(raw_int(path, "SELECT last_seen FROM sockets WHERE key = 2"), ==, 1005);
	CHECK_INT(raw_int(path, "SELECT inode FROM sockets WHERE key = 4"), ==, 100004);
	CHECK_INT(raw_int(path, "SELECT rport FROM sockets WHERE key = 4"), ==, 443);

	/* Read back through a reader: all, in time order, with every count. */
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		return;
	CHECK_INT(store_reader_ping(r), ==, 0);
	CHECK_INT(store_reader_snapshots(r, 0, 1e12, 100, collect_snap, &got), ==, 0);
	CHECK_INT(got.n, ==, 3);
	for (int i = 0; i < 3 && i < got.n; i++) {
		const struct store_snapshot *want = i == 0 ? &s1 : i == 1 ? &s2 : &s3;

		CHECK_INT(got.id[i], ==, sid[i]);
		CHECK(got.s[i].taken_at == want->taken_at);
		CHECK(got.s[i].duration_ms == want->duration_ms);
		CHECK_STR(got.s[i].source, want->source);
		CHECK_INT(got.s[i].partial, ==, want->partial);
		CHECK_INT(got.s[i].total, ==, want->total);
		CHECK(memcmp(got.s[i].counts, want->counts, sizeof(want->counts)) == 0);
	}
	/* from/to are inclusive; limit caps the count. */
	memset(&got, 0, sizeof(got));
	CHECK_INT(store_reader_snapshots(r, 1005, 1010, 100, collect_snap, &got), ==, 0);
	CHECK_INT(got.n, ==, 2);
	CHECK(got.s[0].taken_at == 1005 && got.s[1].taken_at == 1010);
	memset(&got, 0, sizeof(got));
	CHECK_INT(store_reader_snapshots(r, 1000, 1010, 1, collect_snap, &got), ==, 0);
	CHECK_INT(got.n, ==, 1);
	CHECK(got.s[0].taken_at == 1000);
	memset(&got, 0, sizeof(got));
	CHECK_INT(store_reader_snapshots(r, 1000.5, 1004.9, 100, collect_snap, &got), ==, 0);
	CHECK_INT(got.n, ==, 0);
	CHECK_INT(store_reader_snapshots(r, 0, 1e12, 0, collect_snap, &got), ==, 0);
	CHECK_INT(got.n, ==, 0);
	memset(&got, 0, sizeof(got));
	got.stop_after = 2;
	CHECK_INT(store_reader_snapshots(r, 0, 1e12, 100, collect_snap, &got), ==, 7);
	CHECK_INT(got.n, ==, 2);
	store_reader_close(r);

	/* Reopened: the same sockets are still open; ending them all closes every row. */
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	memset(&o, 0, sizeof(o));
	CHECK_INT(store_open_sockets(s, collect_open, &o), ==, 0);
	CHECK_INT(o.n, ==, 3);
	CHECK_INT(store_end_open_sockets(s, 2000), ==, 0);
	memset(&o, 0, sizeof(o));
	CHECK_INT(store_open_sockets(s, collect_open, &o), ==, 0);
	CHECK_INT(o.n, ==, 0);
	store_close(s);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets WHERE last_seen = 2000"), ==, 3);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets WHERE last_seen = 1005"), ==, 1);
}

/* The resume walk reads the partial index of open rows, not the whole history. */
static void test_open_walk_uses_index(void)
{
	const char *path = tmp_path("plan.db");
	struct store *s = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char plan[512] = "";
	size_t n = 0;

	CHECK_INT(store_open(&s, path), ==, 0);
	store_close(s);
	CHECK_INT(sqlite3_open(path, &db), ==, SQLITE_OK);
	if (sqlite3_prepare_v2(db,
			       "EXPLAIN QUERY PLAN SELECT id, netns, key, state, first_seen, state_since"
			       " FROM sockets WHERE last_seen IS NULL",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			n += (size_t)snprintf(plan + n, sizeof(plan) - n, "%s;",
					      (const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (!strstr(plan, "sockets_open"))
		fprintf(stderr, "plan: %s\n", plan);
	CHECK(strstr(plan, "sockets_open") != NULL);
}

static void test_rollback_leaves_nothing(void)
{
	const char *path = tmp_path("rollback.db");
	struct store *s = NULL;
	struct store_snapshot s1 = make_snap(100, 1), s2 = make_snap(200, 2);
	struct sock_rec ra = make_rec(1, AF_INET, SOCK_ESTABLISHED);
	struct sock_rec rb = make_rec(2, AF_INET, SOCK_ESTABLISHED);
	int64_t a = 0, b = 0, id = 0, id2 = 0;
	struct open_rows o = { 0 };
	double last = 0;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_begin(s, &s1, &id), ==, 0);
	CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, 1, &ra, 100, 100 }, &a), ==, 0);
	CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, 2, &rb, 100, 100 }, &b), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);

	CHECK_INT(store_begin(s, &s2, &id2), ==, 0);
	for (uint32_t i = 10; i < 1010; i++) {
		struct sock_rec rec = make_rec(i, AF_INET, SOCK_SYN_RECV);

		CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, i, &rec, 200, 200 }, NULL), ==, 0);
	}
	CHECK_INT(store_sock_state(s, a, SOCK_CLOSE_WAIT, 199), ==, 0);
	CHECK_INT(store_sock_end(s, b, 200), ==, 0);
	store_rollback(s);
	store_rollback(s); /* harmless twice */

	CHECK_INT(store_last_snapshot_at(s, &last), ==, 0);
	CHECK(last == 100);
	CHECK_INT(store_open_sockets(s, collect_open, &o), ==, 0);
	CHECK_INT(o.n, ==, 2);
	CHECK(find_open(&o, a) && find_open(&o, a)->state == SOCK_ESTABLISHED &&
	      find_open(&o, a)->state_since == 100);
	CHECK(find_open(&o, b) != NULL);
	/* The store is usable right after. */
	CHECK_INT(store_begin(s, &s2, &id2), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK(id2 > id);
	store_close(s);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM snapshots"), ==, 2);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets"), ==, 2);
}

/* Calls that break the begin/commit protocol or name rows that do not exist. */
static void test_misuse(void)
{
	const char *path = tmp_path("misuse.db");
	struct store *s = NULL;
	struct store_snapshot snap = make_snap(1, 1);
	struct sock_rec rec = make_rec(1, AF_INET, SOCK_ESTABLISHED);
	struct sock_rec bad = make_rec(2, AF_UNIX, SOCK_ESTABLISHED);

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, 1, &rec, 1, 1 }, NULL), ==, -EINVAL);
	CHECK_INT(store_sock_state(s, 1, SOCK_CLOSE, 1), ==, -EINVAL);
	CHECK_INT(store_sock_end(s, 1, 1), ==, -EINVAL);
	CHECK_INT(store_commit(s), ==, -EINVAL);
	snap.source = NULL;
	CHECK_INT(store_begin(s, &snap, NULL), ==, -EINVAL);
	snap.source = "proc";
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	CHECK_INT(store_begin(s, &snap, NULL), ==, -EINVAL);
	CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, 2, &bad, 1, 1 }, NULL), ==, -EINVAL);
	CHECK_INT(store_sock_state(s, 12345, SOCK_CLOSE, 1), ==, -ENOENT);
	CHECK_INT(store_sock_state(s, 1, SOCK_STATE_MAX, 1), ==, -EINVAL);
	CHECK_INT(store_sock_end(s, 12345, 1), ==, -ENOENT);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(store_meta_set(s, "k", NULL), ==, -EINVAL);
	store_close(s);
	store_close(NULL);
	CHECK(store_errmsg(NULL) != NULL);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets"), ==, 0);
}

/* No call leaves a statement mid-step: that would pin a read snapshot and starve checkpoints. */
static void test_statements_reset(void)
{
	const char *path = tmp_path("reset.db");
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct store_snapshot snap = make_snap(1, 1);
	struct sock_rec rec = make_rec(1, AF_INET, SOCK_ESTABLISHED);
	struct open_rows o = { .stop_after = 1 };
	struct snaps c = { .stop_after = 1 };
	sqlite3 *wdb, *rdb = NULL;
	int64_t id = 0;
	char buf[16];
	double last;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	wdb = last_db;
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	CHECK(no_busy_stmts(wdb));
	for (uint32_t i = 0; i < 3; i++) {
		CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, i, &rec, 1, 1 }, &id), ==, 0);
		CHECK(no_busy_stmts(wdb));
	}
	CHECK_INT(store_sock_state(s, id, SOCK_CLOSE_WAIT, 1), ==, 0);
	CHECK(no_busy_stmts(wdb));
	CHECK_INT(store_sock_end(s, 12345, 1), ==, -ENOENT);
	CHECK(no_busy_stmts(wdb));
	CHECK_INT(store_commit(s), ==, 0);
	CHECK(no_busy_stmts(wdb));
	CHECK_INT(store_open_sockets(s, collect_open, &o), ==, 42); /* stopped early */
	CHECK(no_busy_stmts(wdb));
	CHECK_INT(store_meta_set(s, "a", "b"), ==, 0);
	CHECK_INT(store_meta_get(s, "a", buf, sizeof(buf)), ==, 0);
	CHECK_INT(store_meta_get(s, "zz", buf, sizeof(buf)), ==, -ENOENT);
	CHECK_INT(store_last_snapshot_at(s, &last), ==, 0);
	CHECK(no_busy_stmts(wdb));
	CHECK(sqlite3_get_autocommit(wdb));

	CHECK_INT(store_reader_open(&r, path), ==, 0);
	rdb = last_db;
	if (r) {
		CHECK_INT(store_reader_snapshots(r, 0, 10, 10, collect_snap, &c), ==, 7);
		CHECK(no_busy_stmts(rdb));
		CHECK_INT(store_reader_ping(r), ==, 0);
		CHECK(no_busy_stmts(rdb));
		store_reader_close(r);
	}
	store_close(s);
}

/* Errors map to -errno: a full disk is -ENOSPC, a lock held elsewhere -EBUSY. */
static void test_error_mapping(void)
{
	const char *path = tmp_path("errors.db");
	struct store *s = NULL;
	struct store_snapshot snap = make_snap(1, 1);
	sqlite3 *wdb, *other = NULL;
	struct open_rows o = { 0 };
	char sql[64];
	int err = 0;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	wdb = last_db;
	/* A ceiling on the file size stands in for a full disk. */
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld",
		 db_int(wdb, "PRAGMA page_count") + 4);
	db_int(wdb, sql);
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	for (uint32_t i = 0; i < 20000 && !err; i++) {
		struct sock_rec rec = make_rec(i, AF_INET6, SOCK_ESTABLISHED);

		err = store_sock_insert(s, &(struct store_sock){ 0, i, &rec, 1, 1 }, NULL);
	}
	if (!err)
		err = store_commit(s);
	CHECK_INT(err, ==, -ENOSPC);
	CHECK(strlen(store_errmsg(s)) > 0);
	store_rollback(s);
	CHECK(sqlite3_get_autocommit(wdb));
	db_int(wdb, "PRAGMA max_page_count = 1073741823");
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(store_open_sockets(s, collect_open, &o), ==, 0);
	CHECK_INT(o.n, ==, 0);

	/* Another process holds the write lock. */
	sqlite3_busy_timeout(wdb, 50);
	CHECK_INT(sqlite3_open(path, &other), ==, SQLITE_OK);
	CHECK_INT(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
	CHECK_INT(store_begin(s, &snap, NULL), ==, -EBUSY);
	CHECK(sqlite3_get_autocommit(wdb));
	CHECK_INT(store_meta_set(s, "k", "v"), ==, -EBUSY);
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	store_close(s);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM snapshots"), ==, 2);
}

static void wal_case(int with_reader)
{
	const char *path = tmp_path(with_reader ? "wal-r.db" : "wal.db");
	const char *wal = tmp_path(with_reader ? "wal-r.db-wal" : "wal.db-wal");
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct store_snapshot snap = make_snap(1, 1);

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	if (with_reader)
		CHECK_INT(store_reader_open(&r, path), ==, 0);
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	for (uint32_t i = 0; i < 2000; i++) {
		struct sock_rec rec = make_rec(i, AF_INET, SOCK_ESTABLISHED);

		CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, i, &rec, 1, 1 }, NULL), ==, 0);
	}
	CHECK_INT(store_commit(s), ==, 0);
	if (r)
		CHECK_INT(count_snaps(r), ==, 1);
	CHECK(file_size(wal) > 0);
	store_close(s);
	/* Gone when the writer was the last connection, empty when a reader keeps it open. */
	CHECK(file_size(wal) <= 0);
	if (r) {
		CHECK_INT(file_size(wal), ==, 0);
		CHECK_INT(count_snaps(r), ==, 1);
		store_reader_close(r);
	}
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets"), ==, 2000);
}

static void test_wal_truncated_on_close(void)
{
	wal_case(0);
	wal_case(1);
}

/* The sampler's first snapshot may hold 100k new sockets: one transaction must take them fast. */
static void test_insert_rate(void)
{
	const char *path = tmp_path("rate.db");
	const uint32_t n = 100000;
	struct store *s = NULL;
	struct store_snapshot snap = make_snap(1, 1);
	struct sock_rec *recs = calloc(n, sizeof(*recs));
	double t0, dt, rate;
	int err = 0;

	CHECK(recs != NULL);
	if (!recs)
		return;
	for (uint32_t i = 0; i < n; i++)
		recs[i] = make_rec(i, i % 4 ? AF_INET : AF_INET6, 1 + (int)(i % 11));
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		goto out;
	t0 = now_mono();
	err = store_begin(s, &snap, NULL);
	for (uint32_t i = 0; i < n && !err; i++) {
		struct store_sock ss = { 4026531840u, 0x8000000000000000ull | recs[i].cookie, &recs[i],
					 1, 1 };

		err = store_sock_insert(s, &ss, NULL);
	}
	if (!err)
		err = store_commit(s);
	dt = now_mono() - t0;
	CHECK_INT(err, ==, 0);
	rate = n / dt;
	CHECK(rate > RATE_FLOOR);
	store_close(s);
	printf("insert_rate: %u socket rows in one snapshot: %.3f s, %.0f rows/s (floor %d),"
	       " %.0f bytes a row on disk\n",
	       n, dt, rate, RATE_FLOOR, (double)file_size(path) / n);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets"), ==, n);
out:
	free(recs);
}

/* Counters u64 bits, gauges, and NULL for every value the kernel did not offer. */
static void test_kstat_round_trip(void)
{
	const char *path = tmp_path("kstat.db");
	struct store *s = NULL;
	struct store_reader *r = NULL;
	struct kstat full = make_kstat(1000), none, *want;
	struct snaps got = { 0 };
	struct store_snapshot s1 = make_snap(100, 1), s2 = make_snap(200, 2), s3 = make_snap(300, 3);

	memset(&none, 0, sizeof(none));
	full.have_counter[KSTAT_TW_RECYCLED] = 0; /* gone from newer kernels */
	full.counter[KSTAT_TW_RECYCLED] = 77;      /* must not be stored */
	full.counter[KSTAT_RETRANS_SEGS] = UINT64_MAX - 1;
	full.have_gauge[KSTAT_SOCK_MEM_PAGES] = 0;
	full.setting[KSTAT_FIN_TIMEOUT] = 60; /* settings are not history */
	full.have_setting[KSTAT_FIN_TIMEOUT] = 1;
	s1.kstat = &full;
	s3.kstat = &none; /* a reading in which nothing was there */
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_begin(s, &s1, NULL), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(store_begin(s, &s2, NULL), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(store_begin(s, &s3, NULL), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	store_close(s);

	CHECK_INT(raw_int(path, "SELECT k_time_wait_entered FROM snapshots WHERE taken_at = 100"), ==,
		  1000);
	CHECK_INT(raw_int(path, "SELECT k_retrans_segs FROM snapshots WHERE taken_at = 100"), ==, -2);
	CHECK_INT(raw_int(path, "SELECT k_time_wait_recycled IS NULL FROM snapshots"
				" WHERE taken_at = 100"),
		  ==, 1);
	CHECK_INT(raw_int(path, "SELECT k_memory_pages IS NULL FROM snapshots WHERE taken_at = 100"),
		  ==, 1);
	CHECK_INT(raw_int(path, "SELECT k_orphans FROM snapshots WHERE taken_at = 100"), ==, 501);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM snapshots WHERE coalesce(k_time_wait_entered,"
				" k_retrans_segs, k_sockets_inuse, k_memory_pages) IS NULL"),
		  ==, 2);

	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		return;
	CHECK_INT(store_reader_snapshots(r, 0, 1000, 10, collect_snap, &got), ==, 0);
	CHECK_INT(got.n, ==, 3);
	CHECK(got.s[0].kstat != NULL);
	CHECK(got.s[1].kstat == NULL); /* no reading */
	CHECK(got.s[2].kstat == NULL); /* a reading with nothing in it */
	want = &full;
	if (got.s[0].kstat) {
		const struct kstat *k = got.s[0].kstat;

		for (int i = 0; i < KSTAT_COUNTER_MAX; i++) {
			CHECK_INT(k->have_counter[i], ==, want->have_counter[i]);
			if (want->have_counter[i])
				CHECK(k->counter[i] == want->counter[i]);
			else
				CHECK(k->counter[i] == 0);
		}
		for (int i = 0; i < KSTAT_GAUGE_MAX; i++) {
			CHECK_INT(k->have_gauge[i], ==, want->have_gauge[i]);
			if (want->have_gauge[i])
				CHECK_INT(k->gauge[i], ==, want->gauge[i]);
		}
		CHECK_INT(k->have_setting[KSTAT_FIN_TIMEOUT], ==, 0);
	}
	store_reader_close(r);
}

struct walked {
	struct store_rollup v[8];
	char grp[8][16];
	int n;
};

static int collect_rollup(void *arg, const struct store_rollup *r)
{
	struct walked *w = arg;

	if (w->n == 8)
		return 7;
	w->v[w->n] = *r;
	snprintf(w->grp[w->n], sizeof(w->grp[0]), "%s", r->grp ? r->grp : "");
	w->n++;
	return 0;
}

/* One bucket's stored rows, host first, nothing of other buckets or resolutions. */
static void test_rollup_walk(void)
{
	const char *path = tmp_path("walk.db");
	struct store *s = NULL;
	struct store_snapshot snap = make_snap(100, 1);
	struct walked w = { 0 };

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ 60, 120, SOCK_CLOSE_WAIT, 0, NULL, 1, 5,
							       2, 9.5, 3 }),
		  ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ 60, 120, SOCK_CLOSE_WAIT,
							       GROUP_NETNS, "ns1", 0, 4, 4, 6, 3 }),
		  ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ 60, 120, SOCK_LAST_ACK,
							       GROUP_LOCAL_PORT, "80", 0, 1, 0, 1, 3 }),
		  ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ 60, 180, SOCK_CLOSE_WAIT, 0, NULL, 1, 1,
							       1, 1, 1 }),
		  ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ 3600, 0, SOCK_CLOSE_WAIT,
							       GROUP_PROCESS, "web", 1, 1, 1, 1, 1 }),
		  ==, 0);
	/* Inside the transaction: its own writes are seen. */
	CHECK_INT(store_rollup_walk(s, 60, 120, collect_rollup, &w), ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(w.n, ==, 3);
	CHECK_INT(w.v[0].kind, ==, 0);
	CHECK(w.v[0].grp == NULL);
	CHECK_INT(w.v[0].min, ==, 1);
	CHECK_INT(w.v[0].max, ==, 5);
	CHECK_INT(w.v[0].last, ==, 2);
	CHECK(w.v[0].sum == 9.5);
	CHECK_INT(w.v[0].n, ==, 3);
	CHECK_INT(w.v[1].kind, ==, GROUP_LOCAL_PORT);
	CHECK_STR(w.grp[1], "80");
	CHECK_INT(w.v[1].state, ==, SOCK_LAST_ACK);
	CHECK_INT(w.v[2].kind, ==, GROUP_NETNS);
	CHECK_STR(w.grp[2], "ns1");
	w.n = 0;
	CHECK_INT(store_rollup_walk(s, 3600, 0, collect_rollup, &w), ==, 0);
	CHECK_INT(w.n, ==, 1);
	w.n = 0;
	CHECK_INT(store_rollup_walk(s, 60, 240, collect_rollup, &w), ==, 0);
	CHECK_INT(w.n, ==, 0);
	CHECK_INT(store_rollup_walk(s, 30, 240, collect_rollup, &w), ==, -EINVAL);
	CHECK(no_busy_stmts(last_db));
	store_close(s);
}

static void test_rollup_put(void)
{
	const char *path = tmp_path("rollup.db");
	struct store *s = NULL;
	struct store_snapshot snap = make_snap(100, 1);
	struct store_rollup ok = { STORE_RES_MINUTE, 120, SOCK_CLOSE_WAIT, 0, NULL, 1, 5, 2, 9, 3 };
	struct store_rollup bad;
	char big[300]; /* no comm or port is anywhere near this */

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_rollup_put(s, &ok), ==, -EINVAL); /* only inside a snapshot */
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	CHECK_INT(store_rollup_put(s, &ok), ==, 0);
	/* The bucket is written again as it fills: the row is replaced, not added. */
	ok.max = 7;
	ok.sum = 20;
	ok.n = 4;
	ok.last = 7;
	CHECK_INT(store_rollup_put(s, &ok), ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ STORE_RES_HOUR, 3600, SOCK_CLOSE_WAIT, 0,
							       NULL, 0, 1, 1, 1, 1 }),
		  ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ STORE_RES_MINUTE, 120, SOCK_CLOSE_WAIT,
							       GROUP_PROCESS, "nginx", 0, 3, 3,
							       6, 3 }),
		  ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ STORE_RES_MINUTE, 120, SOCK_CLOSE_WAIT,
							       GROUP_LOCAL_PORT, "8080", 0, 2,
							       2, 4, 3 }),
		  ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ STORE_RES_MINUTE, 120, SOCK_CLOSE_WAIT,
							       GROUP_PROCESS, "nginx", 0, 4, 4,
							       8, 4 }),
		  ==, 0);

	/* What a sampler bug would look like is refused, not stored. */
	bad = ok;
	bad.res = 30;
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad = ok;
	bad.res = STORE_RES_RAW;
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad = ok;
	bad.t = 90; /* not a bucket start */
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad = ok;
	bad.t = -60;
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad = ok;
	bad.state = 0;
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad.state = SOCK_STATE_MAX;
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad = ok;
	bad.n = 0;
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad = ok;
	bad.min = 9;
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad = ok;
	bad.sum = NAN;
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad = ok;
	bad.grp = "nginx"; /* a host row has no group */
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad = ok;
	bad.kind = GROUP_PROCESS; /* a group row needs one */
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad.kind = 4;
	bad.grp = "x";
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	bad.kind = GROUP_PROCESS;
	bad.grp = big;
	CHECK_INT(store_rollup_put(s, &bad), ==, -EINVAL);
	CHECK_INT(store_rollup_put(s, NULL), ==, -EINVAL);
	CHECK_INT(store_commit(s), ==, 0);

	/* Rolled back with its snapshot. */
	snap.taken_at = 200;
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	CHECK_INT(store_rollup_put(s, &(struct store_rollup){ STORE_RES_MINUTE, 180, SOCK_CLOSE_WAIT,
							       0, NULL, 0, 1, 1, 1, 1 }),
		  ==, 0);
	store_rollback(s);
	store_close(s);

	CHECK_INT(raw_int(path, "SELECT count(*) FROM rollups"), ==, 2);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM group_rollups"), ==, 2);
	CHECK_INT(raw_int(path, "SELECT max FROM rollups WHERE res = 60 AND t = 120 AND state = 8"),
		  ==, 7);
	CHECK_INT(raw_int(path, "SELECT sum * 10 + n FROM rollups WHERE res = 60 AND t = 120"), ==,
		  204);
	CHECK_INT(raw_int(path, "SELECT last FROM rollups WHERE res = 60 AND t = 120"), ==, 7);
	CHECK_INT(raw_int(path, "SELECT max FROM group_rollups WHERE kind = 2 AND grp = 'nginx'"), ==,
		  4);
	CHECK_INT(raw_int(path, "SELECT max FROM group_rollups WHERE kind = 1 AND grp = '8080'"), ==,
		  2);
}

int main(int argc, char **argv)
{
	static const struct store_case cases[] = {
		{ "round_trip", test_round_trip },
		{ "open_walk_uses_index", test_open_walk_uses_index },
		{ "rollback_leaves_nothing", test_rollback_leaves_nothing },
		{ "misuse", test_misuse },
		{ "statements_reset", test_statements_reset },
		{ "error_mapping", test_error_mapping },
		{ "wal_truncated_on_close", test_wal_truncated_on_close },
		{ "insert_rate", test_insert_rate },
		{ "kstat_round_trip", test_kstat_round_trip },
		{ "rollup_put", test_rollup_put },
		{ "rollup_walk", test_rollup_walk },
	};

	return store_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &check_failures,
			       &check_passes);
}
