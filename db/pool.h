/* pool.h - a small pool of read-only database connections shared by the HTTP threads. */
#ifndef LINGERD_POOL_H
#define LINGERD_POOL_H

#include "store.h"

struct pool;

/*
 * Creates an empty pool for the database at path (copied); connections are opened on
 * demand and at most LD_POOL_READERS idle ones are kept.  Returns 0 and *out or -ENOMEM.
 */
int pool_open(struct pool **out, const char *path);

/* Closes every idle connection and frees the pool.  NULL is fine. */
void pool_close(struct pool *p);

/*
 * Borrows an idle connection or opens a new one.  Idle connections to a file that is no
 * longer the one at path (the writer moved a corrupt file aside or met a deleted one) are
 * closed first.  Returns 0 and *r, or -errno.
 */
int pool_get(struct pool *p, struct store_reader **r);

/*
 * Returns a borrowed connection; a broken one (it failed with an I/O or corruption error)
 * is closed instead of kept.
 */
void pool_put(struct pool *p, struct store_reader *r, int broken);

#endif
