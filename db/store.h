/* store.h - the SQLite history: snapshots and socket lifetimes, one writer, many readers. */
#ifndef LINGERD_STORE_H
#define LINGERD_STORE_H

#include <stdint.h>

#include "sock.h"

/* The schema version this build writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 1

struct store;

/* One snapshot row: when, how long the capture took, from where, and counts per state. */
struct store_snapshot {
	double taken_at;    /* unix seconds, wall clock */
	double duration_ms; /* capture + diff, before the commit */
	const char *source; /* "netlink" or "proc" */
	int partial;        /* a dump stayed interrupted */
	uint32_t total;
	uint32_t counts[SOCK_STATE_MAX]; /* index = enum sock_state; [0] unused */
};

/* A socket seen for the first time. */
struct store_sock {
	uint64_t netns; /* namespace id (inode of its net ns file), 0 for lingerd's own */
	uint64_t key;   /* tracking key: cookie, inode, or a hash of the 4-tuple */
	const struct sock_rec *rec;
	double first_seen;
	double state_since;
};

/*
 * Opens (creating if needed) the database at path as the only writer: WAL,
 * synchronous=NORMAL, secure_delete=OFF, foreign keys on, a busy timeout, and migrates the
 * schema forward from any earlier version.  Returns 0 and *out, -EPROTONOSUPPORT when the
 * file has a newer schema than this build, -ENOTSUP when the file is a database that is not
 * lingerd's (tables it does not know and no user_version), -EIO for a corrupt file or other
 * SQLite failure, -ENOMEM.
 */
int store_open(struct store **out, const char *path);

/* Checkpoints the WAL (TRUNCATE), finalises every statement and closes.  NULL is fine. */
void store_close(struct store *s);

/* Last SQLite error message of the writer (for logs), never NULL. */
const char *store_errmsg(struct store *s);

/*
 * A snapshot is written as: store_begin(), any number of store_sock_* calls for the sockets
 * that appeared, changed state or vanished, then store_commit() -- one transaction.  On any
 * error call store_rollback(); nothing of the snapshot is kept.  All return 0 or -EIO
 * (-ENOSPC when the disk is full, -EBUSY when locked).
 */
int store_begin(struct store *s, const struct store_snapshot *snap, int64_t *snapshot_id);
int store_sock_insert(struct store *s, const struct store_sock *ss, int64_t *row_id);
int store_sock_state(struct store *s, int64_t row_id, int state, double since);
int store_sock_end(struct store *s, int64_t row_id, double last_seen);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/*
 * Called once per socket row that has no last_seen (alive when the last writer stopped).
 * Return 0 to go on, non-zero to stop the walk (that value is returned by the walk).
 */
typedef int (*store_open_cb)(void *arg, int64_t row_id, uint64_t netns, uint64_t key, int state,
			     double first_seen, double state_since);
int store_open_sockets(struct store *s, store_open_cb cb, void *arg);
/* Sets last_seen on every row that has none (the sockets cannot be followed any more). */
int store_end_open_sockets(struct store *s, double last_seen);

/* Small key/value settings kept in the database (boot id, capture source). */
int store_meta_get(struct store *s, const char *key, char *buf, size_t len); /* -ENOENT if absent */
int store_meta_set(struct store *s, const char *key, const char *value);

/* Unix time of the newest snapshot, or 0 when there is none; -EIO on failure. */
int store_last_snapshot_at(struct store *s, double *taken_at);

/*
 * A read-only connection for HTTP handlers (one per thread; not thread-safe itself).
 * It never blocks the writer and never holds a read transaction between calls.
 */
struct store_reader;
int store_reader_open(struct store_reader **out, const char *path);
void store_reader_close(struct store_reader *r);
/* A cheap query that proves the database is readable: 0 or -EIO. */
int store_reader_ping(struct store_reader *r);

/* One stored snapshot, as store_reader_snapshots() hands them out. */
typedef int (*store_snapshot_cb)(void *arg, int64_t id, const struct store_snapshot *snap);
/*
 * Walks stored snapshots with from <= taken_at <= to in time order, at most limit of them.
 * Returns 0 (or the callback's non-zero value) or -EIO.
 */
int store_reader_snapshots(struct store_reader *r, double from, double to, uint32_t limit,
			   store_snapshot_cb cb, void *arg);

#endif
