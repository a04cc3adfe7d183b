/* Block IO work types on the scratch disk: io_sync_write, io_rand_read, io_convoy. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "work_loop.h"

#define IO_BLOCK	4096
#define IO_BATCH	16	/* io_sync_write: blocks per batch, one unit */
#define IO_CONVOY_SYNC	16	/* io_convoy: write/read pairs per fdatasync */

/* The open disk and what the loops need of it. */
struct io_disk {
	int fd;
	uint64_t blocks;	/* IO_BLOCK blocks on it */
	void *buf;		/* one block, aligned for O_DIRECT */
};

/*
 * Opens the scratch disk (disk_path: the guest's virtio-blk disk, or the
 * file a host spec named) with flags; the error names the type and says
 * what is missing.
 */
static int io_open(struct work_ctx *c, const char *type, int flags,
		   struct io_disk *d)
{
	char path[PATH_MAX];
	uint64_t size = 0;
	int rc;

	d->fd = -1;
	d->buf = NULL;
	rc = disk_path(path, sizeof(path));
	if (rc) {
		snprintf(c->t->error_msg, sizeof(c->t->error_msg),
			 "%s: no scratch disk in this guest (a test gets one when it uses an IO work type or says disk = \"256M\")",
			 type);
		return rc;
	}
	d->fd = open(path, flags | O_CLOEXEC);
	if (d->fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = disk_size(d->fd, &size);
	if (rc)
		goto fail;
	d->blocks = size / IO_BLOCK;
	if (d->blocks < IO_BATCH) {
		rc = -ENOSPC;
		goto fail;
	}
	if (posix_memalign(&d->buf, IO_BLOCK, IO_BLOCK)) {
		rc = -ENOMEM;
		goto fail;
	}
	memset(d->buf, 0xa5, IO_BLOCK);
	return 0;
fail:
	snprintf(c->t->error_msg, sizeof(c->t->error_msg), "%s: %.128s: %s", type,
		 path, strerror(-rc));
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	return rc;
}

static void io_close(struct io_disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->buf);
}

/* A failed or short IO: the message names the type, the call and the offset. */
static int io_fail(struct work_ctx *c, const char *type, const char *call,
		   ssize_t n, off_t off)
{
	int rc = n < 0 ? -errno : -EIO;

	snprintf(c->t->error_msg, sizeof(c->t->error_msg),
		 "%s: %s at %lld: %s", type, call, (long long)off,
		 n < 0 ? strerror(-rc) : "short transfer");
	return rc;
}

/* One block's offset, uniform over the disk. */
static off_t io_rand_block(struct io_disk *d, uint64_t *seed)
{
	return (off_t)(work_rand(seed) % d->blocks) * IO_BLOCK;
}

/*
 * io_sync_write: 16 x 4 KiB pwrite with O_SYNC (each one written through
 * and flushed) to a 64 KiB stripe of the disk picked by the worker's pid,
 * so workers of different cgroups seldom share one, then fdatasync.
 */
static int io_sync_write_run(struct work_ctx *c, const struct work_spec *s)
{
	struct io_disk d;
	off_t base;
	ssize_t n;
	int i, rc;

	(void)s;
	rc = io_open(c, "io_sync_write", O_WRONLY | O_SYNC, &d);
	if (rc)
		return rc;
	base = (off_t)((uint64_t)getpid() % (d.blocks / IO_BATCH)) * IO_BATCH * IO_BLOCK;
	while (!work_stopped(c)) {
		for (i = 0; i < IO_BATCH; i++) {
			n = pwrite(d.fd, d.buf, IO_BLOCK, base + (off_t)i * IO_BLOCK);
			if (n != IO_BLOCK) {
				rc = io_fail(c, "io_sync_write", "pwrite", n,
					     base + (off_t)i * IO_BLOCK);
				goto out;
			}
		}
		if (fdatasync(d.fd) < 0) {
			rc = io_fail(c, "io_sync_write", "fdatasync", -1, base);
			goto out;
		}
		telem_checkpoint(c->t, 1);
	}
out:
	io_close(&d);
	return rc;
}

const struct work_type work_io_sync_write = {
	.name = "io_sync_write",
	.unit = "16 x 4 KiB O_SYNC writes + fdatasync",
	.run = io_sync_write_run,
};

/* io_rand_read: one 4 KiB O_DIRECT pread at a random block, a unit each. */
static int io_rand_read_run(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t seed = work_seed(c);
	struct io_disk d;
	off_t off;
	ssize_t n;
	int rc;

	(void)s;
	rc = io_open(c, "io_rand_read", O_RDONLY | O_DIRECT, &d);
	if (rc)
		return rc;
	while (!work_stopped(c)) {
		off = io_rand_block(&d, &seed);
		n = pread(d.fd, d.buf, IO_BLOCK, off);
		if (n != IO_BLOCK) {
			rc = io_fail(c, "io_rand_read", "pread", n, off);
			break;
		}
		telem_checkpoint(c->t, 1);
	}
	io_close(&d);
	return rc;
}

const struct work_type work_io_rand_read = {
	.name = "io_rand_read",
	.unit = "one 4 KiB O_DIRECT read at a random offset",
	.run = io_rand_read_run,
};

/*
 * io_convoy: a sequential 4 KiB O_DIRECT pwrite (from a random start,
 * wrapping at the end of the disk), then a random 4 KiB O_DIRECT pread;
 * every 16 pairs an fdatasync, whose cache flush the reads queue behind.
 */
static int io_convoy_run(struct work_ctx *c, const struct work_spec *s)
{
	uint64_t seed = work_seed(c), next, i = 0;
	struct io_disk d;
	off_t off;
	ssize_t n;
	int rc;

	(void)s;
	rc = io_open(c, "io_convoy", O_RDWR | O_DIRECT, &d);
	if (rc)
		return rc;
	next = work_rand(&seed) % d.blocks;
	while (!work_stopped(c)) {
		off = (off_t)next * IO_BLOCK;
		n = pwrite(d.fd, d.buf, IO_BLOCK, off);
		if (n != IO_BLOCK) {
			rc = io_fail(c, "io_convoy", "pwrite", n, off);
			break;
		}
		next = next + 1 == d.blocks ? 0 : next + 1;
		off = io_rand_block(&d, &seed);
		n = pread(d.fd, d.buf, IO_BLOCK, off);
		if (n != IO_BLOCK) {
			rc = io_fail(c, "io_convoy", "pread", n, off);
			break;
		}
		if (++i % IO_CONVOY_SYNC == 0 && fdatasync(d.fd) < 0) {
			rc = io_fail(c, "io_convoy", "fdatasync", -1, 0);
			break;
		}
		telem_checkpoint(c->t, 1);
	}
	io_close(&d);
	return rc;
}

const struct work_type work_io_convoy = {
	.name = "io_convoy",
	.unit = "a sequential 4 KiB O_DIRECT write + a random 4 KiB O_DIRECT read",
	.run = io_convoy_run,
};
