/* store_fixture.c - what the store's tests share: files, raw SQL, records, trend expectations. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "store_fixture.h"

static char tmp_dir[64];

/* See store_fixture.h. */
sqlite3 *last_db;

/*
 * Every connection SQLite opens passes through this auto-extension hook, which lets the
 * test look inside the store's own connections (pragmas, open statements) without the
 * store exporting anything for tests.
 */
static int hook_connection(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
	(void)err;
	(void)api;
	last_db = db;
	return SQLITE_OK;
}

const char *tmp_path(const char *name)
{
	static char buf[8][sizeof(tmp_dir) + 256 + 2];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmp_dir, name);
	return p;
}

double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Runs SQL on a separate plain connection; returns the SQLite result code. */
int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

/* First column of the first row of sql on a plain connection, or -999 on failure. */
long long raw_int(const char *path, const char *sql)
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

long long db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long v = -999;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

void db_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* 1 when no statement of db is mid-step: an un-reset statement pins a read transaction. */
int no_busy_stmts(sqlite3 *db)
{
	for (sqlite3_stmt *st = sqlite3_next_stmt(db, NULL); st; st = sqlite3_next_stmt(db, st))
		if (sqlite3_stmt_busy(st))
			return 0;
	return 1;
}

/*
 * The schema as text, whitespace-insensitive, so a fixture written by hand compares
 * equal to what the migrations build.
 */
void schema_text(const char *path, char *buf, size_t len)
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

int copy_file(const char *from, const char *to)
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

int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int err = f ? 0 : -1;

	if (f && len && fwrite(data, 1, len, f) != len)
		err = -1;
	if (f && fclose(f) != 0)
		err = -1;
	return err;
}

char *read_text(const char *path)
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

struct sock_rec make_rec(uint32_t i, int family, int state)
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

struct store_snapshot make_snap(double t, uint32_t seed)
{
	struct store_snapshot s = { .taken_at = t, .duration_ms = 1.25, .source = "netlink" };

	for (int i = 1; i < SOCK_STATE_MAX; i++) {
		s.counts[i] = seed * 100 + (uint32_t)i;
		s.total += s.counts[i];
	}
	return s;
}

/* ---- collectors for the walks ---- */

int collect_open(void *arg, int64_t row_id, uint64_t netns, uint64_t key, int state,
		 double first_seen, double state_since)
{
	struct open_rows *o = arg;

	if (o->n < (int)(sizeof(o->v) / sizeof(o->v[0])))
		o->v[o->n] = (struct open_row){ row_id, netns, key, state, first_seen, state_since };
	o->n++;
	return o->stop_after && o->n >= o->stop_after ? 42 : 0;
}

const struct open_row *find_open(const struct open_rows *o, int64_t id)
{
	for (int i = 0; i < o->n && i < 64; i++)
		if (o->v[i].id == id)
			return &o->v[i];
	return NULL;
}

int collect_snap(void *arg, int64_t id, const struct store_snapshot *snap)
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

int count_snaps(struct store_reader *r)
{
	struct snaps c = { 0 };
	int err = store_reader_snapshots(r, -INFINITY, INFINITY, UINT32_MAX, collect_snap, &c);

	return err < 0 ? err : c.n;
}

/* ---- trend expectations, computed the slow obvious way ---- */

void sample_add(struct samples *ss, int64_t t, int state, const char *grp, double sum,
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

int collect_point(void *arg, int state, const char *grp, int64_t t, double mean,
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
void expect_points(const struct samples *ss, const char *const *groups, size_t ngroups,
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
void check_points(const struct points *got, const struct points *want, const char *what)
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

const struct point *find_point(const struct points *p, int state, const char *grp,
			       int64_t t)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].state == state && p->v[i].t == t &&
		    (grp ? strcmp(p->v[i].grp, grp) == 0 : !p->v[i].has_grp))
			return &p->v[i];
	return NULL;
}

/* A kernel reading with every counter and gauge set to a recognisable value. */
struct kstat make_kstat(uint64_t base)
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

/*
 * A history to prune: 100 snapshots 10 s apart from 1000, minute rollups t = 0..1140,
 * hour rollups t = 0..14400, 20 group rows, and 50 sockets of which 30 ended at 100..129.
 */
void retention_fixture(const char *path)
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

/*
 * Checks counted in this file (check_points(), retention_fixture()) have their own tally:
 * check.h's counters are per file.  The runner adds the case file's tally to it.
 */
int store_test_main(int argc, char **argv, const struct store_case *cases, size_t ncases,
		    const int *failures, const int *passes)
{
	int bad = 0;

	if (argc > 1 && strcmp(argv[1], "--registered") == 0) {
		/* The test list must name every case exactly once, and no case that is not here. */
		for (size_t i = 0; i < ncases; i++) {
			int found = 0;

			for (int a = 2; a < argc; a++)
				found += strcmp(argv[a], cases[i].name) == 0;
			if (found != 1) {
				fprintf(stderr, "case %s is registered %d times (want 1)\n",
					cases[i].name, found);
				bad = 1;
			}
		}
		for (int a = 2; a < argc; a++) {
			size_t i = 0;

			while (i < ncases && strcmp(argv[a], cases[i].name) != 0)
				i++;
			if (i == ncases) {
				fprintf(stderr, "no case named %s\n", argv[a]);
				bad = 1;
			}
		}
		printf("%zu cases, %s\n", ncases, bad ? "registration differs" : "all registered");
		return bad;
	}
	/* Every name must be a case: a typo in the test list must fail, not pass. */
	for (int a = 1; a < argc; a++) {
		size_t i = 0;

		while (i < ncases && strcmp(argv[a], cases[i].name) != 0)
			i++;
		if (i == ncases) {
			fprintf(stderr, "no case named %s\n", argv[a]);
			return 1;
		}
	}
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_store.XXXXXX");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 1;
	}
	sqlite3_auto_extension((void (*)(void))hook_connection);
	for (size_t i = 0; i < ncases; i++) {
		int before = *failures + check_failures, ran = argc == 1;

		/* test_store_SEAM CASE... runs the cases named; without a name, every case. */
		for (int a = 1; a < argc; a++)
			ran |= strcmp(argv[a], cases[i].name) == 0;
		if (!ran)
			continue;
		cases[i].fn();
		printf("%-26s %s\n", cases[i].name,
		       *failures + check_failures == before ? "ok" : "FAILED");
	}
	sqlite3_reset_auto_extension();
	remove_tmp_dir();
	printf("%d checks passed, %d failed\n", *passes + check_passes,
	       *failures + check_failures);
	return *failures + check_failures ? 1 : 0;
}
