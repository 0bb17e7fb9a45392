/* clock.h - the two clocks lingerd reads: wall time for display, a steady one for durations. */
#ifndef LINGERD_CLOCK_H
#define LINGERD_CLOCK_H

/* Wall-clock time in unix seconds (CLOCK_REALTIME): for display and stored timestamps. */
double clock_wall(void);

/* Seconds on the monotonic clock: for intervals and elapsed times. */
double clock_mono(void);

#endif
