/* store_read.c - read-only connections: stored snapshots, kernel counters, namespaces known. */
#include <errno.h>
#include <stdlib.h>

#include "store_impl.h"

/* Snapshot columns in the order the reader's select uses. */
#define SNAP_COLS "id, taken_at, duration_ms, source, partial, total, " STATE_COLS ", " KSTAT_COLS

/* Column of the first kernel value in a SNAP_COLS row. */
#define SNAP_COL_KSTAT (5 + SOCK_STATE_MAX)

/* The readers' SQL, enum store_rstmt order, trends' queries included. */
static const char *const rstmt_sql[RS_COUNT] = {
	/* Deferred: the read transaction starts at the first SELECT; several see one state. */
	[RS_BEGIN] = "BEGIN",
	[RS_END] = "COMMIT",
	[RS_SNAPSHOTS] = "SELECT " SNAP_COLS " FROM snapshots"
			 " WHERE taken_at >= ?1 AND taken_at <= ?2 ORDER BY taken_at, id LIMIT ?3",
	/* max(id) is one step down the rowid b-tree (ORDER BY id DESC plans as a SCAN). */
	[RS_PING] = "SELECT max(id) FROM snapshots",
	/*
	 * Trends: lingerd_rows() consumes each row inside the VM (see rows_step() in
	 * store_trend.c); the index range is read in its own order, which is time order.
	 * The state test is on the key itself: rows of other states are skipped in the index.
	 */
	[RS_TREND_RAW] = "SELECT lingerd_rows(taken_at, " STATE_COLS ") FROM snapshots"
			 " WHERE taken_at >= ?1 AND taken_at <= ?2",
	[RS_TREND_ROLLUP] = "SELECT lingerd_rows(t, state, sum, n, max) FROM rollups"
			    " WHERE res = ?1 AND t >= ?2 AND t <= ?3 AND ((1 << state) & ?4) != 0",
	[RS_GROUP_ROWS] = "SELECT lingerd_rows(t, state, grp, sum, n, max) FROM group_rollups"
			  " WHERE res = ?1 AND kind = ?2 AND t >= ?3 AND t <= ?4"
			  " AND ((1 << state) & ?5) != 0",
	/*
	 * The ranking when too many groups for memory: the same order as group_rank_cmp()
	 * (BINARY collation is memcmp).  Its GROUP BY sorts the range: a fallback only.
	 */
	[RS_GROUP_RANK] = "SELECT grp, sum(mx) AS score FROM (SELECT grp, state, max(max) AS mx"
			  " FROM group_rollups WHERE res = ?1 AND kind = ?2 AND t >= ?3"
			  " AND t <= ?4 AND ((1 << state) & ?5) != 0 GROUP BY grp, state)"
			  " GROUP BY grp ORDER BY score DESC, grp LIMIT ?6",
	[RS_KSTAT_BEFORE] = "SELECT taken_at, " KSTAT_COLS " FROM snapshots"
			    " WHERE taken_at <= ?1 AND " KSTAT_HAS_COUNTERS
			    " ORDER BY taken_at DESC LIMIT 1",
	[RS_KSTAT_AFTER] = "SELECT taken_at, " KSTAT_COLS " FROM snapshots"
			   " WHERE taken_at > ?1 AND taken_at <= ?2 AND " KSTAT_HAS_COUNTERS
			   " ORDER BY taken_at LIMIT 1",
	/* One namespace: a range of the primary key, in time order. */
	[RS_NETNS_RAW] = "SELECT lingerd_rows(taken_at, " STATE_COLS ") FROM netns_snapshots"
			 " WHERE name = ?1 AND taken_at >= ?2 AND taken_at <= ?3",
	/*
	 * A range of group_rollups_netns (kind = 3 spelled as in its WHERE, or SQLite would
	 * not use it), in time order.  Every state: a row of any state says the namespace
	 * existed in that bucket, so the states without one were 0.
	 */
	[RS_NETNS_ROLLUP] = "SELECT lingerd_rows(t, state, sum, n, max) FROM group_rollups"
			    " WHERE kind = 3 AND grp = ?1 AND res = ?2 AND t >= ?3 AND t <= ?4",
	/* A row when there is any: one probe of each index. */
	[RS_NETNS_KNOWN] = "SELECT 1 FROM netns_snapshots WHERE name = ?1 UNION ALL"
			   " SELECT 1 FROM group_rollups WHERE kind = 3 AND grp = ?1 LIMIT 1",
};

/*
 * Reads the kernel columns from column first on into *k (settings stay absent).  Returns
 * 1 when any value was there, 0 when the row has none (a v1 row, or no reading).
 */
static int column_kstat(sqlite3_stmt *st, int first, struct kstat *k)
{
	int any = 0;

	memset(k, 0, sizeof(*k));
	for (int i = 0; i < KSTAT_COUNTER_MAX; i++) {
		if (sqlite3_column_type(st, first + i) == SQLITE_NULL)
			continue;
		k->counter[i] = bits_u64(sqlite3_column_int64(st, first + i));
		k->have_counter[i] = 1;
		any = 1;
	}
	first += KSTAT_COUNTER_MAX;
	for (int i = 0; i < KSTAT_GAUGE_MAX; i++) {
		if (sqlite3_column_type(st, first + i) == SQLITE_NULL)
			continue;
		k->gauge[i] = sqlite3_column_int64(st, first + i);
		k->have_gauge[i] = 1;
		any = 1;
	}
	return any;
}

