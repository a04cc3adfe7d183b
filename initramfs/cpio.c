/* cpio "newc" writer: headers, padding, parent directories, file copies. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/base/owner.h"
#include "cpio.h"

#define CPIO_HDR_LEN	110
#define CPIO_BUF_LEN	(1 << 16)
/* Smaller files go through the buffer: one syscall less than a flush + copy. */
#define CPIO_CFR_MIN	(1 << 16)

struct cpio_writer {
	int fd;
	int err;		/* sticky, see cpio.h */
	int out_failed;		/* err came from the archive fd */
	int no_cfr;		/* copy_file_range failed once: read/write from then on */
	unsigned ino;
	uint64_t off;		/* archive bytes so far, for alignment */
	void *dirs;		/* tsearch tree of the directories emitted */
	size_t len;		/* bytes pending in buf */
	char buf[CPIO_BUF_LEN];
};

static int cpio_fail_out(struct cpio_writer *w, int rc)
{
	w->err = rc;
	w->out_failed = 1;
	return rc;
}

static int cpio_flush(struct cpio_writer *w)
{
	size_t done = 0;
	ssize_t n;

	while (done < w->len) {
		n = write(w->fd, w->buf + done, w->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cpio_fail_out(w, -errno);
		done += n;
	}
	w->len = 0;
	return 0;
}

static int cpio_put(struct cpio_writer *w, const void *p, size_t n)
{
	const char *s = p;
	size_t k;

	while (n) {
		if (w->len == CPIO_BUF_LEN && cpio_flush(w))
			return w->err;
		k = CPIO_BUF_LEN - w->len;
		if (k > n)
			k = n;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		w->off += k;
		s += k;
		n -= k;
	}
	return 0;
}

static int cpio_pad(struct cpio_writer *w, unsigned align)
{
	static const char zeros[512];

	return cpio_put(w, zeros, (align - w->off % align) % align);
}

/* newc: header and name padded to 4 bytes together, then the data padded to 4. */
static int cpio_header(struct cpio_writer *w, const char *name, unsigned mode,
		       uint64_t size)
{
	char hdr[CPIO_HDR_LEN + 1];
	size_t nlen = strlen(name) + 1;
	int rc;

	if (size > UINT32_MAX)
		return -EFBIG;
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 mode ? ++w->ino : 0, mode, 0, 0, S_ISDIR(mode) ? 2 : 1, 0,
		 (unsigned)size, 0, 0, 0, 0, (unsigned)nlen, 0);
	rc = cpio_put(w, hdr, CPIO_HDR_LEN);
	if (!rc)
		rc = cpio_put(w, name, nlen);
	if (!rc)
		rc = cpio_pad(w, 4);
	return rc;
}

/* Copies path without leading, trailing or doubled "/"; "." and ".." are refused. */
static int cpio_norm(char *out, const char *path)
{
	const char *p = path, *e;
	char *o = out;
	size_t n;

	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchrnul(p, '/');
		n = e - p;
		if (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.')))
			return -EINVAL;
		if ((size_t)(o - out) + n + 2 > PATH_MAX)
			return -ENAMETOOLONG;
		if (o != out)
			*o++ = '/';
		memcpy(o, p, n);
		o += n;
		p = e;
	}
	*o = '\0';
	return o == out ? -EINVAL : 0;
}

static int cpio_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int cpio_dir(struct cpio_writer *w, const char *name, unsigned mode)
{
	char *s;

	if (tfind(name, &w->dirs, cpio_cmp))
		return 0;
	s = strdup(name);
	if (!s || !tsearch(s, &w->dirs, cpio_cmp)) {
		free(s);
		return -ENOMEM;
	}
	return cpio_header(w, name, S_IFDIR | (mode & 07777), 0);
}

/* Normalizes path into name and emits its missing parents. */
static int cpio_begin(struct cpio_writer *w, char *name, const char *path)
{
	char *s;
	int rc;

	if (w->err)
		return w->err;
	rc = cpio_norm(name, path);
	for (s = strchr(name, '/'); !rc && s; s = strchr(s + 1, '/')) {
		*s = '\0';
		rc = cpio_dir(w, name, 0755);
		*s = '/';
	}
	return rc;
}

