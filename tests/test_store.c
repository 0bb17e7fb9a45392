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
	struct kstat k[16]; /* what s[i].kstat pointed at, when it was set */
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
		if (snap->kstat) {
			c->k[c->n] = *snap->kstat;
			c->s[c->n].kstat = &c->k[c->n];
		}
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

/* ---- trend expectations, computed the slow obvious way ---- */

/* One input of a series: a raw value (sum = max = v, n = 1) or a rollup row. */
struct sample {
	int64_t t;
	int state;
	const char *grp;
	double sum;
	int64_t n, max;
};

struct samples {
	struct sample *v;
	size_t n, cap;
};

static void sample_add(struct samples *ss, int64_t t, int state, const char *grp, double sum,
		       int64_t n, int64_t max)
{
	if (ss->n == ss->cap) {
		size_t cap = ss->cap ? ss->cap * 2 : 1024;
		struct sample *v = realloc(ss->v, cap * sizeof(*v));

		if (!v)
			abort();
		ss->v = v;
		ss->cap = cap;
	}
	ss->v[ss->n++] = (struct sample){ t, state, grp, sum, n, max };
}

struct point {
	int state;
	int has_grp;
	char grp[32];
	int64_t t;
	double mean;
	int64_t max;
};

struct points {
	struct point *v;
	size_t n, cap;
	size_t stop_after;
};

static int point_add(struct points *p, int state, const char *grp, int64_t t, double mean,
		     int64_t max)
{
	struct point *q;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		struct point *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	q = &p->v[p->n++];
	q->state = state;
	q->has_grp = grp != NULL;
	snprintf(q->grp, sizeof(q->grp), "%s", grp ? grp : "");
	q->t = t;
	q->mean = mean;
	q->max = max;
	return 0;
}

static int collect_point(void *arg, int state, const char *grp, int64_t t, double mean,
			 int64_t max)
{
	struct points *p = arg;
	int err = point_add(p, state, grp, t, mean, max);

	if (err)
		return err;
	return p->stop_after && p->n >= p->stop_after ? 9 : 0;
}

static int sample_t_cmp(const void *pa, const void *pb)
{
	const struct sample *a = *(const struct sample *const *)pa;
	const struct sample *b = *(const struct sample *const *)pb;

	return (a->t > b->t) - (a->t < b->t);
}

/*
 * The points a trend should give: for each group of groups (in the given rank order; NULL
 * for a host trend), each state of mask, the samples with from <= t <= to bucketed by
 * t / step, mean = sum / n, max = max.
 */
static void expect_points(const struct samples *ss, const char *const *groups, size_t ngroups,
			  uint32_t mask, double from, double to, int64_t step, struct points *out)
{
	const struct sample **sel = malloc((ss->n + 1) * sizeof(*sel));

	out->n = 0;
	if (!sel)
		abort();
	for (size_t g = 0; g < (groups ? ngroups : 1); g++) {
		for (int st = 1; st < SOCK_STATE_MAX; st++) {
			size_t n = 0;

			if (!(mask & (1u << st)))
				continue;
			for (size_t i = 0; i < ss->n; i++) {
				const struct sample *x = &ss->v[i];

				if (x->state != st || (double)x->t < from || (double)x->t > to)
					continue;
				if (groups ? !x->grp || strcmp(x->grp, groups[g]) != 0 : x->grp != NULL)
					continue;
				sel[n++] = x;
			}
			qsort(sel, n, sizeof(*sel), sample_t_cmp);
			for (size_t i = 0; i < n;) {
				int64_t b = sel[i]->t / step, cnt = 0, max = sel[i]->max;
				double sum = 0;

				for (; i < n && sel[i]->t / step == b; i++) {
					sum += sel[i]->sum;
					cnt += sel[i]->n;
					if (sel[i]->max > max)
						max = sel[i]->max;
				}
				point_add(out, st, groups ? groups[g] : NULL, b * step, sum / (double)cnt,
					  max);
			}
		}
	}
	free(sel);
}

