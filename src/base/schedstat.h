/* /proc schedstat: a task's CPU time, run delay and timeslices, the one reader (guest and host). */
#ifndef KTSTR_SCHEDSTAT_H
#define KTSTR_SCHEDSTAT_H

#include <stdint.h>

/*
 * Reads /proc/<pid>/schedstat, or /proc/<pid>/task/<tid>/schedstat when tid
 * is nonzero (pid 0: the calling thread, /proc/thread-self). slices may be NULL. 0 or -errno (-ENOENT without
 * CONFIG_SCHED_INFO, -ENODATA when empty, -EINVAL when unreadable).
 */
int schedstat_read(int pid, int tid, uint64_t *cpu_ns, uint64_t *run_delay_ns,
		   uint64_t *slices);

#endif
