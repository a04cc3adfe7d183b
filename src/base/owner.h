/* Who owns a run dir, a scratch dir or a temporary file: a lock held for the owner's whole life. */
#ifndef KTSTR_OWNER_H
#define KTSTR_OWNER_H

#include <sys/types.h>

/* The file in an owned directory that names its owner and carries the lock. */
#define OWNER_FILE ".owner"

enum owner_state {
	OWNER_NONE,	/* no owner file: not ours to judge (a spec's dir, an old run) */
	OWNER_LIVE,	/* the lock is held: its process runs */
	OWNER_DEAD,	/* the lock is free: whoever made it is gone */
	OWNER_KEPT,	/* made with keep (--keep): left for the user, alive or not */
};

/*
 * Marks dir as this process's: dir/.owner holds "pid\n" (or "pid keep\n")
 * under an flock that lives as long as *fd is open, which is the process's
 * life at most (close-on-exec: children do not inherit it). The lock is
 * taken before the file gets its name, so nobody sees it unlocked. 0 with
 * *fd, or -errno.
 */
int owner_claim(const char *dir, int keep, int *fd);

/*
 * The state of dir (through dir/.owner) or, for a plain file, of the file
 * itself (a temporary file its writer keeps locked). *pid gets the pid the
 * owner file names, or 0. A pid alone would not do: pids are reused; a
 * lock dies with its process.
 */
int owner_state(const char *path, pid_t *pid);

/*
 * Removes what dead owners left at the paths matching pattern (glob(3)):
 * each directory whose owner is OWNER_DEAD, each empty directory with no
 * owner older than min_age_s (its maker died before it claimed it), each
 * file nobody holds locked older than min_age_s (a temporary file's writer
 * locks it right after making it). Live and kept entries, and whatever else
 * has no owner, stay. on_gone(path, pid, arg) hears of each removal.
 * Returns how many were removed, or -errno.
 */
int owner_reclaim(const char *pattern, int min_age_s,
		  void (*on_gone)(const char *path, pid_t pid, void *arg), void *arg);

/* Locks an open file for its writer (a temporary file until it is renamed); 0 or -errno. */
int owner_lock_fd(int fd);

#endif
