/* Grouped wake work types: pipe_io, futex_ping_pong, futex_fan_out, mutex_contention. */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "work_loop.h"

int work_check_group(struct work_ctx *c, const struct work_spec *s)
{
	unsigned n = work_group_size(s);

	if (c->grp && c->grp->size == n && c->member < n)
		return 0;
	snprintf(c->t->error_msg, sizeof(c->t->error_msg),
		 "%s: member %u of a group of %u, expected a group of %u",
		 s->type->name, c->member, c->grp ? c->grp->size : 0, n);
	return -EINVAL;
}

unsigned work_pair(const struct work_spec *s)
{
	(void)s;
	return 2;
}

/*
 * pipe_io: a token goes round the group's pipe ring. Each member waits for
 * it, spins burst_iters, stamps the next member's slot and passes it on;
 * member 0 starts it. The wait is poll() in slices so that stop is seen
 * even when the partner is gone and the runtime still holds the pipe.
 */
int work_pipe_wait(struct work_ctx *c, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char b;
	ssize_t n;

	for (;;) {
		if (work_stopped(c))
			return 1;
		if (poll(&p, 1, WORK_SLICE_NS / 1000000) < 0 && errno != EINTR)
			return -errno;
		if (!(p.revents & (POLLIN | POLLHUP)))
			continue;
		n = read(fd, &b, 1);
		if (n == 1)
			return 0;
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (work_stopped(c))
			return 1;
		return n < 0 ? -errno : -EPIPE;	/* EOF: the partner died */
	}
}

static int pipe_pass(struct work_ctx *c, unsigned next, const struct work_spec *s)
{
	char b = 0;

	if (work_spin(c, (uint64_t)s->args[0]))
		return 1;
	work_stamp(c->grp, next);
	if (write(c->grp->pipe_out[c->member], &b, 1) == 1)
		return 0;
	return errno == EPIPE && work_stopped(c) ? 1 : -errno;
}

static int pipe_io_run(struct work_ctx *c, const struct work_spec *s)
{
	struct work_group *g = c->grp;
	unsigned next;
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	/* a write to a partner gone at stop must fail with EPIPE, not kill us */
	signal(SIGPIPE, SIG_IGN);
	next = (c->member + 1) % g->size;
	if (c->member == 0)
		rc = pipe_pass(c, next, s);
	while (!rc) {
		rc = work_pipe_wait(c, g->pipe_in[c->member]);
		if (rc)
			break;
		work_wake_from(c, clock_now_ns(), work_stamp_of(g, c->member));
		rc = pipe_pass(c, next, s);
		if (!rc)
			telem_checkpoint(c->t, 1);
	}
	if (rc < 0)
		snprintf(c->t->error_msg, sizeof(c->t->error_msg),
			 "pipe_io: member %u: %s", c->member,
			 rc == -EPIPE ? "the partner closed its pipe" : strerror(-rc));
	return rc < 0 ? rc : 0;
}

static const struct work_param pipe_io_params[] = {
	{ "burst_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
	  "spins before passing the byte on" },
};

const struct work_type work_pipe_io = {
	.name = "pipe_io",
	.unit = "burst_iters spins + one 1-byte pipe hand-off",
	.params = pipe_io_params,
	.nparams = 1,
	.group_size = work_pair,
	.blocking = 1,
	.run = pipe_io_run,
};

