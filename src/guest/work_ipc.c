/* IPC work types: wake_chain, cache_pipe, signal_storm, epoll_storm, thundering_herd, producer_consumer_imbalance. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "work_loop.h"

#define IPC_SPINS	1024	/* a consumer's or waiter's work per event */
#define IPC_HOP_BLOCK	64	/* spins between clock reads in a timed hop */
#define IPC_RMW_BLOCK	1024	/* cache touches between stop checks */
#define EPOLL_GAP_NS	1000000	/* a producer's sleep between bursts */

static int ipc_fail(struct work_ctx *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fills the worker's error message (when rc < 0) and passes rc on. */
static int ipc_fail(struct work_ctx *c, int rc, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	if (rc >= 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->t->error_msg, sizeof(c->t->error_msg), "%s: %s", what,
		 strerror(-rc));
	return rc;
}

/*
 * Spins for ns of wall time (a hop's work), a checkpoint without units
 * every 16 blocks so that max_gap sees a long hop as work, not a stall.
 * Nonzero when stopped first.
 */
static int ipc_spin_for(const struct work_ctx *c, uint64_t ns)
{
	uint64_t end = clock_now_ns() + ns;
	unsigned i, blocks = 0;

	do {
		for (i = 0; i < IPC_HOP_BLOCK; i++)
			work_cpu_relax();
		if (work_stopped(c))
			return 1;
		if (++blocks % 16 == 0)
			telem_checkpoint(c->t, 0);
	} while (clock_now_ns() < end);
	return 0;
}

/*
 * Stamps member next's wake slot and writes the token into this member's
 * pipe_out: 0, 1 when the partner is gone because the run stopped, -errno.
 */
static int ipc_pipe_pass(struct work_ctx *c, unsigned next)
{
	char b = 0;

	work_stamp(c->grp, next);
	if (write(c->grp->pipe_out[c->member], &b, 1) == 1)
		return 0;
	return errno == EPIPE && work_stopped(c) ? 1 : -errno;
}

/*
 * A token goes round the group's pipe ring: each member waits for it,
 * records the wake, does its work (hop), counts a unit and passes it on.
 * Member 0 starts it with a hop of its own.
 */
static int ipc_pipe_ring(struct work_ctx *c, int (*hop)(struct work_ctx *c,
		const struct work_spec *s), const struct work_spec *s)
{
	struct work_group *g = c->grp;
	unsigned next = (c->member + 1) % g->size;
	int rc = 0;

	/* a write to a partner gone at stop must fail with EPIPE, not kill us */
	signal(SIGPIPE, SIG_IGN);
	if (c->member == 0) {
		rc = hop(c, s);
		if (!rc) {
			telem_checkpoint(c->t, 1);
			rc = ipc_pipe_pass(c, next);
		}
	}
	while (!rc) {
		rc = work_pipe_wait(c, g->pipe_in[c->member]);
		if (rc)
			break;
		work_wake_from(c, clock_now_ns(), work_stamp_of(g, c->member));
		rc = hop(c, s);
		if (rc)
			break;
		telem_checkpoint(c->t, 1);
		rc = ipc_pipe_pass(c, next);
	}
	if (rc == -EPIPE)	/* EOF or a write refused: a member died */
		return ipc_fail(c, rc, "%s: member %u: a neighbour in the ring is gone",
				s->type->name, c->member);
	return rc < 0 ? ipc_fail(c, rc, "%s: member %u", s->type->name,
				 c->member) : 0;
}

/* ---- wake_chain ---- */

enum { CHAIN_DEPTH, CHAIN_WAKE, CHAIN_HOP };
enum { CHAIN_PIPE, CHAIN_FUTEX };

static unsigned chain_members(const struct work_spec *s)
{
	return (unsigned)s->args[CHAIN_DEPTH];
}

static int chain_hop(struct work_ctx *c, const struct work_spec *s)
{
	return ipc_spin_for(c, (uint64_t)s->args[CHAIN_HOP]);
}

/*
 * The futex ring wakes every member parked on the one word (FUTEX_WAKE
 * INT_MAX, no WF_SYNC); the pipe ring wakes only the next, WF_SYNC.
 */
static int wake_chain_run(struct work_ctx *c, const struct work_spec *s)
{
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	if (s->args[CHAIN_WAKE] == CHAIN_FUTEX)
		return work_futex_ring(c, ipc_spin_for,
				       (uint64_t)s->args[CHAIN_HOP], INT_MAX);
	return ipc_pipe_ring(c, chain_hop, s);
}

static const char *const chain_wakes[] = { "pipe", "futex", NULL };

static const struct work_param wake_chain_params[] = {
	[CHAIN_DEPTH] = { "depth", WP_INT, 4, 2, WORK_GROUP_MAX,
			  "workers in the ring (the group size)" },
	[CHAIN_WAKE] = { "wake", WP_ENUM, CHAIN_PIPE, 0, 1,
			 "pipe (WF_SYNC wakes) or futex (not)" },
	[CHAIN_HOP] = { "work_per_hop", WP_NS, 100000, 1, WORK_NS_MAX,
			"spinning per hop before waking the next" },
};

static const char *const *const wake_chain_choices[] = {
	[CHAIN_WAKE] = chain_wakes,
};

const struct work_type work_wake_chain = {
	.name = "wake_chain",
	.unit = "one hop: woken, work_per_hop spinning, wake the next",
	.params = wake_chain_params,
	.nparams = 3,
	.choices = wake_chain_choices,
	.group_size = chain_members,
	.blocking = 1,
	.run = wake_chain_run,
};

/* ---- cache_pipe ---- */

enum { CPIPE_SIZE_KIB, CPIPE_BURST };

struct cpipe {
	uint8_t *buf;
	size_t size, off;
};

static struct cpipe cpipe_buf;	/* this member's, after the fork */

/* burst_iters read-modify-writes a cache line apart, wrapping at the end */
static int cpipe_hop(struct work_ctx *c, const struct work_spec *s)
{
	struct cpipe *p = &cpipe_buf;
	uint64_t i, n = (uint64_t)s->args[CPIPE_BURST];

	for (i = 0; i < n; i++) {
		((volatile uint8_t *)p->buf)[p->off]++;
		p->off += 64;
		if (p->off >= p->size)
			p->off = 0;
		if ((i & (IPC_RMW_BLOCK - 1)) == IPC_RMW_BLOCK - 1 &&
		    work_stopped(c))
			return 1;
	}
	return 0;
}

static int cache_pipe_run(struct work_ctx *c, const struct work_spec *s)
{
	struct cpipe *p = &cpipe_buf;
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	p->size = (size_t)s->args[CPIPE_SIZE_KIB] * 1024;
	p->off = 0;
	p->buf = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p->buf == MAP_FAILED)
		return ipc_fail(c, -errno, "cache_pipe: %zu KiB buffer",
				p->size / 1024);
	rc = ipc_pipe_ring(c, cpipe_hop, s);
	munmap(p->buf, p->size);
	return rc;
}

