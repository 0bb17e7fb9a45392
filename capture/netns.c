/* netns.c - finds the host's network namespaces and dumps each from a socket made inside it. */
#include "netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"

int netns_self(uint64_t *id)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return -errno;
	*id = (uint64_t)st.st_ino;
	return 0;
}

struct open_job {
	int fd;
	int open;              /* 1: open the diag socket and counter files; 0: only read sysctls */
	struct diag *diag;
	struct kstat_files kf;
	struct kstat *kstat;   /* sysctls land here */
	int err;
};

/*
 * setns() changes the namespace of the calling thread only, so a short-lived thread enters
 * the namespace and creates the netlink socket and opens the /proc/net counter files there;
 * both stay bound to that namespace whichever thread uses them afterwards.  Sysctls under
 * /proc/sys are those of the namespace of the thread that opens them, so they are read
 * inside as well.
 */
static void *open_inside(void *arg)
{
	struct open_job *j = arg;

	if (setns(j->fd, CLONE_NEWNET) < 0) {
		j->err = -errno;
		return NULL;
	}
	kstat_read_settings(j->kstat, "/proc");
	if (!j->open)
		return NULL;
	j->err = diag_open(&j->diag);
	if (!j->err)
		kstat_files_open(&j->kf, "/proc/thread-self/net");
	return NULL;
}

/* Runs open_inside in a thread of its own; returns its error (or pthread_create's). */
static int inside(struct open_job *j)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, open_inside, j);

	if (err)
		return -err;
	pthread_join(t, NULL);
	return j->err;
}

static int enter(struct netns *ns)
{
	struct open_job j = { .fd = ns->fd, .open = 1, .kf = { -1, -1, -1 }, .kstat = &ns->kstat };
	int err = inside(&j);

	ns->diag = j.diag;
	if (ns->diag)
		diag_bind_netns(ns->diag, ns->fd);
	ns->kf = j.kf;
	ns->settings_at = 0; /* just read: netns_dump() starts the clock */
	return err;
}

static void ns_close(struct netns *ns)
{
	diag_close(ns->diag);
	kstat_files_close(&ns->kf);
	close(ns->fd);
}

static struct netns *find(struct netns_set *set, uint64_t id)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i].id == id)
			return &set->v[i];
	return NULL;
}

static void read_comm(const char *proc_root, int32_t pid, char *comm, size_t len)
{
	char path[256];
	FILE *f;

	comm[0] = '\0';
	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

/*
 * Adds (or refreshes) the namespace of the file at path.  A namespace found under a name
 * keeps the name; one known only through processes is named after one of them.
 */
static int consider(struct netns_set *set, const char *proc_root, const char *path,
		    const char *name, const char *kind, int32_t pid)
{
	struct netns *ns;
	struct stat st;
	int fd;

	if (stat(path, &st) < 0 || (uint64_t)st.st_ino == set->self)
		return 0;
	ns = find(set, (uint64_t)st.st_ino);
	if (ns) {
		if (!ns->seen) {
			/* First sight in this scan: the process found now represents it. */
			ns->seen = 1;
			if (pid != ns->pid)
				ns->pid = 0;
		}
		if (strcmp(kind, "process") != 0) {
			snprintf(ns->name, sizeof(ns->name), "%s", name);
			snprintf(ns->kind, sizeof(ns->kind), "%s", kind);
		}
		/*
		 * When the process it was named after exits, another one represents it, but the
		 * name stays: history, trends and metric labels are keyed by it.
		 */
		if (pid && !ns->pid) {
			ns->pid = pid;
			read_comm(proc_root, pid, ns->comm, sizeof(ns->comm));
		}
		return 0;
	}
	if (set->n >= NETNS_MAX) {
		set->left_out++;
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	{
		struct netns *v = realloc(set->v, (set->n + 1) * sizeof(*v));

		if (!v) {
			close(fd);
			return -ENOMEM;
		}
		set->v = v;
	}
	ns = &set->v[set->n++];
	memset(ns, 0, sizeof(*ns));
	ns->id = (uint64_t)st.st_ino;
	ns->fd = fd;
	ns->kf = (struct kstat_files){ -1, -1, -1 };
	ns->pid = pid;
	ns->seen = 1;
	snprintf(ns->name, sizeof(ns->name), "%s", name);
	snprintf(ns->kind, sizeof(ns->kind), "%s", kind);
	if (pid)
		read_comm(proc_root, pid, ns->comm, sizeof(ns->comm));
	ns->error = enter(ns);
	return 0;
}

static int scan_dir(struct netns_set *set, const char *proc_root, const char *dir,
		    const char *prefix, const char *kind)
{
	char path[512], name[64];
	struct dirent *de;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) && !err) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(name, sizeof(name), "%s%.50s", prefix, de->d_name);
		err = consider(set, proc_root, path, name, kind, 0);
	}
	closedir(d);
	return err;
}

int netns_scan(struct netns_set *set, const char *proc_root)
{
	char path[512], name[64];
	struct dirent *de;
	size_t kept = 0;
	DIR *d;
	int err = 0;

	if (!set->self && netns_self(&set->self) < 0)
		return 0;
	for (size_t i = 0; i < set->n; i++)
		set->v[i].seen = 0;
	set->left_out = 0;
	/* Named namespaces first, so that they keep their file names. */
	err = scan_dir(set, proc_root, "/run/netns", "", "named");
	if (!err)
		err = scan_dir(set, proc_root, "/run/docker/netns", "docker:", "docker");
	d = opendir(proc_root);
	while (d && !err && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/ns/net", proc_root, de->d_name);
		snprintf(name, sizeof(name), "pid:%.20s", de->d_name);
		err = consider(set, proc_root, path, name, "process",
			       (int32_t)strtol(de->d_name, NULL, 10));
	}
	if (d)
		closedir(d);
	/* Namespaces that were not found again are gone: close them, keep the others in order. */
	for (size_t i = 0; i < set->n; i++) {
		if (!set->v[i].seen) {
			ns_close(&set->v[i]);
			continue;
		}
		set->v[kept++] = set->v[i];
	}
	set->n = kept;
	return err;
}

int netns_dump(struct netns_set *set, struct sock_vec *out, int *partial, double now)
{
	for (size_t i = 0; i < set->n; i++) {
		struct netns *ns = &set->v[i];
		size_t base = out->n;

		if (!ns->diag)
			continue;
		ns->error = diag_dump_all(ns->diag, out, partial);
		if (ns->error == -ENOMEM)
			return ns->error;
		if (ns->error) {
			out->n = base;
			continue;
		}
		for (size_t k = base; k < out->n; k++)
			out->v[k].netns = ns->id;
		ns->have_kstat = kstat_files_read(&ns->kf, &ns->kstat) == 0;
		if (!ns->settings_at) {
			ns->settings_at = now;
		} else if (now - ns->settings_at >= NETNS_SETTINGS_EVERY_S) {
			struct open_job j = { .fd = ns->fd, .kstat = &ns->kstat };

			inside(&j);
			ns->settings_at = now;
		}
	}
	return 0;
}

void netns_free(struct netns_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		ns_close(&set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}
