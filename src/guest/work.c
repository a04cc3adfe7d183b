/* Work types: the registry, parameter resolution and the loops' shared helpers. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "work_loop.h"

/* The order users see in work_types() and in error messages. */
static const struct work_type *const work_types[] = {
	&work_spin_wait,
	&work_yield_heavy,
	&work_mixed,
	&work_alu_hot,
	&work_bursty,
	&work_idle_churn,
	&work_io_sync_write,
	&work_pipe_io,
	&work_futex_ping_pong,
	&work_futex_fan_out,
	&work_cache_pressure,
	&work_cache_yield,
	&work_fork_exit,
	&work_nice_sweep,
	&work_affinity_churn,
	&work_policy_churn,
	&work_page_fault_churn,
	&work_mutex_contention,
	&work_sequence,
	&work_wake_chain,
	&work_asymmetric_waker,
	&work_thundering_herd,
	&work_epoll_storm,
	&work_signal_storm,
	&work_fan_out_compute,
	&work_cache_pipe,
	&work_ipc_variance,
	&work_producer_consumer_imbalance,
	&work_preempt_storm,
	&work_schbench,
	&work_smt_sibling_spin,
	&work_cross_affinity_churn,
	&work_numa_migration_churn,
	&work_numa_working_set_sweep,
	&work_cgroup_churn,
	&work_cgroup_attach_storm,
	&work_priority_inversion,
	&work_rt_starvation,
	&work_io_rand_read,
	&work_io_convoy,
};

#define WORK_NTYPES (sizeof(work_types) / sizeof(work_types[0]))

static const char *const work_phase_names[] = {
	"spin", "sleep", "yield", "io", "alu_hot",
};

#define WORK_NPHASE_KINDS (sizeof(work_phase_names) / sizeof(work_phase_names[0]))

const struct work_type *work_find(const char *name)
{
	size_t i;

	for (i = 0; i < WORK_NTYPES; i++)
		if (strcmp(work_types[i]->name, name) == 0)
			return work_types[i];
	return NULL;
}

const struct work_type *const *work_list(size_t *n)
{
	*n = WORK_NTYPES;
	return work_types;
}

const char *const *work_phase_kinds(size_t *n)
{
	*n = WORK_NPHASE_KINDS;
	return work_phase_names;
}

int work_param_index(const struct work_type *type, const char *name)
{
	size_t i;

	for (i = 0; i < type->nparams; i++)
		if (strcmp(type->params[i].name, name) == 0)
			return (int)i;
	return -1;
}

unsigned work_group_size(const struct work_spec *s)
{
	return s->type->group_size ? s->type->group_size(s) : 1;
}

int work_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Appends s to err (already holding a string), truncating quietly. */
static void work_err_cat(char *err, size_t errlen, const char *s)
{
	size_t len = strnlen(err, errlen);

	if (len + 1 < errlen)
		snprintf(err + len, errlen - len, "%s", s);
}

static int work_err_unknown_type(const char *name, char *err, size_t errlen)
{
	size_t i;

	work_err(err, errlen, "unknown work type '%s'; valid: ", name);
	for (i = 0; i < WORK_NTYPES; i++) {
		if (i)
			work_err_cat(err, errlen, ", ");
		work_err_cat(err, errlen, work_types[i]->name);
	}
	return -EINVAL;
}

static int work_err_unknown_param(const struct work_type *type, const char *key,
				  char *err, size_t errlen)
{
	size_t i;

	work_err(err, errlen, "work type '%s' has no parameter '%s'; ",
		 type->name, key);
	if (!type->nparams) {
		work_err_cat(err, errlen, "it takes none");
		return -EINVAL;
	}
	work_err_cat(err, errlen, "valid: ");
	for (i = 0; i < type->nparams; i++) {
		if (i)
			work_err_cat(err, errlen, ", ");
		work_err_cat(err, errlen, type->params[i].name);
	}
	return -EINVAL;
}

const char *const *work_choices(const struct work_type *type, int k)
{
	/* a choices array need only reach the type's last enum param */
	if (!type->choices || type->params[k].kind != WP_ENUM)
		return NULL;
	return type->choices[k];
}

/* "a, b, c": the names of a list, appended to err. */
static void work_err_names(const char *const *names, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; names && names[i]; i++) {
		if (i)
			work_err_cat(err, errlen, ", ");
		work_err_cat(err, errlen, names[i]);
	}
}