/* Exact comparison: the same points in the same order, means equal to the last bit. */
static void check_points(const struct points *got, const struct points *want, const char *what)
{
	size_t bad = 0;

	CHECK_INT(got->n, ==, want->n);
	for (size_t i = 0; i < got->n && i < want->n; i++) {
		const struct point *a = &got->v[i], *b = &want->v[i];

		if (a->state == b->state && a->has_grp == b->has_grp && strcmp(a->grp, b->grp) == 0 &&
		    a->t == b->t && a->mean == b->mean && a->max == b->max)
			continue;
		if (bad++ < 3)
			fprintf(stderr,
				"%s: point %zu: got (%d %s %lld %.17g %lld) want (%d %s %lld %.17g %lld)\n",
				what, i, a->state, a->grp, (long long)a->t, a->mean, (long long)a->max,
				b->state, b->grp, (long long)b->t, b->mean, (long long)b->max);
	}
	CHECK_INT(bad, ==, 0);
	if (got->n != want->n)
		fprintf(stderr, "%s: %zu points, want %zu\n", what, got->n, want->n);
}

static const struct point *find_point(const struct points *p, int state, const char *grp,
				      int64_t t)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].state == state && p->v[i].t == t &&
		    (grp ? strcmp(p->v[i].grp, grp) == 0 : !p->v[i].has_grp))
			return &p->v[i];
	return NULL;
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
	CHECK_INT(raw_int(empty, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"), ==, 6);
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

/* ---- v2: kernel counters, rollups, trends, retention ---- */

/* A kernel reading with every counter and gauge set to a recognisable value. */
static struct kstat make_kstat(uint64_t base)
{
	struct kstat k;

	memset(&k, 0, sizeof(k));
	for (int i = 0; i < KSTAT_COUNTER_MAX; i++) {
		k.counter[i] = base + (uint64_t)i;
		k.have_counter[i] = 1;
	}
	for (int i = 0; i < KSTAT_GAUGE_MAX; i++) {
		k.gauge[i] = (int64_t)base / 2 + i;
		k.have_gauge[i] = 1;
	}
	return k;
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

/* A scripted series: a snapshot every 10 s for 2.5 h from TR_T0, with a 10 minute gap. */
#define TR_T0 1699999200 /* a multiple of 3600 */
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
 * A history to prune: 100 snapshots 10 s apart from 1000, minute rollups t = 0..1140,
 * hour rollups t = 0..14400, 20 group rows, and 50 sockets of which 30 ended at 100..129.
 */
static void retention_fixture(const char *path)
{
	struct store *s = NULL;
	int err = 0;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	for (int i = 0; i < 100 && !err; i++) {
		struct store_snapshot snap = make_snap(1000 + 10 * i, (uint32_t)i);

		err = store_begin(s, &snap, NULL);
		for (int k = 0; i == 99 && k < 20 && !err; k++)
			err = store_rollup_put(s, &(struct store_rollup){ 60, 60 * k, SOCK_CLOSE_WAIT, 0,
									  NULL, 0, 1, 1, 1, 1 });
		for (int k = 0; i == 99 && k < 5 && !err; k++)
			err = store_rollup_put(s, &(struct store_rollup){ 3600, 3600 * k, SOCK_CLOSE_WAIT,
									  0, NULL, 0, 1, 1, 1, 1 });
		for (int k = 0; i == 99 && k < 10 && !err; k++) {
			err = store_rollup_put(s, &(struct store_rollup){ 60, 60 * k, SOCK_CLOSE_WAIT, 2,
									  "p", 0, 1, 1, 1, 1 });
			if (!err)
				err = store_rollup_put(s, &(struct store_rollup){ 60, 60 * k,
										  SOCK_CLOSE_WAIT, 1, "80",
										  0, 1, 1, 1, 1 });
		}
		for (uint32_t k = 0; i == 0 && k < 50 && !err; k++) {
			struct sock_rec rec = make_rec(k, AF_INET, SOCK_CLOSE_WAIT);
			int64_t id = 0;

			err = store_sock_insert(s, &(struct store_sock){ 0, k, &rec, 1, 1 }, &id);
			if (!err && k < 30)
				err = store_sock_end(s, id, 100 + k);
		}
		if (!err)
			err = store_commit(s);
	}
	CHECK_INT(err, ==, 0);
	store_close(s);
}

/* Retention deletes exactly what is older than its cut-offs, oldest first, max_rows a call. */
static void test_retention_exact(void)
{
	const char *path = tmp_path("retention.db"), *once = tmp_path("retention-once.db");
	/* snapshots < 1500: 50; minute < 600: 10; hour < 600: 1; groups: 20; sockets < 115: 15 */
	const int64_t want = 50 + 10 + 1 + 20 + 15;
	struct store *s = NULL;
	struct store_snapshot snap = make_snap(5000, 1);
	struct open_rows o = { 0 };
	int64_t deleted = -1, total = 0;
	int calls = 0, err = 0;

	retention_fixture(path);
	retention_fixture(once);
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_retention(s, 1500, 600, 115, 0, &deleted), ==, -EINVAL);
	CHECK_INT(store_begin(s, &snap, NULL), ==, 0);
	CHECK_INT(store_retention(s, 1500, 600, 115, 10, &deleted), ==, -EINVAL); /* not inside */
	store_rollback(s);
	/* NaN cut-offs delete nothing. */
	CHECK_INT(store_retention(s, NAN, NAN, NAN, 1000, &deleted), ==, 0);
	CHECK_INT(deleted, ==, 0);

	/* Seven rows a call: the oldest snapshots go first. */
	CHECK_INT(store_retention(s, 1500, 600, 115, 7, &deleted), ==, 0);
	CHECK_INT(deleted, ==, 7);
	total += deleted;
	calls++;
	CHECK_INT(db_int(last_db, "SELECT min(taken_at) FROM snapshots"), ==, 1070);
	do {
		err = store_retention(s, 1500, 600, 115, 7, &deleted);
		CHECK(deleted <= 7);
		total += deleted;
		calls++;
	} while (!err && deleted > 0 && calls < 100);
	CHECK_INT(err, ==, 0);
	CHECK_INT(total, ==, want);
	CHECK_INT(calls, ==, (want + 6) / 7 + 1); /* the last one finds nothing */
	CHECK_INT(store_open_sockets(s, collect_open, &o), ==, 0);
	CHECK_INT(o.n, ==, 20); /* open sockets are never retention's */
	store_close(s);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM snapshots"), ==, 50);
	CHECK_INT(raw_int(path, "SELECT min(taken_at) FROM snapshots"), ==, 1500);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM rollups WHERE res = 60"), ==, 10);
	CHECK_INT(raw_int(path, "SELECT min(t) FROM rollups WHERE res = 60"), ==, 600);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM rollups WHERE res = 3600"), ==, 4);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM group_rollups"), ==, 0);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets"), ==, 35);
	CHECK_INT(raw_int(path, "SELECT min(last_seen) FROM sockets"), ==, 115);

	/* With room enough, one call does it all. */
	s = NULL;
	CHECK_INT(store_open(&s, once), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_retention(s, 1500, 600, 115, 100000, &deleted), ==, 0);
	CHECK_INT(deleted, ==, want);
	CHECK_INT(store_retention(s, 1500, 600, 115, 100000, NULL), ==, 0);
	store_close(s);
	CHECK_INT(raw_int(once, "SELECT count(*) FROM snapshots"), ==, 50);
	CHECK_INT(raw_int(once, "SELECT count(*) FROM sockets"), ==, 35);
}

