/* Private to work*.c: the building blocks of the loops and the type table. */
#ifndef KTSTR_WORK_LOOP_H
#define KTSTR_WORK_LOOP_H

#include "src/base/clock.h"
#include "work.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WORK_SPIN_BLOCK	1024		/* spins between stop checks */
#define WORK_SLICE_NS	10000000LL	/* longest uninterrupted sleep or wait */
#define WORK_ITERS_MAX	(1LL << 30)

/* Every work type, defined beside its loop (work_cpu.c, work_wake.c, ...). */
extern const struct work_type work_spin_wait, work_yield_heavy, work_mixed,
	work_alu_hot, work_bursty, work_idle_churn, work_io_sync_write,
	work_pipe_io, work_futex_ping_pong, work_futex_fan_out,
	work_cache_pressure, work_cache_yield, work_fork_exit, work_nice_sweep,
	work_affinity_churn, work_policy_churn, work_page_fault_churn,
	work_mutex_contention, work_sequence;
extern const struct work_type work_wake_chain, work_asymmetric_waker,
	work_thundering_herd, work_epoll_storm, work_signal_storm,
	work_fan_out_compute, work_cache_pipe, work_ipc_variance,
	work_producer_consumer_imbalance, work_preempt_storm, work_schbench;
extern const struct work_type work_smt_sibling_spin, work_cross_affinity_churn,
	work_numa_migration_churn, work_numa_working_set_sweep, work_cgroup_churn,
	work_cgroup_attach_storm, work_priority_inversion, work_rt_starvation;
/* work_io.c (work_io_sync_write is above) */
extern const struct work_type work_io_rand_read, work_io_convoy;

static inline int work_stopped(const struct work_ctx *c)
{
	return *c->stop;
}

static inline void work_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/*
 * n spins of the CPU's spin-wait hint, checking stop every block; returns
 * nonzero when stopped before the end.
 */
static inline int work_spin(const struct work_ctx *c, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		work_cpu_relax();
		if ((i & (WORK_SPIN_BLOCK - 1)) == WORK_SPIN_BLOCK - 1 &&
		    work_stopped(c))
			return 1;
	}
	return work_stopped(c);
}

/* xorshift64*, seeded per worker so that members do not march in step. */
static inline uint64_t work_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t work_seed(const struct work_ctx *c)
{
	return (clock_now_ns() ^ ((uint64_t)getpid() << 32) ^ c->index) | 1;
}

static inline long work_futex(uint32_t *uaddr, int op, uint32_t val,
			      const struct timespec *timeout)
{
	return syscall(SYS_futex, uaddr, op, val, timeout, NULL, 0);
}

/*
 * Waits on a shared futex word while it holds val, for at most one slice so
 * that the caller rechecks stop. 1: woken by FUTEX_WAKE; 0: the word had
 * changed, the slice ended or a signal came; -errno on a real error.
 */
static inline int work_futex_wait(uint32_t *uaddr, uint32_t val)
{
	struct timespec slice = { 0, WORK_SLICE_NS };

	if (work_futex(uaddr, FUTEX_WAIT, val, &slice) == 0)
		return 1;
	if (errno == EAGAIN || errno == ETIMEDOUT || errno == EINTR)
		return 0;
	return -errno;
}

static inline void work_futex_wake(uint32_t *uaddr, int n)
{
	work_futex(uaddr, FUTEX_WAKE, n, NULL);
}

