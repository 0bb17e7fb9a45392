/* screen.c - the status screen: what `lingerd status` and `lingerd top` ask and show. */
#include "screen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "limits.h"

#define SGR_RESET "\033[0m"
#define SGR_BOLD "\033[1m"
#define SGR_DIM "\033[2m"
#define SGR_RED "\033[1;31m"
#define SGR_YELLOW "\033[33m"
#define SGR_CYAN "\033[36m"
#define SGR_GREEN "\033[32m"

/* The teardown states, where a count that grows is bad news. */
static const char *const lingering_states[] = {
	"FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK", "CLOSING",
};

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static double num(const cJSON *o, const char *k, double dflt)
{
	const cJSON *x = get(o, k);

	return cJSON_IsNumber(x) ? x->valuedouble : dflt;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *x = get(o, k);

	return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Terminal columns of a UTF-8 string (every code point one column: no wide characters here). */
static size_t columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int is_lingering(const char *state)
{
	for (size_t i = 0; i < sizeof(lingering_states) / sizeof(lingering_states[0]); i++)
		if (strcmp(state, lingering_states[i]) == 0)
			return 1;
	return 0;
}

static const char *sgr(const struct screen_style *st, const char *code)
{
	return st->color ? code : "";
}

void screen_put_text(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fputc('?', f);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080..U+009F: C1 controls, CSI among them. */
			fputc('?', f);
			p++;
		} else {
			fputc(*p, f);
		}
	}
}

