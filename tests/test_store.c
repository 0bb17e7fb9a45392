/* test_store.c - the SQLite store: round trip, migrations, refusals, transactions, WAL, speed. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store.h"

static char tmp_dir[64];

/*
 * Every connection SQLite opens passes through this auto-extension hook, which lets the
 * test look inside the store's own connections (pragmas, open statements) without the
 * store exporting anything for tests.
 */
static sqlite3 *last_db;

static int hook_connection(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
	(void)err;
	(void)api;
	last_db = db;
	return SQLITE_OK;
}

static const char *tmp_path(const char *name)
{
	static char buf[8][sizeof(tmp_dir) + 256 + 2];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmp_dir, name);
	return p;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Runs SQL on a separate plain connection; returns the SQLite result code. */
static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* First column of the first row of sql on a plain connection, or -999 on failure. */
static long long raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -999;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static long long db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -999;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void db_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* 1 when no statement of db is mid-step: an un-reset statement pins a read transaction. */
static int no_busy_stmts(sqlite3 *db)
{
	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
		if (sqlite3_stmt_busy(st))
			return 0;
	return 1;
}

/* Room for the whole schema as text (v2 is about 4 KiB). */
#define SCHEMA_TEXT_MAX 16384

/*
 * The schema as text, whitespace-insensitive, so a fixture written by hand compares
 * equal to what the migrations build.
 */
