/* store.h - the SQLite history: snapshots and socket lifetimes, one writer, many readers. */
#ifndef LINGERD_STORE_H
#define LINGERD_STORE_H

#include <stdint.h>

#include "group_kind.h"
#include "kstat.h"
#include "sock.h"

/* The schema version this build writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 4

struct store;

/* One snapshot row: when, how long the capture took, from where, and counts per state. */
struct store_snapshot {
	double taken_at;    /* unix seconds, wall clock */
	double duration_ms; /* capture + diff, before the commit */
	const char *source; /* "netlink" or "proc" */
	int partial;        /* a dump stayed interrupted */
	uint32_t total;
	uint32_t counts[SOCK_STATE_MAX]; /* index = enum sock_state; [0] unused */
	const struct kstat *kstat;       /* v2: kernel counters and gauges read with it, or NULL */
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
 * Opens (creating if needed) the database at path as the only writer: checks every page
 * (PRAGMA quick_check), then WAL, synchronous=NORMAL, secure_delete=OFF, foreign keys on, a
 * busy timeout, and migrates the schema forward from any earlier version.  Returns 0 and
 * *out, -EPROTONOSUPPORT when the file has a newer schema than this build, -ENOTSUP when the
 * file is a database that is not lingerd's (tables it does not know and no user_version),
 * -EUCLEAN when SQLite finds the file corrupt or not a database at all (the only error after
 * which moving the file aside is right), -EACCES or -EROFS when it may not be written, the
 * -errno of a system call that failed under SQLite (-EACCES for a -shm file of another user),
 * -EIO for other failures, -EBUSY, -ENOMEM.
 *
 * Every store call that fails on corruption returns -EUCLEAN too, never -EIO.
 */
int store_open(struct store **out, const char *path);

/* The same, with SQLite's message (and the system's error, if any) in msg when it fails. */
int store_open_diag(struct store **out, const char *path, char *msg, size_t len);

/*
 * Sets how long a write waits for a lock another connection holds before failing with
 * -EBUSY (store_open sets a few seconds).  The sampler keeps it under its interval, so a
 * locked database costs failed writes, which the next snapshot makes good, not late ones.
 */
void store_set_busy_timeout(struct store *s, int ms);

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

/* ---- v2: rollups, retention, and the queries behind /api/v1/trends ---- */

/* Rollup resolutions in seconds.  STORE_RES_RAW means the snapshots table itself. */
#define STORE_RES_RAW 0
#define STORE_RES_MINUTE 60
#define STORE_RES_HOUR 3600

/*
 * One rollup bucket of one series: [t, t + res) summarised as min, max, sum and count of
 * the per-snapshot values, and the last value.  For a grouped series, a snapshot in which
 * the group did not appear counts as a 0 (so n is the bucket's snapshot count).
 */
struct store_rollup {
	int res;         /* STORE_RES_MINUTE or STORE_RES_HOUR */
	int64_t t;       /* bucket start, unix seconds, a multiple of res */
	int state;       /* enum sock_state */
	int kind;        /* 0 for the whole host, else enum group_kind */
	const char *grp; /* group key when kind != 0, else NULL */
	int64_t min, max, last;
	double sum;
	int64_t n;
};

/*
 * Writes a rollup row (insert or replace: a bucket may be written again as it fills).
 * Only inside a snapshot transaction.  Returns 0 or -errno like store_sock_*.
 */
int store_rollup_put(struct store *s, const struct store_rollup *r);

/*
 * Walks the rows stored for one bucket (res STORE_RES_MINUTE or STORE_RES_HOUR, start t):
 * the host's (kind 0, grp NULL), then every group's (grp valid during the callback).  Inside
 * a snapshot's transaction it sees that transaction's writes.  Returns 0, the callback's
 * non-zero value, -EINVAL, or -errno like store_sock_*.
 */
typedef int (*store_rollup_cb)(void *arg, const struct store_rollup *r);
int store_rollup_walk(struct store *s, int res, int64_t t, store_rollup_cb cb, void *arg);

/*
 * v3: the counts per state of one other network namespace in one snapshot (only with
 * lingerd --netns all), keyed by the namespace's name so that its history outlives it.
 * Only inside that snapshot's transaction.  Returns 0 or -errno like store_sock_*.
 */
int store_netns_put(struct store *s, int64_t snapshot_id, double taken_at, const char *name,
		    const uint32_t counts[SOCK_STATE_MAX]);

/*
 * Deletes what is older than the given unix times: snapshots (raw) taken before raw_before,
 * rollups of each resolution with t before rollup_before, and socket rows that ended
 * before sockets_before.  Deletes at most max_rows rows in all per call so that one call
 * stays short; *deleted tells how many went.  Runs in its own transaction (not inside a
 * snapshot).  Returns 0 or -errno; -ENOSPC is possible even when deleting (WAL needs room).
 */
int store_retention(struct store *s, double raw_before, double rollup_before, double sockets_before,
		    int max_rows, int64_t *deleted);

/* Size of the database file plus its WAL, in bytes. */
int store_size(struct store *s, int64_t *bytes);

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

/*
 * One point of a trend: the bucket [t, t + step) of one series, with the mean and max of
 * the values in it.  grp is NULL for a whole-host series; it is valid during the callback.
 */
typedef int (*store_point_cb)(void *arg, int state, const char *grp, int64_t t, double mean,
			      int64_t max);

/*
 * Trend of the whole host for the states in state_mask (bit 1 << state), from the table
 * of resolution res (STORE_RES_RAW reads the snapshots' counts), in buckets of step
 * seconds (step >= res; buckets start at multiples of step), over [from, to].  Points come
 * in order of state, then t.  Buckets with no data are left out.  At most max_points
 * points in all (-E2BIG beyond).  Returns 0, the callback's non-zero value, or -EIO.
 */
int store_reader_trend(struct store_reader *r, int res, uint32_t state_mask, double from, double to,
		       int64_t step, uint32_t max_points, store_point_cb cb, void *arg);

/*
 * The same for grouped rollups (res STORE_RES_MINUTE or STORE_RES_HOUR): only the top
 * groups, ranked by their largest max over [from, to] summed over the states asked for,
 * at most top of them.  Points come in order of group rank, then state, then t.  A group
 * counts as 0 in the snapshots it was absent from: a series (a group and a state with any
 * row in the range) has a point in every bucket that the host has snapshots in, and its
 * mean divides by the host's snapshot count there (0 and 0 where the group had no row).
 */
int store_reader_group_trend(struct store_reader *r, int res, int kind, uint32_t state_mask,
			     double from, double to, int64_t step, uint32_t top,
			     uint32_t max_points, store_point_cb cb, void *arg);

/*
 * Trend of one other namespace, by name, like store_reader_trend(): STORE_RES_RAW reads the
 * per-snapshot rows of store_netns_put(), a rollup resolution the GROUP_NETNS rollups.
 * A state without a rollup row in a minute (or hour) the namespace existed in was 0 there,
 * and is a 0 in the points; where it did not exist there are no points.  A namespace that
 * is gone is served for as long as its rows are kept.  Returns 0, the callback's non-zero
 * value, -E2BIG, -EINVAL or -EIO.
 */
int store_reader_netns_trend(struct store_reader *r, const char *name, int res, uint32_t state_mask,
			     double from, double to, int64_t step, uint32_t max_points,
			     store_point_cb cb, void *arg);

/*
 * Whether the database holds any history of the namespace called name (per-snapshot rows
 * or rollups), followed now or not.  Returns 1, 0, or -EIO.
 */
int store_reader_netns_known(struct store_reader *r, const char *name);

/*
 * Kernel counters recorded with the snapshots nearest to (at or before) t0 and t1, for
 * rates: fills a and b and their times.  -ENOENT when there is no snapshot with counters in
 * the range.
 */
int store_reader_kstat_pair(struct store_reader *r, double t0, double t1, struct kstat *a,
			    double *at, struct kstat *b, double *bt);

/* ---- v4: exact state changes counted by the teardown tracer ---- */

/* How many TCP sockets went from one kernel state to another (TCP_* numbers, 0..15). */
struct store_transition {
	uint8_t from, to;
	uint64_t n;
};

/*
 * Writes the state changes since the snapshot before beside snapshot snapshot_id (taken at
 * taken_at), and adds them to the minute and hour rollups of their buckets.  Pairs with
 * n == 0 are skipped.  Only inside that snapshot's transaction, so that a rolled-back
 * snapshot takes its changes with it and the caller can carry them to the next one.
 * Returns 0, -EINVAL, or -errno like store_sock_*.
 */
int store_transitions_put(struct store *s, int64_t snapshot_id, double taken_at,
			  const struct store_transition *v, size_t n);

/* Deletes rollups of state changes with t before rollup_before (any resolution). */
int store_transitions_expire(struct store *s, double rollup_before, int64_t max_rows,
			     int64_t *deleted);

/*
 * One point of a state-change trend: exactly n changes from -> to in [t, t + step).
 */
typedef int (*store_transition_cb)(void *arg, int from, int to, int64_t t, int64_t n);

/*
 * The state changes over [from, to] in buckets of step seconds (buckets start at multiples
 * of step, step >= res), from the per-snapshot rows (STORE_RES_RAW) or a rollup resolution.
 * Only pairs in pairs (a bit per from * 16 + to; NULL: every pair).  Points come in order of
 * from, to, then t; a bucket without changes of a pair has no point.  At most max_points
 * (-E2BIG beyond).  Returns 0, the callback's non-zero value, -EINVAL or -EIO.
 */
/* One socket's teardown as the tracer saw it, kept with its lifetime row. */
#define STORE_TIMELINE_STEPS 8
struct store_timeline {
	uint64_t cookie;
	uint64_t cgroup;  /* cgroup v2 id of the closer */
	uint32_t netns;   /* inode of the socket's namespace, as the tracer recorded it */
	int32_t pid, tid; /* the closer (0: none named yet) */
	int how;          /* enum td_how of capture/bpf/teardown.h */
	int reset_sent;
	char comm[16];
	int nsteps;
	struct {
		double at;   /* unix seconds */
		int32_t pid; /* process that made the change, 0 outside one */
		uint8_t from, to;
	} steps[STORE_TIMELINE_STEPS];
	/* Filled by store_reader_timeline() from the socket's row. */
	int state;
	double state_since, last_seen; /* last_seen 0 while the row is open */
};

/*
 * Writes (or replaces) the teardown of the socket whose lifetime row is sock_row.  Only
 * inside a snapshot's transaction.  Returns 0, -EINVAL, or -errno like store_sock_*.
 */
int store_timeline_put(struct store *s, int64_t sock_row, const struct store_timeline *t);

/*
 * The stored teardown of the socket with this cookie, with its row's state, into *out:
 * 0, -ENOENT when none is stored, or -EIO.
 */
int store_reader_timeline(struct store_reader *r, uint64_t cookie, struct store_timeline *out);

int store_reader_transitions(struct store_reader *r, int res, const uint64_t pairs[4], double from,
			     double to, int64_t step, uint32_t max_points, store_transition_cb cb,
			     void *arg);

#endif
