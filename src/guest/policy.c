/* Scheduling (sched_setattr) and memory (set_mempolicy) policies of the calling thread. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/mempolicy.h>
#include <linux/sched/types.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "src/base/cpulist.h"
#include "policy.h"

/* linux/sched.h's, which clashes with glibc's sched.h */
#define POLICY_RESET_ON_FORK	0x01

static const char *const policy_sched_names[] = {
	[SCHED_OTHER] = "normal",
	[SCHED_FIFO] = "fifo",
	[SCHED_RR] = "rr",
	[SCHED_BATCH] = "batch",
	[SCHED_IDLE] = "idle",
	[SCHED_DEADLINE] = "deadline",
};

#define POLICY_NSCHED	(int)(sizeof(policy_sched_names) / sizeof(policy_sched_names[0]))

static const char *const policy_mem_names[] = {
	[MPOL_DEFAULT] = "default",
	[MPOL_PREFERRED] = "preferred",
	[MPOL_BIND] = "bind",
	[MPOL_INTERLEAVE] = "interleave",
	[MPOL_LOCAL] = "local",
	[MPOL_PREFERRED_MANY] = "preferred_many",
	[MPOL_WEIGHTED_INTERLEAVE] = "weighted_interleave",
};

#define POLICY_NMEM	(int)(sizeof(policy_mem_names) / sizeof(policy_mem_names[0]))

static const struct {
	const char *name;
	unsigned bit;
} policy_mem_flags[] = {
	{ "static_nodes", MPOL_F_STATIC_NODES },
	{ "relative_nodes", MPOL_F_RELATIVE_NODES },
	{ "numa_balancing", MPOL_F_NUMA_BALANCING },
};

/* names[i] of a table indexed by value, "?" past it or in a hole. */
static const char *policy_name(const char *const *names, int n, int i)
{
	return i >= 0 && i < n && names[i] ? names[i] : "?";
}