int work_wait_change(struct work_ctx *c, uint32_t *word, uint32_t val,
		     uint32_t *now)
{
	int rc;

	while ((*now = work_load(word)) == val) {
		if (work_stopped(c))
			return 1;
		rc = work_futex_wait(word, val);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int work_futex_ring(struct work_ctx *c,
		    int (*hop)(const struct work_ctx *c, uint64_t arg),
		    uint64_t arg, int wake)
{
	struct work_group *g = c->grp;
	uint32_t size = g->size, wrap = size << 24, turn;
	uint32_t *word = &g->futex[0];
	int rc;

	while (!work_stopped(c)) {
		while ((turn = work_load(word)) % size != c->member) {
			rc = work_wait_change(c, word, turn, &turn);
			if (rc)
				return rc < 0 ? rc : 0;
		}
		if (turn)	/* the first turn was nobody's hand-off */
			work_wake_from(c, clock_now_ns(), work_stamp_of(g, c->member));
		if (hop(c, arg))
			break;
		telem_checkpoint(c->t, 1);
		work_stamp(g, (c->member + 1) % size);
		__atomic_store_n(word, (turn + 1) % wrap, __ATOMIC_RELEASE);
		work_futex_wake(word, wake);
	}
	return 0;
}

/* futex_ping_pong: a futex ring of two, each turn spin_iters spins. */
static int futex_ping_pong_run(struct work_ctx *c, const struct work_spec *s)
{
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	return work_futex_ring(c, work_spin, (uint64_t)s->args[0], 1);
}

static const struct work_param futex_ping_pong_params[] = {
	{ "spin_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
	  "spins before waking the partner" },
};

const struct work_type work_futex_ping_pong = {
	.name = "futex_ping_pong",
	.unit = "spin_iters spins + one futex hand-off",
	.params = futex_ping_pong_params,
	.nparams = 1,
	.group_size = work_pair,
	.blocking = 1,
	.run = futex_ping_pong_run,
};

/*
 * futex_fan_out: member 0 (the messenger) spins, resets the ack count
 * (futex[0]), stamps stamp_ns[0], bumps seq and wakes every receiver, then
 * waits until all fan_out receivers have acked. A receiver records the
 * latency from the stamp, spins and acks; the last ack wakes the messenger.
 * Waiting for the acks keeps the stamp unique per generation.
 */
enum { FAN_OUT, FAN_SPIN };

static unsigned fan_out_members(const struct work_spec *s)
{
	return (unsigned)s->args[FAN_OUT] + 1;
}

void work_broadcast(struct work_group *g)
{
	work_stamp(g, 0);
	__atomic_add_fetch(&g->seq, 1, __ATOMIC_RELEASE);
	work_futex_wake(&g->seq, INT_MAX);
}

int work_broadcast_wait(struct work_ctx *c, uint32_t *seen)
{
	/* seq starts at 0 in the zeroed page: generation 1 is never missed */
	int rc = work_wait_change(c, &c->grp->seq, *seen, seen);

	if (!rc)
		work_wake_from(c, clock_now_ns(), work_stamp_of(c->grp, 0));
	return rc;
}

int work_acks_wait(struct work_ctx *c, uint32_t n)
{
	uint32_t acks;
	int rc;

	while ((acks = work_load(&c->grp->futex[0])) < n) {
		rc = work_wait_change(c, &c->grp->futex[0], acks, &acks);
		if (rc)
			return rc;
	}
	return 0;
}

void work_ack(struct work_ctx *c, uint32_t n)
{
	if (__atomic_add_fetch(&c->grp->futex[0], 1, __ATOMIC_ACQ_REL) == n)
		work_futex_wake(&c->grp->futex[0], 1);
}

static int fan_out_messenger(struct work_ctx *c, const struct work_spec *s)
{
	int rc;

	while (!work_stopped(c)) {
		if (work_spin(c, (uint64_t)s->args[FAN_SPIN]))
			break;
		__atomic_store_n(&c->grp->futex[0], 0, __ATOMIC_RELAXED);
		work_broadcast(c->grp);
		telem_checkpoint(c->t, 1);
		rc = work_acks_wait(c, (uint32_t)s->args[FAN_OUT]);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

static int fan_out_receiver(struct work_ctx *c, const struct work_spec *s)
{
	uint32_t seen = 0;
	int rc;

	while (!work_stopped(c)) {
		rc = work_broadcast_wait(c, &seen);
		if (rc)
			return rc < 0 ? rc : 0;
		if (work_spin(c, (uint64_t)s->args[FAN_SPIN]))
			break;
		telem_checkpoint(c->t, 1);
		work_ack(c, (uint32_t)s->args[FAN_OUT]);
	}
	return 0;
}

static int futex_fan_out_run(struct work_ctx *c, const struct work_spec *s)
{
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	return c->member ? fan_out_receiver(c, s) : fan_out_messenger(c, s);
}

static const struct work_param futex_fan_out_params[] = {
	[FAN_OUT] = { "fan_out", WP_INT, 4, 1, WORK_GROUP_MAX - 1,
		      "receivers per messenger (group size fan_out + 1)" },
	[FAN_SPIN] = { "spin_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
		       "spins per wake, messenger and receivers alike" },
};

const struct work_type work_futex_fan_out = {
	.name = "futex_fan_out",
	.unit = "spin_iters spins + one fan-out wake (sent or received)",
	.params = futex_fan_out_params,
	.nparams = 2,
	.group_size = fan_out_members,
	.blocking = 1,
	.run = futex_fan_out_run,
};

/*
 * mutex_contention: the three-state futex mutex of Drepper's "Futexes Are
 * Tricky" (0 free, 1 held, 2 held with waiters) on grp->lock. An unlock
 * that finds waiters stamps stamp_ns[0] before FUTEX_WAKE; a woken waiter
 * records the latency from the newest such stamp (a lower bound when
 * another unlock came in between).
 */
enum { MUTEX_CONTENDERS, MUTEX_HOLD, MUTEX_WORK };

static unsigned mutex_members(const struct work_spec *s)
{
	return (unsigned)s->args[MUTEX_CONTENDERS];
}

static uint32_t work_cas(uint32_t *p, uint32_t old, uint32_t new)
{
	__atomic_compare_exchange_n(p, &old, new, 0, __ATOMIC_ACQUIRE,
				    __ATOMIC_RELAXED);
	return old;
}

/* 0 with the lock held, 1 when stopped, -errno. */
static int mutex_lock(struct work_ctx *c, uint32_t *lock)
{
	uint32_t v = work_cas(lock, 0, 1);
	int rc;

	if (v == 0)
		return 0;
	if (v != 2)
		v = __atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE);
	while (v != 0) {
		if (work_stopped(c))
			return 1;
		rc = work_futex_wait(lock, 2);
		if (rc < 0)
			return rc;
		if (rc)
			work_wake_from(c, clock_now_ns(), work_stamp_of(c->grp, 0));
		v = __atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE);
	}
	return 0;
}

static void mutex_unlock(struct work_ctx *c, uint32_t *lock)
{
	if (__atomic_fetch_sub(lock, 1, __ATOMIC_RELEASE) != 1) {
		__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
		work_stamp(c->grp, 0);
		work_futex_wake(lock, 1);
	}
}

static int mutex_contention_run(struct work_ctx *c, const struct work_spec *s)
{
	uint32_t *lock;
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	lock = &c->grp->lock;
	while (!work_stopped(c)) {
		rc = mutex_lock(c, lock);
		if (rc)
			return rc < 0 ? rc : 0;
		/* a stop during the hold still unlocks: the others must not hang */
		rc = work_spin(c, (uint64_t)s->args[MUTEX_HOLD]);
		mutex_unlock(c, lock);
		if (rc || work_spin(c, (uint64_t)s->args[MUTEX_WORK]))
			break;
		telem_checkpoint(c->t, 1);
	}
	return 0;
}

static const struct work_param mutex_contention_params[] = {
	[MUTEX_CONTENDERS] = { "contenders", WP_INT, 4, 2, WORK_GROUP_MAX,
			       "workers sharing one lock (the group size)" },
	[MUTEX_HOLD] = { "hold_iters", WP_INT, 256, 0, WORK_ITERS_MAX,
			 "spins with the lock held" },
	[MUTEX_WORK] = { "work_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
			 "spins between holds" },
};

const struct work_type work_mutex_contention = {
	.name = "mutex_contention",
	.unit = "one lock hold of hold_iters spins + work_iters spins",
	.params = mutex_contention_params,
	.nparams = 3,
	.group_size = mutex_members,
	.blocking = 1,
	.run = mutex_contention_run,
};
