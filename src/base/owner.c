/* Owner locks: a directory's .owner file (or a temporary file itself) stays flock'ed while its maker lives. */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "owner.h"

int owner_lock_fd(int fd)
{
	/*
	 * flock, not fcntl: an fcntl lock belongs to the process and goes
	 * away when it closes any descriptor of the file, e.g. while judging
	 * its own run dir; an flock belongs to this open file.
	 */
	while (flock(fd, LOCK_EX | LOCK_NB) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int owner_claim(const char *dir, int keep, int *fd)
{
	char tmp[PATH_MAX], path[PATH_MAX], line[32];
	int f, rc, n;

	if (snprintf(tmp, sizeof(tmp), "%s/%s.XXXXXX", dir, OWNER_FILE) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, OWNER_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	f = mkostemp(tmp, O_CLOEXEC);
	if (f < 0)
		return -errno;
	rc = owner_lock_fd(f);
	if (rc)
		goto fail;
	n = snprintf(line, sizeof(line), "%ld%s\n", (long)getpid(), keep ? " keep" : "");
	if (write(f, line, n) != n) {
		rc = errno ? -errno : -EIO;
		goto fail;
	}
	/* the name appears with the lock already held: no one can judge it dead */
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto fail;
	}
	*fd = f;
	return 0;
fail:
	unlink(tmp);
	close(f);
	return rc;
}

/* The pid and keep mark an owner file names. */
static void owner_read(int fd, pid_t *pid, int *keep)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;

	*pid = 0;
	*keep = 0;
	if (n <= 0)
		return;
	buf[n] = '\0';
	*pid = (pid_t)strtol(buf, &end, 10);
	*keep = strncmp(end, " keep", 5) == 0;
}

int owner_state(const char *path, pid_t *pid)
{
	char file[PATH_MAX];
	struct stat st;
	int fd, keep = 0, state;

	*pid = 0;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? OWNER_NONE : -errno;
	if (S_ISDIR(st.st_mode)) {
		if (snprintf(file, sizeof(file), "%s/%s", path, OWNER_FILE) >= (int)sizeof(file))
			return -ENAMETOOLONG;
	} else if (S_ISREG(st.st_mode)) {
		snprintf(file, sizeof(file), "%s", path);
	} else {
		return OWNER_NONE;
	}
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? OWNER_NONE : -errno;
	if (S_ISDIR(st.st_mode))
		owner_read(fd, pid, &keep);
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		state = errno == EWOULDBLOCK ? OWNER_LIVE : -errno;
	else
		state = keep ? OWNER_KEPT : OWNER_DEAD;
	close(fd);	/* drops a lock we took */
	return state;
}

/* 1 when dir has no entry but . and .. */
static int owner_dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while (empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

int owner_reclaim(const char *pattern, int min_age_s,
		  void (*on_gone)(const char *path, pid_t pid, void *arg), void *arg)
{
	time_t now = time(NULL);
	struct stat st;
	int n = 0, state, old;
	size_t i;
	glob_t g;
	pid_t pid;

	switch (glob(pattern, GLOB_NOSORT, NULL, &g)) {
	case 0:
		break;
	case GLOB_NOMATCH:
		return 0;
	case GLOB_NOSPACE:
		return -ENOMEM;
	default:
		return -EIO;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];

		if (lstat(path, &st) < 0)
			continue;
		old = now - st.st_mtime >= min_age_s;
		state = owner_state(path, &pid);
		if (S_ISDIR(st.st_mode) && state == OWNER_DEAD) {
			if (fs_rm_rf(path) < 0)
				continue;
		} else if (S_ISDIR(st.st_mode) && state == OWNER_NONE && old &&
			   owner_dir_empty(path)) {
			if (rmdir(path) < 0)
				continue;
		} else if (S_ISREG(st.st_mode) && state == OWNER_DEAD && old) {
			if (unlink(path) < 0)
				continue;
		} else {
			continue;
		}
		n++;
		if (on_gone)
			on_gone(path, pid, arg);
	}
	globfree(&g);
	return n;
}
