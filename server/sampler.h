/* sampler.h - the sampling loop: capture, diff, record, publish, on a monotonic clock. */
#ifndef LINGERD_SAMPLER_H
#define LINGERD_SAMPLER_H

#include <stdint.h>

#include "capture.h"
#include "snap.h"

struct sampler_config {
	double interval_s;          /* LD_INTERVAL_MIN..LD_INTERVAL_MAX */
	enum capture_source source; /* as asked on the command line */
	const char *db_path;
	double attribute_every_s;   /* least time between /proc fd walks; 0 turns attribution off */
	const char *proc_root;      /* "/proc"; tests may point elsewhere */
	double persist_after_s;     /* record a socket's lifetime once it has lingered this long
				       (0: every socket from its first snapshot) */
	double retention_s;         /* keep rollups and ended sockets this long */
	double raw_retention_s;     /* keep per-snapshot rows this long */
	int netns_all;              /* also capture every other network namespace of the host */
};

/* What /healthz and /metrics report about the sampler.  A copy, taken under the lock. */
struct sampler_status {
	double interval_s;
	const char *source;         /* "netlink" or "proc" */
	double started_at;          /* unix seconds */
	double last_snapshot_at;    /* unix seconds, 0 before the first */
	double last_duration_ms;    /* capture + diff of the last snapshot */
	double last_commit_ms;      /* its database transaction */
	double stale_s;             /* seconds since the last snapshot (or since start) */
	uint64_t snapshots;         /* taken since start */
	uint64_t capture_errors;
	uint64_t db_errors;
	uint64_t rows_written;      /* socket rows inserted or updated since start */
	int db_ok;                  /* the last transaction committed */
	int attribution;            /* -1 off, else enum procmap_mode */
	uint64_t attribution_walks;
	double attribution_last_ms;
	int64_t db_bytes;           /* database + WAL size at the last retention pass */
	uint64_t retention_deleted;
	char db_error[160];         /* why not, when db_ok is 0 */
};

struct sampler;

/*
 * Opens the capture source and the database (migrating it), and reloads the sockets that
 * were alive when the last run stopped so that their ages carry over a restart of lingerd
 * (only when the host has not rebooted and the capture source is the same).
 * Returns 0 and *out, or -errno with a message already logged.
 */
int sampler_open(struct sampler **out, const struct sampler_config *cfg);

/* Takes one snapshot now, records and publishes it.  Returns 0 or -errno. */
int sampler_step(struct sampler *s);

/* Starts the background thread: a snapshot every interval.  Returns 0 or -errno. */
int sampler_start(struct sampler *s);

/* Asks the thread to stop, lets the snapshot in flight finish, and joins it. */
void sampler_stop(struct sampler *s);

/* Stops the thread if running, checkpoints and closes the database, frees everything. */
void sampler_close(struct sampler *s);

/* The latest published snapshot with a reference the caller must snap_put(), or NULL. */
struct snap *sampler_current(struct sampler *s);

void sampler_status(struct sampler *s, struct sampler_status *out);

/* The in-memory rollups (for growth rates); owned by the sampler. */
struct history *sampler_history(struct sampler *s);

/* The database path, for read-only connections. */
const char *sampler_db_path(const struct sampler *s);

/* Wall clock and monotonic clock in seconds. */
double sampler_now(void);
double sampler_mono(void);

#endif