/*
 * Snapshots in the long synthetic run: 200k (55 hours at 1 s), ~20 s of the 120 s ctest
 * budget; under ASan, where the whole file takes ~70 s on a loaded machine, 60k.  Either
 * is many times the two-hour window retention keeps.  LINGERD_TEST_GROWTH=N runs N.
 */
#if RATE_FLOOR < 50000
#define GROWTH_SNAPSHOTS 60000
#else
#define GROWTH_SNAPSHOTS 200000
#endif

/* A long synthetic run with retention: the file stops growing once the windows are full. */
static void test_retention_bounded_growth(void)
{
	const char *path = tmp_path("growth.db"), *env = getenv("LINGERD_TEST_GROWTH");
	const long want_n = env ? strtol(env, NULL, 10) : 0;
	/* At least 8 hours: the first quarter must already hold the full two-hour window. */
	const int n = want_n >= 8 * 3600 && want_n <= 10000000 ? (int)want_n : GROWTH_SNAPSHOTS;
	const int64_t t0 = TR_T0;
	struct kstat k = make_kstat(1000000000);
	struct store *s = NULL;
	int64_t ring[64] = { 0 }, size_at[4] = { 0 }, deleted, total_deleted = 0;
	off_t file_at[4] = { 0 };
	double started = now_mono(), dt;
	int err = 0, mark = 0;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	/*
	 * Durability is not what this measures: without the fsync of every checkpoint the run
	 * takes a third of the time on a shared disk, and the file's growth is the same.
	 */
	db_int(last_db, "PRAGMA synchronous = OFF");
	for (int i = 0; i < n && !err; i++) {
		int64_t t = t0 + i;
		struct store_snapshot snap = { .taken_at = (double)t + 0.25, .duration_ms = 2,
					       .source = "netlink", .kstat = &k };

		snap.counts[SOCK_ESTABLISHED] = 1000 + (uint32_t)(i % 100);
		snap.counts[SOCK_CLOSE_WAIT] = (uint32_t)(i % 50);
		snap.counts[SOCK_TIME_WAIT] = 200 + (uint32_t)(i % 30);
		snap.counts[SOCK_LISTEN] = 12;
		snap.total = snap.counts[SOCK_ESTABLISHED] + snap.counts[SOCK_CLOSE_WAIT] +
			     snap.counts[SOCK_TIME_WAIT] + 12;
		for (int c = 0; c < KSTAT_COUNTER_MAX; c++)
			k.counter[c] += (uint64_t)(c + i % 3);
		err = store_begin(s, &snap, NULL);
		/* Two sockets appear, and the two that appeared 30 s ago end. */
		for (uint32_t j = 0; j < 2 && !err; j++) {
			uint32_t key = (uint32_t)(2 * i) + j;
			struct sock_rec rec = make_rec(key, AF_INET, SOCK_ESTABLISHED);

			if (i >= 30)
				err = store_sock_end(s, ring[(key - 60) % 64], (double)t);
			if (!err)
				err = store_sock_insert(s, &(struct store_sock){ 0, key, &rec, t, t },
							&ring[key % 64]);
		}
		/* The minute (and hour) that just closed, as the sampler flushes them. */
		for (int st = 1; st < SOCK_STATE_MAX && !err && i > 0 && t % 60 == 0; st++) {
			struct store_rollup ru = { 60, t - 60, st, 0, NULL, 0, 1000, 500, 30000, 60 };

			err = store_rollup_put(s, &ru);
			if (!err && t % 3600 == 0) {
				ru.res = 3600;
				ru.t = t - 3600;
				err = store_rollup_put(s, &ru);
			}
		}
		for (int g = 0; g < 3 && !err && i > 0 && t % 60 == 0; g++) {
			static const char *const comm[] = { "nginx", "postgres", "java" };

			err = store_rollup_put(s, &(struct store_rollup){ 60, t - 60, SOCK_CLOSE_WAIT, 2,
									  comm[g], 0, 40, 20, 1200, 60 });
		}
		if (!err)
			err = store_commit(s);
		if (!err && i % 10 == 9) {
			/* Raw and ended sockets kept an hour, rollups two. */
			err = store_retention(s, (double)t - 3600, (double)t - 7200, (double)t - 3600, 500,
					      &deleted);
			total_deleted += deleted;
		}
		if (!err && (i == n / 4 || i == n / 2 || i == 3 * n / 4 || i == n - 1)) {
			CHECK_INT(store_size(s, &size_at[mark]), ==, 0);
			file_at[mark++] = file_size(path);
		}
	}
	dt = now_mono() - started;
	CHECK_INT(err, ==, 0);
	store_close(s);
	printf("growth: %d snapshots (2 sockets in, 2 out each) with retention in %.1f s;"
	       " db+wal at 1/4 2/4 3/4 4/4: %lld %lld %lld %lld bytes; db %lld -> %lld;"
	       " %lld rows deleted\n",
	       n, dt, (long long)size_at[0], (long long)size_at[1], (long long)size_at[2],
	       (long long)size_at[3], (long long)file_at[0], (long long)file_at[3],
	       (long long)total_deleted);
	/* What is kept is the window, not the history. */
	CHECK_INT(raw_int(path, "SELECT count(*) FROM snapshots"), <=, 3600 + 10);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM snapshots"), >=, 3600 - 1);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM sockets"), <=, 2 * 3600 + 60 + 20);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM rollups WHERE res = 60"), <=, (120 + 2) * 11);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM rollups WHERE res = 3600"), <=, 3 * 11);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM group_rollups"), <=, (120 + 2) * 3);
	/* The file plateaus: freed pages are reused, it does not grow after the first quarter. */
	CHECK(file_at[0] > 0);
	CHECK_INT(file_at[3], <=, file_at[0] + file_at[0] / 10);
	CHECK_INT(file_at[3], <=, file_at[1] + file_at[1] / 20);
	/* db + WAL: the WAL is reused after each checkpoint (at most ~1000 pages). */
	CHECK_INT(size_at[3], <=, file_at[3] + 8 * 1024 * 1024);
	CHECK_INT(file_size(path), <, 16 * 1024 * 1024);
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

