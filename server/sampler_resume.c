/* sampler_resume.c - what carries over a restart: sockets alive at the stop, the runs' starts. */
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
void sampler_note_run_start(struct sampler *s, const struct snap *snap)
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
			 "marked as lower bounds after a restart",
			 store_errmsg(s->store));
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
				   (state != SOCK_TIME_WAIT && run_start(r, state_since)
					    ? SNAP_LB_STATE
					    : 0));
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
int sampler_resume(struct sampler *s)
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
