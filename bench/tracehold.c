/* tracehold.c - loads lingerd's teardown tracer and holds it until SIGTERM, for bench/tracecost.sh. */
#include <signal.h>
#include <stdio.h>

#include "events.h"

/* Prints "attached" (or "off: why" and exits 1), then waits: the tracer is attached meanwhile. */
int main(void)
{
	struct events *ev;
	char why[128];
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (events_open(&ev, why, sizeof(why)) < 0) {
		printf("off: %s\n", why);
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	sigwait(&set, &sig);
	events_close(ev);
	return 0;
}
