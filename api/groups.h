/* groups.h - sockets of a snapshot gathered by a key, with the figures every report needs. */
#ifndef LINGERD_GROUPS_H
#define LINGERD_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

struct group {
	char key[112];
	const struct snap_sock *sample; /* a member, for the group's attributes */
	uint32_t counts[SOCK_STATE_MAX];
	uint32_t total, orphans, arrivals, zero_window;
	uint64_t unread;
	double oldest_since; /* boot clock */
	int oldest_lb;       /* that oldest state_since is a lower bound (SNAP_LB_STATE) */
};

/* A growable set of groups with a hash index (there can be thousands). */
struct groups {
	struct group *v;
	size_t n, cap;
	uint32_t *index; /* open addressing: position + 1 */
	size_t mask;
};

/* Finds or adds the group with this key (at most 111 bytes are kept); NULL without memory. */
struct group *groups_get(struct groups *g, const char *key);

/*
 * Counts socket x into gr: per state, orphans, unread bytes of CLOSE_WAIT (rx_queue
 * counts the FIN, so one less), the oldest state_since, and an arrival when x entered its
 * state after since and was first seen after started (so sockets found at start-up are not
 * mistaken for new ones).
 */
void group_add(struct group *gr, const struct snap_sock *x, double since, double started);

/*
 * The group with this key, or NULL; only before groups_sort(), which drops the index.
 */
const struct group *groups_find(const struct groups *g, const char *key);

/*
 * Net change per minute of a group's count: now_total at now_at against the same key in
 * then, gathered from the snapshot taken at then_at the same way as now's groups (same
 * key, same states, same age filter, every socket).  A key absent from then had none.
 * NaN without then.
 */
double groups_growth(const struct groups *then, const char *key, uint32_t now_total, double now_at,
		     double then_at);

/* Largest total first, then oldest first, then by key.  The index is dropped. */
void groups_sort(struct groups *g);
void groups_free(struct groups *g);

#endif