static void schema_text(const char *path, char *buf, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t n = 0;

	buf[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT type || ' ' || name || ' ' || tbl_name || ': ' || sql"
			       " FROM sqlite_schema ORDER BY name",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *p = (const char *)sqlite3_column_text(st, 0);
		char prev = ' ';

		for (; p && *p && n + 2 < len; p++) {
			char c = (*p == '\n' || *p == '\t') ? ' ' : *p;

			/* Collapse runs of blanks and drop those next to brackets. */
			if (c == ' ' && (prev == ' ' || prev == '(' || p[1] == ')' || p[1] == ' ' ||
					 p[1] == '\n'))
				continue;
			buf[n++] = c;
			prev = c;
		}
		buf[n++] = '\n';
		buf[n] = '\0';
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int copy_file(const char *from, const char *to)
{
	char buf[4096];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	int err = in && out ? 0 : -1;

	while (!err && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			err = -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		err = -1;
	return err;
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int err = f ? 0 : -1;

	if (f && len && fwrite(data, 1, len, f) != len)
		err = -1;
	if (f && fclose(f) != 0)
		err = -1;
	return err;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)len + 1)) != NULL) {
		if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else {
			buf[len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static struct sock_rec make_rec(uint32_t i, int family, int state)
{
	struct sock_rec r = { 0 };

	r.cookie = i;
	r.inode = 100000u + i;
	r.uid = 1000;
	r.family = (uint8_t)family;
	r.state = (uint8_t)state;
	r.lport = (uint16_t)(1024 + i % 60000);
	r.rport = 443;
	if (family == AF_INET) {
		uint32_t l = htonl(0x7f000001u), rem = htonl(0x0a000000u | i);

		memcpy(r.laddr, &l, 4);
		memcpy(r.raddr, &rem, 4);
	} else {
		r.laddr[15] = 1;
		r.raddr[0] = 0xfd;
		memcpy(r.raddr + 12, &i, 4);
	}
	return r;
}

static struct store_snapshot make_snap(double t, uint32_t seed)
{
	struct store_snapshot s = { .taken_at = t, .duration_ms = 1.25, .source = "netlink" };

	for (int i = 1; i < SOCK_STATE_MAX; i++) {
		s.counts[i] = seed * 100 + (uint32_t)i;
		s.total += s.counts[i];
	}
	return s;
}

/* ---- collectors for the walks ---- */

struct open_row {
	int64_t id;
	uint64_t netns, key;
	int state;
	double first_seen, state_since;
};

struct open_rows {
	struct open_row v[64];
	int n;
	int stop_after; /* 0: never */
};

static int collect_open(void *arg, int64_t row_id, uint64_t netns, uint64_t key, int state,
			double first_seen, double state_since)
{
	struct open_rows *o = arg;

	if (o->n < (int)(sizeof(o->v) / sizeof(o->v[0])))
		o->v[o->n] = (struct open_row){ row_id, netns, key, state, first_seen, state_since };
	o->n++;
	return o->stop_after && o->n >= o->stop_after ? 42 : 0;
}

static const struct open_row *find_open(const struct open_rows *o, int64_t id)
{
	for (int i = 0; i < o->n && i < 64; i++)
		if (o->v[i].id == id)
			return &o->v[i];
	return NULL;
}

struct snaps {
	int64_t id[16];
	struct store_snapshot s[16];
	char source[16][16];
	int n;
	int stop_after;
	struct store *writer; /* when set, commits a snapshot from inside the callback */
	int writer_err;
};

static int collect_snap(void *arg, int64_t id, const struct store_snapshot *snap)
{
	struct snaps *c = arg;

	if (c->n < 16) {
		c->id[c->n] = id;
		c->s[c->n] = *snap;
		snprintf(c->source[c->n], sizeof(c->source[0]), "%s", snap->source);
		c->s[c->n].source = c->source[c->n];
	}
	c->n++;
	if (c->writer) {
		struct store_snapshot s = make_snap(5000 + c->n, 9);

		c->writer_err = store_begin(c->writer, &s, NULL);
		if (!c->writer_err)
			c->writer_err = store_commit(c->writer);
	}
	return c->stop_after && c->n >= c->stop_after ? 7 : 0;
}

static int count_snaps(struct store_reader *r)
{
	struct snaps c = { 0 };
	int err = store_reader_snapshots(r, -INFINITY, INFINITY, UINT32_MAX, collect_snap, &c);

	return err < 0 ? err : c.n;
}

/* ---- cases ---- */

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
	CHECK_INT(raw_int(empty, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"), ==, 5);
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
		store_reader_close(r);
	}
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
	CHECK_INT(store_open(&s, noise), ==, -EIO);
	CHECK(s == NULL);
	CHECK_INT(store_reader_open(&r, noise), ==, -EIO);
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
	CHECK_INT(store_open(&s, cut), ==, -EIO);
	CHECK(s == NULL);
	/* Only the header page left. */
	CHECK_INT(truncate(head, 100), ==, 0);
	CHECK_INT(store_open(&s, head), ==, -EIO);
	CHECK(s == NULL);
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

/*
 * A floor far below the measured rate, so a loaded machine cannot make it flake.  Under
 * AddressSanitizer every SQLite malloc goes through ASan's allocator (Debian's SQLite is
 * built with OMIT_LOOKASIDE: about five mallocs a row), which costs ~7x: a lower floor.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RATE_FLOOR 10000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RATE_FLOOR 10000
#endif
#endif
#ifndef RATE_FLOOR
#define RATE_FLOOR 50000
#endif

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

static void remove_tmp_dir(void)
{
	DIR *d = opendir(tmp_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlink(tmp_path(e->d_name));
	closedir(d);
	rmdir(tmp_dir);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "round_trip", test_round_trip },
		{ "reader_time_order", test_reader_time_order },
		{ "schema_matches_labels", test_schema_matches_labels },
		{ "open_walk_uses_index", test_open_walk_uses_index },
		{ "migrate_v0", test_migrate_v0 },
		{ "migrate_fixtures", test_migrate_fixtures },
		{ "newer_schema_refused", test_newer_schema_refused },
		{ "foreign_refused", test_foreign_refused },
		{ "garbage_refused", test_garbage_refused },
		{ "rollback_leaves_nothing", test_rollback_leaves_nothing },
		{ "misuse", test_misuse },
		{ "pragmas", test_pragmas },
		{ "statements_reset", test_statements_reset },
		{ "reader_concurrent", test_reader_concurrent },
		{ "error_mapping", test_error_mapping },
		{ "reader_missing", test_reader_missing },
		{ "wal_truncated_on_close", test_wal_truncated_on_close },
		{ "insert_rate", test_insert_rate },
	};

	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_store.XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	sqlite3_auto_extension((void (*)(void))hook_connection);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = check_failures;

		cases[i].fn();
		printf("%-26s %s\n", cases[i].name, check_failures == before ? "ok" : "FAILED");
	}
	sqlite3_reset_auto_extension();
	remove_tmp_dir();
	return CHECK_DONE();
}