static void test_store_size(void)
{
	const char *path = tmp_path("size.db"), *wal = tmp_path("size.db-wal");
	struct store *s = NULL;
	int64_t a = -1, b = -1;

	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		return;
	CHECK_INT(store_size(s, &a), ==, 0);
	CHECK_INT(a, ==, file_size(path) + (file_size(wal) > 0 ? file_size(wal) : 0));
	CHECK(a > 0);
	CHECK_INT(store_begin(s, &(struct store_snapshot){ .taken_at = 1, .source = "proc" }, NULL),
		  ==, 0);
	for (uint32_t i = 0; i < 2000; i++) {
		struct sock_rec rec = make_rec(i, AF_INET6, SOCK_ESTABLISHED);

		CHECK_INT(store_sock_insert(s, &(struct store_sock){ 0, i, &rec, 1, 1 }, NULL), ==, 0);
	}
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(store_size(s, &b), ==, 0);
	CHECK_INT(b, ==, file_size(path) + file_size(wal));
	CHECK_INT(b, >, a + 2000 * 50);
	CHECK_INT(store_size(s, NULL), ==, -EINVAL);
	store_close(s);
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
			/* Only the fallback ranking of too many groups may sort (see store.c). */
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

/*
 * A disk that fills up: a VFS over the default one that counts the bytes of database and
 * WAL files against a budget and answers SQLITE_FULL to a write that would pass it, the
 * way a full filesystem answers ENOSPC.  Overwrites and shrinking need no room.
 */
static sqlite3_vfs *full_real;
static sqlite3_vfs full_vfs;
static sqlite3_int64 full_free = INT64_MAX / 4;

struct full_file {
	sqlite3_file base;
	sqlite3_file *real; /* the default VFS's file, in the bytes after this struct */
	int counted;        /* a database or a WAL: its size comes out of full_free */
	sqlite3_int64 size;
};

#define FULL_REAL(f) (((struct full_file *)(f))->real)

static int full_close(sqlite3_file *f)
{
	return FULL_REAL(f)->pMethods->xClose(FULL_REAL(f));
}

static int full_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return FULL_REAL(f)->pMethods->xRead(FULL_REAL(f), buf, n, off);
}

