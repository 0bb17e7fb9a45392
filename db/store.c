/* store.c - the SQLite history: schema migrations, the snapshot writer and read-only readers. */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The snapshots table has one column per state, frozen in the v1 schema below.  A new
 * state in sock.h needs a migration that adds its column, so make that impossible to miss.
 */
_Static_assert(SOCK_STATE_MAX == 12, "a new TCP state needs a snapshots column and a migration");
/* The same for the kernel counters and gauges, frozen in the v2 step as k_<metric> columns. */
_Static_assert(KSTAT_COUNTER_MAX == 17 && KSTAT_GAUGE_MAX == 5,
	       "a new kernel counter or gauge needs a snapshots column and a migration");

/*
 * How long a connection waits for a lock before SQLite reports SQLITE_BUSY.  The writer
 * only meets another writer (a second lingerd) or a checkpoint; a reader only meets WAL
 * recovery.  Readers serve HTTP requests, so they give up sooner.
 * TODO: move to limits.h with the other named limits.
 */
#define STORE_WRITER_BUSY_MS 5000
#define STORE_READER_BUSY_MS 1000

/*
 * After a checkpoint the WAL is cut back to this size, so one huge first snapshot does
 * not leave a WAL of that size on disk for the life of the process.
 */
#define STORE_WAL_LIMIT_BYTES (64 * 1024 * 1024)

/* PRAGMA application_id: "LNGD".  Marks the file as lingerd's for any tool, not just us. */
#define STORE_APP_ID 0x4c4e4744

/*
 * Schema migrations.  migrations[i] takes a database from user_version i to i + 1; all the
 * steps a file needs run in one transaction together with the user_version update, so a
 * crash leaves the old version or the new one, never a mix.  To add version 2: append its
 * step here and raise STORE_SCHEMA_VERSION.  Never edit a step that has shipped: files in
 * the field were built by it (tests/data/store-vN.sql keeps a copy of each version).
 */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"
	"CREATE TABLE snapshots ("
	" id INTEGER PRIMARY KEY,"
	" taken_at REAL NOT NULL,"
	" duration_ms REAL NOT NULL,"
	" source TEXT NOT NULL,"
	" partial INTEGER NOT NULL,"
	" total INTEGER NOT NULL,"
	" established INTEGER NOT NULL,"
	" syn_sent INTEGER NOT NULL,"
	" syn_recv INTEGER NOT NULL,"
	" fin_wait1 INTEGER NOT NULL,"
	" fin_wait2 INTEGER NOT NULL,"
	" time_wait INTEGER NOT NULL,"
	" close INTEGER NOT NULL,"
	" close_wait INTEGER NOT NULL,"
	" last_ack INTEGER NOT NULL,"
	" listen INTEGER NOT NULL,"
	" closing INTEGER NOT NULL);"
	"CREATE INDEX snapshots_taken_at ON snapshots (taken_at);"
	"CREATE TABLE sockets ("
	" id INTEGER PRIMARY KEY,"
	" netns INTEGER NOT NULL,"
	" key INTEGER NOT NULL,"
	" family INTEGER NOT NULL,"
	" state INTEGER NOT NULL,"
	" laddr BLOB NOT NULL,"
	" lport INTEGER NOT NULL,"
	" raddr BLOB NOT NULL,"
	" rport INTEGER NOT NULL,"
	" inode INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" first_seen REAL NOT NULL,"
	" state_since REAL NOT NULL,"
	" last_seen REAL);"
	/* Open rows by state and age: the resume walk, and "what lingers in CLOSE_WAIT". */
	"CREATE INDEX sockets_open ON sockets (state, state_since) WHERE last_seen IS NULL;"
	/* For retention (last_seen < ?); open rows stay out of it, which keeps inserts cheap. */
	"CREATE INDEX sockets_last_seen ON sockets (last_seen) WHERE last_seen IS NOT NULL;",

	/*
	 * 1 -> 2: kernel counters and gauges beside each snapshot's counts, NULL where the
	 * kernel did not offer them (and on every v1 row), in kstat.h order, named k_ + the
	 * metric name of kstat_counter_info()/kstat_gauge_info().  ADD COLUMN only touches the
	 * schema, so migrating a large v1 file is instant.
	 */
	"ALTER TABLE snapshots ADD COLUMN k_time_wait_entered INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_time_wait_killed INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_time_wait_recycled INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_time_wait_overflow INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_abort_on_close INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_abort_on_data INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_abort_on_linger INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_abort_on_timeout INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_abort_on_memory INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_listen_overflows INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_listen_drops INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_active_opens INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_passive_opens INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_attempt_fails INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_estab_resets INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_out_rsts INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_retrans_segs INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_sockets_inuse INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_orphans INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_time_wait_buckets INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_sockets_allocated INTEGER;"
	"ALTER TABLE snapshots ADD COLUMN k_memory_pages INTEGER;"
	/*
	 * Rates look for the nearest snapshot that has counters.  Without this index a host
	 * whose counters cannot be read (or a t0 in the v1 past) makes that a walk back through
	 * the whole table; with it, one probe.  v1 rows stay out of it.
	 */
	"CREATE INDEX snapshots_kstat ON snapshots (taken_at) WHERE coalesce("
	" k_time_wait_entered, k_time_wait_killed, k_time_wait_recycled, k_time_wait_overflow,"
	" k_abort_on_close, k_abort_on_data, k_abort_on_linger, k_abort_on_timeout,"
	" k_abort_on_memory, k_listen_overflows, k_listen_drops, k_active_opens, k_passive_opens,"
	" k_attempt_fails, k_estab_resets, k_out_rsts, k_retrans_segs) IS NOT NULL;"
	/*
	 * Rollups: one row per (resolution, bucket start, state), clustered by time so a trend
	 * over a range and retention are both one range of the primary key.  WITHOUT ROWID: the
	 * key is the row, no second b-tree.  sum is REAL (a mean over an hour of large counts
	 * need not fit an integer); SQLite stores whole REALs as integers on disk.
	 */
	"CREATE TABLE rollups ("
	" res INTEGER NOT NULL,"
	" t INTEGER NOT NULL,"
	" state INTEGER NOT NULL,"
	" min INTEGER NOT NULL,"
	" max INTEGER NOT NULL,"
	" sum REAL NOT NULL,"
	" n INTEGER NOT NULL,"
	" last INTEGER NOT NULL,"
	" PRIMARY KEY (res, t, state)) WITHOUT ROWID;"
	/* The same per group (local port, process), for the lingering states. */
	"CREATE TABLE group_rollups ("
	" res INTEGER NOT NULL,"
	" kind INTEGER NOT NULL,"
	" t INTEGER NOT NULL,"
	" state INTEGER NOT NULL,"
	" grp TEXT NOT NULL,"
	" min INTEGER NOT NULL,"
	" max INTEGER NOT NULL,"
	" sum REAL NOT NULL,"
	" n INTEGER NOT NULL,"
	" last INTEGER NOT NULL,"
	" PRIMARY KEY (res, kind, t, state, grp)) WITHOUT ROWID;",

	/*
	 * 2 -> 3: other network namespaces (lingerd --netns all).  Their counts per snapshot,
	 * keyed by name so a trend of one is a range of the key; by time too, for retention.
	 * Their rollups are group_rollups of kind 3 (STORE_GROUP_NETNS); the partial index
	 * makes one namespace's rollups a range as well, and leaves the port and process rows
	 * (the bulk of the table) out of it.
	 */
	"CREATE TABLE netns_snapshots ("
	" name TEXT NOT NULL,"
	" taken_at REAL NOT NULL,"
	" snapshot INTEGER NOT NULL,"
	" established INTEGER NOT NULL,"
	" syn_sent INTEGER NOT NULL,"
	" syn_recv INTEGER NOT NULL,"
	" fin_wait1 INTEGER NOT NULL,"
	" fin_wait2 INTEGER NOT NULL,"
	" time_wait INTEGER NOT NULL,"
	" close INTEGER NOT NULL,"
	" close_wait INTEGER NOT NULL,"
	" last_ack INTEGER NOT NULL,"
	" listen INTEGER NOT NULL,"
	" closing INTEGER NOT NULL,"
	" PRIMARY KEY (name, taken_at, snapshot)) WITHOUT ROWID;"
	"CREATE INDEX netns_snapshots_taken_at ON netns_snapshots (taken_at);"
	"CREATE INDEX group_rollups_netns ON group_rollups (grp, res, t) WHERE kind = 3;",
};
/* The literal 3 in the partial index above and in the statements below. */
_Static_assert(STORE_GROUP_NETNS == 3, "group_rollups_netns is built on kind = 3");
_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