/* ---- readers ---- */

int store_reader_open(struct store_reader **out, const char *path)
{
	struct store_reader *r;
	int version = 0, rc, err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	/* NOMUTEX: each reader belongs to one thread, SQLite's own locking would be waste. */
	rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (!r->db)
			err = -ENOMEM;
		else if (rc == SQLITE_CANTOPEN && sqlite3_system_errno(r->db) == ENOENT)
			err = -ENOENT;
		else
			err = store_err(rc);
		goto out;
	}
	sqlite3_extended_result_codes(r->db, 1);
	sqlite3_busy_timeout(r->db, STORE_READER_BUSY_MS);
	err = store_schema_identify(r->db, &version);
	if (err < 0)
		goto out;
	/* A reader cannot migrate: until the writer has, there is no history to read. */
	if (version != STORE_SCHEMA_VERSION) {
		err = -ENOENT;
		goto out;
	}
	err = store_trend_register(r);
	if (err < 0)
		goto out;
	for (int i = 0; i < RS_COUNT; i++) {
		err = store_prepare(r->db, rstmt_sql[i], &r->st[i]);
		if (err < 0)
			goto out;
	}
	*out = r;
	r = NULL;
out:
	store_reader_close(r);
	return err;
}

void store_reader_close(struct store_reader *r)
{
	if (!r)
		return;
	for (int i = 0; i < RS_COUNT; i++)
		sqlite3_finalize(r->st[i]);
	sqlite3_close(r->db);
	free(r);
}

int store_reader_ping(struct store_reader *r)
{
	return store_stmt_exec(r->st[RS_PING]) < 0 ? -EIO : 0;
}

int store_reader_txn_begin(struct store_reader *r)
{
	return store_stmt_exec(r->st[RS_BEGIN]) < 0 ? -EIO : 0;
}

void store_reader_txn_end(struct store_reader *r)
{
	if (sqlite3_get_autocommit(r->db))
		return;
	if (store_stmt_exec(r->st[RS_END]) < 0 && !sqlite3_get_autocommit(r->db))
		sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_reader_snapshots(struct store_reader *r, double from, double to, uint32_t limit,
			   store_snapshot_cb cb, void *arg)
{
	sqlite3_stmt *st = r->st[RS_SNAPSHOTS];
	struct store_snapshot snap;
	struct kstat k;
	const unsigned char *source;
	int rc, err = 0;

	if (!cb)
		return -EINVAL;
	sqlite3_bind_double(st, 1, from);
	sqlite3_bind_double(st, 2, to);
	sqlite3_bind_int64(st, 3, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&snap, 0, sizeof(snap));
		snap.taken_at = sqlite3_column_double(st, 1);
		snap.duration_ms = sqlite3_column_double(st, 2);
		source = sqlite3_column_text(st, 3);
		/* Valid until the next step: the contract limits it to the callback. */
		snap.source = source ? (const char *)source : "";
		snap.partial = sqlite3_column_int(st, 4);
		snap.total = (uint32_t)sqlite3_column_int64(st, 5);
		for (int i = 1; i < SOCK_STATE_MAX; i++)
			snap.counts[i] = (uint32_t)sqlite3_column_int64(st, 5 + i);
		snap.kstat = column_kstat(st, SNAP_COL_KSTAT, &k) ? &k : NULL;
		err = cb(arg, sqlite3_column_int64(st, 0), &snap);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	/* Ends the read transaction now, so the writer's checkpoints are never held back. */
	sqlite3_reset(st);
	return err;
}

int store_reader_netns_known(struct store_reader *r, const char *name)
{
	sqlite3_stmt *st;
	int rc, known = 0;

	if (!r || !name)
		return -EINVAL;
	st = r->st[RS_NETNS_KNOWN];
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		known = 1;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? known : -EIO;
}

/* ---- counters ---- */

/* The first row of a kernel-counter query into *k and *at: 0, -ENOENT or -EIO. */
static int kstat_row(sqlite3_stmt *st, struct kstat *k, double *at)
{
	int rc = sqlite3_step(st), err;

	if (rc == SQLITE_ROW) {
		*at = sqlite3_column_double(st, 0);
		column_kstat(st, 1, k);
		err = 0;
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_reset(st);
	return err;
}

/*
 * a is the reading at or before t0, or when the history starts later, the first one up to
 * t1 (so a range reaching back past the first snapshot still gets a rate); b the reading
 * at or before t1.  With a single reading in reach, a and b are the same (at == bt).
 */
int store_reader_kstat_pair(struct store_reader *r, double t0, double t1, struct kstat *a,
			    double *at, struct kstat *b, double *bt)
{
	sqlite3_stmt *st;
	int err;

	if (!r || !a || !at || !b || !bt || !(t0 <= t1))
		return -EINVAL;
	err = store_reader_txn_begin(r);
	if (err < 0)
		return err;
	st = r->st[RS_KSTAT_BEFORE];
	sqlite3_bind_double(st, 1, t0);
	err = kstat_row(st, a, at);
	if (err == -ENOENT) {
		st = r->st[RS_KSTAT_AFTER];
		sqlite3_bind_double(st, 1, t0);
		sqlite3_bind_double(st, 2, t1);
		err = kstat_row(st, a, at);
	}
	if (!err) {
		st = r->st[RS_KSTAT_BEFORE];
		sqlite3_bind_double(st, 1, t1);
		err = kstat_row(st, b, bt);
	}
	store_reader_txn_end(r);
	return err;
}