static int full_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	struct full_file *ff = (struct full_file *)f;
	sqlite3_int64 grow = ff->counted ? off + n - ff->size : 0;
	int rc;

	if (grow > full_free)
		return SQLITE_FULL;
	rc = ff->real->pMethods->xWrite(ff->real, buf, n, off);
	if (rc == SQLITE_OK && grow > 0) {
		full_free -= grow;
		ff->size = off + n;
	}
	return rc;
}

static int full_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct full_file *ff = (struct full_file *)f;
	int rc = ff->real->pMethods->xTruncate(ff->real, size);

	if (rc == SQLITE_OK && ff->counted && size < ff->size) {
		full_free += ff->size - size;
		ff->size = size;
	}
	return rc;
}

static int full_sync(sqlite3_file *f, int flags)
{
	return FULL_REAL(f)->pMethods->xSync(FULL_REAL(f), flags);
}

static int full_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return FULL_REAL(f)->pMethods->xFileSize(FULL_REAL(f), size);
}

static int full_lock(sqlite3_file *f, int lock)
{
	return FULL_REAL(f)->pMethods->xLock(FULL_REAL(f), lock);
}

static int full_unlock(sqlite3_file *f, int lock)
{
	return FULL_REAL(f)->pMethods->xUnlock(FULL_REAL(f), lock);
}

