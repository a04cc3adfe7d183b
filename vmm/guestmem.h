/* Guest RAM seen from the host: the shared backing files, mapped read-only; a checked word CAS. */
#ifndef KTSTR_GUESTMEM_H
#define KTSTR_GUESTMEM_H

#include <stddef.h>
#include <stdint.h>

#define GUESTMEM_MAX_NODES 16

struct guestmem {
	size_t n;
	void *map[GUESTMEM_MAX_NODES];
	uint64_t size[GUESTMEM_MAX_NODES];
	uint64_t total;
	uint64_t lowmem;	/* RAM below the PCI hole; the rest starts at 4 GiB */
	int writable;		/* files opened read-write: guestmem_cas may write */
};

#define GUESTMEM_WRITABLE	1	/* guestmem_open flag */

/*
 * Maps the per-node RAM files in node order, read-only even with
 * GUESTMEM_WRITABLE (which opens the files read-write so that guestmem_cas
 * can lift the protection of one page at a time); 0 or -errno.
 */
int guestmem_open(struct guestmem *gm, const char *const *paths, size_t n, int flags);
/* Copies len bytes at guest-physical addr; -EFAULT outside RAM. */
int guestmem_read(const struct guestmem *gm, uint64_t addr, void *buf, size_t len);
/*
 * Compare-and-swap of the size-byte (4 or 8) word at guest-physical addr,
 * which must be aligned to its size (so it never crosses a page) and inside
 * RAM: an atomic instruction on the shared page, so a running guest sees the
 * old or the new value and nothing between. *old gets the value found. 0 when
 * it was expect and is now val; -EAGAIN when it was not (nothing written);
 * -EINVAL for a bad size or alignment, -EFAULT outside RAM, -EPERM when not
 * opened GUESTMEM_WRITABLE. gm itself is not modified, guest RAM is.
 */
int guestmem_cas(const struct guestmem *gm, uint64_t addr, size_t size, uint64_t expect,
		 uint64_t val, uint64_t *old);
void guestmem_close(struct guestmem *gm);

#endif
