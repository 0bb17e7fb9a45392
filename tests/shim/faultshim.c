/*
 * faultshim.c - an LD_PRELOAD library for the tests: shifts lingerd's wall clock and fails
 * netlink receives on demand, steered at run time through files in $LINGERD_FAULT_DIR:
 *   realtime_offset   seconds (may be negative, fractional) added to CLOCK_REALTIME,
 *                     gettimeofday() and time(); the steady clocks are left alone
 *   netns_recv_fail   "N INODE": the next N receives on netlink sockets that live in the
 *                     network namespace whose inode is INODE (any namespace but the process's
 *                     own when INODE is 0 or absent) fail with ENOBUFS; N in the file goes
 *                     down as they do
 *   boottime_offset   seconds added to CLOCK_BOOTTIME (the clock lingerd's durations run
 *                     on), so that a test need not wait for ages and windows to pass;
 *                     CLOCK_MONOTONIC, which paces the sampling loop, is left alone
 *   wal_write_fail    "T0 T1": every write to a file whose name ends in "-wal" (SQLite's
 *                     write-ahead log) fails with EIO while T0 <= the shifted wall clock < T1,
 *                     so that a snapshot's transaction fails at its commit
 * The files are re-read at most every 20 ms of the monotonic clock.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#define REREAD_NS 20000000LL

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long long last_read_ns = -1;
static double offset_s, boot_offset_s;
static long fail_left;
static unsigned long long fail_ns;
static double wal_fail_from, wal_fail_to;
static __thread int in_shim; /* the shim's own writes (write_count) are never failed */

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off64_t);

static void resolve(void)
{
	if (!real_clock_gettime)
		real_clock_gettime = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT,
										  "clock_gettime");
}

static int read_file(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("LINGERD_FAULT_DIR");
	char path[512];
	FILE *f;
	size_t n;

	if (!dir)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

static void write_count(long n)
{
	const char *dir = getenv("LINGERD_FAULT_DIR");
	char path[512], tmp[520];
	FILE *f;

	snprintf(path, sizeof(path), "%s/netns_recv_fail", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	in_shim = 1;
	fprintf(f, "%ld %llu\n", n, fail_ns);
	fclose(f);
	in_shim = 0;
	rename(tmp, path);
}

/* Re-reads the control files when they may have changed; call with lock held. */
static void refresh(void)
{
	struct timespec ts;
	long long now;
	char buf[64];

	resolve();
	real_clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	if (last_read_ns >= 0 && now - last_read_ns < REREAD_NS)
		return;
	last_read_ns = now;
	offset_s = read_file("realtime_offset", buf, sizeof(buf)) == 0 ? strtod(buf, NULL) : 0;
	boot_offset_s = read_file("boottime_offset", buf, sizeof(buf)) == 0 ? strtod(buf, NULL) : 0;
	fail_left = 0;
	fail_ns = 0;
	if (read_file("netns_recv_fail", buf, sizeof(buf)) == 0) {
		char *end;

		fail_left = strtol(buf, &end, 10);
		fail_ns = strtoull(end, NULL, 10);
	}
	wal_fail_from = wal_fail_to = 0;
	if (read_file("wal_write_fail", buf, sizeof(buf)) == 0) {
		char *end;

		wal_fail_from = strtod(buf, &end);
		wal_fail_to = strtod(end, NULL);
	}
}

/* Adds the offset of the wall clock (boot 0) or of the boot clock (boot 1) to ts. */
static void shift_by(struct timespec *ts, int boot)
{
	double off;
	long long ns;

	pthread_mutex_lock(&lock);
	refresh();
	off = boot ? boot_offset_s : offset_s;
	pthread_mutex_unlock(&lock);
	ns = ts->tv_nsec + (long long)(off * 1e9);
	ts->tv_sec += ns / 1000000000LL;
	ns %= 1000000000LL;
	if (ns < 0) {
		ns += 1000000000LL;
		ts->tv_sec--;
	}
	ts->tv_nsec = (long)ns;
}

static void shift(struct timespec *ts)
{
	shift_by(ts, 0);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int r;

	resolve();
	r = real_clock_gettime(id, ts);
	if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		shift(ts);
	else if (r == 0 && id == CLOCK_BOOTTIME)
		shift_by(ts, 1);
	return r;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

/* Non-zero when fd is a netlink socket of namespace fail_ns (or of any other than ours). */
static int foreign_netlink(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct stat mine, theirs;
	int nsfd, foreign;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 || ss.ss_family != AF_NETLINK)
		return 0;
	nsfd = ioctl(fd, SIOCGSKNS);
	if (nsfd < 0)
		return 0;
	foreign = fstat(nsfd, &theirs) == 0 && stat("/proc/self/ns/net", &mine) == 0 &&
		  theirs.st_ino != mine.st_ino &&
		  (!fail_ns || (unsigned long long)theirs.st_ino == fail_ns);
	close(nsfd);
	return foreign;
}

/* Non-zero when this receive is to fail: a foreign netlink socket while the count lasts. */
static int take_failure(int fd)
{
	int fail = 0;

	pthread_mutex_lock(&lock);
	refresh();
	if (fail_left > 0 && foreign_netlink(fd)) {
		fail = 1;
		write_count(--fail_left);
	}
	pthread_mutex_unlock(&lock);
	return fail;
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *flen)
{
	if (!real_recvfrom)
		real_recvfrom = (ssize_t (*)(int, void *, size_t, int, struct sockaddr *,
					     socklen_t *))dlsym(RTLD_NEXT, "recvfrom");
	if (take_failure(fd)) {
		errno = ENOBUFS;
		return -1;
	}
	return real_recvfrom(fd, buf, len, flags, from, flen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (!real_recvmsg)
		real_recvmsg = (ssize_t (*)(int, struct msghdr *, int))dlsym(RTLD_NEXT, "recvmsg");
	if (take_failure(fd)) {
		errno = ENOBUFS;
		return -1;
	}
	return real_recvmsg(fd, msg, flags);
}

/* Non-zero when a write to fd is to fail: fd is a WAL and the window is open now. */
static int wal_write_fails(int fd)
{
	struct timespec ts;
	char link[64], path[4096];
	double from, to, now;
	ssize_t n;

	if (in_shim)
		return 0;
	pthread_mutex_lock(&lock);
	refresh();
	from = wal_fail_from;
	to = wal_fail_to;
	pthread_mutex_unlock(&lock);
	if (to <= from)
		return 0;
	real_clock_gettime(CLOCK_REALTIME, &ts);
	shift(&ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (now < from || now >= to)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 4)
		return 0;
	path[n] = '\0';
	return strcmp(path + n - 4, "-wal") == 0;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	if (!real_write)
		real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (fd > 2 && wal_write_fails(fd)) {
		errno = EIO;
		return -1;
	}
	return real_write(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (!real_pwrite)
		real_pwrite = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT,
										  "pwrite");
	if (wal_write_fails(fd)) {
		errno = EIO;
		return -1;
	}
	return real_pwrite(fd, buf, len, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	if (!real_pwrite64)
		real_pwrite64 = (ssize_t (*)(int, const void *, size_t, off64_t))dlsym(RTLD_NEXT,
											"pwrite64");
	if (wal_write_fails(fd)) {
		errno = EIO;
		return -1;
	}
	return real_pwrite64(fd, buf, len, off);
}
