/* /proc schedstat: the one reader; open/read, no stdio (workers call it mid-run). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "schedstat.h"

int schedstat_read(int pid, int tid, uint64_t *cpu_ns, uint64_t *run_delay_ns,
		   uint64_t *slices)
{
	char path[64], buf[128];
	unsigned long long a, b, c;
	ssize_t n;
	int fd;

	if (!pid)	/* the calling thread's, which is the process's when it has one */
		snprintf(path, sizeof(path), "/proc/thread-self/schedstat");
	else if (!tid)
		snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	else
		snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENODATA;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu %llu", &a, &b, &c) != 3)
		return -EINVAL;
	*cpu_ns = a;
	*run_delay_ns = b;
	if (slices)
		*slices = c;
	return 0;
}

