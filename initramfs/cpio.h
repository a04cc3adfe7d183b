/* cpio "newc" (070701) archive writer: the format the kernel unpacks as initramfs. */
#ifndef KTSTR_CPIO_H
#define KTSTR_CPIO_H

#include <stddef.h>

struct cpio_writer;

/*
 * Entries are stored without a leading "/", owned by uid/gid 0 with mtime 0,
 * so that equal inputs give byte-equal archives. Missing parent directories
 * are emitted (mode 0755) before an entry; a directory is emitted once, and
 * adding one that exists already is a no-op. Other duplicates are written
 * as given: the kernel lets the later entry win, which is what appending
 * a second archive relies on. A mode of 0 means the default: the source's
 * permission bits for files, 0644 for data, 0755 for directories.
 *
 * Every call returns 0 or -errno. Once a write to the archive failed, or
 * an entry was cut short after its header, the writer returns that error
 * from then on.
 */
int cpio_open(struct cpio_writer **out, int fd);
int cpio_add_dir(struct cpio_writer *w, const char *path, unsigned mode);
/* Copies src's contents, following symlinks. */
int cpio_add_file(struct cpio_writer *w, const char *path, const char *src,
		  unsigned mode);
int cpio_add_data(struct cpio_writer *w, const char *path, const void *data,
		  size_t len, unsigned mode);
int cpio_add_symlink(struct cpio_writer *w, const char *path,
		     const char *target);
/* Writes the trailer, pads to 512 bytes and frees w (always); the fd stays open. */
int cpio_finish(struct cpio_writer *w);

enum cpio_type { CPIO_DIR, CPIO_FILE, CPIO_DATA, CPIO_SYMLINK };

struct cpio_entry {
	enum cpio_type type;
	const char *path;
	const char *src;	/* CPIO_FILE: the source; CPIO_SYMLINK: the target */
	const void *data;	/* CPIO_DATA */
	size_t len;
	unsigned mode;
};

/*
 * Writes ents to the file out, all or nothing: through a temporary file in
 * the same directory, renamed over out on success. On failure *bad is the
 * index of the entry whose source failed, or n when the archive did.
 */
int cpio_write(const char *out, const struct cpio_entry *ents, size_t n,
	       size_t *bad);

#endif
