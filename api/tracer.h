/* tracer.h - the API's view of the teardown tracer: closed_by, timelines, its /metrics. */
#ifndef LINGERD_API_TRACER_H
#define LINGERD_API_TRACER_H

#include "handlers.h"
#include "snap.h"

/*
 * Writes "closed_by": {pid, tid, comm, cgroup_id, netns, how, reset_sent} for a socket the
 * tracer named a closer for, or "closed_by": null.  For /api/v1/sockets and friends.
 */
void api_events_closed_by(struct jw *w, const struct snap *s, const struct snap_sock *x);

/*
 * /metrics: transition counters, per-state duration histograms, resets and losses, when the
 * tracer is on (nothing otherwise).
 */
void api_events_metrics(struct feed *f, struct jw *w);

/* The endpoints, api_h_socket and api_h_events, are declared in handlers.h. */

#endif
