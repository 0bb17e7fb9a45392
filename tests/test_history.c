/* test_history.c - the top groups of a snapshot by local port and by process name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "history.h"

#define MAXS 4096

static struct snap_sock socks[MAXS];

static void add(struct snap *s, int state, uint16_t lport, uint64_t netns, uint32_t proc)
{
	struct snap_sock *x = &socks[s->n++];

	memset(x, 0, sizeof(*x));
	x->r.state = (uint8_t)state;
	x->r.lport = lport;
	x->r.netns = netns;
	x->proc = proc;
}

int main(void)
{
	uint32_t *scratch = calloc((size_t)65536 * SOCK_STATE_MAX, sizeof(uint32_t));
	struct hist_group out[HIST_TOP_GROUPS];
	struct snap s;
	size_t n;

	if (!scratch)
		return 1;
	/* Ports 1001..1030 hold 1..30 CLOSE_WAIT, port 1015 also 2 TIME_WAIT; noise around them. */
	memset(&s, 0, sizeof(s));
	s.socks = socks;
	for (int p = 1; p <= 30; p++)
		for (int k = 0; k < p; k++)
			add(&s, SOCK_CLOSE_WAIT, (uint16_t)(1000 + p), 0, 0);
	add(&s, SOCK_TIME_WAIT, 1015, 0, 0);
	add(&s, SOCK_TIME_WAIT, 1015, 0, 0);
	for (int k = 0; k < 100; k++)
		add(&s, SOCK_ESTABLISHED, 2000, 0, 0); /* not lingering */
	for (int k = 0; k < 100; k++)
		add(&s, SOCK_CLOSE_WAIT, 3000, 7, 0); /* another namespace */
	n = hist_top_groups(&s, GROUP_LOCAL_PORT, out, HIST_TOP_GROUPS, scratch);
	CHECK_INT(n, ==, HIST_TOP_GROUPS);
	/* 1030 (30) down to 1011 (11): 1015 holds 15 + 2 = 17 and ranks among the 17s. */
	CHECK_STR(out[0].key, "1030");
	CHECK_INT(out[0].total, ==, 30);
	CHECK_INT(out[0].counts[SOCK_CLOSE_WAIT], ==, 30);
	{
		int seen1015 = 0, smallest = 1000;

		for (size_t i = 0; i < n; i++) {
			if (i)
				CHECK(out[i].total <= out[i - 1].total);
			if (strcmp(out[i].key, "1015") == 0) {
				seen1015 = 1;
				CHECK_INT(out[i].total, ==, 17);
				CHECK_INT(out[i].counts[SOCK_TIME_WAIT], ==, 2);
			}
			if ((int)out[i].total < smallest)
				smallest = (int)out[i].total;
			CHECK(strcmp(out[i].key, "2000") != 0 && strcmp(out[i].key, "3000") != 0);
		}
		CHECK(seen1015);
		CHECK_INT(smallest, ==, 11); /* 1030..1016, 1015 (17), then 1014..1011 */
	}
	/* The scratch counters are all zero again. */
	{
		int dirty = 0;

		for (size_t i = 0; i < (size_t)65536 * SOCK_STATE_MAX; i++)
			dirty |= scratch[i] != 0;
		CHECK(!dirty);
	}

	/*
	 * Ties at the bottom are broken by the key's text: 25 ports of 3 sockets each, 95..119;
	 * "100" < ... < "119" < "95" < ... < "99", so 100..119 are kept.
	 */
	memset(&s, 0, sizeof(s));
	s.socks = socks;
	for (int p = 95; p < 120; p++)
		for (int k = 0; k < 3; k++)
			add(&s, SOCK_FIN_WAIT2, (uint16_t)p, 0, 0);
	n = hist_top_groups(&s, GROUP_LOCAL_PORT, out, HIST_TOP_GROUPS, scratch);
	CHECK_INT(n, ==, HIST_TOP_GROUPS);
	CHECK_STR(out[0].key, "100");
	CHECK_STR(out[19].key, "119");
	for (size_t i = 0; i < n; i++)
		CHECK(strlen(out[i].key) == 3);

	/* By process: names merge across pids; sockets without an owner do not count. */
	{
		struct snap_proc procs[3];

		memset(procs, 0, sizeof(procs));
		snprintf(procs[0].comm, sizeof(procs[0].comm), "web");
		procs[0].pid = 10;
		snprintf(procs[1].comm, sizeof(procs[1].comm), "web");
		procs[1].pid = 11;
		snprintf(procs[2].comm, sizeof(procs[2].comm), "db");
		procs[2].pid = 12;
		memset(&s, 0, sizeof(s));
		s.socks = socks;
		s.procs = procs;
		s.nprocs = 3;
		for (int k = 0; k < 4; k++)
			add(&s, SOCK_CLOSE_WAIT, 80, 0, 1);
		for (int k = 0; k < 3; k++)
			add(&s, SOCK_CLOSE_WAIT, 80, 0, 2);
		for (int k = 0; k < 5; k++)
			add(&s, SOCK_LAST_ACK, 5432, 0, 3);
		add(&s, SOCK_CLOSE_WAIT, 80, 0, 0);
		add(&s, SOCK_ESTABLISHED, 80, 0, 1);
		n = hist_top_groups(&s, GROUP_PROCESS, out, HIST_TOP_GROUPS, scratch);
		CHECK_INT(n, ==, 2);
		CHECK_STR(out[0].key, "web");
		CHECK_INT(out[0].total, ==, 7);
		CHECK_STR(out[1].key, "db");
		CHECK_INT(out[1].counts[SOCK_LAST_ACK], ==, 5);
	}
	free(scratch);
	return CHECK_DONE();
}
