/* Compute work types: fan_out_compute, ipc_variance; the matrix work schbench shares. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "work_loop.h"

#define IPCV_REGION	(512 * 1024)	/* the cold phase's working set */
#define IPCV_LINE	64

int work_matrix_init(struct work_matrix *m, uint64_t footprint_kib)
{
	uint64_t cells = footprint_kib * 1024 / 3 / sizeof(uint64_t);
	size_t i, len;

	/* three n x n matrices of u64 fill the footprint (schbench's sizing) */
	for (m->n = 0; (m->n + 1) * (m->n + 1) <= cells; m->n++)
		;
	m->v = NULL;
	if (!m->n)
		return 0;
	len = 3 * m->n * m->n * sizeof(uint64_t);
	m->v = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m->v == MAP_FAILED) {
		m->v = NULL;
		return -errno;
	}
	for (i = 0; i < 2 * m->n * m->n; i++)
		m->v[i] = i * 0x9E3779B97F4A7C15ULL + 1;
	return 0;
}

void work_matrix_free(struct work_matrix *m)
{
	if (m->v)
		munmap(m->v, 3 * m->n * m->n * sizeof(uint64_t));
	m->v = NULL;
}

int work_matrix_multiply(const volatile int *stop, struct work_matrix *m)
{
	const uint64_t *a = m->v, *b = m->v + m->n * m->n;
	uint64_t *c = m->v + 2 * m->n * m->n, sum;
	size_t n = m->n, i, j, k;

	/* naive on purpose: the cache misses are the point; stop is seen per row */
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			sum = 0;
			for (k = 0; k < n; k++)
				sum += a[i * n + k] * b[k * n + j];
			c[i * n + j] = sum;
		}
		if (*stop)
			return 1;
	}
	return 0;
}

/*
 * fan_out_compute: futex_fan_out's shape with schbench's work. Member 0
 * (the messenger) resets the ack count (futex[0]), stamps stamp_ns[0],
 * bumps seq and wakes every receiver, then waits for all their acks. A
 * receiver records the wake latency from the stamp, sleeps sleep_usec
 * (think time), does `operations` matrix multiplies over its
 * cache_footprint_kib, and acks; the last ack wakes the messenger.
 */
enum { FOC_FAN_OUT, FOC_FOOTPRINT, FOC_OPS, FOC_SLEEP_US };

static unsigned foc_members(const struct work_spec *s)
{
	return (unsigned)s->args[FOC_FAN_OUT] + 1;
}

static int foc_messenger(struct work_ctx *c, const struct work_spec *s)
{
	int rc;

	while (!work_stopped(c)) {
		__atomic_store_n(&c->grp->futex[0], 0, __ATOMIC_RELAXED);
		work_broadcast(c->grp);
		telem_checkpoint(c->t, 1);
		rc = work_acks_wait(c, (uint32_t)s->args[FOC_FAN_OUT]);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

static int foc_receiver(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t think = (uint64_t)s->args[FOC_SLEEP_US] * 1000, op;
	struct work_matrix m;
	uint32_t seen = 0;
	int rc = work_matrix_init(&m, (uint64_t)s->args[FOC_FOOTPRINT]);

	if (rc) {
		snprintf(c->t->error_msg, sizeof(c->t->error_msg),
			 "fan_out_compute: %lld KiB of matrices: %s",
			 (long long)s->args[FOC_FOOTPRINT], strerror(-rc));
		return rc;
	}
	while (!work_stopped(c)) {
		rc = work_broadcast_wait(c, &seen);
		if (rc)
			break;
		if (think && work_sleep_until(c, clock_now_ns() + think) < 0)
			break;
		for (op = 0; op < (uint64_t)s->args[FOC_OPS] && !rc; op++) {
			rc = m.n ? work_matrix_multiply(c->stop, &m) : work_stopped(c);
			telem_checkpoint(c->t, 0);
		}
		if (rc)
			break;
		telem_checkpoint(c->t, 1);
		work_ack(c, (uint32_t)s->args[FOC_FAN_OUT]);
	}
	work_matrix_free(&m);
	return rc < 0 ? rc : 0;
}

static int fan_out_compute_run(struct work_ctx *c, const struct work_spec *s)
{
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	return c->member ? foc_receiver(c, s) : foc_messenger(c, s);
}

static const struct work_param fan_out_compute_params[] = {
	[FOC_FAN_OUT] = { "fan_out", WP_INT, 4, 1, WORK_GROUP_MAX - 1,
			  "receivers per messenger (group size fan_out + 1)" },
	[FOC_FOOTPRINT] = { "cache_footprint_kib", WP_INT, 256, 1, 65536,
			    "each receiver's three matrices, KiB" },
	[FOC_OPS] = { "operations", WP_INT, 5, 0, 1 << 20,
		      "matrix multiplies per wake" },
	[FOC_SLEEP_US] = { "sleep_usec", WP_INT, 100, 0, 60000000,
			   "think time before the multiplies, us" },
};

const struct work_type work_fan_out_compute = {
	.name = "fan_out_compute",
	.unit = "one fan-out wake sent, or received + sleep_usec + operations matrix multiplies",
	.params = fan_out_compute_params,
	.nparams = 4,
	.group_size = foc_members,
	.blocking = 1,
	.run = fan_out_compute_run,
};

/*
 * ipc_variance: instructions per cycle that swing. A hot phase of
 * hot_iters rounds of four independent multiply chains (high IPC), then a
 * cold phase of cold_iters read-modify-writes of random cache lines over
 * 512 KiB (memory-bound, low IPC). A unit is one hot + cold pair; stop is
 * checked every period_iters pairs, as the Rust loop does.
 */
enum { IPCV_HOT, IPCV_COLD, IPCV_PERIOD };

static int ipc_variance_run(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t i, p, rng = work_seed(c);
	volatile uint64_t sink;
	uint8_t *buf;

	buf = mmap(NULL, IPCV_REGION, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		return -errno;
	while (!work_stopped(c)) {
		for (p = 0; p < (uint64_t)s->args[IPCV_PERIOD]; p++) {
			sink = work_alu_rounds((uint64_t)s->args[IPCV_HOT]);
			for (i = 0; i < (uint64_t)s->args[IPCV_COLD]; i++)
				((volatile uint8_t *)buf)[work_rand(&rng) %
					(IPCV_REGION / IPCV_LINE) * IPCV_LINE]++;
			telem_checkpoint(c->t, 1);
		}
	}
	(void)sink;
	munmap(buf, IPCV_REGION);
	return 0;
}

static const struct work_param ipc_variance_params[] = {
	[IPCV_HOT] = { "hot_iters", WP_INT, 100000, 1, WORK_ITERS_MAX,
		       "multiply rounds per hot phase" },
	[IPCV_COLD] = { "cold_iters", WP_INT, 1024, 1, WORK_ITERS_MAX,
			"random cache-line touches per cold phase (512 KiB)" },
	[IPCV_PERIOD] = { "period_iters", WP_INT, 64, 1, 1 << 20,
			  "hot + cold pairs between stop checks" },
};

const struct work_type work_ipc_variance = {
	.name = "ipc_variance",
	.unit = "one hot phase + one cold phase",
	.params = ipc_variance_params,
	.nparams = 3,
	.run = ipc_variance_run,
};
