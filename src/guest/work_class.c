/* Work types that mix sched classes: asymmetric_waker, preempt_storm. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "work_loop.h"

#ifndef SCHED_EXT
#define SCHED_EXT	7
#endif

#define CLASS_RT_PRIO	50		/* asymmetric_waker's rt: mid-range FIFO */
#define STORM_RT_PRIO	1		/* preempt_storm: just above the fair class */
/* deadline: 0.5 ms every 10 ms, 5% of a CPU, well inside admission control */
#define CLASS_DL_RUNTIME	500000ULL
#define CLASS_DL_PERIOD		10000000ULL

enum { CLASS_CFS, CLASS_BATCH, CLASS_IDLE, CLASS_RT, CLASS_DEADLINE, CLASS_EXT };

static const char *const class_names[] = {
	"cfs", "batch", "idle", "rt", "deadline", "ext", NULL,
};

/* The kernel's struct sched_attr, which glibc does not declare. */
struct class_attr {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static int class_deadline(void)
{
	struct class_attr a = {
		.size = sizeof(a),
		.sched_policy = SCHED_DEADLINE,
		.sched_runtime = CLASS_DL_RUNTIME,
		.sched_deadline = CLASS_DL_PERIOD,
		.sched_period = CLASS_DL_PERIOD,
	};

	return syscall(SYS_sched_setattr, 0, &a, 0) ? -errno : 0;
}

static int class_policy(int policy, int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	return sched_setscheduler(0, policy, &sp) ? -errno : 0;
}

/*
 * Puts the calling worker in class k (rt at prio). ext is SCHED_EXT where
 * the kernel has it and normal where it does not (as a fair task is when no
 * sched_ext scheduler runs). 0, or -errno with the message filled.
 */
static int class_set(struct work_ctx *c, const char *who, int k, int prio)
{
	static const int policy[] = {
		[CLASS_CFS] = SCHED_OTHER, [CLASS_BATCH] = SCHED_BATCH,
		[CLASS_IDLE] = SCHED_IDLE, [CLASS_RT] = SCHED_FIFO,
		[CLASS_EXT] = SCHED_EXT,
	};
	int rc;

	if (k == CLASS_DEADLINE)
		rc = class_deadline();
	else
		rc = class_policy(policy[k], k == CLASS_RT ? prio : 0);
	if (rc == -EINVAL && k == CLASS_EXT)
		rc = class_policy(SCHED_OTHER, 0);
	if (!rc)
		return 0;
	snprintf(c->t->error_msg, sizeof(c->t->error_msg),
		 "%s: class %s: %s: %s%s", who, class_names[k],
		 k == CLASS_DEADLINE ? "sched_setattr" : "sched_setscheduler",
		 strerror(-rc), k == CLASS_DEADLINE && rc == -EPERM ?
		 " (SCHED_DEADLINE needs CAP_SYS_NICE and the whole root domain's CPUs: no narrower cpuset or affinity)" :
		 k == CLASS_DEADLINE && rc == -EBUSY ?
		 " (deadline admission control: too many deadline workers)" : "");
	return rc;
}

/*
 * asymmetric_waker: a futex ring of two whose members sit in different
 * sched classes. The waker (member 0) spins burst_iters and wakes the
 * wakee (member 1), which hands the turn straight back; both record the
 * wake latency from the other's stamp, a wake across classes both ways.
 */
enum { ASYM_WAKER, ASYM_WAKEE, ASYM_BURST };

static int asymmetric_waker_setup(struct work_ctx *c, const struct work_spec *s)
{
	return class_set(c, c->member ? "asymmetric_waker: wakee" :
			 "asymmetric_waker: waker",
			 (int)s->args[c->member ? ASYM_WAKEE : ASYM_WAKER],
			 CLASS_RT_PRIO);
}

static int asymmetric_waker_run(struct work_ctx *c, const struct work_spec *s)
{
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	return work_futex_ring(c, work_spin,
			       c->member ? 0 : (uint64_t)s->args[ASYM_BURST], 1);
}

static const struct work_param asymmetric_waker_params[] = {
	[ASYM_WAKER] = { "waker_class", WP_ENUM, CLASS_CFS, 0, CLASS_EXT,
			 "the waker's class: cfs, batch, idle, rt (FIFO 50), deadline, ext" },
	[ASYM_WAKEE] = { "wakee_class", WP_ENUM, CLASS_CFS, 0, CLASS_EXT,
			 "the wakee's class, as waker_class" },
	[ASYM_BURST] = { "burst_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
			 "spins the waker does before each wake" },
};

static const char *const *const asymmetric_waker_choices[] = {
	[ASYM_WAKER] = class_names,
	[ASYM_WAKEE] = class_names,
};

const struct work_type work_asymmetric_waker = {
	.name = "asymmetric_waker",
	.unit = "one turn: woken, burst_iters spins (waker) or none (wakee), wake the other",
	.params = asymmetric_waker_params,
	.nparams = 3,
	.choices = asymmetric_waker_choices,
	.group_size = work_pair,
	.blocking = 1,
	.run = asymmetric_waker_run,
	.setup = asymmetric_waker_setup,
};

/*
 * preempt_storm: member 0 runs SCHED_FIFO 1, spinning rt_burst_iters then
 * sleeping rt_sleep_us (its wake latency is the sleep's overshoot); the
 * cfs_workers others spin in the fair class, preempted at each RT wake.
 */
enum { STORM_CFS, STORM_BURST, STORM_SLEEP_US };

static unsigned storm_members(const struct work_spec *s)
{
	return (unsigned)s->args[STORM_CFS] + 1;
}

static int preempt_storm_setup(struct work_ctx *c, const struct work_spec *s)
{
	(void)s;
	if (c->member)
		return 0;
	return class_set(c, "preempt_storm: member 0", CLASS_RT, STORM_RT_PRIO);
}

static int storm_rt(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t sleep = (uint64_t)s->args[STORM_SLEEP_US] * 1000;
	int64_t late;

	while (!work_stopped(c)) {
		if (work_spin(c, (uint64_t)s->args[STORM_BURST]))
			break;
		late = work_sleep_until(c, clock_now_ns() + sleep);
		if (late < 0)
			break;
		telem_wake(c->t, (uint64_t)late);
		telem_checkpoint(c->t, 1);
	}
	return 0;
}

static int preempt_storm_run(struct work_ctx *c, const struct work_spec *s)
{
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	if (!c->member)
		return storm_rt(c, s);
	while (!work_spin(c, WORK_SPIN_BLOCK))
		telem_checkpoint(c->t, 1);
	return 0;
}

static const struct work_param preempt_storm_params[] = {
	[STORM_CFS] = { "cfs_workers", WP_INT, 2, 1, WORK_GROUP_MAX - 1,
			"fair-class spinners per RT worker (group size cfs_workers + 1)" },
	[STORM_BURST] = { "rt_burst_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
			  "the RT worker's spins per wake" },
	[STORM_SLEEP_US] = { "rt_sleep_us", WP_INT, 1000, 1, 60000000,
			     "the RT worker's sleep between bursts, us" },
};

const struct work_type work_preempt_storm = {
	.name = "preempt_storm",
	.unit = "one RT burst + sleep (member 0), 1024 spins (the others)",
	.params = preempt_storm_params,
	.nparams = 3,
	.group_size = storm_members,
	.blocking = 1,
	.run = preempt_storm_run,
	.setup = preempt_storm_setup,
};
