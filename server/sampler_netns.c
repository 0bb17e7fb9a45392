/* sampler_netns.c - the other namespaces of a snapshot: carried sockets and their failures. */
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

int sampler_keep_carried_netns(struct sampler *s, uint8_t *carried)
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
void sampler_report_netns(struct sampler *s, const struct snap *snap, struct feed_status *st)
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
			 first->error == -EPERM ? " (--netns all needs CAP_SYS_ADMIN)"
			 : first->stale         ? " (its last known sockets are kept)"
						: "");
	if (first_fresh)
		log_err(first_fresh->error, "cannot read %zu network namespace%s, among them %s%s",
			fresh, fresh == 1 ? "" : "s", first_fresh->name,
			first_fresh->error == -EPERM ? " (--netns all needs CAP_SYS_ADMIN)"
			: first_fresh->stale         ? "; keeping its last known sockets"
						     : "");
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
			snprintf(
				st->netns_slow, sizeof(st->netns_slow),
				"the last round (%zu of %zu namespaces dumped) took %.0f ms, over the "
				"%g s interval; slowest %.40s (%.0f ms)",
				r->dumped, s->netns.n, r->ms, s->cfg.interval_s,
				r->slowest ? r->slowest : "-", r->slowest_ms);
		else
			snprintf(
				st->netns_slow, sizeof(st->netns_slow),
				"a full round of %zu namespaces takes %.0f ms, over the %g s interval: "
				"quiet ones are dumped less often; slowest %.40s (%.0f ms)",
				s->netns.n, r->full_ms, s->cfg.interval_s,
				r->slowest ? r->slowest : "-", r->slowest_ms);
		if (!was)
			log_info("the round of network namespaces is slow: %s", st->netns_slow);
	}
}
