/* File helpers for the image builder: concatenation and listing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <string.h>
#include <unistd.h>

#include "files.h"

/* Copies in to out from their file positions; *in_fault tells whose error it was. */
static int files_copy(int in, int out, int *in_fault)
{
	char buf[1 << 16];
	int cfr = 1;
	ssize_t n, w, done;

	for (;;) {
		if (cfr) {
			n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
			if (n >= 0) {
				if (n == 0)
					return 0;
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
			    errno != EOPNOTSUPP && errno != EBADF)
				return -errno;
			/* positions moved with what was copied: read on from there */
			cfr = 0;
		}
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*in_fault = n < 0;
			return n ? -errno : 0;
		}
		for (done = 0; done < n; done += w) {
			w = write(out, buf + done, n - done);
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0)
				return -errno;
		}
	}
}

int files_concat(const char *out, const char *const *ins, size_t n, size_t *bad)
{
	int ofd, ifd, in_fault = 0, rc = 0;
	size_t i;

	*bad = n;
	ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (ofd < 0)
		return -errno;
	for (i = 0; i < n && !rc; i++) {
		ifd = open(ins[i], O_RDONLY | O_CLOEXEC);
		if (ifd < 0) {
			rc = -errno;
			in_fault = 1;
		} else {
			rc = files_copy(ifd, ofd, &in_fault);
			close(ifd);
		}
		if (rc && in_fault)
			*bad = i;
	}
	if (close(ofd) < 0 && !rc)
		rc = -errno;
	if (rc)
		unlink(out);
	return rc;
}

static int files_cmp(const FTSENT **a, const FTSENT **b)
{
	return strcmp((*a)->fts_name, (*b)->fts_name);
}

int files_list(const char *dir, const char *suffix, struct strlist *out)
{
	char *const roots[] = { (char *)dir, NULL };
	size_t slen = suffix ? strlen(suffix) : 0, rlen = strlen(dir);
	FTSENT *e;
	FTS *fts;
	int rc = 0;

	while (rlen > 1 && dir[rlen - 1] == '/')
		rlen--;
	fts = fts_open(roots, FTS_LOGICAL | FTS_NOCHDIR, files_cmp);
	if (!fts)
		return -errno;
	errno = 0;
	while (!rc && (e = fts_read(fts))) {
		if (e->fts_info == FTS_DNR || e->fts_info == FTS_ERR ||
		    e->fts_info == FTS_NS)
			rc = -e->fts_errno;
		else if (e->fts_info == FTS_F && e->fts_level > 0 &&
			 e->fts_namelen >= slen &&
			 !strcmp(e->fts_name + e->fts_namelen - slen, suffix ? suffix : ""))
			rc = strlist_push(out, e->fts_path + rlen + (dir[rlen - 1] != '/'));
	}
	if (!rc && errno)
		rc = -errno;
	fts_close(fts);
	return rc;
}