static const struct work_param cache_pipe_params[] = {
	[CPIPE_SIZE_KIB] = { "size_kib", WP_INT, 32, 1, 1048576,
			     "buffer size per worker in KiB" },
	[CPIPE_BURST] = { "burst_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
			  "cache-line read-modify-writes before passing the byte" },
};

const struct work_type work_cache_pipe = {
	.name = "cache_pipe",
	.unit = "burst_iters cache-line writes + one 1-byte pipe hand-off",
	.params = cache_pipe_params,
	.nparams = 2,
	.group_size = work_pair,
	.blocking = 1,
	.run = cache_pipe_run,
};

/* ---- signal_storm ---- */

enum { SIG_PER_ITER, SIG_WORK };

static volatile sig_atomic_t sig_received;

static void sig_count(int sig)
{
	(void)sig;
	sig_received++;
}

/* The handler must be in place before the partner's first signal. */
static int signal_storm_setup(struct work_ctx *c, const struct work_spec *s)
{
	struct sigaction sa = { .sa_handler = sig_count, .sa_flags = SA_RESTART };

	(void)s;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return ipc_fail(c, -errno, "signal_storm: sigaction SIGUSR1");
	return 0;
}

static void sig_metrics(struct work_ctx *c, uint64_t sent)
{
	telem_metric(c->t, "signals_sent", (double)sent);
	telem_metric(c->t, "signals_received", (double)sig_received);
}

/*
 * Spins work_iters, then sends signals_per_iter SIGUSR1 to the partner
 * through a pidfd (never to a pid the partner's exit freed for reuse).
 * Pending signals of one kind merge, so fewer arrive than are sent.
 */
