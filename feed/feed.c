/* feed.c - the published state between the sampler thread and the HTTP threads. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "feed.h"
#include "limits.h"

struct feed {
	pthread_mutex_t lock; /* guards current and status */
	struct snap *current;
	struct feed_status status;
	struct history *history;
	char *db_path;
	struct events *events;
	struct snap *past[LD_PAST_KEEP]; /* oldest first; guarded by lock */
	size_t n_past;
};

int feed_open(struct feed **out, struct history *h, const char *db_path)
{
	struct feed *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	f->db_path = strdup(db_path ? db_path : "");
	if (!f->db_path) {
		free(f);
		return -ENOMEM;
	}
	pthread_mutex_init(&f->lock, NULL);
	f->history = h;
	*out = f;
	return 0;
}

void feed_close(struct feed *f)
{
	if (!f)
		return;
	snap_put(f->current);
	for (size_t i = 0; i < f->n_past; i++)
		snap_put(f->past[i]);
	pthread_mutex_destroy(&f->lock);
	free(f->db_path);
	free(f);
}

struct feed_status *feed_lock(struct feed *f)
{
	pthread_mutex_lock(&f->lock);
	return &f->status;
}

void feed_unlock(struct feed *f)
{
	pthread_mutex_unlock(&f->lock);
}

void feed_publish_locked(struct feed *f, struct snap *snap)
{
	snap_put(f->current);
	f->current = snap;
}

struct snap *feed_current(struct feed *f)
{
	struct snap *snap;

	pthread_mutex_lock(&f->lock);
	snap = snap_get(f->current);
	pthread_mutex_unlock(&f->lock);
	return snap;
}

void feed_keep_past(struct feed *f, struct snap *snap)
{
	struct snap *drop = NULL;

	pthread_mutex_lock(&f->lock);
	if (f->n_past == LD_PAST_KEEP) {
		drop = f->past[0];
		memmove(f->past, f->past + 1, (LD_PAST_KEEP - 1) * sizeof(f->past[0]));
		f->n_past--;
	}
	f->past[f->n_past++] = snap;
	pthread_mutex_unlock(&f->lock);
	snap_put(drop);
}

struct snap *feed_past(struct feed *f, double now, double window_s, double min_s)
{
	struct snap *snap = NULL;

	pthread_mutex_lock(&f->lock);
	for (size_t i = f->n_past; i-- > 0 && !snap;)
		if (f->past[i]->taken_boot <= now - window_s)
			snap = f->past[i];
	if (!snap && f->n_past && f->past[0]->taken_boot <= now - min_s)
		snap = f->past[0];
	snap = snap_get(snap);
	pthread_mutex_unlock(&f->lock);
	return snap;
}

void feed_status(struct feed *f, struct feed_status *out)
{
	pthread_mutex_lock(&f->lock);
	*out = f->status;
	pthread_mutex_unlock(&f->lock);
	out->stale_s = clock_boot() -
		       (out->last_snapshot_boot ? out->last_snapshot_boot : out->started_boot);
}

struct history *feed_history(struct feed *f)
{
	return f->history;
}

const char *feed_db_path(const struct feed *f)
{
	return f->db_path;
}

void feed_set_events(struct feed *f, struct events *ev)
{
	f->events = ev;
}

struct events *feed_events(struct feed *f)
{
	return f->events;
}
