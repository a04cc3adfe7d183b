/* The scratch disk in the guest: its driver module, finding it by serial, its size. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "disk.h"

static char disk_override[PATH_MAX];

int disk_module_load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, "", 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* The first line of a small sysfs file, newline removed; 0 or -errno. */
static int disk_read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int disk_find(char *name, size_t len)
{
	char path[PATH_MAX], serial[64];
	struct dirent *d;
	DIR *dir = opendir("/sys/block");
	int rc = -ENODEV;

	if (!dir)
		return -ENODEV;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/serial", d->d_name);
		if (disk_read_line(path, serial, sizeof(serial)) ||
		    strcmp(serial, DISK_SERIAL))
			continue;
		if (strlen(d->d_name) >= len) {
			rc = -ENAMETOOLONG;
			break;
		}
		snprintf(name, len, "%s", d->d_name);
		rc = 0;
		break;
	}
	closedir(dir);
	return rc;
}

int disk_path(char *path, size_t len)
{
	char name[NAME_MAX + 1];
	int rc;

	if (disk_override[0]) {
		if (strlen(disk_override) >= len)
			return -ENAMETOOLONG;
		snprintf(path, len, "%s", disk_override);
		return 0;
	}
	rc = disk_find(name, sizeof(name));
	if (rc)
		return rc;
	if (strlen(name) + sizeof("/dev/") > len)
		return -ENAMETOOLONG;
	snprintf(path, len, "/dev/%s", name);
	return 0;
}

int disk_set_path(const char *path)
{
	if (!path) {
		disk_override[0] = '\0';
		return 0;
	}
	if (strlen(path) >= sizeof(disk_override))
		return -ENAMETOOLONG;
	snprintf(disk_override, sizeof(disk_override), "%s", path);
	return 0;
}

int disk_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
	if (!S_ISREG(st.st_mode))
		return -ENOTBLK;
	*size = (uint64_t)st.st_size;
	return 0;
}
