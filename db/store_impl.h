/* store_impl.h - what the store's own files share: connections, statements, SQL helpers. */
#ifndef LINGERD_STORE_IMPL_H
#define LINGERD_STORE_IMPL_H

/*
 * Only db/store_*.c include this header.  The store is one module split along its seams
 * (schema, writer, retention, readers, trends); what they share lives here, and nothing
 * here is a contract for anyone else.
 */
#include <sqlite3.h>
#include <string.h>

#include "limits.h"
#include "store.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The kernel columns of snapshots in kstat.h order: counters, then gauges. */
#define KSTAT_COLS                                                                             \
	"k_time_wait_entered, k_time_wait_killed, k_time_wait_recycled, k_time_wait_overflow," \
	" k_abort_on_close, k_abort_on_data, k_abort_on_linger, k_abort_on_timeout,"           \
	" k_abort_on_memory, k_listen_overflows, k_listen_drops, k_active_opens,"              \
	" k_passive_opens, k_attempt_fails, k_estab_resets, k_out_rsts, k_retrans_segs,"       \
	" k_sockets_inuse, k_orphans, k_time_wait_buckets, k_sockets_allocated, k_memory_pages"

/*
 * "This snapshot has counters", written exactly as the WHERE of the snapshots_kstat
 * partial index in the 1 -> 2 step: SQLite uses that index only for the same expression.
 */
#define KSTAT_HAS_COUNTERS                                                               \
	"coalesce(k_time_wait_entered, k_time_wait_killed, k_time_wait_recycled,"        \
	" k_time_wait_overflow, k_abort_on_close, k_abort_on_data, k_abort_on_linger,"   \
	" k_abort_on_timeout, k_abort_on_memory, k_listen_overflows, k_listen_drops,"    \
	" k_active_opens, k_passive_opens, k_attempt_fails, k_estab_resets, k_out_rsts," \
	" k_retrans_segs) IS NOT NULL"

/* The per-state count columns in enum sock_state order, 1 .. SOCK_STATE_MAX - 1. */
#define STATE_COLS                                                                             \
	"established, syn_sent, syn_recv, fin_wait1, fin_wait2, time_wait, close, close_wait," \
	" last_ack, listen, closing"

/* The writer's statements, all prepared once at open (their SQL: store_write.c). */
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
	ST_ROLLUP_GET,
	ST_GROUP_GET,
	ST_NETNS_PUT,
	ST_RET_SNAPS,
	ST_RET_NETNS,
	ST_RET_ROLLUPS,
	ST_RET_GROUPS,
	ST_RET_SOCKS,
	ST_COUNT
};

/*
 * The reader's statements (their SQL: store_read.c).  Trends read rows in the order of an
 * index and bucket them in C, not with GROUP BY: a GROUP BY on CAST(t / step) cannot use
 * the index order and sorts every row in the range (measured: 56-76 ms for 7 days of
 * minute rollups of 11 states, against 5 ms for the bare index range).
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

/*
 * Keys, namespace ids and inodes are u64; SQLite integers are i64.  The bits are kept as
 * they are (a key above 2^63 reads back negative in SQL and round-trips here).  memcpy
 * rather than a cast: the conversion of an out-of-range value is implementation-defined.
 */
static inline sqlite3_int64 u64_bits(uint64_t v)
{
	sqlite3_int64 i;

	memcpy(&i, &v, sizeof(i));
	return i;
}

static inline uint64_t bits_u64(sqlite3_int64 i)
{
	uint64_t v;

	memcpy(&v, &i, sizeof(v));
	return v;
}

/* Maps an SQLite result code to the -errno our callers understand. */
int store_err(int rc);

/*
 * Steps a statement that returns no rows and resets it at once: a statement left
 * un-reset keeps its transaction (or read snapshot) open and starves checkpoints.
 */
int store_stmt_exec(sqlite3_stmt *st);

/*
 * Prepares a statement at open time.  A prepare that fails with a plain SQL error after
 * identification means a table or column is missing: the file is not the lingerd schema
 * it claims to be (e.g. someone else's file that uses user_version too).
 */
int store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);

/*
 * Decides whether db is lingerd's and at which version, before anything is written to
 * it (switching a stranger's file to WAL would already be a change).  Returns 0 and
 * *version (0 for an empty file), -EPROTONOSUPPORT for a newer lingerd's file, -ENOTSUP for
 * someone else's database, -EIO when the file is not a database at all.
 */
int store_schema_identify(sqlite3 *db, int *version);

/*
 * Makes the writer's connection ready: identifies the file, switches it to WAL, sets the
 * writer's pragmas and migrates the schema forward to STORE_SCHEMA_VERSION.  Returns 0 or
 * the -errno of store_open(); when PRAGMA quick_check finds corruption, what it found is in
 * why (SQLite's error message would say "not an error").
 */
int store_schema_setup(sqlite3 *db, char *why, size_t len);

/* 1 for a rollup resolution (STORE_RES_MINUTE, STORE_RES_HOUR), else 0. */
int store_valid_res(int res);

/* Row writes belong to a snapshot: one outside it would be a transaction of its own. */
int store_in_snapshot(struct store *s);

/*
 * Several SELECTs that must agree (a ranking and its points, two counter readings) run in
 * one read transaction.  It ends before any callback runs: a slow HTTP client must never
 * hold back the writer's checkpoints.  begin returns 0 or -EIO.
 */
int store_reader_txn_begin(struct store_reader *r);
void store_reader_txn_end(struct store_reader *r);

/* Registers lingerd_rows(), the aggregate the trend queries feed, on a reader's connection. */
int store_trend_register(struct store_reader *r);

#endif
