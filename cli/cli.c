/* cli.c - the terminal view's commands: options, `status`, `sockets`, and the dispatch. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limits.h"
#include "screen.h"
#include "util.h"

#define MIN_AGE_DEFAULT 60.0

/* What the three commands share, and each one's own options. */
struct cli_opts {
	const char *url;
	const char *token_file;
	double min_age;
	int json;
	double refresh;
	int sort;
	/* sockets */
	const char *state, *port, *pid, *comm, *sock_min_age, *family, *limit;
	int csv;
};

static void usage(FILE *f, const char *cmd)
{
	static const char common[] =
		"  --url URL           the daemon (default " LD_CLI_DEFAULT_URL "; loopback only)\n"
		"  --token-file PATH   send the token in PATH, for a daemon started with --token-file\n";

	if (strcmp(cmd, "status") == 0)
		fprintf(f,
			"usage: lingerd status [--url URL] [--token-file PATH] [--min-age SECONDS] [--json]\n"
			"The daemon's health, the count in each state with its change over the last hour,\n"
			"the findings with their first remedy and the top offenders, on one screen.\n"
			"Exit status 1 when a critical finding stands, 69 when the daemon cannot be asked.\n\n"
			"%s"
			"  --min-age SECONDS   findings count sockets at least this old (default %g)\n"
			"  --json              print the answers the screen is built from, as JSON\n",
			common, MIN_AGE_DEFAULT);
	else if (strcmp(cmd, "top") == 0)
		fprintf(f,
			"usage: lingerd top [--url URL] [--token-file PATH] [--min-age SECONDS]\n"
			"                   [--refresh SECONDS] [--sort count|age|growth]\n"
			"The status screen, redrawn in place.  Keys: c, a, g sort the offenders by count,\n"
			"age or growth; r redraws now; q quits.\n\n"
			"%s"
			"  --min-age SECONDS   findings count sockets at least this old (default %g)\n"
			"  --refresh SECONDS   time between redraws (default %g, minimum %g)\n"
			"  --sort KEY          count (default), age or growth\n",
			common, MIN_AGE_DEFAULT, LD_CLI_REFRESH_DEFAULT, LD_CLI_REFRESH_MIN);
	else
		fprintf(f,
			"usage: lingerd sockets [--url URL] [--token-file PATH] [--state LIST] [--port N]\n"
			"                       [--pid PID] [--comm NAME] [--min-age SECONDS]\n"
			"                       [--family ipv4|ipv6] [--limit N] [--csv]\n"
			"The sockets, oldest in their state first, like ss: queues, addresses, age in the\n"
			"state, owner and, when known, which side closed first.\n\n"
			"%s"
			"  --state LIST        one state or a comma list (close_wait, CLOSE-WAIT, ...)\n"
			"  --port N            local or remote port\n"
			"  --pid PID           sockets of this process\n"
			"  --comm NAME         sockets of processes with this name\n"
			"  --min-age SECONDS   sockets at least this long in their state\n"
			"  --family KIND       ipv4 or ipv6\n"
			"  --limit N           at most N sockets (default %d, at most %d)\n"
			"  --csv               the daemon's CSV instead of columns\n",
			common, LD_SOCKETS_LIMIT_DEFAULT, LD_SOCKETS_LIMIT_MAX);
}

int cli_is_command(const char *name)
{
	return strcmp(name, "status") == 0 || strcmp(name, "top") == 0 ||
	       strcmp(name, "sockets") == 0;
}

void cli_report(const struct client *c, int err, const char *why)
{
	if (err == -EACCES)
		fprintf(stderr,
			"lingerd: %s refused the request (401): give its token with --token-file\n",
			c->url);
	else if (why && why[0])
		fprintf(stderr, "lingerd: %s: %s\n", c->url, why);
	else
		fprintf(stderr, "lingerd: cannot ask the daemon at %s: %s%s\n", c->url,
			util_strerror(-err),
			err == -ECONNREFUSED ? " (is lingerd running? see --url)" : "");
}

static int parse_number(const char *s, double min, double max, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !(d >= min && d <= max))
		return -EINVAL;
	*out = d;
	return 0;
}

