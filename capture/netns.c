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

#include "clock.h"
#include "diag.h"

/* A sysctl's value as a signed number (tcp_ehash_entries is negative in a sharing namespace). */
static int64_t read_sysctl(const char *path)
{
	char buf[32] = "";
	FILE *f = fopen(path, "re");
	int64_t v = 0;

	if (!f)
		return 0;
	if (fgets(buf, sizeof(buf), f))
		v = strtoll(buf, NULL, 10);
	fclose(f);
	return v;
}

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
	int open; /* 1: open the diag socket and counter files; 0: only read sysctls */
	struct diag *diag;
	struct kstat_files kf;
	struct kstat *kstat; /* sysctls land here */
	int64_t ehash;       /* tcp_ehash_entries inside */
	int snmp_fd, sockstat_fd;
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
	j->ehash = read_sysctl("/proc/sys/net/ipv4/tcp_ehash_entries");
	if (!j->open)
		return NULL;
	j->err = diag_open(&j->diag);
	if (j->err)
		return NULL;
	kstat_files_open(&j->kf, "/proc/thread-self/net");
	/* Own descriptors for the activity signature: read every interval, parsed apart. */
	j->snmp_fd = open("/proc/thread-self/net/snmp", O_RDONLY | O_CLOEXEC);
	j->sockstat_fd = open("/proc/thread-self/net/sockstat", O_RDONLY | O_CLOEXEC);
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
	struct open_job j = { .fd = ns->fd,
			      .open = 1,
			      .kf = { -1, -1, -1 },
			      .kstat = &ns->kstat,
			      .snmp_fd = -1,
			      .sockstat_fd = -1 };
	int err = inside(&j);

	ns->diag = j.diag;
	ns->ehash = j.ehash;
	ns->snmp_fd = j.snmp_fd;
	ns->sockstat_fd = j.sockstat_fd;
	ns->every = 1;
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
	if (ns->snmp_fd >= 0)
		close(ns->snmp_fd);
	if (ns->sockstat_fd >= 0)
		close(ns->sockstat_fd);
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
	ns->snmp_fd = ns->sockstat_fd = -1;
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

	if (!set->self) {
		if (netns_self(&set->self) < 0)
			return 0;
		snprintf(path, sizeof(path), "%s/sys/net/ipv4/tcp_child_ehash_entries", proc_root);
		set->child_ehash = access(path, R_OK) == 0 ? read_sysctl(path) : -1;
		snprintf(path, sizeof(path), "%s/sys/net/ipv4/tcp_ehash_entries", proc_root);
		set->self_ehash = read_sysctl(path);
	}
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

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 0x100000001b3ull;
	return h;
}

/* The line after the first one that starts with key (a /proc/net/snmp values line), or NULL. */
static const char *values_line(const char *buf, const char *key, size_t *len)
{
	const char *p = strstr(buf, key), *nl;

	if (!p || !(p = strchr(p, '\n')) || strncmp(p + 1, key, strlen(key)) != 0)
		return NULL;
	p++;
	nl = strchr(p, '\n');
	*len = nl ? (size_t)(nl - p) : strlen(p);
	return p;
}

/*
 * A signature of the namespace's own TCP activity: the Tcp values of /proc/net/snmp and the
 * inuse and tw fields of sockstat's TCP line (orphan and alloc are host-wide: left out).
 * 0 when they cannot be read, which makes the namespace due.
 */
