/* A fast 64-bit content hash (FNV-1a over 64-bit words) for cache keys. */
#ifndef KTSTR_HASH_H
#define KTSTR_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_INIT 0xcbf29ce484222325ULL	/* the FNV-1a offset basis */

/* Folds n bytes into the running hash h and returns it. */
uint64_t hash_bytes(uint64_t h, const void *p, size_t n);
/* Folds path's contents, length and permission bits into *h; 0 or -errno. */
int hash_file(const char *path, uint64_t *h);

#endif
