/* ktstr_sched.bpf.c: ktstr's fixture scheduler, fair by default, with real bugs on demand. */
/*
 * By default this is a weighted vtime scheduler in the manner of scx_simple.
 * A waking task that finds an idle CPU through scx_bpf_select_cpu_dfl() goes
 * straight onto that CPU's local DSQ; every other task goes onto one shared
 * DSQ ordered by vtime, which each CPU drains from ops.dispatch(). A task's
 * vtime advances by its runtime times 100 / weight, and a task that slept is
 * brought to within one slice of the newest vtime so it cannot bank credit.
 * Affinity and cpusets are left to the kernel: scx_bpf_select_cpu_dfl() only
 * returns CPUs in p->cpus_ptr, and scx_bpf_dsq_move_to_local() skips the tasks
 * that cannot run on the CPU asking. SCX_OPS_ENQ_LAST is set, so a CPU's last
 * runnable task comes back through ops.enqueue() instead of being kept running
 * by the kernel: by default it goes back on the local DSQ, which is what the
 * kernel would have done, but the knobs below need that hook to hold it back.
 *
 * The knobs (struct ktstr_knobs, set by the loader) inject real bugs. Times
 * count from ops.init().
 *
 * - stall_after: from then on ops.dispatch() moves nothing and no task is put
 *   on a local DSQ, so every task that leaves its CPU stays queued until the
 *   kernel's watchdog ejects the scheduler after ops.timeout_ms.
 * - crash_after: the timer calls scx_bpf_error("ktstr: injected crash ...").
 * - degrade: time is cut into periods (100 ms unless --degrade-period-ms). During the first degrade_ppm
 *   millionths of each period ops.dispatch() refuses (the CPU idles with work
 *   queued), ops.tick() ends the running slice, and no task is put on a local
 *   DSQ; the timer kicks the idle CPUs once the window has passed. Throughput
 *   drops by about that share and every task sees a gap of about that length
 *   in each period.
 * - starve: tasks whose cgroup, or one of its ancestors, has that name go to
 *   a FIFO DSQ of their own. ops.dispatch() takes the oldest of them only once
 *   it has waited starve_hold_ns (the loader makes it a fifth of the watchdog
 *   timeout), for a 1 ms slice that the kernel ends at the next
 *   tick (4 ms at HZ=250). So a victim runs a few ms per hold, around 1% of
 *   a CPU (under 2% measured under TCG) even beside idle CPUs, yet often
 *   enough that the watchdog never fires: the harness's starvation check,
 *   not the kernel, has to catch it.
 * - unfair: tasks of that cgroup get unfair_factor times the slice and are
 *   charged 1 / unfair_factor of their runtime, so on contended CPUs they get
 *   about unfair_factor times as much CPU as the others.
 *
 * Cgroups are matched by name, through the task's cgroup2 kernfs node, the
 * first time a task of a given cgroup id is enqueued; a cgroup made after the
 * scheduler started is caught as well.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "ktstr_sched.h"

char _license[] SEC("license") = "GPL";

#define SHARED_DSQ		0
#define VICTIM_DSQ		1

#define NSEC_PER_MSEC		1000000ULL
#define TIMER_NS		(10 * NSEC_PER_MSEC)
#define VICTIM_SLICE_NS		(1 * NSEC_PER_MSEC)
#define CG_DEPTH		8	/* cgroup levels searched for a name */
#define MAX_CPUS		1024
#define CLOCK_MONOTONIC		1
#define ENOMEM			12
#define ENOENT			2

#define BPF_STRUCT_OPS(name, args...)					\
	SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...)				\
	SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

/* scx_bpf_error() with one integer argument. */
#define KTSTR_ERROR(fmt, arg)						\
	({								\
		static char ___fmt[] = fmt;				\
		unsigned long long ___param[1] = { (arg) };		\
		scx_bpf_error_bstr(___fmt, ___param, sizeof(___param));	\
	})

