/* netns.h - the network namespaces of the host: found, named, and dumped through setns(). */
#ifndef LINGERD_NETNS_H
#define LINGERD_NETNS_H

#include <stddef.h>
#include <stdint.h>

#include "kstat.h"
#include "sock.h"

#define NETNS_MAX 1024 /* namespaces followed at once; more are left out and counted */
#define NETNS_SETTINGS_EVERY_S 60.0 /* sysctls change rarely: re-read inside each this often */

/* One namespace lingerd follows. */
struct netns {
	uint64_t id;     /* inode of the namespace: unique while it exists */
	char name[64];   /* file name under /run/netns, "docker:ID", "pid:PID", or "self" */
	char kind[8];    /* "self", "named", "docker" or "process" */
	int32_t pid;     /* a process inside it (0 when none was seen) */
	char comm[17];   /* that process's name */
	int fd;          /* open namespace file, for setns() */
	struct diag *diag; /* a sock_diag socket created inside the namespace */
	struct kstat_files kf; /* its /proc/net counter files, opened from inside it */
	struct kstat kstat;    /* its counters (each dump) and sysctls (every NETNS_SETTINGS_EVERY_S) */
	int have_kstat;
	double settings_at;    /* monotonic seconds of the last sysctl reading, 0: at open */
	int seen;        /* found by the last scan */
	int error;       /* -errno of the last failed open or dump, 0 when fine */
};

/* The set lingerd follows.  Owned by the sampler thread. */
struct netns_set {
	struct netns *v;
	size_t n;
	uint64_t self;     /* lingerd's own namespace */
	size_t left_out;   /* found beyond NETNS_MAX */
};

/* Reads lingerd's own namespace id (the inode of /proc/self/ns/net).  0 or -errno. */
int netns_self(uint64_t *id);

/*
 * Finds the namespaces of the host: files under /run/netns and /run/docker/netns, and the
 * namespace of every process (unique by inode).  New ones are opened (setns() in a short
 * thread, then a fresh netlink socket inside); vanished ones are closed and removed.  The
 * own namespace is not in the set: the regular capture covers it.  Needs CAP_SYS_ADMIN to
 * enter a namespace; those that cannot be entered stay listed with their error.
 * Returns 0 or -ENOMEM.
 */
int netns_scan(struct netns_set *set, const char *proc_root);

/*
 * Dumps every TCP socket of every followed namespace into out, with rec.netns set, and
 * reads each namespace's kernel counters (and, every NETNS_SETTINGS_EVERY_S of the
 * monotonic clock now, its sysctls) into ns->kstat.  A namespace whose dump fails keeps its
 * error and is skipped.  Returns 0 or -ENOMEM.
 */
int netns_dump(struct netns_set *set, struct sock_vec *out, int *partial, double now);

void netns_free(struct netns_set *set);

#endif
