/* log.c - one-line messages on stderr. */
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Set once at start-up, before any thread runs. */
static int log_quiet;

void log_set_quiet(int quiet)
{
	log_quiet = quiet;
}

static void log_line(int err, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (err < 0)
		fprintf(stderr, "lingerd: %s: %s\n", msg, util_strerror(-err));
	else
		fprintf(stderr, "lingerd: %s\n", msg);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_quiet)
		return;
	va_start(ap, fmt);
	log_line(0, fmt, ap);
	va_end(ap);
}

void log_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(err, fmt, ap);
	va_end(ap);
}
