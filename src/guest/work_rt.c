/* RT work types: priority_inversion, rt_starvation, in RT bursts the guest survives. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "work_loop.h"

/*
 * RT members run only in the first RT_RUN_NS of every RT_PERIOD_NS of
 * CLOCK_MONOTONIC and sleep through the rest, all of them at the same time
 * whatever their group or CPU: the last RT_REST_NS of each period every
 * CPU is free of them. The kernel's RT throttle (sched_rt_runtime_us, left
 * at its default) would give the rest of the guest 50 ms a second at worst;
 * the rests give the agent, the scheduler's user space and the CFS/EXT
 * workers about a tenth of every CPU, so starvation is heavy, never total,
 * and the parent's stop flag is set and seen within one period.
 */
#define RT_RUN_NS	10000000ULL
#define RT_REST_NS	1000000ULL
#define RT_PERIOD_NS	(RT_RUN_NS + RT_REST_NS)
#define RT_PRIO_MEDIUM	1	/* priority_inversion's middle tier */
#define RT_PRIO_HIGH	2	/* and its top, above the middle */

struct rt_member {
	int policy;		/* what to go back to */
	struct sched_param param;
	int record;		/* rests are wake latencies of this member */
};

/* Makes the calling worker SCHED_FIFO at prio; 0 or -errno with the reason. */
static int rt_enter(struct work_ctx *c, const char *type, int prio, int record,
		    struct rt_member *m)
{
	struct sched_param p = { .sched_priority = prio };

	m->policy = sched_getscheduler(0);
	if (m->policy < 0 || sched_getparam(0, &m->param) < 0)
		return -errno;
	if (sched_setscheduler(0, SCHED_FIFO, &p) < 0)
		return work_fail(c, -errno, "%s: SCHED_FIFO %d: %s%s", type, prio,
				 strerror(errno), errno == EPERM ? " (needs CAP_SYS_NICE)" : "");
	m->record = record;
	return 0;
}

static void rt_leave(const struct rt_member *m)
{
	sched_setscheduler(0, m->policy, &m->param);
}

/* Sleeps through the rest of the period once its run is over; 1 when stopped. */
static int rt_pace(struct work_ctx *c, const struct rt_member *m)
{
	uint64_t now = clock_now_ns(), into = now % RT_PERIOD_NS;
	int64_t late;

	if (into < RT_RUN_NS)
		return work_stopped(c);
	late = work_sleep_until(c, now - into + RT_PERIOD_NS);
	if (late < 0)
		return 1;
	if (m->record)
		telem_wake(c->t, (uint64_t)late);
	return 0;
}

/* n spins of an RT member, pacing between blocks; 1 when stopped. */
static int rt_spin(struct work_ctx *c, const struct rt_member *m, uint64_t n)
{
	uint64_t i, block;

	while (n) {
		block = n < WORK_SPIN_BLOCK ? n : WORK_SPIN_BLOCK;
		for (i = 0; i < block; i++)
			work_cpu_relax();
		n -= block;
		if (rt_pace(c, m))
			return 1;
	}
	return work_stopped(c);
}

/*
 * priority_inversion: one lock (grp->lock), three tiers. The first
 * high_count members are SCHED_FIFO 2: spin work_iters, take the lock,
 * drop it. The next medium_count are SCHED_FIFO 1 and only spin
 * work_iters: on the CPU of a low holder they keep it off the CPU. The
 * last low_count keep the cgroup's policy (sched_ext's, under a
 * scheduler): take the lock, spin hold_iters holding it, drop it, spin
 * work_iters. With pi_mode "pi" the lock is a FUTEX_LOCK_PI mutex: a low
 * holder a high member waits for is boosted to SCHED_FIFO 2 (leaving
 * sched_ext) until it lets go; "plain" is a futex mutex without boost, so
 * the inversion lasts until the middle tier rests. The inversion needs the
 * tiers on one CPU (a one-CPU cpuset, or single_cpu affinity). A member
 * that waited for the lock records the whole wait as its wake latency:
 * for the top tier, what the inversion cost it. The middle tier records
 * the overshoot of its rests.
 */
enum { PI_HIGH, PI_MEDIUM, PI_LOW, PI_HOLD, PI_WORK, PI_MODE };
enum { PI_PLAIN, PI_PI };

static unsigned pi_members(const struct work_spec *s)
{
	return (unsigned)(s->args[PI_HIGH] + s->args[PI_MEDIUM] + s->args[PI_LOW]);
}

