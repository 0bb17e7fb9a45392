/* procmap.c - finds the process that holds a socket by walking /proc/PID/fd, rarely. */
#include "procmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMDLINE_MAX 4096
#define CAP_SYS_PTRACE_BIT 19
/* Owners are looked up again every this many attribution intervals. */
#define PROCMAP_REFRESH_WALKS 4

struct procmap {
	char root[256];
	int can_ptrace; /* CAP_SYS_PTRACE is in effect: fds we can list we can also read */
	double last_walk;
	struct procmap_stats stats;
};

/* Whether a capability is in the effective set (from /proc/self/status, no libcap). */
static int has_cap(int bit)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "CapEff:", 7) == 0)
			eff = strtoull(line + 7, NULL, 16);
	fclose(f);
	return (eff >> bit) & 1;
}

int procmap_open(struct procmap **out, const char *proc_root)
{
	struct procmap *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return -ENOMEM;
	snprintf(pm->root, sizeof(pm->root), "%s", proc_root);
	pm->can_ptrace = has_cap(CAP_SYS_PTRACE_BIT);
	pm->last_walk = -1e18;
	*out = pm;
	return 0;
}

void procmap_close(struct procmap *pm)
{
	free(pm);
}

void procmap_stats(const struct procmap *pm, struct procmap_stats *out)
{
	*out = pm->stats;
}

int procmap_wants(const struct snap_sock *s)
{
	return s->r.inode && (sock_state_lingering(s->r.state) || s->r.state == SOCK_LISTEN);
}

/* The states procmap_wants() accepts, as a bit mask: a per-socket test without a call. */
static uint32_t wanted_states(void)
{
	uint32_t m = 1u << SOCK_LISTEN;

	for (int st = 1; st < SOCK_STATE_MAX; st++)
		if (sock_state_lingering(st))
			m |= 1u << st;
	return m;
}

