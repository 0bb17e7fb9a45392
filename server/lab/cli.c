/* cli.c - `lingerd lab` on the command line: options, usage, and which run or demo to start. */
#include "lab.h"
#include "lab_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void lab_usage(FILE *f)
{
	fprintf(f,
		"usage: lingerd lab [--count N] [--port BASE] [--hold SECONDS] "
		"[--family 4|6|both] [--summary]\n"
		"       lingerd lab linger [--port BASE] [--linger SECONDS] [--json]\n"
		"       lingerd lab reuseaddr [--port BASE] [--json]\n"
		"\n"
		"lab: holds loopback sockets in every observable TCP state (N of each,\n"
		"  default %d; scenario k listens on BASE+k, default BASE %d, 0 = ephemeral)\n"
		"  and prints one line of JSON describing them (--summary: a few lines for\n"
		"  people instead); holds until SIGTERM/SIGINT or SECONDS.\n"
		"linger: five closes, the three SO_LINGER settings among them, and what\n"
		"  each did: close()'s duration, FIN or RST, the states passed (l_linger\n"
		"  default %d s).\n"
		"reuseaddr: bind() on a port a TIME_WAIT holds, with and without\n"
		"  SO_REUSEADDR.\n"
		"The demos use 127.0.0.1, ports BASE.. (default 0: ephemeral), and print what\n"
		"they observed; --json prints it as one line of JSON.\n",
		LAB_COUNT_DEFAULT, LAB_PORT_DEFAULT, LAB_LINGER_DEFAULT_S);
}

/* Parses a decimal in [lo, hi]; 0 or -EINVAL. */
static int parse_num(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* Matches "--name value" or "--name=value"; advances *i over what it used. */
static int opt_match(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n))
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n])
		return 0;
	*val = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

static int lab_parse(int argc, char **argv, struct lab_opts *o)
{
	int i = 1;

	*o = (struct lab_opts){ .count = LAB_COUNT_DEFAULT,
				.base = LAB_PORT_DEFAULT,
				.hold_s = -1,
				.fam4 = 1,
				.fam6 = 1,
				.linger_s = LAB_LINGER_DEFAULT_S };
	if (i < argc && !strcmp(argv[i], "linger")) {
		o->demo = 1;
		o->base = 0;
		i++;
	} else if (i < argc && !strcmp(argv[i], "reuseaddr")) {
		o->demo = 2;
		o->base = 0;
		i++;
	}
	for (; i < argc; i++) {
		const char *v = NULL;
		const char *what = argv[i];

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		if (opt_match(argc, argv, &i, "--port", &v)) {
			if (parse_num(v, 0, 65536 - SCN_MAX, &o->base))
				goto bad;
		} else if (o->demo && !strcmp(argv[i], "--json")) {
			o->json = 1;
		} else if (!o->demo && !strcmp(argv[i], "--summary")) {
			o->summary = 1;
		} else if (o->demo == 1 && opt_match(argc, argv, &i, "--linger", &v)) {
			if (parse_num(v, 1, LAB_LINGER_MAX_S, &o->linger_s))
				goto bad;
		} else if (!o->demo && opt_match(argc, argv, &i, "--count", &v)) {
			if (parse_num(v, 1, LAB_COUNT_MAX, &o->count))
				goto bad;
		} else if (!o->demo && opt_match(argc, argv, &i, "--hold", &v)) {
			if (parse_num(v, 0, LAB_HOLD_MAX_S, &o->hold_s))
				goto bad;
		} else if (!o->demo && opt_match(argc, argv, &i, "--family", &v)) {
			if (v && !strcmp(v, "4"))
				o->fam6 = 0;
			else if (v && !strcmp(v, "6"))
				o->fam4 = 0;
			else if (!v || strcmp(v, "both"))
				goto bad;
		} else {
			fprintf(stderr, "lingerd lab: unknown argument '%s'\n", what);
			return -EINVAL;
		}
		continue;
bad:
		fprintf(stderr, "lingerd lab: bad value for %s: '%s'\n", what, v ? v : "(missing)");
		return -EINVAL;
	}
	return 0;
}

int lab_main(int argc, char **argv)
{
	struct lab_opts o;
	int ret;

	ret = lab_parse(argc, argv, &o);
	if (ret) {
		if (ret > 0) {
			lab_usage(stdout);
			return LAB_EX_OK;
		}
		lab_usage(stderr);
		return LAB_EX_USAGE;
	}
	if (o.demo == 1)
		return lab_demo_linger(o.base, o.linger_s, o.json);
	if (o.demo == 2)
		return lab_demo_reuseaddr(o.base, o.json);
	return lab_run_main(&o);
}
