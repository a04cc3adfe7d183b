/* cgroup v2 under /sys/fs/cgroup/ktstr: create, configure, attach, freeze, remove. */
#ifndef KTSTR_CGROUP_H
#define KTSTR_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define CGROUP_KTSTR	CGROUP_ROOT "/ktstr"

struct cgroup {
	char path[256];		/* absolute directory */
	char name[128];		/* relative to CGROUP_KTSTR, e.g. "a" or "a/b" */
};

/*
 * Every function returns 0 or -errno and, on failure, leaves a message in
 * err that names the file and the value, e.g.
 * "cpuset.cpus: /sys/fs/cgroup/ktstr/a: 9-12: Invalid argument".
 */
int cgroup_create(struct cgroup *cg, const char *name, char *err, size_t errlen);
/* Opens an existing cgroup by name. */
int cgroup_open(struct cgroup *cg, const char *name, char *err, size_t errlen);
/* Writes value to <cgroup>/<file>. */
int cgroup_write(const struct cgroup *cg, const char *file, const char *value,
		 char *err, size_t errlen);
/* Reads <cgroup>/<file> into buf (trailing newline removed). */
int cgroup_read(const struct cgroup *cg, const char *file, char *buf, size_t len,
		char *err, size_t errlen);
int cgroup_attach(const struct cgroup *cg, pid_t pid, char *err, size_t errlen);
/* Writes cgroup.freeze and waits (bounded) until cgroup.events agrees. */
int cgroup_freeze(const struct cgroup *cg, int frozen, char *err, size_t errlen);
/* Fills pids with up to n members of cgroup.procs; returns the count or -errno. */
int cgroup_procs(const struct cgroup *cg, pid_t *pids, size_t n);
/*
 * Removes the cgroup and its children: kills whatever is still inside
 * (cgroup.kill), waits until it is empty, reaps our own children among
 * them, then rmdir. Bounded; -EBUSY names what stayed.
 */
int cgroup_remove(const struct cgroup *cg, char *err, size_t errlen);

#endif
