/* Work types: the C loops a worker runs, their parameters and their groups. */
#ifndef KTSTR_WORK_H
#define KTSTR_WORK_H

#define _GNU_SOURCE
#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include "telemetry.h"

#define WORK_MAX_PARAMS	8
#define WORK_MAX_PHASES	16
#define WORK_GROUP_MAX	16	/* largest group (futex_fan_out: fan_out + 1) */
#define WORK_NS_MAX	60000000000LL	/* longest duration a parameter takes: 60 s */
#define WORK_GROUP_FDS	2	/* fds a group_init may open for its group */

enum work_param_kind {
	WP_INT,		/* a count, size or iteration number */
	WP_NS,		/* a duration in ns (lua/ktstr/work.lua converts "10ms", seconds) */
	WP_BOOL,	/* 0 or 1 (Lua gives false/true) */
	WP_ENUM,	/* an index into choices (Lua gives the name) */
	WP_NODES,	/* NUMA nodes as a bit mask (Lua gives a list of node ids) */
};

#define WORK_NODES_MAX	32	/* node ids a WP_NODES mask holds: 0..31 */

struct work_param {
	const char *name;
	enum work_param_kind kind;
	int64_t def, min, max;
	const char *help;
};

/*
 * One phase of a sequence: kind is "spin", "sleep", "yield", "io" or
 * "alu_hot", always one of the static strings of work_phase_kinds(), so a
 * forked worker can compare pointers or strings alike.
 */
struct work_phase {
	const char *kind;
	int64_t ns;
};

struct work_type;

/* A work type with its parameters resolved (defaults filled in, validated). */
struct work_spec {
	const struct work_type *type;
	int64_t args[WORK_MAX_PARAMS];	/* in the order of type->params */
	struct work_phase phases[WORK_MAX_PHASES];	/* sequence only */
	size_t nphases;
};

/*
 * Shared by the members of one group (pipe_io pairs, futex partners,
 * fan-out groups, mutex contenders): a MAP_SHARED page the runtime zeroes
 * and fills before it forks the members. Member i reads pipe_in[i] and
 * writes pipe_out[i]; the runtime wires them as a ring (i -> i+1 mod n).
 */
struct work_group {
	uint32_t futex[WORK_GROUP_MAX];	/* futex words, one per member */
	uint32_t lock;			/* mutex_contention's lock word */
	uint32_t seq;			/* fan-out generation counter */
	uint64_t stamp_ns[WORK_GROUP_MAX];	/* wake timestamps (CLOCK_MONOTONIC) */
	int pipe_in[WORK_GROUP_MAX];
	int pipe_out[WORK_GROUP_MAX];
	unsigned size;
	int32_t pid[WORK_GROUP_MAX];	/* each member's pid, set before the start */
	int fd[WORK_GROUP_FDS];		/* group_init's fds (-1: none), kept by every member */
	void *mem;			/* group_mem bytes, shared and zeroed; or NULL */
};

/* What a running worker knows about itself. */
struct work_ctx {
	struct telem *t;		/* this worker's telemetry page */
	const volatile int *stop;	/* nonzero: return within ~10 ms */
	unsigned index;			/* 0-based index among the set's workers */
	unsigned nworkers;
	unsigned member;		/* position within its group */
	struct work_group *grp;		/* NULL for ungrouped types */
	cpu_set_t cpus;			/* the affinity the worker started with */
};

struct work_type {
	const char *name;
	const char *unit;		/* what one work unit means, for reports */
	const struct work_param *params;
	size_t nparams;
	/*
	 * Per param, the names of a WP_ENUM's values (NULL-terminated; the
	 * param's range is 0..n-1), indexed like params up to the last enum;
	 * NULL when the type has no enum.
	 */
	const char *const *const *choices;
	/* members per group from the resolved args; NULL means 1 */
	unsigned (*group_size)(const struct work_spec *s);
	int blocking;			/* records wake latencies */
	/* loops until *c->stop; 0 or -errno (the report carries it) */
	int (*run)(struct work_ctx *c, const struct work_spec *s);
	/* checks between parameters after the range checks; NULL: none */
	int (*check)(const struct work_spec *s, char *err, size_t errlen);
	int phased;			/* takes phases (sequence) */
	/*
	 * In the member, after its placement and before the start: what must
	 * hold before any member runs (a sched class, a signal handler); a
	 * failure is a spawn failure. NULL: none.
	 */
	int (*setup)(struct work_ctx *c, const struct work_spec *s);
	/* bytes of extra shared memory per group (grp->mem); NULL: none */
	size_t (*group_mem)(const struct work_spec *s);
	/* in the parent before the fork, per group: open grp->fd[]; 0 or -errno */
	int (*group_init)(struct work_group *g, const struct work_spec *s);
};

/* NULL when unknown. */
const struct work_type *work_find(const char *name);
/* Every work type, in a stable order; *n gets the count. */
const struct work_type *const *work_list(size_t *n);
/*
 * Fills s from name and (key, value) pairs; values of WP_NS params are in
 * ns. An unknown type, unknown key or out-of-range value is -EINVAL with a
 * message that names it and lists what is valid. A phased type (sequence)
 * also needs work_set_phases() before it runs.
 */
int work_resolve(struct work_spec *s, const char *name, const char *const *keys,
		 const int64_t *vals, size_t n, char *err, size_t errlen);
/*
 * Sets the phases of a resolved sequence: kinds[i] is a phase kind, ns[i]
 * its duration. -EINVAL with a message for an unknown kind, a duration out
 * of range, no phases or more than WORK_MAX_PHASES, or a type without phases.
 */
int work_set_phases(struct work_spec *s, const char *const *kinds,
		    const int64_t *ns, size_t n, char *err, size_t errlen);
/* The phase kinds a sequence takes, in a stable order; *n gets the count. */
const char *const *work_phase_kinds(size_t *n);
/*
 * The index of choice name of an enum param, or -EINVAL with a message that
 * names the valid choices.
 */
int work_choice(const struct work_type *type, int k, const char *name,
		char *err, size_t errlen);
/* The names of enum param k's values (NULL-terminated), or NULL. */
const char *const *work_choices(const struct work_type *type, int k);
/* Index of param name in s->type->params, or -1. */
int work_param_index(const struct work_type *type, const char *name);
/* Members per group of a resolved spec (1 when ungrouped). */
unsigned work_group_size(const struct work_spec *s);

#endif
