/* cgroup v2 under /sys/fs/cgroup/ktstr: files, cpusets, freezing, killing removal. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "src/base/clock.h"
#include "src/base/cpulist.h"
#include "cgroup.h"

#define CPUS_ONLINE	"/sys/devices/system/cpu/online"
#define NODES_MEMORY	"/sys/devices/system/node/has_memory"

/*
 * Controllers PID 1 enables at the root (io only with a scratch disk:
 * guest/disk.lua); we pass on those available.
 */
static const char *const cg_controllers[] = { "cpuset", "cpu", "memory", "pids", "io" };
/* The threaded ones of them: all a threaded subtree may enable. */
static const char *const cg_threaded_controllers[] = { "cpuset", "cpu", "pids" };

/* Formats fmt into err, then ": strerror(rc)" unless fmt already says why; returns rc. */
static int __attribute__((format(printf, 5, 6)))
cg_report(char *err, size_t errlen, int rc, int why, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || !errlen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (!why && n + 1 < errlen)
		snprintf(err + n, errlen - n, ": %s", strerror(-rc));
	return rc;
}

/* "fmt: strerror(rc)" into err; returns rc. */
#define cg_fail(err, errlen, rc, ...)		cg_report(err, errlen, rc, 0, __VA_ARGS__)
/* fmt alone, which already says why; returns rc. */
#define cg_fail_why(err, errlen, rc, ...)	cg_report(err, errlen, rc, 1, __VA_ARGS__)

/* ---- files ---- */

static int cg_write_path(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd, rc = 0;

	/* An empty write may never reach the kernel's handler: send "\n". */
	if (!len) {
		value = "\n";
		len = 1;
	}
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
	close(fd);
	return rc;
}

/* Reads a whole small file into buf (NUL-terminated, trailing '\n' cut). */
static int cg_read_path(const char *path, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;
	char extra;
	int fd;

	if (!len)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (off + 1 >= len)
			n = read(fd, &extra, 1);
		else
			n = read(fd, buf + off, len - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return (int)n;
		}
		if (n == 0)
			break;
		if (off + 1 >= len) {
			close(fd);
			return -EFBIG;
		}
		off += n;
	}
	close(fd);
	while (off && buf[off - 1] == '\n')
		off--;
	buf[off] = '\0';
	return (int)off;
}

