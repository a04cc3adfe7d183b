/* Placement work types: smt_sibling_spin, cross_affinity_churn, numa_migration_churn, numa_working_set_sweep. */
#define _GNU_SOURCE
#include <linux/mempolicy.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "src/base/cpulist.h"
#include "cgroup.h"
#include "work_loop.h"

#define NODE_SYSFS	"/sys/devices/system/node"
#define XAFF_SIBLINGS	256	/* cgroup siblings one worker rewrites */
#define SWEEP_STOP_PAGES 256	/* pages touched between stop checks */

/* The first line of a small sysfs file, newline cut; 0 or -errno. */
static int place_read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int rc = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		rc = ferror(f) ? -EIO : -ENODATA;
	fclose(f);
	if (!rc)
		buf[strcspn(buf, "\n")] = '\0';
	return rc;
}

static int place_read_list(const char *path, struct cpulist *m)
{
	char buf[1024];
	int rc = place_read_line(path, buf, sizeof(buf));

	return rc ? rc : cpulist_parse(buf, m);
}

/*
 * smt_sibling_spin: a pair spinning on the spin-wait hint side by side. It
 * contends for one core only when the pair sits on two SMT siblings (the
 * "smt_sibling_pair" affinity); otherwise it is two spin_wait workers.
 */
static int smt_sibling_spin_run(struct work_ctx *c, const struct work_spec *s)
{
	unsigned i;
	int rc = work_check_group(c, s);

	if (rc)
		return rc;
	while (!work_stopped(c)) {
		for (i = 0; i < WORK_SPIN_BLOCK; i++)
			work_cpu_relax();
		telem_checkpoint(c->t, 1);
	}
	return 0;
}

const struct work_type work_smt_sibling_spin = {
	.name = "smt_sibling_spin",
	.unit = "1024 spins",
	.group_size = work_pair,
	.run = smt_sibling_spin_run,
};

/*
 * cross_affinity_churn: spin, then rewrite the affinity of every other
 * process of the worker's cgroup, alternating between the worker's whole
 * CPU set and that set less one CPU (a different one each time), so every
 * call is a real change; then yield. The siblings are the cgroup's members
 * when the loop starts; one gone is dropped, one whose cpuset shares no CPU
 * with the mask (EINVAL) is skipped. They get the whole set back at the
 * end. The cgroup must be one of ktstr's: in any other the siblings would
 * be strangers. Fewer than 2 CPUs or no sibling: spinning only.
 */
static int xaff_siblings(struct work_ctx *c, pid_t *sib, int max)
{
	struct cgroup home;
	pid_t all[XAFF_SIBLINGS + 1];
	char err[256];
	int n, i, k = 0, rc;

	rc = work_cgroup_home(c, "cross_affinity_churn", &home);
	if (rc)
		return rc;
	n = cgroup_procs(&home, all, XAFF_SIBLINGS + 1, err, sizeof(err));
	if (n < 0)
		return work_fail(c, n, "cross_affinity_churn: %s", err);
	for (i = 0; i < n && i < XAFF_SIBLINGS + 1 && k < max; i++)
		if (all[i] != getpid())
			sib[k++] = all[i];
	return k;
}

static int cross_affinity_churn_run(struct work_ctx *c, const struct work_spec *s)
{
	int cpus[CPU_SETSIZE], ncpu = 0, nsib, i, drop = 0, whole = 0;
	pid_t sib[XAFF_SIBLINGS];
	cpu_set_t mask;

	nsib = xaff_siblings(c, sib, XAFF_SIBLINGS);
	if (nsib < 0)
		return nsib;
	for (i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &c->cpus))
			cpus[ncpu++] = i;
	while (!work_stopped(c)) {
		if (work_spin(c, (uint64_t)s->args[0]))
			break;
		if (ncpu >= 2 && nsib) {
			mask = c->cpus;
			if (!whole) {
				CPU_CLR(cpus[drop], &mask);
				drop = (drop + 1) % ncpu;
			}
			whole = !whole;
			for (i = 0; i < nsib; i++) {
				if (sched_setaffinity(sib[i], sizeof(mask), &mask) == 0 ||
				    errno == EINVAL)
					continue;
				if (errno != ESRCH)
					return work_fail(c, -errno,
							 "cross_affinity_churn: sched_setaffinity(%d): %s",
							 (int)sib[i], strerror(errno));
				sib[i--] = sib[--nsib];	/* gone: forget it */
			}
		}
		sched_yield();
		telem_checkpoint(c->t, 1);
	}
	for (i = 0; i < nsib; i++)
		sched_setaffinity(sib[i], sizeof(c->cpus), &c->cpus);
	return 0;
}

