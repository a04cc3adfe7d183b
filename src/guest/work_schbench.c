/*
 * schbench: message threads hand requests to worker threads; the worker's
 * wakeup and request latency percentiles.
 *
 * One ktstr worker is one schbench: it runs schbench's threads itself, as
 * pthreads, because schbench is one process of threads (its hand-offs are
 * private futexes, its per-CPU locks are shared by every worker thread).
 * Use one worker per cgroup, or a few for several independent schbenches.
 *
 * A worker thread stamps its wake time, pushes itself on its message
 * thread's wait list (a lock-free stack), posts the message thread and
 * waits; the message thread takes the whole list, reads the clock once,
 * stamps every waiting worker with it and posts each. The worker's wakeup
 * latency runs from that stamp to when it runs. Its request then runs
 * sleep_usec of think time and `operations` matrix multiplies over
 * cache_footprint_kib, holding the lock of the CPU it is on (unless
 * skip_locking); the request latency runs from the wake to the end.
 *
 * Telemetry: a work unit is one request; the main thread checkpoints every
 * millisecond with the requests done since (so max_gap measures it, not
 * the threads). Wakeup latencies go to the wake reservoir as well (the p99
 * check reads them). The main thread's schedstat is what cpu_ns and run
 * delay report; the threads' own run delay is in the metrics:
 * wakeup_p50_us, wakeup_p90_us, wakeup_p99_us, wakeup_max_us,
 * request_p50_us, request_p90_us, request_p99_us, request_max_us, rps
 * (requests per second), loop_count, worker_threads, and the mean run
 * delay per timeslice of the worker and message threads
 * (sched_delay_worker_us, sched_delay_msg_us).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/schedstat.h"
#include "work_loop.h"

#define SB_TICK_NS	1000000	/* the main thread's checkpoint period */
#define SB_THREADS_MAX	4096	/* worker threads, every message thread's */
#define SB_METRIC_TICKS	100	/* metrics refreshed every 100 ticks */
#define SB_SUB_BITS	6	/* 64 buckets per power of two: <1.6% error */
#define SB_SUB		(1u << SB_SUB_BITS)
#define SB_MAX_BITS	40	/* latencies up to 2^40 ns (18 min) */
#define SB_BUCKETS	((SB_MAX_BITS - SB_SUB_BITS + 1) * SB_SUB + SB_SUB)

enum { SB_MSG, SB_WORKERS, SB_FOOTPRINT, SB_OPS, SB_SLEEP_US, SB_SKIP_LOCKING };

/* A log-linear latency histogram in ns; one writer, read by the main thread. */
struct sb_hist {
	uint64_t n[SB_BUCKETS];
	uint64_t max;
};

struct sb_thread {
	uint32_t futex;			/* 1: posted, 0: not (schbench's fpost) */
	uint64_t wake_time;		/* stamped by whoever posts this thread */
	struct sb_thread *next;		/* on its message thread's wait list */
	struct sb_thread *msg;		/* a worker's message thread */
	struct sb_thread *list;		/* a message thread's waiting workers */
	struct schbench *sb;
	struct work_matrix m;
	struct sb_hist wakeup, request;
	uint64_t loops;
	uint64_t run_delay_ns, slices;	/* schedstat at the thread's exit */
	pthread_t tid;
	int started;
} __attribute__((aligned(64)));

struct schbench {
	struct work_ctx tc;		/* the worker's context, stop = &quit */
	const struct work_spec *s;
	volatile int quit;
	pthread_mutex_t telem_lock;	/* telem_wake: one writer at a time */
	pthread_mutex_t *cpu_locks;
	unsigned ncpu_locks, nmsg, nworkers;	/* nworkers per message thread */
	struct sb_thread *msgs, *workers;
	uint64_t progress;		/* requests done, every worker's */
};

