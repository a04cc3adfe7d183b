-- Schedulers we did not write: the kernel's own tools/sched_ext examples (`make scx`
-- builds them into build/scx/), declared as a user would, each run for 4 s under
-- cgroups of spinners and of sleep/wake workers and judged as any scheduler is.
local ktstr = require("ktstr")

local spin, wake = ktstr.work.spin_wait(), ktstr.work.bursty{}

-- Spinners pinned to one LLC, spinners free to run anywhere, sleep/wake workers.
local function pinned_and_free(llc)
  return {
    ktstr.cgroup("spin_llc" .. llc):workers(2):work(spin):cpuset(ktstr.cpuset.llc(llc)),
    ktstr.cgroup("spin_any"):workers(2):work(spin),
    ktstr.cgroup("wakers"):workers(2):work(wake),
  }
end

-- scx_cpu0 runs every task it can on CPU 0, one FIFO; a task that cannot run
-- there is queued on the CPU it is on. Pinned to LLC 1, off CPU 0, spin_llc1
-- lives on that path alone.
ktstr.test{
  name = "corpus_scx_cpu0",
  scheduler = ktstr.scheduler{ name = "scx_cpu0", binary = "scx_cpu0" },
  llcs = 2, cores = 2,
  duration_s = 4,
  not_starved = true,
  isolation = true,
  defs = pinned_and_free(1),
}

-- scx_pair runs CPU pairs (i, i + nr_cpus / 2) on one cgroup at a time, so it
-- needs an even CPU count; it makes its 4096 per-cgroup queues before it
-- attaches, 10 to 30 s under TCG.
ktstr.test{
  name = "corpus_scx_pair",
  scheduler = ktstr.scheduler{ name = "scx_pair", binary = "scx_pair",
    constraints = { cpus_multiple_of = 2 }, enable_timeout_s = 60 },
  llcs = 2, cores = 2,
  duration_s = 4,
  not_starved = true,
  defs = {
    ktstr.cgroup("spin_a"):workers(2):work(spin),
    ktstr.cgroup("spin_b"):workers(2):work(spin),
    ktstr.cgroup("wakers"):workers(2):work(wake),
  },
}

-- scx_sdt: scx_simple's global FIFO, its per-task data allocated in a BPF arena
-- when a task joins (init_task) and freed when it leaves (exit_task).
ktstr.test{
  name = "corpus_scx_sdt",
  scheduler = ktstr.scheduler{ name = "scx_sdt", binary = "scx_sdt" },
  llcs = 2, cores = 2,
  duration_s = 4,
  not_starved = true,
  isolation = true,
  defs = pinned_and_free(0),
}

-- scx_userland: a user-space process orders the tasks that may run on every
-- CPU (spin_any, wakers) by vruntime; the BPF side keeps the others (spin_llc0)
-- in a global FIFO in the kernel.
ktstr.test{
  name = "corpus_scx_userland",
  scheduler = ktstr.scheduler{ name = "scx_userland", binary = "scx_userland" },
  llcs = 2, cores = 2,
  duration_s = 4,
  not_starved = true,
  isolation = true,
  defs = pinned_and_free(0),
}

-- scx_flatcg flattens the cgroup hierarchy into one level of weighted shares:
-- two cgroups of equal weight on the same two CPUs get the same share.
ktstr.test{
  name = "corpus_scx_flatcg",
  scheduler = ktstr.scheduler{ name = "scx_flatcg", binary = "scx_flatcg" },
  llcs = 2, cores = 2,
  duration_s = 4,
  not_starved = true,
  isolation = true,
  max_cgroup_spread_pct = 25,
  defs = {
    ktstr.cgroup("share_a"):workers(2):work(spin):cpuset(ktstr.cpuset.llc(0)),
    ktstr.cgroup("share_b"):workers(2):work(spin):cpuset(ktstr.cpuset.llc(0)),
    ktstr.cgroup("wakers"):workers(2):work(wake):cpuset(ktstr.cpuset.llc(1)),
  },
}

-- scx_central makes every scheduling decision on one CPU (CPU 0) and runs the
-- others' tasks with infinite slices that its timer ends: the CPUs pinned
-- off the central one depend on it alone.
ktstr.test{
  name = "corpus_scx_central",
  scheduler = ktstr.scheduler{ name = "scx_central", binary = "scx_central" },
  llcs = 2, cores = 2,
  duration_s = 4,
  not_starved = true,
  isolation = true,
  defs = pinned_and_free(1),
}