#define STAT_INC(field)	__sync_fetch_and_add(&stats.field, 1)
#define DISPATCHED()	__sync_fetch_and_add(&nr_dispatched, 1)

enum cg_flags {
	CG_VICTIM	= 1 << 0,
	CG_UNFAIR	= 1 << 1,
};

const volatile struct ktstr_knobs knobs;
struct ktstr_stats stats;
/* Every task handed to a CPU, however it got there: what snapshots read. */
u64 nr_dispatched;
struct ktstr_exit uei;

static u64 vtime_now;
static u64 start_ns;

struct task_ctx {
	u64 enq_at;	/* when a victim was last queued */
	u64 run_at;	/* when the task last started running */
	u32 cg_flags;	/* enum cg_flags when it started running */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* cgroup id -> enum cg_flags. Ids are never reused, so entries stay true. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, u32);
} cg_cache SEC(".maps");

struct ktstr_timer {
	struct bpf_timer timer;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct ktstr_timer);
} timers SEC(".maps");

static inline bool vtime_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

static bool stalled(u64 now)
{
	return knobs.stall_after_ns && now - start_ns >= knobs.stall_after_ns;
}

static u64 blackout_left(u64 now)
{
	u64 period = (u64)knobs.degrade_period_ms * NSEC_PER_MSEC;
	u64 window = period / 1000000 * knobs.degrade_ppm;
	u64 off = (now - start_ns) % period;

	return off < window ? window - off : 0;
}

static bool blacked_out(u64 now)
{
	return knobs.degrade_ppm && blackout_left(now);
}

/* True while no task may be handed to a CPU. */
static bool withholding(u64 now)
{
	return stalled(now) || blacked_out(now);
}

static struct task_ctx *task_ctx(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

/*
 * The --starve / --unfair flags of @p's cgroup2 cgroup. Read with CO-RE probe
 * reads: p->cgroups->dfl_cgrp is the cgroup the task is in whatever
 * controllers are enabled there, and its kernfs node holds the name.
 */
static u32 task_cg_flags(struct task_struct *p)
{
	struct cgroup *cgrp;
	u32 flags = 0, *cached;
	u64 cgid;
	int i;

	if (!knobs.starve_cgroup[0] && !knobs.unfair_cgroup[0])
		return 0;

	cgrp = BPF_CORE_READ(p, cgroups, dfl_cgrp);
	if (!cgrp)
		return 0;
	cgid = BPF_CORE_READ(cgrp, kn, id);
	cached = bpf_map_lookup_elem(&cg_cache, &cgid);
	if (cached)
		return *cached;

	for (i = 0; i < CG_DEPTH && cgrp; i++) {
		char name[KTSTR_CG_NAME_LEN];
		const char *np = BPF_CORE_READ(cgrp, kn, name);

		if (np && bpf_probe_read_kernel_str(name, sizeof(name), np) > 0) {
			if (knobs.starve_cgroup[0] &&
			    !bpf_strncmp(name, sizeof(name),
					 (const char *)knobs.starve_cgroup))
				flags |= CG_VICTIM;
			if (knobs.unfair_cgroup[0] &&
			    !bpf_strncmp(name, sizeof(name),
					 (const char *)knobs.unfair_cgroup))
				flags |= CG_UNFAIR;
		}
		cgrp = BPF_CORE_READ(cgrp, self.parent, cgroup);
	}

	bpf_map_update_elem(&cg_cache, &cgid, &flags, BPF_ANY);
	return flags;
}

static u64 task_slice(u32 cg_flags)
{
	if (cg_flags & CG_VICTIM)
		return VICTIM_SLICE_NS;
	if ((cg_flags & CG_UNFAIR) && knobs.unfair_factor > 1)
		return SCX_SLICE_DFL * knobs.unfair_factor;
	return SCX_SLICE_DFL;
}

/* Has the oldest victim waited its hold out? */
static bool victim_due(u64 now)
{
	struct task_struct *p;
	struct task_ctx *tctx;

	if (!knobs.starve_cgroup[0])
		return false;
	p = scx_bpf_dsq_peek(VICTIM_DSQ);
	if (!p)
		return false;
	tctx = task_ctx(p);
	return !tctx || (s64)(now - tctx->enq_at) >= (s64)knobs.starve_hold_ns;
}

s32 BPF_STRUCT_OPS(ktstr_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	bool is_idle = false;
	u32 cg_flags;
	s32 cpu;

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (!is_idle || withholding(bpf_ktime_get_ns()))
		return cpu;

	cg_flags = task_cg_flags(p);
	if (cg_flags & CG_VICTIM)
		return cpu;

	STAT_INC(direct);
	DISPATCHED();
	scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, task_slice(cg_flags), 0);
	return cpu;
}

