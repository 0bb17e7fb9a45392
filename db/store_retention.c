/* store_retention.c - the store's upkeep: bounded retention (even on a full disk) and size. */
#include <errno.h>
#include <sys/stat.h>

#include "store_impl.h"

/* Steps one bounded DELETE (its LIMIT is the last parameter) and counts what went. */
static int retention_delete(struct store *s, sqlite3_stmt *st, int64_t *left, int64_t *done)
{
	sqlite3_int64 n;
	int err;

	if (*left <= 0)
		return 0;
	sqlite3_bind_int64(st, sqlite3_bind_parameter_count(st), *left);
	err = store_stmt_exec(st);
	if (err < 0)
		return err;
	n = sqlite3_changes64(s->db);
	*left -= n;
	*done += n;
	return 0;
}

/*
 * One retention transaction of at most max_rows deletions.  The small tables go first and
 * the sockets (by far the largest backlog under churn) take what is left, so a socket
 * backlog never keeps old snapshots or rollups alive.
 */
static int retention_run(struct store *s, double raw_before, double rollup_before,
			 double sockets_before, int64_t max_rows, int64_t *done)
{
	static const int res[] = { STORE_RES_MINUTE, STORE_RES_HOUR };
	static const int kinds[] = { GROUP_LOCAL_PORT, GROUP_PROCESS, GROUP_NETNS };
	int64_t left = max_rows;
	sqlite3_stmt *st;
	int err;

	*done = 0;
	err = store_stmt_exec(s->st[ST_BEGIN]);
	if (err < 0)
		return err;
	/* A NaN time binds as NULL, which compares false: it deletes nothing. */
	st = s->st[ST_RET_SNAPS];
	sqlite3_bind_double(st, 1, raw_before);
	err = retention_delete(s, st, &left, done);
	if (!err) {
		st = s->st[ST_RET_NETNS];
		sqlite3_bind_double(st, 1, raw_before);
		err = retention_delete(s, st, &left, done);
	}
	for (size_t i = 0; !err && i < ARRAY_SIZE(res); i++) {
		st = s->st[ST_RET_ROLLUPS];
		sqlite3_bind_int(st, 1, res[i]);
		sqlite3_bind_double(st, 2, rollup_before);
		err = retention_delete(s, st, &left, done);
		for (size_t k = 0; !err && k < ARRAY_SIZE(kinds); k++) {
			st = s->st[ST_RET_GROUPS];
			sqlite3_bind_int(st, 1, res[i]);
			sqlite3_bind_int(st, 2, kinds[k]);
			sqlite3_bind_double(st, 3, rollup_before);
			err = retention_delete(s, st, &left, done);
		}
	}
	if (!err && left > 0) {
		int64_t n = 0;

		err = store_transitions_expire(s, rollup_before, left, &n);
		left -= n;
		*done += n;
	}
	if (!err) {
		st = s->st[ST_RET_SOCKS];
		sqlite3_bind_double(st, 1, sockets_before);
		err = retention_delete(s, st, &left, done);
	}
	if (!err)
		err = store_stmt_exec(s->st[ST_COMMIT]);
	if (err < 0) {
		store_rollback(s);
		*done = 0;
	}
	return err;
}

int store_retention(struct store *s, double raw_before, double rollup_before, double sockets_before,
		    int max_rows, int64_t *deleted)
{
	int64_t done = 0;
	int err;

	if (deleted)
		*deleted = 0;
	if (max_rows <= 0 || store_in_snapshot(s))
		return -EINVAL;
	err = retention_run(s, raw_before, rollup_before, sockets_before, max_rows, &done);
	if (err == -ENOSPC) {
		/*
		 * A full disk fails even a DELETE in WAL mode: it appends pages to the WAL.
		 * What worked in the field: checkpoint the WAL and cut it to nothing (its
		 * frames move into pages the file already has), then delete a small batch
		 * in the room that freed.  Best effort: if this fails too, -ENOSPC stands.
		 */
		sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		err = retention_run(s, raw_before, rollup_before, sockets_before,
				    max_rows < STORE_RETENTION_FULL_BATCH
					    ? max_rows
					    : STORE_RETENTION_FULL_BATCH,
				    &done);
	}
	if (deleted)
		*deleted = done;
	return err;
}

int store_size(struct store *s, int64_t *bytes)
{
	sqlite3_filename name;
	struct stat st;
	int64_t total;

	if (!s || !bytes)
		return -EINVAL;
	name = sqlite3_db_filename(s->db, "main");
	if (!name || !*name)
		return -ENOENT; /* in memory or a temporary file: nothing on disk to measure */
	if (stat(name, &st) < 0)
		return -errno;
	total = st.st_size;
	/* No WAL file is a WAL of size 0 (the last close removed it). */
	if (stat(sqlite3_filename_wal(name), &st) == 0)
		total += st.st_size;
	else if (errno != ENOENT)
		return -errno;
	*bytes = total;
	return 0;
}
