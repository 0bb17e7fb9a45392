/* sampler_db.c - a snapshot into the database: changes, rollups, timelines, the file itself. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "limits.h"
#include "log.h"
#include "sampler_int.h"
#include "util.h"

static int list_push(struct change_list *l, struct snap_sock *e)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct snap_sock **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = e;
	return 0;
}

static int on_appeared(void *arg, struct snap_sock *e)
{
	struct sampler *s = arg;

	if (s->cfg.persist_after_s > 0)
		return 0; /* recorded later, if it lingers */
	return list_push(&s->appeared, e);
}

/*
 * With --persist-after, a socket gets its row once it has spent that long in a teardown
 * state other than TIME_WAIT (which the kernel ends after 60 s anyway): the sockets worth
 * a lifetime record, without a row for every short connection of a busy host.
 */
static int persist_lingering(struct sampler *s, struct snap *snap)
{
	double after = s->cfg.persist_after_s;
	int err;

	if (after <= 0 && !s->rewrite_rows)
		return 0;
	/* A new database file without --persist-after: every socket, once (these included). */
	if (after <= 0)
		s->appeared.n = 0;
	for (size_t i = 0; i < snap->n; i++) {
		struct snap_sock *e = &snap->socks[i];

		if (e->row_id)
			continue;
		if (after > 0 &&
		    (e->r.state == SOCK_TIME_WAIT || !sock_state_lingering(e->r.state) ||
		     snap_age(snap, e->state_since) < after))
			continue;
		err = list_push(&s->appeared, e);
		if (err < 0)
			return err;
	}
	return 0;
}

/* A stored rollup row into the bucket being loaded. */
static int seed_row(void *arg, const struct store_rollup *r)
{
	struct hist_acc a = { r->min, r->max, r->last, r->sum, r->n };

	hist_bucket_seed(arg, r->kind, r->grp, r->state, &a);
	return 0;
}

/* What is stored of a bucket met for the first time since start (or a failed write). */
static int load_bucket(void *arg, struct hist_bucket *b)
{
	struct sampler *s = arg;

	return store_rollup_walk(s->store, b->res, b->t, seed_row, b);
}

static int put_bucket(void *arg, const struct hist_bucket *b)
{
	struct sampler *s = arg;
	int err;

	for (int st = 1; st < SOCK_STATE_MAX; st++) {
		const struct hist_acc *a = &b->host[st];
		struct store_rollup r = { b->res, b->t,   st,      0,      NULL,
					  a->min, a->max, a->last, a->sum, a->n };

		err = store_rollup_put(s->store, &r);
		if (err < 0)
			return err;
	}
	for (int k = 1; k < GROUP_KIND_MAX; k++) {
		for (size_t g = 0; g < b->ngroups[k]; g++) {
			for (int st = 1; st < SOCK_STATE_MAX; st++) {
				const struct hist_acc *a = &b->groups[k][g].acc[st];
				struct store_rollup r = {
					b->res, b->t,   st,      k,      b->groups[k][g].key,
					a->min, a->max, a->last, a->sum, a->n
				};

				/*
				 * Ports and processes: the lingering states that were there.  A
				 * namespace: every state that was there, and ESTABLISHED always,
				 * which marks the minute as one it existed in (the reader takes the
				 * states without a row as 0 there).
				 */
				if (k == GROUP_NETNS ? !a->max && st != SOCK_ESTABLISHED
						     : !sock_state_lingering(st) || !a->max)
					continue;
				err = store_rollup_put(s->store, &r);
				if (err < 0)
					return err;
			}
		}
	}
	return 0;
}

static int on_changed(void *arg, const struct snap_sock *e, int old_state)
{
	struct sampler *s = arg;

	(void)old_state;
	/* The snapshot is not published yet, so its entries may still be written. */
	return list_push(&s->changed, (struct snap_sock *)e);
}