/* Returns 0, or CLI_EXIT_USAGE after saying why; exits 0 on --help. */
static int parse_opts(const char *cmd, int argc, char **argv, struct cli_opts *o)
{
	static const struct option longopts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "min-age", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "refresh", required_argument, NULL, 'r' },
		{ "sort", required_argument, NULL, 's' },
		{ "state", required_argument, NULL, 'S' },
		{ "port", required_argument, NULL, 'p' },
		{ "pid", required_argument, NULL, 'P' },
		{ "comm", required_argument, NULL, 'c' },
		{ "family", required_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'l' },
		{ "csv", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Which options each command takes (by their short codes above). */
	const char *allowed = strcmp(cmd, "status") == 0 ? "uTmjh"
			      : strcmp(cmd, "top") == 0  ? "uTmrsh"
							 : "uTmSpPcflCh";
	int c;

	memset(o, 0, sizeof(*o));
	o->url = LD_CLI_DEFAULT_URL;
	o->min_age = MIN_AGE_DEFAULT;
	o->refresh = LD_CLI_REFRESH_DEFAULT;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == '?' || !strchr(allowed, c)) {
			fprintf(stderr, "lingerd %s: unknown or incomplete option '%s'\n", cmd,
				argv[optind - 1]);
			usage(stderr, cmd);
			return CLI_EXIT_USAGE;
		}
		switch (c) {
		case 'u':
			o->url = optarg;
			break;
		case 'T':
			o->token_file = optarg;
			break;
		case 'm':
			if (parse_number(optarg, 0, LD_MIN_AGE_MAX, &o->min_age) < 0) {
				fprintf(stderr,
					"lingerd %s: --min-age must be a number of seconds\n", cmd);
				return CLI_EXIT_USAGE;
			}
			o->sock_min_age = optarg;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'r':
			if (parse_number(optarg, LD_CLI_REFRESH_MIN, 3600, &o->refresh) < 0) {
				fprintf(stderr,
					"lingerd top: --refresh must be from %g to 3600 seconds\n",
					LD_CLI_REFRESH_MIN);
				return CLI_EXIT_USAGE;
			}
			break;
		case 's':
			o->sort = screen_sort_parse(optarg);
			if (o->sort < 0) {
				fprintf(stderr,
					"lingerd top: --sort must be count, age or growth\n");
				return CLI_EXIT_USAGE;
			}
			break;
		case 'S':
			o->state = optarg;
			break;
		case 'p':
			o->port = optarg;
			break;
		case 'P':
			o->pid = optarg;
			break;
		case 'c':
			o->comm = optarg;
			break;
		case 'f':
			o->family = optarg;
			break;
		case 'l':
			o->limit = optarg;
			break;
		case 'C':
			o->csv = 1;
			break;
		case 'h':
			usage(stdout, cmd);
			exit(0);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lingerd %s: unexpected argument '%s'\n", cmd, argv[optind]);
		usage(stderr, cmd);
		return CLI_EXIT_USAGE;
	}
	return 0;
}

static int use_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && nc[0]);
}

static int run_status(const struct client *c, const struct cli_opts *o)
{
	struct screen_style st = { .color = use_color(), .max_offenders = LD_CLI_STATUS_OFFENDERS };
	struct screen v;
	char why[320];
	int err;

	err = screen_fetch(c, o->min_age, &v, why, sizeof(why));
	if (err < 0) {
		cli_report(c, err, why);
		return CLI_EXIT_UNAVAILABLE;
	}
	if (o->json) {
		cJSON *doc = screen_json(c, &v);
		char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;

		if (text)
			printf("%s\n", text);
		free(text);
		cJSON_Delete(doc);
		if (!text) {
			screen_free(&v);
			fprintf(stderr, "lingerd status: out of memory\n");
			return CLI_EXIT_UNAVAILABLE;
		}
	} else {
		screen_render(stdout, c, &v, &st);
	}
	err = screen_critical(&v) > 0 ? CLI_EXIT_CRITICAL : 0;
	screen_free(&v);
	return fflush(stdout) == 0 ? err : CLI_EXIT_UNAVAILABLE;
}