/* The kernel columns of snapshots in kstat.h order: counters, then gauges. */
#define KSTAT_COLS                                                                          \
	"k_time_wait_entered, k_time_wait_killed, k_time_wait_recycled, k_time_wait_overflow," \
	" k_abort_on_close, k_abort_on_data, k_abort_on_linger, k_abort_on_timeout,"          \
	" k_abort_on_memory, k_listen_overflows, k_listen_drops, k_active_opens,"             \
	" k_passive_opens, k_attempt_fails, k_estab_resets, k_out_rsts, k_retrans_segs,"     \
	" k_sockets_inuse, k_orphans, k_time_wait_buckets, k_sockets_allocated, k_memory_pages"
#define KSTAT_NCOLS (KSTAT_COUNTER_MAX + KSTAT_GAUGE_MAX)

/*
 * "This snapshot has counters", written exactly as the WHERE of the snapshots_kstat
 * partial index in the 1 -> 2 step: SQLite uses that index only for the same expression.
 */
#define KSTAT_HAS_COUNTERS                                                                 \
	"coalesce(k_time_wait_entered, k_time_wait_killed, k_time_wait_recycled,"            \
	" k_time_wait_overflow, k_abort_on_close, k_abort_on_data, k_abort_on_linger,"       \
	" k_abort_on_timeout, k_abort_on_memory, k_listen_overflows, k_listen_drops,"        \
	" k_active_opens, k_passive_opens, k_attempt_fails, k_estab_resets, k_out_rsts,"     \
	" k_retrans_segs) IS NOT NULL"

/* The per-state count columns in enum sock_state order, 1 .. SOCK_STATE_MAX - 1. */
#define STATE_COLS                                                                         \
	"established, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait, close, close_wait," \
	" last_ack, listen, closing"

/* The writer's statements, all prepared once at open. */
enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SNAP_INSERT,
	ST_SOCK_INSERT,
	ST_SOCK_STATE,
	ST_SOCK_END,
	ST_OPEN_WALK,
	ST_OPEN_END,
	ST_META_GET,
	ST_META_SET,
	ST_LAST_AT,
	ST_ROLLUP_PUT,
	ST_GROUP_PUT,
	ST_NETNS_PUT,
	ST_RET_SNAPS,
	ST_RET_NETNS,
	ST_RET_ROLLUPS,
	ST_RET_GROUPS,
	ST_RET_SOCKS,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	/* IMMEDIATE: take the write lock now, so a busy database fails here, not mid-snapshot. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SNAP_INSERT] = "INSERT INTO snapshots (taken_at, duration_ms, source, partial, total, "
			   STATE_COLS ", " KSTAT_COLS ")"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
			   " ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28,"
			   " ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38)",
	[ST_SOCK_INSERT] = "INSERT INTO sockets (netns, key, family, state, laddr, lport, raddr,"
			   " rport, inode, uid, first_seen, state_since)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_SOCK_STATE] = "UPDATE sockets SET state = ?2, state_since = ?3 WHERE id = ?1",
	[ST_SOCK_END] = "UPDATE sockets SET last_seen = ?2 WHERE id = ?1",
	[ST_OPEN_WALK] = "SELECT id, netns, key, state, first_seen, state_since FROM sockets"
			 " WHERE last_seen IS NULL",
	[ST_OPEN_END] = "UPDATE sockets SET last_seen = ?1 WHERE last_seen IS NULL",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
			" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_LAST_AT] = "SELECT max(taken_at) FROM snapshots",
	/* REPLACE: the sampler rewrites the bucket that is filling at every snapshot. */
	[ST_ROLLUP_PUT] = "INSERT OR REPLACE INTO rollups (res, t, state, min, max, sum, n, last)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_GROUP_PUT] = "INSERT OR REPLACE INTO group_rollups"
			 " (res, kind, t, state, grp, min, max, sum, n, last)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[ST_NETNS_PUT] = "INSERT OR REPLACE INTO netns_snapshots (name, taken_at, snapshot, "
			 STATE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
			 " ?13, ?14)",
	/*
	 * Retention, oldest first and at most ?N rows a statement (Debian's SQLite has DELETE
	 * ... LIMIT, but that is a compile option we should not depend on).  Each inner SELECT
	 * is a range of an index; the outer DELETE finds each row by its key.
	 */
	[ST_RET_SNAPS] = "DELETE FROM snapshots WHERE id IN (SELECT id FROM snapshots"
			 " WHERE taken_at < ?1 ORDER BY taken_at LIMIT ?2)",
	[ST_RET_ROLLUPS] = "DELETE FROM rollups WHERE (res, t, state) IN (SELECT res, t, state"
			   " FROM rollups WHERE res = ?1 AND t < ?2 ORDER BY t LIMIT ?3)",
	[ST_RET_GROUPS] = "DELETE FROM group_rollups WHERE (res, kind, t, state, grp) IN"
			  " (SELECT res, kind, t, state, grp FROM group_rollups"
			  " WHERE res = ?1 AND kind = ?2 AND t < ?3 ORDER BY t LIMIT ?4)",
	[ST_RET_NETNS] = "DELETE FROM netns_snapshots WHERE (name, taken_at, snapshot) IN"
			 " (SELECT name, taken_at, snapshot FROM netns_snapshots"
			 " WHERE taken_at < ?1 ORDER BY taken_at LIMIT ?2)",
	/* last_seen IS NOT NULL spelled out so the partial index sockets_last_seen applies. */
	[ST_RET_SOCKS] = "DELETE FROM sockets WHERE id IN (SELECT id FROM sockets"
			 " WHERE last_seen IS NOT NULL AND last_seen < ?1"
			 " ORDER BY last_seen LIMIT ?2)",
};

/* Snapshot columns in the order the reader's select uses. */
#define SNAP_COLS                                                                            \
	"id, taken_at, duration_ms, source, partial, total, " STATE_COLS ", " KSTAT_COLS

/* Column of the first kernel value in a SNAP_COLS row. */
#define SNAP_COL_KSTAT (5 + SOCK_STATE_MAX)

/*
 * The reader's statements.  Trends read rows in the order of an index and bucket them in
 * C, not with GROUP BY: a GROUP BY on CAST(t / step) cannot use the index order and sorts
 * every row in the range (measured: 56-76 ms for 7 days of minute rollups of 11 states,
 * against 5 ms for the bare index range).
 */
enum store_rstmt {
	RS_BEGIN,
	RS_END,
	RS_SNAPSHOTS,
	RS_PING,
	RS_TREND_RAW,
	RS_TREND_ROLLUP,
	RS_GROUP_ROWS,
	RS_GROUP_RANK,
	RS_KSTAT_BEFORE,
	RS_KSTAT_AFTER,
	RS_NETNS_RAW,
	RS_NETNS_ROLLUP,
	RS_NETNS_KNOWN,
	RS_COUNT
};