void BPF_STRUCT_OPS(ktstr_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 now = bpf_ktime_get_ns();
	u32 cg_flags = task_cg_flags(p);
	u64 vtime = p->scx.dsq_vtime;

	STAT_INC(enqueued);

	if (cg_flags & CG_VICTIM) {
		struct task_ctx *tctx = task_ctx(p);

		if (tctx)
			tctx->enq_at = now;
		STAT_INC(starved);
		scx_bpf_dsq_insert(p, VICTIM_DSQ, VICTIM_SLICE_NS, enq_flags);
		return;
	}
	if (cg_flags & CG_UNFAIR)
		STAT_INC(unfair);

	/* Nothing else for this CPU: keep it running, unless told not to. */
	if ((enq_flags & SCX_ENQ_LAST) && !withholding(now)) {
		STAT_INC(direct);
		DISPATCHED();
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, task_slice(cg_flags),
				   enq_flags);
		return;
	}

	/* A task that slept may not bank more than one slice of credit. */
	if (vtime_before(vtime, vtime_now - SCX_SLICE_DFL))
		vtime = vtime_now - SCX_SLICE_DFL;
	scx_bpf_dsq_insert_vtime(p, SHARED_DSQ, task_slice(cg_flags), vtime,
				 enq_flags);
}

void BPF_STRUCT_OPS(ktstr_dispatch, s32 cpu, struct task_struct *prev)
{
	u64 now = bpf_ktime_get_ns();

	if (stalled(now)) {
		STAT_INC(stalled);
		return;
	}
	if (blacked_out(now)) {
		STAT_INC(skipped);
		return;
	}
	if (victim_due(now) && scx_bpf_dsq_move_to_local(VICTIM_DSQ)) {
		STAT_INC(victim_dispatched);
		DISPATCHED();
		return;
	}
	if (scx_bpf_dsq_move_to_local(SHARED_DSQ)) {
		STAT_INC(dispatched);
		DISPATCHED();
	}
}

void BPF_STRUCT_OPS(ktstr_tick, struct task_struct *p)
{
	if (blacked_out(bpf_ktime_get_ns()))
		scx_bpf_task_set_slice(p, 0);
}

void BPF_STRUCT_OPS(ktstr_running, struct task_struct *p)
{
	struct task_ctx *tctx = task_ctx(p);

	if (tctx) {
		tctx->run_at = bpf_ktime_get_ns();
		tctx->cg_flags = task_cg_flags(p);
	}

	/*
	 * The global vtime follows the tasks that start running. Racy across
	 * CPUs, as in scx_simple; an error stays small and temporary.
	 */
	if (vtime_before(vtime_now, p->scx.dsq_vtime))
		vtime_now = p->scx.dsq_vtime;
}

void BPF_STRUCT_OPS(ktstr_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = task_ctx(p);
	u64 delta;

	if (!tctx || !tctx->run_at)
		return;

	/* Charge the time actually run: slices differ between tasks here. */
	delta = (bpf_ktime_get_ns() - tctx->run_at) * 100 / p->scx.weight;
	if ((tctx->cg_flags & CG_UNFAIR) && knobs.unfair_factor > 1)
		delta /= knobs.unfair_factor;
	scx_bpf_task_set_dsq_vtime(p, p->scx.dsq_vtime + delta);
}