/* The path of /api/v1/sockets with the filters given. */
static int sockets_path(const struct cli_opts *o, char *path, size_t n)
{
	int err = 0;

	snprintf(path, n, "/api/v1/sockets");
	if (o->state)
		err |= client_query_add(path, n, "state", o->state);
	if (o->port)
		err |= client_query_add(path, n, "port", o->port);
	if (o->pid)
		err |= client_query_add(path, n, "pid", o->pid);
	if (o->comm)
		err |= client_query_add(path, n, "comm", o->comm);
	if (o->sock_min_age)
		err |= client_query_add(path, n, "min_age", o->sock_min_age);
	if (o->family)
		err |= client_query_add(path, n, "family", o->family);
	if (o->limit)
		err |= client_query_add(path, n, "limit", o->limit);
	if (o->csv)
		err |= client_query_add(path, n, "format", "csv");
	return err ? -E2BIG : 0;
}

#define SOCK_COLS 8

static void endpoint(const cJSON *ep, const char *family, char *buf, size_t n)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(ep, "addr");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(ep, "port");
	int v6 = family && strcmp(family, "ipv6") == 0;

	snprintf(buf, n, "%s%s%s:%.0f", v6 ? "[" : "", cJSON_IsString(a) ? a->valuestring : "?",
		 v6 ? "]" : "", cJSON_IsNumber(p) ? p->valuedouble : 0);
}

/* One row of the table: every cell a malloc'd, printable string. */
static void socket_row(const cJSON *s, char *cell[SOCK_COLS])
{
	const cJSON *pid = cJSON_GetObjectItemCaseSensitive(s, "pid");
	const cJSON *closed = cJSON_GetObjectItemCaseSensitive(s, "closed_by");
	const char *family = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "family"));
	const char *owner = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "owner"));
	const char *comm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "comm"));
	char buf[8][128];
	double age = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "age_s"));

	const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "state"));

	snprintf(buf[0], sizeof(buf[0]), "%s", state ? state : "?");
	snprintf(buf[1], sizeof(buf[1]), "%.0f",
		 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "rx_queue")));
	snprintf(buf[2], sizeof(buf[2]), "%.0f",
		 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "tx_queue")));
	endpoint(cJSON_GetObjectItemCaseSensitive(s, "local"), family, buf[3], sizeof(buf[3]));
	endpoint(cJSON_GetObjectItemCaseSensitive(s, "remote"), family, buf[4], sizeof(buf[4]));
	screen_format_age(isnan(age) ? -1 : age, buf[5], sizeof(buf[5]));
	if (comm && cJSON_IsNumber(pid))
		snprintf(buf[6], sizeof(buf[6]), "%s,pid=%.0f", comm, pid->valuedouble);
	else if (owner && strcmp(owner, "orphan") == 0)
		snprintf(buf[6], sizeof(buf[6]), "orphan");
	else
		snprintf(buf[6], sizeof(buf[6]), "uid=%.0f",
			 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "uid")));
	if (cJSON_IsString(closed))
		snprintf(buf[7], sizeof(buf[7]), "%s", closed->valuestring);
	else
		snprintf(buf[7], sizeof(buf[7]), "%s", cJSON_IsNull(closed) || !closed ? "-" : "?");
	for (int i = 0; i < SOCK_COLS; i++) {
		char *p = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&p, &len);

		if (m) {
			screen_put_text(m, buf[i]);
			fclose(m);
		}
		cell[i] = p;
	}
}

/* Writes CSV to stdout with every C0 control but CR, LF and tab, and DEL, as '?'. */
static void write_csv_text(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		putchar((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f ? '?' : c);
	}
}

/* Queues right-aligned as ss prints them, the rest left-aligned, the last cell unpadded. */
static void print_cell(int k, int ncols, size_t width, const char *text)
{
	if (k == ncols - 1)
		printf("%s\n", text);
	else if (k == 1 || k == 2)
		printf("%*s ", (int)width, text);
	else
		printf("%-*s ", (int)width, text);
}

