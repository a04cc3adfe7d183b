/* A thread's scheduling and memory policies: checked, applied, read back, named. */
#ifndef KTSTR_POLICY_H
#define KTSTR_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The kernel's defaults for sched_deadline_period_{min,max}_us, in ns. */
#define POLICY_DL_PERIOD_MIN	100000ull
#define POLICY_DL_PERIOD_MAX	4194304000ull
/* DL_SCALE: the kernel keeps runtime in units of 1024 ns. */
#define POLICY_DL_RUNTIME_MIN	1024ull
#define POLICY_NODES_MAX	64	/* nodes a policy may name: 0..63 */

struct policy_sched {
	int policy;		/* SCHED_OTHER (0), _BATCH, _IDLE, _FIFO, _RR, _DEADLINE */
	int priority;		/* 1..99 for FIFO/RR, 0 otherwise */
	uint64_t runtime_ns, deadline_ns, period_ns;	/* DEADLINE only */
	int reset_on_fork;	/* read back: SCHED_FLAG_RESET_ON_FORK was set */
	int nice;		/* read back only */
};

struct policy_mem {
	int mode;		/* MPOL_DEFAULT, _PREFERRED, _BIND, ... */
	unsigned flags;		/* MPOL_F_STATIC_NODES | _RELATIVE_NODES | _NUMA_BALANCING */
	uint64_t nodes;		/* bit n: node n */
};

/* "normal", "batch", "idle", "fifo", "rr", "deadline"; "?" for another. */
const char *policy_sched_name(int policy);
/* The SCHED_* value of a name above, or -1. */
int policy_sched_parse(const char *name);
/*
 * The kernel's rules for sched_setattr, checked before it: a priority only
 * for fifo/rr (1..99), and for deadline runtime >= 1024 ns, runtime <=
 * deadline <= period, period within the default 100 us..4.194304 s.
 * -EINVAL with a message naming the values.
 */
int policy_sched_check(const struct policy_sched *p, char *err, size_t errlen);
/*
 * Applies p to the calling thread (deadline with SCHED_FLAG_RESET_ON_FORK,
 * so its forks start as normal tasks, which the kernel otherwise refuses).
 * 0 or -errno with a message: EBUSY for deadline is the kernel's admission
 * control ("... runtime=10ms deadline=100ms period=100ms: admission control
 * refused 0.1 CPU of deadline bandwidth ..."), EPERM an affinity narrower
 * than the root domain.
 */
int policy_sched_apply(const struct policy_sched *p, char *err, size_t errlen);
/* Reads tid's policy through sched_getattr (tid 0: the calling thread). 0 or -errno. */
int policy_sched_get(pid_t tid, struct policy_sched *p);

/* "default", "preferred", "bind", "interleave", "local", "preferred_many",
 * "weighted_interleave"; "?" for another. */
const char *policy_mem_name(int mode);
int policy_mem_parse(const char *name);
/* "static_nodes", "relative_nodes", "numa_balancing": its MPOL_F_* bit, or 0. */
unsigned policy_mem_flag_parse(const char *name);
/*
 * set_mempolicy's rules: default and local take no nodes (local no
 * static/relative flag), preferred exactly one, the others at least one;
 * static_nodes and relative_nodes exclude each other; numa_balancing only
 * with bind or preferred_many. -EINVAL with a message.
 */
int policy_mem_check(const struct policy_mem *p, char *err, size_t errlen);
/* set_mempolicy for the calling thread; 0 or -errno with a message. */
int policy_mem_apply(const struct policy_mem *p, char *err, size_t errlen);
/* get_mempolicy of the calling thread. 0 or -errno. */
int policy_mem_get(struct policy_mem *p);
/* A node list ("0-1,3") as a mask; -EINVAL past node 63, -EINVAL for bad syntax. */
int policy_nodes_parse(const char *list, uint64_t *mask);
/* The mask as a node list into buf ("" for none). */
void policy_nodes_format(uint64_t mask, char *buf, size_t len);

#endif
