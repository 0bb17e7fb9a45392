/* sampler_int.h - the sampler's insides, shared by its files (sampler*.c); not a public contract. */
#ifndef LINGERD_SAMPLER_INT_H
#define LINGERD_SAMPLER_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "events.h"
#include "feed.h"
#include "history.h"
#include "netns.h"
#include "procmap.h"
#include "sampler.h"
#include "snap.h"
#include "store.h"

/* Growable list of pointers to the changes of one snapshot. */
struct change_list {
	struct snap_sock **v;
	size_t n, cap;
};

struct sampler {
	struct sampler_config cfg;
	struct capture *capture;
	struct store *store;
	struct procmap *procmap;
	struct events *events; /* teardown tracer, NULL when off */
	/*
	 * The tracer's state changes (lingerd's own namespace) when this snapshot was taken, and
	 * at the last committed one: the difference is what the snapshot's rows say happened.
	 */
	uint64_t trans_now[TD_STATES][TD_STATES], trans_committed[TD_STATES][TD_STATES];
	int trans_have_now, trans_have_committed;
	struct history *history;
	double last_retention;
	int lock_fd;            /* flock()ed: one writer per database file */
	struct netns_set netns; /* other namespaces, with --netns all */
	struct sock_vec recs;
	struct snap *committed; /* the snapshot whose changes the database holds */
	struct change_list appeared, changed;
	int64_t *vanished;
	size_t n_vanished, cap_vanished;

	pthread_t thread;
	int running;
	pthread_mutex_t lock; /* guards stop and exited */
	pthread_cond_t wake;
	int stop;
	int exited;                  /* the thread has left its loop */
	struct snap *current;        /* the last published snapshot (the sampler's own reference) */
	struct feed *feed;           /* what the API reads */
	char db_msg[128];            /* SQLite's message for the last failed transaction */
	double wall_base, boot_base; /* both clocks at the first snapshot */
	double wall_step; /* how far the wall clock has stepped from the boot clock since */
	dev_t db_dev;     /* the database file this process locked and writes */
	ino_t db_ino;
	int rewrite_rows;   /* a new database file: every socket's row is written again */
	char db_event[160]; /* the last thing that happened to the file (moved aside, ...) */
	double past_at;     /* when a snapshot was last kept for growth (boot clock) */
};

/* Why the database is reopened while running (sampler_db_reopen). */
enum db_reopen_why {
	DB_CORRUPT, /* SQLite reported corruption: the file and its WAL are moved aside */
	DB_GONE,    /* the file was deleted or replaced: its WAL and -shm are stale */
	DB_RETRY,   /* the last reopen failed: try again, touching nothing */
};

/* sampler_db.c: the database side of a snapshot. */
extern const struct snap_change_ops sampler_change_ops; /* collects what changed for record */
/* Writes one snapshot's changes and rollups in one transaction.  0 or -errno (db_msg set). */
int sampler_record(struct sampler *s, struct snap *snap, uint64_t *rows);
/* Locks path for this process (flock), replacing an earlier lock.  0 or -errno. */
int sampler_lock_db(struct sampler *s, const char *path);
/* Non-zero when the locked database file was deleted or replaced at its path. */
int sampler_db_file_gone(const struct sampler *s);
/* Moves a corrupt database (and its WAL, -shm) aside, saying why.  0 or -errno. */
int sampler_quarantine(struct sampler *s, const char *why);
/* Sets the writer's busy timeout from the interval. */
void sampler_db_set_busy(struct sampler *s);
/* Starts over with a new database at the same path while running.  0 or -errno. */
int sampler_db_reopen(struct sampler *s, enum db_reopen_why why);
/* One retention pass, in short batches.  0 or -errno (-EUCLEAN on corruption). */
int sampler_retention(struct sampler *s, double wall, double boot);

/* sampler_netns.c: other namespaces in a snapshot. */
/* Carries the last known sockets of namespaces not dumped now (failed or not due). */
int sampler_keep_carried_netns(struct sampler *s, uint8_t *carried);
/* Logs namespaces that newly failed and fills the status's summary of them. */
void sampler_report_netns(struct sampler *s, const struct snap *snap, struct feed_status *st);

/* sampler_resume.c: what carries over a restart. */
/* Records this run's first snapshot among the runs' starts (for lower-bound ages). */
void sampler_note_run_start(struct sampler *s, const struct snap *snap);
/* Reloads the sockets alive at the last stop (same boot, same source).  0 or -errno. */
int sampler_resume(struct sampler *s);

#endif
