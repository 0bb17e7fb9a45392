/* store_write.c - the writer: snapshot transactions, socket lifetimes, meta, rollup writes. */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "util.h"

/*
 * The writer's SQL, enum store_stmt order.  Retention's bounded DELETEs (store_retention.c)
 * are here too: every statement of the writer is prepared once, at open.
 */
static const char *const stmt_sql[ST_COUNT] = {
	/* IMMEDIATE: take the write lock now, so a busy database fails here, not mid-snapshot. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SNAP_INSERT] =
		"INSERT INTO snapshots (taken_at, duration_ms, source, partial, total, " STATE_COLS
		", " KSTAT_COLS ")"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
		" ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28,"
		" ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38)",
	[ST_SOCK_INSERT] = "INSERT INTO sockets (netns, key, family, state, laddr, lport, raddr,"
			   " rport, inode, uid, first_seen, state_since)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_SOCK_STATE] = "UPDATE sockets SET state = ?2, state_since = ?3 WHERE id = ?1",
	[ST_SOCK_END] = "UPDATE sockets SET last_seen = ?2 WHERE id = ?1",
	[ST_OPEN_WALK] = "SELECT id, netns, key, state, first_seen, state_since FROM sockets"
			 " WHERE last_seen IS NULL",
	[ST_OPEN_END] = "UPDATE sockets SET last_seen = ?1 WHERE last_seen IS NULL",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
			" ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	[ST_LAST_AT] = "SELECT max(taken_at) FROM snapshots",
	/*
	 * REPLACE: the sampler rewrites the bucket that is filling at every snapshot, having
	 * merged what was stored into it first (store_rollup_walk()).
	 */
	[ST_ROLLUP_PUT] = "INSERT OR REPLACE INTO rollups (res, t, state, min, max, sum, n, last)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_GROUP_PUT] = "INSERT OR REPLACE INTO group_rollups"
			 " (res, kind, t, state, grp, min, max, sum, n, last)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	/* One bucket's stored rows, for the sampler to merge with after a restart. */
	[ST_ROLLUP_GET] = "SELECT state, min, max, sum, n, last FROM rollups"
			  " WHERE res = ?1 AND t = ?2",
	/* kind IN (...): three ranges of the primary key (res, kind, t, ...), not a scan. */
	[ST_GROUP_GET] = "SELECT kind, grp, state, min, max, sum, n, last FROM group_rollups"
			 " WHERE res = ?1 AND kind IN (1, 2, 3) AND t = ?2",
	[ST_NETNS_PUT] =
		"INSERT OR REPLACE INTO netns_snapshots (name, taken_at, snapshot, " STATE_COLS
		") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
		" ?13, ?14)",
	/*
	 * Retention, oldest first and at most ?N rows a statement (Debian's SQLite has DELETE
	 * ... LIMIT, but that is a compile option we should not depend on).  Each inner SELECT
	 * is a range of an index; the outer DELETE finds each row by its key.
	 */
	[ST_RET_SNAPS] = "DELETE FROM snapshots WHERE id IN (SELECT id FROM snapshots"
			 " WHERE taken_at < ?1 ORDER BY taken_at LIMIT ?2)",
	[ST_RET_ROLLUPS] = "DELETE FROM rollups WHERE (res, t, state) IN (SELECT res, t, state"
			   " FROM rollups WHERE res = ?1 AND t < ?2 ORDER BY t LIMIT ?3)",
	[ST_RET_GROUPS] = "DELETE FROM group_rollups WHERE (res, kind, t, state, grp) IN"
			  " (SELECT res, kind, t, state, grp FROM group_rollups"
			  " WHERE res = ?1 AND kind = ?2 AND t < ?3 ORDER BY t LIMIT ?4)",
	[ST_RET_NETNS] = "DELETE FROM netns_snapshots WHERE (name, taken_at, snapshot) IN"
			 " (SELECT name, taken_at, snapshot FROM netns_snapshots"
			 " WHERE taken_at < ?1 ORDER BY taken_at LIMIT ?2)",
	/* last_seen IS NOT NULL spelled out so the partial index sockets_last_seen applies. */
	[ST_RET_SOCKS] = "DELETE FROM sockets WHERE id IN (SELECT id FROM sockets"
			 " WHERE last_seen IS NOT NULL AND last_seen < ?1"
			 " ORDER BY last_seen LIMIT ?2)",
};

void store_set_busy_timeout(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms);
}

int store_open(struct store **out, const char *path)
{
	return store_open_diag(out, path, NULL, 0);
}