void BPF_STRUCT_OPS(ktstr_enable, struct task_struct *p)
{
	scx_bpf_task_set_dsq_vtime(p, vtime_now);
}

s32 BPF_STRUCT_OPS(ktstr_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	if (!bpf_task_storage_get(&task_ctxs, p, 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE))
		return -ENOMEM;
	return 0;
}

/*
 * Every 10 ms while a knob needs it, and right at the end of each --degrade
 * window: inject the crash when due, and wake the idle CPUs when there is
 * work they may now take (the window has passed, or a --starve victim has
 * waited its hold out).
 */
static int ktstr_timerfn(void *map, int *key, struct bpf_timer *timer)
{
	u64 now = bpf_ktime_get_ns();
	u64 next = TIMER_NS, left;
	u32 nr_cpus, cpu;

	STAT_INC(timer_runs);

	if (knobs.crash_after_ns && now - start_ns >= knobs.crash_after_ns) {
		if (knobs.crash_after_ms % 1000)
			KTSTR_ERROR("ktstr: injected crash after %d ms",
				    knobs.crash_after_ms);
		else
			KTSTR_ERROR("ktstr: injected crash after %d s",
				    knobs.crash_after_ms / 1000);
		return 0;
	}

	if (!withholding(now) &&
	    (scx_bpf_dsq_nr_queued(SHARED_DSQ) > 0 || victim_due(now))) {
		nr_cpus = scx_bpf_nr_cpu_ids();
		for (cpu = 0; cpu < nr_cpus && cpu < MAX_CPUS; cpu++)
			scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
		STAT_INC(kicks);
	}

	left = knobs.degrade_ppm ? blackout_left(now) : 0;
	if (left && left < next)
		next = left;
	bpf_timer_start(timer, next, 0);
	return 0;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(ktstr_init)
{
	struct bpf_timer *timer;
	u32 key = 0;
	s32 ret;

	start_ns = bpf_ktime_get_ns();

	ret = scx_bpf_create_dsq(SHARED_DSQ, -1);
	if (!ret)
		ret = scx_bpf_create_dsq(VICTIM_DSQ, -1);
	if (ret) {
		KTSTR_ERROR("ktstr: cannot create a DSQ (%d)", ret);
		return ret;
	}

	if (!knobs.crash_after_ns && !knobs.degrade_ppm &&
	    !knobs.starve_cgroup[0])
		return 0;

	timer = bpf_map_lookup_elem(&timers, &key);
	if (!timer)
		return -ENOENT;
	bpf_timer_init(timer, &timers, CLOCK_MONOTONIC);
	bpf_timer_set_callback(timer, ktstr_timerfn);
	ret = bpf_timer_start(timer, TIMER_NS, 0);
	if (ret) {
		KTSTR_ERROR("ktstr: bpf_timer_start failed (%d)", ret);
		return ret;
	}
	return 0;
}

void BPF_STRUCT_OPS(ktstr_exit, struct scx_exit_info *ei)
{
	ktstr_exit_record(&uei, ei);
}

SEC(".struct_ops.link")
struct sched_ext_ops ktstr_ops = {
	.select_cpu	= (void *)ktstr_select_cpu,
	.enqueue	= (void *)ktstr_enqueue,
	.dispatch	= (void *)ktstr_dispatch,
	.tick		= (void *)ktstr_tick,
	.running	= (void *)ktstr_running,
	.stopping	= (void *)ktstr_stopping,
	.enable		= (void *)ktstr_enable,
	.init_task	= (void *)ktstr_init_task,
	.init		= (void *)ktstr_init,
	.exit		= (void *)ktstr_exit,
	.flags		= SCX_OPS_ENQ_LAST,
	.timeout_ms	= KTSTR_WATCHDOG_MS_DFL,
	.name		= "ktstr",
};
