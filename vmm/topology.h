/* Guest CPU topology: the "1n2l2c1t" names, their limits, QEMU flags and expected sysfs views. */
#ifndef KTSTR_TOPOLOGY_H
#define KTSTR_TOPOLOGY_H

#include <stddef.h>

struct argv_buf;

/*
 * At most 64 vCPUs: under TCG every vCPU is a host thread, and on the small
 * hosts we run on (2 cores) boot time and per-vCPU speed degrade steeply
 * past the host's core count (16 vCPUs take ~18 s to boot). The cap also
 * keeps every valid shape's highest APIC ID below 255 (116 at worst, for
 * 4n12l5c1t), so the guest needs neither x2APIC nor interrupt remapping.
 */
#define TOPO_MAX_CPUS		64
#define TOPO_MAX_THREADS	4

/*
 * Guest RAM. The default is TOPO_BASE_MEMORY_MIB + TOPO_CPU_MEMORY_MIB per
 * vCPU (1088 MiB for 1 vCPU, 1280 MiB for 4, 5120 MiB for 64), rounded up
 * so every NUMA node gets the same whole number of 2 MiB units: enough for
 * the kernel, an initramfs, a scheduler and a few dozen test processes.
 * RAM is a sparse shared file, so what the guest never touches costs the
 * host nothing. Each node gets memory_mib / numa_nodes, a multiple of
 * TOPO_NODE_ALIGN_MIB (2 MiB: huge-page aligned) and at least
 * TOPO_MIN_NODE_MIB (x86 Linux drops nodes under 4 MiB; 64 leaves room).
 * TOPO_MAX_MEMORY_MIB only catches unit slips (KiB given as MiB).
 */
#define TOPO_BASE_MEMORY_MIB	1024
#define TOPO_CPU_MEMORY_MIB	64
#define TOPO_MIN_MEMORY_MIB	256
#define TOPO_MAX_MEMORY_MIB	65536
#define TOPO_MIN_NODE_MIB	64
#define TOPO_NODE_ALIGN_MIB	2

/* ACPI SLIT distances: the same values Linux assumes without a SLIT. */
#define TOPO_LOCAL_DISTANCE	10
#define TOPO_REMOTE_DISTANCE	20

/* Big enough for any name topo_format() prints and for any cpulist here. */
#define TOPO_NAME_MAX		64

/*
 * numa_nodes NUMA nodes; llcs last-level caches in total, split evenly
 * across the nodes; cores per LLC; threads per core. The guest has
 * llcs * cores * threads vCPUs, numbered threads first: cpu = ((llc *
 * cores) + core) * threads + thread, and node n holds LLCs
 * [n * llcs / numa_nodes, (n + 1) * llcs / numa_nodes).
 * memory_mib == 0 means "the default" (filled in by topo_validate()).
 */
struct topo {
	unsigned numa_nodes, llcs, cores, threads;
	unsigned memory_mib;
};

/*
 * Parses "<N>n<L>l<C>c<T>t" (e.g. "1n2l2c1t"), or "<L>l<C>c<T>t" for one
 * NUMA node (unambiguous: the first count is followed by 'l', not 'n').
 * Only the syntax is checked (zero counts parse); memory_mib is set to 0.
 * Returns 0 or -EINVAL with err = "topology '1n2x2c1t': expected ...".
 */
int topo_parse(const char *s, struct topo *t, char *err, size_t errlen);
/* Prints the full 4-field name, "1n2l2c1t"; -ENOSPC if len is too short. */
int topo_format(const struct topo *t, char *buf, size_t len);
/*
 * Checks the limits above; when memory_mib is 0 it first sets the default.
 * Returns 0 or -EINVAL with err naming the field and value, e.g.
 * "topology 1n0l2c1t: llcs must be >= 1 (got 0)".
 */
int topo_validate(struct topo *t, char *err, size_t errlen);
/* llcs * cores * threads (callers validate first; not overflow-checked). */
unsigned topo_cpus(const struct topo *t);
unsigned topo_default_memory_mib(const struct topo *t);

/*
 * Appends the QEMU options that realise t (which must validate; a 0
 * memory_mib means the default):
 *   (the caller picks -cpu: under TCG max,vendor=GenuineIntel, whose CPUID
 *	leaf 4 reports one L3 per die, where QEMU's default AMD ignores dies;
 *	that needs qboot, since QEMU 10.0.2 + SeaBIOS + Intel + dies > 1
 *	aborts in encode_topo_cpuid1f.)
 *   -smp CPUS,sockets=N,dies=L/N,cores=C,threads=T
 *	one socket per NUMA node, one die (hence one L3) per LLC.
 *   -m <memory_mib>M
 *   -object memory-backend-file,id=ram<i>,size=<memory_mib/N>M,
 *	    mem-path=<ram_dir>/ram<i>,share=on		(one per node)
 *	QEMU creates a missing file (0644, sparse, sized by ftruncate) and
 *	leaves it behind at exit, so the caller removes ram_dir/ram* with
 *	its run dir; an existing file smaller than size is an error, and a
 *	directory would get an anonymous unlinked file, which the host could
 *	not map, so mem-path always names a file. ram_dir must exist; put it
 *	on tmpfs (/dev/shm) so guest RAM is not written back to disk. Commas
 *	in ram_dir are doubled, as QEMU's option syntax needs.
 *   1 node:  -machine memory-backend=ram0
 *	QEMU merges repeated -machine options (checked on 10.0.2, in either
 *	order), so the caller passes its own "-machine q35" and does not
 *	mention memory-backend.
 *   N nodes: -numa node,nodeid=<i>,cpus=<first>-<last>,memdev=ram<i>
 *	    -numa dist,src=<i>,dst=<j>,val=20		(i < j)
 *	QEMU mirrors one-way distances and sets the local ones to 10.
 * Returns 0, -EINVAL (invalid t, empty ram_dir) or -ENOMEM; on failure
 * a is left as it was.
 */
int topo_qemu_args(const struct topo *t, const char *ram_dir,
		   struct argv_buf *a);

/*
 * Where QEMU and the guest put each vCPU (checked on 10.0.2 with QMP
 * query-cpus-fast and in a booted guest); all indexes are global and
 * 0-based (topo_cpu_core() is not the guest's APIC-derived core_id).
 * These and the cpulist functions need a t that validates.
 */
unsigned topo_cpu_llc(const struct topo *t, unsigned cpu);
unsigned topo_cpu_node(const struct topo *t, unsigned cpu);
unsigned topo_cpu_core(const struct topo *t, unsigned cpu);

/*
 * The cpulists the guest should print, in Linux's "%*pbl" form ("2-3",
 * or "5" for a single CPU): cpu's cache/index3/shared_cpu_list, its
 * topology/thread_siblings_list, and node's node<n>/cpulist. Every set
 * here is one contiguous range. -ENOSPC if len is too short.
 */
int topo_llc_cpulist(const struct topo *t, unsigned cpu, char *buf, size_t len);
int topo_sibling_cpulist(const struct topo *t, unsigned cpu, char *buf,
			 size_t len);
int topo_node_cpulist(const struct topo *t, unsigned node, char *buf,
		      size_t len);

#endif