static int signal_storm_run(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t i, iters = 0, sent = 0, n = (uint64_t)s->args[SIG_PER_ITER];
	pid_t partner;
	int rc = work_check_group(c, s), pidfd;

	if (rc)
		return rc;
	partner = c->grp->pid[!c->member];
	pidfd = (int)syscall(SYS_pidfd_open, partner, 0);
	if (pidfd < 0)
		return ipc_fail(c, work_stopped(c) ? 0 : -errno,
				"signal_storm: pidfd_open of partner %d", (int)partner);
	while (!work_stopped(c)) {
		if (work_spin(c, (uint64_t)s->args[SIG_WORK]))
			break;
		for (i = 0; i < n; i++) {
			if (syscall(SYS_pidfd_send_signal, pidfd, SIGUSR1, NULL, 0) == 0) {
				sent++;
				continue;
			}
			rc = work_stopped(c) ? 0 : -errno;	/* gone at the stop */
			goto out;
		}
		telem_checkpoint(c->t, 1);
		if (++iters % 256 == 0)
			sig_metrics(c, sent);
	}
out:
	sig_metrics(c, sent);
	close(pidfd);
	return ipc_fail(c, rc, "signal_storm: signal to partner %d", (int)partner);
}

static const struct work_param signal_storm_params[] = {
	[SIG_PER_ITER] = { "signals_per_iter", WP_INT, 16, 1, 1 << 20,
			   "SIGUSR1 sent to the partner per iteration" },
	[SIG_WORK] = { "work_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
		       "spins between bursts of signals" },
};

const struct work_type work_signal_storm = {
	.name = "signal_storm",
	.unit = "work_iters spins + signals_per_iter signals sent",
	.params = signal_storm_params,
	.nparams = 2,
	.group_size = work_pair,
	.run = signal_storm_run,
	.setup = signal_storm_setup,
};

/* ---- epoll_storm ---- */

enum { EPOLL_PRODUCERS, EPOLL_CONSUMERS, EPOLL_BURST };
enum { EPOLL_EVENTFD, EPOLL_FD };

static unsigned epoll_members(const struct work_spec *s)
{
	return (unsigned)(s->args[EPOLL_PRODUCERS] + s->args[EPOLL_CONSUMERS]);
}

static int epoll_check(const struct work_spec *s, char *err, size_t errlen)
{
	if (epoll_members(s) > WORK_GROUP_MAX)
		return work_err(err, errlen,
				"epoll_storm.consumers: producers %lld + consumers %lld is more than %d workers in a group",
				(long long)s->args[EPOLL_PRODUCERS],
				(long long)s->args[EPOLL_CONSUMERS], WORK_GROUP_MAX);
	return 0;
}

/*
 * One eventfd (a semaphore: each read takes one event) in one epoll set
 * that every consumer waits on. Waiters of one epoll set wake exclusively:
 * one write wakes one consumer, unlike thundering_herd's broadcast.
 */
static int epoll_group_init(struct work_group *g, const struct work_spec *s)
{
	struct epoll_event ev = { .events = EPOLLIN };

	(void)s;
	g->fd[EPOLL_EVENTFD] = eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	if (g->fd[EPOLL_EVENTFD] < 0)
		return -errno;
	g->fd[EPOLL_FD] = epoll_create1(EPOLL_CLOEXEC);
	if (g->fd[EPOLL_FD] < 0)
		return -errno;
	if (epoll_ctl(g->fd[EPOLL_FD], EPOLL_CTL_ADD, g->fd[EPOLL_EVENTFD], &ev) < 0)
		return -errno;
	return 0;
}

/* events_per_burst writes back to back, then a 1 ms sleep */
static int epoll_producer(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t one = 1, i;
	int64_t late;

	while (!work_stopped(c)) {
		for (i = 0; i < (uint64_t)s->args[EPOLL_BURST]; i++) {
			work_stamp(c->grp, 0);
			/* EAGAIN: the counter is full; the consumers are behind */
			if (write(c->grp->fd[EPOLL_EVENTFD], &one, sizeof(one)) < 0 &&
			    errno != EAGAIN)
				return ipc_fail(c, -errno, "epoll_storm: eventfd write");
		}
		telem_checkpoint(c->t, 1);
		late = work_sleep_until(c, clock_now_ns() + EPOLL_GAP_NS);
		if (late < 0)
			break;
		telem_wake(c->t, (uint64_t)late);
	}
	return 0;
}

