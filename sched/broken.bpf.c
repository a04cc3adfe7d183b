/* broken.bpf.c: a scheduler the verifier must reject, for ktstr's "verifier rejects" test. */
/*
 * A global FIFO (every task goes to SCX_DSQ_GLOBAL, which the kernel drains
 * by itself) that also counts enqueues in per-task-hash buckets: an array map
 * whose value holds 4 counters, indexed by the low byte of the pid with no
 * bounds check. That is an out-of-bounds map value access the verifier must
 * refuse ("max value is outside of the allowed memory range"), so loading
 * fails before anything is attached. It shares ktstr_sched.h and the loader
 * with ktstr-sched, so the loader's failure path (libbpf's verifier log tail,
 * non-zero exit) is what a test sees.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ktstr_sched.h"

char _license[] SEC("license") = "GPL";

#define NR_BUCKETS	4

const volatile struct ktstr_knobs knobs;
struct ktstr_stats stats;
struct ktstr_exit uei;

struct buckets {
	u64 n[NR_BUCKETS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct buckets);
} counts SEC(".maps");

SEC("struct_ops/broken_enqueue")
void BPF_PROG(broken_enqueue, struct task_struct *p, u64 enq_flags)
{
	u32 key = 0;
	struct buckets *b = bpf_map_lookup_elem(&counts, &key);

	if (b)
		b->n[p->pid & 0xff]++;	/* the bug: should be & (NR_BUCKETS - 1) */
	__sync_fetch_and_add(&stats.enqueued, 1);
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SEC("struct_ops/broken_exit")
void BPF_PROG(broken_exit, struct scx_exit_info *ei)
{
	ktstr_exit_record(&uei, ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops ktstr_broken_ops = {
	.enqueue	= (void *)broken_enqueue,
	.exit		= (void *)broken_exit,
	.timeout_ms	= KTSTR_WATCHDOG_MS_DFL,
	.name		= "ktstr_broken",
};