static int on_vanished(void *arg, const struct snap_sock *old)
{
	struct sampler *s = arg;

	if (old->closer || old->closer_tried)
		events_forget(s->events, old->r.cookie);
	if (!old->row_id)
		return 0;
	if (s->n_vanished == s->cap_vanished) {
		size_t cap = s->cap_vanished ? s->cap_vanished * 2 : 64;
		int64_t *v = realloc(s->vanished, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->vanished = v;
		s->cap_vanished = cap;
	}
	s->vanished[s->n_vanished++] = old->row_id;
	return 0;
}

const struct snap_change_ops sampler_change_ops = {
	.appeared = on_appeared,
	.changed = on_changed,
	.vanished = on_vanished,
};

/*
 * The state changes since the last committed snapshot, beside this one.  A snapshot whose
 * write failed leaves trans_committed alone, so the next one carries its changes too: the
 * rows add up to exactly what the kernel counted from the first snapshot on.
 */
static int record_transitions(struct sampler *s, const struct snap *snap)
{
	struct store_transition v[TD_STATES * TD_STATES];
	size_t n = 0;

	if (!s->trans_have_now || !s->trans_have_committed)
		return 0;
	for (int a = 0; a < TD_STATES; a++)
		for (int b = 0; b < TD_STATES; b++) {
			uint64_t now = s->trans_now[a][b], was = s->trans_committed[a][b];

			/* Per-CPU sums only grow; a smaller one is a namespace copy reset. */
			if (now > was)
				v[n++] = (struct store_transition){ (uint8_t)a, (uint8_t)b,
								    now - was };
		}
	return store_transitions_put(s->store, snap->id, snap->taken_at, v, n);
}

/*
 * With --persist-after, a socket with a lifetime row keeps its teardown as the tracer saw it
 * there, written again as it changes state: the kernel's record is evicted and lost on a
 * restart, the row is not.  One map lookup per such socket and change.
 */
static int record_timeline(struct sampler *s, const struct snap_sock *e)
{
	struct store_timeline t = { .cookie = e->r.cookie };
	struct td_sock r;

	if (!s->events || s->cfg.persist_after_s <= 0 || !e->r.cookie ||
	    !sock_state_lingering(e->r.state) || events_lookup(s->events, e->r.cookie, &r) < 0)
		return 0;
	t.netns = r.netns;
	t.cgroup = r.cgroup;
	t.pid = (int32_t)r.tgid;
	t.tid = (int32_t)r.pid;
	t.how = r.how;
	t.reset_sent = r.rst_sent;
	memcpy(t.comm, r.comm, sizeof(t.comm));
	t.comm[sizeof(t.comm) - 1] = '\0';
	for (int i = 0; i < r.nsteps && i < TD_STEPS && i < STORE_TIMELINE_STEPS; i++) {
		t.steps[i].at = events_wall(r.steps[i].ns);
		t.steps[i].pid = (int32_t)r.steps[i].tgid;
		t.steps[i].from = r.steps[i].from;
		t.steps[i].to = r.steps[i].to;
		t.nsteps = i + 1;
	}
	return store_timeline_put(s->store, e->row_id, &t);
}

/* Writes one snapshot's changes in one transaction.  Returns 0 or -errno. */
int sampler_record(struct sampler *s, struct snap *snap, uint64_t *rows)
{
	struct store_snapshot row = {
		.taken_at = snap->taken_at,
		.duration_ms = snap->duration_ms,
		.source = snap->source,
		.partial = snap->partial,
		.total = (uint32_t)snap->n,
	};
	int err;

	memcpy(row.counts, snap->counts, sizeof(row.counts));
	row.kstat = &snap->kstat;
	if (!s->store)
		return -ENODEV; /* sampler_db_reopen() failed: s->db_msg says why */
	err = persist_lingering(s, snap);
	if (err == 0)
		err = store_begin(s->store, &row, &snap->id);
	if (err < 0) {
		snprintf(s->db_msg, sizeof(s->db_msg), "%s", store_errmsg(s->store));
		return err;
	}
	err = history_add(s->history, snap,
			  &(struct history_io){ .load = load_bucket, .put = put_bucket, .arg = s });
	if (err < 0)
		goto fail;
	{
		/* Each other namespace's counts beside the snapshot's, for raw trends. */
		size_t n_ns;
		const struct hist_group *ns = history_netns(s->history, &n_ns);

		for (size_t i = 0; i < n_ns; i++) {
			err = store_netns_put(s->store, snap->id, snap->taken_at, ns[i].key,
					      ns[i].counts);
			if (err < 0)
				goto fail;
		}
	}
	err = record_transitions(s, snap);
	if (err < 0)
		goto fail;
	for (size_t i = 0; i < s->appeared.n; i++) {
		struct snap_sock *e = s->appeared.v[i];
		struct store_sock ss = {
			.netns = e->r.netns,
			.key = e->key,
			.rec = &e->r,
			.first_seen = snap_wall(snap, e->first_seen),
			.state_since = snap_wall(snap, e->state_since),
		};

		err = store_sock_insert(s->store, &ss, &e->row_id);
		if (err == 0)
			err = record_timeline(s, e);
		if (err < 0)
			goto fail;
	}
	for (size_t i = 0; i < s->changed.n; i++) {
		struct snap_sock *e = s->changed.v[i];

		if (!e->row_id)
			continue;
		err = store_sock_state(s->store, e->row_id, e->r.state,
				       snap_wall(snap, e->state_since));
		if (err == 0)
			err = record_timeline(s, e);
		if (err < 0)
			goto fail;
	}
	for (size_t i = 0; i < s->n_vanished; i++) {
		err = store_sock_end(s->store, s->vanished[i], snap->taken_at);
		if (err < 0)
			goto fail;
	}
	err = store_commit(s->store);
	if (err < 0)
		goto fail;
	*rows = s->appeared.n + s->changed.n + s->n_vanished;
	s->rewrite_rows = 0;
	if (s->trans_have_now) {
		memcpy(s->trans_committed, s->trans_now, sizeof(s->trans_committed));
		s->trans_have_committed = 1;
	}
	return 0;
fail:
	/* SQLite's message is the failed statement's: keep it before the rollback replaces it. */
	snprintf(s->db_msg, sizeof(s->db_msg), "%s", store_errmsg(s->store));
	store_rollback(s->store);
	/* The rollups in memory may hold this snapshot: the next one reloads what is stored. */
	history_discard(s->history);
	for (size_t i = 0; i < s->appeared.n; i++)
		s->appeared.v[i]->row_id = 0;
	snap->id = 0;
	return err;
}

/* Locks path for this process (flock), replacing an earlier lock.  0 or -errno. */
int sampler_lock_db(struct sampler *s, const char *path)
{
	struct stat sb;

	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0 ||
	    fstat(s->lock_fd, &sb) < 0)
		return -errno;
	s->db_dev = sb.st_dev;
	s->db_ino = sb.st_ino;
	return 0;
}