/*
 * epoll_wait(maxevents = 1) in slices, read one event, spin. A wake is
 * recorded when a write came after the wait began (the consumer slept
 * until one), from the newest write's stamp: a lower bound.
 */
static int epoll_consumer(struct work_ctx *c)
{
	struct epoll_event ev;
	uint64_t v, before;
	int n;

	while (!work_stopped(c)) {
		before = clock_now_ns();
		n = epoll_wait(c->grp->fd[EPOLL_FD], &ev, 1, WORK_SLICE_NS / 1000000);
		if (n < 0 && errno != EINTR)
			return ipc_fail(c, -errno, "epoll_storm: epoll_wait");
		if (n <= 0)
			continue;
		if (read(c->grp->fd[EPOLL_EVENTFD], &v, sizeof(v)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;	/* another consumer took it */
			return ipc_fail(c, -errno, "epoll_storm: eventfd read");
		}
		if (work_stamp_of(c->grp, 0) > before)
			work_wake_from(c, clock_now_ns(), work_stamp_of(c->grp, 0));
		if (work_spin(c, IPC_SPINS))
			break;
		telem_checkpoint(c->t, 1);
	}
	return 0;
}

static int epoll_storm_run(struct work_ctx *c, const struct work_spec *s)
{
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	if (c->member < (unsigned)s->args[EPOLL_PRODUCERS])
		return epoll_producer(c, s);
	return epoll_consumer(c);
}

static const struct work_param epoll_storm_params[] = {
	[EPOLL_PRODUCERS] = { "producers", WP_INT, 1, 1, WORK_GROUP_MAX - 1,
			      "eventfd writers per group" },
	[EPOLL_CONSUMERS] = { "consumers", WP_INT, 2, 1, WORK_GROUP_MAX - 1,
			      "epoll_wait(maxevents = 1) readers per group" },
	[EPOLL_BURST] = { "events_per_burst", WP_INT, 32, 1, 1 << 20,
			  "writes per burst, then a 1 ms sleep" },
};

const struct work_type work_epoll_storm = {
	.name = "epoll_storm",
	.unit = "a burst written (producer) or one event read + 1024 spins (consumer)",
	.params = epoll_storm_params,
	.nparams = 3,
	.group_size = epoll_members,
	.blocking = 1,
	.run = epoll_storm_run,
	.check = epoll_check,
	.group_init = epoll_group_init,
};

/* ---- thundering_herd ---- */

enum { HERD_WAITERS, HERD_BATCHES, HERD_GAP_MS };
enum { HERD_DONE = 1 };	/* futex[1]: the waker sent its last batch */

static unsigned herd_members(const struct work_spec *s)
{
	return (unsigned)s->args[HERD_WAITERS] + 1;
}

/*
 * The waker (member 0) stamps, bumps grp->seq and wakes every waiter with
 * one FUTEX_WAKE(INT_MAX), sleeps inter_batch_ms, and after `batches`
 * tells the herd it is done: the whole group then ends.
 */
static int herd_waker(struct work_ctx *c, const struct work_spec *s)
{
	struct work_group *g = c->grp;
	uint64_t b, gap = (uint64_t)s->args[HERD_GAP_MS] * 1000000;
	int64_t late;

	for (b = 0; b < (uint64_t)s->args[HERD_BATCHES] && !work_stopped(c); b++) {
		work_broadcast(g);
		telem_checkpoint(c->t, 1);
		if (!gap) {
			sched_yield();
			continue;
		}
		late = work_sleep_until(c, clock_now_ns() + gap);
		if (late < 0)
			break;
		telem_wake(c->t, (uint64_t)late);
	}
	__atomic_store_n(&g->futex[HERD_DONE], 1, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g->seq, 1, __ATOMIC_RELEASE);
	work_futex_wake(&g->seq, INT_MAX);
	return 0;
}

static int herd_waiter(struct work_ctx *c)
{
	uint32_t seen = 0, seq;
	int rc;

	while (!work_stopped(c)) {
		seq = seen;
		rc = work_wait_change(c, &c->grp->seq, seq, &seen);
		if (rc)
			return rc < 0 ? rc : 0;
		if (work_load(&c->grp->futex[HERD_DONE]))
			return 0;	/* the last wake was the waker's goodbye */
		work_wake_from(c, clock_now_ns(), work_stamp_of(c->grp, 0));
		if (work_spin(c, IPC_SPINS))
			break;
		telem_checkpoint(c->t, 1);
	}
	return 0;
}

static int thundering_herd_run(struct work_ctx *c, const struct work_spec *s)
{
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	return c->member ? herd_waiter(c) : herd_waker(c, s);
}

static const struct work_param thundering_herd_params[] = {
	[HERD_WAITERS] = { "waiters", WP_INT, 7, 1, WORK_GROUP_MAX - 1,
			   "workers woken at once per batch (group size waiters + 1)" },
	[HERD_BATCHES] = { "batches", WP_INT, 1000, 1, WORK_ITERS_MAX,
			   "broadcast wakes before the group ends" },
	[HERD_GAP_MS] = { "inter_batch_ms", WP_INT, 5, 0, 60000,
			  "the waker's sleep between batches, ms" },
};

const struct work_type work_thundering_herd = {
	.name = "thundering_herd",
	.unit = "one broadcast wake (sent or received)",
	.params = thundering_herd_params,
	.nparams = 3,
	.group_size = herd_members,
	.blocking = 1,
	.run = thundering_herd_run,
};

/* ---- producer_consumer_imbalance ---- */

enum { PC_PRODUCERS, PC_CONSUMERS, PC_RATE, PC_CONSUME, PC_DEPTH };

/*
 * A bounded multi-producer multi-consumer ring in the group's shared
 * memory (Vyukov's: a slot's seq says whose turn it is), each item the
 * time it was queued. avail is bumped on every push; a consumer finding
 * the ring empty sleeps on it.
 */
struct pc_slot {
	uint64_t seq, stamp;
};

struct pc_ring {
	uint64_t head __attribute__((aligned(64)));	/* next pop */
	uint64_t tail __attribute__((aligned(64)));	/* next push */
	uint32_t avail __attribute__((aligned(64)));
	uint32_t sleepers;
	uint64_t cap;
	struct pc_slot slot[];
};

static unsigned pc_members(const struct work_spec *s)
{
	return (unsigned)(s->args[PC_PRODUCERS] + s->args[PC_CONSUMERS]);
}

static size_t pc_mem(const struct work_spec *s)
{
	return sizeof(struct pc_ring) +
	       (size_t)s->args[PC_DEPTH] * sizeof(struct pc_slot);
}

static int pc_check(const struct work_spec *s, char *err, size_t errlen)
{
	if (pc_members(s) > WORK_GROUP_MAX)
		return work_err(err, errlen,
				"producer_consumer_imbalance.consumers: producers %lld + consumers %lld is more than %d workers in a group",
				(long long)s->args[PC_PRODUCERS],
				(long long)s->args[PC_CONSUMERS], WORK_GROUP_MAX);
	return 0;
}

static int pc_group_init(struct work_group *g, const struct work_spec *s)
{
	struct pc_ring *r = g->mem;
	uint64_t i;

	r->cap = (uint64_t)s->args[PC_DEPTH];
	for (i = 0; i < r->cap; i++)
		r->slot[i].seq = i;
	return 0;
}

/* 0 when queued, -1 when the ring is full */
static int pc_push(struct pc_ring *r, uint64_t stamp)
{
	uint64_t pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED), seq;
	struct pc_slot *sl;

	for (;;) {
		sl = &r->slot[pos % r->cap];
		seq = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
		if (seq == pos) {
			if (__atomic_compare_exchange_n(&r->tail, &pos, pos + 1, 1,
							__ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
				break;
		} else if (seq < pos) {
			return -1;
		} else {
			pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
		}
	}
	sl->stamp = stamp;
	__atomic_store_n(&sl->seq, pos + 1, __ATOMIC_RELEASE);
	return 0;
}

/* 0 with the item's stamp, -1 when the ring is empty */
static int pc_pop(struct pc_ring *r, uint64_t *stamp)
{
	uint64_t pos = __atomic_load_n(&r->head, __ATOMIC_RELAXED), seq;
	struct pc_slot *sl;

	for (;;) {
		sl = &r->slot[pos % r->cap];
		seq = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
		if (seq == pos + 1) {
			if (__atomic_compare_exchange_n(&r->head, &pos, pos + 1, 1,
							__ATOMIC_RELAXED,
							__ATOMIC_RELAXED))
				break;
		} else if (seq < pos + 1) {
			return -1;
		} else {
			pos = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
		}
	}
	*stamp = sl->stamp;
	__atomic_store_n(&sl->seq, pos + r->cap, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Queues one item every 1/produce_rate_hz (absolute deadlines; a producer
 * that fell a whole period behind starts afresh rather than bursting); a
 * full ring drops the item. Its sleeps' overshoots are its wakes.
 */
static int pc_producer(struct work_ctx *c, const struct work_spec *s)
{
	struct pc_ring *r = c->grp->mem;
	uint64_t period = 1000000000ULL / (uint64_t)s->args[PC_RATE];
	uint64_t next = clock_now_ns(), now, depth, depth_max = 0, dropped = 0;
	uint64_t n = 0;
	int64_t late;

	while (!work_stopped(c)) {
		next += period;
		now = clock_now_ns();
		if (next > now) {
			late = work_sleep_until(c, next);
			if (late < 0)
				break;
			telem_wake(c->t, (uint64_t)late);
			now = clock_now_ns();
		} else if (now - next > period) {
			next = now;
		}
		if (pc_push(r, now) == 0) {
			__atomic_add_fetch(&r->avail, 1, __ATOMIC_RELEASE);
			if (__atomic_load_n(&r->sleepers, __ATOMIC_ACQUIRE))
				work_futex_wake(&r->avail, 1);
		} else {
			dropped++;
		}
		depth = __atomic_load_n(&r->tail, __ATOMIC_RELAXED) -
			__atomic_load_n(&r->head, __ATOMIC_RELAXED);
		if (depth <= r->cap && depth > depth_max)
			depth_max = depth;
		telem_checkpoint(c->t, 1);
		if (++n % 64 == 0) {
			telem_metric(c->t, "dropped", (double)dropped);
			telem_metric(c->t, "queue_depth_max", (double)depth_max);
		}
	}
	telem_metric(c->t, "dropped", (double)dropped);
	telem_metric(c->t, "queue_depth_max", (double)depth_max);
	return 0;
}

/*
 * Pops an item and spins consume_iters on it; on an empty ring it sleeps
 * on avail, and the first item after the sleep gives the wake latency
 * (from when it was queued).
 */
static int pc_consumer(struct work_ctx *c, const struct work_spec *s)
{
	struct pc_ring *r = c->grp->mem;
	uint32_t seen, cur;
	uint64_t stamp;
	int waited = 0, rc;

	while (!work_stopped(c)) {
		seen = work_load(&r->avail);
		if (pc_pop(r, &stamp) == 0) {
			if (waited)
				work_wake_from(c, clock_now_ns(), stamp);
			waited = 0;
			if (work_spin(c, (uint64_t)s->args[PC_CONSUME]))
				break;
			telem_checkpoint(c->t, 1);
			continue;
		}
		__atomic_add_fetch(&r->sleepers, 1, __ATOMIC_ACQ_REL);
		rc = work_wait_change(c, &r->avail, seen, &cur);
		__atomic_sub_fetch(&r->sleepers, 1, __ATOMIC_ACQ_REL);
		if (rc)
			return rc < 0 ? rc : 0;
		waited = 1;
	}
	return 0;
}

static int pc_run(struct work_ctx *c, const struct work_spec *s)
{
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	if (c->member < (unsigned)s->args[PC_PRODUCERS])
		return pc_producer(c, s);
	return pc_consumer(c, s);
}

static const struct work_param pc_params[] = {
	[PC_PRODUCERS] = { "producers", WP_INT, 2, 1, WORK_GROUP_MAX - 1,
			   "workers queueing items" },
	[PC_CONSUMERS] = { "consumers", WP_INT, 1, 1, WORK_GROUP_MAX - 1,
			   "workers taking items" },
	[PC_RATE] = { "produce_rate_hz", WP_INT, 1000, 1, 1000000,
		      "items per second per producer" },
	[PC_CONSUME] = { "consume_iters", WP_INT, 4096, 0, WORK_ITERS_MAX,
			 "spins per item taken" },
	[PC_DEPTH] = { "queue_depth_target", WP_INT, 1024, 1, 1 << 20,
		       "ring capacity in items; a full ring drops" },
};

const struct work_type work_producer_consumer_imbalance = {
	.name = "producer_consumer_imbalance",
	.unit = "one item queued or dropped (producer), taken + consume_iters spins (consumer)",
	.params = pc_params,
	.nparams = 5,
	.group_size = pc_members,
	.blocking = 1,
	.run = pc_run,
	.check = pc_check,
	.group_mem = pc_mem,
	.group_init = pc_group_init,
};
