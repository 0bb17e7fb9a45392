/* demo.c - two teardown demos: SO_LINGER against close(), SO_REUSEADDR against a TIME_WAIT. */
#include "lab_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

static const char *const abort_counters[] = { "TCPAbortOnData", "TCPAbortOnClose",
					      "TCPAbortOnLinger" };
#define N_ABORT_COUNTERS (sizeof(abort_counters) / sizeof(abort_counters[0]))

/* One loopback connection, listener closed; *port 0 picks one. */
static int demo_connect(uint16_t *port, int reuseaddr, int *cfd, int *sfd)
{
	int lfd, ret;

	*cfd = *sfd = -1;
	ret = lab_listener_open(AF_INET, port, 1, reuseaddr, 0, 0, &lfd);
	if (ret)
		return ret;
	ret = lab_connect_start(AF_INET, *port, 0, 0, cfd);
	if (!ret)
		ret = lab_connect_wait(*cfd, LAB_STEP_MS);
	if (!ret)
		ret = lab_accept_wait(lfd, LAB_STEP_MS, sfd);
	close(lfd);
	if (ret) {
		lab_close_abort(*cfd);
		lab_close_abort(*sfd);
		*cfd = *sfd = -1;
	}
	return ret;
}

enum linger_case { LC_PLAIN, LC_LINGER0, LC_UNREAD, LC_MAX };

static const char *const linger_case_names[LC_MAX] = {
	[LC_PLAIN] = "plain_close", [LC_LINGER0] = "linger_0", [LC_UNREAD] = "unread_data",
};

struct linger_result {
	struct lab_addr local, remote;
	const char *peer; /* what the peer's read saw: "eof" or an errno name */
	int time_wait;
	long long delta[N_ABORT_COUNTERS];
};

/*
 * The client closes first in all cases; plain: FIN, then TIME_WAIT on the client once the
 * server closes too; SO_LINGER {1,0}: RST at once, no TIME_WAIT; unread data: RST too.
 */
static int demo_linger_case(enum linger_case lc, uint16_t port, struct linger_result *res)
{
	long long before[N_ABORT_COUNTERS], after[N_ABORT_COUNTERS];
	struct pollfd p;
	int cfd, sfd, ret, n;
	char b[16];

	ret = demo_connect(&port, 1, &cfd, &sfd);
	if (ret)
		return ret;
	lab_addr_local(cfd, &res->local);
	lab_addr_remote(cfd, &res->remote);
	if (lc == LC_UNREAD) {
		if (send(sfd, "abc", 3, MSG_NOSIGNAL) != 3) {
			ret = -errno;
			goto out;
		}
		p = (struct pollfd){ .fd = cfd, .events = POLLIN };
		if (poll(&p, 1, LAB_STEP_MS) != 1) {
			ret = -ETIMEDOUT;
			goto out;
		}
	}
	ret = lab_mib_read("/proc/net/netstat", "TcpExt", abort_counters, N_ABORT_COUNTERS, before);
	if (ret)
		goto out;
	if (lc == LC_LINGER0) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		if (setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0) {
			ret = -errno;
			goto out;
		}
	}
	close(cfd);
	cfd = -1;
	p = (struct pollfd){ .fd = sfd, .events = POLLIN };
	if (poll(&p, 1, LAB_STEP_MS) != 1) {
		ret = -ETIMEDOUT;
		goto out;
	}
	n = (int)recv(sfd, b, sizeof(b), 0);
	res->peer = n == 0 ? "eof" : n < 0 ? lab_errno_name(errno) : "data";
	close(sfd); /* plain: the server's FIN moves the client to TIME_WAIT */
	sfd = -1;
	/* Settled: the client's tuple is TIME_WAIT (plain) or gone (reset). */
	if (lc == LC_PLAIN)
		ret = lab_proc_wait(&res->local, &res->remote, SOCK_TIME_WAIT, 1, LAB_STEP_MS);
	else
		ret = lab_proc_wait(&res->local, &res->remote, -1, 0, LAB_STEP_MS);
	if (ret)
		goto out;
	n = lab_proc_count(&res->local, &res->remote, SOCK_TIME_WAIT);
	if (n < 0) {
		ret = n;
		goto out;
	}
	res->time_wait = n;
	ret = lab_mib_read("/proc/net/netstat", "TcpExt", abort_counters, N_ABORT_COUNTERS, after);
	if (ret)
		goto out;
	for (size_t i = 0; i < N_ABORT_COUNTERS; i++)
		res->delta[i] = after[i] - before[i];
out:
	lab_close_abort(cfd);
	lab_close_abort(sfd);
	return ret;
}