static const struct work_param xaff_params[] = {
	{ "spin_iters", WP_INT, 1024, 0, WORK_ITERS_MAX,
	  "spins between rewrites" },
};

const struct work_type work_cross_affinity_churn = {
	.name = "cross_affinity_churn",
	.unit = "spin_iters spins + one affinity rewrite of every cgroup sibling + one yield",
	.params = xaff_params,
	.nparams = 1,
	.run = cross_affinity_churn_run,
};

/* The online NUMA nodes, or -errno when the kernel shows none (no NUMA). */
static int place_nodes(struct cpulist *nodes)
{
	return place_read_list(NODE_SYSFS "/online", nodes);
}

/*
 * numa_migration_churn: spin, pinned to one NUMA node's CPUs (those the
 * worker started with) for period_ms, then to the next node's, round the
 * nodes that have any; each worker starts at its own node (index mod
 * nodes). On one node, or a kernel without NUMA, every period pins the
 * worker to the same CPUs again: a migration that moves nothing, with the
 * spinning counted all the same.
 */
enum { NMC_PERIOD };

static int nmc_node_sets(struct work_ctx *c, cpu_set_t *sets, int max)
{
	struct cpulist nodes, cpus;
	char path[64];
	int node, cpu, last, n = 0;

	if (place_nodes(&nodes) == 0) {
		last = cpulist_last(&nodes);
		for (node = 0; node <= last && n < max; node++) {
			if (!cpulist_test(&nodes, node))
				continue;
			snprintf(path, sizeof(path), NODE_SYSFS "/node%d/cpulist", node);
			if (place_read_list(path, &cpus))
				continue;
			CPU_ZERO(&sets[n]);
			for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
				if (cpulist_test(&cpus, cpu) && CPU_ISSET(cpu, &c->cpus))
					CPU_SET(cpu, &sets[n]);
			if (CPU_COUNT(&sets[n]))
				n++;
		}
	}
	if (!n)
		sets[n++] = c->cpus;
	return n;
}

static int numa_migration_churn_run(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t period = (uint64_t)s->args[NMC_PERIOD] * 1000000;
	cpu_set_t sets[WORK_NODES_MAX];
	int n = nmc_node_sets(c, sets, WORK_NODES_MAX), k = (int)(c->index % n);

	while (!work_stopped(c)) {
		/* EINVAL: an op shrank the cpuset under us; the next node may do */
		if (sched_setaffinity(0, sizeof(sets[k]), &sets[k]) < 0 && errno != EINVAL)
			return work_fail(c, -errno, "numa_migration_churn: sched_setaffinity: %s",
					 strerror(errno));
		if (work_spin_until(c, clock_now_ns() + period, 1))
			break;
		k = (k + 1) % n;
	}
	sched_setaffinity(0, sizeof(c->cpus), &c->cpus);
	return 0;
}

static const struct work_param nmc_params[] = {
	[NMC_PERIOD] = { "period_ms", WP_INT, 100, 1, 60000,
			 "ms pinned to one node before moving to the next" },
};

const struct work_type work_numa_migration_churn = {
	.name = "numa_migration_churn",
	.unit = "1024 spins (pinned to one node's CPUs per period)",
	.params = nmc_params,
	.nparams = 1,
	.run = numa_migration_churn_run,
};

/*
 * numa_working_set_sweep: write one byte of every page of a private
 * region_kib region, pass after pass; every sweep_period_ms the region is
 * bound (mbind MPOL_BIND with MPOL_MF_MOVE, which migrates the pages
 * already there) to the next node of target_nodes, in ascending order,
 * each worker starting at its own. An empty target_nodes means every node
 * with memory. Nodes the worker may not allocate on (cpuset.mems) are
 * left out. One node, or a kernel without NUMA: the region stays where it
 * is (a bind to the same node moves nothing) and the passes still count.
 */
