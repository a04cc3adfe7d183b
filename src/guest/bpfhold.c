/*
 * The guest side of a failure dump: a scheduler's maps die with its last
 * fd, often before the host has looked. An fd of ours keeps them (and their
 * values and BTF) in the kernel until the host has read them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "bpfhold.h"

static long bpfhold_sys(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

int bpfhold_map_ids(uint32_t *ids, size_t max)
{
	union bpf_attr attr;
	size_t n = 0;

	memset(&attr, 0, sizeof(attr));
	while (n < max) {
		if (bpfhold_sys(BPF_MAP_GET_NEXT_ID, &attr))
			return errno == ENOENT ? (int)n : -errno;
		ids[n++] = attr.next_id;
		attr.start_id = attr.next_id;
	}
	return (int)n;
}

static int bpfhold_map_type(int fd, uint32_t *type)
{
	struct bpf_map_info info;
	union bpf_attr attr;

	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(uintptr_t)&info;
	if (bpfhold_sys(BPF_OBJ_GET_INFO_BY_FD, &attr))
		return -errno;
	*type = info.type;
	return 0;
}

int bpfhold_map(uint32_t id)
{
	union bpf_attr attr;
	uint32_t type = 0;
	long fd;
	int rc;

	memset(&attr, 0, sizeof(attr));
	attr.map_id = id;
	fd = bpfhold_sys(BPF_MAP_GET_FD_BY_ID, &attr);
	if (fd < 0)
		return -errno;
	/*
	 * A struct_ops map attached without a link stays registered while any
	 * fd holds it: holding one would keep a dead loader's scheduler on.
	 */
	rc = bpfhold_map_type((int)fd, &type);
	if (!rc && type == BPF_MAP_TYPE_STRUCT_OPS)
		rc = -EOPNOTSUPP;
	if (rc) {
		close((int)fd);
		return rc;
	}
	return (int)fd;
}