void screen_format_age(double s, char *buf, size_t n)
{
	long t;

	if (!(s >= 0)) {
		snprintf(buf, n, "-");
		return;
	}
	t = (long)(s + 0.5);
	if (t < 60)
		snprintf(buf, n, "%lds", t);
	else if (t < 3600)
		snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
	else if (t < 86400)
		snprintf(buf, n, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, n, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
}

int screen_sort_parse(const char *s)
{
	if (strcmp(s, "count") == 0)
		return SCREEN_SORT_COUNT;
	if (strcmp(s, "age") == 0)
		return SCREEN_SORT_AGE;
	if (strcmp(s, "growth") == 0)
		return SCREEN_SORT_GROWTH;
	return -EINVAL;
}

void screen_free(struct screen *v)
{
	cJSON_Delete(v->health);
	cJSON_Delete(v->snapshot);
	cJSON_Delete(v->trends);
	cJSON_Delete(v->findings);
	cJSON_Delete(v->offenders);
	memset(v, 0, sizeof(*v));
}

int screen_fetch(const struct client *c, double min_age, struct screen *v, char *why, size_t whylen)
{
	char path[256], states[160] = "", num_s[32];
	const cJSON *counts, *x;
	int err;

	memset(v, 0, sizeof(*v));
	err = client_json(c, "/healthz", 1, &v->health, why, whylen);
	if (!err)
		err = client_json(c, "/api/v1/snapshot", 0, &v->snapshot, why, whylen);
	if (err)
		goto fail;
	snprintf(num_s, sizeof(num_s), "%g", min_age);
	snprintf(path, sizeof(path), "/api/v1/findings");
	client_query_add(path, sizeof(path), "min_age", num_s);
	client_query_add(path, sizeof(path), "lang", "en");
	err = client_json(c, path, 0, &v->findings, why, whylen);
	if (err)
		goto fail;
	snprintf(path, sizeof(path), "/api/v1/lingering");
	client_query_add(path, sizeof(path), "group_by", "process");
	snprintf(num_s, sizeof(num_s), "%d", LD_CLI_OFFENDERS);
	client_query_add(path, sizeof(path), "limit", num_s);
	err = client_json(c, path, 0, &v->offenders, why, whylen);
	if (err)
		goto fail;
	/* The change per state over the last hour, as the page shows it; history is optional. */
	counts = get(v->snapshot, "counts");
	cJSON_ArrayForEach(x, counts)
	{
		size_t len = strlen(states);

		snprintf(states + len, sizeof(states) - len, "%s%s", len ? "," : "", x->string);
	}
	snprintf(path, sizeof(path), "/api/v1/trends");
	client_query_add(path, sizeof(path), "states", states);
	client_query_add(path, sizeof(path), "from", "-1h");
	client_query_add(path, sizeof(path), "to", "now");
	{
		char ignored[128];

		if (client_json(c, path, 0, &v->trends, ignored, sizeof(ignored)) < 0)
			v->trends = NULL;
	}
	return 0;
fail:
	screen_free(v);
	return err;
}

/*
 * The count of STATE at the start of the trends' hour, and when that was (the first point of
 * its series).  Returns 0 when the daemon has no history of it.
 */
static int change_base(const struct screen *v, const char *state, double *base, double *since)
{
	const cJSON *s;

	cJSON_ArrayForEach(s, get(v->trends, "series"))
	{
		const char *name = str(s, "state");
		const cJSON *first = cJSON_GetArrayItem(get(s, "points"), 0);

		if (!name || strcmp(name, state) != 0 || cJSON_GetArraySize(first) < 2)
			continue;
		*since = cJSON_GetArrayItem(first, 0)->valuedouble;
		*base = round(cJSON_GetArrayItem(first, 1)->valuedouble);
		return 1;
	}
	return 0;
}

static void render_health(FILE *f, const struct client *c, const struct screen *v,
			  const struct screen_style *st)
{
	const cJSON *h = v->health, *p;
	const char *status = str(h, "status");
	int ok = status && strcmp(status, "ok") == 0;
	double last = num(h, "last_snapshot_at", 0);
	char ago[32] = "never";

	if (last > 0) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		/* The daemon's clock is this host's: a difference below zero is rounding. */
		screen_format_age(fmax(0, (double)now.tv_sec + now.tv_nsec / 1e9 - last), ago,
				  sizeof(ago));
	}
	fprintf(f, "%slingerd%s at %s: %s", sgr(st, SGR_BOLD), sgr(st, SGR_RESET), c->url,
		sgr(st, ok ? SGR_GREEN : SGR_RED));
	screen_put_text(f, status ? status : "?");
	fprintf(f, "%s  source %s  every %gs  last snapshot %s%s  db ", sgr(st, SGR_RESET),
		str(h, "source") ? str(h, "source") : "?", num(h, "interval_s", 0), ago,
		last > 0 ? " ago" : "");
	screen_put_text(f, str(h, "db") ? str(h, "db") : "?");
	fprintf(f, "  attribution %s\n", str(h, "attribution") ? str(h, "attribution") : "?");
	cJSON_ArrayForEach(p, get(h, "problems"))
	{
		if (cJSON_IsString(p)) {
			fprintf(f, "  %sproblem:%s ", sgr(st, SGR_RED), sgr(st, SGR_RESET));
			screen_put_text(f, p->valuestring);
			fputc('\n', f);
		}
	}
}