static int full_check_reserved(sqlite3_file *f, int *out)
{
	return FULL_REAL(f)->pMethods->xCheckReservedLock(FULL_REAL(f), out);
}

static int full_file_control(sqlite3_file *f, int op, void *arg)
{
	return FULL_REAL(f)->pMethods->xFileControl(FULL_REAL(f), op, arg);
}

static int full_sector_size(sqlite3_file *f)
{
	return FULL_REAL(f)->pMethods->xSectorSize(FULL_REAL(f));
}

static int full_device(sqlite3_file *f)
{
	return FULL_REAL(f)->pMethods->xDeviceCharacteristics(FULL_REAL(f));
}

static int full_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **p)
{
	return FULL_REAL(f)->pMethods->xShmMap(FULL_REAL(f), region, size, extend, p);
}

static int full_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return FULL_REAL(f)->pMethods->xShmLock(FULL_REAL(f), offset, n, flags);
}

static void full_shm_barrier(sqlite3_file *f)
{
	FULL_REAL(f)->pMethods->xShmBarrier(FULL_REAL(f));
}

static int full_shm_unmap(sqlite3_file *f, int del)
{
	return FULL_REAL(f)->pMethods->xShmUnmap(FULL_REAL(f), del);
}

static int full_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
	return FULL_REAL(f)->pMethods->xFetch(FULL_REAL(f), off, n, p);
}

static int full_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return FULL_REAL(f)->pMethods->xUnfetch(FULL_REAL(f), off, p);
}

static const sqlite3_io_methods full_io = {
	3,
	full_close,
	full_read,
	full_write,
	full_truncate,
	full_sync,
	full_file_size,
	full_lock,
	full_unlock,
	full_check_reserved,
	full_file_control,
	full_sector_size,
	full_device,
	full_shm_map,
	full_shm_lock,
	full_shm_barrier,
	full_shm_unmap,
	full_fetch,
	full_unfetch,
};

static int full_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
		     int *out_flags)
{
	struct full_file *ff = (struct full_file *)f;
	int rc;

	(void)vfs;
	ff->base.pMethods = NULL;
	ff->real = (sqlite3_file *)(ff + 1);
	ff->counted = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) != 0;
	ff->size = 0;
	rc = full_real->xOpen(full_real, name, ff->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc;
	if (ff->real->pMethods->xFileSize(ff->real, &ff->size) != SQLITE_OK)
		ff->size = 0;
	ff->base.pMethods = &full_io;
	return SQLITE_OK;
}

/* Makes the counting VFS the default for every connection opened from now on. */
static void full_disk_install(void)
{
	full_real = sqlite3_vfs_find(NULL);
	full_vfs = *full_real;
	full_vfs.zName = "lingerd-test-full";
	full_vfs.szOsFile = (int)sizeof(struct full_file) + full_real->szOsFile;
	full_vfs.xOpen = full_open;
	full_vfs.pNext = NULL;
	sqlite3_vfs_register(&full_vfs, 1);
	full_free = INT64_MAX / 4;
}

static void full_disk_remove(void)
{
	sqlite3_vfs_unregister(&full_vfs);
	sqlite3_vfs_register(full_real, 1);
}

/*
 * The disk fills up while the WAL still holds frames: snapshots fail with -ENOSPC, and
 * retention, whose first (large) attempt fails too, checkpoints, cuts the WAL and deletes
 * a small batch in the room that gave back, after which snapshots can be written again.
 */