/* Copies size bytes of fd; the header promised them, so a short source breaks the archive. */
static int cpio_copy(struct cpio_writer *w, int fd, uint64_t size)
{
	uint64_t left = size;
	ssize_t n;

	if (size >= CPIO_CFR_MIN && !w->no_cfr && cpio_flush(w))
		return w->err;
	while (left && size >= CPIO_CFR_MIN && !w->no_cfr) {
		n = copy_file_range(fd, NULL, w->fd, NULL, left, 0);
		if (n > 0) {
			left -= n;
			w->off += n;
		} else if (n == 0) {
			w->err = -EIO;	/* the source shrank */
			return w->err;
		} else if (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			   errno == EOPNOTSUPP || errno == EBADF) {
			/* file positions moved with what was copied: read on from there */
			w->no_cfr = 1;
		} else if (errno != EINTR) {
			return cpio_fail_out(w, -errno);
		}
	}
	while (left) {
		if (w->len == CPIO_BUF_LEN && cpio_flush(w))
			return w->err;
		n = read(fd, w->buf + w->len,
			 left < CPIO_BUF_LEN - w->len ? left : CPIO_BUF_LEN - w->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->err = n ? -errno : -EIO;
			return w->err;
		}
		w->len += n;
		w->off += n;
		left -= n;
	}
	return 0;
}

int cpio_open(struct cpio_writer **out, int fd)
{
	struct cpio_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	*out = w;
	return 0;
}

int cpio_add_dir(struct cpio_writer *w, const char *path, unsigned mode)
{
	char name[PATH_MAX];
	int rc = cpio_begin(w, name, path);

	return rc ? rc : cpio_dir(w, name, mode ? mode : 0755);
}

int cpio_add_file(struct cpio_writer *w, const char *path, const char *src,
		  unsigned mode)
{
	char name[PATH_MAX];
	struct stat st;
	int fd, rc;

	rc = cpio_begin(w, name, path);
	if (rc)
		return rc;
	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	else
		rc = cpio_header(w, name,
				 S_IFREG | ((mode ? mode : st.st_mode) & 07777),
				 st.st_size);
	if (!rc)
		rc = cpio_copy(w, fd, st.st_size);
	if (!rc)
		rc = cpio_pad(w, 4);
	close(fd);
	return rc;
}

int cpio_add_data(struct cpio_writer *w, const char *path, const void *data,
		  size_t len, unsigned mode)
{
	char name[PATH_MAX];
	int rc;

	rc = cpio_begin(w, name, path);
	if (!rc)
		rc = cpio_header(w, name, S_IFREG | ((mode ? mode : 0644) & 07777),
				 len);
	if (!rc)
		rc = cpio_put(w, data, len);
	if (!rc)
		rc = cpio_pad(w, 4);
	return rc;
}

int cpio_add_symlink(struct cpio_writer *w, const char *path,
		     const char *target)
{
	char name[PATH_MAX];
	size_t len = strlen(target);
	int rc;

	rc = cpio_begin(w, name, path);
	if (!rc)
		rc = cpio_header(w, name, S_IFLNK | 0777, len);
	if (!rc)
		rc = cpio_put(w, target, len);
	if (!rc)
		rc = cpio_pad(w, 4);
	return rc;
}

static void cpio_free(struct cpio_writer *w)
{
	tdestroy(w->dirs, free);
	free(w);
}

int cpio_finish(struct cpio_writer *w)
{
	int rc = w->err;

	if (!rc)
		rc = cpio_header(w, "TRAILER!!!", 0, 0);
	if (!rc)
		rc = cpio_pad(w, 512);
	if (!rc)
		rc = cpio_flush(w);
	cpio_free(w);
	return rc;
}

static int cpio_add(struct cpio_writer *w, const struct cpio_entry *e)
{
	switch (e->type) {
	case CPIO_DIR:
		return cpio_add_dir(w, e->path, e->mode);
	case CPIO_FILE:
		return cpio_add_file(w, e->path, e->src, e->mode);
	case CPIO_DATA:
		return cpio_add_data(w, e->path, e->data, e->len, e->mode);
	case CPIO_SYMLINK:
		return cpio_add_symlink(w, e->path, e->src);
	}
	return -EINVAL;
}

int cpio_write(const char *out, const struct cpio_entry *ents, size_t n,
	       size_t *bad)
{
	char tmp[PATH_MAX];
	struct cpio_writer *w;
	size_t i;
	int fd, rc;

	*bad = n;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", out) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* locked while written: a killed writer's file is reclaimed, a live one's not */
	rc = owner_lock_fd(fd);
	if (!rc)
		rc = cpio_open(&w, fd);
	if (rc)
		goto out_close;
	for (i = 0; i < n; i++) {
		rc = cpio_add(w, &ents[i]);
		if (rc) {
			if (!w->out_failed)
				*bad = i;
			cpio_free(w);
			goto out_close;
		}
	}
	rc = cpio_finish(w);
	if (!rc && fchmod(fd, 0644) < 0)
		rc = -errno;
out_close:
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, out) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}