static unsigned sb_bucket(uint64_t v)
{
	unsigned e;

	if (v < SB_SUB)
		return (unsigned)v;
	if (v >= 1ULL << SB_MAX_BITS)
		v = (1ULL << SB_MAX_BITS) - 1;
	e = 63 - (unsigned)__builtin_clzll(v);
	return (e - SB_SUB_BITS) * SB_SUB + (unsigned)(v >> (e - SB_SUB_BITS));
}

/* The middle of bucket i's range of values. */
static uint64_t sb_value(unsigned i)
{
	unsigned q = i / SB_SUB;
	uint64_t lo;

	if (i < SB_SUB)
		return i;
	lo = (uint64_t)(i % SB_SUB + SB_SUB) << (q - 1);
	return lo + ((1ULL << (q - 1)) - 1) / 2;
}

/* By its one writer: plain increments, stores the reader sees whole. */
static void sb_hist_add(struct sb_hist *h, uint64_t ns)
{
	unsigned b = sb_bucket(ns);

	__atomic_store_n(&h->n[b], h->n[b] + 1, __ATOMIC_RELAXED);
	if (ns > h->max)
		__atomic_store_n(&h->max, ns, __ATOMIC_RELAXED);
}

static void sb_hist_merge(struct sb_hist *into, const struct sb_hist *h)
{
	unsigned i;

	for (i = 0; i < SB_BUCKETS; i++)
		into->n[i] += __atomic_load_n(&h->n[i], __ATOMIC_RELAXED);
	if (h->max > into->max)
		into->max = h->max;
}

/* Nearest rank over the histogram: the bucket holding the q-th sample. */
static uint64_t sb_hist_pct(const struct sb_hist *h, uint64_t total, double q)
{
	uint64_t want = (uint64_t)(q * (double)total + 0.999999), seen = 0;
	unsigned i;

	if (!want)
		want = 1;
	for (i = 0; i < SB_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= want)	/* a bucket's middle may pass the max */
			return sb_value(i) < h->max ? sb_value(i) : h->max;
	}
	return h->max;
}

