/* sampler.c - the sampling loop: capture, diff against the last snapshot, record, publish. */
#include "sampler.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "events.h"
#include "feed.h"
#include "history.h"
#include "limits.h"
#include "log.h"
#include "netns.h"
#include "procmap.h"
#include "store.h"
#include "sampler_int.h"
#include "util.h"

/*
 * Notices the wall clock stepping against the boot clock (settimeofday, an NTP step, a VM
 * restored) and says so once per step.  Nothing else depends on it: durations run on the
 * boot clock, and rows keep the dates the wall clock gave them.
 */
static void watch_wall_clock(struct sampler *s, double wall, double boot)
{
	double step;

	if (!s->boot_base) {
		s->wall_base = wall;
		s->boot_base = boot;
		return;
	}
	step = wall - (s->wall_base + (boot - s->boot_base));
	if (step - s->wall_step > LD_CLOCK_STEP_S || s->wall_step - step > LD_CLOCK_STEP_S) {
		log_info("the wall clock stepped %s by %.1fs; ages, findings and retention follow "
			 "the boot clock and are unaffected; history rows keep the clock's dates",
			 step > s->wall_step ? "forward" : "back",
			 step > s->wall_step ? step - s->wall_step : s->wall_step - step);
		s->wall_step = step;
	}
}

/* The sockets kept for growth: the lingering states, and LISTEN (few, and queues grow). */
static int past_kept(int state)
{
	return sock_state_lingering(state) || state == SOCK_LISTEN;
}

/*
 * A copy of a snapshot's lingering and listening sockets and their owners, for the growth
 * of the next minutes: ESTABLISHED (most of a busy host) would cost a full snapshot's
 * memory for each of the LD_PAST_KEEP kept.  NULL without memory.
 */
static struct snap *past_copy(const struct snap *snap)
{
	struct snap *t;
	size_t n = 0;

	for (size_t i = 0; i < snap->n; i++)
		n += past_kept(snap->socks[i].r.state);
	t = snap_alloc(n);
	if (!t)
		return NULL;
	t->seq = snap->seq;
	t->taken_at = snap->taken_at;
	t->taken_boot = snap->taken_boot;
	t->wall_offset = snap->wall_offset;
	t->source = snap->source;
	t->attribution = snap->attribution;
	t->self_netns = snap->self_netns;
	if (snap->n_closers) {
		/* Whole, so that the sockets' closer indexes stay valid. */
		t->closers = malloc(snap->n_closers * sizeof(*t->closers));
		if (!t->closers) {
			snap_put(t);
			return NULL;
		}
		memcpy(t->closers, snap->closers, snap->n_closers * sizeof(*t->closers));
		t->n_closers = t->cap_closers = snap->n_closers;
	}
	n = 0;
	for (size_t i = 0; i < snap->n; i++) {
		const struct snap_sock *x = &snap->socks[i];

		if (!past_kept(x->r.state))
			continue;
		t->socks[n] = *x;
		if (x->proc) {
			t->socks[n].proc = snap_add_proc(t, &snap->procs[x->proc - 1]);
			if (!t->socks[n].proc) {
				snap_put(t);
				return NULL;
			}
		}
		n++;
	}
	return t;
}