/* The value whose name is name, or -1. */
static int policy_lookup(const char *const *names, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *policy_sched_name(int policy)
{
	return policy_name(policy_sched_names, POLICY_NSCHED, policy);
}

int policy_sched_parse(const char *name)
{
	return policy_lookup(policy_sched_names, POLICY_NSCHED, name);
}

/* "10ms", "1.5ms", "250us": how a script would have written a duration. */
static const char *policy_ns(uint64_t ns, char *buf, size_t len)
{
	if (ns >= 1000000)
		snprintf(buf, len, "%gms", (double)ns / 1e6);
	else if (ns >= 1000)
		snprintf(buf, len, "%gus", (double)ns / 1e3);
	else
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	return buf;
}

/* "runtime=10ms deadline=100ms period=100ms" */
static void policy_dl_params(const struct policy_sched *p, char *buf, size_t len)
{
	char r[32], d[32], q[32];

	snprintf(buf, len, "runtime=%s deadline=%s period=%s",
		 policy_ns(p->runtime_ns, r, sizeof(r)),
		 policy_ns(p->deadline_ns, d, sizeof(d)),
		 policy_ns(p->period_ns, q, sizeof(q)));
}

int policy_sched_check(const struct policy_sched *p, char *err, size_t errlen)
{
	char params[128], a[32], b[32];

	switch (p->policy) {
	case SCHED_FIFO:
	case SCHED_RR:
		if (p->priority < 1 || p->priority > 99) {
			snprintf(err, errlen, "policy %s needs priority 1..99, got %d",
				 policy_sched_name(p->policy), p->priority);
			return -EINVAL;
		}
		return 0;
	case SCHED_OTHER:
	case SCHED_BATCH:
	case SCHED_IDLE:
	case SCHED_DEADLINE:
		if (p->priority) {
			snprintf(err, errlen, "policy %s takes no priority, got %d",
				 policy_sched_name(p->policy), p->priority);
			return -EINVAL;
		}
		break;
	default:
		snprintf(err, errlen, "unknown policy %d", p->policy);
		return -EINVAL;
	}
	if (p->policy != SCHED_DEADLINE)
		return 0;
	policy_dl_params(p, params, sizeof(params));
	if (p->runtime_ns < POLICY_DL_RUNTIME_MIN) {
		snprintf(err, errlen, "deadline %s: runtime must be at least %lluns",
			 params, POLICY_DL_RUNTIME_MIN);
		return -EINVAL;
	}
	if (p->runtime_ns > p->deadline_ns || p->deadline_ns > p->period_ns) {
		snprintf(err, errlen, "deadline %s: want runtime <= deadline <= period",
			 params);
		return -EINVAL;
	}
	if (p->period_ns < POLICY_DL_PERIOD_MIN || p->period_ns > POLICY_DL_PERIOD_MAX) {
		snprintf(err, errlen, "deadline %s: period must be %s..%s", params,
			 policy_ns(POLICY_DL_PERIOD_MIN, a, sizeof(a)),
			 policy_ns(POLICY_DL_PERIOD_MAX, b, sizeof(b)));
		return -EINVAL;
	}
	return 0;
}

int policy_sched_apply(const struct policy_sched *p, char *err, size_t errlen)
{
	struct sched_attr a = { .size = sizeof(a) };
	char params[128];
	int rc;

	rc = policy_sched_check(p, err, errlen);
	if (rc)
		return rc;
	a.sched_policy = (uint32_t)p->policy;
	a.sched_priority = (uint32_t)p->priority;
	if (p->policy == SCHED_DEADLINE) {
		a.sched_flags = POLICY_RESET_ON_FORK;
		a.sched_runtime = p->runtime_ns;
		a.sched_deadline = p->deadline_ns;
		a.sched_period = p->period_ns;
	} else {
		/* sched_setattr would also reset nice to 0: keep the thread's */
		errno = 0;
		a.sched_nice = getpriority(PRIO_PROCESS, 0);
		if (errno)
			a.sched_nice = 0;
	}
	if (!syscall(SYS_sched_setattr, 0, &a, 0))
		return 0;
	rc = -errno;
	if (p->policy != SCHED_DEADLINE) {
		snprintf(err, errlen, "sched_setattr: %s %d: %s",
			 policy_sched_name(p->policy), p->priority, strerror(-rc));
		return rc;
	}
	policy_dl_params(p, params, sizeof(params));
	if (rc == -EBUSY)
		snprintf(err, errlen, "sched_setattr: deadline %s: admission control "
			 "refused its %.3g CPU (EBUSY): the deadline bandwidth of the CPUs "
			 "(95%% of each, the kernel's fair server keeps 5%%) is taken", params,
			 (double)p->runtime_ns / (double)p->period_ns);
	else if (rc == -EPERM)
		snprintf(err, errlen, "sched_setattr: deadline %s: refused (EPERM): a "
			 "deadline task needs CAP_SYS_NICE and an affinity spanning its "
			 "root domain (every CPU)", params);
	else
		snprintf(err, errlen, "sched_setattr: deadline %s: %s", params,
			 strerror(-rc));
	return rc;
}

int policy_sched_get(pid_t tid, struct policy_sched *p)
{
	struct sched_attr a;

	memset(&a, 0, sizeof(a));
	if (syscall(SYS_sched_getattr, tid, &a, sizeof(a), 0))
		return -errno;
	memset(p, 0, sizeof(*p));
	p->policy = (int)a.sched_policy;
	p->priority = (int)a.sched_priority;
	p->nice = a.sched_nice;
	p->reset_on_fork = !!(a.sched_flags & POLICY_RESET_ON_FORK);
	if (p->policy == SCHED_DEADLINE) {
		p->runtime_ns = a.sched_runtime;
		p->deadline_ns = a.sched_deadline;
		p->period_ns = a.sched_period;
	}
	return 0;
}

const char *policy_mem_name(int mode)
{
	return policy_name(policy_mem_names, POLICY_NMEM, mode);
}

int policy_mem_parse(const char *name)
{
	return policy_lookup(policy_mem_names, POLICY_NMEM, name);
}

unsigned policy_mem_flag_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(policy_mem_flags) / sizeof(policy_mem_flags[0]); i++)
		if (strcmp(policy_mem_flags[i].name, name) == 0)
			return policy_mem_flags[i].bit;
	return 0;
}