static void render_counts(FILE *f, const struct screen *v, const struct screen_style *st)
{
	const cJSON *x;
	double oldest = INFINITY, now = num(v->snapshot, "taken_at", 0);
	int col = 0;

	cJSON_ArrayForEach(x, get(v->snapshot, "counts"))
	{
		double base, since;

		if (change_base(v, x->string, &base, &since) && since < oldest)
			oldest = since;
	}
	fprintf(f, "\n%sSTATES%s  %g sockets", sgr(st, SGR_BOLD), sgr(st, SGR_RESET),
		num(v->snapshot, "total", 0));
	if (isfinite(oldest)) {
		char span[32];

		screen_format_age(now - oldest, span, sizeof(span));
		/* History reaching back (nearly) the whole hour is "1h", as on the page. */
		fprintf(f, ", change over the last %s", now - oldest >= 3000 ? "1h" : span);
	}
	fputc('\n', f);
	cJSON_ArrayForEach(x, get(v->snapshot, "counts"))
	{
		double n = cJSON_IsNumber(x) ? x->valuedouble : 0, base, since;
		int hot = is_lingering(x->string) && n > 0;
		char delta[32] = "";
		int up = 0;

		if (change_base(v, x->string, &base, &since)) {
			double d = n - base;

			snprintf(delta, sizeof(delta), "%s%.0f",
				 d > 0   ? "+"
				 : d < 0 ? "-"
					 : "±",
				 fabs(d));
			up = d > 0 && is_lingering(x->string);
		}
		fprintf(f, "  %s%-11s %7.0f%s %s%s%s", sgr(st, hot ? SGR_BOLD : ""), x->string, n,
			sgr(st, hot ? SGR_RESET : ""), sgr(st, up ? SGR_RED : ""), delta,
			sgr(st, up ? SGR_RESET : ""));
		/* Padded by hand ("±" is two bytes; printf pads bytes), and not at the line's end. */
		if (col < 2 && x->next)
			fprintf(f, "%*s", 8 - (int)columns(delta), "");
		if (++col == 3) {
			fputc('\n', f);
			col = 0;
		}
	}
	if (col)
		fputc('\n', f);
}

/*
 * "lab-leaker (pid 10325)", "uid 0 (process unknown)", "remote 10.0.0.7", ...  Sets *name to
 * the word a title would name the subject by (the process name or the first value).
 */
static void render_subject(FILE *f, const cJSON *subj, const char **name)
{
	const cJSON *x, *pid = get(subj, "pid");
	const char *comm = str(subj, "comm");
	int parts = 0;

	*name = comm;
	if (cJSON_IsNumber(pid) && comm) {
		screen_put_text(f, comm);
		fprintf(f, " (pid %.0f)", pid->valuedouble);
		parts++;
	} else if (cJSON_IsNull(pid) && cJSON_IsNumber(get(subj, "uid"))) {
		fprintf(f, "uid %.0f (process unknown)", num(subj, "uid", 0));
		parts++;
	}
	cJSON_ArrayForEach(x, subj)
	{
		static const char *const skip[] = { "pid", "comm", "uid", "cmdline", "note" };
		int skipped = 0;

		for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
			skipped |= strcmp(x->string, skip[i]) == 0;
		if (skipped || (!cJSON_IsString(x) && !cJSON_IsNumber(x)))
			continue;
		fprintf(f, "%s", parts++ ? ", " : "");
		if (!*name && cJSON_IsString(x))
			*name = x->valuestring;
		screen_put_text(f, x->string);
		fputc(' ', f);
		if (cJSON_IsString(x))
			screen_put_text(f, x->valuestring);
		else
			fprintf(f, "%g", x->valuedouble);
	}
	if (!parts)
		fprintf(f, "this host");
}

/* The remedy's first sentence: what to do first. */
static void render_first_remedy(FILE *f, const char *remedy)
{
	const char *end = strstr(remedy, ". ");
	size_t n = end ? (size_t)(end - remedy) + 1 : strlen(remedy);
	char *first = strndup(remedy, n);

	if (first) {
		screen_put_text(f, first);
		free(first);
	}
}

int screen_critical(const struct screen *v)
{
	return (int)num(get(v->findings, "summary"), "critical", 0);
}

