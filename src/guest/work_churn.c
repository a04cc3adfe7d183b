/* Churn work types: fork_exit, nice_sweep, affinity_churn, policy_churn, page_fault_churn. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "work_loop.h"

#define NICE_SPINS	512

/* fork_exit: fork, the child _exit(0)s at once, the parent waits for it. */
static int fork_exit_run(struct work_ctx *c, const struct work_spec *s)
{
	pid_t pid;

	(void)s;
	while (!work_stopped(c)) {
		pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0) {
			if (errno == EAGAIN)	/* pid or memory pressure: retry */
				continue;
			snprintf(c->t->error_msg, sizeof(c->t->error_msg),
				 "fork_exit: fork: %s", strerror(errno));
			return -errno;
		}
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		telem_checkpoint(c->t, 1);
	}
	return 0;
}

const struct work_type work_fork_exit = {
	.name = "fork_exit",
	.unit = "one fork + child exit + waitpid",
	.run = fork_exit_run,
};

/*
 * nice_sweep: spin, step nice through -20..19 and round again, yield. A
 * negative nice refused (no CAP_SYS_NICE) shrinks the sweep to 0..19. The
 * starting nice is restored at the end.
 */
static int nice_sweep_run(struct work_ctx *c, const struct work_spec *s)
{
	int lo = -20, nice, orig;

	(void)s;
	errno = 0;
	orig = getpriority(PRIO_PROCESS, 0);
	if (orig == -1 && errno)
		return -errno;
	nice = lo;
	while (!work_stopped(c)) {
		if (work_spin(c, NICE_SPINS))
			break;
		if (setpriority(PRIO_PROCESS, 0, nice) < 0) {
			if ((errno != EACCES && errno != EPERM) || nice >= 0)
				return -errno;
			lo = nice = 0;
			continue;
		}
		nice = nice == 19 ? lo : nice + 1;
		sched_yield();
		telem_checkpoint(c->t, 1);
	}
	setpriority(PRIO_PROCESS, 0, orig);
	return 0;
}

const struct work_type work_nice_sweep = {
	.name = "nice_sweep",
	.unit = "512 spins + one nice step + one yield",
	.run = nice_sweep_run,
};

/*
 * affinity_churn: spin, then pin itself to a random CPU of the affinity it
 * started with. A CPU the cpuset no longer allows (EINVAL) is skipped:
 * ops may shrink the cpuset under a running worker.
 */
static int affinity_churn_run(struct work_ctx *c, const struct work_spec *s)
{
	int cpus[CPU_SETSIZE], n = 0, i;
	uint64_t rng = work_seed(c);
	cpu_set_t one;

	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &c->cpus))
			cpus[n++] = i;
	if (!n) {
		snprintf(c->t->error_msg, sizeof(c->t->error_msg),
			 "affinity_churn: the worker's CPU set is empty");
		return -EINVAL;
	}
	while (!work_stopped(c)) {
		if (work_spin(c, (uint64_t)s->args[0]))
			break;
		CPU_ZERO(&one);
		CPU_SET(cpus[work_rand(&rng) % n], &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0 && errno != EINVAL)
			return -errno;
		telem_checkpoint(c->t, 1);
	}
	sched_setaffinity(0, sizeof(c->cpus), &c->cpus);
	return 0;
}

static const struct work_param spin_iters_param[] = {
	{ "spin_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
	  "spins between changes" },
};

const struct work_type work_affinity_churn = {
	.name = "affinity_churn",
	.unit = "spin_iters spins + one sched_setaffinity",
	.params = spin_iters_param,
	.nparams = 1,
	.run = affinity_churn_run,
};

/*
 * policy_churn: spin, then the next policy of OTHER -> BATCH -> IDLE ->
 * FIFO -> RR (priority 1) -> OTHER ... A policy refused with EPERM (no
 * CAP_SYS_NICE for RT) is dropped from the cycle. The starting policy is
 * restored at the end.
 */