enum { NWS_REGION, NWS_PERIOD, NWS_NODES };

/* Mems_allowed_list of this process, from /proc/self/status. */
static int sweep_mems_allowed(struct cpulist *m)
{
	static const char key[] = "Mems_allowed_list:";
	char line[1024];
	FILE *f = fopen("/proc/self/status", "re");
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, sizeof(key) - 1) == 0) {
			rc = cpulist_parse(line + sizeof(key) - 1, m);
			break;
		}
	fclose(f);
	return rc;
}

/* The node ids to cycle through, ascending; how many, 0 for none usable. */
static int sweep_nodes(int64_t want, int *ids)
{
	struct cpulist mem, allowed;
	int node, n = 0;

	if (place_read_list(NODE_SYSFS "/has_memory", &mem) ||
	    sweep_mems_allowed(&allowed))
		return 0;
	for (node = 0; node < WORK_NODES_MAX; node++)
		if (cpulist_test(&mem, node) && cpulist_test(&allowed, node) &&
		    (!want || (want & (1LL << node))))
			ids[n++] = node;
	return n;
}

/* 0, or -errno of an mbind that should have worked; *numa = 0 without NUMA. */
static int sweep_bind(void *mem, size_t size, int node, int *numa)
{
	unsigned long mask = 1UL << node;

	if (!*numa)
		return 0;
	if (syscall(SYS_mbind, mem, size, MPOL_BIND, &mask, sizeof(mask) * 8 + 1,
		    MPOL_MF_MOVE) == 0)
		return 0;
	if (errno == ENOSYS) {
		*numa = 0;
		return 0;
	}
	return errno == EINVAL ? 0 : -errno;	/* EINVAL: mems shrank meanwhile */
}

static int numa_working_set_sweep_run(struct work_ctx *c, const struct work_spec *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t size = (size_t)s->args[NWS_REGION] * 1024, off;
	uint64_t period = (uint64_t)s->args[NWS_PERIOD] * 1000000, next;
	int ids[WORK_NODES_MAX], n = sweep_nodes(s->args[NWS_NODES], ids);
	int numa = n > 0, k = 0, rc = 0;
	unsigned touched = 0;
	uint8_t *mem;

	if (!n && s->args[NWS_NODES])
		return work_fail(c, -EINVAL,
				 "numa_working_set_sweep: no node of target_nodes has memory this worker may use (see cpuset.mems)");
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	if (numa) {
		k = (int)(c->index % n);
		rc = sweep_bind(mem, size, ids[k], &numa);
	}
	next = clock_now_ns() + period;
	while (!rc && !work_stopped(c)) {
		for (off = 0; off < size; off += page) {
			((volatile uint8_t *)mem)[off]++;
			if (++touched % SWEEP_STOP_PAGES == 0 && work_stopped(c))
				goto out;
		}
		telem_checkpoint(c->t, 1);
		if (clock_now_ns() < next)
			continue;
		if (numa) {
			k = (k + 1) % n;
			rc = sweep_bind(mem, size, ids[k], &numa);
		}
		next = clock_now_ns() + period;
	}
	if (rc)
		work_fail(c, rc, "numa_working_set_sweep: mbind to node %d: %s", ids[k],
			  strerror(-rc));
out:
	munmap(mem, size);
	return rc;
}

static const struct work_param nws_params[] = {
	[NWS_REGION] = { "region_kib", WP_INT, 4096, 4, 1048576,
			 "working set per worker in KiB" },
	[NWS_PERIOD] = { "sweep_period_ms", WP_INT, 100, 1, 60000,
			 "ms bound to one node before moving to the next" },
	[NWS_NODES] = { "target_nodes", WP_NODES, 0, 0, (1LL << WORK_NODES_MAX) - 1,
			"nodes the working set moves through, ascending; empty: every node with memory" },
};

const struct work_type work_numa_working_set_sweep = {
	.name = "numa_working_set_sweep",
	.unit = "one write pass over the region (a byte per page)",
	.params = nws_params,
	.nparams = 3,
	.run = numa_working_set_sweep_run,
};