static void render_findings(FILE *f, const struct screen *v, const struct screen_style *st)
{
	const cJSON *sum = get(v->findings, "summary"), *x;
	size_t shown = 0, total = (size_t)cJSON_GetArraySize(get(v->findings, "findings"));

	fprintf(f,
		"\n%sFINDINGS%s  %s%.0f critical%s, %s%.0f warning%s, %.0f info (sockets older than %gs)\n",
		sgr(st, SGR_BOLD), sgr(st, SGR_RESET),
		sgr(st, num(sum, "critical", 0) ? SGR_RED : ""), num(sum, "critical", 0),
		sgr(st, num(sum, "critical", 0) ? SGR_RESET : ""),
		sgr(st, num(sum, "warning", 0) ? SGR_YELLOW : ""), num(sum, "warning", 0),
		sgr(st, num(sum, "warning", 0) ? SGR_RESET : ""), num(sum, "info", 0),
		num(v->findings, "min_age", 0));
	if (!total)
		fprintf(f, "  none: no socket lingers in a way lingerd knows to be a problem\n");
	cJSON_ArrayForEach(x, get(v->findings, "findings"))
	{
		const char *sev = str(x, "severity") ? str(x, "severity") : "?";
		const char *color = strcmp(sev, "critical") == 0  ? SGR_RED
				    : strcmp(sev, "warning") == 0 ? SGR_YELLOW
								  : SGR_CYAN;
		char upper[16];
		size_t i;

		if (st->max_findings && shown == st->max_findings) {
			fprintf(f, "  ... %zu more (lingerd status shows them all)\n",
				total - shown);
			break;
		}
		for (i = 0; i < sizeof(upper) - 1 && sev[i]; i++)
			upper[i] = (char)(sev[i] >= 'a' && sev[i] <= 'z' ? sev[i] - 32 : sev[i]);
		upper[i] = '\0';
		const char *title = str(x, "title") ? str(x, "title") : "", *name = NULL;
		char *subject = NULL;
		size_t subject_len = 0;
		FILE *m = open_memstream(&subject, &subject_len);

		if (m) {
			render_subject(m, get(x, "subject"), &name);
			fclose(m);
		}
		fprintf(f, "  %s%-8s%s ", sgr(st, color), upper, sgr(st, SGR_RESET));
		/* Most titles name their subject already ("lab-leaker (pid 7) holds ..."). */
		if (subject && !(name && strstr(title, name)))
			fprintf(f, "%s: ", subject);
		free(subject);
		screen_put_text(f, title);
		fprintf(f, "\n           %sfix:%s ", sgr(st, SGR_DIM), sgr(st, SGR_RESET));
		render_first_remedy(f, str(x, "remedy") ? str(x, "remedy") : "");
		fputc('\n', f);
		shown++;
	}
}

static double sort_key(const cJSON *g, enum screen_sort sort)
{
	switch (sort) {
	case SCREEN_SORT_AGE:
		return num(g, "oldest_age_s", 0);
	case SCREEN_SORT_GROWTH:
		/* No growth known yet (less than a few minutes of history) sorts last. */
		return num(g, "growth_per_min", -INFINITY);
	case SCREEN_SORT_COUNT:
	default:
		return num(g, "total", 0);
	}
}

/* An offender and its place in the daemon's answer, which breaks ties. */
struct ranked {
	const cJSON *g;
	size_t place;
};

static int cmp_groups(const void *a, const void *b, void *arg)
{
	const struct ranked *x = a, *y = b;
	enum screen_sort sort = *(const enum screen_sort *)arg;
	double kx = sort_key(x->g, sort), ky = sort_key(y->g, sort);

	if (kx != ky)
		return kx < ky ? 1 : -1;
	kx = num(x->g, "total", 0);
	ky = num(y->g, "total", 0);
	if (kx != ky)
		return kx < ky ? 1 : -1;
	return x->place < y->place ? -1 : x->place > y->place;
}