static void test_retention_disk_full(void)
{
	const char *path = tmp_path("full.db");
	struct store *s = NULL;
	sqlite3 *wdb;
	int64_t deleted = -1, before, after;
	int err = 0;

	full_disk_install();
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		goto out;
	/* 3000 snapshots, each with three sockets that ended. */
	for (int i = 0; i < 3000 && !err; i++) {
		struct store_snapshot snap = make_snap(1000 + i, (uint32_t)i);

		err = store_begin(s, &snap, NULL);
		for (uint32_t j = 0; j < 3 && !err; j++) {
			struct sock_rec rec = make_rec((uint32_t)(3 * i) + j, AF_INET, SOCK_CLOSE_WAIT);
			int64_t id = 0;

			err = store_sock_insert(s, &(struct store_sock){ 0, rec.cookie, &rec, 1000 + i,
									 1000 + i },
						&id);
			if (!err)
				err = store_sock_end(s, id, 1000 + i);
		}
		if (!err)
			err = store_commit(s);
	}
	CHECK_INT(err, ==, 0);
	store_close(s);
	s = NULL;

	/*
	 * Reopened, with no automatic checkpoint: a first retention pass leaves its frames in
	 * the WAL (deletions: pages the file already has), then the disk is full.
	 */
	CHECK_INT(store_open(&s, path), ==, 0);
	if (!s)
		goto out;
	wdb = last_db;
	db_int(wdb, "PRAGMA wal_autocheckpoint = 0");
	CHECK_INT(store_retention(s, 1500, 0, 1500, 100000, &deleted), ==, 0);
	CHECK_INT(deleted, ==, 500 + 1500);
	CHECK(file_size(tmp_path("full.db-wal")) > 64 * 1024);
	full_free = 0;

	err = store_begin(s, &(struct store_snapshot){ .taken_at = 5000, .source = "netlink" }, NULL);
	for (uint32_t j = 0; j < 200 && !err; j++) {
		struct sock_rec rec = make_rec(100000 + j, AF_INET6, SOCK_ESTABLISHED);

		err = store_sock_insert(s, &(struct store_sock){ 0, rec.cookie, &rec, 5000, 5000 },
					NULL);
	}
	if (!err)
		err = store_commit(s);
	CHECK_INT(err, ==, -ENOSPC);
	store_rollback(s);

	before = raw_int(path, "SELECT count(*) FROM snapshots");
	CHECK_INT(store_retention(s, 2500, 0, 0, 5000, &deleted), ==, 0);
	CHECK_INT(deleted, ==, 64); /* the small batch, after the large one failed */
	after = raw_int(path, "SELECT count(*) FROM snapshots");
	CHECK_INT(before - after, ==, 64);
	/* The next call works in the WAL room the checkpoint gave back: the rest goes. */
	CHECK_INT(store_retention(s, 2500, 0, 0, 5000, &deleted), ==, 0);
	CHECK_INT(deleted, ==, 1000 - 64);
	/* And the sampler's next snapshot fits in the room retention made. */
	CHECK_INT(store_begin(s, &(struct store_snapshot){ .taken_at = 5001, .source = "netlink" },
			      NULL),
		  ==, 0);
	CHECK_INT(store_commit(s), ==, 0);
	CHECK_INT(raw_int(path, "SELECT count(*) FROM snapshots WHERE taken_at = 5001"), ==, 1);
	full_free = INT64_MAX / 4;
	store_close(s);
out:
	full_disk_remove();
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

int main(int argc, char **argv)
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
		{ "fixture_v3_netns", test_fixture_v3_netns },
		{ "netns_trend", test_netns_trend },
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
		{ "kstat_round_trip", test_kstat_round_trip },
		{ "rollup_put", test_rollup_put },
		{ "trend_exact", test_trend_exact },
		{ "group_trend", test_group_trend },
		{ "group_trend_many", test_group_trend_many },
		{ "retention_exact", test_retention_exact },
		{ "retention_bounded_growth", test_retention_bounded_growth },
		{ "retention_disk_full", test_retention_disk_full },
		{ "kstat_pair", test_kstat_pair },
		{ "store_size", test_store_size },
		{ "queries_indexed", test_queries_indexed },
		{ "trend_speed", test_trend_speed },
	};

	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_store.XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	sqlite3_auto_extension((void (*)(void))hook_connection);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = check_failures;

		/* test_store NAME runs the cases whose name contains NAME. */
		if (argc > 1 && !strstr(cases[i].name, argv[1]))
			continue;
		cases[i].fn();
		printf("%-26s %s\n", cases[i].name, check_failures == before ? "ok" : "FAILED");
	}
	sqlite3_reset_auto_extension();
	remove_tmp_dir();
	return CHECK_DONE();
}
