/* test_store_schema.c - the schema: migrations, each version's fixture, refusals, pragmas. */
#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "store_fixture.h"

/* The snapshots columns are named after the state labels, then the kernel metrics, in order. */
static void test_schema_matches_labels(void)
{
	const char *path = tmp_path("labels.db");
	struct store *s = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int i = 0;

	CHECK_INT(store_open(&s, path), ==, 0);
	store_close(s);
	CHECK_INT(sqlite3_open(path, &db), ==, SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('snapshots') ORDER BY cid",
				     -1, &st, NULL),
		  ==, SQLITE_OK);
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		char want[64];
		int k = i - (6 + SOCK_STATE_MAX - 1);

		if (i >= 6 && i - 5 < SOCK_STATE_MAX)
			CHECK_STR(name, sock_state_label(i - 5));
		/* v2: then k_<metric> of every kernel counter, then of every gauge. */
		if (k >= 0 && k < KSTAT_COUNTER_MAX) {
			snprintf(want, sizeof(want), "k_%s", kstat_counter_info(k)->metric);
			CHECK_STR(name, want);
		} else if (k >= KSTAT_COUNTER_MAX && k < KSTAT_COUNTER_MAX + KSTAT_GAUGE_MAX) {
			snprintf(want, sizeof(want), "k_%s",
				 kstat_gauge_info(k - KSTAT_COUNTER_MAX)->metric);
			CHECK_STR(name, want);
		}
		i++;
	}
	CHECK_INT(i, ==, 6 + SOCK_STATE_MAX - 1 + KSTAT_COUNTER_MAX + KSTAT_GAUGE_MAX);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_migrate_v0(void)
{
	const char *empty = tmp_path("empty.db"), *absent = tmp_path("absent.db");
	static char before[SCHEMA_TEXT_MAX], after[SCHEMA_TEXT_MAX];
	struct store *s = NULL;

	/* An empty file and a missing one are both version 0. */
	CHECK_INT(write_file(empty, "", 0), ==, 0);
	CHECK_INT(store_open(&s, empty), ==, 0);
	store_close(s);
	CHECK_INT(raw_int(empty, "PRAGMA user_version"), ==, STORE_SCHEMA_VERSION);
	CHECK_INT(raw_int(empty, "PRAGMA application_id"), ==, 0x4c4e4744);
	CHECK_INT(raw_int(empty, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"), ==, 10);
	s = NULL;
	CHECK_INT(store_open(&s, absent), ==, 0);
	store_close(s);
	CHECK_INT(raw_int(absent, "PRAGMA user_version"), ==, STORE_SCHEMA_VERSION);

	/* A file an earlier open created is reopened unchanged. */
	schema_text(empty, before, sizeof(before));
	CHECK_INT(raw_exec(empty, "INSERT INTO meta VALUES ('k', 'v')"), ==, SQLITE_OK);
	s = NULL;
	CHECK_INT(store_open(&s, empty), ==, 0);
	store_close(s);
	schema_text(empty, after, sizeof(after));
	CHECK_STR(after, before);
	CHECK_INT(raw_int(empty, "SELECT count(*) FROM meta"), ==, 1);
	CHECK(strlen(before) > 100);
}

/*
 * Every earlier schema version, kept as tests/data/store-vN.sql, opens and ends up with
 * the schema a new file gets, its rows intact.
 */
static void test_migrate_fixtures(void)
{
	const char *data = getenv("LINGERD_TEST_DATA");
	const char *fresh = tmp_path("fresh.db");
	static char want[SCHEMA_TEXT_MAX], got[SCHEMA_TEXT_MAX], before[SCHEMA_TEXT_MAX];
	char file[512], name[32];
	struct store *s = NULL;

	if (!data)
		data = "tests/data";
	CHECK_INT(store_open(&s, fresh), ==, 0);
	store_close(s);
	schema_text(fresh, want, sizeof(want));

	for (int v = 1; v <= STORE_SCHEMA_VERSION; v++) {
		char *sql;
		const char *path;
		long long snaps, socks;

		snprintf(file, sizeof(file), "%s/store-v%d.sql", data, v);
		snprintf(name, sizeof(name), "fixture-v%d.db", v);
		path = tmp_path(name);
		sql = read_text(file);
		CHECK(sql != NULL);
		if (!sql) {
			fprintf(stderr, "missing fixture %s\n", file);
			continue;
		}
		CHECK_INT(raw_exec(path, sql), ==, SQLITE_OK);
		free(sql);
		CHECK_INT(raw_int(path, "PRAGMA user_version"), ==, v);
		snaps = raw_int(path, "SELECT count(*) FROM snapshots");
		socks = raw_int(path, "SELECT count(*) FROM sockets");
		schema_text(path, before, sizeof(before));
		s = NULL;
		CHECK_INT(store_open(&s, path), ==, 0);
		store_close(s);
		CHECK_INT(raw_int(path, "PRAGMA user_version"), ==, STORE_SCHEMA_VERSION);
		CHECK_INT(raw_int(path, "SELECT count(*) FROM snapshots"), ==, snaps);
		CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets"), ==, socks);
		schema_text(path, got, sizeof(got));
		CHECK_STR(got, want);
		if (v == STORE_SCHEMA_VERSION)
			CHECK_STR(got, before); /* the current version is left alone */
	}

	/* What the v1 fixture holds reads back through the API. */
	{
		const char *path = tmp_path("fixture-v1.db");
		struct open_rows o = { 0 };
		struct store_reader *r = NULL;
		struct snaps c = { 0 };
		const struct open_row *row;
		char buf[32];

		s = NULL;
		CHECK_INT(store_open(&s, path), ==, 0);
		if (!s)
			return;
		CHECK_INT(store_meta_get(s, "boot_id", buf, sizeof(buf)), ==, 0);
		CHECK_STR(buf, "fixture-boot");
		CHECK_INT(store_open_sockets(s, collect_open, &o), ==, 0);
		CHECK_INT(o.n, ==, 2);
		row = find_open(&o, 2);
		CHECK(row && row->key == 0xfffffffffffffffeull && row->netns == 4026531840ull &&
		      row->state == SOCK_CLOSE_WAIT && row->state_since == 1700000004.0);
		store_close(s);
		CHECK_INT(store_reader_open(&r, path), ==, 0);
		if (!r)
			return;
		CHECK_INT(store_reader_snapshots(r, 0, 2e9, 10, collect_snap, &c), ==, 0);
		CHECK_INT(c.n, ==, 2);
		CHECK(c.s[1].partial == 1 && c.s[1].counts[SOCK_CLOSE_WAIT] == 1 &&
		      c.s[1].counts[SOCK_LISTEN] == 1 && c.s[1].total == 2);
		/* v1 rows have no kernel values, and there are no rollups yet. */
		CHECK(c.s[0].kstat == NULL && c.s[1].kstat == NULL);
		{
			struct kstat a, b;
			double at, bt;
			struct points p = { 0 };

			CHECK_INT(store_reader_kstat_pair(r, 0, 2e9, &a, &at, &b, &bt), ==, -ENOENT);
			CHECK_INT(store_reader_trend(r, STORE_RES_MINUTE, 1u << SOCK_CLOSE_WAIT, 0, 2e9,
						     60, 10, collect_point, &p),
				  ==, 0);
			CHECK_INT(p.n, ==, 0);
			free(p.v);
		}
		store_reader_close(r);
	}

	/* What the v2 fixture holds reads back through the API. */
	{
		const char *path = tmp_path("fixture-v2.db");
		struct store_reader *r = NULL;
		struct snaps c = { 0 };
		struct points p = { 0 };
		struct kstat a, b;
		double at = 0, bt = 0;

		CHECK_INT(store_reader_open(&r, path), ==, 0);
		if (!r)
			return;
		CHECK_INT(store_reader_snapshots(r, 0, 2e9, 10, collect_snap, &c), ==, 0);
		CHECK_INT(c.n, ==, 3);
		CHECK(c.s[0].kstat == NULL && c.s[1].kstat != NULL && c.s[2].kstat != NULL);
		if (c.n == 3 && c.s[2].kstat) {
			CHECK(c.s[2].kstat->have_counter[KSTAT_TW_RECYCLED] == 0);
			CHECK(c.s[2].kstat->counter[KSTAT_TW] == 160);
			CHECK(c.s[2].kstat->counter[KSTAT_OUT_RSTS] == 55);
			CHECK(c.s[2].kstat->counter[KSTAT_RETRANS_SEGS] == 0xfffffffffffffffeull);
			CHECK(c.s[2].kstat->gauge[KSTAT_SOCK_MEM_PAGES] == 31);
		}
		CHECK_INT(store_reader_kstat_pair(r, 1700000060, 1700000200, &a, &at, &b, &bt), ==, 0);
		CHECK(at == 1700000060 && bt == 1700000120);
		CHECK(b.counter[KSTAT_TW] - a.counter[KSTAT_TW] == 60);
		CHECK_INT(store_reader_trend(r, STORE_RES_MINUTE, 1u << SOCK_CLOSE_WAIT, 0, 2e9, 120,
					     10, collect_point, &p),
			  ==, 0);
		/* Minutes 1700000040 (1) and 1700000100 (0) fall in one 2-minute bucket. */
		CHECK_INT(p.n, ==, 1);
		CHECK(p.n == 1 && p.v[0].t == 1700000040 && p.v[0].mean == 0.5 && p.v[0].max == 1);
		p.n = 0;
		CHECK_INT(store_reader_group_trend(r, STORE_RES_MINUTE, GROUP_PROCESS,
						   1u << SOCK_CLOSE_WAIT, 0, 2e9, 60, 5, 10,
						   collect_point, &p),
			  ==, 0);
		CHECK(p.n == 1 && strcmp(p.v[0].grp, "postgres") == 0);
		free(p.v);
		store_reader_close(r);
	}
}

/* What the v3 fixture holds reads back: one namespace's raw and minute trends, exactly. */
static void test_fixture_v3_netns(void)
{
	const char *data = getenv("LINGERD_TEST_DATA");
	const char *path = tmp_path("fixture-v3-netns.db"), *v2 = tmp_path("fixture-v2-netns.db");
	uint32_t cw = 1u << SOCK_CLOSE_WAIT, cw_est = cw | (1u << SOCK_ESTABLISHED);
	struct store_reader *r = NULL;
	struct store *s = NULL;
	struct points p = { 0 };
	char file[512];
	char *sql;

	if (!data)
		data = "tests/data";
	snprintf(file, sizeof(file), "%s/store-v3.sql", data);
	sql = read_text(file);
	CHECK(sql != NULL);
	if (!sql)
		return;
	CHECK_INT(raw_exec(path, sql), ==, SQLITE_OK);
	free(sql);
	/* Readers open only the current schema: the writer migrates the file first. */
	CHECK_INT(store_open(&s, path), ==, 0);
	store_close(s);
	s = NULL;
	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (!r)
		return;
	CHECK_INT(store_reader_netns_known(r, "pod-a"), ==, 1);
	CHECK_INT(store_reader_netns_known(r, "pod-b"), ==, 0);
	CHECK_INT(store_reader_netns_known(r, "postgres"), ==, 0); /* a process group, not a ns */
	/* Raw: the two per-snapshot rows. */
	CHECK_INT(store_reader_netns_trend(r, "pod-a", STORE_RES_RAW, cw, 0, 2e9, 60, 10,
					   collect_point, &p),
		  ==, 0);
	CHECK_INT(p.n, ==, 2);
	if (p.n == 2) {
		CHECK(p.v[0].state == SOCK_CLOSE_WAIT && p.v[0].t == 1700000040 &&
		      p.v[0].mean == 2 && p.v[0].max == 2 && !p.v[0].has_grp);
		CHECK(p.v[1].t == 1700000100 && p.v[1].mean == 0 && p.v[1].max == 0);
	}
	/* Minutes: CLOSE_WAIT has no row in the second minute, which is a 0 there. */
	p.n = 0;
	CHECK_INT(store_reader_netns_trend(r, "pod-a", STORE_RES_MINUTE, cw_est, 0, 2e9, 60, 10,
					   collect_point, &p),
		  ==, 0);
	CHECK_INT(p.n, ==, 4);
	if (p.n == 4) {
		CHECK(p.v[0].state == SOCK_ESTABLISHED && p.v[0].t == 1700000040 && p.v[0].max == 0);
		CHECK(p.v[1].state == SOCK_ESTABLISHED && p.v[1].t == 1700000100);
		CHECK(p.v[2].state == SOCK_CLOSE_WAIT && p.v[2].t == 1700000040 &&
		      p.v[2].mean == 2 && p.v[2].max == 2);
		CHECK(p.v[3].state == SOCK_CLOSE_WAIT && p.v[3].t == 1700000100 &&
		      p.v[3].mean == 0 && p.v[3].max == 0);
	}
	/* Both minutes in one 2-minute step: mean (2 + 0) / 2. */
	p.n = 0;
	CHECK_INT(store_reader_netns_trend(r, "pod-a", STORE_RES_MINUTE, cw, 0, 2e9, 120, 10,
					   collect_point, &p),
		  ==, 0);
	CHECK(p.n == 1 && p.v[0].t == 1700000040 && p.v[0].mean == 1 && p.v[0].max == 2);
	/* An unknown name has no points; the host series is not a namespace's. */
	p.n = 0;
	CHECK_INT(store_reader_netns_trend(r, "pod-b", STORE_RES_MINUTE, cw, 0, 2e9, 60, 10,
					   collect_point, &p),
		  ==, 0);
	CHECK_INT(p.n, ==, 0);
	free(p.v);
	store_reader_close(r);

	/* A v2 file migrated to v3 knows no namespace, and takes new rows. */
	sql = NULL;
	snprintf(file, sizeof(file), "%s/store-v2.sql", data);
	sql = read_text(file);
	CHECK(sql != NULL);
	if (!sql)
		return;
	CHECK_INT(raw_exec(v2, sql), ==, SQLITE_OK);
	free(sql);
	CHECK_INT(store_open(&s, v2), ==, 0);
	if (!s)
		return;
	{
		struct store_snapshot snap = make_snap(1700000180, 4);
		uint32_t counts[SOCK_STATE_MAX] = { 0 };
		int64_t id = 0;

		counts[SOCK_TIME_WAIT] = 3;
		CHECK_INT(store_begin(s, &snap, &id), ==, 0);
		CHECK_INT(store_netns_put(s, id, snap.taken_at, "pod-c", counts), ==, 0);
		CHECK_INT(store_commit(s), ==, 0);
	}
	store_close(s);
	r = NULL;
	CHECK_INT(store_reader_open(&r, v2), ==, 0);
	if (!r)
		return;
	CHECK_INT(store_reader_netns_known(r, "pod-a"), ==, 0);
	CHECK_INT(store_reader_netns_known(r, "pod-c"), ==, 1);
	store_reader_close(r);
}

static void test_newer_schema_refused(void)
{
	const char *path = tmp_path("newer.db"), *bare = tmp_path("newer-bare.db");
	char sql[128];
	struct store *s = NULL;
	struct store_reader *r = NULL;

	CHECK_INT(store_open(&s, path), ==, 0);
	store_close(s);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
	CHECK_INT(raw_exec(path, sql), ==, SQLITE_OK);
	s = NULL;
	CHECK_INT(store_open(&s, path), ==, -EPROTONOSUPPORT);
	CHECK(s == NULL);
	CHECK_INT(store_reader_open(&r, path), ==, -EPROTONOSUPPORT);
	CHECK(r == NULL);
	CHECK_INT(raw_int(path, "PRAGMA user_version"), ==, STORE_SCHEMA_VERSION + 1);

	/* Without our application_id too: a newer lingerd is the likelier author. */
	CHECK_INT(raw_exec(bare, "PRAGMA user_version = 99"), ==, SQLITE_OK);
	CHECK_INT(store_open(&s, bare), ==, -EPROTONOSUPPORT);
}

static void test_foreign_refused(void)
{
	const char *path = tmp_path("foreign.db"), *gpkg = tmp_path("foreign-appid.db"),
		   *liar = tmp_path("foreign-version.db");
	struct store *s = NULL;
	struct store_reader *r = NULL;

	CHECK_INT(raw_exec(path, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT);"
				 "INSERT INTO accounts VALUES (1, 'alice')"),
		  ==, SQLITE_OK);
	CHECK_INT(store_open(&s, path), ==, -ENOTSUP);
	CHECK(s == NULL);
	CHECK_INT(store_reader_open(&r, path), ==, -ENOTSUP);
	/* Refused before any change: not even switched to WAL. */
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sqlite_schema"), ==, 1);
	CHECK_INT(raw_int(path, "PRAGMA user_version"), ==, 0);
	{
		sqlite3 *db = NULL;
		char mode[16];

		sqlite3_open(path, &db);
		db_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
		CHECK_STR(mode, "delete");
		sqlite3_close(db);
	}
	CHECK_INT(file_size(tmp_path("foreign.db-wal")), ==, -1);

	/* Someone else's application_id (GeoPackage), even with no tables. */
	CHECK_INT(raw_exec(gpkg, "PRAGMA application_id = 1196444487"), ==, SQLITE_OK);
	CHECK_INT(store_open(&s, gpkg), ==, -ENOTSUP);

	/* Another program that uses user_version 1 for its own tables. */
	CHECK_INT(raw_exec(liar, "CREATE TABLE t (x); PRAGMA user_version = 1"), ==, SQLITE_OK);
	CHECK_INT(store_open(&s, liar), ==, -ENOTSUP);
	CHECK(s == NULL);
}

static void test_garbage_refused(void)
{
	const char *noise = tmp_path("noise.db"), *cut = tmp_path("cut.db"),
		   *head = tmp_path("head.db");
	unsigned char buf[4096];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct store *s = NULL;
	struct store_reader *r = NULL;
	off_t size;

	/* 4 KiB of noise (xorshift: the same noise on every run). */
	for (size_t i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
	CHECK_INT(write_file(noise, buf, sizeof(buf)), ==, 0);
	CHECK_INT(store_open(&s, noise), ==, -EUCLEAN);
	CHECK(s == NULL);
	CHECK_INT(store_reader_open(&r, noise), ==, -EUCLEAN);
	CHECK_INT(file_size(noise), ==, 4096);

	/* A real database cut short. */
	CHECK_INT(store_open(&s, cut), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_begin(s, &(struct store_snapshot){ .taken_at = 1, .source = "proc" }, NULL),
		  ==, 0);
	for (uint32_t i = 0; i < 3000; i++) {
		struct sock_rec rec = make_rec(i, AF_INET6, SOCK_ESTABLISHED);

		CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, i, &rec, 1, 1 }, NULL), ==, 0);
	}
	CHECK_INT(store_commit(s), ==, 0);
	store_close(s);
	s = NULL;
	size = file_size(cut);
	CHECK(size > 16 * 4096);
	CHECK_INT(copy_file(cut, head), ==, 0);
	CHECK_INT(truncate(cut, size / 2), ==, 0);
	CHECK_INT(store_open(&s, cut), ==, -EUCLEAN);
	CHECK(s == NULL);
	/* Only the header page left. */
	CHECK_INT(truncate(head, 100), ==, 0);
	CHECK_INT(store_open(&s, head), ==, -EUCLEAN);
	CHECK(s == NULL);
}

