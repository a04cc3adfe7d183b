/* Per-worker telemetry: a shared page the worker writes and the parent reads. */
#ifndef KTSTR_TELEMETRY_H
#define KTSTR_TELEMETRY_H

#include <stdint.h>

#define TELEM_CPUS_MAX		256
#define TELEM_RESERVOIR		512

/*
 * One per worker, in a MAP_SHARED mapping made before fork. Only the worker
 * writes the counters (no atomics needed for a single writer; the parent
 * reads torn values at worst while the worker runs and exact ones after).
 */
struct telem {
	uint64_t work_units;
	uint64_t iterations;		/* checkpoints taken */
	uint64_t start_ns, last_ns, end_ns;	/* CLOCK_MONOTONIC */
	uint64_t cpu_ns;		/* the worker's CPU time, at the end */
	uint64_t max_gap_ns;		/* longest time between checkpoints */
	uint64_t max_gap_at_ns;		/* when it ended, from start_ns */
	int32_t max_gap_cpu;		/* the CPU it ended on */
	int32_t last_cpu;
	uint64_t migrations;		/* CPU changes seen at checkpoints */
	uint64_t cpus_seen[TELEM_CPUS_MAX / 64];
	uint64_t wake_count, wake_sum_ns, wake_max_ns;
	uint64_t wake_res[TELEM_RESERVOIR];	/* reservoir sample of wake latencies */
	uint64_t rng;
	uint64_t run_delay_start_ns, run_delay_ns;	/* schedstat run delay */
	int32_t pid;
	int32_t error;			/* -errno from the work loop, 0 if none */
	char error_msg[128];
};

/* Marks the start: clocks, the CPU, schedstat. Called by the worker itself. */
void telem_begin(struct telem *t);
/* Records units of work done since the last checkpoint; no system calls. */
void telem_checkpoint(struct telem *t, uint64_t units);
/* Records one wake latency (blocking work types). */
void telem_wake(struct telem *t, uint64_t ns);
/* Marks the end: CPU time, run delay. Called by the worker when it stops. */
void telem_end(struct telem *t);
/* CLOCK_MONOTONIC in ns. */
uint64_t telem_now_ns(void);

#endif