/*
 * Whether the file at the database's path is still the one this process opened and locked:
 * deleted (or moved away, or replaced by another file) while lingerd ran, the writes since
 * would go to a file nobody can open again, and a second lingerd could start on the path.
 */
int sampler_db_file_gone(const struct sampler *s)
{
	struct stat sb;

	if (s->lock_fd < 0)
		return 1;
	if (fstat(s->lock_fd, &sb) == 0 && sb.st_nlink == 0)
		return 1;
	if (stat(s->cfg.db_path, &sb) < 0)
		return errno == ENOENT;
	return sb.st_dev != s->db_dev || sb.st_ino != s->db_ino;
}

/* What happened to the database file, for the log's reader and for /healthz. */
static void db_event(struct sampler *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void db_event(struct sampler *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->db_event, sizeof(s->db_event), fmt, ap);
	va_end(ap);
	/* log_err: said even when --once silences log_info. */
	log_err(0, "%s", s->db_event);
	if (s->feed) {
		struct feed_status *st = feed_lock(s->feed);

		snprintf(st->db_event, sizeof(st->db_event), "%s", s->db_event);
		feed_unlock(s->feed);
	}
}

/*
 * Moves a database that SQLite reports corrupt (garbage, truncated, not a database) and
 * its WAL aside as PATH.corrupt-UNIXTIME, keeping them for a post-mortem, so that lingerd
 * carries on with a fresh one instead of failing on every start or every snapshot.  Only
 * -EUCLEAN leads here: a file that cannot be read for another reason (permissions, an
 * -shm file of another user, I/O) is left where it is, and foreign and newer databases are
 * refused.  why: SQLite's message.  Returns 0 or -errno (logged).
 */
int sampler_quarantine(struct sampler *s, const char *why)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	const char *path = s->cfg.db_path;
	char from[4096], to[4200];
	long now = (long)clock_wall();
	int err;

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(to, sizeof(to), "%s.corrupt-%ld%s", path, now, sfx[i]);
		if (rename(from, to) < 0 && errno != ENOENT) {
			err = -errno;
			log_err(err, "cannot move corrupt database %s aside", from);
			return err;
		}
	}
	db_event(s, "%s was corrupt (%s); moved it to %s.corrupt-%ld and started a new one", path,
		 why, path, now);
	return 0;
}

