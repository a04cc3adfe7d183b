/* Per-worker telemetry: a shared page the worker writes and the parent reads. */
#ifndef KTSTR_TELEMETRY_H
#define KTSTR_TELEMETRY_H

#include <stdint.h>

#define TELEM_CPUS_MAX		256
#define TELEM_RESERVOIR		512
#define TELEM_ERR_LEN		256
#define TELEM_METRICS		16
#define TELEM_METRIC_NAME	24

/* Where a worker is in its life; the parent's start barrier reads it. */
enum telem_state {
	TELEM_NEW,		/* forked, setting itself up */
	TELEM_PLACED,		/* in its cgroup, configured, waiting for the start */
	TELEM_RUNNING,		/* telem_begin done, work loop running */
	TELEM_DONE,		/* telem_end done, about to _exit */
};

/* A figure of a work type's own (schbench's percentiles), by name. */
struct telem_metric {
	char name[TELEM_METRIC_NAME];
	double value;
};

/*
 * One per worker, in a MAP_SHARED mapping made before fork. Only the worker
 * writes the counters (no atomics needed for a single writer; the parent
 * reads torn values at worst while the worker runs and exact ones after).
 * The first cache line holds everything telem_checkpoint writes on its
 * common path, so a checkpoint dirties one line.
 */
struct telem {
	uint64_t work_units;
	uint64_t iterations;		/* checkpoints taken */
	uint64_t last_ns;		/* CLOCK_MONOTONIC of the last checkpoint */
	uint64_t max_gap_ns;		/* longest time between checkpoints */
	uint64_t max_gap_at_ns;		/* when it ended, from start_ns */
	uint64_t migrations;		/* CPU changes seen at checkpoints */
	int32_t last_cpu;
	int32_t max_gap_cpu;		/* the CPU it ended on */
	uint64_t start_ns;		/* CLOCK_MONOTONIC at telem_begin */

	uint64_t cpus_seen[TELEM_CPUS_MAX / 64];
	uint64_t end_ns;		/* 0 until telem_end */
	uint64_t cpu_start_ns;		/* schedstat sum_exec_runtime at begin */
	uint64_t cpu_ns;		/* CPU time between begin and end */
	uint64_t run_delay_start_ns;	/* schedstat run_delay at begin */
	uint64_t run_delay_ns;		/* time runnable but waiting, begin..end */
	uint64_t slices_start, slices;	/* schedstat pcount: times run on a CPU */
	uint64_t vcsw, ivcsw;		/* voluntary/involuntary switches, at end */
	int32_t schedstat;		/* 1: cpu/run delay from /proc schedstat */
	int32_t pid;
	uint32_t state;			/* enum telem_state */
	int32_t error;			/* -errno from the work loop, 0 if none */
	/*
	 * Why the worker failed. A work loop may fill it before returning
	 * -errno; otherwise the runtime writes "<type>: <strerror>".
	 */
	char error_msg[TELEM_ERR_LEN];

	uint64_t wake_count, wake_sum_ns, wake_max_ns;
	uint64_t rng;			/* xorshift64 state for the reservoir */
	uint64_t wake_res[TELEM_RESERVOIR];	/* reservoir sample (Algorithm R) */

	uint32_t nmetrics;		/* metrics[] in use, published last */
	struct telem_metric metrics[TELEM_METRICS];
} __attribute__((aligned(64)));

/* Marks the start: clocks, the CPU, schedstat. Called by the worker itself. */
void telem_begin(struct telem *t);
/*
 * Records units of work done since the last checkpoint; no system calls
 * (vDSO clock_gettime, sched_getcpu through rseq). Call it about every
 * 10-100 us of work: the gap between calls is what max_gap measures.
 */
void telem_checkpoint(struct telem *t, uint64_t units);
/* Records one wake latency (blocking work types). */
void telem_wake(struct telem *t, uint64_t ns);
/*
 * Sets the metric name (at most TELEM_METRIC_NAME - 1 bytes) to value,
 * adding it when new: 0, or -ENOSPC when TELEM_METRICS are in use.
 */
int telem_metric(struct telem *t, const char *name, double value);
/* Marks the end: CPU time, run delay. Called by the worker when it stops. */
void telem_end(struct telem *t);
struct telem_wake_stats {
	uint64_t count, mean_ns, max_ns;	/* over every wake */
	uint64_t p50_ns, p90_ns, p99_ns;	/* nearest rank, from the reservoir */
	uint64_t samples;			/* reservoir entries used */
};

/* Summarizes the wake latencies; sorts a copy, for reports, not workers. */
void telem_wake_stats(const struct telem *t, struct telem_wake_stats *w);

/*
 * Overhead bench: spins iters times on a pause loop that checks a stop word
 * every 1024 spins (the shape of spin_wait) and, when t is not NULL, takes
 * a checkpoint every `every` spins. Returns the elapsed ns; *in_ns (when
 * not NULL) gets the time spent inside telem_checkpoint, timed by the TSC
 * around each call, less the cost of reading the TSC.
 */
uint64_t telem_bench_spin(struct telem *t, uint64_t iters, uint64_t every,
			  uint64_t *in_ns);

#endif
