/* The monotonic clock, read the one way everything here reads it, and plain sleeps. */
#ifndef KTSTR_CLOCK_H
#define KTSTR_CLOCK_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

/*
 * CLOCK_MONOTONIC in ns. A vDSO call while the clocksource is tsc (or
 * kvm-clock): no kernel entry, so workers call it in their hot loops
 * (bench/telemetry.lua measures the cost, strace -c confirms it).
 */
static inline uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline long long clock_now_ms(void)
{
	return (long long)(clock_now_ns() / 1000000);
}

/*
 * Sleeps s seconds. intr = 0 sleeps the whole time through signals; intr = 1
 * returns -EINTR when a signal comes first. 0 otherwise.
 */
static inline int clock_sleep(double s, int intr)
{
	struct timespec ts;

	if (s <= 0)
		return 0;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0) {
		if (errno != EINTR || intr)
			return -errno;
	}
	return 0;
}

#endif
