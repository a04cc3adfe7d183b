/* The guest kernel by kernel virtual address: translation, bounds-checked reads, a checked CAS. */
#ifndef KTSTR_KMEM_H
#define KTSTR_KMEM_H

#include <stddef.h>
#include <stdint.h>

#include "guestmem.h"

#define KMEM_MAX_CPUS		256
#define KMEM_START_MAP		0xffffffff80000000ULL	/* __START_KERNEL_map */
#define KMEM_IMAGE_SIZE		0x40000000ULL		/* 1 GiB: text, data, bss */

/*
 * Where the kernel put itself, as the guest told us (kallsyms, /proc/iomem)
 * and as read back from its own variables.
 */
struct kmem_addrs {
	uint64_t page_offset;	/* value of page_offset_base: the direct map */
	uint64_t phys_base;	/* physical address of __START_KERNEL_map */
	uint64_t pgd;		/* virtual address of init_top_pgt */
	int levels;		/* paging levels: 4 or 5 */
	uint64_t per_cpu_offset;	/* virtual address of __per_cpu_offset[] */
	int nr_cpus;
};

struct kmem {
	const struct guestmem *gm;
	struct kmem_addrs a;
	uint64_t pgd_pa;
	uint64_t cpu_off[KMEM_MAX_CPUS];
};

/* Checks the addresses against guest RAM and reads the per-CPU offsets; 0 or -errno. */
int kmem_init(struct kmem *k, const struct guestmem *gm, const struct kmem_addrs *a);
/* Guest-physical address of va: direct map, kernel image, else a page walk; -EFAULT if unmapped. */
int kmem_xlate(const struct kmem *k, uint64_t va, uint64_t *pa);
/* len bytes at va, page by page; -EFAULT where anything is unmapped or outside RAM. */
int kmem_read(const struct kmem *k, uint64_t va, void *buf, size_t len);
int kmem_read_u64(const struct kmem *k, uint64_t va, uint64_t *v);
int kmem_read_u32(const struct kmem *k, uint64_t va, uint32_t *v);
/*
 * Compare-and-swap of the aligned size-byte (4 or 8) word at va, which must
 * translate into guest RAM (guestmem_cas: 0, or -EAGAIN with *old the value
 * found, -EINVAL, -EFAULT, -EPERM).
 */
int kmem_cas(const struct kmem *k, uint64_t va, size_t size, uint64_t expect, uint64_t val,
	     uint64_t *old);
/* va of a per-CPU variable's copy for cpu (percpu symbol or __percpu pointer); 0 if no such cpu. */
uint64_t kmem_percpu(const struct kmem *k, uint64_t va, int cpu);

#endif
