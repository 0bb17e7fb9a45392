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
#include "util.h"

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
	struct history *history;
	double last_retention;
	int lock_fd; /* flock()ed: one writer per database file */
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
	int exited; /* the thread has left its loop */
	struct snap *current; /* the last published snapshot (the sampler's own reference) */
	struct feed *feed;     /* what the API reads */
	char db_msg[128];      /* SQLite's message for the last failed transaction */
	double wall_base, boot_base; /* both clocks at the first snapshot */
	double wall_step;      /* how far the wall clock has stepped from the boot clock since */
	dev_t db_dev;          /* the database file this process locked and writes */
	ino_t db_ino;
	int rewrite_rows;      /* a new database file: every socket's row is written again */
	char db_event[160];    /* the last thing that happened to the file (moved aside, ...) */
	double past_at;        /* when a snapshot was last kept for growth (boot clock) */
};

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
		if (after > 0 && (e->r.state == SOCK_TIME_WAIT || !sock_state_lingering(e->r.state) ||
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
		struct store_rollup r = { b->res, b->t, st, 0, NULL, a->min, a->max, a->last,
					  a->sum, a->n };

		err = store_rollup_put(s->store, &r);
		if (err < 0)
			return err;
	}
	for (int k = 1; k < GROUP_KIND_MAX; k++) {
		for (size_t g = 0; g < b->ngroups[k]; g++) {
			for (int st = 1; st < SOCK_STATE_MAX; st++) {
				const struct hist_acc *a = &b->groups[k][g].acc[st];
				struct store_rollup r = { b->res, b->t, st, k, b->groups[k][g].key,
							  a->min, a->max, a->last, a->sum, a->n };

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

static const struct snap_change_ops change_ops = {
	.appeared = on_appeared,
	.changed = on_changed,
	.vanished = on_vanished,
};

/* Writes one snapshot's changes in one transaction.  Returns 0 or -errno. */
static int record(struct sampler *s, struct snap *snap, uint64_t *rows)
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
		return -ENODEV; /* db_reopen() failed: s->db_msg says why */
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
		if (err < 0)
			goto fail;
	}
	for (size_t i = 0; i < s->changed.n; i++) {
		struct snap_sock *e = s->changed.v[i];

		if (!e->row_id)
			continue;
		err = store_sock_state(s->store, e->row_id, e->r.state,
				       snap_wall(snap, e->state_since));
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
static int lock_db(struct sampler *s, const char *path)
{
	struct stat sb;

	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0 || fstat(s->lock_fd, &sb) < 0)
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
static int db_file_gone(const struct sampler *s)
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
static void db_event(struct sampler *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
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
static int quarantine(struct sampler *s, const char *why)
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
static void db_set_busy(struct sampler *s)
{
	/*
	 * A write that waits for another connection's lock must not hold up the next snapshot:
	 * wait at most a quarter of the interval; a failed write loses nothing, since the next
	 * diff is against what the database holds.  Start-up could wait longer.
	 */
	store_set_busy_timeout(s->store, (int)(s->cfg.interval_s * 250 < LD_DB_BUSY_MAX_MS ?
						   s->cfg.interval_s * 250 : LD_DB_BUSY_MAX_MS));
}

/* Why the database is opened again while running. */
enum db_reopen_why {
	DB_CORRUPT, /* SQLite reported corruption: the file and its WAL are moved aside */
	DB_GONE,    /* the file was deleted or replaced: its WAL and -shm are stale */
	DB_RETRY,   /* the last reopen failed: try again, touching nothing */
};

/*
 * Starts over with a new database at the same path, while running.  The WAL and -shm of a
 * file that is gone are still at the path and would be replayed into the new file: they
 * are removed, but only once the path is locked by this process again (another lingerd
 * that took the path in the meantime keeps its files).  The sockets alive now keep their
 * ages; their rows are written again into the new file with the next snapshot, and the
 * rollups start from what it holds.  Returns 0 or -errno, with s->db_msg set; without a
 * database every later snapshot tries again (DB_RETRY).
 */
static int db_reopen(struct sampler *s, enum db_reopen_why why)
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
	if (why == DB_CORRUPT && quarantine(s, msg) < 0) {
		snprintf(s->db_msg, sizeof(s->db_msg), "cannot move the corrupt file aside");
		return -EIO;
	}
	err = lock_db(s, path);
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
		err = quarantine(s, msg);
		if (err == 0)
			err = lock_db(s, path);
		if (err == 0)
			err = store_open_diag(&s->store, path, s->db_msg, sizeof(s->db_msg));
	}
	if (err < 0)
		return err;
	db_set_busy(s);
	if (why == DB_GONE)
		db_event(s, "%s was deleted or replaced while lingerd ran; started a new database there",
			 path);
	return 0;
}

/*
 * Deletes what is past its retention in short batches, so that a snapshot is never held up
 * for long; whatever is left is taken on the next pass.
 */
static int retention(struct sampler *s, double wall, double boot)
{
	/*
	 * Cut-offs follow the boot clock from the first snapshot: a wall clock stepped forward
	 * by days must not delete days of history (one stepped back only deletes less).
	 */
	double now = wall < s->wall_base + (boot - s->boot_base) ?
			     wall : s->wall_base + (boot - s->boot_base);
	double t0 = clock_mono();
	int64_t deleted = 0, total = 0, bytes = 0;
	struct feed_status *st;
	int err;

	s->last_retention = boot;
	do {
		err = store_retention(s->store, now - s->cfg.raw_retention_s, now - s->cfg.retention_s,
				      now - s->cfg.retention_s, LD_RETENTION_BATCH, &deleted);
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

/*
 * A namespace not dumped this time keeps the sockets it had in the last snapshot: one whose
 * dump failed (dropping them would end their lifetimes and reset their ages as if they had all
 * closed), and one that was not due (netns_dump() staggers quiet namespaces).  Marks in
 * carried[] (by position in s->netns) 1 for not due, 2 for failed (stale).  The carried
 * namespaces are looked up in a sorted list: the cost grows with the previous snapshot's
 * length times log of their number.  Returns 0 or -ENOMEM.
 */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int keep_carried_netns(struct sampler *s, uint8_t *carried)
{
	const struct snap *prev = s->current;
	uint64_t *ids;
	size_t ncarried = 0;

	for (size_t i = 0; i < s->netns.n; i++) {
		const struct netns *ns = &s->netns.v[i];

		carried[i] = !ns->diag || (ns->dumped && !ns->error) ? 0 : ns->error ? 2 : 1;
		ncarried += carried[i] != 0;
	}
	if (!ncarried || !prev)
		return 0;
	ids = malloc(ncarried * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0, k = 0; i < s->netns.n; i++)
		if (carried[i])
			ids[k++] = s->netns.v[i].id;
	qsort(ids, ncarried, sizeof(*ids), cmp_u64);
	for (size_t k = 0; k < prev->n; k++) {
		const struct sock_rec *r = &prev->socks[k].r;

		if (!r->netns || !bsearch(&r->netns, ids, ncarried, sizeof(*ids), cmp_u64))
			continue;
		if (sock_vec_push(&s->recs, r) < 0) {
			free(ids);
			return -ENOMEM;
		}
	}
	free(ids);
	return 0;
}

/* The error of namespace id in snapshot prev, 0 when it was fine or not there. */
static int prev_netns_error(const struct snap *prev, uint64_t id)
{
	for (size_t i = 0; prev && i < prev->n_netns; i++)
		if (prev->netns[i].id == id)
			return prev->netns[i].error;
	return prev ? 0 : INT_MIN;
}

/*
 * Logs the namespaces that failed since the last snapshot, once per failure (one line, the
 * first one named), and fills the status's summary of them.
 */
static void report_netns(struct sampler *s, const struct snap *snap, struct feed_status *st)
{
	size_t fresh = 0, failed = 0;
	const struct snap_netns *first = NULL, *first_fresh = NULL;

	for (size_t i = 0; i < snap->n_netns; i++) {
		const struct snap_netns *ns = &snap->netns[i];

		if (!ns->error)
			continue;
		if (!failed++)
			first = ns;
		if (prev_netns_error(s->current, ns->id) != ns->error && !fresh++)
			first_fresh = ns;
	}
	st->netns_failed = (uint32_t)failed;
	st->netns_error[0] = '\0';
	if (first)
		snprintf(st->netns_error, sizeof(st->netns_error), "%s: %s%s", first->name,
			 util_strerror(-first->error),
			 first->error == -EPERM ? " (--netns all needs CAP_SYS_ADMIN)" :
			 first->stale ? " (its last known sockets are kept)" : "");
	if (first_fresh)
		log_err(first_fresh->error, "cannot read %zu network namespace%s, among them %s%s",
			fresh, fresh == 1 ? "" : "s", first_fresh->name,
			first_fresh->error == -EPERM ? " (--netns all needs CAP_SYS_ADMIN)" :
			first_fresh->stale ? "; keeping its last known sockets" : "");
	if (!s->cfg.netns_all)
		return;
	/*
	 * Slow: the last round took longer than the interval (the sampler falls behind), or a full
	 * round, every namespace's last dump added up, would (only the stagger keeps up).  Logged
	 * when it turns slow, said in the status while it stays so.
	 */
	{
		const struct netns_round *r = &s->netns.round;
		double limit = s->cfg.interval_s * 1e3;
		int over = r->ms > limit, slow = over || r->full_ms > limit;
		int was = st->netns_slow[0] != '\0';

		st->netns_all = 1;
		st->netns_followed = (uint32_t)s->netns.n;
		st->netns_dumped = (uint32_t)r->dumped;
		st->netns_shared = (uint32_t)r->shared;
		st->netns_round_ms = r->ms;
		st->netns_full_ms = r->full_ms;
		st->netns_dumps += r->dumped;
		st->netns_slow[0] = '\0';
		st->netns_rounds_slow += over;
		if (!slow)
			return;
		if (over)
			snprintf(st->netns_slow, sizeof(st->netns_slow),
				 "the last round (%zu of %zu namespaces dumped) took %.0f ms, over the "
				 "%g s interval; slowest %.40s (%.0f ms)", r->dumped, s->netns.n, r->ms,
				 s->cfg.interval_s, r->slowest ? r->slowest : "-", r->slowest_ms);
		else
			snprintf(st->netns_slow, sizeof(st->netns_slow),
				 "a full round of %zu namespaces takes %.0f ms, over the %g s interval: "
				 "quiet ones are dumped less often; slowest %.40s (%.0f ms)", s->netns.n,
				 r->full_ms, s->cfg.interval_s, r->slowest ? r->slowest : "-",
				 r->slowest_ms);
		if (!was)
			log_info("the round of network namespaces is slow: %s", st->netns_slow);
	}
}

struct resume {
	struct snap *snap;
	size_t n;
	double wall_minus_boot;            /* converts the database's unix times */
	double starts[LD_RUN_STARTS_KEPT]; /* first snapshots of the runs this one continues */
	size_t n_starts;
};

/* Non-zero when unix time t is the first snapshot of one of the runs resumed. */
static int run_start(const struct resume *r, double t)
{
	for (size_t i = 0; i < r->n_starts; i++)
		if (t > r->starts[i] - 0.002 && t < r->starts[i] + 0.002)
			return 1;
	return 0;
}

/* Parses the meta value "run_starts" (unix times, comma-separated) into out. */
static size_t parse_starts(const char *v, double *out, size_t max)
{
	size_t n = 0;

	while (*v && n < max) {
		char *end;
		double t = strtod(v, &end);

		if (end == v)
			break;
		out[n++] = t;
		v = *end == ',' ? end + 1 : end;
	}
	return n;
}

/*
 * Appends this run's first snapshot to "run_starts", so that after a restart the sockets
 * first seen then are still known to be older than they look.  The oldest fall off.
 */
static void note_run_start(struct sampler *s, const struct snap *snap)
{
	char old[LD_RUN_STARTS_KEPT * 24] = "", buf[sizeof(old) + 32];
	double t[LD_RUN_STARTS_KEPT];
	size_t n, from, len = 0;

	store_meta_get(s->store, "run_starts", old, sizeof(old));
	n = parse_starts(old, t, LD_RUN_STARTS_KEPT);
	from = n + 1 > LD_RUN_STARTS_KEPT ? n + 1 - LD_RUN_STARTS_KEPT : 0;
	buf[0] = '\0';
	for (size_t i = from; i < n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%.3f,", t[i]);
	snprintf(buf + len, sizeof(buf) - len, "%.3f", snap->taken_at);
	if (store_meta_set(s->store, "run_starts", buf) < 0)
		log_info("cannot record this run's start (%s): ages of sockets seen now may not be "
			 "marked as lower bounds after a restart", store_errmsg(s->store));
}

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
			err = carried ? keep_carried_netns(s, carried) : -ENOMEM;
		}
		if (err < 0) {
			free(carried);
			feed_lock(s->feed)->capture_errors++;
			feed_unlock(s->feed);
			return err;
		}
	}
	s->appeared.n = s->changed.n = s->n_vanished = 0;
	err = snap_build(&snap, &s->recs, s->committed, boot, &change_ops, s);
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
	report_netns(s, snap, st);
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
		db_reopen(s, DB_RETRY);
	else if (db_file_gone(s))
		db_reopen(s, DB_GONE);
	db_err = record(s, snap, &rows);
	if (snap->seq == 1 && s->store)
		note_run_start(s, snap);
	if (db_err == 0) {
		/* The next diff is against what the database holds. */
		snap_put(s->committed);
		s->committed = snap_get(snap);
	}
	if (s->store && db_err != -EUCLEAN && boot - s->last_retention >= LD_RETENTION_EVERY_S &&
	    retention(s, now, boot) == -EUCLEAN)
		db_err = -EUCLEAN;
	if (db_err == -EUCLEAN) {
		char msg[sizeof(s->db_msg)];

		/* Corruption: the file is moved aside and the next snapshot goes to a new one. */
		snprintf(msg, sizeof(msg), "%s", s->db_msg);
		db_reopen(s, DB_CORRUPT);
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

static int resume_one(void *arg, int64_t row_id, uint64_t netns, uint64_t key, int state,
		      double first_seen, double state_since)
{
	struct resume *r = arg;
	struct snap_sock *e;

	(void)netns;
	if (state <= 0 || state >= SOCK_STATE_MAX)
		return 0;
	if (r->n == r->snap->n) {
		size_t n = r->snap->n * 2;
		struct snap_sock *v = realloc(r->snap->socks, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->snap->socks = v;
		r->snap->n = n;
	}
	e = &r->snap->socks[r->n++];
	memset(e, 0, sizeof(*e));
	e->r.state = (uint8_t)state;
	e->key = key;
	e->row_id = row_id;
	e->first_seen = first_seen - r->wall_minus_boot;
	e->state_since = state_since - r->wall_minus_boot;
	e->lower_bound = (uint8_t)((run_start(r, first_seen) ? SNAP_LB_FIRST : 0) |
				   (state != SOCK_TIME_WAIT && run_start(r, state_since) ?
					    SNAP_LB_STATE : 0));
	return 0;
}

static int read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		err = -EIO;
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return err;
}

/*
 * Sockets alive at the last stop keep their first_seen and state_since if this is the same
 * boot and the same source (keys are cookies or inodes, valid only within one boot and one
 * source).  Otherwise they are closed out at the time of the last snapshot.
 */
static int resume(struct sampler *s)
{
	char boot[64] = "", old_boot[64] = "", old_source[16] = "";
	const char *source = capture_source_name(capture_source(s->capture));
	struct resume r = { 0 };
	double last = 0;
	int err;

	read_boot_id(boot, sizeof(boot));
	store_meta_get(s->store, "boot_id", old_boot, sizeof(old_boot));
	store_meta_get(s->store, "source", old_source, sizeof(old_source));
	if (!boot[0] || strcmp(boot, old_boot) != 0 || strcmp(source, old_source) != 0) {
		err = store_last_snapshot_at(s->store, &last);
		if (err < 0)
			return err;
		err = store_end_open_sockets(s->store, last ? last : clock_wall());
		if (err < 0)
			return err;
		err = store_meta_set(s->store, "boot_id", boot);
		if (err == 0)
			err = store_meta_set(s->store, "run_starts", "");
		if (err < 0)
			return err;
		return store_meta_set(s->store, "source", source);
	}
	{
		char v[LD_RUN_STARTS_KEPT * 24] = "";

		store_meta_get(s->store, "run_starts", v, sizeof(v));
		r.n_starts = parse_starts(v, r.starts, LD_RUN_STARTS_KEPT);
	}
	/*
	 * Same boot: the stored unix times become boot-clock times through today's offset
	 * (a wall-clock step while lingerd was stopped shifts them by that step).
	 */
	r.wall_minus_boot = clock_wall() - clock_boot();
	r.snap = snap_alloc(1024);
	if (!r.snap)
		return -ENOMEM;
	err = store_open_sockets(s->store, resume_one, &r);
	if (err < 0)
		goto out;
	r.snap->n = r.n;
	r.snap->resumed = 1;
	err = snap_reindex(r.snap);
	if (err < 0)
		goto out;
	s->committed = r.snap;
	r.snap = NULL;
	if (s->committed->n)
		log_info("resumed tracking of %zu sockets from the database", s->committed->n);
out:
	snap_put(r.snap);
	return err;
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
	err = lock_db(s, cfg->db_path);
	if (err < 0) {
		if (err == -EWOULDBLOCK)
			log_info("%s is in use by another lingerd; refusing to start a second writer",
				 cfg->db_path);
		else
			log_err(err, "cannot open database %s", cfg->db_path);
		goto fail;
	}
	for (int attempt = 0;; attempt++) {
		err = store_open_diag(&s->store, cfg->db_path, s->db_msg, sizeof(s->db_msg));
		if (err == 0) {
			db_set_busy(s);
			err = resume(s);
			if (err < 0)
				snprintf(s->db_msg, sizeof(s->db_msg), "%s", store_errmsg(s->store));
		}
		if (err != -EUCLEAN || attempt)
			break;
		/* Corrupt: keep the file for a post-mortem and start afresh, once. */
		store_close(s->store);
		s->store = NULL;
		err = quarantine(s, s->db_msg);
		if (err == 0)
			err = lock_db(s, cfg->db_path);
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
