/* The sequence work type: loops through timed phases of spin, sleep, yield, io, alu_hot. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "work_loop.h"

#define SEQ_IO_BYTES	(64 * 1024)
#define SEQ_IO_SLEEP_NS	100000	/* after each write */
#define SEQ_ALU_ROUNDS	1024

struct seq_state {
	int fd;			/* unlinked temp file, -1 without io phases */
	char *buf;		/* SEQ_IO_BYTES to write */
};

/*
 * Each phase runs until its deadline and takes 0-unit checkpoints at its
 * natural points, so max_gap keeps meaning "time without progress" inside
 * long phases; the caller counts the unit when the phase completes.
 * Nonzero return: stopped (1) or -errno.
 */
static int seq_spin(struct work_ctx *c, uint64_t end, struct seq_state *st)
{
	(void)st;
	return work_spin_until(c, end, 0);
}

static int seq_sleep(struct work_ctx *c, uint64_t end, struct seq_state *st)
{
	int64_t late = work_sleep_until(c, end);

	(void)st;
	if (late < 0)
		return 1;
	telem_wake(c->t, (uint64_t)late);
	return 0;
}

static int seq_yield(struct work_ctx *c, uint64_t end, struct seq_state *st)
{
	(void)st;
	do {
		if (work_stopped(c))
			return 1;
		sched_yield();
		telem_checkpoint(c->t, 0);
	} while (clock_now_ns() < end);
	return 0;
}

static int seq_io(struct work_ctx *c, uint64_t end, struct seq_state *st)
{
	ssize_t n;

	do {
		if (work_stopped(c))
			return 1;
		n = pwrite(st->fd, st->buf, SEQ_IO_BYTES, 0);
		if (n != SEQ_IO_BYTES)
			return n < 0 ? -errno : -ENOSPC;
		if (work_sleep_until(c, clock_now_ns() + SEQ_IO_SLEEP_NS) < 0)
			return 1;
		telem_checkpoint(c->t, 0);
	} while (clock_now_ns() < end);
	return 0;
}

static int seq_alu_hot(struct work_ctx *c, uint64_t end, struct seq_state *st)
{
	volatile uint64_t sink;

	(void)st;
	do {
		if (work_stopped(c))
			return 1;
		sink = work_alu_rounds(SEQ_ALU_ROUNDS);
		telem_checkpoint(c->t, 0);
	} while (clock_now_ns() < end);
	(void)sink;
	return 0;
}

typedef int (*seq_fn)(struct work_ctx *c, uint64_t end, struct seq_state *st);

/* In the order of work_phase_kinds(): spin, sleep, yield, io, alu_hot. */
static const seq_fn seq_fns[] = {
	seq_spin, seq_sleep, seq_yield, seq_io, seq_alu_hot,
};

/* Maps each phase to its loop once, before the clock starts. */
static int seq_plan(const struct work_spec *s, seq_fn *fns, int *has_io)
{
	const char *const *kinds;
	size_t i, k, n;

	kinds = work_phase_kinds(&n);
	*has_io = 0;
	for (i = 0; i < s->nphases; i++) {
		for (k = 0; k < n && strcmp(kinds[k], s->phases[i].kind); k++)
			;
		if (k == n)
			return -EINVAL;
		fns[i] = seq_fns[k];
		*has_io |= fns[i] == seq_io;
	}
	return s->nphases ? 0 : -EINVAL;
}

static int seq_open_io(struct work_ctx *c, struct seq_state *st)
{
	st->fd = work_tmpfile(0);
	if (st->fd < 0) {
		snprintf(c->t->error_msg, sizeof(c->t->error_msg),
			 "sequence: io phase: temp file in /tmp: %s",
			 strerror(-st->fd));
		return st->fd;
	}
	st->buf = mmap(NULL, SEQ_IO_BYTES, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st->buf == MAP_FAILED) {
		close(st->fd);
		return -errno;
	}
	memset(st->buf, 0x5a, SEQ_IO_BYTES);
	return 0;
}

static int sequence_run(struct work_ctx *c, const struct work_spec *s)
{
	struct seq_state st = { .fd = -1, .buf = NULL };
	seq_fn fns[WORK_MAX_PHASES];
	int has_io, rc = 0;
	size_t i = 0;

	if (seq_plan(s, fns, &has_io)) {
		snprintf(c->t->error_msg, sizeof(c->t->error_msg),
			 "sequence: no valid phases (work_set_phases not called?)");
		return -EINVAL;
	}
	if (has_io && (rc = seq_open_io(c, &st)))
		return rc;
	while (!work_stopped(c)) {
		rc = fns[i](c, clock_now_ns() + (uint64_t)s->phases[i].ns, &st);
		if (rc)
			break;
		telem_checkpoint(c->t, 1);
		i = (i + 1) % s->nphases;
	}
	if (rc < 0)
		snprintf(c->t->error_msg, sizeof(c->t->error_msg),
			 "sequence: %s phase: %s", s->phases[i].kind, strerror(-rc));
	if (st.fd >= 0) {
		munmap(st.buf, SEQ_IO_BYTES);
		close(st.fd);
	}
	return rc < 0 ? rc : 0;
}

const struct work_type work_sequence = {
	.name = "sequence",
	.unit = "one phase completed",
	.blocking = 1,
	.run = sequence_run,
	.phased = 1,
};
