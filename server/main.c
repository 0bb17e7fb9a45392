/* main.c - the lingerd process: command line, start-up, signals and an orderly shutdown. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "commit.h"
#include "http.h"
#include "lab.h"
#include "limits.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "sampler.h"

#define EXIT_USAGE 64
#define EX_OSERR_FDS 71 /* EX_OSERR: not even /dev/null could be opened */

struct options {
	const char *listen;
	const char *db;
	double interval;
	int source;
	int once;
	double attribute_every;
	const char *web_root;
	struct metrics_config metrics;
	double persist_after;
	double retention;
	const char *hosts[LD_MAX_ALLOW_HOSTS];
	size_t n_hosts;
	const char *token_file;
	int netns_all;
	int events; /* --events auto (1) or off (0) */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lingerd [--listen ADDR:PORT] [--db PATH] [--interval SECONDS]\n"
		"               [--source auto|netlink|proc] [--attribution-interval SECONDS]\n"
		"               [--persist-after SECONDS] [--retention DURATION] [--netns self|all]\n"
		"               [--metrics-ports LIST] [--metrics-netns] [--allow-host NAME]...\n"
		"               [--token-file PATH] [--events auto|off]\n"
		"               [--web-root DIR] [--once] [--help] [--version]\n"
		"       lingerd lab [--count N] [--port BASE] [--hold SECONDS]   (lingerd lab --help)\n"
		"       lingerd demo [--lab-port BASE] [--json] [daemon options]\n"
		"                      the service (its own port and a fresh database) and the lab\n"
		"       lingerd status [--url URL] [--json]  health, findings and offenders on one screen\n"
		"       lingerd top [--url URL]              the same, redrawn in place\n"
		"       lingerd sockets [--url URL] [filters] [--csv]   the sockets, like ss\n"
		"       (each subcommand takes --help)\n"
		"\n"
		"  --listen ADDR:PORT  where to serve HTTP (default %s; port 0 picks one)\n"
		"  --db PATH           SQLite database (default ./lingerd.db)\n"
		"  --interval SECONDS  time between snapshots (default %g, minimum %g)\n"
		"  --source KIND       auto (netlink, falling back to /proc), netlink or proc\n"
		"  --attribution-interval SECONDS\n"
		"                      least time between walks of /proc/PID/fd to find which\n"
		"                      process holds a lingering socket (default %g; 0 turns it off)\n"
		"  --persist-after SECONDS\n"
		"                      record a socket's lifetime in the database once it has spent\n"
		"                      this long in a teardown state (default %g; 0 records every socket)\n"
		"  --retention DURATION\n"
		"                      keep history this long: 90m, 36h, 7d (default 7d; per-snapshot\n"
		"                      rows are kept at most a day, rollups for the whole duration)\n"
		"  --netns self|all    capture only lingerd's own network namespace (default), or\n"
		"                      every namespace of the host (containers; needs CAP_SYS_ADMIN)\n"
		"  --events auto|off   trace TCP teardowns in the kernel with eBPF (default auto: on\n"
		"                      when the build, kernel and privileges allow): who closed each\n"
		"                      TIME_WAIT, exact state changes, time per teardown step, resets\n"
		"  --metrics-netns     add per-namespace series to /metrics (one set per namespace)\n"
		"  --metrics-ports LIST\n"
		"                      comma list of local ports that get their own /metrics series\n"
		"                      (none by default, so the series count stays bounded)\n"
		"  --allow-host NAME   also answer requests whose Host is NAME (repeatable); loopback\n"
		"                      names and the bound address are always allowed\n"
		"  --token-file PATH   require 'Authorization: Bearer <token>' for the API and\n"
		"                      /metrics (needed to listen on a non-loopback address)\n"
		"  --web-root DIR      serve the page's files from DIR instead of the embedded\n"
		"                      copies (for working on the page)\n"
		"  --once              take one snapshot, print it as JSON and exit\n",
		LD_DEFAULT_LISTEN, LD_INTERVAL_DEFAULT, LD_INTERVAL_MIN, LD_ATTRIBUTION_DEFAULT,
		LD_PERSIST_AFTER_DEFAULT);
}