static const char *const rstmt_sql[RS_COUNT] = {
	/* Deferred: the read transaction starts at the first SELECT; several see one state. */
	[RS_BEGIN] = "BEGIN",
	[RS_END] = "COMMIT",
	[RS_SNAPSHOTS] = "SELECT " SNAP_COLS " FROM snapshots"
			 " WHERE taken_at >= ?1 AND taken_at <= ?2 ORDER BY taken_at, id LIMIT ?3",
	/* max(id) is one step down the rowid b-tree (ORDER BY id DESC plans as a SCAN). */
	[RS_PING] = "SELECT max(id) FROM snapshots",
	/*
	 * Trends: lingerd_rows() consumes each row inside the VM (see rows_step()); the
	 * index range is read in its own order, which is time order.  The state test is on
	 * the key itself: rows of other states are skipped in the index.
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

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

struct trend_run;

struct store_reader {
	sqlite3 *db;
	sqlite3_stmt *st[RS_COUNT];
	struct trend_run *run; /* the trend lingerd_rows() feeds, while one runs */
};

/* Maps an SQLite result code to the -errno our callers understand. */
static int store_err(int rc)
{
	if (rc == SQLITE_IOERR_NOMEM)
		return -ENOMEM;
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO; /* NOTADB, CORRUPT, IOERR, CANTOPEN, ... */
	}
}

/*
 * Keys, namespace ids and inodes are u64; SQLite integers are i64.  The bits are kept as
 * they are (a key above 2^63 reads back negative in SQL and round-trips here).  memcpy
 * rather than a cast: the conversion of an out-of-range value is implementation-defined.
 */
static sqlite3_int64 u64_bits(uint64_t v)
{
	sqlite3_int64 i;

	memcpy(&i, &v, sizeof(i));
	return i;
}

static uint64_t bits_u64(sqlite3_int64 i)
{
	uint64_t v;

	memcpy(&v, &i, sizeof(v));
	return v;
}

/*
 * Steps a statement that returns no rows and resets it at once: a statement left
 * un-reset keeps its transaction (or read snapshot) open and starves checkpoints.
 */
static int stmt_exec(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : store_err(rc);
}

/* Runs a PRAGMA (or any one-row query) and returns its first column as an integer. */
static int query_int(sqlite3 *db, const char *sql, sqlite3_int64 *out)
{
	sqlite3_stmt *st = NULL;
	int rc, err;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = store_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? -EIO : store_err(rc);
		goto out;
	}
	*out = sqlite3_column_int64(st, 0);
	err = 0;
out:
	sqlite3_finalize(st);
	return err;
}

/*
 * Decides whether db is lingerd's and at which version, before anything is written to
 * it (switching a stranger's file to WAL would already be a change).  Returns 0 and
 * *version (0 for an empty file), -EPROTONOSUPPORT for a newer lingerd's file, -ENOTSUP for
 * someone else's database, -EIO when the file is not a database at all.
 */
static int schema_identify(sqlite3 *db, int *version)
{
	sqlite3_int64 app_id, user_version, objects;
	int err;

	/* The first read of the file: a non-database shows up here as SQLITE_NOTADB. */
	err = query_int(db, "PRAGMA application_id", &app_id);
	if (err < 0)
		return err;
	err = query_int(db, "PRAGMA user_version", &user_version);
	if (err < 0)
		return err;
	err = query_int(db, "SELECT count(*) FROM sqlite_schema", &objects);
	if (err < 0)
		return err;
	if (app_id != 0 && app_id != STORE_APP_ID)
		return -ENOTSUP;
	if (user_version > STORE_SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	if (user_version < 0 || (user_version == 0 && objects > 0))
		return -ENOTSUP;
	*version = (int)user_version;
	return 0;
}

/*
 * Brings the schema from its version to STORE_SCHEMA_VERSION in one transaction.  The
 * version is read again under the write lock: another process may have migrated the file
 * between schema_identify() and here.
 */
static int schema_migrate(sqlite3 *db)
{
	char sql[128];
	int version = 0, rc, err;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_err(rc);
	err = schema_identify(db, &version);
	if (err < 0)
		goto out;
	for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
		rc = sqlite3_exec(db, migrations[v], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			/*
			 * A plain SQL error (no such table, duplicate column) means the file does
			 * not hold the schema its user_version claims: someone else's database.
			 */
			err = rc == SQLITE_ERROR ? -ENOTSUP : store_err(rc);
			goto out;
		}
	}
	if (version < STORE_SCHEMA_VERSION) {
		/* PRAGMA takes no parameters; both values are our own integers. */
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
			 STORE_APP_ID, STORE_SCHEMA_VERSION);
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			err = store_err(rc);
			goto out;
		}
	}
	rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	err = store_err(rc);
out:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

/* Switches the file to WAL; anything else would let readers block the writer. */
static int set_wal(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	int rc, err;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = store_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = store_err(rc);
		goto out;
	}
	/* SQLite answers with the mode it kept, e.g. when the VFS cannot share memory. */
	mode = sqlite3_column_text(st, 0);
	err = mode && strcmp((const char *)mode, "wal") == 0 ? 0 : -EIO;
out:
	sqlite3_finalize(st);
	return err;
}

/*
 * Prepares a statement at open time.  A prepare that fails with a plain SQL error after
 * identification means a table or column is missing: the file is not the lingerd schema
 * it claims to be (e.g. someone else's file that uses user_version too).
 */
static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	if (rc == SQLITE_ERROR)
		return -ENOTSUP;
	return store_err(rc);
}

void store_set_busy_timeout(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms);
}

int store_open(struct store **out, const char *path)
{
	struct store *s;
	char sql[160];
	int version, rc, err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* SQLite's default (serialised) mutexes: the contract does not tie the writer to a thread. */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		err = s->db ? store_err(rc) : -ENOMEM;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_WRITER_BUSY_MS);
	err = schema_identify(s->db, &version);
	if (err < 0)
		goto out;
	err = set_wal(s->db);
	if (err < 0)
		goto out;
	/*
	 * Debian's build defaults to synchronous=FULL in WAL mode and secure_delete=ON: both
	 * cost a lot per snapshot and buy nothing here (a power cut may lose the last
	 * snapshots, never the file).
	 */
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = OFF;"
		 " PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = %d",
		 STORE_WAL_LIMIT_BYTES);
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err = store_err(rc);
		goto out;
	}
	err = schema_migrate(s->db);
	if (err < 0)
		goto out;
	for (int i = 0; i < ST_COUNT; i++) {
		err = prepare(s->db, stmt_sql[i], &s->st[i]);
		if (err < 0)
			goto out;
	}
	*out = s;
	s = NULL;
out:
	if (s) {
		for (int i = 0; i < ST_COUNT; i++)
			sqlite3_finalize(s->st[i]);
		sqlite3_close(s->db);
		free(s);
	}
	return err;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_rollback(s);
	/* Leaves an empty WAL behind, so the next start (or a copy of the file) is clean. */
	sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

const char *store_errmsg(struct store *s)
{
	if (!s || !s->db)
		return "no database";
	return sqlite3_errmsg(s->db);
}

