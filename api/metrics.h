/* metrics.h - the Prometheus text exposition (format 0.0.4), rendered from memory. */
#ifndef LINGERD_METRICS_H
#define LINGERD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "jw.h"

#define METRICS_MAX_PORTS 64
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Operator choices that bound cardinality. */
struct metrics_config {
	uint16_t ports[METRICS_MAX_PORTS]; /* per-port series for these local ports only */
	size_t n_ports;
	int netns; /* per-namespace series (--metrics-netns); with --netns all, one set each */
};

/*
 * Parses a comma list of ports ("80,443,5432") into cfg.  Returns 0 or -EINVAL (a bad
 * number, port 0, more than METRICS_MAX_PORTS, or a duplicate).
 */
int metrics_parse_ports(struct metrics_config *cfg, const char *list);

/* Writes v as a Prometheus label value, escaped (without the surrounding quotes). */
void metrics_label_value(struct jw *w, const char *v);

struct feed;

/*
 * Writes the whole exposition into w (with jw_text/jw_textf): per-state socket gauges for
 * both families (all 11 states, zero-filled), lingering sockets by owner, the oldest age
 * per lingering state, the kernel's teardown counters and bounding settings, and lingerd's
 * own health.  Reads only the published snapshot and the sampler's status: a scrape never
 * touches the database.  Returns 0, or -EAGAIN before the first snapshot (the caller then
 * still gets lingerd's own metrics written), or -ENOMEM.
 */
int metrics_render(struct feed *f, const struct metrics_config *cfg, struct jw *w);

#endif