int policy_nodes_parse(const char *list, uint64_t *mask)
{
	struct cpulist m;
	int last;

	if (cpulist_parse(list, &m))
		return -EINVAL;
	last = cpulist_last(&m);
	if (last >= POLICY_NODES_MAX)
		return -EINVAL;
	*mask = m.w[0];
	return 0;
}

void policy_nodes_format(uint64_t mask, char *buf, size_t len)
{
	struct cpulist m;

	memset(&m, 0, sizeof(m));
	m.w[0] = mask;
	if (len)
		buf[0] = '\0';
	cpulist_format(&m, buf, len);
}

int policy_mem_check(const struct policy_mem *p, char *err, size_t errlen)
{
	const char *name = policy_mem_name(p->mode);
	unsigned user = MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES;

	if (p->mode < 0 || p->mode >= POLICY_NMEM) {
		snprintf(err, errlen, "unknown memory policy %d", p->mode);
		return -EINVAL;
	}
	if (p->flags & ~(user | MPOL_F_NUMA_BALANCING)) {
		snprintf(err, errlen, "mempolicy %s: unknown flags 0x%x", name, p->flags);
		return -EINVAL;
	}
	if ((p->flags & user) == user) {
		snprintf(err, errlen, "mempolicy %s: static_nodes and relative_nodes "
			 "exclude each other", name);
		return -EINVAL;
	}
	if ((p->flags & MPOL_F_NUMA_BALANCING) &&
	    p->mode != MPOL_BIND && p->mode != MPOL_PREFERRED_MANY) {
		snprintf(err, errlen, "mempolicy %s: numa_balancing goes only with bind "
			 "or preferred_many", name);
		return -EINVAL;
	}
	switch (p->mode) {
	case MPOL_DEFAULT:
	case MPOL_LOCAL:
		if (p->nodes || (p->mode == MPOL_LOCAL && (p->flags & user)) ||
		    (p->mode == MPOL_DEFAULT && p->flags)) {
			snprintf(err, errlen, "mempolicy %s takes no nodes or flags", name);
			return -EINVAL;
		}
		return 0;
	case MPOL_PREFERRED:
		if (__builtin_popcountll(p->nodes) != 1) {
			snprintf(err, errlen, "mempolicy preferred takes one node, got %d",
				 __builtin_popcountll(p->nodes));
			return -EINVAL;
		}
		return 0;
	default:
		if (!p->nodes) {
			snprintf(err, errlen, "mempolicy %s needs at least one node", name);
			return -EINVAL;
		}
		return 0;
	}
}

int policy_mem_apply(const struct policy_mem *p, char *err, size_t errlen)
{
	unsigned long mask = (unsigned long)p->nodes;
	char nodes[256];
	int rc;

	rc = policy_mem_check(p, err, errlen);
	if (rc)
		return rc;
	/* maxnode counts one past the bits the kernel reads (its get_nodes) */
	if (!syscall(SYS_set_mempolicy, p->mode | (int)p->flags,
		     p->nodes ? &mask : NULL, p->nodes ? POLICY_NODES_MAX + 1 : 0))
		return 0;
	rc = -errno;
	policy_nodes_format(p->nodes, nodes, sizeof(nodes));
	snprintf(err, errlen, "set_mempolicy: %s nodes '%s'%s: %s%s",
		 policy_mem_name(p->mode), nodes,
		 p->flags & MPOL_F_STATIC_NODES ? " static_nodes" :
		 p->flags & MPOL_F_RELATIVE_NODES ? " relative_nodes" : "",
		 strerror(-rc), rc == -EINVAL ?
		 " (no node named is in the cgroup's cpuset.mems with memory)" : "");
	return rc;
}

int policy_mem_get(struct policy_mem *p)
{
	unsigned long mask = 0;
	int mode = 0;

	if (syscall(SYS_get_mempolicy, &mode, &mask, POLICY_NODES_MAX + 1, NULL, 0))
		return -errno;
	p->flags = (unsigned)mode & (MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES |
				     MPOL_F_NUMA_BALANCING);
	p->mode = mode & ~(int)p->flags;
	p->nodes = mask;
	return 0;
}
