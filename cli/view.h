/* view.h - the status screen: what `lingerd status` and `lingerd top` ask and show. */
#ifndef LINGERD_VIEW_H
#define LINGERD_VIEW_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "client.h"

/* The daemon's answers one screen is built from; each is owned by the view. */
struct view {
	cJSON *health;    /* /healthz (also when it answers 503) */
	cJSON *snapshot;  /* /api/v1/snapshot */
	cJSON *trends;    /* /api/v1/trends over the last hour, or NULL when history is unavailable */
	cJSON *findings;  /* /api/v1/findings */
	cJSON *offenders; /* /api/v1/lingering grouped by process */
};

enum view_sort { VIEW_SORT_COUNT, VIEW_SORT_AGE, VIEW_SORT_GROWTH };

/* How to draw: colours (SGR escapes) or none, and how many rows of each list (0: all). */
struct view_style {
	int color;
	size_t max_findings;
	size_t max_offenders;
	enum view_sort sort;
};

/*
 * Asks the daemon behind c for everything the screen shows, findings counting sockets at least
 * min_age seconds old.  Returns 0, or -errno as client_json with a message in why; v is then
 * empty.  Release with view_free().
 */
int view_fetch(const struct client *c, double min_age, struct view *v, char *why, size_t whylen);
void view_free(struct view *v);

/* Writes the screen to f: health, counts with their change, findings, offenders. */
void view_render(FILE *f, const struct client *c, const struct view *v,
		 const struct view_style *st);

/* The answers as one JSON object (for --json); the caller deletes it.  NULL on ENOMEM. */
cJSON *view_json(const struct client *c, const struct view *v);

/* The number of critical findings standing. */
int view_critical(const struct view *v);

/* Parses "count", "age" or "growth".  Returns the order or -EINVAL. */
int view_sort_parse(const char *s);

/* Writes s to f without control characters (C0, DEL, C1): names come from other users. */
void view_put_text(FILE *f, const char *s);

/* "42s", "5m03s", "2h07m", "3d04h". */
void view_format_age(double s, char *buf, size_t n);

#endif
