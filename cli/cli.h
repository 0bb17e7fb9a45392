/* cli.h - the terminal view: `lingerd status`, `lingerd top` and `lingerd sockets`. */
#ifndef LINGERD_CLI_H
#define LINGERD_CLI_H

#include <stdio.h>

#include "client.h"

/* Exit statuses of the terminal view, beside 0. */
#define CLI_EXIT_CRITICAL 1     /* status: a critical finding stands */
#define CLI_EXIT_USAGE 64       /* EX_USAGE: bad option or value */
#define CLI_EXIT_UNAVAILABLE 69 /* EX_UNAVAILABLE: the daemon did not answer as it should */

/* True when NAME ("status", "top", "sockets") is a subcommand of the terminal view. */
int cli_is_command(const char *name);

/*
 * Runs the subcommand argv[0] with its options; returns the process's exit status.  Prints
 * its own usage on --help and its errors on stderr.
 */
int cli_main(int argc, char **argv);

/* `lingerd top`: the status screen redrawn in place (top.c). */
int cli_top(const struct client *c, double min_age, double refresh, int sort);

/* Prints what went wrong talking to the daemon at c (err from client_json) on stderr. */
void cli_report(const struct client *c, int err, const char *why);

#endif
