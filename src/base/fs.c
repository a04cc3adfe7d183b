/* Filesystem helpers: recursive removal and creation, sparse copies, without shelling out. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"

static int fs_rm_one(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int fs_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (nftw(path, fs_rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return -errno;
	return 0;
}

int fs_mkdir_p(const char *path, unsigned mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Copies [off, end) of in to the same offsets of out; copy_file_range, read/write where it cannot. */
static int fs_copy_range(int in, int out, off_t off, off_t end)
{
	char buf[1 << 16];

	while (off < end) {
		loff_t ioff = off, ooff = off;
		ssize_t n = copy_file_range(in, &ioff, out, &ooff, end - off, 0);

		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			      errno == EOPNOTSUPP)) {
			n = pread(in, buf, end - off < (off_t)sizeof(buf) ?
				  (size_t)(end - off) : sizeof(buf), off);
			if (n > 0 && pwrite(out, buf, n, off) != n)
				return errno ? -errno : -EIO;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;	/* the source shrank under us */
		off += n;
	}
	return 0;
}

/*
 * Only the data extents travel (SEEK_DATA/SEEK_HOLE): a saved guest's RAM
 * file is mostly holes, and copying them as zeros would cost the whole
 * size in time and room.
 */
static int fs_copy_fd(int in, int out, unsigned long long *copied)
{
	struct stat st;
	off_t data = 0, hole;
	int rc;

	if (fstat(in, &st) < 0 || ftruncate(out, st.st_size) < 0)
		return -errno;
	for (;;) {
		data = lseek(in, data, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		rc = fs_copy_range(in, out, data, hole);
		if (rc)
			return rc;
		*copied += hole - data;
		data = hole;
	}
}

int fs_copy_sparse(const char *src, const char *dst, unsigned mode,
		   unsigned long long *copied)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out, rc;

	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	*copied = 0;
	rc = fs_copy_fd(in, out, copied);
	if (close(out) < 0 && !rc)
		rc = -errno;
	close(in);
	if (rc)
		unlink(dst);
	return rc;
}
