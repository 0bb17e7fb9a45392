/* screen.h - the status screen: what `lingerd status` and `lingerd top` ask and show. */
#ifndef LINGERD_SCREEN_H
#define LINGERD_SCREEN_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "client.h"

/* The daemon's answers one screen is built from; each is owned by the screen. */
struct screen {
	cJSON *health;   /* /healthz (also when it answers 503) */
	cJSON *snapshot; /* /api/v1/snapshot */
	cJSON *trends; /* /api/v1/trends over the last hour, or NULL when history is unavailable */
	cJSON *findings;  /* /api/v1/findings */
	cJSON *offenders; /* /api/v1/lingering grouped by process */
};

enum screen_sort { SCREEN_SORT_COUNT, SCREEN_SORT_AGE, SCREEN_SORT_GROWTH };

/* How to draw: colours (SGR escapes) or none, and how many rows of each list (0: all). */
struct screen_style {
	int color;
	size_t max_findings;
	size_t max_offenders;
	enum screen_sort sort;
};

/*
 * Asks the daemon behind c for everything the screen shows, findings counting sockets at least
 * min_age seconds old.  Returns 0, or -errno as client_json with a message in why; v is then
 * empty.  Release with screen_free().
 */
int screen_fetch(const struct client *c, double min_age, struct screen *v, char *why,
		 size_t whylen);
void screen_free(struct screen *v);

/* Writes the screen to f: health, counts with their change, findings, offenders. */
void screen_render(FILE *f, const struct client *c, const struct screen *v,
		   const struct screen_style *st);

/* The answers as one JSON object (for --json); the caller deletes it.  NULL on ENOMEM. */
cJSON *screen_json(const struct client *c, const struct screen *v);

/* The number of critical findings standing. */
int screen_critical(const struct screen *v);

/* Parses "count", "age" or "growth".  Returns the order or -EINVAL. */
int screen_sort_parse(const char *s);

/* Writes s to f without control characters (C0, DEL, C1): names come from other users. */
void screen_put_text(FILE *f, const char *s);

/* "42s", "5m03s", "2h07m", "3d04h". */
void screen_format_age(double s, char *buf, size_t n);

#endif
