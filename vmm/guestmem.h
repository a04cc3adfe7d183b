/* Guest RAM seen from the host: the shared backing files, mapped read-only. */
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
};

/* Maps the per-node RAM files in node order; 0 or -errno. */
int guestmem_open(struct guestmem *gm, const char *const *paths, size_t n);
/* Copies len bytes at guest-physical addr; -EFAULT outside RAM. */
int guestmem_read(const struct guestmem *gm, uint64_t addr, void *buf, size_t len);
void guestmem_close(struct guestmem *gm);

#endif
