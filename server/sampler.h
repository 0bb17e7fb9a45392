/* sampler.h - the sampling loop: capture, diff, record, publish, on a monotonic clock. */
#ifndef LINGERD_SAMPLER_H
#define LINGERD_SAMPLER_H

#include <stdint.h>

#include "capture.h"
#include "feed.h"
#include "snap.h"

struct sampler_config {
	double interval_s;          /* LD_INTERVAL_MIN..LD_INTERVAL_MAX */
	enum capture_source source; /* as asked on the command line */
	const char *db_path;
	double attribute_every_s; /* least time between /proc fd walks; 0 turns attribution off */
	const char *proc_root;    /* "/proc"; tests may point elsewhere */
	double persist_after_s;   /* record a socket's lifetime once it has lingered this long
				       (0: every socket from its first snapshot) */
	double retention_s;       /* keep rollups and ended sockets this long */
	double raw_retention_s;   /* keep per-snapshot rows this long */
	int netns_all;            /* also capture every other network namespace of the host */
	int events;               /* load the teardown tracer when the kernel allows (events.h) */
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

/*
 * The same, waiting at most timeout_s seconds (monotonic) for the snapshot in flight, which
 * a stalled disk can hold up for as long as the disk stalls.  Returns 0 when the thread was
 * joined, or -ETIMEDOUT when it is still running: then the thread is detached and the
 * sampler must not be stopped or closed again (the process exits around it).
 */
int sampler_stop_within(struct sampler *s, double timeout_s);

/* Stops the thread if running, checkpoints and closes the database, frees everything. */
void sampler_close(struct sampler *s);

/* What the sampler publishes for the API (owned by the sampler). */
struct feed *sampler_feed(struct sampler *s);

#endif
