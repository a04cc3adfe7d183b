/* Kernel virtual -> guest physical (x86_64): reads and a word CAS never trusting guest pointers. */
#include <errno.h>
#include <string.h>

#include "kmem.h"

#define PAGE_SIZE	4096ULL
#define PTE_PRESENT	(1ULL << 0)
#define PTE_PSE		(1ULL << 7)	/* a 1 GiB or 2 MiB leaf above the PTE level */
#define PTE_ADDR	0x000ffffffffff000ULL
#define DIRECT_MAP_4L	(1ULL << 46)	/* 64 TiB of direct map with 4 levels */
#define DIRECT_MAP_5L	(1ULL << 52)

/*
 * The direct map's extent: guest RAM, within the most the paging mode allows.
 * With KASLR (CONFIG_RANDOMIZE_MEMORY) vmalloc space may begin a few TiB
 * past page_offset_base: an address past RAM is walked, not assumed direct.
 */
static uint64_t direct_map_size(const struct kmem *k)
{
	const struct guestmem *gm = k->gm;
	uint64_t most = k->a.levels == 5 ? DIRECT_MAP_5L : DIRECT_MAP_4L;
	uint64_t end = gm->total > gm->lowmem ? (1ULL << 32) + gm->total - gm->lowmem : gm->total;

	return end < most ? end : most;
}

static int kmem_canonical(const struct kmem *k, uint64_t va)
{
	int shift = 64 - (k->a.levels == 5 ? 57 : 48);

	return (uint64_t)((int64_t)(va << shift) >> shift) == va;
}

static int kmem_walk(const struct kmem *k, uint64_t va, uint64_t *pa)
{
	uint64_t table = k->pgd_pa, e;
	int level, shift, rc;

	for (level = k->a.levels; level >= 1; level--) {
		shift = 12 + 9 * (level - 1);
		rc = guestmem_read(k->gm, table + ((va >> shift) & 511) * 8, &e, 8);
		if (rc)
			return rc;
		if (!(e & PTE_PRESENT))
			return -EFAULT;
		/* a PSE bit at the PUD or PMD level ends the walk with a huge page */
		if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PSE))) {
			uint64_t mask = (1ULL << shift) - 1;

			*pa = ((e & PTE_ADDR) & ~mask) | (va & mask);
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return -EFAULT;
}

int kmem_xlate(const struct kmem *k, uint64_t va, uint64_t *pa)
{
	if (va >= k->a.page_offset && va - k->a.page_offset < direct_map_size(k)) {
		*pa = va - k->a.page_offset;
		return 0;
	}
	if (va >= KMEM_START_MAP && va - KMEM_START_MAP < KMEM_IMAGE_SIZE) {
		*pa = va - KMEM_START_MAP + k->a.phys_base;
		return 0;
	}
	if (!k->pgd_pa || !(va >> 63))	/* user addresses are not ours to follow */
		return -EFAULT;
	if (!kmem_canonical(k, va))	/* the walk ignores the top bits: no aliases */
		return -EFAULT;
	return kmem_walk(k, va, pa);
}

int kmem_read(const struct kmem *k, uint64_t va, void *buf, size_t len)
{
	char *out = buf;

	while (len) {
		size_t chunk = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		uint64_t pa;
		int rc;

		if (chunk > len)
			chunk = len;
		rc = kmem_xlate(k, va, &pa);
		if (!rc)
			rc = guestmem_read(k->gm, pa, out, chunk);
		if (rc)
			return rc;
		out += chunk;
		va += chunk;
		len -= chunk;
	}
	return 0;
}

int kmem_read_u64(const struct kmem *k, uint64_t va, uint64_t *v)
{
	return kmem_read(k, va, v, sizeof(*v));
}

int kmem_read_u32(const struct kmem *k, uint64_t va, uint32_t *v)
{
	return kmem_read(k, va, v, sizeof(*v));
}

int kmem_cas(const struct kmem *k, uint64_t va, size_t size, uint64_t expect, uint64_t val,
	     uint64_t *old)
{
	uint64_t pa;
	int rc;

	/* pages are aligned alike in both spaces: an aligned va is an aligned pa */
	if ((size != 4 && size != 8) || (va & (size - 1)))
		return -EINVAL;
	rc = kmem_xlate(k, va, &pa);
	return rc ? rc : guestmem_cas(k->gm, pa, size, expect, val, old);
}

uint64_t kmem_percpu(const struct kmem *k, uint64_t va, int cpu)
{
	if (cpu < 0 || cpu >= k->a.nr_cpus)
		return 0;
	return va + k->cpu_off[cpu];
}

int kmem_init(struct kmem *k, const struct guestmem *gm, const struct kmem_addrs *a)
{
	int rc;

	memset(k, 0, sizeof(*k));
	if ((a->levels != 4 && a->levels != 5) || a->nr_cpus < 1 ||
	    a->nr_cpus > KMEM_MAX_CPUS)
		return -EINVAL;
	k->gm = gm;
	k->a = *a;
	if (a->pgd) {
		/* the walk starts from init_top_pgt, itself in the kernel image */
		rc = kmem_xlate(k, a->pgd, &k->pgd_pa);
		if (rc)
			return rc;
	}
	if (a->per_cpu_offset) {
		rc = kmem_read(k, a->per_cpu_offset, k->cpu_off, 8 * (size_t)a->nr_cpus);
		if (rc)
			return rc;
	}
	return 0;
}