/* A real database, closed, with 4 KiB of noise written over page pgno (1-based). */
static void noise_over_page(const char *path, long long pgno)
{
	unsigned char buf[4096];
	FILE *f = fopen(path, "r+b");

	memset(buf, 0xa5, sizeof(buf));
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_INT(fseek(f, (long)((pgno - 1) * 4096), SEEK_SET), ==, 0);
	CHECK_INT(fwrite(buf, 1, sizeof(buf), f), ==, sizeof(buf));
	fclose(f);
}

/*
 * Garbage past the first page (at offset 4096, or over a table in the middle of the file)
 * leaves the header readable: identifying the file works, and before quick_check at open
 * the garbage was met only by a later read (every start failing in resume, or every
 * snapshot).  Corruption is -EUCLEAN, never -EIO, and says so.
 */
static void test_garbage_past_header(void)
{
	const char *paths[2] = { tmp_path("page2.db"), tmp_path("middle.db") };

	for (int k = 0; k < 2; k++) {
		struct store *s = NULL;
		char msg[160] = "";
		long long pages, pgno;

		CHECK_INT(store_open(&s, paths[k]), ==, 0);
		if (!s)
			return;
		CHECK_INT(store_begin(s, &(struct store_snapshot){ .taken_at = 1, .source = "proc" },
				      NULL),
			  ==, 0);
		for (uint32_t i = 0; i < 3000; i++) {
			struct sock_rec rec = make_rec(i, AF_INET6, SOCK_ESTABLISHED);

			CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, i, &rec, 1, 1 }, NULL),
				  ==, 0);
		}
		CHECK_INT(store_commit(s), ==, 0);
		store_close(s);
		s = NULL;
		pages = raw_int(paths[k], "PRAGMA page_count");
		CHECK(pages > 16);
		/* Page 2, or the root of the sockets index that sits in the middle of the file. */
		pgno = k == 0 ? 2
			      : raw_int(paths[k], "SELECT rootpage FROM sqlite_schema"
						  " WHERE name = 'sockets_open'");
		CHECK(pgno >= 2);
		noise_over_page(paths[k], pgno);
		CHECK_INT(store_open_diag(&s, paths[k], msg, sizeof(msg)), ==, -EUCLEAN);
		CHECK(s == NULL);
		CHECK(strstr(msg, "malformed") != NULL || strstr(msg, "not a database") != NULL);
	}
}

