/* test_metrics_findings.c - the findings on /metrics: counts, top-K, merged subjects, escaping. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "feed.h"
#include "history.h"
#include "limits.h"
#include "metrics.h"
#include "snap.h"

#define NOW 1750000000.0
#define AGE 120.0     /* older than the findings' default min_age */
#define N_APPS 30     /* more processes with a finding each than the series shown */
#define MAX_PROCS 40
#define MAX_SOCKS 128

struct held {
	int proc; /* index into procs */
	int count;
};

static struct snap_proc procs[MAX_PROCS];
static size_t n_procs;
static struct held held[MAX_PROCS];
static size_t n_held;

static void hold(int32_t pid, const char *comm, int count)
{
	struct snap_proc *p = &procs[n_procs];

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->uid = 1000;
	p->start = 1;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	p->cmdline = p->comm;
	held[n_held].proc = (int)n_procs++;
	held[n_held++].count = count;
}

/* Every held socket in CLOSE_WAIT, taken at `when`, its owners attached. */
static struct snap *build_at(const struct snap *prev, double when)
{
	struct sock_vec v = { 0 };
	struct snap *s = NULL;
	uint32_t idx[MAX_PROCS];
	uint64_t cookie = 0;

	for (size_t h = 0; h < n_held; h++) {
		for (int i = 0; i < held[h].count; i++) {
			struct sock_rec r;

			memset(&r, 0, sizeof(r));
			r.family = AF_INET;
			inet_pton(AF_INET, "10.0.0.1", r.laddr);
			inet_pton(AF_INET, "10.0.0.2", r.raddr);
			r.state = SOCK_CLOSE_WAIT;
			r.lport = 80;
			r.rport = (uint16_t)(1000 + cookie);
			r.cookie = ++cookie;
			r.inode = 5000 + cookie;
			if (sock_vec_push(&v, &r) < 0)
				abort();
		}
	}
	if (snap_build(&s, &v, prev, when, NULL, NULL) < 0)
		abort();
	sock_vec_free(&v);
	s->source = "netlink";
	for (size_t p = 0; p < n_procs; p++)
		idx[p] = snap_add_proc(s, &procs[p]);
	for (size_t i = 0; i < s->n; i++) {
		uint64_t c = s->socks[i].r.cookie, first = 1;

		for (size_t h = 0; h < n_held; h++) {
			if (c < first + (uint64_t)held[h].count) {
				s->socks[i].proc = idx[held[h].proc];
				break;
			}
			first += (uint64_t)held[h].count;
		}
	}
	return s;
}

/* The value of the sample line that starts with prefix (the series and its labels), or -1. */
static double sample(const char *text, const char *series)
{
	size_t len = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, len) == 0 && p[len] == ' ')
			return strtod(p + len + 1, NULL);
	return -1;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	return n;
}

int main(void)
{
	struct history *hist;
	struct feed *feed;
	struct snap *then, *now;
	struct metrics_config cfg = { 0 };
	struct jw w;
	const char *text, *first;
	char name[16];

	/* A critical leak (50 sockets), two processes of one name, a name with every escape. */
	hold(100, "big", 50);
	hold(200, "twin", 1);
	hold(201, "twin", 1);
	hold(300, "q\"x\\y\nz", 1);
	for (int i = 0; i < N_APPS; i++) {
		snprintf(name, sizeof(name), "app%02d", i);
		hold(400 + i, name, 1);
	}
	if (history_open(&hist) < 0 || feed_open(&feed, hist, "/nonexistent.db") < 0)
		abort();
	then = build_at(NULL, NOW - AGE);
	now = build_at(then, NOW);
	snap_put(then);
	feed_lock(feed);
	feed_publish_locked(feed, now);
	feed_unlock(feed);

	jw_init(&w, 1 << 20);
	CHECK_INT(metrics_render(feed, &cfg, &w), ==, 0);
	jw_text(&w, "", 1); /* NUL-terminated from here on */
	text = w.buf;
	CHECK(text != NULL);
	if (!text)
		return CHECK_DONE();

	/* Counts cover every finding: 34 processes, the unread rule adds nothing (no rq). */
	CHECK_INT(sample(text, "lingerd_findings{severity=\"critical\"}"), ==, 1);
	CHECK_INT(sample(text, "lingerd_findings{severity=\"warning\"}"), ==, 3 + N_APPS);
	CHECK_INT(sample(text, "lingerd_findings{severity=\"info\"}"), ==, 0);
	/* The itemized series stop at LD_METRICS_FINDINGS_MAX, the critical one first. */
	CHECK_INT(count_lines(text, "lingerd_finding_active{"), ==, LD_METRICS_FINDINGS_MAX);
	first = strstr(text, "lingerd_finding_active{");
	CHECK(first && strncmp(first,
			       "lingerd_finding_active{kind=\"close_wait_leak\",severity=\"critical\","
			       "subject=\"big\"} 1\n",
			       strlen("lingerd_finding_active{kind=\"close_wait_leak\",severity="
				      "\"critical\",subject=\"big\"} 1\n")) == 0);
	/* Two processes of one name are one series counting both; no pid anywhere. */
	CHECK_INT(sample(text, "lingerd_finding_active{kind=\"close_wait_leak\",severity=\"warning\","
			       "subject=\"twin\"}"),
		  ==, 2);
	CHECK(strstr(text, "subject=\"200\"") == NULL && strstr(text, "subject=\"201\"") == NULL);
	/* A process name is escaped as a label value. */
	CHECK_INT(sample(text, "lingerd_finding_active{kind=\"close_wait_leak\",severity=\"warning\","
			       "subject=\"q\\\"x\\\\y\\nz\"}"),
		  ==, 1);
	/* The HELP and TYPE of both families come once. */
	CHECK_INT(count_lines(text, "# TYPE lingerd_findings gauge"), ==, 1);
	CHECK_INT(count_lines(text, "# TYPE lingerd_finding_active gauge"), ==, 1);

	jw_free(&w);
	feed_close(feed);
	history_close(hist);
	return CHECK_DONE();
}