/* Row writes belong to a snapshot: one outside it would be a transaction of its own. */
static int in_snapshot(struct store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

/*
 * Binds the kernel columns from parameter first on: a value the kernel did not offer (or
 * no reading at all) is NULL, never 0, so a rate is never computed across a missing value.
 * Counters are u64 and keep their bits like keys do.
 */
static void bind_kstat(sqlite3_stmt *st, int first, const struct kstat *k)
{
	for (int i = 0; i < KSTAT_COUNTER_MAX; i++) {
		if (k && k->have_counter[i])
			sqlite3_bind_int64(st, first + i, u64_bits(k->counter[i]));
		else
			sqlite3_bind_null(st, first + i);
	}
	first += KSTAT_COUNTER_MAX;
	for (int i = 0; i < KSTAT_GAUGE_MAX; i++) {
		if (k && k->have_gauge[i])
			sqlite3_bind_int64(st, first + i, k->gauge[i]);
		else
			sqlite3_bind_null(st, first + i);
	}
}

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

int store_begin(struct store *s, const struct store_snapshot *snap, int64_t *snapshot_id)
{
	sqlite3_stmt *st = s->st[ST_SNAP_INSERT];
	int err;

	if (!snap || !snap->source)
		return -EINVAL;
	if (in_snapshot(s))
		return -EINVAL; /* the last snapshot was neither committed nor rolled back */
	err = stmt_exec(s->st[ST_BEGIN]);
	if (err < 0)
		return err;
	/* Every parameter is bound before each step, so SQLITE_STATIC never reads stale memory. */
	sqlite3_bind_double(st, 1, snap->taken_at);
	sqlite3_bind_double(st, 2, snap->duration_ms);
	sqlite3_bind_text(st, 3, snap->source, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, snap->partial ? 1 : 0);
	sqlite3_bind_int64(st, 5, snap->total);
	for (int i = 1; i < SOCK_STATE_MAX; i++)
		sqlite3_bind_int64(st, 5 + i, snap->counts[i]);
	bind_kstat(st, 5 + SOCK_STATE_MAX, snap->kstat);
	err = stmt_exec(st);
	if (err < 0)
		goto out;
	if (snapshot_id)
		*snapshot_id = sqlite3_last_insert_rowid(s->db);
out:
	/* A failed begin leaves no transaction behind, whether or not the caller rolls back. */
	if (err < 0)
		store_rollback(s);
	return err;
}

int store_sock_insert(struct store *s, const struct store_sock *ss, int64_t *row_id)
{
	sqlite3_stmt *st = s->st[ST_SOCK_INSERT];
	const struct sock_rec *r;
	int addr_len, err;

	if (!ss || !ss->rec || !in_snapshot(s))
		return -EINVAL;
	r = ss->rec;
	if (r->family == AF_INET)
		addr_len = 4;
	else if (r->family == AF_INET6)
		addr_len = 16;
	else
		return -EINVAL;
	sqlite3_bind_int64(st, 1, u64_bits(ss->netns));
	sqlite3_bind_int64(st, 2, u64_bits(ss->key));
	sqlite3_bind_int(st, 3, r->family);
	sqlite3_bind_int(st, 4, r->state);
	sqlite3_bind_blob(st, 5, r->laddr, addr_len, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, r->lport);
	sqlite3_bind_blob(st, 7, r->raddr, addr_len, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, r->rport);
	sqlite3_bind_int64(st, 9, u64_bits(r->inode));
	sqlite3_bind_int64(st, 10, r->uid);
	sqlite3_bind_double(st, 11, ss->first_seen);
	sqlite3_bind_double(st, 12, ss->state_since);
	err = stmt_exec(st);
	if (err == 0 && row_id)
		*row_id = sqlite3_last_insert_rowid(s->db);
	return err;
}

/* Runs an UPDATE of one socket row; -ENOENT when the row does not exist. */
static int update_row(struct store *s, sqlite3_stmt *st)
{
	int err = stmt_exec(st);

	if (err == 0 && sqlite3_changes(s->db) == 0)
		err = -ENOENT;
	return err;
}

int store_sock_state(struct store *s, int64_t row_id, int state, double since)
{
	sqlite3_stmt *st = s->st[ST_SOCK_STATE];

	if (state <= 0 || state >= SOCK_STATE_MAX || !in_snapshot(s))
		return -EINVAL;
	sqlite3_bind_int64(st, 1, row_id);
	sqlite3_bind_int(st, 2, state);
	sqlite3_bind_double(st, 3, since);
	return update_row(s, st);
}

int store_sock_end(struct store *s, int64_t row_id, double last_seen)
{
	sqlite3_stmt *st = s->st[ST_SOCK_END];

	if (!in_snapshot(s))
		return -EINVAL;
	sqlite3_bind_int64(st, 1, row_id);
	sqlite3_bind_double(st, 2, last_seen);
	return update_row(s, st);
}

int store_commit(struct store *s)
{
	if (!in_snapshot(s))
		return -EINVAL;
	/* On failure the transaction stays open (or SQLite already undid it): caller rolls back. */
	return stmt_exec(s->st[ST_COMMIT]);
}

void store_rollback(struct store *s)
{
	/* SQLite rolls back by itself after some errors (SQLITE_FULL, IOERR): nothing to do then. */
	if (!s || sqlite3_get_autocommit(s->db))
		return;
	stmt_exec(s->st[ST_ROLLBACK]);
}

/*
 * The callback runs while the SELECT is open, so it must not write through s (an UPDATE of
 * last_seen would move rows in the very index being walked).
 */
int store_open_sockets(struct store *s, store_open_cb cb, void *arg)
{
	sqlite3_stmt *st = s->st[ST_OPEN_WALK];
	int rc, err = 0;

	if (!cb)
		return -EINVAL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = cb(arg, sqlite3_column_int64(st, 0), bits_u64(sqlite3_column_int64(st, 1)),
			 bits_u64(sqlite3_column_int64(st, 2)), sqlite3_column_int(st, 3),
			 sqlite3_column_double(st, 4), sqlite3_column_double(st, 5));
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_err(rc);
	sqlite3_reset(st);
	return err;
}

int store_end_open_sockets(struct store *s, double last_seen)
{
	sqlite3_stmt *st = s->st[ST_OPEN_END];

	/* Inside a snapshot it joins that transaction; outside it is one statement, one commit. */
	sqlite3_bind_double(st, 1, last_seen);
	return stmt_exec(st);
}

int store_meta_get(struct store *s, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st = s->st[ST_META_GET];
	const unsigned char *value;
	size_t n;
	int rc, err;

	if (!key || !buf || len == 0)
		return -EINVAL;
	/* Callers may ignore the result and use buf: it is always a string. */
	buf[0] = '\0';
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		err = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = store_err(rc);
		goto out;
	}
	value = sqlite3_column_text(st, 0);
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (!value) {
		/* A NULL value, or no memory to convert it to text. */
		err = sqlite3_errcode(s->db) == SQLITE_NOMEM ? -ENOMEM : 0;
		goto out;
	}
	if (n >= len) {
		err = -ERANGE; /* a truncated boot id would compare as a different boot */
		goto out;
	}
	memcpy(buf, value, n + 1);
	err = 0;
out:
	sqlite3_reset(st);
	return err;
}

int store_meta_set(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = s->st[ST_META_SET];

	if (!key || !value)
		return -EINVAL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return stmt_exec(st);
}

int store_last_snapshot_at(struct store *s, double *taken_at)
{
	sqlite3_stmt *st = s->st[ST_LAST_AT];
	int rc, err = 0;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*taken_at = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 : sqlite3_column_double(st, 0);
	else
		err = store_err(rc == SQLITE_DONE ? SQLITE_ERROR : rc);
	sqlite3_reset(st);
	return err;
}

/* ---- v2: rollups, retention, size ---- */

/* A group key longer than this is a caller's bug: a comm is 15 bytes, a port 5 digits. */
#define STORE_GROUP_KEY_MAX 255

/*
 * Rows a retention call deletes when its first attempt failed for want of disk space:
 * few enough that the pages they touch fit in the room a WAL checkpoint hands back.
 */
#define STORE_RETENTION_FULL_BATCH 64

static int valid_res(int res)
{
	return res == STORE_RES_MINUTE || res == STORE_RES_HOUR;
}

