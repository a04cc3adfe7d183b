-- The host monitor and snapshots against a real guest: each test's post_vm checks what the host saw.
local ktstr = require("ktstr")

local function fixture(args)
  return ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched", ops_name = "ktstr",
    watchdog_arg = "--watchdog-ms", args = args }
end

local function workload_samples(result)
  local out = {}
  for _, s in ipairs(result.monitor.samples) do
    if s.phase == "Step[0]" then out[#out + 1] = s end
  end
  return out
end

-- Four spinners on four CPUs: every CPU has a runnable task in nearly every sample.
ktstr.test{
  name = "monitor_spinners", llcs = 2, cores = 2, duration_s = 3,
  defs = { ktstr.cgroup("spin"):workers(4):work(ktstr.work.spin_wait()) },
  post_vm = function(result)
    local samples = workload_samples(result)
    -- 10 Hz over a 3 s hold; TCG hiccups may cost a few
    if #samples < 24 or #samples > 33 then
      local ts = {}
      for i, s in ipairs(result.monitor.samples) do ts[i] = ("%.2f"):format(s.t) end
      return ktstr.fail(("%d samples over a 3 s workload at 100 ms (at %s)"):format(#samples,
        table.concat(ts, " ")))
    end
    local busy = {}
    for _, s in ipairs(samples) do
      for _, c in ipairs(s.cpus) do
        if c.nr_running >= 1 then busy[c.cpu] = (busy[c.cpu] or 0) + 1 end
      end
    end
    for cpu = 0, 3 do
      if (busy[cpu] or 0) < 0.8 * #samples then
        return ktstr.fail(("cpu%d had a runnable task in %d of %d samples"):format(cpu,
          busy[cpu] or 0, #samples))
      end
    end
    -- the summary's timeline agrees with the raw samples
    local phase
    for _, p in ipairs(result.monitor.summary.timeline) do
      if p.phase == "Step[0]" then phase = p end
    end
    if not phase or phase.samples < #samples - 1 or phase.avg_nr_running < 0.75 then
      return ktstr.fail(("timeline: Step[0] samples=%s avg nr_running/cpu=%s"):format(
        phase and phase.samples, phase and phase.avg_nr_running))
    end
  end,
}

-- Dispatching stops after 1 s: the monitor sees stuck rq clocks before the watchdog (4 s) fires.
ktstr.test{
  name = "monitor_stall", scheduler = fixture({ "--stall-after", "1" }),
  llcs = 2, cores = 2, duration_s = 10, watchdog_timeout_s = 4,
  defs = {
    ktstr.cgroup("a"):workers(2):cpuset(ktstr.cpuset.llc(0)),
    ktstr.cgroup("b"):workers(2):cpuset(ktstr.cpuset.llc(1)),
  },
}

-- Periodic snapshots of the fixture's dispatch counter, then a named one after the workload
-- (the tutorial's step 10), compared with the count the scheduler prints when it detaches.
ktstr.test{
  name = "snapshot_counter", scheduler = fixture(), llcs = 2, cores = 2, duration_s = 4,
  num_snapshots = 4,
  steps = {
    ktstr.step{
      setup = {
        ktstr.cgroup("spin"):workers(2):work(ktstr.work.spin_wait()),
        ktstr.cgroup("yield"):workers(2):work(ktstr.work.sequence(
          ktstr.phase.spin("20ms"), ktstr.phase.sleep("5ms"))),
      },
      hold = ktstr.hold.full,
    },
    ktstr.step{ ops = { ktstr.op.capture_snapshot("after_workload"), ktstr.op.detach_scheduler() },
      hold = ktstr.hold.fixed(0) },
  },
  post_vm = function(result)
    local series = result:periodic()
    local v = series:var("nr_dispatched"):nondecreasing()
    if v.status ~= "pass" then return v end
    local n = #series.snaps
    if n ~= 4 then return ktstr.fail(("%d periodic snapshots, wanted 4"):format(n)) end
    local first = series.snaps[1]:var("nr_dispatched")
    if first <= 0 then return ktstr.fail("nr_dispatched is 0 in periodic_000") end
    local snap = result:snapshot("after_workload"):var("nr_dispatched")
    local final
    for _, r in ipairs(result.sched_runs or {}) do
      final = tonumber((r.log or ""):match("nr_dispatched=(%d+)")) or final
    end
    if not final then return ktstr.fail("the scheduler printed no final nr_dispatched") end
    -- between the capture and the detach the idle guest dispatches a handful of tasks
    if final < snap or final - snap > 64 then
      return ktstr.fail(("after_workload nr_dispatched=%d, final %d"):format(snap, final))
    end
    print(("snapshot_counter: periodic %d..%d, after_workload %d, final %d"):format(first,
      series.snaps[n]:var("nr_dispatched"), snap, final))
  end,
}

-- An injected scx_bpf_error: the host dumps the scheduler's maps before they go away.
ktstr.test{
  name = "failure_dump", scheduler = fixture({ "--crash-after", "1" }),
  llcs = 2, cores = 2, duration_s = 4,
  defs = { ktstr.cgroup("a"):workers(2) },
}

-- Four workers crowd cpu0 while three CPUs idle: imbalance 4 in every sample.
local function crowded(name, enforce)
  ktstr.test{
    name = name, llcs = 2, cores = 2, duration_s = 2, max_imbalance_ratio = 2,
    enforce_monitor_thresholds = enforce,
    defs = { ktstr.cgroup("crowd"):workers(4):cpuset(ktstr.cpuset.exact({ 0 })) },
  }
end
crowded("imbalance_reported", false)
crowded("imbalance_enforced", true)
