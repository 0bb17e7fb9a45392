/* store_fixture.h - what the store's tests share: files, raw SQL, records, trend expectations. */
#ifndef LINGERD_STORE_FIXTURE_H
#define LINGERD_STORE_FIXTURE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store.h"

/*
 * A floor far below the measured rate, so a loaded machine cannot make it flake.  Under
 * AddressSanitizer every SQLite malloc goes through ASan's allocator (Debian's SQLite is
 * built with OMIT_LOOKASIDE: about five mallocs a row), which costs ~7x: a lower floor.
 * ThreadSanitizer (scripts/test.sh --tsan) measured 39k rows a second: the same floor.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RATE_FLOOR 10000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RATE_FLOOR 10000
#endif
#endif
#ifndef RATE_FLOOR
#define RATE_FLOOR 50000
#endif

/* Start of the scripted trend series (test_store_trend.c), reused as a start time elsewhere. */
#define TR_T0 1699999200 /* a multiple of 3600 */

/* Room for the whole schema as text (v2 is about 4 KiB). */
#define SCHEMA_TEXT_MAX 16384

/* One named case of a test_store_SEAM binary. */
struct store_case {
	const char *name;
	void (*fn)(void);
};

/*
 * The main() of every test_store_SEAM binary.  With no argument it runs every case; with
 * names, exactly the cases named, and an unknown name fails before anything runs.
 * "--registered NAME..." checks that the names (the test list in tests/store.cmake) are
 * exactly the cases, each once.  failures and passes are the case file's check.h tally.
 * Returns the exit status.
 */
int store_test_main(int argc, char **argv, const struct store_case *cases, size_t ncases,
		    const int *failures, const int *passes);

/*
 * The connection SQLite opened last (every connection passes through an auto-extension
 * hook), so a case can look inside the store's own connections without the store
 * exporting anything for tests.
 */
extern sqlite3 *last_db;

/* A path in the run's private temporary directory; valid for the next 7 calls. */
const char *tmp_path(const char *name);
double now_mono(void);
/* Size of a file, or -1 when it cannot be stat()ed. */
off_t file_size(const char *path);

/* Runs SQL on a separate plain connection; returns the SQLite result code. */
int raw_exec(const char *path, const char *sql);
/* First column of the first row of sql on a plain connection, or -999 on failure. */
long long raw_int(const char *path, const char *sql);
/* The same on an open connection, and its text into buf ("" on failure). */
long long db_int(sqlite3 *db, const char *sql);
void db_text(sqlite3 *db, const char *sql, char *buf, size_t len);
/* 1 when no statement of db is mid-step: an un-reset statement pins a read transaction. */
int no_busy_stmts(sqlite3 *db);
/*
 * The schema as text, whitespace-insensitive, so a fixture written by hand compares
 * equal to what the migrations build.
 */
void schema_text(const char *path, char *buf, size_t len);
/* Whole-file helpers: 0 or -1; read_text() returns a NUL-terminated copy to free, or NULL. */
int copy_file(const char *from, const char *to);
int write_file(const char *path, const void *data, size_t len);
char *read_text(const char *path);

/* A socket record and a snapshot whose fields all derive from i (seed). */
struct sock_rec make_rec(uint32_t i, int family, int state);
struct store_snapshot make_snap(double t, uint32_t seed);
/* A kernel reading with every counter and gauge set to a recognisable value. */
struct kstat make_kstat(uint64_t base);
/*
 * A history to prune: 100 snapshots 10 s apart from 1000, minute rollups t = 0..1140,
 * hour rollups t = 0..14400, 20 group rows, and 50 sockets of which 30 ended at 100..129.
 */
void retention_fixture(const char *path);

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

int collect_open(void *arg, int64_t row_id, uint64_t netns, uint64_t key, int state,
		 double first_seen, double state_since);
const struct open_row *find_open(const struct open_rows *o, int64_t id);
int collect_snap(void *arg, int64_t id, const struct store_snapshot *snap);
/* How many snapshots the reader holds, or its -errno. */
int count_snaps(struct store_reader *r);

/* ---- trend expectations, computed the slow obvious way ---- */

void sample_add(struct samples *ss, int64_t t, int state, const char *grp, double sum,
		int64_t n, int64_t max);
int collect_point(void *arg, int state, const char *grp, int64_t t, double mean, int64_t max);
/*
 * The points a trend should give: for each group of groups (in the given rank order; NULL
 * for a host trend), each state of mask, the samples with from <= t <= to bucketed by
 * t / step, mean = sum / n, max = max.
 */
void expect_points(const struct samples *ss, const char *const *groups, size_t ngroups,
		   uint32_t mask, double from, double to, int64_t step, struct points *out);
/* Exact comparison: the same points in the same order, means equal to the last bit. */
void check_points(const struct points *got, const struct points *want, const char *what);
const struct point *find_point(const struct points *p, int state, const char *grp, int64_t t);

#endif
