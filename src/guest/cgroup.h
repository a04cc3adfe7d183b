/* cgroup v2 under /sys/fs/cgroup/ktstr: create, configure, attach, freeze, remove. */
#ifndef KTSTR_CGROUP_H
#define KTSTR_CGROUP_H

#include <stddef.h>
#include <sys/types.h>

#define CGROUP_ROOT	"/sys/fs/cgroup"
#define CGROUP_KTSTR	CGROUP_ROOT "/ktstr"

/* Default bounds for the waits; callers may pass their own. */
#define CGROUP_FREEZE_MS	2000
#define CGROUP_REMOVE_MS	5000

struct cgroup {
	char path[256];		/* absolute directory */
	char name[128];		/* relative to CGROUP_KTSTR, e.g. "a" or "a/b" */
};

/*
 * Every function returns 0 (or the count it names) or -errno and, on
 * failure, leaves in err a message that names the operation, the file and
 * the value, e.g.
 * "write: /sys/fs/cgroup/ktstr/a/cpu.weight: 0: Numerical result out of range".
 */

/*
 * 0 if name is a cgroup name we accept: relative, components separated by
 * single '/', none empty, "." or "..": "a", "a/b". -EINVAL or -ENAMETOOLONG.
 */
int cgroup_name_check(const char *name);
/* 0 if file names a file of a cgroup directory (no '/', not "." or ".."). */
int cgroup_file_check(const char *file);

/*
 * Creates CGROUP_KTSTR/name. CGROUP_KTSTR and missing parents of "a/b" are
 * created too, and the controllers the root enables (cpuset cpu memory
 * pids, and io with a scratch disk; those available) are enabled in every
 * subtree_control down the path. The cgroup itself must not exist: -EEXIST.
 */
int cgroup_create(struct cgroup *cg, const char *name, char *err, size_t errlen);
/*
 * As cgroup_create, but the cgroups it makes are threaded (cgroup.type):
 * only the threaded controllers (cpuset cpu pids) are enabled down the
 * path, so the nearest existing parent may hold processes of its own and
 * becomes the threaded domain of the subtree. The parent must not be a
 * domain with domain controllers enabled or populated domain children
 * (-EOPNOTSUPP).
 */
int cgroup_create_threaded(struct cgroup *cg, const char *name, char *err, size_t errlen);
/* Opens an existing cgroup by name. */
int cgroup_open(struct cgroup *cg, const char *name, char *err, size_t errlen);
/* Writes value to <cgroup>/<file> ("" writes a lone newline: "reset"). */
int cgroup_write(const struct cgroup *cg, const char *file, const char *value,
		 char *err, size_t errlen);
/*
 * Reads <cgroup>/<file> into buf, NUL-terminated, trailing newline removed;
 * returns its length, or -EFBIG when it does not fit.
 */
int cgroup_read(const struct cgroup *cg, const char *file, char *buf, size_t len,
		char *err, size_t errlen);
/*
 * Writes cpuset.cpus after checking that every CPU named is online: the
 * kernel rejects CPUs beyond the possible ones (-ERANGE) but accepts
 * possible-but-offline ones and then silently falls back to the parent's
 * effective set, so an offline CPU is -EINVAL here, naming it.
 */
int cgroup_set_cpus(const struct cgroup *cg, const char *cpus, char *err, size_t errlen);
/* Writes cpuset.mems after checking every node named has memory. */
int cgroup_set_mems(const struct cgroup *cg, const char *mems, char *err, size_t errlen);
int cgroup_attach(const struct cgroup *cg, pid_t pid, char *err, size_t errlen);
/*
 * Writes cgroup.freeze and waits up to timeout_ms until cgroup.events says
 * "frozen <frozen>"; -ETIMEDOUT otherwise.
 */
int cgroup_freeze(const struct cgroup *cg, int frozen, int timeout_ms,
		  char *err, size_t errlen);
/*
 * Fills pids with up to n members of cgroup.procs (of a threaded cgroup,
 * cgroup.threads); returns how many there are (more than n means only the
 * first n were stored) or -errno.
 */
int cgroup_procs(const struct cgroup *cg, pid_t *pids, size_t n,
		 char *err, size_t errlen);
/*
 * Removes the cgroup and its children: kills whatever is still inside
 * (cgroup.kill), waits until it is empty, reaps our own children among
 * them, then rmdir depth-first. Bounded by timeout_ms; -EBUSY names the
 * pids that stayed.
 */
int cgroup_remove(const struct cgroup *cg, int timeout_ms, char *err, size_t errlen);
/*
 * Removes every cgroup under CGROUP_KTSTR (not the directory itself);
 * returns how many top-level cgroups it removed.
 */
int cgroup_remove_all(int timeout_ms, char *err, size_t errlen);
/* Copies /sys/devices/system/cpu/online (e.g. "0-3") into buf. */
int cgroup_cpus_online(char *buf, size_t len, char *err, size_t errlen);

#endif
