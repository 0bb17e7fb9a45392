/* store_schema.c - the store's schema: forward migrations, identifying a file, opening it. */
#include <errno.h>
#include <stdio.h>

#include "store_impl.h"

/*
 * The snapshots table has one column per state, frozen in the v1 schema below.  A new
 * state in sock.h needs a migration that adds its column, so make that impossible to miss.
 */
_Static_assert(SOCK_STATE_MAX == 12, "a new TCP state needs a snapshots column and a migration");
/* The same for the kernel counters and gauges, frozen in the v2 step as k_<metric> columns. */
_Static_assert(KSTAT_COUNTER_MAX == 17 && KSTAT_GAUGE_MAX == 5,
	       "a new kernel counter or gauge needs a snapshots column and a migration");

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
	 * Their rollups are group_rollups of kind 3 (GROUP_NETNS); the partial index
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

	/*
	 * 3 -> 4: exact TCP state changes counted by the teardown tracer (capture/events.h),
	 * per from -> to pair: how many happened since the snapshot before, written with each
	 * snapshot (deleted with it), and summed per minute and hour.  Only pairs that moved get
	 * a row.  Rows of snapshots that are gone go with them (ON DELETE CASCADE; the writer
	 * runs with foreign keys on); the rollups go with the other rollups' retention.
	 *
	 * And the teardown of each socket that got a lifetime row while the tracer knew it (with
	 * --persist-after: the ones that linger), by cookie, so that it outlives the kernel's
	 * record and a restart: who closed it and its state changes, at wall-clock times.  They
	 * go with their socket row.
	 */
	"CREATE TABLE transitions ("
	" snapshot INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,"
	" from_state INTEGER NOT NULL,"
	" to_state INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" PRIMARY KEY (snapshot, from_state, to_state)) WITHOUT ROWID;"
	"CREATE TABLE transition_rollups ("
	" res INTEGER NOT NULL,"
	" t INTEGER NOT NULL,"
	" from_state INTEGER NOT NULL,"
	" to_state INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" PRIMARY KEY (res, t, from_state, to_state)) WITHOUT ROWID;"
	"CREATE TABLE timelines ("
	" cookie INTEGER PRIMARY KEY,"
	" sock INTEGER NOT NULL REFERENCES sockets (id) ON DELETE CASCADE,"
	" netns INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" tid INTEGER NOT NULL,"
	" comm TEXT NOT NULL,"
	" cgroup INTEGER NOT NULL,"
	" how INTEGER NOT NULL,"
	" reset_sent INTEGER NOT NULL);"
	"CREATE INDEX timelines_sock ON timelines (sock);"
	"CREATE TABLE timeline_steps ("
	" cookie INTEGER NOT NULL REFERENCES timelines (cookie) ON DELETE CASCADE,"
	" i INTEGER NOT NULL,"
	" at REAL NOT NULL,"
	" from_state INTEGER NOT NULL,"
	" to_state INTEGER NOT NULL,"
	" pid INTEGER NOT NULL,"
	" PRIMARY KEY (cookie, i)) WITHOUT ROWID;",
};
/* The literal 3 in the partial index above and in the readers' statements (store_read.c). */
_Static_assert(GROUP_NETNS == 3, "group_rollups_netns is built on kind = 3");
_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

int store_err(int rc)
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
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		/* Only what SQLite calls corruption: the one error that moves a file aside. */
		return -EUCLEAN;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	default:
		return -EIO; /* IOERR, CANTOPEN, ...: the file may be fine, the system is not */
	}
}

int store_stmt_exec(sqlite3_stmt *st)
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

int store_schema_identify(sqlite3 *db, int *version)
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
 * between store_schema_identify() and here.
 */
static int schema_migrate(sqlite3 *db)
{
	char sql[128];
	int version = 0, rc, err;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_err(rc);
	err = store_schema_identify(db, &version);
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

int store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	if (rc == SQLITE_ERROR)
		return -ENOTSUP;
	return store_err(rc);
}

/*
 * Reads every page once (PRAGMA quick_check: b-trees and free lists, not index contents):
 * garbage past the first page is otherwise found only when a snapshot or a retention pass
 * happens to touch it.  -EUCLEAN when SQLite finds corruption.
 */
static int quick_check(sqlite3 *db, char *why, size_t len)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *verdict;
	int rc, err;

	rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = store_err(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = store_err(rc == SQLITE_DONE ? SQLITE_CORRUPT : rc);
		goto out;
	}
	verdict = sqlite3_column_text(st, 0);
	err = verdict && strcmp((const char *)verdict, "ok") == 0 ? 0 : -EUCLEAN;
	if (err < 0 && why && len)
		snprintf(why, len, "malformed: %s", verdict ? (const char *)verdict : "?");
out:
	sqlite3_finalize(st);
	return err;
}

int store_schema_setup(sqlite3 *db, char *why, size_t len)
{
	char sql[160];
	int version, rc, err;

	err = store_schema_identify(db, &version);
	if (err < 0)
		return err;
	err = quick_check(db, why, len);
	if (err < 0)
		return err;
	err = set_wal(db);
	if (err < 0)
		return err;
	/*
	 * Debian's build defaults to synchronous=FULL in WAL mode and secure_delete=ON: both
	 * cost a lot per snapshot and buy nothing here (a power cut may lose the last
	 * snapshots, never the file).
	 */
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous = NORMAL; PRAGMA secure_delete = OFF;"
		 " PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = %d",
		 STORE_WAL_LIMIT_BYTES);
	rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_err(rc);
	return schema_migrate(db);
}