int sampler_step(struct sampler *s)
{
	struct snap *snap = NULL;
	double now = clock_wall(), boot = clock_boot(), t0 = clock_mono(), t1;
	uint64_t rows = 0;
	struct feed_status *st;
	uint8_t *carried = NULL;
	int partial = 0, err, db_err;

	err = capture_take(s->capture, &s->recs, &partial);
	if (err < 0) {
		feed_lock(s->feed)->capture_errors++;
		feed_unlock(s->feed);
		return err;
	}
	if (s->cfg.netns_all) {
		double tn = clock_mono();

		err = netns_scan(&s->netns, s->cfg.proc_root);
		s->netns.max_every = (unsigned)(NETNS_QUIET_MAX_S / s->cfg.interval_s);
		if (err == 0)
			err = netns_dump(&s->netns, &s->recs, &partial, t0);
		/* The round is the namespaces' whole cost: the scan of /proc as well as the dumps. */
		s->netns.round.ms = (clock_mono() - tn) * 1e3;
		if (err == 0) {
			carried = calloc(s->netns.n + 1, 1);
			err = carried ? sampler_keep_carried_netns(s, carried) : -ENOMEM;
		}
		if (err < 0) {
			free(carried);
			feed_lock(s->feed)->capture_errors++;
			feed_unlock(s->feed);
			return err;
		}
	}
	s->appeared.n = s->changed.n = s->n_vanished = 0;
	err = snap_build(&snap, &s->recs, s->committed, boot, &sampler_change_ops, s);
	if (err < 0) {
		free(carried);
		feed_lock(s->feed)->capture_errors++;
		feed_unlock(s->feed);
		return err;
	}
	snap->taken_at = now;
	watch_wall_clock(s, now, boot);
	/* One offset between steps: shown times do not jitter with each reading of the clocks. */
	snap->wall_offset = s->wall_base - s->boot_base + s->wall_step;
	snap->source = capture_source_name(capture_source(s->capture));
	snap->partial = partial;
	netns_self(&snap->self_netns);
	if (s->netns.n) {
		snap->netns = calloc(s->netns.n, sizeof(*snap->netns));
		if (!snap->netns) {
			free(carried);
			snap_put(snap);
			return -ENOMEM;
		}
		for (size_t i = 0; i < s->netns.n; i++) {
			const struct netns *ns = &s->netns.v[i];
			struct snap_netns *d = &snap->netns[i];

			d->id = ns->id;
			d->pid = ns->pid;
			d->error = ns->error;
			d->stale = carried && carried[i] == 2;
			d->dumped = carried && !carried[i] && ns->diag;
			d->age_s = ns->dumped_at ? t0 - ns->dumped_at : -1;
			d->dump_ms = ns->dump_ms;
			d->every = ns->every;
			d->ehash = ns->ehash;
			d->kstat = ns->kstat;
			d->have_kstat = ns->have_kstat;
			memcpy(d->name, ns->name, sizeof(d->name));
			memcpy(d->kind, ns->kind, sizeof(d->kind));
			memcpy(d->comm, ns->comm, sizeof(d->comm));
		}
		snap->n_netns = s->netns.n;
	}
	if (s->cfg.netns_all) {
		snap->self_ehash = s->netns.self_ehash;
		snap->child_ehash = s->netns.child_ehash;
	}
	free(carried);
	snap->attribution = -1;
	if (s->procmap) {
		err = procmap_attribute(s->procmap, snap, s->current, clock_mono(),
					s->cfg.attribute_every_s);
		if (err < 0) {
			snap_put(snap);
			return err;
		}
	}
	err = events_join(s->events, snap, s->current);
	if (err < 0) {
		snap_put(snap);
		return err;
	}
	err = events_time_waits(s->events, snap, clock_mono());
	if (err < 0) {
		snap_put(snap);
		return err;
	}
	s->trans_have_now = 0;
	if (s->events) {
		struct events_stats es;

		if (events_stats(s->events, 0, 0, &es, 0) == 0) {
			memcpy(s->trans_now, es.n.trans, sizeof(s->trans_now));
			s->trans_have_now = 1;
		}
	}
	kstat_read(&snap->kstat, s->cfg.proc_root);
	t1 = clock_mono();
	snap->duration_ms = (t1 - t0) * 1e3;

	/*
	 * Publish first, then write: a database that waits for a lock or a stalled disk must
	 * not leave the API serving old data or /healthz calling the sampler stalled.  What the
	 * write changes afterwards (snap->id, row ids) is the sampler's alone: readers never
	 * look at it.
	 */
	st = feed_lock(s->feed);
	sampler_report_netns(s, snap, st);
	snap->seq = ++st->snapshots;
	feed_publish_locked(s->feed, snap_get(snap));
	st->source = snap->source;
	st->last_snapshot_at = now;
	st->last_snapshot_boot = boot;
	st->last_duration_ms = snap->duration_ms;
	st->attribution = snap->attribution;
	if (s->procmap) {
		struct procmap_stats ps;

		procmap_stats(s->procmap, &ps);
		st->attribution_walks = ps.walks;
		st->attribution_last_ms = ps.last_walk_ms;
	}
	feed_unlock(s->feed);
	snap_put(s->current);
	s->current = snap;
	if (!s->past_at || boot - s->past_at >= LD_PAST_EVERY_S) {
		struct snap *past = past_copy(snap);

		/* Without memory growth is unknown a while longer: not worth failing a snapshot. */
		if (past) {
			feed_keep_past(s->feed, past);
			s->past_at = boot;
		}
	}

	/*
	 * The file deleted or replaced under lingerd: noticed before this snapshot's write, which
	 * would go to a file nobody can open again.  Without a database (the last reopen
	 * failed), try again.
	 */
	if (!s->store)
		sampler_db_reopen(s, DB_RETRY);
	else if (sampler_db_file_gone(s))
		sampler_db_reopen(s, DB_GONE);
	db_err = sampler_record(s, snap, &rows);
	if (snap->seq == 1 && s->store)
		sampler_note_run_start(s, snap);
	if (db_err == 0) {
		/* The next diff is against what the database holds. */
		snap_put(s->committed);
		s->committed = snap_get(snap);
	}
	if (s->store && db_err != -EUCLEAN && boot - s->last_retention >= LD_RETENTION_EVERY_S &&
	    sampler_retention(s, now, boot) == -EUCLEAN)
		db_err = -EUCLEAN;
	if (db_err == -EUCLEAN) {
		char msg[sizeof(s->db_msg)];

		/* Corruption: the file is moved aside and the next snapshot goes to a new one. */
		snprintf(msg, sizeof(msg), "%s", s->db_msg);
		sampler_db_reopen(s, DB_CORRUPT);
		snprintf(s->db_msg, sizeof(s->db_msg), "%s", msg);
	}

	st = feed_lock(s->feed);
	st->last_commit_ms = (clock_mono() - t1) * 1e3;
	st->rows_written += rows;
	st->db_ok = db_err == 0;
	if (db_err < 0) {
		st->db_errors++;
		snprintf(st->db_error, sizeof(st->db_error), "%s (%s)", util_strerror(-db_err),
			 s->db_msg);
	} else {
		st->db_error[0] = '\0';
	}
	feed_unlock(s->feed);
	return db_err;
}

