/* procmap.h - which process holds a socket: inode to pid through /proc/PID/fd, bounded. */
#ifndef LINGERD_PROCMAP_H
#define LINGERD_PROCMAP_H

#include "snap.h"

enum procmap_mode {
	PROCMAP_FULL = 0,    /* every process's fds could be read */
	PROCMAP_PARTIAL = 1, /* some processes' fds were not readable (no privileges) */
};

struct procmap_stats {
	uint64_t walks;    /* full /proc walks */
	uint64_t fds_read; /* readlink calls made by those walks */
	double last_walk_ms;
	double total_walk_ms;
	int mode; /* enum procmap_mode */
};

struct procmap;

/* proc_root is "/proc" (tests may point elsewhere).  Returns 0 and *out, or -ENOMEM. */
int procmap_open(struct procmap **out, const char *proc_root);
void procmap_close(struct procmap *pm);

/*
 * Fills snap_sock.proc and snap->procs for the sockets that want an owner: those with an
 * inode in a lingering state or LISTEN.  A socket whose key and inode were attributed in
 * prev keeps that owner without any /proc access.  It walks /proc/PID/fd, at most once
 * per min_walk_s seconds, when sockets are left whose owner was never looked for, and
 * every few intervals anyway to follow sockets handed to another process; a walk looks
 * up every wanted socket again.  A socket looked for and not found is not looked for again
 * until its state changes or the next walk.
 * Returns 0 or -ENOMEM; /proc errors only lower the mode to PROCMAP_PARTIAL.
 */
int procmap_attribute(struct procmap *pm, struct snap *snap, const struct snap *prev, double now,
		      double min_walk_s);

void procmap_stats(const struct procmap *pm, struct procmap_stats *out);

/* Non-zero for a socket that procmap_attribute() tries to attribute. */
int procmap_wants(const struct snap_sock *s);

#endif