static int parse_seconds(const char *s, double min, double max, double *out)
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

/* "90m", "36h", "7d", "3600s" or plain seconds. */
static int parse_duration(const char *s, double *out)
{
	char *end;
	double d, unit = 1;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || !(d > 0))
		return -EINVAL;
	if (*end && end[1])
		return -EINVAL;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -EINVAL;
	}
	d *= unit;
	if (d < 60 || d > 3650.0 * 86400)
		return -EINVAL;
	*out = d;
	return 0;
}

/* Returns 0, or EXIT_USAGE after printing why; exits 0 for --help and --version. */
static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "interval", required_argument, NULL, 'i' },
		{ "source", required_argument, NULL, 's' },
		{ "once", no_argument, NULL, '1' },
		{ "attribution-interval", required_argument, NULL, 'a' },
		{ "web-root", required_argument, NULL, 'w' },
		{ "metrics-ports", required_argument, NULL, 'm' },
		{ "persist-after", required_argument, NULL, 'p' },
		{ "retention", required_argument, NULL, 'r' },
		{ "allow-host", required_argument, NULL, 'H' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "netns", required_argument, NULL, 'N' },
		{ "metrics-netns", no_argument, NULL, 'X' },
		{ "events", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->listen = LD_DEFAULT_LISTEN;
	o->db = "lingerd.db";
	o->interval = LD_INTERVAL_DEFAULT;
	o->source = CAPTURE_AUTO;
	o->once = 0;
	o->attribute_every = LD_ATTRIBUTION_DEFAULT;
	o->web_root = NULL;
	memset(&o->metrics, 0, sizeof(o->metrics));
	o->persist_after = LD_PERSIST_AFTER_DEFAULT;
	o->retention = LD_RETENTION_DEFAULT;
	o->n_hosts = 0;
	o->token_file = NULL;
	o->netns_all = 0;
	o->events = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			o->listen = optarg;
			break;
		case 'd':
			o->db = optarg;
			break;
		case 'i':
			if (parse_seconds(optarg, LD_INTERVAL_MIN, LD_INTERVAL_MAX, &o->interval) <
			    0) {
				fprintf(stderr,
					"lingerd: --interval must be a number of seconds from %g to %g\n",
					LD_INTERVAL_MIN, LD_INTERVAL_MAX);
				return EXIT_USAGE;
			}
			break;
		case 's':
			o->source = capture_source_parse(optarg);
			if (o->source < 0) {
				fprintf(stderr,
					"lingerd: --source must be auto, netlink or proc\n");
				return EXIT_USAGE;
			}
			break;
		case '1':
			o->once = 1;
			break;
		case 'w':
			o->web_root = optarg;
			break;
		case 'p':
			if (parse_seconds(optarg, 0, LD_INTERVAL_MAX, &o->persist_after) < 0) {
				fprintf(stderr,
					"lingerd: --persist-after must be 0 or a number of seconds up to %g\n",
					LD_INTERVAL_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			if (parse_duration(optarg, &o->retention) < 0) {
				fprintf(stderr,
					"lingerd: --retention must be a duration from 1m to 3650d, like 90m, 36h or 7d\n");
				return EXIT_USAGE;
			}
			break;
		case 'H':
			if (o->n_hosts == LD_MAX_ALLOW_HOSTS || !optarg[0] ||
			    strlen(optarg) > 253) {
				fprintf(stderr, "lingerd: --allow-host takes up to %d names\n",
					LD_MAX_ALLOW_HOSTS);
				return EXIT_USAGE;
			}
			o->hosts[o->n_hosts++] = optarg;
			break;
		case 'T':
			o->token_file = optarg;
			break;
		case 'X':
			o->metrics.netns = 1;
			break;
		case 'E':
			if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "off") != 0) {
				fprintf(stderr, "lingerd: --events must be auto or off\n");
				return EXIT_USAGE;
			}
			o->events = strcmp(optarg, "auto") == 0;
			break;
		case 'N':
			if (strcmp(optarg, "self") != 0 && strcmp(optarg, "all") != 0) {
				fprintf(stderr, "lingerd: --netns must be self or all\n");
				return EXIT_USAGE;
			}
			o->netns_all = strcmp(optarg, "all") == 0;
			break;
		case 'm':
			if (metrics_parse_ports(&o->metrics, optarg) < 0) {
				fprintf(stderr,
					"lingerd: --metrics-ports takes up to %d distinct ports from 1 to 65535, comma-separated\n",
					METRICS_MAX_PORTS);
				return EXIT_USAGE;
			}
			break;
		case 'a':
			if (parse_seconds(optarg, 0, LD_INTERVAL_MAX, &o->attribute_every) < 0) {
				fprintf(stderr,
					"lingerd: --attribution-interval must be 0 or a number of seconds up to %g\n",
					LD_INTERVAL_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("lingerd %s (commit %s)\n", LINGERD_VERSION, LINGERD_COMMIT);
			exit(0);
		default:
			fprintf(stderr, "lingerd: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lingerd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

static int run_once(struct sampler *s)
{
	struct api_ctx ctx = {
		.feed = sampler_feed(s), .pool = NULL, .metrics = NULL, .web_root = NULL
	};
	struct api_response r;
	struct query q = { 0 };
	int err;

	struct snap *snap;

	err = sampler_step(s);
	snap = feed_current(sampler_feed(s));
	if (!snap) {
		log_err(err, "snapshot failed");
		return 1;
	}
	snap_put(snap);
	if (api_handle(&ctx, "GET", "/api/v1/snapshot", &q, 0, &r) < 0 || r.status != 200) {
		api_response_free(&r);
		return 1;
	}
	fwrite(r.body, 1, r.len, stdout);
	fputc('\n', stdout);
	api_response_free(&r);
	return err < 0 ? 1 : 0;
}

/* Reads the token: one line, at least 16 bytes, no spaces.  Returns a malloc'd string. */
static char *read_token(const char *path)
{
	char buf[512];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f) {
		log_err(-errno, "cannot read --token-file %s", path);
		return NULL;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) < 16 || strpbrk(buf, " \t")) {
		fprintf(stderr,
			"lingerd: the token in %s must be one line of at least 16 characters without spaces\n",
			path);
		return NULL;
	}
	return strdup(buf);
}

/* The signals the daemon takes with sigwait(), and what each is called in the log. */
static const struct {
	int sig;
	const char *name;
} handled[] = {
	{ SIGTERM, "SIGTERM" }, { SIGINT, "SIGINT" },   { SIGHUP, "SIGHUP" },
	{ SIGUSR1, "SIGUSR1" }, { SIGUSR2, "SIGUSR2" }, { SIGALRM, "SIGALRM" },
};

static const char *signal_name(int sig)
{
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		if (handled[i].sig == sig)
			return handled[i].name;
	return "a signal";
}

/*
 * SIGHUP, which daemons take as "re-read your configuration": lingerd re-reads its token
 * file, so a token can be rotated without a restart (logging goes to stderr, which the
 * service manager owns: there is no log file to reopen).  A token that does not read
 * well leaves the old one in place.
 */
static void reload(const struct options *o, struct http *h)
{
	char *token;

	if (!o->token_file) {
		log_info("SIGHUP: nothing to re-read (no --token-file)");
		return;
	}
	token = read_token(o->token_file);
	if (!token) {
		log_info("SIGHUP: keeping the current token");
		return;
	}
	if (http_set_token(h, token) == 0)
		log_info("SIGHUP: token re-read from %s", o->token_file);
	else
		log_info("SIGHUP: out of memory, keeping the current token");
	explicit_bzero(token, strlen(token));
	free(token);
}

/*
 * Waits for SIGTERM or SIGINT and returns it.  SIGHUP re-reads the token file; SIGUSR1,
 * SIGUSR2 and SIGALRM mean nothing to lingerd and are logged, instead of killing it as
 * their default actions would.
 */
static int wait_for_stop(const sigset_t *set, const struct options *o, struct http *h)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			return sig;
		if (sig == SIGHUP)
			reload(o, h);
		else
			log_info("%s ignored (SIGTERM or SIGINT stops lingerd)", signal_name(sig));
	}
}