/* The writer's busy timeout: see sampler_open(). */
void sampler_db_set_busy(struct sampler *s)
{
	/*
	 * A write that waits for another connection's lock must not hold up the next snapshot:
	 * wait at most a quarter of the interval; a failed write loses nothing, since the next
	 * diff is against what the database holds.  Start-up could wait longer.
	 */
	store_set_busy_timeout(s->store, (int)(s->cfg.interval_s * 250 < LD_DB_BUSY_MAX_MS
						       ? s->cfg.interval_s * 250
						       : LD_DB_BUSY_MAX_MS));
}

/* Why the database is opened again while running. */

/*
 * Starts over with a new database at the same path, while running.  The WAL and -shm of a
 * file that is gone are still at the path and would be replayed into the new file: they
 * are removed, but only once the path is locked by this process again (another lingerd
 * that took the path in the meantime keeps its files).  The sockets alive now keep their
 * ages; their rows are written again into the new file with the next snapshot, and the
 * rollups start from what it holds.  Returns 0 or -errno, with s->db_msg set; without a
 * database every later snapshot tries again (DB_RETRY).
 */
int sampler_db_reopen(struct sampler *s, enum db_reopen_why why)
{
	const char *path = s->cfg.db_path;
	char name[4200], msg[sizeof(s->db_msg)];
	int err;

	snprintf(msg, sizeof(msg), "%s", s->db_msg);
	store_close(s->store);
	s->store = NULL;
	history_discard(s->history);
	if (s->committed) {
		/* Row ids of the old file: none of them exists in the new one. */
		for (size_t i = 0; i < s->committed->n; i++)
			s->committed->socks[i].row_id = 0;
	}
	s->rewrite_rows = 1;
	if (why == DB_CORRUPT && sampler_quarantine(s, msg) < 0) {
		snprintf(s->db_msg, sizeof(s->db_msg), "cannot move the corrupt file aside");
		return -EIO;
	}
	err = sampler_lock_db(s, path);
	if (err < 0) {
		snprintf(s->db_msg, sizeof(s->db_msg), "%s",
			 err == -EWOULDBLOCK ? "another lingerd now writes this path"
					     : "cannot lock the database file");
		return err;
	}
	if (why == DB_GONE) {
		for (int i = 0; i < 2; i++) {
			snprintf(name, sizeof(name), "%s%s", path, i ? "-shm" : "-wal");
			unlink(name);
		}
	}
	err = store_open_diag(&s->store, path, s->db_msg, sizeof(s->db_msg));
	if (err == -EUCLEAN && why != DB_CORRUPT) {
		/* What was put at the path is corrupt itself. */
		snprintf(msg, sizeof(msg), "%s", s->db_msg);
		err = sampler_quarantine(s, msg);
		if (err == 0)
			err = sampler_lock_db(s, path);
		if (err == 0)
			err = store_open_diag(&s->store, path, s->db_msg, sizeof(s->db_msg));
	}
	if (err < 0)
		return err;
	sampler_db_set_busy(s);
	if (why == DB_GONE)
		db_event(
			s,
			"%s was deleted or replaced while lingerd ran; started a new database there",
			path);
	return 0;
}

/*
 * Deletes what is past its retention in short batches, so that a snapshot is never held up
 * for long; whatever is left is taken on the next pass.
 */
int sampler_retention(struct sampler *s, double wall, double boot)
{
	/*
	 * Cut-offs follow the boot clock from the first snapshot: a wall clock stepped forward
	 * by days must not delete days of history (one stepped back only deletes less).
	 */
	double now = wall < s->wall_base + (boot - s->boot_base)
			     ? wall
			     : s->wall_base + (boot - s->boot_base);
	double t0 = clock_mono();
	int64_t deleted = 0, total = 0, bytes = 0;
	struct feed_status *st;
	int err;

	s->last_retention = boot;
	do {
		err = store_retention(s->store, now - s->cfg.raw_retention_s,
				      now - s->cfg.retention_s, now - s->cfg.retention_s,
				      LD_RETENTION_BATCH, &deleted);
		total += deleted;
	} while (err == 0 && deleted == LD_RETENTION_BATCH &&
		 clock_mono() - t0 < LD_RETENTION_BUDGET_S);
	if (err < 0) {
		snprintf(s->db_msg, sizeof(s->db_msg), "%s", store_errmsg(s->store));
		log_err(err, "retention pass failed (%s)", s->db_msg);
	}
	store_size(s->store, &bytes);
	st = feed_lock(s->feed);
	st->retention_deleted += (uint64_t)total;
	st->db_bytes = bytes;
	feed_unlock(s->feed);
	return err;
}
