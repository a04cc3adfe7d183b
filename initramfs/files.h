/* File helpers the image builder needs beside the cpio writer. */
#ifndef KTSTR_FILES_H
#define KTSTR_FILES_H

#include <stddef.h>

#include "src/base/strlist.h"

/*
 * Writes ins[0..n) one after another into out (created or truncated). On
 * failure out is removed and *bad is the index of the input that failed,
 * or n when out did; 0 or -errno.
 */
int files_concat(const char *out, const char *const *ins, size_t n, size_t *bad);
/*
 * Appends to out the paths, relative to dir, of the regular files under dir
 * whose names end in suffix (NULL: all), sorted, following symlinks.
 */
int files_list(const char *dir, const char *suffix, struct strlist *out);

#endif
