/* Burst-and-sleep work types: bursty, idle_churn. */
#define _GNU_SOURCE
#include <sys/prctl.h>

#include "work_loop.h"

enum { BURST_BURST, BURST_SLEEP, BURST_PRECISE };

/*
 * Spin for burst, then sleep; the wake latency is how far the wake came
 * after the end of the requested sleep. Sleeps longer than WORK_SLICE_NS
 * are cut into slices to the same absolute deadline (for the stop check),
 * so only the last slice's overshoot counts.
 */
static int burst_sleep_run(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t burst = (uint64_t)s->args[BURST_BURST];
	uint64_t sleep = (uint64_t)s->args[BURST_SLEEP];
	int64_t late;

	while (!work_stopped(c)) {
		if (work_spin_until(c, clock_now_ns() + burst, 1))
			break;
		late = work_sleep_until(c, clock_now_ns() + sleep);
		if (late < 0)
			break;
		telem_wake(c->t, (uint64_t)late);
		telem_checkpoint(c->t, 0);
	}
	return 0;
}

static const struct work_param bursty_params[] = {
	[BURST_BURST] = { "burst_duration", WP_NS, 50000000, 1, WORK_NS_MAX,
			  "time spinning per cycle" },
	[BURST_SLEEP] = { "sleep_duration", WP_NS, 100000000, 1, WORK_NS_MAX,
			  "time asleep per cycle" },
};

const struct work_type work_bursty = {
	.name = "bursty",
	.unit = "1024 spins (in bursts)",
	.params = bursty_params,
	.nparams = 2,
	.blocking = 1,
	.run = burst_sleep_run,
};

/*
 * idle_churn: short bursts and short nanosleeps (hrtimer wakes out of
 * idle). precise_timing sets a 1 ns timer slack so the overshoot measures
 * the scheduler rather than the default 50 us slack.
 */
static int idle_churn_run(struct work_ctx *c, const struct work_spec *s)
{
	int old = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	int rc;

	if (s->args[BURST_PRECISE] && prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0) < 0)
		return -errno;
	rc = burst_sleep_run(c, s);
	if (s->args[BURST_PRECISE] && old > 0)
		prctl(PR_SET_TIMERSLACK, old, 0, 0, 0);
	return rc;
}

static const struct work_param idle_churn_params[] = {
	[BURST_BURST] = { "burst_duration", WP_NS, 1000000, 1, WORK_NS_MAX,
			  "time spinning per cycle" },
	[BURST_SLEEP] = { "sleep_duration", WP_NS, 5000000, 1, WORK_NS_MAX,
			  "time asleep per cycle (nanosleep)" },
	[BURST_PRECISE] = { "precise_timing", WP_BOOL, 0, 0, 1,
			    "set the timer slack to 1 ns (PR_SET_TIMERSLACK)" },
};

const struct work_type work_idle_churn = {
	.name = "idle_churn",
	.unit = "1024 spins (in bursts)",
	.params = idle_churn_params,
	.nparams = 3,
	.blocking = 1,
	.run = idle_churn_run,
};