static int wants(const struct snap_sock *s, uint32_t mask)
{
	return s->r.inode && (mask >> (s->r.state & 31) & 1);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads at most cap-1 bytes of a small file; returns the length or -errno. */
static ssize_t read_small(int dirfd, const char *name, char *buf, size_t cap)
{
	ssize_t n, len = 0;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)len < cap - 1) {
		n = read(fd, buf + len, cap - 1 - (size_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

/* Fills comm, cmdline, uid and start time of a process; -errno when it is gone. */
static int proc_info(int piddir, int pid, struct snap_proc *p, char *cmdline)
{
	char stat[1024], status[4096];
	const char *rp, *uid;
	ssize_t n;
	int field;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	n = read_small(piddir, "stat", stat, sizeof(stat));
	if (n < 0)
		return (int)n;
	/* comm is between the first '(' and the last ')': it may itself hold ')' or spaces. */
	rp = strrchr(stat, ')');
	{
		const char *lp = strchr(stat, '(');

		if (!rp || !lp || rp < lp)
			return -EPROTO;
		n = rp - lp - 1;
		if (n > 16)
			n = 16;
		memcpy(p->comm, lp + 1, (size_t)n);
		p->comm[n] = '\0';
	}
	/* Field 22 is starttime; rp points at the end of field 2. */
	field = 2;
	for (const char *c = rp + 1; *c; c++) {
		if (*c == ' ' && ++field == 22) {
			p->start = strtoull(c + 1, NULL, 10);
			break;
		}
	}
	n = read_small(piddir, "status", status, sizeof(status));
	if (n > 0 && (uid = strstr(status, "\nUid:")))
		p->uid = (uint32_t)strtoul(uid + 5, NULL, 10);
	n = read_small(piddir, "cmdline", cmdline, CMDLINE_MAX);
	if (n < 0)
		n = 0;
	while (n > 0 && cmdline[n - 1] == '\0')
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (cmdline[i] == '\0')
			cmdline[i] = ' ';
	cmdline[n] = '\0';
	p->cmdline = cmdline;
	return 0;
}

/* Open-addressing set of wanted inodes -> position of the socket in the snapshot. */
struct want {
	uint64_t *inode;
	uint32_t *pos;
	size_t mask;
	size_t left;
};

static size_t want_slot(uint64_t inode, size_t mask)
{
	inode *= 0x9e3779b97f4a7c15ull;
	return (size_t)(inode >> 17) & mask;
}

static int want_init(struct want *w, size_t n)
{
	size_t size = 16;

	while (size < n * 2)
		size <<= 1;
	w->inode = calloc(size, sizeof(*w->inode));
	w->pos = calloc(size, sizeof(*w->pos));
	w->mask = size - 1;
	w->left = 0;
	if (!w->inode || !w->pos)
		return -ENOMEM;
	return 0;
}

static void want_free(struct want *w)
{
	free(w->inode);
	free(w->pos);
}

static void want_add(struct want *w, uint64_t inode, uint32_t pos)
{
	size_t i;

	for (i = want_slot(inode, w->mask); w->inode[i]; i = (i + 1) & w->mask)
		if (w->inode[i] == inode)
			return;
	w->inode[i] = inode;
	w->pos[i] = pos;
	w->left++;
}

/* Returns the position + 1 of the socket with this inode, removing it; 0 when not wanted. */
static uint32_t want_take(struct want *w, uint64_t inode)
{
	for (size_t i = want_slot(inode, w->mask); w->inode[i]; i = (i + 1) & w->mask) {
		if (w->inode[i] == inode && w->pos[i] != UINT32_MAX) {
			uint32_t pos = w->pos[i];

			w->pos[i] = UINT32_MAX; /* keep the slot so probing still works */
			w->left--;
			return pos + 1;
		}
	}
	return 0;
}

/* "socket:[12345]" -> 12345, or 0. */
static uint64_t socket_inode(const char *link, ssize_t n)
{
	uint64_t v = 0;

	if (n < 10 || memcmp(link, "socket:[", 8) != 0 || link[n - 1] != ']')
		return 0;
	for (ssize_t i = 8; i < n - 1; i++) {
		if (link[i] < '0' || link[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(link[i] - '0');
	}
	return v;
}

/*
 * Walks one process's fds, attributing every wanted socket it holds.  Processes of another
 * network namespace are skipped without reading their fds: their sockets are not in our
 * dump (a load generator in a netns can hold 100k fds).
 */
static int walk_pid(struct procmap *pm, struct snap *snap, struct want *w, int procfd,
		    const char *pidname, const char *netns, int *denied)
{
	char cmdline[CMDLINE_MAX], link[64];
	struct snap_proc info;
	uint32_t proc = 0;
	struct dirent *de;
	int piddir, fddir, err = 0, have_info = 0;
	DIR *d;

	piddir = openat(procfd, pidname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (piddir < 0)
		return 0;
	if (netns[0]) {
		ssize_t n = readlinkat(piddir, "ns/net", link, sizeof(link) - 1);

		if (n > 0) {
			link[n] = '\0';
			if (strcmp(link, netns) != 0) {
				close(piddir);
				return 0;
			}
		}
	}
	fddir = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fddir < 0) {
		if (errno == EACCES || errno == EPERM)
			*denied = 1;
		close(piddir);
		return 0;
	}
	d = fdopendir(fddir);
	if (!d) {
		close(fddir);
		close(piddir);
		return 0;
	}
	while ((de = readdir(d)) && w->left) {
		uint64_t inode;
		uint32_t pos;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		pm->stats.fds_read++;
		if (n < 0 && (errno == EACCES || errno == EPERM)) {
			/*
			 * Listing the fds is not reading them: without CAP_SYS_PTRACE we are
			 * blind to this process.  With it, a refusal is a process no one may
			 * inspect (a supervisor in another user namespace), not our shortfall.
			 */
			if (!pm->can_ptrace)
				*denied = 1;
			break;
		}
		if (n <= 0)
			continue;
		link[n] = '\0';
		inode = socket_inode(link, n);
		if (!inode || !(pos = want_take(w, inode)))
			continue;
		if (!have_info) {
			if (proc_info(piddir, (int)strtol(pidname, NULL, 10), &info, cmdline) < 0)
				break;
			have_info = 1;
			proc = snap_add_proc(snap, &info);
			if (!proc) {
				err = -ENOMEM;
				break;
			}
		}
		snap->socks[pos - 1].proc = proc;
	}
	closedir(d);
	close(piddir);
	return err;
}

static int walk(struct procmap *pm, struct snap *snap, struct want *w, int any_netns)
{
	struct dirent *de;
	int procfd, denied = 0, err = 0;
	double t0 = mono();
	char netns[64] = "";
	ssize_t n;
	DIR *d;

	procfd = open(pm->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return 0;
	n = any_netns ? 0 : readlinkat(procfd, "self/ns/net", netns, sizeof(netns) - 1);
	netns[n > 0 ? n : 0] = '\0';
	d = fdopendir(procfd);
	if (!d) {
		close(procfd);
		return 0;
	}
	while ((de = readdir(d)) && w->left && !err) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		err = walk_pid(pm, snap, w, dirfd(d), de->d_name, netns, &denied);
	}
	closedir(d);
	pm->stats.walks++;
	pm->stats.last_walk_ms = (mono() - t0) * 1e3;
	pm->stats.total_walk_ms += pm->stats.last_walk_ms;
	pm->stats.mode = denied ? PROCMAP_PARTIAL : PROCMAP_FULL;
	return err;
}

int procmap_attribute(struct procmap *pm, struct snap *snap, const struct snap *prev, double now,
		      double min_walk_s)
{
	struct want w = { 0 };
	size_t unresolved = 0, wanted = 0;
	uint32_t *remap = NULL; /* prev's process index -> snap's, 0 = not added yet */
	int err = 0, foreign = 0;
	/* snap_build() matched snap with prev already: follow that instead of looking up. */
	const uint32_t *from = prev && snap->from && snap->from_prev == prev ? snap->from : NULL;
	uint32_t mask = wanted_states();

	if (prev && prev->nprocs) {
		remap = calloc(prev->nprocs, sizeof(*remap));
		if (!remap)
			return -ENOMEM;
	}
	/* Carry owners over from the previous snapshot: no /proc access at all. */
	for (size_t i = 0; i < snap->n; i++) {
		struct snap_sock *s = &snap->socks[i];
		const struct snap_sock *old;

		if (!wants(s, mask))
			continue;
		wanted++;
		if (from)
			old = from[i] ? &prev->socks[from[i] - 1] : NULL;
		else
			old = prev ? snap_find(prev, s->key) : NULL;
		if (old && old->r.inode == s->r.inode && old->proc && old->proc <= prev->nprocs) {
			uint32_t *to = &remap[old->proc - 1];

			if (!*to)
				*to = snap_add_proc(snap, &prev->procs[old->proc - 1]);
			if (!*to) {
				free(remap);
				return -ENOMEM;
			}
			s->proc = *to;
			continue;
		}
		if (old && old->r.inode == s->r.inode && old->proc_tried &&
		    old->r.state == s->r.state) {
			s->proc_tried = 1;
			continue;
		}
		unresolved++;
	}
	free(remap);
	snap->attribution = pm->stats.mode;
	/*
	 * Walk when a socket's owner was never looked for, and now and then anyway: a socket
	 * passed to another process (fork, then close in the parent) keeps its inode and
	 * state, so nothing else would reveal its new owner.
	 */
	if (!wanted || now - pm->last_walk < min_walk_s ||
	    (!unresolved && now - pm->last_walk < PROCMAP_REFRESH_WALKS * min_walk_s))
		return 0;
	pm->last_walk = now;
	err = want_init(&w, wanted);
	if (err < 0)
		goto out;
	for (size_t i = 0; i < snap->n; i++) {
		struct snap_sock *s = &snap->socks[i];

		if (!wants(s, mask))
			continue;
		foreign |= s->r.netns != 0;
		s->proc = 0;
		s->proc_tried = 0;
		want_add(&w, s->r.inode, (uint32_t)i);
	}
	err = walk(pm, snap, &w, foreign);
	for (size_t i = 0; i < snap->n; i++) {
		struct snap_sock *s = &snap->socks[i];

		if (wants(s, mask) && !s->proc)
			s->proc_tried = 1;
	}
	snap->attribution = pm->stats.mode;
out:
	want_free(&w);
	return err;
}