int store_rollup_put(struct store *s, const struct store_rollup *r)
{
	sqlite3_stmt *st;
	int p = 1;

	/* n >= 1: a reader divides sum by n; t a multiple of res: buckets never overlap. */
	if (!r || !in_snapshot(s) || !valid_res(r->res) || r->t < 0 || r->t % r->res != 0 ||
	    r->state <= 0 || r->state >= SOCK_STATE_MAX || r->n < 1 || r->min > r->max ||
	    !isfinite(r->sum))
		return -EINVAL;
	if (r->kind == 0) {
		if (r->grp)
			return -EINVAL;
		st = s->st[ST_ROLLUP_PUT];
		sqlite3_bind_int(st, p++, r->res);
	} else if (r->kind == STORE_GROUP_LOCAL_PORT || r->kind == STORE_GROUP_PROCESS ||
		   r->kind == STORE_GROUP_NETNS) {
		if (!r->grp || strlen(r->grp) > STORE_GROUP_KEY_MAX)
			return -EINVAL;
		st = s->st[ST_GROUP_PUT];
		sqlite3_bind_int(st, p++, r->res);
		sqlite3_bind_int(st, p++, r->kind);
	} else {
		return -EINVAL;
	}
	sqlite3_bind_int64(st, p++, r->t);
	sqlite3_bind_int(st, p++, r->state);
	if (r->kind)
		sqlite3_bind_text(st, p++, r->grp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, p++, r->min);
	sqlite3_bind_int64(st, p++, r->max);
	sqlite3_bind_double(st, p++, r->sum);
	sqlite3_bind_int64(st, p++, r->n);
	sqlite3_bind_int64(st, p, r->last);
	return stmt_exec(st);
}

int store_netns_put(struct store *s, int64_t snapshot_id, double taken_at, const char *name,
		    const uint32_t counts[SOCK_STATE_MAX])
{
	sqlite3_stmt *st = s->st[ST_NETNS_PUT];

	if (!name || !name[0] || strlen(name) > STORE_GROUP_KEY_MAX || !counts ||
	    !isfinite(taken_at) || !in_snapshot(s))
		return -EINVAL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, taken_at);
	sqlite3_bind_int64(st, 3, snapshot_id);
	for (int i = 1; i < SOCK_STATE_MAX; i++)
		sqlite3_bind_int64(st, 3 + i, counts[i]);
	return stmt_exec(st);
}

/* Steps one bounded DELETE (its LIMIT is the last parameter) and counts what went. */
static int retention_delete(struct store *s, sqlite3_stmt *st, int64_t *left, int64_t *done)
{
	sqlite3_int64 n;
	int err;

	if (*left <= 0)
		return 0;
	sqlite3_bind_int64(st, sqlite3_bind_parameter_count(st), *left);
	err = stmt_exec(st);
	if (err < 0)
		return err;
	n = sqlite3_changes64(s->db);
	*left -= n;
	*done += n;
	return 0;
}

/*
 * One retention transaction of at most max_rows deletions.  The small tables go first and
 * the sockets (by far the largest backlog under churn) take what is left, so a socket
 * backlog never keeps old snapshots or rollups alive.
 */
static int retention_run(struct store *s, double raw_before, double rollup_before,
			 double sockets_before, int64_t max_rows, int64_t *done)
{
	static const int res[] = { STORE_RES_MINUTE, STORE_RES_HOUR };
	static const int kinds[] = { STORE_GROUP_LOCAL_PORT, STORE_GROUP_PROCESS,
				     STORE_GROUP_NETNS };
	int64_t left = max_rows;
	sqlite3_stmt *st;
	int err;

	*done = 0;
	err = stmt_exec(s->st[ST_BEGIN]);
	if (err < 0)
		return err;
	/* A NaN time binds as NULL, which compares false: it deletes nothing. */
	st = s->st[ST_RET_SNAPS];
	sqlite3_bind_double(st, 1, raw_before);
	err = retention_delete(s, st, &left, done);
	if (!err) {
		st = s->st[ST_RET_NETNS];
		sqlite3_bind_double(st, 1, raw_before);
		err = retention_delete(s, st, &left, done);
	}
	for (size_t i = 0; !err && i < ARRAY_SIZE(res); i++) {
		st = s->st[ST_RET_ROLLUPS];
		sqlite3_bind_int(st, 1, res[i]);
		sqlite3_bind_double(st, 2, rollup_before);
		err = retention_delete(s, st, &left, done);
		for (size_t k = 0; !err && k < ARRAY_SIZE(kinds); k++) {
			st = s->st[ST_RET_GROUPS];
			sqlite3_bind_int(st, 1, res[i]);
			sqlite3_bind_int(st, 2, kinds[k]);
			sqlite3_bind_double(st, 3, rollup_before);
			err = retention_delete(s, st, &left, done);
		}
	}
	if (!err) {
		st = s->st[ST_RET_SOCKS];
		sqlite3_bind_double(st, 1, sockets_before);
		err = retention_delete(s, st, &left, done);
	}
	if (!err)
		err = stmt_exec(s->st[ST_COMMIT]);
	if (err < 0) {
		store_rollback(s);
		*done = 0;
	}
	return err;
}

int store_retention(struct store *s, double raw_before, double rollup_before,
		    double sockets_before, int max_rows, int64_t *deleted)
{
	int64_t done = 0;
	int err;

	if (deleted)
		*deleted = 0;
	if (max_rows <= 0 || in_snapshot(s))
		return -EINVAL;
	err = retention_run(s, raw_before, rollup_before, sockets_before, max_rows, &done);
	if (err == -ENOSPC) {
		/*
		 * A full disk fails even a DELETE in WAL mode: it appends pages to the WAL.
		 * What worked in the field: checkpoint the WAL and cut it to nothing (its
		 * frames move into pages the file already has), then delete a small batch
		 * in the room that freed.  Best effort: if this fails too, -ENOSPC stands.
		 */
		sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		err = retention_run(s, raw_before, rollup_before, sockets_before,
				    max_rows < STORE_RETENTION_FULL_BATCH ? max_rows :
									 STORE_RETENTION_FULL_BATCH,
				    &done);
	}
	if (deleted)
		*deleted = done;
	return err;
}

int store_size(struct store *s, int64_t *bytes)
{
	sqlite3_filename name;
	struct stat st;
	int64_t total;

	if (!s || !bytes)
		return -EINVAL;
	name = sqlite3_db_filename(s->db, "main");
	if (!name || !*name)
		return -ENOENT; /* in memory or a temporary file: nothing on disk to measure */
	if (stat(name, &st) < 0)
		return -errno;
	total = st.st_size;
	/* No WAL file is a WAL of size 0 (the last close removed it). */
	if (stat(sqlite3_filename_wal(name), &st) == 0)
		total += st.st_size;
	else if (errno != ENOENT)
		return -errno;
	*bytes = total;
	return 0;
}

/* ---- readers ---- */

/* The aggregate behind the trend queries, defined with them below. */
static void rows_step(sqlite3_context *ctx, int argc, sqlite3_value **argv);
static void rows_final(sqlite3_context *ctx);

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
	err = schema_identify(r->db, &version);
	if (err < 0)
		goto out;
	/* A reader cannot migrate: until the writer has, there is no history to read. */
	if (version != STORE_SCHEMA_VERSION) {
		err = -ENOENT;
		goto out;
	}
	rc = sqlite3_create_function_v2(r->db, "lingerd_rows", -1,
					SQLITE_UTF8 | SQLITE_DIRECTONLY, r, NULL, rows_step,
					rows_final, NULL);
	if (rc != SQLITE_OK) {
		err = store_err(rc);
		goto out;
	}
	for (int i = 0; i < RS_COUNT; i++) {
		err = prepare(r->db, rstmt_sql[i], &r->st[i]);
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
	return stmt_exec(r->st[RS_PING]) < 0 ? -EIO : 0;
}

/*
 * Several SELECTs that must agree (a ranking and its points, two counter readings) run in
 * one read transaction.  It ends before any callback runs: a slow HTTP client must never
 * hold back the writer's checkpoints.
 */
static int reader_begin(struct store_reader *r)
{
	return stmt_exec(r->st[RS_BEGIN]) < 0 ? -EIO : 0;
}

