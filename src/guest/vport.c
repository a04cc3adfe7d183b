/* The guest's end of the channel: a virtio-serial port found by its name. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vport.h"

static int vport_find(const char *name, char *dev, size_t len)
{
	const char *base = "/sys/class/virtio-ports";
	DIR *d = opendir(base);
	struct dirent *e;
	char path[512], buf[128];
	int rc = -ENOENT;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/name", base, e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = '\0';
			if (strcmp(buf, name) == 0) {
				snprintf(dev, len, "/dev/%s", e->d_name);
				rc = 0;
			}
		}
		fclose(f);
		if (!rc)
			break;
	}
	closedir(d);
	return rc;
}

int vport_open(struct chan_port *p, const char *name)
{
	char dev[300];
	int rc;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	snprintf(p->name, sizeof(p->name), "%s", name);
	rc = vport_find(name, dev, sizeof(dev));
	if (rc)
		return rc;
	p->fd = open(dev, O_RDWR | O_CLOEXEC);
	return p->fd < 0 ? -errno : 0;
}