int lab_demo_linger(int base)
{
	struct linger_result res[LC_MAX];
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

	memset(res, 0, sizeof(res));
	for (int lc = 0; lc < LC_MAX; lc++) {
		int ret = demo_linger_case(lc, base ? (uint16_t)(base + lc) : 0, &res[lc]);

		if (ret) {
			fprintf(stderr, "lingerd lab linger: case %s failed: %s (%s)\n",
				linger_case_names[lc], strerror(-ret), lab_errno_name(-ret));
			return LAB_EX_FAIL;
		}
	}
	printf("{\"demo\":\"linger\",\"pid\":%d,\"family\":\"ipv4\",\"closer\":\"client\","
	       "\"cases\":[",
	       (int)getpid());
	for (int lc = 0; lc < LC_MAX; lc++) {
		printf("%s{\"case\":\"%s\",\"so_linger\":%s,\"unread_bytes\":%d,"
		       "\"local\":\"%s\",\"lport\":%u,\"remote\":\"%s\",\"rport\":%u,"
		       "\"peer_read\":\"%s\",\"time_wait\":%d,\"counters\":{",
		       lc ? "," : "", linger_case_names[lc], lc == LC_LINGER0 ? "[1,0]" : "null",
		       lc == LC_UNREAD ? 3 : 0, lab_addr_text(&res[lc].local, l, sizeof(l)),
		       res[lc].local.port, lab_addr_text(&res[lc].remote, r, sizeof(r)),
		       res[lc].remote.port, res[lc].peer, res[lc].time_wait);
		for (size_t i = 0; i < N_ABORT_COUNTERS; i++)
			printf("%s\"%s\":%lld", i ? "," : "", abort_counters[i], res[lc].delta[i]);
		printf("}}");
	}
	printf("]}\n");
	return fflush(stdout) ? LAB_EX_FAIL : LAB_EX_OK;
}

/*
 * Leaves a TIME_WAIT on the server's (listener's) port: the server closes first.  The
 * accepted socket inherits SO_REUSEADDR from the listener, and so does its TIME_WAIT.
 */
static int demo_server_time_wait(uint16_t *port, int reuseaddr, struct lab_addr *local,
				 struct lab_addr *remote)
{
	int cfd, sfd, ret;

	ret = demo_connect(port, reuseaddr, &cfd, &sfd);
	if (ret)
		return ret;
	lab_addr_local(sfd, local);
	lab_addr_remote(sfd, remote);
	close(sfd);
	sfd = -1;
	ret = lab_wait_state(cfd, SOCK_CLOSE_WAIT, LAB_STEP_MS);
	if (!ret) {
		close(cfd);
		cfd = -1;
		ret = lab_proc_wait(local, remote, SOCK_TIME_WAIT, 1, LAB_STEP_MS);
	}
	lab_close_abort(cfd);
	return ret;
}

/* Binds (and listens) a fresh socket on the port; returns 0 or -errno. */
static int demo_bind(uint16_t port, int reuseaddr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, ret = 0;

	fd = lab_tcp_socket(AF_INET);
	if (fd < 0)
		return fd;
	ret = lab_set_int(fd, SOL_SOCKET, SO_REUSEADDR, reuseaddr);
	lab_loopback_sa(AF_INET, port, &ss, &len);
	if (!ret && (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1) < 0))
		ret = -errno;
	close(fd);
	return ret;
}

int lab_demo_reuseaddr(int base)
{
	static const struct {
		int old_reuse, new_reuse;
	} cases[] = { { 1, 0 }, { 1, 1 }, { 0, 1 }, { 0, 0 } };
	struct lab_addr local[2], remote[2];
	uint16_t port[2];
	int tw[2], bound[4];

	/* One TIME_WAIT per kind of old socket; each is probed by two binds. */
	for (int k = 0; k < 2; k++) {
		int ret;

		port[k] = base ? (uint16_t)(base + k) : 0;
		ret = demo_server_time_wait(&port[k], k == 0, &local[k], &remote[k]);
		if (!ret)
			ret = tw[k] = lab_proc_count(&local[k], &remote[k], SOCK_TIME_WAIT);
		if (ret < 0) {
			fprintf(stderr,
				"lingerd lab reuseaddr: cannot leave a TIME_WAIT: %s (%s)\n",
				strerror(-ret), lab_errno_name(-ret));
			return LAB_EX_FAIL;
		}
	}
	for (int c = 0; c < 4; c++)
		bound[c] = demo_bind(port[!cases[c].old_reuse], cases[c].new_reuse);
	printf("{\"demo\":\"reuseaddr\",\"pid\":%d,\"family\":\"ipv4\",\"cases\":[", (int)getpid());
	for (int c = 0; c < 4; c++) {
		int k = !cases[c].old_reuse;
		char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

		printf("%s{\"old_reuseaddr\":%s,\"new_reuseaddr\":%s,\"port\":%u,"
		       "\"time_wait\":{\"local\":\"%s\",\"lport\":%u,"
		       "\"remote\":\"%s\",\"rport\":%u,"
		       "\"count\":%d},\"bind\":\"%s\"}",
		       c ? "," : "", cases[c].old_reuse ? "true" : "false",
		       cases[c].new_reuse ? "true" : "false", port[k],
		       lab_addr_text(&local[k], l, sizeof(l)), local[k].port,
		       lab_addr_text(&remote[k], r, sizeof(r)), remote[k].port, tw[k],
		       bound[c] ? lab_errno_name(-bound[c]) : "ok");
	}
	printf("]}\n");
	return fflush(stdout) ? LAB_EX_FAIL : LAB_EX_OK;
}
