/* Worker sets: forked processes placed in a cgroup, running one work spec. */
#ifndef KTSTR_WORKER_H
#define KTSTR_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "telemetry.h"
#include "work.h"

#define WORKER_COMM_LEN	16	/* TASK_COMM_LEN, NUL included */

/* Custom work in place of spec->type->run: 0 or -errno, like a work loop. */
typedef int (*worker_run_fn)(struct work_ctx *c, void *arg);

struct worker_opts {
	const char *cgroup;	/* cgroup directory to join; NULL: stay in ours */
	const char *comm;	/* NULL: "ktstr-<type>" (truncated to 15 bytes) */
	int nice;		/* -20..19; applied when set_nice */
	int set_nice;
	int policy;		/* SCHED_OTHER (default), _BATCH, _IDLE, _FIFO, _RR, _DEADLINE */
	int priority;		/* 1..99 for FIFO/RR, 0 otherwise */
	uint64_t runtime_ns, deadline_ns, period_ns;	/* SCHED_DEADLINE's */
	int set_mempolicy;	/* apply mpol_*: set_mempolicy before the work */
	int mpol_mode;		/* MPOL_DEFAULT, _BIND, ... */
	unsigned mpol_flags;	/* MPOL_F_STATIC_NODES, ... */
	const char *mpol_nodes;	/* node list "0-1"; NULL: none */
	/*
	 * The workers are threads of one forked process (which joins the
	 * cgroup, then starts them and waits for them): one process to reap,
	 * a telemetry page and a report per thread, pids are thread ids.
	 */
	int threads;
	const char *cpus;	/* affinity as a cpulist "0-1,3"; NULL: inherit */
	const char *const *cpus_each;	/* n cpulists, one per worker, over cpus; or NULL */
	/* custom work: run(ctx, arg) instead of the spec's loop; spec may be NULL */
	worker_run_fn run;
	void *arg;		/* must stay valid until worker_spawn returns */
	const char *name;	/* names custom work in comm and reports ("lua") */
	int place_timeout_ms;	/* how long spawn waits for placement; 0: 10 s */
};

/* A worker's exit as waitpid saw it. */
struct worker_exit {
	int reaped;		/* 0: still running (or not yet reaped) */
	int code;		/* exit code when !signaled */
	int signaled;		/* killed by signal `sig` (also set when lost) */
	int sig;		/* 0 when lost: reaped by someone else, signal unknown */
	int core;
	int lost;		/* died without finishing and another waiter reaped it */
	int by_stop;		/* SIGKILLed by worker_stop after its timeout */
};

/* A snapshot of one worker, consistent enough while it runs, exact after. */
struct worker_report {
	unsigned index;		/* 0-based, as work_ctx.index */
	unsigned group, member;
	pid_t pid;
	enum telem_state state;
	uint64_t work_units, iterations;
	uint64_t wall_ns, cpu_ns, run_delay_ns, slices;	/* live until the end */
	int schedstat;		/* cpu_ns, run_delay_ns, slices from /proc schedstat */
	uint64_t vcsw, ivcsw;		/* only after the worker ended */
	uint64_t max_gap_ns, max_gap_at_ns;
	uint64_t start_ns;		/* CLOCK_MONOTONIC when its telemetry began */
	int max_gap_cpu;		/* -1 before the first checkpoint */
	uint64_t migrations;
	uint64_t cpus_seen[TELEM_CPUS_MAX / 64];
	struct telem_wake_stats wake;
	unsigned nmetrics;		/* the work type's own figures */
	struct telem_metric metrics[TELEM_METRICS];
	struct worker_exit exit;
	int error;			/* -errno from the work or setup, 0 if none */
	char error_msg[TELEM_ERR_LEN];
};

struct worker_set;

/*
 * Validates a request without side effects: n >= 1, n a multiple of the
 * spec's group size, policy/priority/nice ranges (deadline's parameters as
 * the kernel checks them), the memory policy and its nodes, the cpulist. -EINVAL with
 * a message in err; the same checks worker_spawn makes first.
 */
int worker_check(const struct work_spec *spec, unsigned n,
		 const struct worker_opts *o, char *err, size_t errlen);
/*
 * Forks n workers of spec (or o->run), or one process of n threads with
 * o->threads, and waits (bounded) until every one has joined its cgroup
 * and applied comm, affinity, policy, nice and memory policy. They
 * wait at a start barrier: worker_start releases them together. On failure
 * every child is killed and reaped and err says which worker failed how,
 * e.g. "worker 1: cgroup.procs: /sys/fs/cgroup/ktstr/a: No such file or
 * directory".
 */
int worker_spawn(struct worker_set **out, const struct work_spec *spec,
		 unsigned n, const struct worker_opts *o, char *err, size_t errlen);
/* Releases the start barrier; a second call does nothing. */
int worker_start(struct worker_set *ws);
/*
 * Sets the stop flag, waits up to timeout_ms for every worker to exit, then
 * SIGKILLs the process groups of those left and reaps them. Copes with
 * workers already dead or reaped elsewhere (cgroup removal). 0, or -EBUSY
 * when a child could not be reaped (a later call tries again).
 */
int worker_stop(struct worker_set *ws, int timeout_ms);
/* Reaps workers that exited on their own (crashes); never blocks. */
void worker_poll(struct worker_set *ws);
/* Fills r for worker i (polls first). */
void worker_report(struct worker_set *ws, unsigned i, struct worker_report *r);
unsigned worker_count(const struct worker_set *ws);
/* Re-pins worker i to cpulist while it runs (the set_affinity op); 0 or -errno. */
int worker_set_affinity(struct worker_set *ws, unsigned i, const char *cpulist);
/* Worker i's task: its process, or its thread id in a threads set (0 until placed). */
pid_t worker_pid(const struct worker_set *ws, unsigned i);
/* The process of a threads set, or worker 0's process. */
pid_t worker_process(const struct worker_set *ws);
/* "spin_wait", or the custom work's name. */
const char *worker_work_name(const struct worker_set *ws);
int worker_started(const struct worker_set *ws);
int worker_stopped(const struct worker_set *ws);
/* Stops (2 s) and reaps if needed, then frees; NULL is fine. */
void worker_free(struct worker_set *ws);

#endif