static int run_daemon(const struct options *o)
{
	struct sampler_config cfg = {
		.interval_s = o->interval,
		.source = (enum capture_source)o->source,
		.db_path = o->db,
		.attribute_every_s = o->attribute_every,
		.persist_after_s = o->persist_after,
		.netns_all = o->netns_all,
		.events = o->events,
		.retention_s = o->retention,
		.raw_retention_s = o->retention < LD_RAW_RETENTION_MAX ? o->retention
								       : LD_RAW_RETENTION_MAX,
	};
	struct sampler *s = NULL;
	struct http *h = NULL;
	struct pool *pool = NULL;
	struct http_access acc = { 0 };
	char *token = NULL;
	struct api_ctx ctx;
	struct sockaddr_storage ss;
	socklen_t sslen;
	sigset_t set;
	char host[64];
	int err, sig = 0, rc = 1;

	if (http_parse_listen(o->listen, &ss, &sslen) < 0) {
		fprintf(stderr, "lingerd: --listen '%s' is not ADDR:PORT\n", o->listen);
		return EXIT_USAGE;
	}
	if (!o->once && !http_is_loopback(&ss) && !o->token_file) {
		fprintf(stderr,
			"lingerd: refusing to serve socket and process details on non-loopback address %s "
			"without --token-file\n",
			o->listen);
		return EXIT_USAGE;
	}
	if (o->token_file && !(token = read_token(o->token_file)))
		return EXIT_USAGE;
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	acc.hosts = o->hosts;
	acc.n_hosts = o->n_hosts;
	acc.bound = host;
	acc.token = token;
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Past RLIMIT_FSIZE a write raises SIGXFSZ, whose default action kills us; ignored, the
	 * write fails with EFBIG instead, SQLite reports it, and /healthz says degraded.
	 */
	signal(SIGXFSZ, SIG_IGN);
	/*
	 * Memory handed back after a flood: a fixed mmap threshold keeps answers of megabytes
	 * (sockets?limit=10000) in their own mappings, returned on free, instead of letting
	 * glibc raise the threshold and keep them in the heap; two arenas instead of one per
	 * HTTP worker keep what the workers free in fewer places.
	 */
	mallopt(M_MMAP_THRESHOLD, LD_MMAP_THRESHOLD);
	mallopt(M_ARENA_MAX, LD_MALLOC_ARENAS);

	if (sampler_open(&s, &cfg) < 0)
		goto out;
	if (o->once) {
		/* Signals keep their default actions: Ctrl-C interrupts a long snapshot. */
		rc = run_once(s);
		goto out;
	}
	/*
	 * Signals are taken by sigwait() below; every thread created from here on inherits the
	 * mask (the namespace threads sampler_open() ran have ended).  Signals that would kill
	 * the daemon by default and that operators send by habit are taken too.
	 */
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&set, handled[i].sig);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	err = sampler_step(s);
	if (err < 0)
		log_err(err, "first snapshot failed");
	err = pool_open(&pool, o->db);
	if (err < 0)
		goto out;
	ctx.feed = sampler_feed(s);
	ctx.pool = pool;
	ctx.web_root = o->web_root;
	ctx.metrics = &o->metrics;
	err = http_start(&h, &ss, sslen, &ctx, &acc);
	if (err < 0) {
		log_err(err, "cannot listen on %s", o->listen);
		goto out;
	}
	err = sampler_start(s);
	if (err < 0) {
		log_err(err, "cannot start the sampler");
		goto out;
	}
	printf(ss.ss_family == AF_INET6 ? "listening on http://[%s]:%u\n"
					: "listening on http://%s:%u\n",
	       host, http_port(h));
	fflush(stdout);
	{
		struct feed_status st;

		feed_status(sampler_feed(s), &st);
		log_info("sampling every %gs from %s into %s", o->interval, st.source, o->db);
	}

	sig = wait_for_stop(&set, o, h);
	log_info("%s: shutting down", signal_name(sig));
	http_quiesce(h);
	if (sampler_stop_within(s, LD_SHUTDOWN_DB_WAIT_S) < 0) {
		/*
		 * The snapshot in flight is stuck in a write (a frozen or failing disk).  Every
		 * committed snapshot is safe in the WAL; waiting longer would only hold up the stop.
		 */
		log_info("the database did not answer within %gs: exiting without the snapshot in "
			 "flight",
			 LD_SHUTDOWN_DB_WAIT_S);
		http_stop(h);
		fflush(NULL);
		_exit(0);
	}
	rc = 0;