static void reader_end(struct store_reader *r)
{
	if (sqlite3_get_autocommit(r->db))
		return;
	if (stmt_exec(r->st[RS_END]) < 0 && !sqlite3_get_autocommit(r->db))
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

/* ---- trends ---- */

/*
 * Most groups a group trend ranks in memory (~300 bytes each with the hash table).  A
 * week of hour rollups holds a few thousand at most; minute rollups of ephemeral local
 * ports over days can hold far more, and then the ranking is left to SQLite (a GROUP BY
 * that sorts, slower, in bounded memory).
 */
#define STORE_TREND_GROUPS_MAX 16384

/* Later than any unix time we store, and far from where int64 bucket arithmetic overflows. */
#define STORE_TIME_MAX 9e15

/* The bits of state_mask that name a state. */
#define STATE_MASK_VALID (((1u << SOCK_STATE_MAX) - 1) & ~1u)

/* A finished bucket of one series, kept until the read transaction is over. */
struct trend_point {
	uint32_t series; /* state, or rank * SOCK_STATE_MAX + state for a group */
	int64_t bucket;  /* t / step */
	double sum;
	int64_t n, max;
};

/* The bucket being filled for one series. */
struct trend_acc {
	int open, flushed;
	int64_t bucket, last; /* last: the bucket flushed before */
	double sum;
	int64_t n, max;
};

struct trend {
	int64_t step;
	uint32_t max_points;
	struct trend_point *v;
	size_t n, cap;
	int disordered; /* a series' bucket went backwards: sort and merge before emitting */
};

static int trend_flush(struct trend *tr, struct trend_acc *a, uint32_t series)
{
	if (!a->open)
		return 0;
	a->open = 0;
	if (a->flushed && a->bucket <= a->last)
		tr->disordered = 1;
	a->flushed = 1;
	a->last = a->bucket;
	if (tr->n >= tr->max_points)
		return -E2BIG;
	if (tr->n == tr->cap) {
		size_t cap = tr->cap ? tr->cap * 2 : 256;
		struct trend_point *v = realloc(tr->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		tr->v = v;
		tr->cap = cap;
	}
	tr->v[tr->n++] = (struct trend_point){ series, a->bucket, a->sum, a->n, a->max };
	return 0;
}

/*
 * Adds a row (a raw value, or a rollup's sum, n and max) to its series.  Rows come in the
 * order of the index, which is time order, so a series' bucket only moves forward and a
 * new bucket finishes the last one.  (Were the order ever different, trend_emit() still
 * sorts and merges: slower, never wrong.)
 */
static int trend_add(struct trend *tr, struct trend_acc *a, uint32_t series, int64_t bucket,
		     double sum, int64_t n, int64_t max)
{
	int err;

	if (a->open && a->bucket != bucket) {
		err = trend_flush(tr, a, series);
		if (err < 0)
			return err;
	}
	if (!a->open) {
		a->open = 1;
		a->bucket = bucket;
		a->sum = 0;
		a->n = 0;
		a->max = max;
	} else if (max > a->max) {
		a->max = max;
	}
	a->sum += sum;
	a->n += n;
	return 0;
}

static int point_bucket_cmp(const void *pa, const void *pb)
{
	const struct trend_point *a = pa, *b = pb;

	return (a->bucket > b->bucket) - (a->bucket < b->bucket);
}

/* Sorts each series' run of points by bucket and folds repeated buckets together. */
static size_t trend_merge(struct trend_point *v, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && v[j].series == v[i].series)
			j++;
		qsort(v + i, j - i, sizeof(*v), point_bucket_cmp);
		for (size_t k = i; k < j; k++) {
			if (out > 0 && v[out - 1].series == v[k].series &&
			    v[out - 1].bucket == v[k].bucket) {
				v[out - 1].sum += v[k].sum;
				v[out - 1].n += v[k].n;
				if (v[k].max > v[out - 1].max)
					v[out - 1].max = v[k].max;
			} else {
				v[out++] = v[k];
			}
		}
		i = j;
	}
	return out;
}

/*
 * Hands the points out in order of series, then t.  Each series' points were appended in
 * time order, so a stable counting sort by series is the whole ordering: O(n), where a
 * qsort cost ~10 ms for a week of minutes.  names[rank] is a group's key, NULL for host.
 */
static int trend_emit(struct trend *tr, uint32_t nseries, char *const *names, store_point_cb cb,
		      void *arg)
{
	struct trend_point *sorted = NULL;
	size_t *start = NULL, n = tr->n;
	int err = 0;

	if (n == 0)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	start = calloc((size_t)nseries + 1, sizeof(*start));
	if (!sorted || !start) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		start[tr->v[i].series + 1]++;
	for (uint32_t i = 0; i < nseries; i++)
		start[i + 1] += start[i];
	for (size_t i = 0; i < n; i++)
		sorted[start[tr->v[i].series]++] = tr->v[i];
	if (tr->disordered)
		n = trend_merge(sorted, n);
	for (size_t i = 0; i < n; i++) {
		const struct trend_point *p = &sorted[i];
		int state = (int)(p->series % SOCK_STATE_MAX);
		const char *grp = names ? names[p->series / SOCK_STATE_MAX] : NULL;

		double mean = p->n > 0 ? p->sum / (double)p->n : 0;

		err = cb(arg, state, grp, p->bucket * tr->step, mean, p->max);
		if (err)
			break;
	}
out:
	free(sorted);
	free(start);
	return err;
}

/*
 * Arguments both trends share.  A step that is not a whole number of res buckets is
 * allowed (the API passes the user's step through): each rollup bucket then counts wholly
 * in the step bucket that holds its start, so edges are off by up to res - 1 seconds.
 */
static int trend_args_ok(int res, uint32_t state_mask, int64_t step)
{
	if (res != STORE_RES_RAW && !valid_res(res))
		return 0;
	if (step < 1 || step < res)
		return 0;
	return (state_mask & ~STATE_MASK_VALID) == 0;
}

/* One group met in the range: its largest max per state, and its rank once ranked. */
struct group_ent {
	char *grp;
	size_t len;
	uint32_t hash;
	uint32_t seen; /* bit 1 << state: the state had rows */
	int64_t max[SOCK_STATE_MAX];
	int64_t score;
	int64_t rank; /* -1: outside the top */
};

/* Open addressing, cap a power of two kept at least twice n. */
struct group_map {
	struct group_ent *v;
	size_t n, cap;
};

/* What lingerd_rows() does with each row of the query running now. */
enum trend_mode {
	TM_RAW,         /* (taken_at, count of state 1, ..., count of state 11) */
	TM_ROLLUP,      /* (t, state, sum, n, max) */
	TM_GROUP_RANK,  /* (t, state, grp, sum, n, max): largest max per group and state */
	TM_GROUP_POINT, /* the same rows: points of the ranked groups */
	TM_NETNS,       /* (t, state, sum, n, max) of one namespace, every state */
};

struct trend_run {
	enum trend_mode mode;
	uint32_t state_mask;
	struct trend *tr;
	struct trend_acc *acc; /* one per series */
	struct group_map *groups;
	int err;
	/* TM_NETNS: the rollup bucket being read, its n, and the states it had rows of */
	int have_cur;
	int64_t cur_t, cur_n;
	uint32_t cur_seen;
};

static uint32_t group_hash(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static struct group_ent *group_find(struct group_map *m, const unsigned char *p, size_t len,
				    uint32_t h)
{
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct group_ent *e = &m->v[i];

		if (!e->grp)
			return e; /* the empty slot where it would go */
		if (e->hash == h && e->len == len && memcmp(e->grp, p, len) == 0)
			return e;
	}
}

static int group_grow(struct group_map *m)
{
	struct group_map bigger = { .cap = m->cap ? m->cap * 2 : 64 };

	bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
	if (!bigger.v)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].grp)
			*group_find(&bigger, (const unsigned char *)m->v[i].grp, m->v[i].len,
				    m->v[i].hash) = m->v[i];
	bigger.n = m->n;
	free(m->v);
	*m = bigger;
	return 0;
}

