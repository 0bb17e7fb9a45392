/* test_store_retention.c - retention and size: exact cut-offs, bounded growth, a full disk. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "check.h"
#include "store_fixture.h"

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
 * Snapshots in the long synthetic run: 200k (55 hours at 1 s), 10-25 s of the case's 120 s
 * ctest budget; under ASan, where every SQLite malloc costs ~7x, 60k.  Either is many
 * times the two-hour window retention keeps.  LINGERD_TEST_GROWTH=N runs N.
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

int main(int argc, char **argv)
{
	static const struct store_case cases[] = {
		{ "retention_exact", test_retention_exact },
		{ "retention_bounded_growth", test_retention_bounded_growth },
		{ "store_size", test_store_size },
		{ "retention_disk_full", test_retention_disk_full },
	};

	return store_test_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]), &check_failures,
			       &check_passes);
}
