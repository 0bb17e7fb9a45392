/* dumpcount.c - the floor: a raw sock_diag dump of TCP (IPv4 and IPv6) that only counts states. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

/*
 * Independent of lingerd on purpose: it is the yardstick lingerd's capture is measured
 * against, so it must share none of its code.  It asks for the same states lingerd asks
 * for (1..11 and the request sockets, 12, counted as SYN_RECV), no extensions, and does
 * nothing with a reply but count it.
 */

#define DC_STATES 13   /* 0..12; 12 is TCP_NEW_SYN_RECV */
#define DC_NEW_SYN_RECV 12
#define DC_BUFSZ (256 * 1024)
#define DC_RCVBUF (4 * 1024 * 1024)
#define DC_MAX_REPEAT 10000

static const char *const state_names[DC_STATES] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT",  [3] = "SYN_RECV",   [4] = "FIN_WAIT_1",
	[5] = "FIN_WAIT_2",  [6] = "TIME_WAIT", [7] = "CLOSE",      [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK",    [10] = "LISTEN",   [11] = "CLOSING",
};

struct dc_counts {
	uint64_t state[DC_STATES];
	uint64_t total;
	int interrupted;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int dc_socket(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, sz = DC_RCVBUF;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* One dump of one family, counted into c.  Returns 0 or -errno. */
static int dc_dump(int fd, unsigned char *buf, int family, uint32_t states, uint32_t seq,
		   struct dc_counts *c)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = seq },
		.r = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = states },
	};
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, DC_BUFSZ, 0);
		struct nlmsghdr *h;
		size_t left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		left = (size_t)n;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			const struct inet_diag_msg *m;
			unsigned st;

			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_flags & NLM_F_DUMP_INTR)
				c->interrupted = 1;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error ? e->error : -EIO;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
			    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
				continue;
			m = NLMSG_DATA(h);
			st = m->idiag_state;
			if (st == DC_NEW_SYN_RECV)
				st = 3;
			if (st < DC_STATES)
				c->state[st]++;
			c->total++;
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dumpcount [--repeat N] [--gap SECONDS] [--states MASK] [--family 4|6|all]\n"
		   "Dumps every TCP socket of this network namespace over NETLINK_SOCK_DIAG and\n"
		   "prints one JSON line: counts per state of the last dump, each dump's time in\n"
		   "ms and their median.  --states takes an idiag_states bitmask (default 0x1ffe:\n"
		   "states 1..12, as lingerd asks).  --gap sleeps between dumps, so each one finds\n"
		   "the kernel's socket tables as cold as a sampler's dump once a second does.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repeat", required_argument, NULL, 'r' },
		{ "states", required_argument, NULL, 's' },
		{ "family", required_argument, NULL, 'f' },
		{ "gap", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct dc_counts c = { 0 };
	uint32_t states = 0x1ffe, seq = 0;
	long repeat = 1;
	double gap = 0;
	int fams[2] = { AF_INET, AF_INET6 }, nfam = 2, fd = -1, ch, rc = 1, err = 0;
	unsigned char *buf = NULL;
	double *ms = NULL, *sorted = NULL;
	char *end;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			repeat = strtol(optarg, &end, 10);
			if (*end || repeat < 1 || repeat > DC_MAX_REPEAT) {
				fprintf(stderr, "dumpcount: --repeat takes 1..%d\n", DC_MAX_REPEAT);
				return 64;
			}
			break;
		case 's':
			states = (uint32_t)strtoul(optarg, &end, 0);
			if (*end || !states) {
				fprintf(stderr, "dumpcount: --states takes a non-zero bitmask\n");
				return 64;
			}
			break;
		case 'f':
			if (strcmp(optarg, "4") == 0) {
				nfam = 1;
			} else if (strcmp(optarg, "6") == 0) {
				fams[0] = AF_INET6;
				nfam = 1;
			} else if (strcmp(optarg, "all") != 0) {
				fprintf(stderr, "dumpcount: --family takes 4, 6 or all\n");
				return 64;
			}
			break;
		case 'g':
			gap = strtod(optarg, &end);
			if (*end || gap < 0 || gap > 60) {
				fprintf(stderr, "dumpcount: --gap takes 0..60 seconds\n");
				return 64;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	buf = malloc(DC_BUFSZ);
	ms = calloc((size_t)repeat, sizeof(*ms));
	sorted = calloc((size_t)repeat, sizeof(*sorted));
	if (!buf || !ms || !sorted)
		goto out;
	fd = dc_socket();
	if (fd < 0) {
		err = fd;
		goto out;
	}
	for (long i = 0; i < repeat; i++) {
		double t0;

		if (i && gap > 0) {
			struct timespec ts = { (time_t)gap, (long)((gap - (double)(time_t)gap) * 1e9) };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		t0 = now_ms();

		memset(&c, 0, sizeof(c));
		for (int f = 0; f < nfam; f++) {
			err = dc_dump(fd, buf, fams[f], states, ++seq, &c);
			if (err < 0)
				goto out;
		}
		ms[i] = now_ms() - t0;
	}
	memcpy(sorted, ms, (size_t)repeat * sizeof(*ms));
	qsort(sorted, (size_t)repeat, sizeof(*sorted), cmp_double);

	printf("{\"counts\":{");
	for (int s = 1; s < DC_STATES; s++)
		if (state_names[s])
			printf("%s\"%s\":%llu", s > 1 ? "," : "", state_names[s],
			       (unsigned long long)c.state[s]);
	printf("},\"total\":%llu,\"interrupted\":%s,\"runs_ms\":[",
	       (unsigned long long)c.total, c.interrupted ? "true" : "false");
	for (long i = 0; i < repeat; i++)
		printf("%s%.3f", i ? "," : "", ms[i]);
	printf("],\"median_ms\":%.3f,\"min_ms\":%.3f}\n",
	       repeat % 2 ? sorted[repeat / 2] : (sorted[repeat / 2 - 1] + sorted[repeat / 2]) / 2,
	       sorted[0]);
	rc = 0;
out:
	if (err < 0)
		fprintf(stderr, "dumpcount: %s\n", strerror(-err));
	if (fd >= 0)
		close(fd);
	free(buf);
	free(ms);
	free(sorted);
	return rc;
}
