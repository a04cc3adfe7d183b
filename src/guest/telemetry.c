/* Worker telemetry: syscall-free checkpoints, wake reservoir, schedstat deltas. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "src/base/clock.h"
#include "src/base/schedstat.h"
#include "telemetry.h"

/* The bench times checkpoints with the TSC: cheaper than the clock it times. */
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define telem_cycles()	__rdtsc()
#else
#define telem_cycles()	clock_now_ns()
#endif

static void telem_mark_cpu(struct telem *t, int cpu)
{
	if (cpu >= 0 && cpu < TELEM_CPUS_MAX)
		t->cpus_seen[cpu / 64] |= 1ull << (cpu % 64);
}

static uint64_t telem_thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void telem_begin(struct telem *t)
{
	uint64_t now = clock_now_ns();
	int cpu = sched_getcpu();

	t->pid = gettid();	/* a thread worker's own; a process's pid */
	t->schedstat = schedstat_read(0, 0, &t->cpu_start_ns,
				      &t->run_delay_start_ns,
				      &t->slices_start) == 0;
	if (!t->schedstat)
		t->cpu_start_ns = telem_thread_cpu_ns();
	/* a nonzero seed that differs per worker; xorshift sticks at 0 */
	t->rng = (now ^ ((uint64_t)t->pid << 32)) | 1;
	t->start_ns = now;
	t->last_ns = now;
	t->last_cpu = cpu;
	t->max_gap_cpu = -1;
	telem_mark_cpu(t, cpu);
	__atomic_store_n(&t->state, TELEM_RUNNING, __ATOMIC_RELEASE);
}

void telem_checkpoint(struct telem *t, uint64_t units)
{
	uint64_t now = clock_now_ns();
	uint64_t gap = now - t->last_ns;
	int cpu = sched_getcpu();

	t->work_units += units;
	t->iterations++;
	if (gap > t->max_gap_ns) {
		t->max_gap_ns = gap;
		t->max_gap_at_ns = now - t->start_ns;
		t->max_gap_cpu = cpu;
	}
	if (cpu != t->last_cpu) {
		t->migrations++;
		t->last_cpu = cpu;
		telem_mark_cpu(t, cpu);
	}
	t->last_ns = now;
}

static uint64_t telem_rand(struct telem *t)
{
	uint64_t x = t->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t->rng = x;
	return x;
}

/* Algorithm R (Vitter): every wake so far is in the sample with equal odds. */
void telem_wake(struct telem *t, uint64_t ns)
{
	uint64_t k = ++t->wake_count, j;

	t->wake_sum_ns += ns;
	if (ns > t->wake_max_ns)
		t->wake_max_ns = ns;
	if (k <= TELEM_RESERVOIR) {
		t->wake_res[k - 1] = ns;
		return;
	}
	j = telem_rand(t) % k;
	if (j < TELEM_RESERVOIR)
		t->wake_res[j] = ns;
}

int telem_metric(struct telem *t, const char *name, double value)
{
	uint32_t i, n = t->nmetrics;

	for (i = 0; i < n; i++) {
		if (strncmp(t->metrics[i].name, name, TELEM_METRIC_NAME) == 0) {
			t->metrics[i].value = value;
			return 0;
		}
	}
	if (n >= TELEM_METRICS)
		return -ENOSPC;
	snprintf(t->metrics[n].name, TELEM_METRIC_NAME, "%s", name);
	t->metrics[n].value = value;
	/* a reader that sees the count sees the name and value under it */
	__atomic_store_n(&t->nmetrics, n + 1, __ATOMIC_RELEASE);
	return 0;
}

void telem_end(struct telem *t)
{
	uint64_t cpu, delay, slices;
	struct rusage ru;

	t->end_ns = clock_now_ns();
	if (t->schedstat && schedstat_read(0, 0, &cpu, &delay, &slices) == 0) {
		t->cpu_ns = cpu - t->cpu_start_ns;
		t->run_delay_ns = delay - t->run_delay_start_ns;
		t->slices = slices - t->slices_start;
	} else {
		t->schedstat = 0;	/* no run delay to report */
		t->cpu_ns = telem_thread_cpu_ns() - t->cpu_start_ns;
	}
	if (getrusage(RUSAGE_THREAD, &ru) == 0) {
		t->vcsw = (uint64_t)ru.ru_nvcsw;
		t->ivcsw = (uint64_t)ru.ru_nivcsw;
	}
	__atomic_store_n(&t->state, TELEM_DONE, __ATOMIC_RELEASE);
}

static int telem_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least q of them at or below. */
static uint64_t telem_rank(const uint64_t *v, uint64_t n, double q)
{
	uint64_t r = (uint64_t)(q * (double)n + 0.999999);

	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return v[r - 1];
}

void telem_wake_stats(const struct telem *t, struct telem_wake_stats *w)
{
	uint64_t v[TELEM_RESERVOIR];
	uint64_t n = t->wake_count;

	memset(w, 0, sizeof(*w));
	if (!n)
		return;
	if (n > TELEM_RESERVOIR)
		n = TELEM_RESERVOIR;
	memcpy(v, t->wake_res, n * sizeof(v[0]));
	qsort(v, n, sizeof(v[0]), telem_cmp_u64);
	w->count = t->wake_count;
	w->mean_ns = t->wake_sum_ns / t->wake_count;
	w->max_ns = t->wake_max_ns;
	w->samples = n;
	w->p50_ns = telem_rank(v, n, 0.50);
	w->p90_ns = telem_rank(v, n, 0.90);
	w->p99_ns = telem_rank(v, n, 0.99);
}

uint64_t telem_bench_spin(struct telem *t, uint64_t iters, uint64_t every,
			  uint64_t *in_ns)
{
	/* called as work loops call it: out of line, from another unit */
	static void (*volatile checkpoint)(struct telem *, uint64_t) =
		telem_checkpoint;
	static volatile int stop;
	uint64_t t0 = clock_now_ns(), c0 = telem_cycles(), done, i, a;
	uint64_t in = 0, empty = 0, calls = 0, ns, cycles;

	if (!every)
		every = 1024;
	for (done = 0; done < iters; done += every) {
		for (i = 0; i < every; i++) {
			__builtin_ia32_pause();
			if (((done + i) & 1023) == 0 && stop)
				goto out;
		}
		if (t) {
			a = telem_cycles();
			checkpoint(t, every);
			in += telem_cycles() - a;
			calls++;
		}
	}
out:
	ns = clock_now_ns() - t0;
	cycles = telem_cycles() - c0;
	if (in_ns) {
		/* what the two timer reads cost alone, taken off the total */
		for (i = 0; i < 1000; i++) {
			a = telem_cycles();
			empty += telem_cycles() - a;
		}
		in -= empty * calls / 1000 < in ? empty * calls / 1000 : in;
		*in_ns = cycles ? (uint64_t)((double)in * ns / cycles) : 0;
	}
	return ns;
}