static void render_offenders(FILE *f, const struct screen *v, const struct screen_style *st)
{
	static const char *const sort_names[] = { "count", "age", "growth" };
	const cJSON *groups = get(v->offenders, "groups"), *g;
	size_t n = (size_t)cJSON_GetArraySize(groups), i = 0;
	struct ranked *order = calloc(n ? n : 1, sizeof(*order));

	fprintf(f, "\n%sOFFENDERS%s  lingering sockets by process, by %s\n", sgr(st, SGR_BOLD),
		sgr(st, SGR_RESET), sort_names[st->sort]);
	if (!order)
		return;
	cJSON_ArrayForEach(g, groups)
	{
		order[i].g = g;
		order[i].place = i;
		i++;
	}
	qsort_r(order, n, sizeof(*order), cmp_groups, (void *)&st->sort);
	if (!n)
		fprintf(f, "  none\n");
	else
		fprintf(f, "  %-8s %-16s %6s %8s %10s  %s\n", "PID", "PROCESS", "TOTAL", "OLDEST",
			"GROWTH/MIN", "STATES");
	for (i = 0; i < n && (!st->max_offenders || i < st->max_offenders); i++) {
		const cJSON *o = order[i].g, *pid = get(o, "pid"), *c;
		const char *owner = str(o, "owner"), *comm = str(o, "comm");
		double growth = num(o, "growth_per_min", NAN);
		char pid_s[24], who[40], age[24], growth_s[24];
		int first = 1;

		if (cJSON_IsNumber(pid))
			snprintf(pid_s, sizeof(pid_s), "%.0f", pid->valuedouble);
		else
			snprintf(pid_s, sizeof(pid_s), "-");
		if (comm)
			snprintf(who, sizeof(who), "%.16s", comm);
		else if (owner && strcmp(owner, "orphan") == 0)
			snprintf(who, sizeof(who), "(orphans)");
		else
			snprintf(who, sizeof(who), "(uid %.0f)", num(o, "uid", -1));
		screen_format_age(num(o, "oldest_age_s", NAN), age, sizeof(age));
		if (isnan(growth))
			snprintf(growth_s, sizeof(growth_s), "-");
		else
			snprintf(growth_s, sizeof(growth_s), "%+.1f", growth);
		fprintf(f, "  %-8s ", pid_s);
		screen_put_text(f, who);
		fprintf(f, "%*s %6.0f %8s %s%10s%s  ", 16 - (int)columns(who), "",
			num(o, "total", 0), age, sgr(st, growth > 0 ? SGR_RED : ""), growth_s,
			sgr(st, growth > 0 ? SGR_RESET : ""));
		cJSON_ArrayForEach(c, get(o, "counts"))
		{
			if (!cJSON_IsNumber(c) || c->valuedouble <= 0)
				continue;
			fprintf(f, "%s%s %.0f", first ? "" : ", ", c->string, c->valuedouble);
			first = 0;
		}
		fputc('\n', f);
	}
	if (i < n)
		fprintf(f, "  ... %zu more\n", n - i);
	free(order);
}

void screen_render(FILE *f, const struct client *c, const struct screen *v,
		   const struct screen_style *st)
{
	render_health(f, c, v, st);
	render_counts(f, v, st);
	render_findings(f, v, st);
	render_offenders(f, v, st);
}

cJSON *screen_json(const struct client *c, const struct screen *v)
{
	cJSON *o = cJSON_CreateObject(), *change = cJSON_CreateObject();
	const cJSON *x;

	if (!o || !change)
		goto fail;
	cJSON_AddStringToObject(o, "url", c->url);
	cJSON_AddItemToObject(o, "health", cJSON_Duplicate(v->health, 1));
	cJSON_AddItemToObject(o, "snapshot", cJSON_Duplicate(v->snapshot, 1));
	/* The change of each state over the last hour, null without history. */
	cJSON_ArrayForEach(x, get(v->snapshot, "counts"))
	{
		double base, since;

		if (change_base(v, x->string, &base, &since))
			cJSON_AddNumberToObject(change, x->string, x->valuedouble - base);
		else
			cJSON_AddNullToObject(change, x->string);
	}
	cJSON_AddItemToObject(o, "change_1h", change);
	change = NULL;
	cJSON_AddItemToObject(o, "findings", cJSON_Duplicate(v->findings, 1));
	cJSON_AddItemToObject(o, "offenders", cJSON_Duplicate(v->offenders, 1));
	return o;
fail:
	cJSON_Delete(o);
	cJSON_Delete(change);
	return NULL;
}