/* The teardown tracer is optional: without it lingerd works as before and says why. */
static void open_events(struct sampler *s)
{
	char why[96] = "";
	struct feed_status *st;
	int err = -ECANCELED;

	if (s->cfg.events)
		err = events_open(&s->events, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "turned off (--events off)");
	if (err < 0 && s->cfg.events)
		log_info("teardown tracing off: %s", why);
	feed_set_events(s->feed, s->events);
	st = feed_lock(s->feed);
	if (err < 0)
		snprintf(st->events, sizeof(st->events), "off: %s", why);
	else
		snprintf(st->events, sizeof(st->events), "bpf");
	feed_unlock(s->feed);
}

int sampler_open(struct sampler **out, const struct sampler_config *cfg)
{
	struct sampler *s = calloc(1, sizeof(*s));
	struct feed_status *st;
	int err;

	if (!s)
		return -ENOMEM;
	s->lock_fd = -1;
	s->cfg = *cfg;
	pthread_mutex_init(&s->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->wake, &ca);
		pthread_condattr_destroy(&ca);
	}
	err = capture_open(&s->capture, cfg->source);
	if (err < 0) {
		log_err(err, "cannot open the %s capture source", capture_source_name(cfg->source));
		goto fail;
	}
	if (!s->cfg.proc_root)
		s->cfg.proc_root = "/proc";
	if (cfg->attribute_every_s > 0) {
		err = procmap_open(&s->procmap, s->cfg.proc_root);
		if (err < 0)
			goto fail;
	}
	err = history_open(&s->history);
	if (err < 0)
		goto fail;
	/*
	 * SQLite would let a second writer wait for the lock on every snapshot; refuse it at
	 * start instead.  flock() does not mix with SQLite's POSIX locks, and this descriptor
	 * stays open until after the database is closed, so no lock is dropped early.
	 */
	err = sampler_lock_db(s, cfg->db_path);
	if (err < 0) {
		if (err == -EWOULDBLOCK)
			log_info(
				"%s is in use by another lingerd; refusing to start a second writer",
				cfg->db_path);
		else
			log_err(err, "cannot open database %s", cfg->db_path);
		goto fail;
	}
	for (int attempt = 0;; attempt++) {
		err = store_open_diag(&s->store, cfg->db_path, s->db_msg, sizeof(s->db_msg));
		if (err == 0) {
			sampler_db_set_busy(s);
			err = sampler_resume(s);
			if (err < 0)
				snprintf(s->db_msg, sizeof(s->db_msg), "%s",
					 store_errmsg(s->store));
		}
		if (err != -EUCLEAN || attempt)
			break;
		/* Corrupt: keep the file for a post-mortem and start afresh, once. */
		store_close(s->store);
		s->store = NULL;
		err = sampler_quarantine(s, s->db_msg);
		if (err == 0)
			err = sampler_lock_db(s, cfg->db_path);
		if (err < 0)
			goto fail;
	}
	if (err < 0) {
		if (err == -EPROTONOSUPPORT)
			log_err(err, "%s was written by a newer lingerd; refusing to downgrade it",
				cfg->db_path);
		else if (err == -ENOTSUP)
			log_err(err, "%s is a database that lingerd did not create", cfg->db_path);
		else
			log_err(err, "cannot open database %s (%s)", cfg->db_path, s->db_msg);
		goto fail;
	}
	err = feed_open(&s->feed, s->history, cfg->db_path);
	if (err < 0)
		goto fail;
	open_events(s);
	st = feed_lock(s->feed);
	st->interval_s = cfg->interval_s;
	st->source = capture_source_name(capture_source(s->capture));
	st->started_at = clock_wall();
	st->started_boot = clock_boot();
	st->db_ok = 1;
	snprintf(st->db_event, sizeof(st->db_event), "%s", s->db_event);
	st->attribution = s->procmap ? PROCMAP_FULL : -1;
	feed_unlock(s->feed);
	*out = s;
	return 0;
