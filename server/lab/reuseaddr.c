/* reuseaddr.c - `lingerd lab reuseaddr`: bind() over a TIME_WAIT, with and without SO_REUSEADDR. */
#include "lab_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

/*
 * Leaves a TIME_WAIT on the server's (listener's) port: the server closes first.  The
 * accepted socket inherits SO_REUSEADDR from the listener, and so does its TIME_WAIT.
 */
static int demo_server_time_wait(uint16_t *port, int reuseaddr, struct lab_addr *local,
				 struct lab_addr *remote)
{
	int cfd, sfd, ret;

	ret = lab_pair_open(port, reuseaddr, 0, &cfd, &sfd);
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

static const struct {
	int old_reuse, new_reuse;
} cases[] = { { 1, 0 }, { 1, 1 }, { 0, 1 }, { 0, 0 } };
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

struct reuse_result {
	uint16_t port[2]; /* [0]: the old listener set SO_REUSEADDR, [1]: it did not */
	struct lab_addr local[2], remote[2];
	int tw[2];
	int bound[N_CASES];
};

static void print_json(const struct reuse_result *r)
{
	printf("{\"demo\":\"reuseaddr\",\"pid\":%d,\"family\":\"ipv4\",\"cases\":[", (int)getpid());
	for (size_t c = 0; c < N_CASES; c++) {
		int k = !cases[c].old_reuse;
		char l[INET6_ADDRSTRLEN], rm[INET6_ADDRSTRLEN];

		printf("%s{\"old_reuseaddr\":%s,\"new_reuseaddr\":%s,\"port\":%u,"
		       "\"time_wait\":{\"local\":\"%s\",\"lport\":%u,"
		       "\"remote\":\"%s\",\"rport\":%u,"
		       "\"count\":%d},\"bind\":\"%s\"}",
		       c ? "," : "", cases[c].old_reuse ? "true" : "false",
		       cases[c].new_reuse ? "true" : "false", r->port[k],
		       lab_addr_text(&r->local[k], l, sizeof(l)), r->local[k].port,
		       lab_addr_text(&r->remote[k], rm, sizeof(rm)), r->remote[k].port, r->tw[k],
		       r->bound[c] ? lab_errno_name(-r->bound[c]) : "ok");
	}
	printf("]}\n");
}

static void print_text(const struct reuse_result *r)
{
	int only_both = 1;

	printf("SO_REUSEADDR against a TIME_WAIT: a server on 127.0.0.1 closes a connection\n"
	       "first, which leaves a TIME_WAIT on its listening port for 60 s; then a new\n"
	       "socket tries to bind() and listen() on that port.\n");
	for (int k = 0; k < 2; k++) {
		char l[INET6_ADDRSTRLEN], rm[INET6_ADDRSTRLEN];

		printf("\nport %u: %d TIME_WAIT %s:%u -> %s:%u in /proc/net/tcp;\n"
		       "   the old listener %s SO_REUSEADDR\n",
		       r->port[k], r->tw[k], lab_addr_text(&r->local[k], l, sizeof(l)),
		       r->local[k].port, lab_addr_text(&r->remote[k], rm, sizeof(rm)),
		       r->remote[k].port, k ? "did not set" : "set");
		for (size_t c = 0; c < N_CASES; c++) {
			if (cases[c].old_reuse == k) /* k 0: the old one set it */
				continue;
			printf("   bind() %s SO_REUSEADDR: %s%s\n",
			       cases[c].new_reuse ? "with   " : "without",
			       r->bound[c] ? lab_errno_name(-r->bound[c]) : "ok",
			       r->bound[c] ? "" : " (the port is ours, TIME_WAIT or not)");
			if (!r->bound[c] != (cases[c].old_reuse && cases[c].new_reuse))
				only_both = 0;
		}
	}
	if (only_both)
		printf("\nbind() passed the TIME_WAIT only where both the new socket and the "
		       "TIME_WAIT's own socket\nhad SO_REUSEADDR: accepted sockets inherit it from "
		       "their listener, so a server that\nalways sets it before bind() can always "
		       "restart at once.\n");
	else
		printf("\nNote: this kernel let bind() pass in other cases than \"both had "
		       "SO_REUSEADDR\"; see above.\n");
}

int lab_demo_reuseaddr(int base, int json)
{
	struct reuse_result r;

	memset(&r, 0, sizeof(r));
	/* One TIME_WAIT per kind of old socket; each is probed by two binds. */
	for (int k = 0; k < 2; k++) {
		int ret;

		r.port[k] = base ? (uint16_t)(base + k) : 0;
		ret = demo_server_time_wait(&r.port[k], k == 0, &r.local[k], &r.remote[k]);
		if (!ret)
			ret = r.tw[k] = lab_proc_count(&r.local[k], &r.remote[k], SOCK_TIME_WAIT);
		if (ret < 0) {
			fprintf(stderr,
				"lingerd lab reuseaddr: cannot leave a TIME_WAIT: %s (%s)\n",
				lab_strerror(-ret), lab_errno_name(-ret));
			return LAB_EX_FAIL;
		}
	}
	for (size_t c = 0; c < N_CASES; c++)
		r.bound[c] = demo_bind(r.port[!cases[c].old_reuse], cases[c].new_reuse);
	if (json)
		print_json(&r);
	else
		print_text(&r);
	return fflush(stdout) ? LAB_EX_FAIL : LAB_EX_OK;
}
