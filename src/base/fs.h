/* Filesystem helpers: run directories, their removal, sparse copies. */
#ifndef KTSTR_FS_H
#define KTSTR_FS_H

#include <stddef.h>

/* Removes path and everything under it, not following symlinks; 0 or -errno. */
int fs_rm_rf(const char *path);
/* mkdir -p with mode for every created component; 0 or -errno. */
int fs_mkdir_p(const char *path, unsigned mode);

/*
 * Copies src to dst (created with mode, or truncated), keeping src's holes
 * as holes; 0 or -errno (dst removed on failure). *copied: the data bytes.
 */
int fs_copy_sparse(const char *src, const char *dst, unsigned mode,
		   unsigned long long *copied);

#endif