int work_choice(const struct work_type *type, int k, const char *name,
		char *err, size_t errlen)
{
	const char *const *names = work_choices(type, k);
	int i;

	for (i = 0; names && names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	work_err(err, errlen, "%s.%s: unknown choice '%s'; valid: ", type->name,
		 type->params[k].name, name);
	work_err_names(names, err, errlen);
	return -EINVAL;
}

static int work_check_range(const struct work_type *type,
			    const struct work_param *p, int64_t v,
			    char *err, size_t errlen)
{
	if (v >= p->min && v <= p->max)
		return 0;
	if (p->kind == WP_ENUM) {
		work_err(err, errlen, "%s.%s: %lld is out of range (0..%lld: ",
			 type->name, p->name, (long long)v, (long long)p->max);
		work_err_names(work_choices(type, (int)(p - type->params)), err,
			       errlen);
		work_err_cat(err, errlen, ")");
		return -EINVAL;
	}
	if (p->kind == WP_NODES)
		return work_err(err, errlen, "%s.%s: node ids are 0..%d",
				type->name, p->name, WORK_NODES_MAX - 1);
	return work_err(err, errlen, "%s.%s: %lld is out of range (%lld..%lld%s)",
			type->name, p->name, (long long)v, (long long)p->min,
			(long long)p->max, p->kind == WP_NS ? " ns" : "");
}

int work_resolve(struct work_spec *s, const char *name, const char *const *keys,
		 const int64_t *vals, size_t n, char *err, size_t errlen)
{
	const struct work_type *type = work_find(name);
	int seen[WORK_MAX_PARAMS] = { 0 };
	size_t i;
	int k, rc;

	if (!type)
		return work_err_unknown_type(name, err, errlen);
	memset(s, 0, sizeof(*s));
	s->type = type;
	for (i = 0; i < type->nparams; i++)
		s->args[i] = type->params[i].def;
	for (i = 0; i < n; i++) {
		k = work_param_index(type, keys[i]);
		if (k < 0)
			return work_err_unknown_param(type, keys[i], err, errlen);
		if (seen[k]++)
			return work_err(err, errlen, "%s.%s: given twice",
					type->name, keys[i]);
		rc = work_check_range(type, &type->params[k], vals[i], err, errlen);
		if (rc)
			return rc;
		s->args[k] = vals[i];
	}
	return type->check ? type->check(s, err, errlen) : 0;
}

static const char *work_phase_kind(const char *name)
{
	size_t i;

	for (i = 0; i < WORK_NPHASE_KINDS; i++)
		if (strcmp(work_phase_names[i], name) == 0)
			return work_phase_names[i];
	return NULL;
}

static int work_err_unknown_phase(size_t i, const char *kind, char *err,
				  size_t errlen)
{
	size_t j;

	work_err(err, errlen, "sequence phase %zu: unknown kind '%s'; valid: ",
		 i + 1, kind);
	for (j = 0; j < WORK_NPHASE_KINDS; j++) {
		if (j)
			work_err_cat(err, errlen, ", ");
		work_err_cat(err, errlen, work_phase_names[j]);
	}
	return -EINVAL;
}

int work_set_phases(struct work_spec *s, const char *const *kinds,
		    const int64_t *ns, size_t n, char *err, size_t errlen)
{
	const char *kind;
	size_t i;

	if (!s->type->phased)
		return work_err(err, errlen, "work type '%s' takes no phases",
				s->type->name);
	if (!n)
		return work_err(err, errlen,
				"work type '%s' needs at least one phase",
				s->type->name);
	if (n > WORK_MAX_PHASES)
		return work_err(err, errlen, "%s: %zu phases, at most %d",
				s->type->name, n, WORK_MAX_PHASES);
	for (i = 0; i < n; i++) {
		kind = work_phase_kind(kinds[i]);
		if (!kind)
			return work_err_unknown_phase(i, kinds[i], err, errlen);
		if (ns[i] < 1 || ns[i] > WORK_NS_MAX)
			return work_err(err, errlen,
					"sequence phase %zu (%s): %lld is out of range (1..%lld ns)",
					i + 1, kind, (long long)ns[i], WORK_NS_MAX);
		s->phases[i].kind = kind;
		s->phases[i].ns = ns[i];
	}
	s->nphases = n;
	return 0;
}

/* The loops' helpers (work_loop.h). */

int64_t work_sleep_until(const struct work_ctx *c, uint64_t deadline)
{
	struct timespec ts;
	uint64_t now = clock_now_ns(), until;

	/*
	 * Absolute deadlines: slicing for the stop check adds no drift, and
	 * the overshoot of the last slice is the wake latency of the sleep.
	 */
	while (now < deadline) {
		if (work_stopped(c))
			return -1;
		until = deadline - now > WORK_SLICE_NS ? now + WORK_SLICE_NS : deadline;
		ts.tv_sec = until / 1000000000ULL;
		ts.tv_nsec = until % 1000000000ULL;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		now = clock_now_ns();
	}
	return (int64_t)(now - deadline);
}

int work_spin_until(const struct work_ctx *c, uint64_t deadline,
		    uint64_t units_per_block)
{
	unsigned i;

	while (!work_stopped(c)) {
		for (i = 0; i < WORK_SPIN_BLOCK; i++)
			work_cpu_relax();
		telem_checkpoint(c->t, units_per_block);
		if (clock_now_ns() >= deadline)
			return 0;
	}
	return 1;
}

uint64_t work_alu_rounds(uint64_t n)
{
	uint64_t a = 1, b = 3, d = 5, e = 7, i;

	/*
	 * Four chains with no data dependence between them keep several
	 * multipliers busy; the empty asm stops the compiler from folding or
	 * vectorising them (Rust's black_box).
	 */
	for (i = 0; i < n; i++) {
		a = a * 0x9E3779B97F4A7C15ULL + 1;
		b = b * 0xBF58476D1CE4E5B9ULL + 3;
		d = d * 0x94D049BB133111EBULL + 5;
		e = e * 0xD6E8FEB86659FD93ULL + 7;
		__asm__ __volatile__("" : "+r"(a), "+r"(b), "+r"(d), "+r"(e));
	}
	return a ^ b ^ d ^ e;
}

int work_tmpfile(int flags)
{
	char path[] = "/tmp/ktstr-work-XXXXXX";
	int fd = mkostemp(path, flags | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	/* unlinked at once: nothing stays behind, even after SIGKILL */
	unlink(path);
	return fd;
}