/* Reads a file of any size into a malloc'd NUL-terminated string. */
static int cg_slurp(const char *path, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf, *nb;
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (len + 1 >= cap) {
			nb = realloc(buf, cap * 2);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* Value of "key N" in a flat keyed file such as cgroup.events, read at fd. */
static int cg_keyed(int fd, const char *key, long *val)
{
	char buf[512], *p;
	size_t k = strlen(key);
	ssize_t n;

	do
		n = pread(fd, buf, sizeof(buf) - 1, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, k) == 0 && p[k] == ' ') {
			*val = strtol(p + k + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

static int cg_check_fs(const char *op, char *err, size_t errlen)
{
	struct statfs sf;

	if (statfs(CGROUP_ROOT, &sf) < 0)
		return cg_fail(err, errlen, -errno, "%s: %s", op, CGROUP_ROOT);
	if (sf.f_type != CGROUP2_SUPER_MAGIC)
		return cg_fail_why(err, errlen, -ENODEV,
				   "%s: %s: not a cgroup2 mount", op, CGROUP_ROOT);
	return 0;
}

/* ---- cpulists ---- */

/*
 * Writes a cpuset list after checking it against the reference set (online
 * CPUs, nodes with memory); a missing reference file skips the check.
 */
static int cg_set_list(const struct cgroup *cg, const char *op, const char *file,
		       const char *list, const char *ref, const char *what,
		       const char *state, char *err, size_t errlen)
{
	struct cpulist want, have;
	char path[PATH_MAX], refbuf[1024], bad[256];
	unsigned i;
	int rc, n;

	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	rc = cpulist_parse(list, &want);
	if (rc)
		return cg_fail(err, errlen, rc, "%s: %s: %s", op, path, list);
	rc = cg_read_path(ref, refbuf, sizeof(refbuf));
	if (rc >= 0) {
		rc = cpulist_parse(refbuf, &have);
		if (rc)
			return cg_fail(err, errlen, rc, "%s: %s: %s", op, ref, refbuf);
		for (i = 0; i < CPULIST_MAX / 64; i++)
			want.w[i] &= ~have.w[i];
		n = cpulist_format(&want, bad, sizeof(bad));
		if (n)
			return cg_fail_why(err, errlen, -EINVAL,
					   "%s: %s: %s: %s%s %s %s not %s (%s: %s)", op,
					   path, list, what, n > 1 ? "s" : "", bad,
					   n > 1 ? "are" : "is", state, ref, refbuf);
	} else if (rc != -ENOENT) {
		return cg_fail(err, errlen, rc, "%s: %s", op, ref);
	}
	rc = cg_write_path(path, list);
	if (rc)
		return cg_fail(err, errlen, rc, "%s: %s: %s", op, path, list);
	return 0;
}

/* ---- names ---- */

int cgroup_name_check(const char *name)
{
	const char *p = name, *slash;
	size_t n;

	if (strlen(name) >= sizeof(((struct cgroup *)0)->name))
		return -ENAMETOOLONG;
	if (strchr(name, '\n'))
		return -EINVAL;
	for (;;) {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (!n || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (!slash)
			return 0;
		p = slash + 1;
	}
}

int cgroup_file_check(const char *file)
{
	if (!*file || strchr(file, '/') || strcmp(file, ".") == 0 ||
	    strcmp(file, "..") == 0)
		return -EINVAL;
	return 0;
}

static int cg_init(struct cgroup *cg, const char *name, const char *op,
		   char *err, size_t errlen)
{
	int rc = cgroup_name_check(name);

	memset(cg, 0, sizeof(*cg));
	if (rc)
		return cg_fail(err, errlen, rc, "%s: invalid cgroup name '%s'", op, name);
	snprintf(cg->name, sizeof(cg->name), "%s", name);
	snprintf(cg->path, sizeof(cg->path), "%s/%s", CGROUP_KTSTR, name);
	return cg_check_fs(op, err, errlen);
}

/* ---- create, open ---- */

static int cg_has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p;

	for (p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (!p[n] || isspace((unsigned char)p[n])))
			return 1;
	return 0;
}

/* Enables in dir's subtree_control the controllers available there (the threaded ones only). */
static int cg_enable(const char *dir, int threaded, char *err, size_t errlen)
{
	const char *const *want = threaded ? cg_threaded_controllers : cg_controllers;
	size_t nwant = threaded ? sizeof(cg_threaded_controllers) / sizeof(want[0]) :
		       sizeof(cg_controllers) / sizeof(want[0]);
	char path[PATH_MAX], avail[512], on[512], req[128] = "";
	size_t i;
	int rc;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	rc = cg_read_path(path, avail, sizeof(avail));
	if (rc < 0)
		return cg_fail(err, errlen, rc, "create: %s", path);
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	rc = cg_read_path(path, on, sizeof(on));
	if (rc < 0)
		return cg_fail(err, errlen, rc, "create: %s", path);
	for (i = 0; i < nwant; i++) {
		if (!cg_has_word(avail, want[i]) || cg_has_word(on, want[i]))
			continue;
		if (*req)
			strcat(req, " ");
		strcat(req, "+");
		strcat(req, want[i]);
	}
	if (!*req)
		return 0;
	rc = cg_write_path(path, req);
	if (rc)
		return cg_fail(err, errlen, rc, "create: %s: %s", path, req);
	return 0;
}

static int cg_create(struct cgroup *cg, const char *name, int threaded, char *err,
		     size_t errlen)
{
	char dir[sizeof(cg->path)], type[PATH_MAX];
	size_t made[64], nmade = 0, end;
	const char *p, *slash;
	int rc;

	rc = cg_init(cg, name, "create", err, errlen);
	if (rc)
		return rc;
	if (mkdir(CGROUP_KTSTR, 0755) < 0 && errno != EEXIST)
		return cg_fail(err, errlen, -errno, "create: %s", CGROUP_KTSTR);
	/*
	 * Down the path: enable the controllers in the parent, then make the
	 * child, so each new level is born with the controller files.
	 */
	for (p = cg->name; ; p = slash + 1) {
		if (p == cg->name)
			snprintf(dir, sizeof(dir), "%s", CGROUP_KTSTR);
		else
			snprintf(dir, sizeof(dir), "%s/%.*s", CGROUP_KTSTR,
				 (int)(p - 1 - cg->name), cg->name);
		rc = cg_enable(dir, threaded, err, errlen);
		if (rc)
			goto undo;
		slash = strchr(p, '/');
		end = slash ? (size_t)(slash - cg->name) : strlen(cg->name);
		snprintf(dir, sizeof(dir), "%s/%.*s", CGROUP_KTSTR, (int)end, cg->name);
		if (mkdir(dir, 0755) < 0) {
			if (errno != EEXIST || !slash) {
				rc = cg_fail(err, errlen, -errno, "create: %s", dir);
				goto undo;
			}
		} else {
			if (slash)
				made[nmade++] = end;
			/* joins its parent's resource domain; once threaded, always */
			snprintf(type, sizeof(type), "%s/cgroup.type", dir);
			if (threaded && (rc = cg_write_path(type, "threaded"))) {
				rc = cg_fail(err, errlen, rc, "create: %s: threaded", type);
				if (!slash)
					rmdir(dir);
				goto undo;
			}
		}
		if (!slash)
			return 0;
	}
undo:
	/* Parents we made for this name go again, deepest first. */
	while (nmade--) {
		snprintf(dir, sizeof(dir), "%s/%.*s", CGROUP_KTSTR,
			 (int)made[nmade], cg->name);
		rmdir(dir);
	}
	return rc;
}

int cgroup_create(struct cgroup *cg, const char *name, char *err, size_t errlen)
{
	return cg_create(cg, name, 0, err, errlen);
}

int cgroup_create_threaded(struct cgroup *cg, const char *name, char *err, size_t errlen)
{
	return cg_create(cg, name, 1, err, errlen);
}

int cgroup_open(struct cgroup *cg, const char *name, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	rc = cg_init(cg, name, "open", err, errlen);
	if (rc)
		return rc;
	if (stat(cg->path, &st) < 0)
		return cg_fail(err, errlen, -errno, "open: %s", cg->path);
	if (!S_ISDIR(st.st_mode))
		return cg_fail(err, errlen, -ENOTDIR, "open: %s", cg->path);
	return 0;
}

/* ---- files of a cgroup ---- */

static int cg_write_op(const struct cgroup *cg, const char *op, const char *file,
		       const char *value, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc;

	if (cgroup_file_check(file))
		return cg_fail(err, errlen, -EINVAL, "%s: %s: invalid file name '%s'",
			       op, cg->path, file);
	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	rc = cg_write_path(path, value);
	if (rc)
		return cg_fail(err, errlen, rc, "%s: %s: %s", op, path, value);
	return 0;
}

int cgroup_write(const struct cgroup *cg, const char *file, const char *value,
		 char *err, size_t errlen)
{
	return cg_write_op(cg, "write", file, value, err, errlen);
}

int cgroup_read(const struct cgroup *cg, const char *file, char *buf, size_t len,
		char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc;

	if (cgroup_file_check(file))
		return cg_fail(err, errlen, -EINVAL, "read: %s: invalid file name '%s'",
			       cg->path, file);
	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	rc = cg_read_path(path, buf, len);
	if (rc < 0)
		return cg_fail(err, errlen, rc, "read: %s", path);
	return rc;
}

int cgroup_set_cpus(const struct cgroup *cg, const char *cpus, char *err, size_t errlen)
{
	return cg_set_list(cg, "set_cpus", "cpuset.cpus", cpus, CPUS_ONLINE, "CPU",
			   "online", err, errlen);
}

int cgroup_set_mems(const struct cgroup *cg, const char *mems, char *err, size_t errlen)
{
	return cg_set_list(cg, "set_mems", "cpuset.mems", mems, NODES_MEMORY, "node",
			   "online with memory", err, errlen);
}

int cgroup_attach(const struct cgroup *cg, pid_t pid, char *err, size_t errlen)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", (int)pid);
	return cg_write_op(cg, "attach", "cgroup.procs", buf, err, errlen);
}

/*
 * Waits until cgroup.events says "key want", or the deadline passes.
 * kernfs wakes POLLPRI pollers when the file changed since their last read;
 * the poll is capped so a missed notification costs at most 20 ms.
 */
static int cg_wait_event(const char *dir, const char *key, long want,
			 long long end, long *got)
{
	char path[PATH_MAX];
	struct pollfd pfd;
	int rc, left;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	pfd.fd = open(path, O_RDONLY | O_CLOEXEC);
	pfd.events = POLLPRI;
	if (pfd.fd < 0)
		return -errno;
	for (;;) {
		rc = cg_keyed(pfd.fd, key, got);
		if (rc || *got == want)
			break;
		left = (int)(end - clock_now_ms());
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		poll(&pfd, 1, left < 20 ? left : 20);
	}
	close(pfd.fd);
	return rc;
}

int cgroup_freeze(const struct cgroup *cg, int frozen, int timeout_ms,
		  char *err, size_t errlen)
{
	const char *op = frozen ? "freeze" : "unfreeze";
	char path[PATH_MAX];
	long got = -1;
	int rc;

	rc = cg_write_op(cg, op, "cgroup.freeze", frozen ? "1" : "0", err, errlen);
	if (rc)
		return rc;
	rc = cg_wait_event(cg->path, "frozen", !!frozen,
			   clock_now_ms() + timeout_ms, &got);
	snprintf(path, sizeof(path), "%s/cgroup.events", cg->path);
	if (rc == -ETIMEDOUT)
		return cg_fail_why(err, errlen, rc,
				   "%s: %s: still \"frozen %ld\" after %d ms",
				   op, path, got, timeout_ms);
	if (rc)
		return cg_fail(err, errlen, rc, "%s: %s", op, path);
	return 0;
}

/* ---- pid lists ---- */

struct cg_pids {
	pid_t *v;
	size_t n, cap;
};

static int cg_pids_add(struct cg_pids *ps, pid_t pid)
{
	pid_t *nv;

	if (ps->n == ps->cap) {
		nv = realloc(ps->v, (ps->cap ? ps->cap * 2 : 32) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		ps->v = nv;
		ps->cap = ps->cap ? ps->cap * 2 : 32;
	}
	ps->v[ps->n++] = pid;
	return 0;
}

/*
 * Appends the members of dir/cgroup.procs; of a threaded cgroup, whose
 * cgroup.procs is not readable, its threads (writing one to cgroup.procs,
 * or killing it, takes its whole process).
 */
static int cg_pids_read(const char *dir, struct cg_pids *ps)
{
	char path[PATH_MAX], *buf = NULL, *p, *e;
	long v;
	int rc;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	rc = cg_slurp(path, &buf);
	if (rc == -EOPNOTSUPP) {
		snprintf(path, sizeof(path), "%s/cgroup.threads", dir);
		rc = cg_slurp(path, &buf);
	}
	if (rc)
		return rc;
	for (p = buf; *p; p = e) {
		v = strtol(p, &e, 10);
		if (e == p)
			break;
		if (v > 0 && (rc = cg_pids_add(ps, (pid_t)v)))
			break;
	}
	free(buf);
	return rc;
}

/* fn(sub, arg) for each child cgroup of dir until one fails: 0 (dir gone too), its rc, -errno. */
static int cg_each_child(const char *dir, int (*fn)(const char *sub, void *arg), void *arg)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		rc = fn(sub, arg);
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

/* Members of dir and every cgroup below it; a cgroup gone meanwhile is empty. */
static int cg_pids_tree(const char *dir, void *ps)
{
	int rc = cg_pids_read(dir, ps);

	if (rc)
		return rc == -ENOENT ? 0 : rc;
	return cg_each_child(dir, cg_pids_tree, ps);
}

int cgroup_procs(const struct cgroup *cg, pid_t *pids, size_t n,
		 char *err, size_t errlen)
{
	struct cg_pids ps = { 0 };
	size_t i;
	int rc;

	rc = cg_pids_read(cg->path, &ps);
	if (rc) {
		free(ps.v);
		return cg_fail(err, errlen, rc, "procs: %s/cgroup.procs", cg->path);
	}
	for (i = 0; i < ps.n && i < n; i++)
		pids[i] = ps.v[i];
	rc = (int)ps.n;
	free(ps.v);
	return rc;
}

/* ---- removal ---- */

/* Without cgroup.kill (before 5.14): SIGKILL whoever is inside now. */
static void cg_kill_tree(const char *dir)
{
	struct cg_pids now = { 0 };
	size_t i;

	cg_pids_tree(dir, &now);
	for (i = 0; i < now.n; i++)
		kill(now.v[i], SIGKILL);
	free(now.v);
}

struct cg_rmdir {
	char *bad;
	size_t badlen;
};

/* rmdir depth-first; on failure copies the directory that stayed to r->bad. */
static int cg_rmdir_walk(const char *dir, void *arg)
{
	struct cg_rmdir *r = arg;
	int rc = cg_each_child(dir, cg_rmdir_walk, r);

	if (!rc && rmdir(dir) < 0 && errno != ENOENT)
		rc = -errno;
	if (rc && !*r->bad)
		snprintf(r->bad, r->badlen, "%s", dir);
	return rc;
}

static int cg_rmdir_tree(const char *dir, char *bad, size_t badlen)
{
	struct cg_rmdir r = { bad, badlen };

	return cg_rmdir_walk(dir, &r);
}

/* "remove: <path>: Device or resource busy: pids still inside: 12 34" */
static int cg_fail_busy(const struct cgroup *cg, int timeout_ms, char *err, size_t errlen)
{
	struct cg_pids ps = { 0 };
	char list[256] = "";
	size_t i, off = 0;

	cg_pids_tree(cg->path, &ps);
	for (i = 0; i < ps.n && off < sizeof(list) - 16; i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%d",
				i ? " " : "", (int)ps.v[i]);
	if (i < ps.n)
		snprintf(list + off, sizeof(list) - off, " ...");
	free(ps.v);
	return cg_fail_why(err, errlen, -EBUSY,
			   "remove: %s: %s: pids still inside after %d ms: %s",
			   cg->path, strerror(EBUSY), timeout_ms,
			   *list ? list : "(none)");
}

int cgroup_remove(const struct cgroup *cg, int timeout_ms, char *err, size_t errlen)
{
	long long end = clock_now_ms() + timeout_ms;
	char path[PATH_MAX], bad[PATH_MAX] = "";
	long populated = 1;
	struct stat st;
	int rc, has_kill;

	if (stat(cg->path, &st) < 0)
		return cg_fail(err, errlen, -errno, "remove: %s", cg->path);
	/*
	 * The dead are not reaped here: their parents (worker sets, procs)
	 * reap them and keep their exit status; a zombie has already left
	 * the cgroup, so it does not keep it populated.
	 */
	snprintf(path, sizeof(path), "%s/cgroup.kill", cg->path);
	has_kill = access(path, F_OK) == 0;
	if (has_kill) {
		rc = cg_write_path(path, "1");
		/* a threaded cgroup has the file but kills nothing: as before 5.14 */
		if (rc == -EOPNOTSUPP)
			rc = has_kill = 0;
		if (rc) {
			rc = cg_fail(err, errlen, rc, "remove: %s: 1", path);
			goto out;
		}
	}
	/* "populated" in cgroup.events covers the whole subtree. */
	for (;;) {
		if (!has_kill)
			cg_kill_tree(cg->path);
		rc = cg_wait_event(cg->path, "populated", 0,
				   has_kill ? end : clock_now_ms() + 10, &populated);
		if (rc == -ENOENT)
			populated = 0;	/* someone removed it meanwhile */
		else if (rc && rc != -ETIMEDOUT)
			goto fail_events;
		if (!populated)
			break;
		if (clock_now_ms() >= end) {
			rc = cg_fail_busy(cg, timeout_ms, err, errlen);
			goto out;
		}
	}
	for (;;) {
		*bad = '\0';
		rc = cg_rmdir_tree(cg->path, bad, sizeof(bad));
		if (rc != -EBUSY || clock_now_ms() >= end)
			break;
		clock_sleep(0.005, 0);
	}
	if (rc)
		rc = cg_fail(err, errlen, rc, "remove: %s", bad);
out:
	return rc;
fail_events:
	rc = cg_fail(err, errlen, rc, "remove: %s/cgroup.events", cg->path);
	goto out;
}

int cgroup_remove_all(int timeout_ms, char *err, size_t errlen)
{
	struct cgroup cg;
	struct dirent *de;
	char **names = NULL, **nn;
	size_t n = 0, i;
	int rc = 0, removed = 0;
	DIR *d;

	d = opendir(CGROUP_KTSTR);
	if (!d)
		return errno == ENOENT ? 0 : cg_fail(err, errlen, -errno,
						     "remove_all: %s", CGROUP_KTSTR);
	/* Names first: removing while reading the directory skips entries. */
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (!nn || !(nn[n] = strdup(de->d_name))) {
			names = nn ? nn : names;
			rc = cg_fail(err, errlen, -ENOMEM, "remove_all: %s", CGROUP_KTSTR);
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	for (i = 0; i < n; i++) {
		int r = cgroup_open(&cg, names[i], rc ? NULL : err, errlen);

		if (!r)
			r = cgroup_remove(&cg, timeout_ms, rc ? NULL : err, errlen);
		if (!r)
			removed++;
		else if (!rc)
			rc = r;		/* first failure reported; the rest still go */
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc ? rc : removed;
}

int cgroup_cpus_online(char *buf, size_t len, char *err, size_t errlen)
{
	int rc = cg_read_path(CPUS_ONLINE, buf, len);

	return rc < 0 ? cg_fail(err, errlen, rc, "cpus_online: %s", CPUS_ONLINE) : 0;
}