out:
	http_stop(h);
	pool_close(pool);
	sampler_close(s);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	return rc;
}

/*
 * The demo runs beside a real lingerd (scripts/run.sh: 127.0.0.1:9471, ./lingerd.db) without
 * touching it: its own port, and a fresh database in a folder of its own, removed on exit,
 * so that no run ever mixes with another's history.  --listen and --db still override.
 */
#define DEMO_LISTEN "127.0.0.1:9472"
#define DEMO_DB_NAME "lingerd.db"
#define DEMO_LAB_COUNT "3"
#define DEMO_PATH_MAX 4096

static pid_t demo_child;
static volatile sig_atomic_t demo_lab_reaped, demo_lab_failed;
static char demo_dir[DEMO_PATH_MAX]; /* the fresh database's folder; "" once removed */

static void demo_stop_child(void)
{
	if (demo_child > 0 && !demo_lab_reaped) {
		kill(demo_child, SIGTERM);
		waitpid(demo_child, NULL, 0);
	}
}

/*
 * The lab fails by itself only when it cannot build its sockets (a port taken, say): a demo
 * without its lab would show nothing, so the service stops too, as after SIGTERM.  A lab that
 * exits 0 was stopped by a signal (Ctrl-C reaches both processes): nothing to add then.
 */
static void demo_on_child(int sig)
{
	int saved = errno, st;

	(void)sig;
	if (demo_child > 0 && waitpid(demo_child, &st, WNOHANG) == demo_child) {
		demo_lab_reaped = 1;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			demo_lab_failed = 1;
			kill(getpid(), SIGTERM);
		}
	}
	errno = saved;
}