/* schbench's fpost_post: mark posted, and wake the thread if it was not. */
static void sb_post(struct sb_thread *t)
{
	uint32_t zero = 0;

	if (__atomic_compare_exchange_n(&t->futex, &zero, 1, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		work_futex(&t->futex, FUTEX_WAKE_PRIVATE, 1, NULL);
}

/* schbench's fpost_wait, in slices: 0 once posted, 1 when stopped. */
static int sb_wait(struct schbench *sb, struct sb_thread *t)
{
	struct timespec slice = { 0, WORK_SLICE_NS };
	uint32_t one = 1;

	for (;;) {
		if (__atomic_compare_exchange_n(&t->futex, &one, 0, 0,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return 0;
		one = 1;
		if (sb->quit)
			return 1;
		work_futex(&t->futex, FUTEX_WAIT_PRIVATE, 0, &slice);
	}
}

static void sb_push(struct sb_thread *msg, struct sb_thread *t)
{
	struct sb_thread *head = __atomic_load_n(&msg->list, __ATOMIC_ACQUIRE);

	do
		t->next = head;
	while (!__atomic_compare_exchange_n(&msg->list, &head, t, 1,
					    __ATOMIC_RELEASE, __ATOMIC_ACQUIRE));
}

/* Takes the whole wait list; one clock read stamps every worker on it. */
static void sb_wake_all(struct sb_thread *msg)
{
	struct sb_thread *t = __atomic_exchange_n(&msg->list, NULL,
						  __ATOMIC_ACQ_REL), *next;
	uint64_t now = clock_now_ns();

	for (; t; t = next) {
		next = t->next;
		__atomic_store_n(&t->wake_time, now, __ATOMIC_RELEASE);
		sb_post(t);
	}
}

static void sb_exit_stats(struct sb_thread *t)
{
	uint64_t cpu;

	if (schedstat_read(getpid(), (int)gettid(), &cpu, &t->run_delay_ns,
			   &t->slices))
		t->run_delay_ns = t->slices = 0;
}

static void *sb_message_thread(void *arg)
{
	struct sb_thread *t = arg;

	for (;;) {
		sb_wake_all(t);
		if (t->sb->quit)
			break;
		sb_wait(t->sb, t);
	}
	sb_wake_all(t);
	sb_exit_stats(t);
	return NULL;
}

static int sb_request(struct schbench *sb, struct sb_thread *t)
{
	uint64_t think = (uint64_t)sb->s->args[SB_SLEEP_US] * 1000, op;
	pthread_mutex_t *lock = NULL;
	int cpu, stopped = 0;

	if (think && work_sleep_until(&sb->tc, clock_now_ns() + think) < 0)
		return 1;
	if (!sb->s->args[SB_SKIP_LOCKING]) {
		cpu = sched_getcpu();
		lock = &sb->cpu_locks[(unsigned)(cpu < 0 ? 0 : cpu) % sb->ncpu_locks];
		pthread_mutex_lock(lock);
	}
	for (op = 0; op < (uint64_t)sb->s->args[SB_OPS] && !stopped; op++)
		stopped = t->m.n ? work_matrix_multiply(&sb->quit, &t->m) : sb->quit;
	if (lock)
		pthread_mutex_unlock(lock);
	return stopped;
}

static void *sb_worker_thread(void *arg)
{
	struct sb_thread *t = arg;
	struct schbench *sb = t->sb;
	uint64_t now, wake;

	while (!sb->quit) {
		__atomic_store_n(&t->wake_time, clock_now_ns(), __ATOMIC_RELEASE);
		sb_push(t->msg, t);
		sb_post(t->msg);
		if (sb_wait(sb, t))
			break;
		now = clock_now_ns();
		wake = __atomic_load_n(&t->wake_time, __ATOMIC_ACQUIRE);
		if (wake && wake <= now) {
			sb_hist_add(&t->wakeup, now - wake);
			pthread_mutex_lock(&sb->telem_lock);
			telem_wake(sb->tc.t, now - wake);
			pthread_mutex_unlock(&sb->telem_lock);
		}
		if (sb_request(sb, t))
			break;
		sb_hist_add(&t->request, clock_now_ns() - now);
		__atomic_store_n(&t->loops, t->loops + 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&sb->progress, 1, __ATOMIC_RELAXED);
	}
	sb_exit_stats(t);
	return NULL;
}

/* Sets the metrics from every worker thread's histograms (so far, or at the end). */
static void sb_metrics(struct schbench *sb, uint64_t wall_ns, int final)
{
	static struct sb_hist wakeup, request;	/* 18 KB each: off the stack */
	uint64_t loops = 0, nw = 0, nr = 0, rd = 0, sl = 0, mrd = 0, msl = 0;
	struct telem *t = sb->tc.t;
	unsigned i, j, n = sb->nmsg * sb->nworkers;

	memset(&wakeup, 0, sizeof(wakeup));
	memset(&request, 0, sizeof(request));
	for (i = 0; i < n; i++) {
		sb_hist_merge(&wakeup, &sb->workers[i].wakeup);
		sb_hist_merge(&request, &sb->workers[i].request);
		loops += __atomic_load_n(&sb->workers[i].loops, __ATOMIC_RELAXED);
		rd += sb->workers[i].run_delay_ns;
		sl += sb->workers[i].slices;
	}
	for (j = 0; j < SB_BUCKETS; j++) {
		nw += wakeup.n[j];
		nr += request.n[j];
	}
	telem_metric(t, "worker_threads", n);
	telem_metric(t, "loop_count", (double)loops);
	telem_metric(t, "rps", wall_ns ? (double)loops * 1e9 / (double)wall_ns : 0);
	if (nw) {
		telem_metric(t, "wakeup_p50_us", sb_hist_pct(&wakeup, nw, 0.50) / 1e3);
		telem_metric(t, "wakeup_p90_us", sb_hist_pct(&wakeup, nw, 0.90) / 1e3);
		telem_metric(t, "wakeup_p99_us", sb_hist_pct(&wakeup, nw, 0.99) / 1e3);
		telem_metric(t, "wakeup_max_us", wakeup.max / 1e3);
	}
	if (nr) {
		telem_metric(t, "request_p50_us", sb_hist_pct(&request, nr, 0.50) / 1e3);
		telem_metric(t, "request_p90_us", sb_hist_pct(&request, nr, 0.90) / 1e3);
		telem_metric(t, "request_p99_us", sb_hist_pct(&request, nr, 0.99) / 1e3);
		telem_metric(t, "request_max_us", request.max / 1e3);
	}
	if (!final)
		return;
	for (i = 0; i < sb->nmsg; i++) {
		mrd += sb->msgs[i].run_delay_ns;
		msl += sb->msgs[i].slices;
	}
	if (sl)
		telem_metric(t, "sched_delay_worker_us", (double)rd / (double)sl / 1e3);
	if (msl)
		telem_metric(t, "sched_delay_msg_us", (double)mrd / (double)msl / 1e3);
}

/* The CPUs of the worker's affinity; the lock array spans up to the last. */
static void sb_cpus(const struct work_ctx *c, unsigned *count, unsigned *span)
{
	int cpu;

	*count = 0;
	*span = 1;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &c->cpus)) {
			(*count)++;
			*span = (unsigned)cpu + 1;
		}
	}
	if (!*count)
		*count = 1;
}

static int sb_start(struct sb_thread *t, void *(*fn)(void *))
{
	int rc = pthread_create(&t->tid, NULL, fn, t);

	if (rc)
		return -rc;
	t->started = 1;
	return 0;
}

static int sb_alloc(struct schbench *sb, struct work_ctx *c)
{
	unsigned i, n, cpus;
	int rc;

	sb_cpus(c, &cpus, &sb->ncpu_locks);
	sb->nmsg = (unsigned)sb->s->args[SB_MSG];
	sb->nworkers = sb->s->args[SB_WORKERS] ? (unsigned)sb->s->args[SB_WORKERS] : cpus;
	n = sb->nmsg * sb->nworkers;
	if (n > SB_THREADS_MAX)
		return -E2BIG;
	sb->cpu_locks = calloc(sb->ncpu_locks, sizeof(*sb->cpu_locks));
	sb->msgs = aligned_alloc(64, sb->nmsg * sizeof(*sb->msgs));
	sb->workers = aligned_alloc(64, n * sizeof(*sb->workers));
	if (!sb->cpu_locks || !sb->msgs || !sb->workers)
		return -ENOMEM;
	memset(sb->msgs, 0, sb->nmsg * sizeof(*sb->msgs));
	memset(sb->workers, 0, n * sizeof(*sb->workers));
	for (i = 0; i < sb->ncpu_locks; i++)
		pthread_mutex_init(&sb->cpu_locks[i], NULL);
	for (i = 0; i < sb->nmsg; i++)
		sb->msgs[i].sb = sb;
	for (i = 0; i < n; i++) {
		sb->workers[i].sb = sb;
		sb->workers[i].msg = &sb->msgs[i / sb->nworkers];
		rc = work_matrix_init(&sb->workers[i].m,
				      (uint64_t)sb->s->args[SB_FOOTPRINT]);
		if (rc)
			return rc;
	}
	return 0;
}

static void sb_free(struct schbench *sb)
{
	unsigned i;

	for (i = 0; sb->workers && i < sb->nmsg * sb->nworkers; i++)
		work_matrix_free(&sb->workers[i].m);
	free(sb->workers);
	free(sb->msgs);
	free(sb->cpu_locks);
}

/* The main thread: start the threads, checkpoint every tick, stop, join. */
static int sb_main(struct schbench *sb, struct work_ctx *c)
{
	uint64_t start = clock_now_ns(), done = 0, now;
	unsigned i, n = sb->nmsg * sb->nworkers, ticks = 0;
	int rc = 0;

	for (i = 0; i < sb->nmsg + n && !rc; i++)
		rc = i < sb->nmsg ? sb_start(&sb->msgs[i], sb_message_thread) :
		     sb_start(&sb->workers[i - sb->nmsg], sb_worker_thread);
	if (rc)
		snprintf(c->t->error_msg, sizeof(c->t->error_msg),
			 "schbench: pthread_create: thread %u of %u: %s",
			 i, sb->nmsg + n, strerror(-rc));
	while (!rc && !work_stopped(c)) {
		if (work_sleep_until(c, clock_now_ns() + SB_TICK_NS) < 0)
			break;
		now = __atomic_load_n(&sb->progress, __ATOMIC_RELAXED);
		telem_checkpoint(c->t, now - done);
		done = now;
		if (++ticks % SB_METRIC_TICKS == 0)
			sb_metrics(sb, clock_now_ns() - start, 0);
	}
	sb->quit = 1;
	for (i = 0; i < sb->nmsg; i++)
		if (sb->msgs[i].started)
			sb_post(&sb->msgs[i]);
	for (i = 0; i < sb->nmsg + n; i++) {
		struct sb_thread *t = i < sb->nmsg ? &sb->msgs[i] :
				      &sb->workers[i - sb->nmsg];

		if (t->started)
			pthread_join(t->tid, NULL);
	}
	now = __atomic_load_n(&sb->progress, __ATOMIC_RELAXED);
	telem_checkpoint(c->t, now - done);
	sb_metrics(sb, clock_now_ns() - start, 1);
	return rc;
}

static int schbench_run(struct work_ctx *c, const struct work_spec *s)
{
	struct schbench *sb = calloc(1, sizeof(*sb));
	int rc;

	if (!sb)
		return -ENOMEM;
	sb->s = s;
	sb->tc = *c;
	sb->tc.stop = &sb->quit;
	pthread_mutex_init(&sb->telem_lock, NULL);
	rc = sb_alloc(sb, c);
	if (rc)
		snprintf(c->t->error_msg, sizeof(c->t->error_msg),
			 "schbench: %u x %lld KiB of matrices: %s",
			 sb->nmsg * sb->nworkers,
			 (long long)s->args[SB_FOOTPRINT], strerror(-rc));
	else
		rc = sb_main(sb, c);
	sb_free(sb);
	free(sb);
	return rc;
}

static int schbench_check(const struct work_spec *s, char *err, size_t errlen)
{
	if (s->args[SB_MSG] * s->args[SB_WORKERS] > 1024)
		return work_err(err, errlen,
				"schbench.worker_threads: %lld message threads x %lld workers is more than 1024 threads",
				(long long)s->args[SB_MSG],
				(long long)s->args[SB_WORKERS]);
	return 0;
}

static const struct work_param schbench_params[] = {
	[SB_MSG] = { "message_threads", WP_INT, 1, 1, 64,
		     "message threads (schbench -m)" },
	[SB_WORKERS] = { "worker_threads", WP_INT, 0, 0, 1024,
			 "worker threads per message thread (-t); 0: one per CPU of the worker's affinity" },
	[SB_FOOTPRINT] = { "cache_footprint_kib", WP_INT, 256, 1, 65536,
			   "each worker thread's three matrices, KiB (-F)" },
	[SB_OPS] = { "operations", WP_INT, 5, 0, 1 << 20,
		     "matrix multiplies per request (-n)" },
	[SB_SLEEP_US] = { "sleep_usec", WP_INT, 100, 0, 60000000,
			  "think time per request before the multiplies, us (-s)" },
	[SB_SKIP_LOCKING] = { "skip_locking", WP_BOOL, 0, 0, 1,
			      "no per-CPU lock around the multiplies (-L)" },
};

const struct work_type work_schbench = {
	.name = "schbench",
	.unit = "one request: woken by a message thread, sleep_usec, operations matrix multiplies",
	.params = schbench_params,
	.nparams = 6,
	.blocking = 1,
	.run = schbench_run,
	.check = schbench_check,
};