static int policy_churn_run(struct work_ctx *c, const struct work_spec *s)
{
	static const int cycle[] = {
		SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_FIFO, SCHED_RR,
	};
	int ok[] = { 1, 1, 1, 1, 1 }, n = 5, i = 1, orig;
	struct sched_param p, orig_p;

	orig = sched_getscheduler(0);
	if (orig < 0 || sched_getparam(0, &orig_p) < 0)
		return -errno;
	while (!work_stopped(c)) {
		if (work_spin(c, (uint64_t)s->args[0]))
			break;
		for (; !ok[i]; i = (i + 1) % n)
			;
		p.sched_priority = cycle[i] == SCHED_FIFO || cycle[i] == SCHED_RR;
		if (sched_setscheduler(0, cycle[i], &p) < 0) {
			if (errno != EPERM || cycle[i] == SCHED_OTHER)
				return -errno;
			ok[i] = 0;
			continue;
		}
		i = (i + 1) % n;
		telem_checkpoint(c->t, 1);
	}
	sched_setscheduler(0, orig, &orig_p);
	return 0;
}

const struct work_type work_policy_churn = {
	.name = "policy_churn",
	.unit = "spin_iters spins + one sched_setscheduler",
	.params = spin_iters_param,
	.nparams = 1,
	.run = policy_churn_run,
};

/*
 * page_fault_churn: per cycle, write-fault touches_per_cycle consecutive
 * pages of a private region (MADV_NOHUGEPAGE, so each touch is one 4 KiB
 * fault), give them back with MADV_DONTNEED, and spin. The window walks
 * the region and starts over at its end.
 */
enum { PF_REGION, PF_TOUCHES, PF_SPIN };

static int page_fault_churn_run(struct work_ctx *c, const struct work_spec *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = (size_t)s->args[PF_REGION] * 1024;
	size_t npages = size / page, touches = (size_t)s->args[PF_TOUCHES];
	size_t cur = 0, i;
	uint8_t *mem;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	/* best effort: without THP there is nothing to turn off */
	madvise(mem, size, MADV_NOHUGEPAGE);
	while (!work_stopped(c)) {
		if (cur + touches > npages)
			cur = 0;
		for (i = 0; i < touches; i++) {
			((volatile uint8_t *)mem)[(cur + i) * page] = 1;
			if ((i & 255) == 255 && work_stopped(c))
				break;
		}
		madvise(mem + cur * page, touches * page, MADV_DONTNEED);
		cur += touches;
		if (work_spin(c, (uint64_t)s->args[PF_SPIN]))
			break;
		telem_checkpoint(c->t, 1);
	}
	munmap(mem, size);
	return 0;
}

static int page_fault_churn_check(const struct work_spec *s, char *err,
				  size_t errlen)
{
	long long page = sysconf(_SC_PAGESIZE);
	long long npages = s->args[PF_REGION] * 1024 / page;

	if (s->args[PF_TOUCHES] > npages)
		return work_err(err, errlen,
				"page_fault_churn.touches_per_cycle: %lld is more than the region's %lld pages (region_kib %lld)",
				(long long)s->args[PF_TOUCHES], npages,
				(long long)s->args[PF_REGION]);
	return 0;
}

static const struct work_param page_fault_churn_params[] = {
	[PF_REGION] = { "region_kib", WP_INT, 4096, 64, 1048576,
			"region size per worker in KiB" },
	[PF_TOUCHES] = { "touches_per_cycle", WP_INT, 256, 1, 262144,
			 "pages write-faulted, then dropped, per cycle" },
	[PF_SPIN] = { "spin_iters", WP_INT, 64, 0, WORK_ITERS_MAX,
		      "spins per cycle" },
};

const struct work_type work_page_fault_churn = {
	.name = "page_fault_churn",
	.unit = "one cycle: touches_per_cycle page faults + MADV_DONTNEED + spin_iters spins",
	.params = page_fault_churn_params,
	.nparams = 3,
	.run = page_fault_churn_run,
	.check = page_fault_churn_check,
};
