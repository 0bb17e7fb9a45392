/* clock.c - wall and monotonic time in seconds as doubles. */
#include <time.h>

#include "clock.h"

static double read_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double clock_wall(void)
{
	return read_clock(CLOCK_REALTIME);
}

double clock_mono(void)
{
	return read_clock(CLOCK_MONOTONIC);
}

double clock_boot(void)
{
	return read_clock(CLOCK_BOOTTIME);
}
