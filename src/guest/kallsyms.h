/* Looking up a few symbols in the guest's /proc/kallsyms. */
#ifndef KTSTR_KALLSYMS_H
#define KTSTR_KALLSYMS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fills addr[i] for each names[i] found in path (0 where absent); the first
 * match wins (module symbols come last). Returns the number found or -errno.
 */
int kallsyms_lookup(const char *path, const char *const *names, size_t n, uint64_t *addr);

#endif
