/* store.c - the SQLite history: schema migrations, the snapshot writer and read-only readers. */
#include "store.h"

#include <errno.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * The snapshots table has one column per state, frozen in the v1 schema below.  A new
 * state in sock.h needs a migration that adds its column, so make that impossible to miss.
 */
_Static_assert(SOCK_STATE_MAX == 12, "a new TCP state needs a snapshots column and a migration");

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
};
_Static_assert(ARRAY_SIZE(migrations) == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

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
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	/* IMMEDIATE: take the write lock now, so a busy database fails here, not mid-snapshot. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SNAP_INSERT] = "INSERT INTO snapshots (taken_at, duration_ms, source, partial, total,"
			   " established, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait,"
			   " close, close_wait, last_ack, listen, closing)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
			   " ?15, ?16)",
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
};

/* Snapshot columns in the order both the insert and the reader's select use. */
#define SNAP_COLS                                                                          \
	"id, taken_at, duration_ms, source, partial, total, established, syn_sent, syn_recv," \
	" fin_wait1, fin_wait2, time_wait, close, close_wait, last_ack, listen, closing"

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

struct store_reader {
	sqlite3 *db;
	sqlite3_stmt *snapshots;
	sqlite3_stmt *ping;
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
			err = store_err(rc);
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
	err = prepare(r->db,
		      "SELECT " SNAP_COLS " FROM snapshots WHERE taken_at >= ?1 AND taken_at <= ?2"
		      " ORDER BY taken_at, id LIMIT ?3",
		      &r->snapshots);
	if (err < 0)
		goto out;
	err = prepare(r->db, "SELECT id FROM snapshots ORDER BY id DESC LIMIT 1", &r->ping);
	if (err < 0)
		goto out;
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
	sqlite3_finalize(r->snapshots);
	sqlite3_finalize(r->ping);
	sqlite3_close(r->db);
	free(r);
}

int store_reader_ping(struct store_reader *r)
{
	return stmt_exec(r->ping) < 0 ? -EIO : 0;
}

int store_reader_snapshots(struct store_reader *r, double from, double to, uint32_t limit,
			   store_snapshot_cb cb, void *arg)
{
	sqlite3_stmt *st = r->snapshots;
	struct store_snapshot snap;
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
