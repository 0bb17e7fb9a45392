/* metrics.c - renders the Prometheus exposition from the published snapshot, never the database. */
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feed.h"
#include "findings.h"
#include "kstat.h"
#include "limits.h"
#include "tracer.h"
#include "util.h"
#include "view.h"

static const int lingering[] = { SOCK_FIN_WAIT1,  SOCK_FIN_WAIT2, SOCK_TIME_WAIT,
				 SOCK_CLOSE_WAIT, SOCK_LAST_ACK,  SOCK_CLOSING };

int metrics_parse_ports(struct metrics_config *cfg, const char *list)
{
	const char *p = list;

	cfg->n_ports = 0;
	if (!*p)
		return -EINVAL;
	for (;;) {
		char *end;
		long v;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v = strtol(p, &end, 10);
		if (errno || v < 1 || v > 65535 || (*end && *end != ','))
			return -EINVAL;
		for (size_t i = 0; i < cfg->n_ports; i++)
			if (cfg->ports[i] == v)
				return -EINVAL;
		if (cfg->n_ports == METRICS_MAX_PORTS)
			return -EINVAL;
		cfg->ports[cfg->n_ports++] = (uint16_t)v;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

static const char *label_escape(char c)
{
	return c == '\\' ? "\\\\" : c == '"' ? "\\\"" : c == '\n' ? "\\n" : NULL;
}

void metrics_label_value(struct jw *w, const char *v)
{
	/*
	 * The exposition format escapes backslash, double quote and line feed in label values,
	 * and must be UTF-8: a byte that is not becomes U+FFFD (a name cut at 50 bytes may end
	 * inside a character).
	 */
	jw_text_utf8(w, v, label_escape);
}

static void family(struct jw *w, const char *name, const char *type, const char *help)
{
	jw_textf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sockets_by_state(struct jw *w, const struct snap *s)
{
	static const char *const fams[2] = { "ipv4", "ipv6" };

	family(w, "lingerd_tcp_sockets", "gauge",
	       "TCP sockets in each state at the last snapshot, by address family.");
	for (int st = 1; st < SOCK_STATE_MAX; st++)
		for (int f = 0; f < 2; f++)
			jw_textf(w, "lingerd_tcp_sockets{state=\"%s\",family=\"%s\"} %u\n",
				 sock_state_label(st), fams[f], s ? s->family_counts[f][st] : 0);
}

static void lingering_by_owner(struct jw *w, const struct snap *s)
{
	family(w, "lingerd_tcp_lingering_sockets", "gauge",
	       "Sockets in teardown states; owner is process (an fd still holds it: unbounded) "
	       "or orphan (kernel-owned: bounded by timers).");
	for (size_t i = 0; i < ARRAY_SIZE(lingering); i++) {
		int st = lingering[i];
		uint32_t orphans = s ? s->orphan_counts[st] : 0;
		uint32_t all = s ? s->counts[st] : 0;

		jw_textf(w, "lingerd_tcp_lingering_sockets{state=\"%s\",owner=\"process\"} %u\n",
			 sock_state_label(st), all - orphans);
		jw_textf(w, "lingerd_tcp_lingering_sockets{state=\"%s\",owner=\"orphan\"} %u\n",
			 sock_state_label(st), orphans);
	}
	family(w, "lingerd_tcp_oldest_socket_age_seconds", "gauge",
	       "Time the oldest socket of each teardown state has spent in it (0 when none); a lower bound when that socket predates lingerd's start.");
	for (size_t i = 0; i < ARRAY_SIZE(lingering); i++) {
		int st = lingering[i];
		double age = s && s->oldest_since[st] ? snap_age(s, s->oldest_since[st]) : 0;

		jw_textf(w, "lingerd_tcp_oldest_socket_age_seconds{state=\"%s\"} %.3f\n",
			 sock_state_label(st), age < 0 ? 0 : age);
	}
	family(w, "lingerd_tcp_close_wait_unread_sockets", "gauge",
	       "CLOSE_WAIT sockets with unread bytes: the application neither read nor closed.");
	jw_textf(w, "lingerd_tcp_close_wait_unread_sockets %u\n", s ? s->close_wait_unread : 0);
}

static void per_port(struct jw *w, const struct snap *s, const struct metrics_config *cfg)
{
	uint32_t(*counts)[SOCK_STATE_MAX];

	if (!cfg || !cfg->n_ports)
		return;
	counts = calloc(cfg->n_ports, sizeof(*counts));
	if (!counts)
		return;
	for (size_t i = 0; s && i < s->n; i++) {
		const struct sock_rec *r = &s->socks[i].r;

		for (size_t p = 0; p < cfg->n_ports; p++)
			if (r->lport == cfg->ports[p])
				counts[p][r->state]++;
	}
	family(w, "lingerd_tcp_port_sockets", "gauge",
	       "TCP sockets per state whose local port is one of --metrics-ports.");
	for (size_t p = 0; p < cfg->n_ports; p++)
		for (int st = 1; st < SOCK_STATE_MAX; st++)
			jw_textf(w, "lingerd_tcp_port_sockets{port=\"%u\",state=\"%s\"} %u\n",
				 cfg->ports[p], sock_state_label(st), counts[p][st]);
	free(counts);
}

/* Per-namespace counts, opted in: one series per (namespace, state). */
static void per_netns(struct jw *w, const struct snap *s, const struct metrics_config *cfg)
{
	uint32_t(*counts)[SOCK_STATE_MAX];

	if (!cfg || !cfg->netns || !s)
		return;
	counts = calloc(s->n_netns + 1, sizeof(*counts));
	if (!counts)
		return;
	for (size_t i = 0; i < s->n; i++) {
		const struct sock_rec *r = &s->socks[i].r;
		size_t k = 0;

		if (r->netns)
			for (k = 0; k < s->n_netns && s->netns[k].id != r->netns; k++)
				;
		if (!r->netns)
			counts[0][r->state]++;
		else if (k < s->n_netns)
			counts[k + 1][r->state]++;
	}
	family(w, "lingerd_netns_tcp_sockets", "gauge",
	       "TCP sockets per state in each network namespace lingerd follows (--metrics-netns).");
	for (size_t k = 0; k <= s->n_netns; k++) {
		const char *name = k ? s->netns[k - 1].name : "self";

		for (int st = 1; st < SOCK_STATE_MAX; st++) {
			jw_text(w, "lingerd_netns_tcp_sockets{netns=\"", 33);
			metrics_label_value(w, name);
			jw_textf(w, "\",state=\"%s\"} %u\n", sock_state_label(st), counts[k][st]);
		}
	}
	free(counts);
}

static void kernel(struct jw *w, const struct kstat *k)
{
	char name[128];

	for (int i = 0; i < KSTAT_COUNTER_MAX; i++) {
		const struct kstat_info *in = kstat_counter_info(i);

		if (!k->have_counter[i])
			continue;
		snprintf(name, sizeof(name), "lingerd_kernel_tcp_%s_total", in->metric);
		family(w, name, "counter", in->help);
		jw_textf(w, "%s %llu\n", name, (unsigned long long)k->counter[i]);
	}
	for (int i = 0; i < KSTAT_GAUGE_MAX; i++) {
		const struct kstat_info *in = kstat_gauge_info(i);
		long long v = k->gauge[i];

		if (!k->have_gauge[i])
			continue;
		if (i == KSTAT_SOCK_MEM_PAGES) {
			/* Base units: pages become bytes. */
			family(w, "lingerd_kernel_tcp_memory_bytes", "gauge",
			       "Memory TCP buffers use, from /proc/net/sockstat.");
			jw_textf(w, "lingerd_kernel_tcp_memory_bytes %lld\n",
				 v * (long long)sysconf(_SC_PAGESIZE));
			continue;
		}
		snprintf(name, sizeof(name), "lingerd_kernel_tcp_%s", in->metric);
		family(w, name, "gauge", in->help);
		jw_textf(w, "%s %lld\n", name, v);
	}
	for (int i = 0; i < KSTAT_SETTING_MAX; i++) {
		const struct kstat_info *in = kstat_setting_info(i);

		if (!k->have_setting[i])
			continue;
		snprintf(name, sizeof(name), "lingerd_sysctl_%s", in->metric);
		family(w, name, "gauge", in->help);
		jw_textf(w, "%s %lld\n", name, (long long)k->setting[i]);
	}
}

static void self(struct jw *w, const struct feed_status *st)
{
	family(w, "lingerd_build_info", "gauge",
	       "lingerd's version and capture source (always 1).");
	jw_textf(w, "lingerd_build_info{version=\"%s\",source=\"%s\"} 1\n", LINGERD_VERSION,
		 st->source);
	family(w, "lingerd_snapshots_total", "counter", "Snapshots taken since lingerd started.");
	jw_textf(w, "lingerd_snapshots_total %llu\n", (unsigned long long)st->snapshots);
	family(w, "lingerd_snapshot_errors_total", "counter",
	       "Snapshots that failed, by what failed: the capture or the database write.");
	jw_textf(w, "lingerd_snapshot_errors_total{kind=\"capture\"} %llu\n",
		 (unsigned long long)st->capture_errors);
	jw_textf(w, "lingerd_snapshot_errors_total{kind=\"database\"} %llu\n",
		 (unsigned long long)st->db_errors);
	family(w, "lingerd_snapshot_duration_seconds", "gauge",
	       "Time the last snapshot took to capture, diff and attribute.");
	jw_textf(w, "lingerd_snapshot_duration_seconds %.6f\n", st->last_duration_ms / 1e3);
	family(w, "lingerd_snapshot_commit_duration_seconds", "gauge",
	       "Time the last snapshot's database transaction took.");
	jw_textf(w, "lingerd_snapshot_commit_duration_seconds %.6f\n", st->last_commit_ms / 1e3);
	family(w, "lingerd_last_snapshot_timestamp_seconds", "gauge",
	       "Unix time of the last snapshot (0 before the first).");
	jw_textf(w, "lingerd_last_snapshot_timestamp_seconds %.3f\n", st->last_snapshot_at);
	family(w, "lingerd_snapshot_interval_seconds", "gauge",
	       "Configured time between snapshots.");
	jw_textf(w, "lingerd_snapshot_interval_seconds %g\n", st->interval_s);
	family(w, "lingerd_database_rows_written_total", "counter",
	       "Socket rows inserted or updated: grows with changed sockets, not all sockets.");
	jw_textf(w, "lingerd_database_rows_written_total %llu\n",
		 (unsigned long long)st->rows_written);
	family(w, "lingerd_database_ok", "gauge", "1 when the last snapshot was committed.");
	jw_textf(w, "lingerd_database_ok %d\n", st->db_ok ? 1 : 0);
	family(w, "lingerd_attribution_mode", "gauge",
	       "Process attribution: 1 for the mode in effect (full, partial or off).");
	jw_textf(w, "lingerd_attribution_mode{mode=\"full\"} %d\n", st->attribution == 0);
	jw_textf(w, "lingerd_attribution_mode{mode=\"partial\"} %d\n", st->attribution == 1);
	jw_textf(w, "lingerd_attribution_mode{mode=\"off\"} %d\n", st->attribution < 0);
	family(w, "lingerd_attribution_walks_total", "counter",
	       "Walks of /proc/PID/fd made to find the processes holding sockets.");
	jw_textf(w, "lingerd_attribution_walks_total %llu\n",
		 (unsigned long long)st->attribution_walks);
	family(w, "lingerd_attribution_walk_duration_seconds", "gauge",
	       "Time the last /proc/PID/fd walk took.");
	jw_textf(w, "lingerd_attribution_walk_duration_seconds %.6f\n",
		 st->attribution_last_ms / 1e3);
	if (!st->netns_all)
		return;
	family(w, "lingerd_netns_followed", "gauge",
	       "Network namespaces followed besides lingerd's own (--netns all).");
	jw_textf(w, "lingerd_netns_followed %u\n", st->netns_followed);
	family(w, "lingerd_netns_dumped", "gauge",
	       "Namespaces dumped in the last round; the others were quiet and kept their last dump.");
	jw_textf(w, "lingerd_netns_dumped %u\n", st->netns_dumped);
	family(w, "lingerd_netns_shared_hash", "gauge",
	       "Namespaces sharing the host's connection hash: each dump walks the host's sockets.");
	jw_textf(w, "lingerd_netns_shared_hash %u\n", st->netns_shared);
	family(w, "lingerd_netns_round_duration_seconds", "gauge",
	       "Time the last round of other namespaces took (scan and the dumps due).");
	jw_textf(w, "lingerd_netns_round_duration_seconds %.6f\n", st->netns_round_ms / 1e3);
	family(w, "lingerd_netns_full_round_seconds", "gauge",
	       "Every namespace's last dump added up: what a round without staggering would take.");
	jw_textf(w, "lingerd_netns_full_round_seconds %.6f\n", st->netns_full_ms / 1e3);
	family(w, "lingerd_netns_dumps_total", "counter", "Dumps of other namespaces since start.");
	jw_textf(w, "lingerd_netns_dumps_total %llu\n", (unsigned long long)st->netns_dumps);
	family(w, "lingerd_netns_rounds_slow_total", "counter",
	       "Rounds of other namespaces that took longer than the interval.");
	jw_textf(w, "lingerd_netns_rounds_slow_total %llu\n",
		 (unsigned long long)st->netns_rounds_slow);
}

/* One label set of lingerd_finding_active and how many standing findings share it. */
struct active {
	enum finding_kind kind;
	enum finding_severity severity;
	char subject[160];
	unsigned n;
};

/*
 * What names a finding's subject in a label: the process name (never a pid, so a series
 * outlives a restart), else the finding's key (a uid, a destination, a port), after the
 * namespace's name for a finding in another namespace.
 */
static void subject_of(const struct snap *s, const struct finding *f, char *buf, size_t n)
{
	const char *what = f->proc ? f->proc->comm : f->key;

	if (f->netns)
		snprintf(buf, n, "%s%s%s", api_netns_name(s, f->netns), what[0] ? "/" : "", what);
	else
		snprintf(buf, n, "%s", what);
}

/*
 * The findings /api/v1/findings gives with its defaults (what the page shows), as bounded
 * series: a count per severity, and one series per kind, severity and subject for the
 * LD_METRICS_FINDINGS_MAX most severe.  Returns 0 or -ENOMEM.
 */
static int findings(struct jw *w, struct feed *smp, const struct snap *s)
{
	struct findings_input in = {
		.snap = s,
		.history = feed_history(smp),
		.min_age = LD_FINDINGS_MIN_AGE_DEFAULT,
	};
	struct active act[LD_METRICS_FINDINGS_MAX];
	size_t counts[FINDING_SEVERITY_MAX] = { 0 }, cap = 64, n_act = 0;
	struct finding *v;
	ssize_t n;

	for (;;) {
		v = malloc(cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		n = findings_decide(&in, v, cap);
		if (n < 0 || (size_t)n <= cap)
			break;
		free(v);
		cap = (size_t)n;
	}
	if (n < 0) {
		free(v);
		return (int)n;
	}
	for (ssize_t i = 0; i < n; i++)
		counts[v[i].severity]++;
	family(w, "lingerd_findings", "gauge",
	       "Findings standing now, by severity: what /api/v1/findings reports with its defaults.");
	for (int sev = 0; sev < FINDING_SEVERITY_MAX; sev++)
		jw_textf(w, "lingerd_findings{severity=\"%s\"} %zu\n", findings_severity_name(sev),
			 counts[sev]);
	/* Most severe first, as the endpoint lists them; equal label sets add up. */
	for (int sev = 0; sev < FINDING_SEVERITY_MAX; sev++) {
		for (ssize_t i = 0; i < n; i++) {
			struct active a = { .kind = v[i].kind, .severity = v[i].severity, .n = 1 };
			size_t k;

			if (v[i].severity != (enum finding_severity)sev)
				continue;
			subject_of(s, &v[i], a.subject, sizeof(a.subject));
			for (k = 0; k < n_act; k++)
				if (act[k].kind == a.kind && act[k].severity == a.severity &&
				    strcmp(act[k].subject, a.subject) == 0)
					break;
			if (k < n_act)
				act[k].n++;
			else if (n_act < LD_METRICS_FINDINGS_MAX)
				act[n_act++] = a;
		}
	}
	free(v);
	family(w, "lingerd_finding_active", "gauge",
	       "Standing findings by kind, severity and subject (a process name, a uid, a "
	       "destination, a port or a setting), the most severe only.");
	for (size_t k = 0; k < n_act; k++) {
		jw_textf(w, "lingerd_finding_active{kind=\"%s\",severity=\"%s\",subject=\"",
			 findings_kind_name(act[k].kind), findings_severity_name(act[k].severity));
		metrics_label_value(w, act[k].subject);
		jw_textf(w, "\"} %u\n", act[k].n);
	}
	return 0;
}

int metrics_render(struct feed *smp, const struct metrics_config *cfg, struct jw *w)
{
	struct feed_status st;
	struct snap *s = feed_current(smp);

	feed_status(smp, &st);
	sockets_by_state(w, s);
	lingering_by_owner(w, s);
	per_port(w, s, cfg);
	per_netns(w, s, cfg);
	if (s) {
		kernel(w, &s->kstat);
		if (findings(w, smp, s) < 0 && !w->err)
			w->err = -ENOMEM;
	}
	self(w, &st);
	api_events_metrics(smp, w);
	snap_put(s);
	if (w->err)
		return w->err;
	return s ? 0 : -EAGAIN;
}