/* The PI mutex: the word holds the owner's tid (FUTEX_WAITERS when contended). */
static int pi_lock_pi(struct work_ctx *c, uint32_t *lock)
{
	struct timespec until;

	for (;;) {
		if (work_stopped(c))
			return 1;
		/* FUTEX_LOCK_PI's timeout is absolute, on CLOCK_REALTIME */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WORK_SLICE_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (work_futex(lock, FUTEX_LOCK_PI, 0, &until) == 0)
			return 0;
		if (errno == ETIMEDOUT || errno == EINTR || errno == EAGAIN)
			continue;
		/* ESRCH: a holder SIGKILLed at teardown, the others stopping too */
		return work_stopped(c) ? 1 : -errno;
	}
}

/*
 * The plain mutex: 0 free, 1 held, 2 held and maybe waited for; a waiter
 * marks it 2 so that the unlock knows to wake someone.
 */
static int pi_lock_plain(struct work_ctx *c, uint32_t *lock)
{
	int rc;

	while (__atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE) != 0) {
		if (work_stopped(c))
			return 1;
		rc = work_futex_wait(lock, 2);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* 0 with the lock held (a wait recorded), 1 when stopped, -errno. */
static int pi_lock(struct work_ctx *c, uint32_t *lock, int pi)
{
	uint32_t tid = (uint32_t)gettid(), free = 0;
	uint64_t t0;
	int rc;

	if (__atomic_compare_exchange_n(lock, &free, pi ? tid : 1, 0, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
		return 0;
	t0 = clock_now_ns();
	rc = pi ? pi_lock_pi(c, lock) : pi_lock_plain(c, lock);
	if (rc == 0)
		telem_wake(c->t, clock_now_ns() - t0);
	return rc;
}

static void pi_unlock(uint32_t *lock, int pi)
{
	uint32_t tid = (uint32_t)gettid();

	if (pi) {
		if (!__atomic_compare_exchange_n(lock, &tid, 0, 0, __ATOMIC_RELEASE,
						 __ATOMIC_RELAXED))
			work_futex(lock, FUTEX_UNLOCK_PI, 0, NULL);
		return;
	}
	if (__atomic_exchange_n(lock, 0, __ATOMIC_RELEASE) == 2)
		work_futex_wake(lock, 1);
}

static int pi_high(struct work_ctx *c, const struct work_spec *s, const struct rt_member *m)
{
	uint32_t *lock = &c->grp->lock;
	int pi = s->args[PI_MODE] == PI_PI, rc = 0;

	while (!work_stopped(c)) {
		if (rt_spin(c, m, (uint64_t)s->args[PI_WORK]))
			break;
		rc = pi_lock(c, lock, pi);
		if (rc)
			break;
		pi_unlock(lock, pi);
		telem_checkpoint(c->t, 1);
	}
	return rc < 0 ? rc : 0;
}

static int pi_medium(struct work_ctx *c, const struct work_spec *s,
		     const struct rt_member *m)
{
	while (!rt_spin(c, m, (uint64_t)s->args[PI_WORK]))
		telem_checkpoint(c->t, 1);
	return 0;
}

static int pi_low(struct work_ctx *c, const struct work_spec *s)
{
	uint32_t *lock = &c->grp->lock;
	int pi = s->args[PI_MODE] == PI_PI, rc = 0, stopped;

	while (!work_stopped(c)) {
		rc = pi_lock(c, lock, pi);
		if (rc)
			break;
		/* a stop during the hold still unlocks: the others must not hang */
		stopped = work_spin(c, (uint64_t)s->args[PI_HOLD]);
		pi_unlock(lock, pi);
		if (stopped || work_spin(c, (uint64_t)s->args[PI_WORK]))
			break;
		telem_checkpoint(c->t, 1);
	}
	return rc < 0 ? rc : 0;
}

static int priority_inversion_run(struct work_ctx *c, const struct work_spec *s)
{
	unsigned high = (unsigned)s->args[PI_HIGH], medium = (unsigned)s->args[PI_MEDIUM];
	struct rt_member m;
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	if (c->member >= high + medium)
		return pi_low(c, s);
	rc = rt_enter(c, s->type->name, c->member < high ? RT_PRIO_HIGH : RT_PRIO_MEDIUM,
		      c->member >= high, &m);
	if (rc)
		return rc;
	rc = c->member < high ? pi_high(c, s, &m) : pi_medium(c, s, &m);
	rt_leave(&m);
	if (rc < 0 && !c->t->error_msg[0])
		work_fail(c, rc, "priority_inversion: lock: %s", strerror(-rc));
	return rc;
}

static int pi_check(const struct work_spec *s, char *err, size_t errlen)
{
	if (pi_members(s) > WORK_GROUP_MAX)
		return work_err(err, errlen,
				"priority_inversion: high_count + medium_count + low_count = %u workers, at most %d share a lock",
				pi_members(s), WORK_GROUP_MAX);
	return 0;
}

static const char *const pi_modes[] = { "plain", "pi", NULL };

static const struct work_param pi_params[] = {
	[PI_HIGH] = { "high_count", WP_INT, 1, 1, WORK_GROUP_MAX - 1,
		      "SCHED_FIFO 2 members that take the lock" },
	[PI_MEDIUM] = { "medium_count", WP_INT, 1, 0, WORK_GROUP_MAX - 2,
			"SCHED_FIFO 1 members that only spin" },
	[PI_LOW] = { "low_count", WP_INT, 1, 1, WORK_GROUP_MAX - 1,
		     "members of the cgroup's policy that hold the lock" },
	[PI_HOLD] = { "hold_iters", WP_INT, 4096, 0, 1 << 20,
		      "spins a low member holds the lock (boosted to RT under pi)" },
	[PI_WORK] = { "work_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
		      "spins between lock takes, or per unit of the middle tier" },
	[PI_MODE] = { "pi_mode", WP_ENUM, PI_PLAIN, 0, 1,
		      "plain: a futex mutex, no boost; pi: FUTEX_LOCK_PI, the holder boosted" },
};

const struct work_type work_priority_inversion = {
	.name = "priority_inversion",
	.unit = "one lock take (high), hold (low) or work_iters spins (medium)",
	.params = pi_params,
	.nparams = 6,
	.group_size = pi_members,
	.blocking = 1,
	.run = priority_inversion_run,
	.check = pi_check,
	.choices = (const char *const *const []){ [PI_MODE] = pi_modes },
};

/*
 * rt_starvation: the first rt_workers members of a group are SCHED_FIFO at
 * rt_priority and spin burst_iters per unit without yielding; the other
 * cfs_workers keep the cgroup's policy and spin the same. On shared CPUs
 * the RT members take all but their rests (see RT_RUN_NS): what the others
 * get, and how the scheduler places them, is what the test is about. The
 * RT members record the overshoot of their rests as wake latencies.
 */
enum { RTS_RT, RTS_CFS, RTS_PRIO, RTS_BURST };

static unsigned rts_members(const struct work_spec *s)
{
	return (unsigned)(s->args[RTS_RT] + s->args[RTS_CFS]);
}

static int rt_starvation_run(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t burst = (uint64_t)s->args[RTS_BURST];
	struct rt_member m;
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	if (c->member >= (unsigned)s->args[RTS_RT]) {
		while (!work_spin(c, burst))
			telem_checkpoint(c->t, 1);
		return 0;
	}
	rc = rt_enter(c, s->type->name, (int)s->args[RTS_PRIO], 1, &m);
	if (rc)
		return rc;
	while (!rt_spin(c, &m, burst))
		telem_checkpoint(c->t, 1);
	rt_leave(&m);
	return 0;
}

static int rts_check(const struct work_spec *s, char *err, size_t errlen)
{
	if (rts_members(s) > WORK_GROUP_MAX)
		return work_err(err, errlen,
				"rt_starvation: rt_workers + cfs_workers = %u workers, at most %d per group",
				rts_members(s), WORK_GROUP_MAX);
	return 0;
}

static const struct work_param rts_params[] = {
	[RTS_RT] = { "rt_workers", WP_INT, 1, 1, WORK_GROUP_MAX,
		     "SCHED_FIFO members per group" },
	[RTS_CFS] = { "cfs_workers", WP_INT, 1, 0, WORK_GROUP_MAX - 1,
		      "members of the cgroup's policy per group" },
	[RTS_PRIO] = { "rt_priority", WP_INT, 50, 1, 99,
		       "the RT members' SCHED_FIFO priority" },
	[RTS_BURST] = { "burst_iters", WP_INT, 1024, 1, WORK_ITERS_MAX,
			"spins per unit, RT and CFS members alike" },
};

const struct work_type work_rt_starvation = {
	.name = "rt_starvation",
	.unit = "burst_iters spins",
	.params = rts_params,
	.nparams = 4,
	.group_size = rts_members,
	.blocking = 1,
	.run = rt_starvation_run,
	.check = rts_check,
};
