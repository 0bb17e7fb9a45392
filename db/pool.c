/* pool.c - read-only connections kept for reuse, so a request does not open the database. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "pool.h"

struct pool {
	pthread_mutex_t lock;
	char *path;
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
	pthread_mutex_lock(&p->lock);
	if (p->n) {
		*r = p->idle[--p->n];
		pthread_mutex_unlock(&p->lock);
		return 0;
	}
	pthread_mutex_unlock(&p->lock);
	return store_reader_open(r, p->path);
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
