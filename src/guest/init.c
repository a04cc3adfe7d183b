/* Guest init: what PID 1 sets up before the Lua agent serves the host. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"

struct init_mount {
	const char *src, *dst, *type;
	unsigned long flags;
	const char *data;
};

static const struct init_mount init_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	{ "cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "debugfs", "/sys/kernel/debug", "debugfs", 0, NULL },
	{ "bpf", "/sys/fs/bpf", "bpf", 0, NULL },
};

static int init_write(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

int init_setup(void)
{
	unsigned i;
	int rc, fd;

	for (i = 0; i < sizeof(init_mounts) / sizeof(init_mounts[0]); i++) {
		const struct init_mount *m = &init_mounts[i];

		mkdir(m->dst, 0755);
		if (mount(m->src, m->dst, m->type, m->flags, m->data) < 0 &&
		    errno != EBUSY)
			fprintf(stderr, "init: mount %s: %s\n", m->dst,
				strerror(errno));
	}
	/* The console is our stdio: the kernel starts PID 1 with it if /dev/console existed. */
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	rc = init_write("/sys/fs/cgroup/cgroup.subtree_control",
			 "+cpuset +cpu +memory +pids");
	if (rc < 0)
		fprintf(stderr, "init: cgroup.subtree_control: %s\n",
			strerror(-rc));
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
	setenv("HOME", "/tmp", 1);
	return 0;
}

void init_poweroff(int status)
{
	(void)status;
	sync();
	reboot(RB_POWER_OFF);
	/* reboot() returning means we are not allowed to: nothing left to do */
	for (;;)
		pause();
}
