/* history.h - per-minute and per-hour rollups of the counts, overall and by group, in memory. */
#ifndef LINGERD_HISTORY_H
#define LINGERD_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "group_kind.h"
#include "limits.h"
#include "snap.h"

/*
 * Counts of one group in one snapshot, per state (lingering states only are filled, but for
 * a namespace, which counts every state).
 */
struct hist_group {
	char key[HIST_KEY_MAX]; /* port as decimal text, the process name, or the namespace name */
	uint32_t counts[SOCK_STATE_MAX];
	uint32_t total; /* sum over the states filled */
};

/*
 * Groups the lingering sockets of a snapshot by local port or by owning process name and
 * returns the top n groups by lingering total (sorted, largest first) in out[0..n).
 * by_port_scratch must point at 65536 * SOCK_STATE_MAX uint32_t set to zero; it is zero
 * again on return (only the touched entries are cleared).  Returns how many were written.
 */
size_t hist_top_groups(const struct snap *s, int kind, struct hist_group *out, size_t n,
		       uint32_t *by_port_scratch);

/*
 * Counts every socket of each namespace the snapshot followed besides lingerd's own, per
 * state, into out[i] for s->netns[i] (key: its name, total: all states), leaving out
 * namespaces whose dump failed (their counts would be a false 0).  out must have room for
 * s->n_netns entries.  Returns how many were written, in the order of s->netns.
 */
size_t hist_netns_counts(const struct snap *s, struct hist_group *out);
/* Summary of one bucket of one series. */
struct hist_acc {
	int64_t min, max, last;
	double sum;
	int64_t n;
};

struct hist_bucket {
	int res;           /* 60 or 3600 */
	int64_t t;         /* bucket start */
	int64_t snapshots; /* snapshots that fell in it */
	struct hist_acc host[SOCK_STATE_MAX];
	size_t ngroups[GROUP_KIND_MAX];
	struct {
		char key[HIST_KEY_MAX];
		struct hist_acc acc[SOCK_STATE_MAX];
		int64_t present; /* snapshots in which the group appeared */
	} groups[GROUP_KIND_MAX][HIST_MAX_GROUPS];
	double last_at;     /* time of the last snapshot added */
	struct kstat kstat; /* kernel counters of that snapshot */
};

struct history;

int history_open(struct history **out);
void history_close(struct history *h);

/*
 * What history_add() needs from the store.  The database, not memory, holds the truth about
 * a bucket: what was committed to it.  load fills a bucket that history_add() has just
 * emptied (res and t set) from the rows stored for it, through hist_bucket_seed(); put
 * writes a bucket's rows whole (replacing what is stored).  Both run inside the snapshot's
 * transaction and return 0 or -errno.
 */
struct history_io {
	int (*load)(void *arg, struct hist_bucket *b);
	int (*put)(void *arg, const struct hist_bucket *b);
	void *arg;
};

/*
 * Adds one snapshot to the current minute and hour buckets and hands both to io->put, so
 * that each committed snapshot's transaction carries its rollups: a rollup always equals
 * what its snapshot rows say, whether lingerd stopped cleanly, crashed, or restarted inside
 * the minute (a bucket met for the first time since open or since history_discard() is
 * loaded from the store first, and merged with).  When a snapshot starts a new minute, the
 * minute that ended joins the ring of recent minutes.  Namespaces (GROUP_NETNS) are rolled
 * up by name, the HIST_MAX_GROUPS largest by socket count when a host has more, so that the
 * history of one outlives it.  io may be NULL (nothing loaded or written).  Returns 0,
 * load's or put's error, or -ENOMEM; on any error, and whenever the transaction that
 * carried the snapshot is not committed, the caller calls history_discard().
 */
int history_add(struct history *h, const struct snap *s, const struct history_io *io);

/*
 * Forgets the current buckets after a snapshot's transaction failed: the next
 * history_add() loads them again from what the store committed, so a failed transaction
 * loses neither a finished minute nor the snapshots before it.
 */
void history_discard(struct history *h);

/*
 * For io->load: sets one stored row into a bucket being loaded (kind 0 for the host, with
 * key NULL).  A state without a row is 0 throughout the bucket; history_add() fills those
 * in once load returns.  Rows of a group beyond HIST_MAX_GROUPS are left out.
 */
void hist_bucket_seed(struct hist_bucket *b, int kind, const char *key, int state,
		      const struct hist_acc *a);

/*
 * The per-namespace counts of the snapshot last added (hist_netns_counts() of it, every
 * namespace, not only those rolled up), for the store's per-snapshot rows.  Valid until the
 * next history_add(); only for the thread that adds.  *n is 0 without other namespaces.
 */
const struct hist_group *history_netns(const struct history *h, size_t *n);

/*
 * The kernel counters at the end of the completed minute nearest before t, for rates.
 * Returns 0 with *k and *at, or -ENOENT.
 */
int history_kstat_at(struct history *h, double t, struct kstat *k, double *at);

#endif