int store_open_diag(struct store **out, const char *path, char *msg, size_t len)
{
	struct store *s;
	int rc, err;

	*out = NULL;
	if (msg && len)
		msg[0] = '\0';
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* SQLite's default (serialised) mutexes: the contract does not tie the writer to a thread. */
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		err = s->db ? store_err(rc) : -ENOMEM;
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_WRITER_BUSY_MS);
	err = store_schema_setup(s->db, msg, len);
	if (err < 0)
		goto out;
	for (int i = 0; i < ST_COUNT; i++) {
		err = store_prepare(s->db, stmt_sql[i], &s->st[i]);
		if (err < 0)
			goto out;
	}
	*out = s;
	s = NULL;
out:
	if (s) {
		int sys = s->db ? sqlite3_system_errno(s->db) : 0;

		/* A system call's failure under SQLite's "I/O error" is told as what it was. */
		if (err == -EIO && sys > 0 && sys != EUCLEAN)
			err = -sys;
		/* SQLite's words, and the system's when a system call failed under it. */
		if (msg && len && s->db && !msg[0])
			snprintf(msg, len, "%s%s%s", sqlite3_errmsg(s->db), sys ? ": " : "",
				 sys ? util_strerror(sys) : "");
		for (int i = 0; i < ST_COUNT; i++)
			sqlite3_finalize(s->st[i]);
		sqlite3_close(s->db);
		free(s);
	}
	return err;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	store_rollback(s);
	/* Leaves an empty WAL behind, so the next start (or a copy of the file) is clean. */
	sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

const char *store_errmsg(struct store *s)
{
	if (!s || !s->db)
		return "no database";
	return sqlite3_errmsg(s->db);
}

