/* feed.h - what the sampler publishes for the API: the latest snapshot, its status, the rollups. */
#ifndef LINGERD_FEED_H
#define LINGERD_FEED_H

#include <stdint.h>

#include "history.h"
#include "snap.h"

/* What /healthz and /metrics report about the sampler.  A copy, taken under the lock. */
struct feed_status {
	double interval_s;
	const char *source;        /* "netlink" or "proc" */
	double started_at;         /* unix seconds */
	double started_boot;       /* boot-clock seconds */
	double last_snapshot_at;   /* unix seconds, 0 before the first */
	double last_snapshot_boot; /* boot-clock seconds, 0 before the first */
	double last_duration_ms;   /* capture + diff of the last snapshot */
	double last_commit_ms;     /* its database transaction */
	double stale_s;     /* seconds since the last snapshot (or since start), boot clock */
	uint64_t snapshots; /* taken since start */
	uint64_t capture_errors;
	uint64_t db_errors;
	uint64_t rows_written; /* socket rows inserted or updated since start */
	int db_ok;             /* the last transaction committed */
	int attribution;       /* -1 off, else enum procmap_mode */
	uint64_t attribution_walks;
	double attribution_last_ms;
	int64_t db_bytes; /* database + WAL size at the last retention pass */
	uint64_t retention_deleted;
	char db_error[160];    /* why not, when db_ok is 0 */
	char db_event[160];    /* the last time the database file was replaced, and why */
	uint32_t netns_failed; /* followed namespaces whose last open or dump failed */
	char netns_error[160]; /* the first of them and why, when netns_failed > 0 */
	char events[128];      /* teardown tracer: "bpf", or "off: <why>" */
	/* With --netns all (netns_all 1): the last round of other namespaces (netns_dump()). */
	int netns_all;
	uint32_t netns_followed;    /* namespaces followed besides lingerd's own */
	uint32_t netns_dumped;      /* of them, dumped in the last round; the others carried */
	uint32_t netns_shared;      /* of them, sharing the host's connection hash */
	double netns_round_ms;      /* the last round's time */
	double netns_full_ms;       /* every namespace's last dump added up: a round unstaggered */
	uint64_t netns_dumps;       /* namespace dumps since start */
	uint64_t netns_rounds_slow; /* rounds that took longer than the interval */
	char netns_slow[256];       /* the last round, and its slowest dump, when it was slow */
};

/*
 * The one place where the sampler thread hands its results to the HTTP threads.  The
 * sampler is the only writer; readers take references (snapshots) or copies (status), so no
 * reader ever waits for capture or for the database.
 */
struct feed;

/*
 * Creates an empty feed over the sampler's in-memory rollups h (borrowed: it must outlive
 * the feed) and the database path (copied) that the API's read-only pool opens.
 * Returns 0 and *out, or -ENOMEM.
 */
int feed_open(struct feed **out, struct history *h, const char *db_path);

/* Drops the published snapshot and frees the feed.  NULL is fine. */
void feed_close(struct feed *f);

/*
 * Locks the status for the publisher and returns it for writing; feed_unlock() releases it.
 * Used by the sampler only, for short updates (no I/O while it is held).
 */
struct feed_status *feed_lock(struct feed *f);
void feed_unlock(struct feed *f);

/*
 * With the lock held (between feed_lock and feed_unlock): makes snap the current snapshot,
 * taking over the caller's reference, and drops the previous one.
 */
void feed_publish_locked(struct feed *f, struct snap *snap);

/* The latest published snapshot with a reference the caller must snap_put(), or NULL. */
struct snap *feed_current(struct feed *f);

/*
 * Keeps snap (taking over the caller's reference) among the past snapshots that growth is
 * measured against, dropping the oldest beyond LD_PAST_KEEP.  Used by the sampler only.
 */
void feed_keep_past(struct feed *f, struct snap *snap);

/*
 * The kept snapshot to measure growth at time now (boot clock, like taken_boot) against:
 * the newest taken at least window_s before now, else the oldest when it was taken at least
 * min_s before now.  A
 * reference the caller must snap_put(), or NULL when none is old enough.
 */
struct snap *feed_past(struct feed *f, double now, double window_s, double min_s);

/* A copy of the status, with stale_s computed now. */
void feed_status(struct feed *f, struct feed_status *out);

/* The in-memory rollups (for growth rates); it has its own lock. */
struct history *feed_history(struct feed *f);

/*
 * The teardown tracer (NULL when off), set by the sampler before the HTTP threads start and
 * closed after they stop; its functions are safe from any thread.
 */
struct events;
void feed_set_events(struct feed *f, struct events *ev);
struct events *feed_events(struct feed *f);

/* The database path, for read-only connections. */
const char *feed_db_path(const struct feed *f);

#endif
