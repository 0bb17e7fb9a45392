/* store_transitions.c - v4: the tracer's exact state changes and teardown timelines, kept. */
#include <errno.h>
#include <math.h>
#include <stdio.h>

#include "store_impl.h"

/*
 * The statements here run once per snapshot (a few rows) or per trend request, so they are
 * prepared per call rather than kept open: the writer's and reader's statement tables stay
 * the other store files' own.
 */
static const char sql_put[] = "INSERT INTO transitions (snapshot, from_state, to_state, n)"
			      " VALUES (?1, ?2, ?3, ?4)";
/* A bucket fills over many snapshots: each adds its changes to the row. */
static const char sql_roll[] = "INSERT INTO transition_rollups (res, t, from_state, to_state, n)"
			       " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (res, t, from_state,"
			       " to_state) DO UPDATE SET n = n + excluded.n";
static const char sql_expire[] =
	"DELETE FROM transition_rollups WHERE (res, t, from_state, to_state) IN"
	" (SELECT res, t, from_state, to_state FROM transition_rollups"
	" WHERE t < ?1 LIMIT ?2)";
/* Bucketing in SQL: a few rows per snapshot at most, far fewer than the counts' trends. */
static const char sql_raw[] =
	"SELECT x.from_state, x.to_state, CAST(s.taken_at / ?1 AS INTEGER) * ?1 AS b, sum(x.n)"
	" FROM snapshots s JOIN transitions x ON x.snapshot = s.id"
	" WHERE s.taken_at >= ?2 AND s.taken_at <= ?3 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";
static const char sql_rollup[] =
	"SELECT from_state, to_state, (t / ?1) * ?1 AS b, sum(n) FROM transition_rollups"
	" WHERE res = ?4 AND t >= ?2 AND t <= ?3 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

int store_transitions_put(struct store *s, int64_t snapshot_id, double taken_at,
			  const struct store_transition *v, size_t n)
{
	static const int res[] = { STORE_RES_MINUTE, STORE_RES_HOUR };
	sqlite3_stmt *put = NULL, *roll = NULL;
	int err = 0;

	if (!s || snapshot_id <= 0 || !isfinite(taken_at) || (n && !v) || !store_in_snapshot(s))
		return -EINVAL;
	err = store_prepare(s->db, sql_put, &put);
	if (err == 0)
		err = store_prepare(s->db, sql_roll, &roll);
	for (size_t i = 0; err == 0 && i < n; i++) {
		if (!v[i].n)
			continue;
		if (v[i].from > 15 || v[i].to > 15 || v[i].n > INT64_MAX) {
			err = -EINVAL;
			break;
		}
		sqlite3_bind_int64(put, 1, snapshot_id);
		sqlite3_bind_int(put, 2, v[i].from);
		sqlite3_bind_int(put, 3, v[i].to);
		sqlite3_bind_int64(put, 4, (sqlite3_int64)v[i].n);
		err = store_stmt_exec(put);
		for (size_t r = 0; err == 0 && r < ARRAY_SIZE(res); r++) {
			sqlite3_bind_int(roll, 1, res[r]);
			sqlite3_bind_int64(roll, 2,
					   (sqlite3_int64)floor(taken_at / res[r]) * res[r]);
			sqlite3_bind_int(roll, 3, v[i].from);
			sqlite3_bind_int(roll, 4, v[i].to);
			sqlite3_bind_int64(roll, 5, (sqlite3_int64)v[i].n);
			err = store_stmt_exec(roll);
		}
	}
	sqlite3_finalize(put);
	sqlite3_finalize(roll);
	return err;
}

int store_transitions_expire(struct store *s, double rollup_before, int64_t max_rows,
			     int64_t *deleted)
{
	sqlite3_stmt *st = NULL;
	int err;

	if (max_rows <= 0)
		return 0;
	err = store_prepare(s->db, sql_expire, &st);
	if (err < 0)
		return err;
	/* A NaN time binds as NULL, which compares false: it deletes nothing. */
	sqlite3_bind_double(st, 1, rollup_before);
	sqlite3_bind_int64(st, 2, max_rows);
	err = store_stmt_exec(st);
	if (err == 0 && deleted)
		*deleted = sqlite3_changes64(s->db);
	sqlite3_finalize(st);
	return err;
}

int store_reader_transitions(struct store_reader *r, int res, const uint64_t pairs[4], double from,
			     double to, int64_t step, uint32_t max_points, store_transition_cb cb,
			     void *arg)
{
	sqlite3_stmt *st = NULL;
	uint32_t points = 0;
	int rc, err;

	if (!r || !cb || step <= 0 || step < res ||
	    (res != STORE_RES_RAW && res != STORE_RES_MINUTE && res != STORE_RES_HOUR))
		return -EINVAL;
	err = store_prepare(r->db, res == STORE_RES_RAW ? sql_raw : sql_rollup, &st);
	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, step);
	sqlite3_bind_double(st, 2, from);
	sqlite3_bind_double(st, 3, to);
	if (res != STORE_RES_RAW)
		sqlite3_bind_int(st, 4, res);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int a = sqlite3_column_int(st, 0), b = sqlite3_column_int(st, 1);
		unsigned bit = (unsigned)(a * 16 + b);

		if (a < 0 || a > 15 || b < 0 || b > 15)
			continue; /* not ours: the writer refuses such rows */
		if (pairs && !(pairs[bit / 64] >> (bit % 64) & 1))
			continue;
		if (++points > max_points) {
			err = -E2BIG;
			break;
		}
		err = cb(arg, a, b, sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_err(rc);
	sqlite3_finalize(st);
	return err;
}