int store_in_snapshot(struct store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

/*
 * Binds the kernel columns from parameter first on: a value the kernel did not offer (or
 * no reading at all) is NULL, never 0, so a rate is never computed across a missing value.
 * Counters are u64 and keep their bits like keys do.
 */
static void bind_kstat(sqlite3_stmt *st, int first, const struct kstat *k)
{
	for (int i = 0; i < KSTAT_COUNTER_MAX; i++) {
		if (k && k->have_counter[i])
			sqlite3_bind_int64(st, first + i, u64_bits(k->counter[i]));
		else
			sqlite3_bind_null(st, first + i);
	}
	first += KSTAT_COUNTER_MAX;
	for (int i = 0; i < KSTAT_GAUGE_MAX; i++) {
		if (k && k->have_gauge[i])
			sqlite3_bind_int64(st, first + i, k->gauge[i]);
		else
			sqlite3_bind_null(st, first + i);
	}
}

int store_begin(struct store *s, const struct store_snapshot *snap, int64_t *snapshot_id)
{
	sqlite3_stmt *st = s->st[ST_SNAP_INSERT];
	int err;

	if (!snap || !snap->source)
		return -EINVAL;
	if (store_in_snapshot(s))
		return -EINVAL; /* the last snapshot was neither committed nor rolled back */
	err = store_stmt_exec(s->st[ST_BEGIN]);
	if (err < 0)
		return err;
	/* Every parameter is bound before each step, so SQLITE_STATIC never reads stale memory. */
	sqlite3_bind_double(st, 1, snap->taken_at);
	sqlite3_bind_double(st, 2, snap->duration_ms);
	sqlite3_bind_text(st, 3, snap->source, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, snap->partial ? 1 : 0);
	sqlite3_bind_int64(st, 5, snap->total);
	for (int i = 1; i < SOCK_STATE_MAX; i++)
		sqlite3_bind_int64(st, 5 + i, snap->counts[i]);
	bind_kstat(st, 5 + SOCK_STATE_MAX, snap->kstat);
	err = store_stmt_exec(st);
	if (err < 0)
		goto out;
	if (snapshot_id)
		*snapshot_id = sqlite3_last_insert_rowid(s->db);
out:
	/* A failed begin leaves no transaction behind, whether or not the caller rolls back. */
	if (err < 0)
		store_rollback(s);
	return err;
}

int store_sock_insert(struct store *s, const struct store_sock *ss, int64_t *row_id)
{
	sqlite3_stmt *st = s->st[ST_SOCK_INSERT];
	const struct sock_rec *r;
	int addr_len, err;

	if (!ss || !ss->rec || !store_in_snapshot(s))
		return -EINVAL;
	r = ss->rec;
	if (r->family == AF_INET)
		addr_len = 4;
	else if (r->family == AF_INET6)
		addr_len = 16;
	else
		return -EINVAL;
	sqlite3_bind_int64(st, 1, u64_bits(ss->netns));
	sqlite3_bind_int64(st, 2, u64_bits(ss->key));
	sqlite3_bind_int(st, 3, r->family);
	sqlite3_bind_int(st, 4, r->state);
	sqlite3_bind_blob(st, 5, r->laddr, addr_len, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, r->lport);
	sqlite3_bind_blob(st, 7, r->raddr, addr_len, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, r->rport);
	sqlite3_bind_int64(st, 9, u64_bits(r->inode));
	sqlite3_bind_int64(st, 10, r->uid);
	sqlite3_bind_double(st, 11, ss->first_seen);
	sqlite3_bind_double(st, 12, ss->state_since);
	err = store_stmt_exec(st);
	if (err == 0 && row_id)
		*row_id = sqlite3_last_insert_rowid(s->db);
	return err;
}

/* Runs an UPDATE of one socket row; -ENOENT when the row does not exist. */
static int update_row(struct store *s, sqlite3_stmt *st)
{
	int err = store_stmt_exec(st);

	if (err == 0 && sqlite3_changes(s->db) == 0)
		err = -ENOENT;
	return err;
}

int store_sock_state(struct store *s, int64_t row_id, int state, double since)
{
	sqlite3_stmt *st = s->st[ST_SOCK_STATE];

	if (state <= 0 || state >= SOCK_STATE_MAX || !store_in_snapshot(s))
		return -EINVAL;
	sqlite3_bind_int64(st, 1, row_id);
	sqlite3_bind_int(st, 2, state);
	sqlite3_bind_double(st, 3, since);
	return update_row(s, st);
}

int store_sock_end(struct store *s, int64_t row_id, double last_seen)
{
	sqlite3_stmt *st = s->st[ST_SOCK_END];

	if (!store_in_snapshot(s))
		return -EINVAL;
	sqlite3_bind_int64(st, 1, row_id);
	sqlite3_bind_double(st, 2, last_seen);
	return update_row(s, st);
}

int store_commit(struct store *s)
{
	if (!store_in_snapshot(s))
		return -EINVAL;
	/* On failure the transaction stays open (or SQLite already undid it): caller rolls back. */
	return store_stmt_exec(s->st[ST_COMMIT]);
}

void store_rollback(struct store *s)
{
	/* SQLite rolls back by itself after some errors (SQLITE_FULL, IOERR): nothing to do then. */
	if (!s || sqlite3_get_autocommit(s->db))
		return;
	store_stmt_exec(s->st[ST_ROLLBACK]);
}

/*
 * The callback runs while the SELECT is open, so it must not write through s (an UPDATE of
 * last_seen would move rows in the very index being walked).
 */
int store_open_sockets(struct store *s, store_open_cb cb, void *arg)
{
	sqlite3_stmt *st = s->st[ST_OPEN_WALK];
	int rc, err = 0;

	if (!cb)
		return -EINVAL;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = cb(arg, sqlite3_column_int64(st, 0), bits_u64(sqlite3_column_int64(st, 1)),
			 bits_u64(sqlite3_column_int64(st, 2)), sqlite3_column_int(st, 3),
			 sqlite3_column_double(st, 4), sqlite3_column_double(st, 5));
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_err(rc);
	sqlite3_reset(st);
	return err;
}

int store_end_open_sockets(struct store *s, double last_seen)
{
	sqlite3_stmt *st = s->st[ST_OPEN_END];

	/* Inside a snapshot it joins that transaction; outside it is one statement, one commit. */
	sqlite3_bind_double(st, 1, last_seen);
	return store_stmt_exec(st);
}

int store_meta_get(struct store *s, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *st = s->st[ST_META_GET];
	const unsigned char *value;
	size_t n;
	int rc, err;

	if (!key || !buf || len == 0)
		return -EINVAL;
	/* Callers may ignore the result and use buf: it is always a string. */
	buf[0] = '\0';
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		err = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		err = store_err(rc);
		goto out;
	}
	value = sqlite3_column_text(st, 0);
	n = (size_t)sqlite3_column_bytes(st, 0);
	if (!value) {
		/* A NULL value, or no memory to convert it to text. */
		err = sqlite3_errcode(s->db) == SQLITE_NOMEM ? -ENOMEM : 0;
		goto out;
	}
	if (n >= len) {
		err = -ERANGE; /* a truncated boot id would compare as a different boot */
		goto out;
	}
	memcpy(buf, value, n + 1);
	err = 0;
out:
	sqlite3_reset(st);
	return err;
}

