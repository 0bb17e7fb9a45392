/* store_transitions.c - v4: exact TCP state changes per snapshot and their rollups. */
#include <errno.h>
#include <math.h>

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
static const char sql_expire[] = "DELETE FROM transition_rollups WHERE (res, t, from_state, to_state) IN"
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
			sqlite3_bind_int64(roll, 2, (sqlite3_int64)floor(taken_at / res[r]) * res[r]);
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

int store_reader_transitions(struct store_reader *r, int res, const uint64_t pairs[4],
			     double from, double to, int64_t step, uint32_t max_points,
			     store_transition_cb cb, void *arg)
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
