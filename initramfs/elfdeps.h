/* The shared-library closure of ELF binaries, searched as ld.so searches. */
#ifndef KTSTR_ELFDEPS_H
#define KTSTR_ELFDEPS_H

#include <stddef.h>

#include "src/base/strlist.h"

/*
 * Appends to out the interpreters (PT_INTERP) of bins[0..n) and every
 * library they load through DT_NEEDED, each once, as Debian's x86_64 ld.so
 * finds it: DT_RPATH up the loader chain unless DT_RUNPATH is set, then
 * DT_RUNPATH, then the /etc/ld.so.conf directories, then the default ones
 * ($ORIGIN, $LIB and $PLATFORM expanded; LD_LIBRARY_PATH ignored). Paths
 * are the absolute ones searched, lexically normalized but with symlinks
 * kept, so that the guest's ld.so finds the files where the host's does.
 * The inputs themselves are not appended; a static binary adds nothing.
 *
 * 0 or -errno; err then names the culprit: the input that is not ELF
 * (-ENOEXEC) or cannot be read, or "<lib> needed by <object>" (-ENOENT).
 */
int elfdeps_closure(const char *const *bins, size_t n, struct strlist *out,
		    char *err, size_t errlen);

#endif
