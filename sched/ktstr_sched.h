/* ktstr_sched.h: what the fixture scheduler's BPF side and its loader share. */
#ifndef KTSTR_SCHED_H
#define KTSTR_SCHED_H

/*
 * Both sides see the same layout: the BPF side through vmlinux.h's __u64,
 * the loader through <linux/types.h>. The loader finds each variable by name
 * in the object's BTF (no skeleton: bpftool 7.5 skeletons need libbpf 1.5).
 */

#define KTSTR_CG_NAME_LEN	64
#define KTSTR_REASON_LEN	128
#define KTSTR_MSG_LEN		1024

#define KTSTR_WATCHDOG_MS_DFL	5000
#define KTSTR_WATCHDOG_MS_MAX	30000	/* SCX_WATCHDOG_MAX_TIMEOUT */

/* Knobs, in .rodata, set by the loader before load. Zero or "" means off. */
struct ktstr_knobs {
	__u64 stall_after_ns;	/* --stall-after: stop dispatching */
	__u64 crash_after_ns;	/* --crash-after: scx_bpf_error() */
	__u64 starve_hold_ns;	/* --starve: how long a victim waits */
	__u32 crash_after_ms;	/* the same, for the message */
	__u32 degrade_ppm;	/* --degrade: share of each period refused */
	__u32 unfair_factor;	/* --unfair-factor: slice and weight multiplier */
	__u32 degrade_period_ms;	/* --degrade-period-ms: length of a period */
	char starve_cgroup[KTSTR_CG_NAME_LEN];	/* --starve: cgroup leaf name */
	char unfair_cgroup[KTSTR_CG_NAME_LEN];	/* --unfair: cgroup leaf name */
};

/* Counters, in .bss, bumped by the BPF side; the loader prints them at exit. */
struct ktstr_stats {
	__u64 enqueued;		/* ops.enqueue() calls */
	__u64 direct;		/* tasks put straight on a local DSQ */
	__u64 dispatched;	/* tasks moved from the shared DSQ */
	__u64 stalled;		/* dispatches refused by --stall-after */
	__u64 skipped;		/* dispatches refused by --degrade */
	__u64 starved;		/* victim enqueues held back by --starve */
	__u64 victim_dispatched;	/* victims let through after the hold */
	__u64 unfair;		/* enqueues of --unfair tasks */
	__u64 kicks;		/* idle-CPU kicks from the timer */
	__u64 timer_runs;	/* timer callbacks */
};

/* What ops.exit() saw, in .bss. kind != 0 once the scheduler has exited. */
struct ktstr_exit {
	__s32 kind;		/* enum scx_exit_kind */
	__s32 exit_cpu;
	__s64 exit_code;
	char reason[KTSTR_REASON_LEN];
	char msg[KTSTR_MSG_LEN];
};

#ifdef __bpf__
/*
 * What every fixture's ops.exit() does: copy the exit info into uei, kind
 * published last with a barrier (the loader polls kind).
 */
static __always_inline void ktstr_exit_record(struct ktstr_exit *uei,
					      const struct scx_exit_info *ei)
{
	bpf_probe_read_kernel_str(uei->reason, sizeof(uei->reason), ei->reason);
	bpf_probe_read_kernel_str(uei->msg, sizeof(uei->msg), ei->msg);
	uei->exit_code = ei->exit_code;
	uei->exit_cpu = ei->exit_cpu;
	__sync_val_compare_and_swap(&uei->kind, uei->kind, ei->kind);
}
#endif

#endif /* KTSTR_SCHED_H */
