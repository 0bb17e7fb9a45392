/* lab.h - real loopback sockets held in every observable TCP state, for demos and tests. */
#ifndef LINGERD_LAB_H
#define LINGERD_LAB_H

/*
 * Runs `lingerd lab [options]`.  argv[0] is "lab".  Builds the sockets, prints one line of
 * JSON describing them to stdout once every socket is in place (with --summary, a few lines
 * for people instead), holds them, and cleans up on SIGTERM/SIGINT or when the hold time ends.
 * `lab linger` and `lab reuseaddr` instead run a teardown demonstration once and print what
 * they observed (--json: as one line of JSON).  Returns the process exit status (0 success,
 * 64 bad usage, 1 failure).
 */
int lab_main(int argc, char **argv);

#endif
