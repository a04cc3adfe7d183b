/* Guest-physical reads from the RAM files QEMU shares with us, and one checked word write. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guestmem.h"

/*
 * q35 keeps all RAM below 4 GiB when it fits under 0xb0000000; otherwise
 * the first 2 GiB stay low and the rest moves above 4 GiB (pc_q35_init).
 * NUMA backends are laid out in node order over that same range.
 */
#define Q35_LOWMEM_MAX	0xb0000000ULL
#define Q35_LOWMEM	0x80000000ULL
#define FOUR_GIB	0x100000000ULL

int guestmem_open(struct guestmem *gm, const char *const *paths, size_t n, int flags)
{
	struct stat st;
	size_t i;
	int fd, rc;

	memset(gm, 0, sizeof(*gm));
	if (n == 0 || n > GUESTMEM_MAX_NODES || (flags & ~GUESTMEM_WRITABLE))
		return -EINVAL;
	gm->writable = !!(flags & GUESTMEM_WRITABLE);
	for (i = 0; i < n; i++) {
		fd = open(paths[i], (gm->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			rc = -errno;
			goto fail;
		}
		gm->map[i] = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		fd = -1;
		if (gm->map[i] == MAP_FAILED) {
			gm->map[i] = NULL;
			rc = -errno;
			goto fail;
		}
		gm->size[i] = st.st_size;
		gm->total += st.st_size;
		gm->n++;
	}
	gm->lowmem = gm->total > Q35_LOWMEM_MAX ? Q35_LOWMEM : gm->total;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	guestmem_close(gm);
	return rc;
}

/* Offset into the concatenated RAM, or -1 for a hole or beyond the end. */
static int64_t guestmem_offset(const struct guestmem *gm, uint64_t addr)
{
	if (addr < gm->lowmem)
		return addr;
	if (addr < FOUR_GIB)
		return -1;
	addr = addr - FOUR_GIB + gm->lowmem;
	return addr < gm->total ? (int64_t)addr : -1;
}

/* The node file holding addr and the offset in it; -EFAULT outside RAM. */
static int guestmem_locate(const struct guestmem *gm, uint64_t addr, size_t *node, uint64_t *at)
{
	int64_t off = guestmem_offset(gm, addr);
	size_t i;

	if (off < 0)
		return -EFAULT;
	for (i = 0; i < gm->n && (uint64_t)off >= gm->size[i]; i++)
		off -= gm->size[i];
	if (i == gm->n)
		return -EFAULT;
	*node = i;
	*at = off;
	return 0;
}

int guestmem_read(const struct guestmem *gm, uint64_t addr, void *buf, size_t len)
{
	char *out = buf;

	while (len) {
		uint64_t off;
		size_t i, chunk;

		if (guestmem_locate(gm, addr, &i, &off))
			return -EFAULT;
		chunk = gm->size[i] - off;
		if (chunk > len)
			chunk = len;
		/* the range may cross from low RAM into the hole: re-check per page */
		if (addr < gm->lowmem && addr + chunk > gm->lowmem)
			chunk = gm->lowmem - addr;
		memcpy(out, (char *)gm->map[i] + off, chunk);
		out += chunk;
		addr += chunk;
		len -= chunk;
	}
	return 0;
}

/*
 * The page stays read-only but for the one instruction: a stray write
 * anywhere else in guest RAM still faults in ktstr instead of corrupting
 * the guest.
 */
int guestmem_cas(const struct guestmem *gm, uint64_t addr, size_t size, uint64_t expect,
		 uint64_t val, uint64_t *old)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t off;
	size_t i;
	char *word, *base;
	int rc, swapped;

	if ((size != 4 && size != 8) || (addr & (size - 1)))
		return -EINVAL;
	if (size == 4 && (expect > UINT32_MAX || val > UINT32_MAX))
		return -EINVAL;
	/* an aligned word lies in one page, one node file and outside the hole */
	rc = guestmem_locate(gm, addr, &i, &off);
	if (rc)
		return rc;
	if (!gm->writable)
		return -EPERM;
	word = (char *)gm->map[i] + off;
	base = (char *)gm->map[i] + (off & ~(uint64_t)(page - 1));
	if (mprotect(base, page, PROT_READ | PROT_WRITE))
		return -errno;
	if (size == 8) {
		uint64_t cur = expect;

		swapped = __atomic_compare_exchange_n((uint64_t *)word, &cur, val, 0,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = cur;
	} else {
		uint32_t cur = (uint32_t)expect;

		swapped = __atomic_compare_exchange_n((uint32_t *)word, &cur, (uint32_t)val, 0,
						      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		*old = cur;
	}
	/* a page left writable is reported even after a swap (*old then says so) */
	if (mprotect(base, page, PROT_READ))
		return -errno;
	return swapped ? 0 : -EAGAIN;
}

void guestmem_close(struct guestmem *gm)
{
	size_t i;

	for (i = 0; i < gm->n; i++)
		if (gm->map[i])
			munmap(gm->map[i], gm->size[i]);
	memset(gm, 0, sizeof(*gm));
}
