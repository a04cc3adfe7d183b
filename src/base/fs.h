/* Filesystem helpers: run directories and their removal. */
#ifndef KTSTR_FS_H
#define KTSTR_FS_H

#include <stddef.h>

/* Removes path and everything under it, not following symlinks; 0 or -errno. */
int fs_rm_rf(const char *path);
/* mkdir -p with mode for every created component; 0 or -errno. */
int fs_mkdir_p(const char *path, unsigned mode);

#endif