/*
 * A healthy database that cannot be opened for another reason (here its -shm is a
 * directory, as good as a root-owned -shm file for an unprivileged writer, and root is
 * not stopped by permissions) is not corruption: not -EUCLEAN, and the message says what.
 */
static void test_other_errors_not_corrupt(void)
{
	const char *path = tmp_path("shm.db");
	char shm[512], msg[160] = "";
	struct store *s = NULL;
	int err;

	CHECK_INT(store_open(&s, path), ==, 0);
	store_close(s);
	s = NULL;
	snprintf(shm, sizeof(shm), "%s-shm", path);
	CHECK_INT(mkdir(shm, 0700), ==, 0);
	err = store_open_diag(&s, path, msg, sizeof(msg));
	CHECK(err < 0);
	CHECK(err != -EUCLEAN);
	CHECK(s == NULL);
	CHECK(msg[0] != '\0');
	fprintf(stderr, "a directory as -shm: %s (%s)\n", strerror(-err), msg);
	CHECK_INT(rmdir(shm), ==, 0);
	CHECK_INT(store_open(&s, path), ==, 0);
	store_close(s);
}

static void test_pragmas(void)
{
	const char *path = tmp_path("pragmas.db");
	struct store *s = NULL;
	struct store_reader *r = NULL;
	sqlite3 *db;
	char mode[16];

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	db = last_db;
	db_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	CHECK_STR(mode, "wal");
	CHECK_INT(db_int(db, "PRAGMA synchronous"), ==, 1);
	CHECK_INT(db_int(db, "PRAGMA secure_delete"), ==, 0);
	CHECK_INT(db_int(db, "PRAGMA foreign_keys"), ==, 1);
	CHECK_INT(db_int(db, "PRAGMA busy_timeout"), >, 0);
	CHECK_INT(db_int(db, "PRAGMA journal_size_limit"), >, 0);
	CHECK_INT(sqlite3_db_readonly(db, "main"), ==, 0);

	CHECK_INT(store_reader_open(&r, path), ==, 0);
	if (r) {
		CHECK_INT(sqlite3_db_readonly(last_db, "main"), ==, 1);
		CHECK_INT(db_int(last_db, "PRAGMA busy_timeout"), >, 0);
		store_reader_close(r);
	}
	store_close(s);
}

int main(int argc, char **argv)
{
	static const struct store_case cases[] = {
		{ "schema_matches_labels", test_schema_matches_labels },
		{ "migrate_v0", test_migrate_v0 },
		{ "migrate_fixtures", test_migrate_fixtures },
		{ "fixture_v3_netns", test_fixture_v3_netns },
		{ "newer_schema_refused", test_newer_schema_refused },
		{ "foreign_refused", test_foreign_refused },
		{ "garbage_refused", test_garbage_refused },
		{ "pragmas", test_pragmas },
		{ "garbage_past_header", test_garbage_past_header },
		{ "other_errors_not_corrupt", test_other_errors_not_corrupt },
	};

	return store_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &check_failures,
			       &check_passes);
}