/* The entry of a group, added when absent (add 0: NULL when absent). */
static int group_get(struct group_map *m, const unsigned char *p, size_t len, int add,
		     struct group_ent **out)
{
	uint32_t h = group_hash(p, len);
	struct group_ent *e;
	int err;

	*out = NULL;
	if (!m->cap) {
		if (!add)
			return 0;
		err = group_grow(m);
		if (err < 0)
			return err;
	}
	e = group_find(m, p, len, h);
	if (e->grp || !add) {
		*out = e->grp ? e : NULL;
		return 0;
	}
	if (m->n >= STORE_TREND_GROUPS_MAX)
		return -EOVERFLOW; /* the caller ranks in SQL instead */
	if ((m->n + 1) * 2 > m->cap) {
		err = group_grow(m);
		if (err < 0)
			return err;
		e = group_find(m, p, len, h);
	}
	e->grp = malloc(len + 1);
	if (!e->grp)
		return -ENOMEM;
	memcpy(e->grp, p, len);
	e->grp[len] = '\0';
	e->len = len;
	e->hash = h;
	e->rank = -1;
	m->n++;
	*out = e;
	return 0;
}

static void group_free(struct group_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].grp);
	free(m->v);
}

/* Larger score first; equal scores in key order, so the ranking is stable across calls. */
static int group_rank_cmp(const void *pa, const void *pb)
{
	const struct group_ent *a = *(const struct group_ent *const *)pa;
	const struct group_ent *b = *(const struct group_ent *const *)pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	c = memcmp(a->grp, b->grp, n);
	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

/*
 * One raw row: every state asked for is bucketed in the same pass (the count columns come
 * from the whitelist STATE_COLS, never from the request).  Rows before 1970 or absurdly
 * far ahead are not points.
 */
static int rows_raw(struct trend_run *run, sqlite3_value **v)
{
	double t = sqlite3_value_double(v[0]);
	int64_t bucket;
	int err = 0;

	if (!(t >= 0 && t <= STORE_TIME_MAX))
		return 0;
	bucket = (int64_t)(t / (double)run->tr->step); /* t >= 0: truncation is floor */
	for (uint32_t i = 1; i < SOCK_STATE_MAX && !err; i++) {
		int64_t x;

		if (!(run->state_mask & (1u << i)))
			continue;
		x = sqlite3_value_int64(v[i]);
		err = trend_add(run->tr, &run->acc[i], i, bucket, (double)x, 1, x);
	}
	return err;
}

/* One rollup row: a bucket's mean is SUM(sum) / SUM(n), its max MAX(max). */
static int rows_rollup(struct trend_run *run, sqlite3_value **v)
{
	int64_t t = sqlite3_value_int64(v[0]);
	int state = sqlite3_value_int(v[1]);

	if (t < 0 || state <= 0 || state >= SOCK_STATE_MAX)
		return 0; /* not a row store_rollup_put() writes */
	return trend_add(run->tr, &run->acc[state], (uint32_t)state, t / run->tr->step,
			 sqlite3_value_double(v[2]), sqlite3_value_int64(v[3]),
			 sqlite3_value_int64(v[4]));
}

/* The states asked for that had no row in the namespace's bucket just read: 0 there. */
static int netns_fill(struct trend_run *run)
{
	int err = 0;

	if (!run->have_cur)
		return 0;
	for (uint32_t st = 1; st < SOCK_STATE_MAX && !err; st++)
		if ((run->state_mask & (1u << st)) && !(run->cur_seen & (1u << st)))
			err = trend_add(run->tr, &run->acc[st], st, run->cur_t / run->tr->step, 0,
					run->cur_n, 0);
	run->have_cur = 0;
	run->cur_seen = 0;
	return err;
}

/* One rollup row of a namespace: rows_rollup(), and a 0 for its absent states. */
static int rows_netns(struct trend_run *run, sqlite3_value **v)
{
	int64_t t = sqlite3_value_int64(v[0]), n = sqlite3_value_int64(v[3]);
	int state = sqlite3_value_int(v[1]), err;

	if (t < 0 || state <= 0 || state >= SOCK_STATE_MAX || n < 1)
		return 0;
	if (run->have_cur && t != run->cur_t) {
		err = netns_fill(run);
		if (err < 0)
			return err;
	}
	if (!run->have_cur) {
		run->have_cur = 1;
		run->cur_t = t;
		run->cur_n = n; /* every row of a bucket has its snapshot count */
	}
	run->cur_seen |= 1u << state;
	if (!(run->state_mask & (1u << state)))
		return 0;
	return trend_add(run->tr, &run->acc[state], (uint32_t)state, t / run->tr->step,
			 sqlite3_value_double(v[2]), n, sqlite3_value_int64(v[4]));
}

/* One group row, for the ranking or for the points of the ranked groups. */
static int rows_group(struct trend_run *run, sqlite3_value **v)
{
	int64_t t = sqlite3_value_int64(v[0]), max = sqlite3_value_int64(v[5]);
	int state = sqlite3_value_int(v[1]), add = run->mode == TM_GROUP_RANK;
	const unsigned char *grp = sqlite3_value_text(v[2]);
	struct group_ent *e;
	uint32_t series;
	int err;

	if (t < 0 || state <= 0 || state >= SOCK_STATE_MAX)
		return 0;
	if (!grp)
		return sqlite3_value_type(v[2]) == SQLITE_NULL ? 0 : -ENOMEM;
	err = group_get(run->groups, grp, (size_t)sqlite3_value_bytes(v[2]), add, &e);
	if (err < 0 || !e)
		return err;
	if (add) {
		if (!(e->seen & (1u << state)) || max > e->max[state])
			e->max[state] = max;
		e->seen |= 1u << state;
		return 0;
	}
	if (e->rank < 0)
		return 0; /* outside the top */
	series = (uint32_t)e->rank * SOCK_STATE_MAX + (uint32_t)state;
	return trend_add(run->tr, &run->acc[series], series, t / run->tr->step,
			 sqlite3_value_double(v[3]), sqlite3_value_int64(v[4]), max);
}

/*
 * lingerd_rows(...): an aggregate that feeds each row of a trend query straight into the
 * running trend.  Rows handed back to C one sqlite3_step() at a time cost ~20 ms for a
 * week of minute rollups of 11 states (110880 rows); consumed inside the VM, ~13 ms.  The
 * function exists only on readers' connections, with SQLITE_DIRECTONLY so that no view
 * or trigger in a file can call it.
 */
static void rows_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct store_reader *r = sqlite3_user_data(ctx);
	struct trend_run *run = r->run;
	int err;

	if (!run || run->err)
		return;
	switch (run->mode) {
	case TM_RAW:
		err = argc == 1 + SOCK_STATE_MAX - 1 ? rows_raw(run, argv) : -EINVAL;
		break;
	case TM_ROLLUP:
		err = argc == 5 ? rows_rollup(run, argv) : -EINVAL;
		break;
	case TM_NETNS:
		err = argc == 5 ? rows_netns(run, argv) : -EINVAL;
		break;
	default:
		err = argc == 6 ? rows_group(run, argv) : -EINVAL;
		break;
	}
	if (err < 0) {
		/* Stops the statement at once: no point in reading the rest of the range. */
		run->err = err;
		sqlite3_result_error_code(ctx, SQLITE_ABORT);
	}
}

static void rows_final(sqlite3_context *ctx)
{
	sqlite3_result_null(ctx);
}

