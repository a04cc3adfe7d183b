/* The host monitor's sampler: per-CPU scheduler state read out of guest RAM. */
#ifndef KTSTR_MONITOR_H
#define KTSTR_MONITOR_H

#include <stdint.h>
#include <sys/types.h>

#include "kmem.h"

#define MON_MAX_EVENTS	32
#define MON_NO_FIELD	UINT32_MAX

/* Where things are: symbol addresses and struct offsets, both from the guest kernel. */
struct mon_layout {
	uint64_t runqueues;	/* per-CPU symbol */
	uint64_t scx_root;	/* the struct scx_sched * variable; 0 if absent */
	uint32_t rq_nr_running, rq_clock;
	uint32_t rq_scx_nr_running, rq_scx_flags, rq_scx_dsq_nr;
	uint32_t sch_pcpu, sch_exit_kind;	/* in struct scx_sched */
	uint32_t sch_exit_info, ei_kind;	/* the exit record outlives exit_kind's reset */
	uint32_t pcpu_events;			/* event_stats in struct scx_sched_pcpu */
	/* the guest's own schedstat; MON_NO_FIELD where the kernel lacks one */
	uint32_t rq_nr_switches, rq_run_delay, rq_pcount, rq_ttwu_count, rq_sched_goidle;
	int nr_events;
	uint32_t ev_off[MON_MAX_EVENTS];	/* within struct scx_event_stats */
};

struct mon_cpu {
	uint32_t nr_running, scx_nr_running, scx_flags, dsq_depth;
	uint64_t clock;
	uint64_t nr_switches, run_delay, pcount;
	uint32_t ttwu_count, sched_goidle;
	int64_t ev[MON_MAX_EVENTS];
	int fault;		/* the rq could not be read: -errno */
};

struct mon_sample {
	int nr_cpus;
	int have_sched;		/* scx_root was set: the event counters are valid */
	int exit_kind;		/* scx_root->exit_kind; 0 while running */
	int exit_info_kind;	/* scx_root->exit_info->kind: why it is exiting or exited */
	struct mon_cpu cpu[KMEM_MAX_CPUS];
};

/* One sample of every CPU; 0, or -errno when nothing at all could be read. */
int mon_sample(const struct kmem *k, const struct mon_layout *l, struct mon_sample *s);

#endif
