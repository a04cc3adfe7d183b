/* Guest-physical reads from the RAM files QEMU shares with us. */
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

int guestmem_open(struct guestmem *gm, const char *const *paths, size_t n)
{
	struct stat st;
	size_t i;
	int fd, rc;

	memset(gm, 0, sizeof(*gm));
	if (n == 0 || n > GUESTMEM_MAX_NODES)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		fd = open(paths[i], O_RDONLY | O_CLOEXEC);
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

int guestmem_read(const struct guestmem *gm, uint64_t addr, void *buf, size_t len)
{
	char *out = buf;

	while (len) {
		int64_t off = guestmem_offset(gm, addr);
		size_t i, chunk;

		if (off < 0)
			return -EFAULT;
		for (i = 0; i < gm->n && (uint64_t)off >= gm->size[i]; i++)
			off -= gm->size[i];
		if (i == gm->n)
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

void guestmem_close(struct guestmem *gm)
{
	size_t i;

	for (i = 0; i < gm->n; i++)
		if (gm->map[i])
			munmap(gm->map[i], gm->size[i]);
	memset(gm, 0, sizeof(*gm));
}
