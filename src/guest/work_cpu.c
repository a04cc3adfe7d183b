/* CPU-bound work types: spin_wait, yield_heavy, mixed, alu_hot, cache_pressure, cache_yield. */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "work_loop.h"

/*
 * Units sized for a checkpoint every ~10-20 us on a 2020s x86 host (the
 * telemetry cost stays under 1%); a yield is its own natural point.
 */
#define WORK_ALU_ROUNDS	8192	/* rounds of the four chains per unit */
#define WORK_CACHE_RMW	16384	/* strided read-modify-writes per unit */
#define WORK_CACHE_YIELD_RMW	1024	/* per unit of cache_yield, then a yield */

/* spin_wait: the spin-wait hint in a tight loop; one unit per block. */
static int spin_wait_run(struct work_ctx *c, const struct work_spec *s)
{
	unsigned i;

	(void)s;
	while (!work_stopped(c)) {
		for (i = 0; i < WORK_SPIN_BLOCK; i++)
			work_cpu_relax();
		telem_checkpoint(c->t, 1);
	}
	return 0;
}

const struct work_type work_spin_wait = {
	.name = "spin_wait",
	.unit = "1024 spins",
	.run = spin_wait_run,
};

/* yield_heavy: sched_yield on every iteration. */
static int yield_heavy_run(struct work_ctx *c, const struct work_spec *s)
{
	(void)s;
	while (!work_stopped(c)) {
		sched_yield();
		telem_checkpoint(c->t, 1);
	}
	return 0;
}

const struct work_type work_yield_heavy = {
	.name = "yield_heavy",
	.unit = "one yield",
	.run = yield_heavy_run,
};

/* mixed: a block of spins, then a yield. */
static int mixed_run(struct work_ctx *c, const struct work_spec *s)
{
	unsigned i;

	(void)s;
	while (!work_stopped(c)) {
		for (i = 0; i < WORK_SPIN_BLOCK; i++)
			work_cpu_relax();
		sched_yield();
		telem_checkpoint(c->t, 1);
	}
	return 0;
}

const struct work_type work_mixed = {
	.name = "mixed",
	.unit = "1024 spins + one yield",
	.run = mixed_run,
};

/* alu_hot: four independent multiply chains; the width is only recorded. */
static int alu_hot_run(struct work_ctx *c, const struct work_spec *s)
{
	volatile uint64_t sink;

	(void)s;
	while (!work_stopped(c)) {
		sink = work_alu_rounds(WORK_ALU_ROUNDS);
		telem_checkpoint(c->t, 1);
	}
	(void)sink;
	return 0;
}

static const struct work_param alu_hot_params[] = {
	{ "width", WP_INT, 64, 64, 512,
	  "vector width in bits, recorded only: every width runs scalar code" },
};

const struct work_type work_alu_hot = {
	.name = "alu_hot",
	.unit = "8192 rounds of four multiply chains",
	.params = alu_hot_params,
	.nparams = 1,
	.run = alu_hot_run,
};

/*
 * cache_pressure, cache_yield: strided read-modify-writes over a private
 * buffer of size_kib, wrapping at its end. A unit is a fixed number of
 * accesses rather than one pass so that its cost does not grow with the
 * buffer and the stop check stays frequent.
 */
enum { CACHE_SIZE_KIB, CACHE_STRIDE };

static int cache_run(struct work_ctx *c, const struct work_spec *s, int yield)
{
	size_t size = (size_t)s->args[CACHE_SIZE_KIB] * 1024;
	size_t stride = (size_t)s->args[CACHE_STRIDE];
	unsigned i, per_unit = yield ? WORK_CACHE_YIELD_RMW : WORK_CACHE_RMW;
	size_t off = 0;
	uint8_t *buf;

	buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return -errno;
	while (!work_stopped(c)) {
		for (i = 0; i < per_unit; i++) {
			((volatile uint8_t *)buf)[off]++;
			off += stride;
			if (off >= size)
				off -= size;
		}
		if (yield)
			sched_yield();
		telem_checkpoint(c->t, 1);
	}
	munmap(buf, size);
	return 0;
}

static int cache_pressure_run(struct work_ctx *c, const struct work_spec *s)
{
	return cache_run(c, s, 0);
}

static int cache_yield_run(struct work_ctx *c, const struct work_spec *s)
{
	return cache_run(c, s, 1);
}

static int cache_check(const struct work_spec *s, char *err, size_t errlen)
{
	if (s->args[CACHE_STRIDE] > s->args[CACHE_SIZE_KIB] * 1024)
		return work_err(err, errlen,
				"%s.stride: %lld is larger than the buffer (size_kib %lld = %lld bytes)",
				s->type->name, (long long)s->args[CACHE_STRIDE],
				(long long)s->args[CACHE_SIZE_KIB],
				(long long)s->args[CACHE_SIZE_KIB] * 1024);
	return 0;
}

static const struct work_param cache_params[] = {
	[CACHE_SIZE_KIB] = { "size_kib", WP_INT, 32, 1, 1048576,
			     "buffer size per worker in KiB" },
	[CACHE_STRIDE] = { "stride", WP_INT, 64, 1, 1048576,
			   "bytes between accesses" },
};

const struct work_type work_cache_pressure = {
	.name = "cache_pressure",
	.unit = "16384 strided read-modify-writes",
	.params = cache_params,
	.nparams = 2,
	.run = cache_pressure_run,
	.check = cache_check,
};

const struct work_type work_cache_yield = {
	.name = "cache_yield",
	.unit = "1024 strided read-modify-writes + one yield",
	.params = cache_params,
	.nparams = 2,
	.run = cache_yield_run,
	.check = cache_check,
};
