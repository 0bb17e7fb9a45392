/* churn.c - opens and closes loopback TCP connections as fast as one process can, for bench/tracecost.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * Each connection: connect, accept, the client closes first, the server reads EOF and closes:
 * ten TCP state changes (client 7->2->1->4->5->7, server child 10->3->1->8->9->7, counted as
 * the tracer counts them).  The client's TIME_WAIT port is reused at once on loopback
 * (net.ipv4.tcp_tw_reuse=2, the default), so a run never runs out of ports.
 * Usage: churn SECONDS.  Prints one line of JSON: connections, seconds, CPU seconds.
 */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	double secs = argc > 1 ? strtod(argv[1], NULL) : 3.0, t0, c0, end;
	unsigned long n = 0;
	char b;
	int l = socket(AF_INET, SOCK_STREAM, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 128) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) < 0) {
		perror("churn: listen");
		return 1;
	}
	t0 = now();
	c0 = cpu();
	end = t0 + secs;
	while (n % 256 || now() < end) {
		int c = socket(AF_INET, SOCK_STREAM, 0), s;

		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("churn: connect");
			return 1;
		}
		s = accept(l, NULL, NULL);
		if (s < 0) {
			perror("churn: accept");
			return 1;
		}
		close(c);
		if (read(s, &b, 1) != 0) {
			fprintf(stderr, "churn: expected EOF\n");
			return 1;
		}
		close(s);
		n++;
	}
	printf("{\"connections\": %lu, \"seconds\": %.4f, \"cpu_seconds\": %.4f}\n", n, now() - t0,
	       cpu() - c0);
	close(l);
	return 0;
}
