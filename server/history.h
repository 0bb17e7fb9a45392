/* history.h - per-minute and per-hour rollups of the counts, overall and by group, in memory. */
#ifndef LINGERD_HISTORY_H
#define LINGERD_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

#define HIST_TOP_GROUPS 20  /* groups kept per kind per snapshot (by lingering count) */
#define HIST_MAX_GROUPS 64  /* distinct groups a rollup bucket can hold per kind */
#define HIST_RING_MINUTES 16 /* completed minutes kept for growth rates */

enum hist_kind {
	HIST_LOCAL_PORT = 1, /* same numbers as enum store_group_kind */
	HIST_PROCESS = 2,
	HIST_KIND_MAX = 3,
};

/* Counts of one group in one snapshot, per state (lingering states only are filled). */
struct hist_group {
	char key[24]; /* port as decimal text, or the process name */
	uint32_t counts[SOCK_STATE_MAX];
	uint32_t total; /* sum over lingering states */
};

/*
 * Groups the lingering sockets of a snapshot by local port or by owning process name and
 * returns the top n groups by lingering total (sorted, largest first) in out[0..n).
 * by_port_scratch must point at 65536 * SOCK_STATE_MAX uint32_t set to zero; it is zero
 * again on return (only the touched entries are cleared).  Returns how many were written.
 */
size_t hist_top_groups(const struct snap *s, int kind, struct hist_group *out, size_t n,
		       uint32_t *by_port_scratch);

/* Summary of one bucket of one series. */
struct hist_acc {
	int64_t min, max, last;
	double sum;
	int64_t n;
};

struct hist_bucket {
	int res;            /* 60 or 3600 */
	int64_t t;          /* bucket start */
	int64_t snapshots;  /* snapshots that fell in it */
	struct hist_acc host[SOCK_STATE_MAX];
	size_t ngroups[HIST_KIND_MAX];
	struct {
		char key[24];
		struct hist_acc acc[SOCK_STATE_MAX];
		int64_t present; /* snapshots in which the group appeared */
	} groups[HIST_KIND_MAX][HIST_MAX_GROUPS];
	double last_at;      /* time of the last snapshot added */
	struct kstat kstat;  /* kernel counters of that snapshot */
};

struct history;

int history_open(struct history **out);
void history_close(struct history *h);

/*
 * Adds one snapshot.  When the snapshot starts a new minute (or hour), the bucket that just
 * ended is handed to flush (which writes it to the store) before it is reused.  Returns 0,
 * flush's error, or -ENOMEM.
 */
int history_add(struct history *h, const struct snap *s,
		int (*flush)(void *arg, const struct hist_bucket *b), void *arg);

/* Hands the partly filled buckets to flush (at shutdown). */
int history_flush(struct history *h, int (*flush)(void *arg, const struct hist_bucket *b),
		  void *arg);

/*
 * The last value of a group's total over lingering states (kind 0: the whole host's count
 * of state) at the end of the completed minute that began at or before t.  Returns 0 and
 * *value, or -ENOENT when that minute is not in the ring or the group was not tracked.
 * Thread-safe (the ring is copied under a lock by the API).
 */
int history_value_at(struct history *h, int kind, const char *key, int state, int64_t t,
		     int64_t *value);

/*
 * The kernel counters at the end of the completed minute nearest before t, for rates.
 * Returns 0 with *k and *at, or -ENOENT.
 */
int history_kstat_at(struct history *h, double t, struct kstat *k, double *at);

#endif