static int run_sockets(const struct client *c, const struct cli_opts *o)
{
	static const char *const head[SOCK_COLS] = {
		"State", "Recv-Q", "Send-Q",   "Local Address:Port", "Peer Address:Port",
		"Age",   "Owner",  "Closed-By"
	};
	char path[LD_MAX_URL_LEN], why[320];
	const cJSON *socks, *s;
	cJSON *doc = NULL;
	char *(*rows)[SOCK_COLS] = NULL;
	size_t n, i = 0, width[SOCK_COLS];
	int err, ncols = SOCK_COLS - 1, rc = 0;

	if (sockets_path(o, path, sizeof(path)) < 0) {
		fprintf(stderr, "lingerd sockets: the filters are too long\n");
		return CLI_EXIT_USAGE;
	}
	if (o->csv) {
		struct client_reply r;

		err = client_get(c, path, &r);
		if (err == 0 && r.status != 200) {
			cJSON *e = cJSON_ParseWithLength(r.body, r.len);
			const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(e, "error"), "message"));

			snprintf(why, sizeof(why), "%s answered %d%s%s", "/api/v1/sockets",
				 r.status, m ? ": " : "", m ? m : "");
			cJSON_Delete(e);
			err = r.status == 401 ? -EACCES : r.status == 400 ? -EINVAL : -EIO;
			free(r.body);
			cli_report(c, err, why);
			return err == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_UNAVAILABLE;
		}
		if (err < 0) {
			cli_report(c, err, NULL);
			return CLI_EXIT_UNAVAILABLE;
		}
		/* Names in the CSV are other users' bytes: a terminal gets no control characters. */
		if (isatty(STDOUT_FILENO))
			write_csv_text(r.body, r.len);
		else
			fwrite(r.body, 1, r.len, stdout);
		free(r.body);
		return fflush(stdout) == 0 ? 0 : CLI_EXIT_UNAVAILABLE;
	}
	err = client_json(c, path, 0, &doc, why, sizeof(why));
	if (err < 0) {
		cli_report(c, err, why);
		return err == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_UNAVAILABLE;
	}
	socks = cJSON_GetObjectItemCaseSensitive(doc, "sockets");
	n = (size_t)cJSON_GetArraySize(socks);
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows) {
		rc = CLI_EXIT_UNAVAILABLE;
		goto out;
	}
	cJSON_ArrayForEach(s, socks)
	{
		/* The closed-by column appears when the daemon reports who closed first. */
		if (cJSON_GetObjectItemCaseSensitive(s, "closed_by"))
			ncols = SOCK_COLS;
		socket_row(s, rows[i++]);
	}
	for (int k = 0; k < ncols; k++) {
		width[k] = strlen(head[k]);
		for (i = 0; i < n; i++)
			if (rows[i][k] && strlen(rows[i][k]) > width[k])
				width[k] = strlen(rows[i][k]);
	}
	for (int k = 0; k < ncols; k++)
		print_cell(k, ncols, width[k], head[k]);
	for (i = 0; i < n; i++)
		for (int k = 0; k < ncols; k++)
			print_cell(k, ncols, width[k], rows[i][k] ? rows[i][k] : "?");
	{
		double matched = cJSON_GetNumberValue(
			cJSON_GetObjectItemCaseSensitive(doc, "matched"));

		if (!isnan(matched) && matched > (double)n)
			fprintf(stderr,
				"lingerd sockets: %zu of %.0f matching sockets shown (--limit)\n",
				n, matched);
	}
	rc = fflush(stdout) == 0 ? 0 : CLI_EXIT_UNAVAILABLE;
out:
	for (i = 0; rows && i < n; i++)
		for (int k = 0; k < SOCK_COLS; k++)
			free(rows[i][k]);
	free(rows);
	cJSON_Delete(doc);
	return rc;
}

int cli_main(int argc, char **argv)
{
	const char *cmd = argv[0];
	struct client c;
	struct cli_opts o;
	int rc, err;

	rc = parse_opts(cmd, argc, argv, &o);
	if (rc)
		return rc;
	if (client_init(&c, o.url) < 0) {
		fprintf(stderr,
			"lingerd %s: --url must be http:// on a loopback address (127.0.0.1, "
			"[::1] or localhost), with a port: '%s'\n",
			cmd, o.url);
		return CLI_EXIT_USAGE;
	}
	if (o.token_file && (err = client_token(&c, o.token_file)) < 0) {
		if (err == -EINVAL)
			fprintf(stderr,
				"lingerd %s: the token in %s must be one line of at least 16 characters without spaces\n",
				cmd, o.token_file);
		else
			fprintf(stderr, "lingerd %s: cannot read --token-file %s: %s\n", cmd,
				o.token_file, util_strerror(-err));
		return CLI_EXIT_USAGE;
	}
	if (strcmp(cmd, "status") == 0)
		rc = run_status(&c, &o);
	else if (strcmp(cmd, "top") == 0)
		rc = cli_top(&c, o.min_age, o.refresh, o.sort);
	else
		rc = run_sockets(&c, &o);
	client_free(&c);
	return rc;
}