/* Runs one lingerd_rows() query to its end with run as the trend being fed. */
static int trend_query(struct store_reader *r, sqlite3_stmt *st, struct trend_run *run)
{
	int rc;

	r->run = run;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	r->run = NULL;
	if (run->err)
		return run->err;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_reader_trend(struct store_reader *r, int res, uint32_t state_mask, double from,
		       double to, int64_t step, uint32_t max_points, store_point_cb cb, void *arg)
{
	struct trend tr = { .step = step, .max_points = max_points };
	struct trend_acc acc[SOCK_STATE_MAX];
	struct trend_run run = { .state_mask = state_mask, .tr = &tr, .acc = acc };
	sqlite3_stmt *st;
	int err;

	if (!r || !cb || !trend_args_ok(res, state_mask, step))
		return -EINVAL;
	if (state_mask == 0)
		return 0;
	memset(acc, 0, sizeof(acc));
	if (res == STORE_RES_RAW) {
		run.mode = TM_RAW;
		st = r->st[RS_TREND_RAW];
		sqlite3_bind_double(st, 1, from);
		sqlite3_bind_double(st, 2, to);
	} else {
		run.mode = TM_ROLLUP;
		st = r->st[RS_TREND_ROLLUP];
		sqlite3_bind_int(st, 1, res);
		sqlite3_bind_double(st, 2, from);
		sqlite3_bind_double(st, 3, to);
		sqlite3_bind_int64(st, 4, state_mask);
	}
	err = trend_query(r, st, &run);
	for (uint32_t i = 1; i < SOCK_STATE_MAX && !err; i++)
		err = trend_flush(&tr, &acc[i], i);
	if (!err)
		err = trend_emit(&tr, SOCK_STATE_MAX, NULL, cb, arg);
	free(tr.v);
	return err;
}

int store_reader_netns_trend(struct store_reader *r, const char *name, int res,
			     uint32_t state_mask, double from, double to, int64_t step,
			     uint32_t max_points, store_point_cb cb, void *arg)
{
	struct trend tr = { .step = step, .max_points = max_points };
	struct trend_acc acc[SOCK_STATE_MAX];
	struct trend_run run = { .state_mask = state_mask, .tr = &tr, .acc = acc };
	sqlite3_stmt *st;
	int err;

	if (!r || !cb || !name || !trend_args_ok(res, state_mask, step))
		return -EINVAL;
	if (state_mask == 0)
		return 0;
	memset(acc, 0, sizeof(acc));
	if (res == STORE_RES_RAW) {
		run.mode = TM_RAW;
		st = r->st[RS_NETNS_RAW];
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_double(st, 2, from);
		sqlite3_bind_double(st, 3, to);
	} else {
		run.mode = TM_NETNS;
		st = r->st[RS_NETNS_ROLLUP];
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 2, res);
		sqlite3_bind_double(st, 3, from);
		sqlite3_bind_double(st, 4, to);
	}
	err = trend_query(r, st, &run);
	if (!err && run.mode == TM_NETNS)
		err = netns_fill(&run);
	for (uint32_t i = 1; i < SOCK_STATE_MAX && !err; i++)
		err = trend_flush(&tr, &acc[i], i);
	if (!err)
		err = trend_emit(&tr, SOCK_STATE_MAX, NULL, cb, arg);
	free(tr.v);
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

/* Ranks the groups of pass 1 in memory: ranked[0 .. *n) best first. */
static int group_rank_map(struct group_map *m, struct group_ent ***ranked, size_t *n)
{
	struct group_ent **v = malloc((m->n ? m->n : 1) * sizeof(*v));
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		struct group_ent *e = &m->v[i];

		if (!e->grp)
			continue;
		for (int st = 1; st < SOCK_STATE_MAX; st++)
			if (e->seen & (1u << st))
				e->score += e->max[st];
		v[k++] = e;
	}
	qsort(v, k, sizeof(*v), group_rank_cmp);
	*ranked = v;
	*n = k;
	return 0;
}

/*
 * Ranks in SQL when the range holds more groups than memory should: the map is emptied
 * and refilled with the top groups only, ranked[0 .. *n) best first.
 */
static int group_rank_sql(struct store_reader *r, struct group_map *m, int res, int kind,
			  uint32_t state_mask, double from, double to, uint32_t top,
			  struct group_ent ***ranked, size_t *n)
{
	sqlite3_stmt *st = r->st[RS_GROUP_RANK];
	struct group_ent **v = NULL;
	size_t k = 0;
	int rc = SQLITE_DONE, err = 0;

	/* More than the map holds would be more than memory should, here as in pass 1. */
	if (top > STORE_TREND_GROUPS_MAX)
		top = STORE_TREND_GROUPS_MAX;
	group_free(m);
	memset(m, 0, sizeof(*m));
	sqlite3_bind_int(st, 1, res);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_double(st, 3, from);
	sqlite3_bind_double(st, 4, to);
	sqlite3_bind_int64(st, 5, state_mask);
	sqlite3_bind_int64(st, 6, top);
	v = malloc((size_t)top * sizeof(*v));
	if (!v)
		err = -ENOMEM;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *grp = sqlite3_column_text(st, 0);
		struct group_ent *e = NULL;

		if (!grp || k >= top)
			continue;
		err = group_get(m, grp, (size_t)sqlite3_column_bytes(st, 0), 1, &e);
		if (err < 0)
			break;
		e->score = sqlite3_column_int64(st, 1);
		v[k++] = e;
	}
	if (!err && rc != SQLITE_DONE)
		err = -EIO;
	sqlite3_reset(st);
	if (err < 0) {
		free(v);
		return err;
	}
	*ranked = v;
	*n = k;
	return 0;
}

/*
 * Two passes over the same index range in one read transaction: one ranks the groups (a
 * hash of group -> max per state; a GROUP BY would sort every row), one buckets the
 * points of the top groups.  Memory: the distinct groups of the range (bounded, see
 * STORE_TREND_GROUPS_MAX), and the points.
 */
int store_reader_group_trend(struct store_reader *r, int res, int kind, uint32_t state_mask,
			     double from, double to, int64_t step, uint32_t top,
			     uint32_t max_points, store_point_cb cb, void *arg)
{
	struct trend tr = { .step = step, .max_points = max_points };
	struct group_map m = { 0 };
	struct trend_run run = { .mode = TM_GROUP_RANK, .state_mask = state_mask, .tr = &tr,
				 .groups = &m };
	struct group_ent **ranked = NULL;
	sqlite3_stmt *st = NULL;
	char **names = NULL;
	size_t n = 0, ntop;
	int err;

	if (!r || !cb || !valid_res(res) || !trend_args_ok(res, state_mask, step) ||
	    (kind != STORE_GROUP_LOCAL_PORT && kind != STORE_GROUP_PROCESS))
		return -EINVAL;
	if (top == 0 || state_mask == 0)
		return 0;
	err = reader_begin(r);
	if (err < 0)
		return err;
	st = r->st[RS_GROUP_ROWS];
	sqlite3_bind_int(st, 1, res);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_double(st, 3, from);
	sqlite3_bind_double(st, 4, to);
	sqlite3_bind_int64(st, 5, state_mask);
	err = trend_query(r, st, &run);
	if (err == -EOVERFLOW)
		err = group_rank_sql(r, &m, res, kind, state_mask, from, to, top, &ranked, &n);
	else if (err == 0)
		err = group_rank_map(&m, &ranked, &n);
	if (err < 0 || n == 0)
		goto out;
	ntop = n < top ? n : top;
	names = malloc(ntop * sizeof(*names));
	run.acc = calloc(ntop * SOCK_STATE_MAX, sizeof(*run.acc));
	if (!names || !run.acc) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ntop; i++) {
		ranked[i]->rank = (int64_t)i;
		names[i] = ranked[i]->grp;
	}
	run.mode = TM_GROUP_POINT;
	run.err = 0;
	err = trend_query(r, st, &run);
	reader_end(r);
	for (size_t i = 0; i < ntop * SOCK_STATE_MAX && !err; i++)
		err = trend_flush(&tr, &run.acc[i], (uint32_t)i);
	if (!err)
		err = trend_emit(&tr, (uint32_t)(ntop * SOCK_STATE_MAX), names, cb, arg);
out:
	reader_end(r);
	free(tr.v);
	free(run.acc);
	free(names);
	free(ranked);
	group_free(&m);
	return err;
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
	err = reader_begin(r);
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
	reader_end(r);
	return err;
}