static uint64_t activity(const struct netns *ns)
{
	char buf[4096];
	const char *p, *tw, *nl;
	uint64_t h = 0xcbf29ce484222325ull;
	ssize_t n;
	size_t len;

	if (ns->snmp_fd < 0 || ns->sockstat_fd < 0)
		return 0;
	n = pread(ns->snmp_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = values_line(buf, "Tcp:", &len);
	if (!p)
		return 0;
	h = fnv(h, p, len);
	n = pread(ns->sockstat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "TCP: inuse ");
	if (!p)
		return 0;
	nl = strchr(p, '\n');
	len = nl ? (size_t)(nl - p) : strlen(p);
	tw = strstr(p, " orphan ");
	if (!tw || tw > p + len)
		return 0;
	h = fnv(h, p, (size_t)(tw - p)); /* "TCP: inuse N" */
	tw = strstr(p, " tw ");
	if (tw && tw < p + len)
		h = fnv(h, tw, strcspn(tw + 4, " \n") + 4);
	return h ? h : 1;
}

/* A signature of a dump's sockets, whatever their order: what they are and their states. */
static uint64_t content(const struct sock_rec *v, size_t n)
{
	uint64_t sum = n;

	for (size_t i = 0; i < n; i++) {
		uint64_t x = v[i].cookie ^ ((uint64_t)v[i].state << 56) ^
			     (v[i].state == SOCK_LISTEN ? (uint64_t)v[i].rqueue << 32 : 0);

		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdull;
		x ^= x >> 33;
		sum += x;
	}
	return sum;
}

/* Dumps one namespace into out; 0, or its error (out unchanged), or -ENOMEM. */
static int dump_one(struct netns *ns, struct sock_vec *out, int *partial, double now,
		    unsigned max_every)
{
	size_t base = out->n;
	double t0 = clock_mono();
	uint64_t sig;

	ns->error = diag_dump_all(ns->diag, out, partial);
	ns->dump_ms = (clock_mono() - t0) * 1e3;
	if (ns->error) {
		out->n = base;
		ns->waited = 0; /* due again next call through its error, not within this one */
		return ns->error;
	}
	for (size_t k = base; k < out->n; k++)
		out->v[k].netns = ns->id;
	sig = content(out->v + base, out->n - base);
	ns->dumped = 1;
	ns->dumped_at = now;
	/* Quiet: the next turn is twice this one, which the budget may have made longer. */
	ns->every = ns->changed || sig != ns->content
			    ? 1
			    : 2 * (ns->waited > ns->every ? ns->waited : ns->every);
	if (ns->every > max_every)
		ns->every = max_every;
	ns->waited = 0;
	ns->content = sig;
	ns->changed = 0;
	ns->have_kstat = kstat_files_read(&ns->kf, &ns->kstat) == 0;
	if (!ns->settings_at) {
		ns->settings_at = now;
	} else if (now - ns->settings_at >= NETNS_SETTINGS_EVERY_S) {
		struct open_job j = { .fd = ns->fd, .kstat = &ns->kstat };

		if (inside(&j) == 0)
			ns->ehash = j.ehash;
		ns->settings_at = now;
	}
	return 0;
}

/* The followed namespace quiet and past its turn that has waited longest, or NULL. */
static struct netns *longest_waiting(struct netns_set *set)
{
	struct netns *best = NULL;

	for (size_t i = 0; i < set->n; i++) {
		struct netns *ns = &set->v[i];

		if (ns->diag && !ns->dumped && ns->waited >= ns->every &&
		    (!best || ns->waited > best->waited))
			best = ns;
	}
	return best;
}

int netns_dump(struct netns_set *set, struct sock_vec *out, int *partial, double now)
{
	unsigned max_every = set->max_every ? set->max_every : 1;
	size_t budget = (set->n + max_every - 1) / max_every;
	struct netns_round *r = &set->round;
	double t0 = clock_mono();
	struct netns *ns;
	int err;

	memset(r, 0, sizeof(*r));
	/* First what must be dumped now: new, failed, marked, moved, or at the bound. */
	for (size_t i = 0; i < set->n; i++) {
		uint64_t sig;

		ns = &set->v[i];
		ns->dumped = 0;
		if (!ns->diag)
			continue;
		ns->waited++;
		sig = activity(ns);
		if (!sig || sig != ns->activity)
			ns->changed = 1;
		ns->activity = sig;
		if (!ns->dumped_at || ns->error || ns->changed || ns->waited >= max_every) {
			err = dump_one(ns, out, partial, now, max_every);
			if (err == -ENOMEM)
				return err;
		}
	}
	/* Then quiet ones past their turn, spread: the longest-waiting first, within budget. */
	while (budget-- > 0 && (ns = longest_waiting(set))) {
		err = dump_one(ns, out, partial, now, max_every);
		if (err == -ENOMEM)
			return err;
	}
	for (size_t i = 0; i < set->n; i++) {
		ns = &set->v[i];
		if (!ns->diag)
			continue;
		if (ns->dumped && !ns->error)
			r->dumped++;
		else if (!ns->error)
			r->carried++;
		if (ns->dump_ms > r->slowest_ms) {
			r->slowest_ms = ns->dump_ms;
			r->slowest = ns->name;
		}
		r->full_ms += ns->dump_ms;
		r->shared += ns->ehash < 0;
	}
	r->ms = (clock_mono() - t0) * 1e3;
	return 0;
}

int netns_mark_changed(struct netns_set *set, uint64_t id)
{
	struct netns *ns = find(set, id);

	if (!ns)
		return -ENOENT;
	ns->changed = 1;
	return 0;
}

void netns_free(struct netns_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		ns_close(&set->v[i]);
	free(set->v);
	memset(set, 0, sizeof(*set));
}