int store_meta_set(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st = s->st[ST_META_SET];

	if (!key || !value)
		return -EINVAL;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	return store_stmt_exec(st);
}

int store_last_snapshot_at(struct store *s, double *taken_at)
{
	sqlite3_stmt *st = s->st[ST_LAST_AT];
	int rc, err = 0;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*taken_at = sqlite3_column_type(st, 0) == SQLITE_NULL
				    ? 0
				    : sqlite3_column_double(st, 0);
	else
		err = store_err(rc == SQLITE_DONE ? SQLITE_ERROR : rc);
	sqlite3_reset(st);
	return err;
}

/* ---- v2: rollups and the other namespaces' counts ---- */

int store_valid_res(int res)
{
	return res == STORE_RES_MINUTE || res == STORE_RES_HOUR;
}

int store_rollup_put(struct store *s, const struct store_rollup *r)
{
	sqlite3_stmt *st;
	int p = 1;

	/* n >= 1: a reader divides sum by n; t a multiple of res: buckets never overlap. */
	if (!r || !store_in_snapshot(s) || !store_valid_res(r->res) || r->t < 0 ||
	    r->t % r->res != 0 || r->state <= 0 || r->state >= SOCK_STATE_MAX || r->n < 1 ||
	    r->min > r->max || !isfinite(r->sum))
		return -EINVAL;
	if (r->kind == 0) {
		if (r->grp)
			return -EINVAL;
		st = s->st[ST_ROLLUP_PUT];
		sqlite3_bind_int(st, p++, r->res);
	} else if (r->kind == GROUP_LOCAL_PORT || r->kind == GROUP_PROCESS ||
		   r->kind == GROUP_NETNS) {
		if (!r->grp || strlen(r->grp) > STORE_GROUP_KEY_MAX)
			return -EINVAL;
		st = s->st[ST_GROUP_PUT];
		sqlite3_bind_int(st, p++, r->res);
		sqlite3_bind_int(st, p++, r->kind);
	} else {
		return -EINVAL;
	}
	sqlite3_bind_int64(st, p++, r->t);
	sqlite3_bind_int(st, p++, r->state);
	if (r->kind)
		sqlite3_bind_text(st, p++, r->grp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, p++, r->min);
	sqlite3_bind_int64(st, p++, r->max);
	sqlite3_bind_double(st, p++, r->sum);
	sqlite3_bind_int64(st, p++, r->n);
	sqlite3_bind_int64(st, p, r->last);
	return store_stmt_exec(st);
}

int store_netns_put(struct store *s, int64_t snapshot_id, double taken_at, const char *name,
		    const uint32_t counts[SOCK_STATE_MAX])
{
	sqlite3_stmt *st = s->st[ST_NETNS_PUT];

	if (!name || !name[0] || strlen(name) > STORE_GROUP_KEY_MAX || !counts ||
	    !isfinite(taken_at) || !store_in_snapshot(s))
		return -EINVAL;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, taken_at);
	sqlite3_bind_int64(st, 3, snapshot_id);
	for (int i = 1; i < SOCK_STATE_MAX; i++)
		sqlite3_bind_int64(st, 3 + i, counts[i]);
	return store_stmt_exec(st);
}

int store_rollup_walk(struct store *s, int res, int64_t t, store_rollup_cb cb, void *arg)
{
	sqlite3_stmt *st;
	int rc = SQLITE_DONE, err = 0;

	if (!cb || !store_valid_res(res))
		return -EINVAL;
	for (int pass = 0; pass < 2 && !err; pass++) {
		st = s->st[pass ? ST_GROUP_GET : ST_ROLLUP_GET];
		sqlite3_bind_int(st, 1, res);
		sqlite3_bind_int64(st, 2, t);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int c = pass ? 2 : 0;
			struct store_rollup r = {
				.res = res,
				.t = t,
				.kind = pass ? sqlite3_column_int(st, 0) : 0,
				.grp = pass ? (const char *)sqlite3_column_text(st, 1) : NULL,
				.state = sqlite3_column_int(st, c),
				.min = sqlite3_column_int64(st, c + 1),
				.max = sqlite3_column_int64(st, c + 2),
				.sum = sqlite3_column_double(st, c + 3),
				.n = sqlite3_column_int64(st, c + 4),
				.last = sqlite3_column_int64(st, c + 5),
			};

			if (pass && !r.grp)
				continue; /* a NULL key is not a row store_rollup_put() writes */
			err = cb(arg, &r);
			if (err)
				break;
		}
		if (!err && rc != SQLITE_DONE)
			err = store_err(rc);
		sqlite3_reset(st);
	}
	return err;
}
