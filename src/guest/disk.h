/* The scratch disk in the guest: its driver module, finding it by serial, its size. */
#ifndef KTSTR_DISK_H
#define KTSTR_DISK_H

#include <stddef.h>
#include <stdint.h>

/*
 * The serial the host gives the scratch disk (vmm/qemu.c's
 * QEMU_DISK_SERIAL): only a block device carrying it is ever written, so a
 * host's own /dev/vda is never mistaken for one.
 */
#define DISK_SERIAL	"ktstr-scratch"

/* Loads the kernel module at path (finit_module, no parameters); 0, -EEXIST or -errno. */
int disk_module_load(const char *path);
/*
 * The block device under /sys/block whose serial is DISK_SERIAL, its name
 * ("vda") into name; 0, or -ENODEV when there is none.
 */
int disk_find(char *name, size_t len);
/*
 * Where the IO work types do their IO: the path disk_set_path gave, else
 * /dev/<the disk disk_find finds>; -ENODEV when neither.
 */
int disk_path(char *path, size_t len);
/*
 * Sets the path disk_path returns (a block device or a regular file: the
 * host's specs run the IO types on a file); NULL goes back to disk_find.
 * Workers forked after the call inherit it. 0 or -ENAMETOOLONG.
 */
int disk_set_path(const char *path);
/* The size in bytes of the open block device or regular file fd; 0 or -errno. */
int disk_size(int fd, uint64_t *size);

#endif
