/* pool.c - read-only connections kept for reuse, so a request does not open the database. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "limits.h"
#include "pool.h"

struct pool {
	pthread_mutex_t lock;
	char *path;
	dev_t dev; /* the file the idle connections were opened on */
	ino_t ino;
	struct store_reader *idle[LD_POOL_READERS];
	int n;
};

int pool_open(struct pool **out, const char *path)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p || !(p->path = strdup(path))) {
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

void pool_close(struct pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++)
		store_reader_close(p->idle[i]);
	pthread_mutex_destroy(&p->lock);
	free(p->path);
	free(p);
}

int pool_get(struct pool *p, struct store_reader **r)
{
	struct store_reader *stale[LD_POOL_READERS];
	struct stat sb;
	int nstale = 0, have = stat(p->path, &sb) == 0;

	*r = NULL;
	pthread_mutex_lock(&p->lock);
	/*
	 * The writer replaces the file when it was corrupt or deleted: connections to the old
	 * one would answer from it for good.  One stat() per request notices.
	 */
	if (!have || sb.st_dev != p->dev || sb.st_ino != p->ino) {
		memcpy(stale, p->idle, (size_t)p->n * sizeof(*stale));
		nstale = p->n;
		p->n = 0;
		p->dev = have ? sb.st_dev : 0;
		p->ino = have ? sb.st_ino : 0;
	}
	if (p->n)
		*r = p->idle[--p->n];
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < nstale; i++)
		store_reader_close(stale[i]);
	return *r ? 0 : store_reader_open(r, p->path);
}

void pool_put(struct pool *p, struct store_reader *r, int broken)
{
	pthread_mutex_lock(&p->lock);
	if (!broken && p->n < LD_POOL_READERS) {
		p->idle[p->n++] = r;
		r = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	store_reader_close(r);
}