fail:
	sampler_close(s);
	return err;
}

static void *sampler_thread(void *arg)
{
	struct sampler *s = arg;
	double next = clock_mono();
	int last_err = 0;

	/* The caller took the first snapshot before serving; the thread takes the rest. */
	for (;;) {
		struct timespec ts;
		double now;
		int err;

		/* Fixed rate on the monotonic clock; after an overrun, start again from now. */
		next += s->cfg.interval_s;
		now = clock_mono();
		if (next < now)
			next = now;
		ts.tv_sec = (time_t)next;
		ts.tv_nsec = (long)((next - (double)ts.tv_sec) * 1e9);
		pthread_mutex_lock(&s->lock);
		while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &ts) != ETIMEDOUT)
			;
		if (s->stop) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		pthread_mutex_unlock(&s->lock);

		err = sampler_step(s);
		if (err < 0 && err != last_err)
			log_err(err, "snapshot failed");
		else if (err == 0 && last_err < 0)
			log_info("snapshots recorded again");
		last_err = err;
	}
	pthread_mutex_lock(&s->lock);
	s->exited = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sampler_start(struct sampler *s)
{
	int err = pthread_create(&s->thread, NULL, sampler_thread, s);

	if (err)
		return -err;
	s->running = 1;
	return 0;
}

int sampler_stop_within(struct sampler *s, double timeout_s)
{
	struct timespec ts;
	double end = clock_mono() + timeout_s;
	int exited;

	if (!s || !s->running)
		return 0;
	ts.tv_sec = (time_t)end;
	ts.tv_nsec = (long)((end - (double)ts.tv_sec) * 1e9);
	pthread_mutex_lock(&s->lock);
	s->stop = 1;
	pthread_cond_broadcast(&s->wake);
	while (!s->exited && timeout_s >= 0 &&
	       pthread_cond_timedwait(&s->wake, &s->lock, &ts) != ETIMEDOUT)
		;
	exited = s->exited || timeout_s < 0;
	pthread_mutex_unlock(&s->lock);
	if (!exited) {
		/* Abandoned to the process's exit: detached, so that nothing is left to join. */
		pthread_detach(s->thread);
		return -ETIMEDOUT;
	}
	pthread_join(s->thread, NULL);
	s->running = 0;
	return 0;
}

void sampler_stop(struct sampler *s)
{
	sampler_stop_within(s, -1);
}

void sampler_close(struct sampler *s)
{
	if (!s)
		return;
	sampler_stop(s);
	store_close(s->store);
	capture_close(s->capture);
	procmap_close(s->procmap);
	netns_free(&s->netns);
	history_close(s->history);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	snap_put(s->committed);
	snap_put(s->current);
	feed_close(s->feed);
	events_close(s->events);
	sock_vec_free(&s->recs);
	free(s->appeared.v);
	free(s->changed.v);
	free(s->vanished);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

struct feed *sampler_feed(struct sampler *s)
{
	return s->feed;
}