/* Removes the fresh database with its WAL and journal files, then its folder. */
static void demo_remove_db(void)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char path[DEMO_PATH_MAX + 32];

	if (!demo_dir[0])
		return;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s%s", demo_dir, DEMO_DB_NAME, suffix[i]);
		unlink(path);
	}
	rmdir(demo_dir);
	demo_dir[0] = '\0';
}

/*
 * `lingerd demo [--lab-port BASE] [--json] [daemon options]`: the lab in a child process and
 * the service in this one.  The lab prints a few lines about what it holds (--json: its full
 * report, one long line); --lab-port moves its ports (default 31100..31113, 0: ephemeral).
 */
static int run_demo(int argc, char **argv)
{
	static char db_unset[] = "";
	char *lab_argv[] = { "lab", "--count", DEMO_LAB_COUNT, "--summary", NULL, NULL, NULL };
	int lab_argc = 4, dargc = 0, rc = EXIT_USAGE;
	char *lab_port = NULL;
	char **dargv = calloc((size_t)argc + 6, sizeof(*dargv));
	char db_path[DEMO_PATH_MAX + 32];
	sigset_t chld, old_mask;
	struct options o;

	if (!dargv) {
		log_err(-ENOMEM, "demo");
		return 1;
	}
	/* The demo's defaults come first, so that the same daemon options given later win. */
	dargv[dargc++] = argv[0];
	dargv[dargc++] = "--listen";
	dargv[dargc++] = DEMO_LISTEN;
	dargv[dargc++] = "--db";
	dargv[dargc++] = db_unset;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			lab_argc = 3; /* no --summary: the lab's own default, its JSON report */
		} else if (!strcmp(argv[i], "--lab-port") || !strncmp(argv[i], "--lab-port=", 11)) {
			lab_port = argv[i][10] == '=' ? argv[i] + 11
				   : i + 1 < argc     ? argv[++i]
						      : NULL;
			if (!lab_port) {
				fprintf(stderr, "lingerd demo: --lab-port needs a port\n");
				goto out;
			}
		} else {
			dargv[dargc++] = argv[i];
		}
	}
	if (lab_port) { /* the lab checks it, and says why it exits 64 */
		lab_argv[lab_argc++] = "--port";
		lab_argv[lab_argc++] = lab_port;
	}
	lab_argv[lab_argc] = NULL;
	rc = parse_args(dargc, dargv, &o);
	if (rc)
		goto out;
	if (o.db == db_unset) {
		const char *tmp = getenv("TMPDIR");

		snprintf(demo_dir, sizeof(demo_dir), "%s/lingerd-demo-XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(demo_dir)) {
			log_err(-errno, "cannot create a folder for the demo's database");
			demo_dir[0] = '\0';
			rc = 1;
			goto out;
		}
		snprintf(db_path, sizeof(db_path), "%s/%s", demo_dir, DEMO_DB_NAME);
		o.db = db_path;
		atexit(demo_remove_db);
		fprintf(stderr,
			"lingerd demo: a fresh database in %s, removed on exit (--db PATH "
			"keeps one)\n",
			db_path);
	}
	fflush(stdout);
	/*
	 * SIGCHLD waits until demo_child is set, so that a lab that fails at once is still seen;
	 * SIGTERM and SIGINT stay blocked for run_daemon()'s sigwait(), which blocks them too.
	 */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigaddset(&chld, SIGTERM);
	sigaddset(&chld, SIGINT);
	sigprocmask(SIG_BLOCK, &chld, &old_mask);
	signal(SIGCHLD, demo_on_child);
	demo_child = fork();
	if (demo_child < 0) {
		log_err(-errno, "fork");
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		rc = 1;
		goto out;
	}
	if (demo_child == 0) {
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		_exit(lab_main(lab_argc, lab_argv));
	}
	sigdelset(&chld, SIGTERM);
	sigdelset(&chld, SIGINT);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
	atexit(demo_stop_child);
	rc = run_daemon(&o);
	demo_stop_child();
	signal(SIGCHLD, SIG_DFL);
	demo_child = 0;
	if (demo_lab_failed) {
		fprintf(stderr,
			"lingerd demo: the lab stopped (see above), so the demo stops too\n");
		rc = 1;
	}
out:
	demo_remove_db();
	free(dargv);
	return rc;
}

/*
 * Started with stdin, stdout or stderr closed, the next open() would take that number and
 * log lines would land in the database.  /dev/null takes any that are closed.
 */
static void fds_safe(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) < 0)
			_exit(EX_OSERR_FDS);
	}
}

int main(int argc, char **argv)
{
	struct options o;
	int rc;

	fds_safe();

	if (argc > 1 && strcmp(argv[1], "lab") == 0)
		return lab_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "demo") == 0)
		return run_demo(argc - 1, argv + 1);
	if (argc > 1 && cli_is_command(argv[1]))
		return cli_main(argc - 1, argv + 1);
	rc = parse_args(argc, argv, &o);
	if (rc)
		return rc;
	if (o.once)
		log_set_quiet(1);
	return run_daemon(&o);
}