/* ---- teardown timelines kept with the sockets' lifetime rows ---- */

static const char sql_tl_put[] = "INSERT OR REPLACE INTO timelines (cookie, sock, netns, pid, tid,"
				 " comm, cgroup, how, reset_sent) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
				 " ?7, ?8, ?9)";
static const char sql_tl_clear[] = "DELETE FROM timeline_steps WHERE cookie = ?1";
static const char sql_tl_step[] = "INSERT INTO timeline_steps (cookie, i, at, from_state,"
				  " to_state, pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_tl_get[] =
	"SELECT t.netns, t.pid, t.tid, t.comm, t.cgroup, t.how,"
	" t.reset_sent, s.state, s.state_since, s.last_seen"
	" FROM timelines t JOIN sockets s ON s.id = t.sock WHERE t.cookie = ?1";
static const char sql_tl_steps[] = "SELECT at, from_state, to_state, pid FROM timeline_steps"
				   " WHERE cookie = ?1 ORDER BY i";

int store_timeline_put(struct store *s, int64_t sock_row, const struct store_timeline *t)
{
	sqlite3_stmt *put = NULL, *clear = NULL, *step = NULL;
	int err;

	if (!s || sock_row <= 0 || !t || !t->cookie || t->nsteps < 0 ||
	    t->nsteps > STORE_TIMELINE_STEPS || !store_in_snapshot(s))
		return -EINVAL;
	err = store_prepare(s->db, sql_tl_put, &put);
	if (err == 0)
		err = store_prepare(s->db, sql_tl_clear, &clear);
	if (err == 0)
		err = store_prepare(s->db, sql_tl_step, &step);
	if (err == 0) {
		/* The steps go first: REPLACE need not run the foreign key's cascade. */
		sqlite3_bind_int64(clear, 1, u64_bits(t->cookie));
		err = store_stmt_exec(clear);
	}
	if (err == 0) {
		sqlite3_bind_int64(put, 1, u64_bits(t->cookie));
		sqlite3_bind_int64(put, 2, sock_row);
		sqlite3_bind_int64(put, 3, t->netns);
		sqlite3_bind_int(put, 4, t->pid);
		sqlite3_bind_int(put, 5, t->tid);
		sqlite3_bind_text(put, 6, t->comm, (int)strnlen(t->comm, sizeof(t->comm)),
				  SQLITE_STATIC);
		sqlite3_bind_int64(put, 7, u64_bits(t->cgroup));
		sqlite3_bind_int(put, 8, t->how);
		sqlite3_bind_int(put, 9, t->reset_sent ? 1 : 0);
		err = store_stmt_exec(put);
	}
	for (int i = 0; err == 0 && i < t->nsteps; i++) {
		sqlite3_bind_int64(step, 1, u64_bits(t->cookie));
		sqlite3_bind_int(step, 2, i);
		sqlite3_bind_double(step, 3, t->steps[i].at);
		sqlite3_bind_int(step, 4, t->steps[i].from);
		sqlite3_bind_int(step, 5, t->steps[i].to);
		sqlite3_bind_int(step, 6, t->steps[i].pid);
		err = store_stmt_exec(step);
	}
	sqlite3_finalize(put);
	sqlite3_finalize(clear);
	sqlite3_finalize(step);
	return err;
}

int store_reader_timeline(struct store_reader *r, uint64_t cookie, struct store_timeline *out)
{
	sqlite3_stmt *st = NULL;
	int rc, err;

	if (!r || !out || !cookie)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	err = store_prepare(r->db, sql_tl_get, &st);
	if (err < 0)
		return err;
	sqlite3_bind_int64(st, 1, u64_bits(cookie));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *comm = sqlite3_column_text(st, 3);

		out->cookie = cookie;
		out->netns = (uint32_t)sqlite3_column_int64(st, 0);
		out->pid = sqlite3_column_int(st, 1);
		out->tid = sqlite3_column_int(st, 2);
		if (comm)
			snprintf(out->comm, sizeof(out->comm), "%s", (const char *)comm);
		out->cgroup = bits_u64(sqlite3_column_int64(st, 4));
		out->how = sqlite3_column_int(st, 5);
		out->reset_sent = sqlite3_column_int(st, 6);
		out->state = sqlite3_column_int(st, 7);
		out->state_since = sqlite3_column_double(st, 8);
		out->last_seen = sqlite3_column_double(st, 9); /* NULL reads as 0 */
	} else {
		err = rc == SQLITE_DONE ? -ENOENT : store_err(rc);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (err == 0)
		err = store_prepare(r->db, sql_tl_steps, &st);
	if (err == 0) {
		sqlite3_bind_int64(st, 1, u64_bits(cookie));
		while ((rc = sqlite3_step(st)) == SQLITE_ROW &&
		       out->nsteps < STORE_TIMELINE_STEPS) {
			int i = out->nsteps++;

			out->steps[i].at = sqlite3_column_double(st, 0);
			out->steps[i].from = (uint8_t)sqlite3_column_int(st, 1);
			out->steps[i].to = (uint8_t)sqlite3_column_int(st, 2);
			out->steps[i].pid = sqlite3_column_int(st, 3);
		}
		if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			err = store_err(rc);
	}
	sqlite3_finalize(st);
	return err;
}