static inline uint32_t work_load(uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Stamps member's wake slot with now: its wake latency starts here. */
static inline void work_stamp(struct work_group *g, unsigned member)
{
	__atomic_store_n(&g->stamp_ns[member], clock_now_ns(), __ATOMIC_RELEASE);
}

static inline uint64_t work_stamp_of(struct work_group *g, unsigned member)
{
	return __atomic_load_n(&g->stamp_ns[member], __ATOMIC_ACQUIRE);
}

/* Records now - stamp as a wake latency when the stamp is sane. */
static inline void work_wake_from(const struct work_ctx *c, uint64_t now,
				  uint64_t stamp)
{
	if (stamp && stamp <= now)
		telem_wake(c->t, now - stamp);
}

/* work_wake.c */

/* Groups of two: the group_size of the paired types. */
unsigned work_pair(const struct work_spec *s);

/* The runtime must have set up a group of the size the spec asks for. */
int work_check_group(struct work_ctx *c, const struct work_spec *s);
/*
 * Waits while *word == val: 0 with the new value in *now, 1 when stopped,
 * or -errno. Each wait lasts at most a slice, so stop is seen in time.
 */
int work_wait_change(struct work_ctx *c, uint32_t *word, uint32_t val,
		     uint32_t *now);
/*
 * A token ring on grp->futex[0], which counts hand-offs (mod size << 24,
 * so that turns survive the wrap); member (count % size) holds it. The
 * holder records its wake from its stamp slot, runs hop(c, arg) (nonzero:
 * stopped), counts a unit, stamps the next member's slot, bumps the word
 * and wakes `wake` members parked on it: the one whose turn it is runs,
 * any other parks again. Returns at the stop: 0 or -errno.
 */
int work_futex_ring(struct work_ctx *c,
		    int (*hop)(const struct work_ctx *c, uint64_t arg),
		    uint64_t arg, int wake);
/*
 * Fan-out on grp->seq (the generation) and grp->futex[0] (the acks):
 * work_broadcast stamps stamp_ns[0], bumps seq and wakes every member
 * parked on it; work_broadcast_wait waits past generation *seen (updated)
 * and records the wake from the stamp (0, 1 when stopped, -errno);
 * work_acks_wait waits until n acks are in (0, 1, -errno); work_ack adds
 * one, the n-th waking the waiter. A sender resets futex[0] before it
 * broadcasts.
 */
void work_broadcast(struct work_group *g);
int work_broadcast_wait(struct work_ctx *c, uint32_t *seen);
int work_acks_wait(struct work_ctx *c, uint32_t n);
void work_ack(struct work_ctx *c, uint32_t n);
/*
 * Reads one byte from a pipe, polling in slices: 0 with the byte read, 1
 * when stopped, -EPIPE when the writer is gone, or -errno.
 */
int work_pipe_wait(struct work_ctx *c, int fd);

/* work.c */

/*
 * Sleeps until deadline (CLOCK_MONOTONIC ns) in slices of at most
 * WORK_SLICE_NS; returns the overshoot past the deadline in ns, or -1 when
 * stopped first.
 */
int64_t work_sleep_until(const struct work_ctx *c, uint64_t deadline);
/* Spins until deadline, a checkpoint of units_per_block every block. */
int work_spin_until(const struct work_ctx *c, uint64_t deadline,
		    uint64_t units_per_block);
/* Four independent multiply chains, n rounds; the result defeats the optimiser. */
uint64_t work_alu_rounds(uint64_t n);
/* An unlinked temp file in /tmp, open with extra flags; fd or -errno. */
int work_tmpfile(int flags);
/* snprintf into err; returns -EINVAL for the caller to pass on. */
int work_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* work_compute.c: schbench's naive matrix multiply (fan_out_compute, schbench) */

struct work_matrix {
	uint64_t *v;	/* three n x n matrices: a, b and a x b */
	size_t n;
};

/*
 * Sizes three n x n u64 matrices to fill footprint_kib (n may be 0 for a
 * footprint too small) and fills a and b; 0 or -errno.
 */
int work_matrix_init(struct work_matrix *m, uint64_t footprint_kib);
void work_matrix_free(struct work_matrix *m);
/* One multiply, checking *stop per row: nonzero when stopped part-way. */
int work_matrix_multiply(const volatile int *stop, struct work_matrix *m);

/* work_cgroup.c */

struct cgroup;
/* Fills c's error message (the report's reason) from fmt; returns rc. */
int work_fail(struct work_ctx *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The worker's own cgroup, from /proc/self/cgroup; 0, or -errno with the
 * reason in the report when it is not a cgroup under CGROUP_KTSTR (work
 * that changes other tasks or cgroups stays inside ktstr's tree).
 */
int work_cgroup_home(struct work_ctx *c, const char *type, struct cgroup *home);

#endif
