/* clock.h - the two clocks lingerd reads: wall time for display, a steady one for durations. */
#ifndef LINGERD_CLOCK_H
#define LINGERD_CLOCK_H

/* Wall-clock time in unix seconds (CLOCK_REALTIME): for display and stored timestamps. */
double clock_wall(void);

/* Seconds on the monotonic clock: for intervals and condition-variable deadlines. */
double clock_mono(void);

/*
 * Seconds since boot, suspend included (CLOCK_BOOTTIME): never steps, so every duration
 * lingerd reports (ages, staleness, growth windows) is measured on it.
 */
double clock_boot(void);

#endif
