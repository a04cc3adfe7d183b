-- Checks: the judgement of a run's worker reports, monitor samples and post_vm (host).
local V = require("ktstr.validate")
local thresholds = require("ktstr.thresholds")
local cpuset = require("ktstr.cpuset")
local verdict = require("ktstr.verdict")
local monitor = require("ktstr.host.monitor")
local fault = require("ktstr.fault")
local show = require("ktstr.show")
local work = require("ktstr.work")

local M = {}

local function each_worker(result, fn)
  for _, cg in ipairs(result.cgroups or {}) do
    for _, w in ipairs(cg.workers or {}) do fn(cg, w) end
  end
end

local function ms(ns) return ns / 1e6 end

--[[
How long the host kept the vCPU of a worker's worst gap waiting during that
gap (ms), from the monitor's vCPU schedstat samples; nil without them. A
gap the host made is no verdict on the guest's scheduler.
]]
local function host_held_ms(result, w)
  local m = result.monitor
  if not (m and m.samples and m.guest_offset and w.start_s and w.max_gap_cpu) then return nil end
  local t1 = w.start_s + (w.max_gap_at_ns or 0) / 1e9 + m.guest_offset
  return monitor.host_delay(m.samples, w.max_gap_cpu, t1 - w.max_gap_ns / 1e9, t1)
end

local function fmt_ns(ns)
  if ns >= 1e9 then return ("%.2fs"):format(ns / 1e9) end
  if ns >= 1e6 then return ("%.1fms"):format(ns / 1e6) end
  if ns >= 1e3 then return ("%.1fus"):format(ns / 1e3) end
  return ("%dns"):format(ns)
end

-- Off-CPU share of wall time, in percent; nil without wall time.
local function off_cpu_pct(w)
  if not w.wall_ns or w.wall_ns <= 0 then return nil end
  return math.max(0, math.min(100, 100 * (w.wall_ns - (w.cpu_ns or 0)) / w.wall_ns))
end

--[[
The share of a worker's runnable time it spent waiting for a CPU, in
percent: schedstat run delay over run delay + CPU time. What a scheduler
decides, unlike off-CPU time, which counts sleeps the work asked for. nil
without run delay (no schedstat) or without runnable time.
]]
local function wait_pct(w)
  local delay, cpu = w.run_delay_ns, w.cpu_ns or 0
  if not delay or delay + cpu <= 0 then return nil end
  return 100 * delay / (delay + cpu)
end

local function cpus_of(workers)
  local set, n = {}, 0
  for _, w in ipairs(workers) do
    for _, c in ipairs(w.cpus or {}) do
      if not set[c] then set[c], n = true, n + 1 end
    end
  end
  return n, set
end

-- A cgroup running work whose members are unequal by design (RT tiers
-- ahead of the rest): comparing its workers with each other judges nothing.
local function uneven(cg)
  for _, t in ipairs(type(cg.work) == "table" and cg.work or {}) do
    if work.UNEVEN[t] then return true end
  end
  return false
end

local function spread_of(workers)
  local lo, hi
  for _, w in ipairs(workers) do
    local p = off_cpu_pct(w)
    if p then lo, hi = math.min(lo or p, p), math.max(hi or p, p) end
  end
  return lo and hi - lo or 0, lo, hi
end

-- The per-cgroup roll-up the report's --- stats --- prints.
function M.stats(result)
  local s = { workers = 0, migrations = 0, iterations = 0, work_units = 0, worst_spread = 0,
    worst_gap_ms = 0, cgroups = {} }
  local all = {}
  for _, cg in ipairs(result.cgroups or {}) do
    local ws = cg.workers or {}
    local c = { name = cg.name, workers = #ws, cpus = cpus_of(ws), spread = spread_of(ws),
      gap_ms = 0, migrations = 0, iterations = 0, work_units = 0 }
    for _, w in ipairs(ws) do
      all[#all + 1] = w
      c.gap_ms = math.max(c.gap_ms, ms(w.max_gap_ns or 0))
      c.migrations = c.migrations + (w.migrations or 0)
      c.iterations = c.iterations + (w.iterations or 0)
      c.work_units = c.work_units + (w.work_units or 0)
    end
    s.cgroups[#s.cgroups + 1] = c
    s.workers = s.workers + c.workers
    s.migrations, s.iterations = s.migrations + c.migrations, s.iterations + c.iterations
    s.work_units = s.work_units + c.work_units
    s.worst_spread = math.max(s.worst_spread, c.spread)
    s.worst_gap_ms = math.max(s.worst_gap_ms, c.gap_ms)
  end
  s.cpus = cpus_of(all)
  local payloads = require("ktstr.host.payloads").stats(result)
  s.payloads = #payloads > 0 and payloads or nil
  return s
end

-- A cgroup's allowed CPUs as a canonical cpulist, or "all" for a cgroup
-- that had no cpuset at some point.
local function allowed_cpus(cg)
  local list = cg.cpus and cpuset.parse(cg.cpus)
  return list and cpuset.format(list) or "all"
end

-- The share of its wall time a worker was runnable (running or waiting), 0..1.
local function busy(w)
  if not w.wall_ns or w.wall_ns <= 0 then return nil end
  return math.min(1, ((w.cpu_ns or 0) + (w.run_delay_ns or 0)) / w.wall_ns)
end

-- Workers runnable at least this share of their time want all the CPU they can get.
M.CPU_BOUND = 0.9

--[[
A cgroup whose workers want a CPU all the time: its work types (the
guest lists them) are all CPU-bound ones, and its workers were runnable
at least CPU_BOUND of their time. A yielder is always runnable too, but
what it waits it gave away; a sleeper's wait is its wake-up latency.
]]
local function cpu_bound(cg, c)
  if type(cg.work) ~= "table" then return c.busy >= M.CPU_BOUND end
  for _, t in ipairs(cg.work) do
    if not work.CPU_BOUND[t] then return false end
  end
  return #cg.work > 0 and c.busy >= M.CPU_BOUND
end

-- One cgroup's numbers for the comparison, or nil and the worker that lacks them.
local function fairness_of(cg)
  local ws = cg.workers or {}
  local key = allowed_cpus(cg)
  local c = { name = cg.name, key = key, workers = #ws, wait = 0, busy = 0, cpu = 0 }
  for _, w in ipairs(ws) do
    local p, b = wait_pct(w), busy(w)
    if not p or not b then return nil, w, key end
    c.wait, c.busy, c.cpu = c.wait + p / #ws, c.busy + b / #ws, c.cpu + (w.cpu_ns or 0)
  end
  return c
end

-- Two notions of fair among cgroups on the same CPUs: each worker the same
-- share (schedulers that ignore cgroups), or each cgroup the same share
-- (cgroup-aware ones). With equal worker counts they agree; otherwise
-- only a spread under both fails.
local function fairness_spread(judged)
  table.sort(judged, function(a, b) return a.wait < b.wait end)
  local lo, hi = judged[1], judged[#judged]
  local per_worker = hi.wait - lo.wait
  local total, min, max = 0, math.huge, 0
  for _, c in ipairs(judged) do total = total + c.cpu end
  for _, c in ipairs(judged) do
    local share = total > 0 and 100 * c.cpu / total or 0
    min, max = math.min(min, share), math.max(max, share)
  end
  return lo, hi, per_worker, (max - min) * #judged / 2
end

--[[
max_cgroup_spread_pct: cgroups allowed the same CPUs whose workers want
all the CPU they can get (CPU-bound work types, runnable >= 90% of the
time) should get it alike. For each, the mean share of its workers' runnable time spent
waiting (schedstat run delay over run delay + CPU time) is compared within
each set of identical CPUs. Cgroups that sleep by design are not compared:
what they wait is wake-up latency, which every slice-based scheduler
charges a light sleeper (max_p99_wake_latency_ns judges it), not a share.
A worker without run delay makes its cgroup's comparison inconclusive;
when no two CPU-bound cgroups share their CPUs the check is inconclusive,
never a silent pass.
]]
local function cgroup_fairness(limit, result, add)
  local groups, order = {}, {}
  for _, cg in ipairs(result.cgroups or {}) do
    if #(cg.workers or {}) > 0 then
      local c, w, key = fairness_of(cg)
      if not c then
        add("inconclusive", "tid %d of cgroup %s has no %s: fairness on cpus %s undefined", w.pid,
          cg.name, w.run_delay_ns and "wall or runnable time" or "schedstat run delay", key)
      elseif cpu_bound(cg, c) then
        if not groups[c.key] then groups[c.key], order[#order + 1] = {}, c.key end
        table.insert(groups[c.key], c)
      end
    end
  end
  local compared = false
  for _, key in ipairs(order) do
    local judged = groups[key]
    if #judged > 1 then
      compared = true
      local lo, hi, per_worker, per_cgroup = fairness_spread(judged)
      if per_worker > limit and (lo.workers == hi.workers or per_cgroup > limit) then
        add("fail", "unfair cgroups on cpus %s: %s waited %.1f%% of runnable time vs %s %.1f%% " ..
          "(spread=%.1f%%, threshold %.1f%%)", key, lo.name, lo.wait, hi.name, hi.wait,
          per_worker, limit)
      end
    end
  end
  if not compared then
    add("inconclusive", "no two CPU-bound cgroups (spin_wait, alu_hot, cache_pressure, ... " ..
      "runnable >= %.0f%% of the time) share the same CPUs: nothing to compare (work that " ..
      "sleeps or yields by design is not judged here)", 100 * M.CPU_BOUND)
  end
end

-- The checks in the order their details print (the likeliest root cause
-- first). Each runs when its key is set; add(status, fmt, ...) records.
local CHECKS = {
  -- Workers the harness ended itself (by_stop: SIGKILLed at teardown after
  -- the stop timeout; by_op: a remove_cgroup or stop_cgroup op) are not
  -- failures; the progress checks judge them.
  { "workers", true, function(_, result, add)
    each_worker(result, function(_, w)
      local e = w.exit or {}
      if e.by_stop or e.by_op then return end
      if w.error then
        add("fail", "worker %d failed: %s", w.pid, w.error)
      elseif e.killed or e.signal then
        add("fail", "worker %d killed by signal %s", w.pid, e.signal or "?")
      elseif e.code and e.code ~= 0 then
        add("fail", "worker %d exited with code %d", w.pid, e.code)
      end
    end)
  end },
  { "not_starved", "not_starved", function(_, result, add)
    each_worker(result, function(_, w)
      if (w.work_units or 0) == 0 then
        add("fail", "tid %d made no progress (0 work units)", w.pid)
      end
    end)
  end },
  { "isolation", "isolation", function(_, result, add)
    for _, cg in ipairs(result.cgroups or {}) do
      local allowed = {}
      for _, c in ipairs(cg.cpus and assert(cpuset.parse(cg.cpus)) or {}) do allowed[c] = true end
      for _, w in ipairs(cg.cpus and cg.workers or {}) do
        local out = {}
        for _, c in ipairs(w.cpus or {}) do
          if not allowed[c] then out[#out + 1] = c end
        end
        table.sort(out)
        if #out > 0 then
          add("fail", "tid %d ran on cpu %s outside cgroup %s's cpuset %s", w.pid,
            table.concat(out, ","), cg.name, cg.cpus)
        end
      end
    end
  end },
  { "max_gap_ms", "max_gap_ms", function(th, result, add)
    each_worker(result, function(_, w)
      local gap = ms(w.max_gap_ns or 0)
      if gap <= th.max_gap_ms then return end
      local held = host_held_ms(result, w)
      if held and gap - held <= th.max_gap_ms then
        add("inconclusive", "tid %d stuck %.0fms on cpu%d at +%.0fms, but the host kept that " ..
          "vCPU waiting %.0fms of it (threshold %.0fms)", w.pid, gap, w.max_gap_cpu,
          ms(w.max_gap_at_ns or 0), held, th.max_gap_ms)
      else
        add("fail", "tid %d stuck %.0fms on cpu%d at +%.0fms (threshold %.0fms)", w.pid,
          gap, w.max_gap_cpu or -1, ms(w.max_gap_at_ns or 0), th.max_gap_ms)
      end
    end)
  end },
  { "max_spread_pct", "max_spread_pct", function(th, result, add)
    for _, cg in ipairs(result.cgroups or {}) do
      local ws = uneven(cg) and {} or cg.workers or {}
      for _, w in ipairs(ws) do
        if not off_cpu_pct(w) then
          add("inconclusive", "tid %d has no wall time: spread undefined", w.pid)
        end
      end
      local spread, lo, hi = spread_of(ws)
      if spread > th.max_spread_pct then
        add("fail", "unfair cgroup %s: spread=%.1f%% (%.1f-%.1f%%) %d workers on %d cpus " ..
          "(threshold %.1f%%)", cg.name, spread, lo, hi, #ws, cpus_of(ws), th.max_spread_pct)
      end
    end
  end },
  -- Fairness between cgroups: see cgroup_fairness.
  { "max_cgroup_spread_pct", "max_cgroup_spread_pct", function(th, result, add)
    cgroup_fairness(th.max_cgroup_spread_pct, result, add)
  end },
  { "max_throughput_cv", "max_throughput_cv", function(th, result, add)
    for _, cg in ipairs(result.cgroups or {}) do
      local rates, sum, lo, hi = {}, 0, math.huge, 0
      for _, w in ipairs(uneven(cg) and {} or cg.workers or {}) do
        if (w.cpu_ns or 0) <= 0 then
          add("inconclusive", "tid %d has no CPU time: throughput cv of cgroup %s undefined",
            w.pid, cg.name)
          rates = {}
          break
        end
        local r = (w.work_units or 0) / (w.cpu_ns / 1e9)
        rates[#rates + 1], sum, lo, hi = r, sum + r, math.min(lo, r), math.max(hi, r)
      end
      local mean = #rates > 1 and sum / #rates or 0
      if mean > 0 then
        local var = 0
        for _, r in ipairs(rates) do var = var + (r - mean) ^ 2 end
        local cv = math.sqrt(var / #rates) / mean
        if cv > th.max_throughput_cv then
          add("fail", "cgroup %s throughput cv=%.2f above %.2f (%d workers, %.1f-%.1f " ..
            "units/cpu-s)", cg.name, cv, th.max_throughput_cv, #rates, lo, hi)
        end
      end
    end
  end },
  { "min_work_rate", "min_work_rate", function(th, result, add)
    each_worker(result, function(_, w)
      if (w.cpu_ns or 0) <= 0 then
        add("inconclusive", "tid %d has no CPU time: work rate undefined", w.pid)
      elseif (w.work_units or 0) / (w.cpu_ns / 1e9) < th.min_work_rate then
        add("fail", "worker %d work rate %.1f/cpu-s below floor %.1f/cpu-s", w.pid,
          (w.work_units or 0) / (w.cpu_ns / 1e9), th.min_work_rate)
      end
    end)
  end },
  { "min_iteration_rate", "min_iteration_rate", function(th, result, add)
    each_worker(result, function(_, w)
      if (w.wall_ns or 0) <= 0 then
        add("inconclusive", "tid %d has no wall time: iteration rate undefined", w.pid)
      elseif (w.iterations or 0) / (w.wall_ns / 1e9) < th.min_iteration_rate then
        add("fail", "worker %d iteration rate %.1f/s below floor %.1f/s", w.pid,
          (w.iterations or 0) / (w.wall_ns / 1e9), th.min_iteration_rate)
      end
    end)
  end },
  { "max_p99_wake_latency_ns", "max_p99_wake_latency_ns", function(th, result, add)
    local sampled = false
    each_worker(result, function(_, w)
      if w.wake and (w.wake.count or 0) > 0 then
        sampled = true
        if w.wake.p99_ns > th.max_p99_wake_latency_ns then
          add("fail", "worker %d p99 wake latency %s above %s", w.pid, fmt_ns(w.wake.p99_ns),
            fmt_ns(th.max_p99_wake_latency_ns))
        end
      end
    end)
    if not sampled then
      add("inconclusive", "no worker recorded wake latencies (only blocking work types do)")
    end
  end },
  { "max_migration_ratio", "max_migration_ratio", function(th, result, add)
    each_worker(result, function(_, w)
      if (w.iterations or 0) <= 0 then
        add("inconclusive", "tid %d has no iterations: migration ratio undefined", w.pid)
      elseif (w.migrations or 0) / w.iterations > th.max_migration_ratio then
        add("fail", "worker %d migration ratio %.3f above %.3f (%d migrations in %d iterations)",
          w.pid, w.migrations / w.iterations, th.max_migration_ratio, w.migrations, w.iterations)
      end
    end)
  end },
}

-- Relabels a custom verdict's details ("custom", or none named) with where it came from.
local function from(v, label)
  local details = {}
  for i, d in ipairs(v.details) do
    details[i] = (d.check == "custom" or d.check == nil) and
      { check = label, status = d.status, msg = d.msg } or d
  end
  return { status = v.status, details = details }
end

-- The monitor's thresholds: always summarized, judged only when a layer enforces them.
local MONITOR_KEYS = { "max_imbalance_ratio", "max_local_dsq_depth", "fail_on_stall",
  "sustained_samples", "max_fallback_rate", "max_keep_last_rate" }

-- Enforcement is sticky: once the scheduler or the test turns it on, it stays on.
function M.enforce_monitor(test)
  return (test.scheduler and test.scheduler.enforce_monitor_thresholds) or
    test.enforce_monitor_thresholds or false
end

--[[
Summarizes the monitor's samples into result.monitor.summary and, when
enforced, adds its violations. The summary also notes when the scheduler
was seen to exit, so a stall can be placed before or after it.
]]
local function judge_monitor(test, th, result, v)
  local m = result.monitor
  if not m or m.off or not m.samples then return v end
  local mth = {}
  for _, k in ipairs(MONITOR_KEYS) do mth[k] = th[k] end
  local summary = monitor.summarize(m.samples, mth)
  for _, s in ipairs(m.samples) do
    if (s.exit_kind or 0) ~= 0 or (s.exit_info_kind or 0) ~= 0 then
      summary.sched_exit_t = s.t
      break
    end
  end
  m.summary = summary
  if not M.enforce_monitor(test) then return v end
  for _, o in ipairs(monitor.outcomes(summary, nil, true)) do
    if o.status ~= "pass" then v = verdict.merge(v, o) end
  end
  return v
end

-- How long post_vm may run on the host before it counts as hung (a script bug).
M.POST_VM_TIMEOUT_S = 60

-- A bad-input outcome: the script is wrong, so nothing is judged.
local function script_error(msg, check)
  return { status = "error", details = { { check = check, status = "error", msg = msg } } }
end

-- Calls post_vm with a time bound; a SIGINT while it runs ends the whole run.
local function call_post_vm(test, result)
  local core = require("ktstr.core")
  local deadline = core.now() + M.POST_VM_TIMEOUT_S
  debug.sethook(function()
    if core.now() > deadline then
      debug.sethook()
      fault.raise("script", ("%s: post_vm still running after %gs: it must return (a loop " ..
        "that never ends?)"):format(V.where(), M.POST_VM_TIMEOUT_S))
    end
  end, "", 10000)
  local ok, v = pcall(test.post_vm, result)
  debug.sethook()
  if not ok and core.signal_pending() then
    fault.raise("interrupted", "interrupted while post_vm ran")
  end
  return ok, v
end

-- post_vm's verdict; nothing returned means no objection (as the Rust
-- Ok(())). An error is the test failing (assert in post_vm is how it
-- says no), except os.exit and a hang, which are script errors.
local function run_post_vm(test, result)
  require("ktstr.host.snapshot").result_api(result)
  local ok, v = call_post_vm(test, result)
  if not ok then
    if fault.is(v) then return script_error(v.msg, "post_vm") end
    return verdict.fail(type(v) == "string" and v or
      "error raised with a " .. type(v) .. " value: " .. show.value(v), "post_vm")
  end
  if v == nil then return nil end
  if not verdict.is(v) then
    return verdict.fail(("returned %s; return a verdict (ktstr.pass(), ktstr.fail(msg), ...) " ..
      "or nothing"):format(show.value(v)), "post_vm")
  end
  return from(v, "post_vm")
end

-- A run that ended early for a reason that is not the scheduler's: no
-- check can judge what did not run.
local function cut_short(result)
  local f = result.fault
  local kind = f and fault.KINDS[f.kind]
  if not kind then return nil end
  if kind.status == "error" then return script_error(f.msg, "script") end
  return verdict.inconclusive(f.msg, f.kind == "internal" and "ktstr" or f.kind)
end

-- evaluate(test, result) -> verdict: a run cut short by the script
-- (error), the environment or ktstr (inconclusive) is not judged further;
-- otherwise what the test body returned (result.verdict), the checks in
-- order, the monitor, and post_vm on the host. Checks only add failures
-- and inconclusives, so a body's skip stays a skip.
function M.evaluate(test, result)
  local th = thresholds.resolve(test, result.accel)
  local v = cut_short(result)
  if v then
    v.stats = M.stats(result)
    judge_monitor(test, th, result, verdict.pass())  -- the summary, for the report
    return v
  end
  v = result.verdict and from(result.verdict, "run") or verdict.pass()
  for _, c in ipairs(CHECKS) do
    local name, key, run = c[1], c[2], c[3]
    if key == true or th[key] then
      run(th, result, function(status, fmt, ...)
        local d = { check = name, status = status, msg = fmt:format(...) }
        v = verdict.merge(v, { status = status, details = { d } })
      end)
    end
  end
  require("ktstr.host.payloads").judge(test, result, function(status, fmt, ...)
    v = verdict.merge(v, { status = status, details = { { check = "payload", status = status,
      msg = fmt:format(...) } } })
  end)
  v = judge_monitor(test, th, result, v)
  local post = test.post_vm and run_post_vm(test, result)
  if post then v = verdict.merge(v, post) end
  v.stats = M.stats(result)
  return v
end

--[[
A guest CPU that stopped executing: the monitor saw its rq clock frozen
with tasks runnable, and either those tasks sat in the CPU's own local DSQ
all along (the scheduler had handed them over; only the CPU could run them)
or the kernel itself reported that CPU's timers not firing (RCU's "timer
wakeup didn't happen ... Possible timer handling issue on cpu=N"). A CPU
that takes no timer interrupt and leaves its own queue alone is the VMM
(TCG losing a halted vCPU's interrupts) or the kernel, never a BPF
scheduler's decision. Returns the reason, or nil.
]]
function M.cpu_stopped(result)
  local sum = result.monitor and result.monitor.summary
  if not (sum and sum.stuck_episodes) then return nil end
  local timers = {}
  for cpu in (result.console or ""):gmatch("Possible timer handling issue on cpu=(%d+)") do
    timers[tonumber(cpu)] = true
  end
  for _, e in ipairs(sum.stuck_episodes) do
    local held, silent = (e.held or 0) > 0, timers[e.cpu]
    if held or silent then
      return ("cpu%d stopped +%.1fs..+%.1fs: its clock froze with %s; a BPF scheduler " ..
        "cannot do that (the VMM lost the vCPU's interrupts, or the kernel hung it), so " ..
        "what the run measured is not judged"):format(e.cpu, e.from_t, e.to_t,
        held and silent and ("%d task(s) in its own queue and the kernel reports its " ..
          "timers did not fire"):format(e.held)
        or held and ("%d task(s) in its own queue, handed to it and never run"):format(e.held)
        or "tasks runnable and the kernel reports its timers did not fire (rcu: timer " ..
          "wakeup didn't happen)")
    end
  end
  return nil
end

--[[
Why a run's measurements are not the scheduler's to answer for, when a
worker's scratch disk IO failed the way only the host can fail it (the
guest's disk is a file on the host: EIO when the host cannot write it,
ENOSPC when its filesystem is full); nil otherwise. A scheduler decides
when IO is issued, never whether the device completes it.
]]
local HOST_DISK_ERRORS = { ["Input/output error"] = true, ["No space left on device"] = true,
  ["Read-only file system"] = true }

function M.disk_failed(result)
  local why
  each_worker(result, function(_, w)
    local kind, call, reason = (w.error or ""):match("^(io_[%w_]+): (%w+) at %-?%d+: (.+)$")
    if not why and kind and HOST_DISK_ERRORS[reason] then
      why = ("worker %d's %s %s failed on the scratch disk (%s): the host failed the disk " ..
        "image, not the scheduler, so what the run measured is not judged"):format(w.pid, kind,
        call, reason)
    end
  end)
  return why
end

-- not_judged(v, why) -> v as inconclusive: why first, each failure kept
-- as an inconclusive detail (what was seen, without blame).
function M.not_judged(v, why)
  local details = { { check = "guest", status = "inconclusive", msg = why } }
  for _, d in ipairs(v.details) do
    details[#details + 1] = { check = d.check, status = d.status == "fail" and "inconclusive"
      or d.status, msg = d.msg }
  end
  return { status = "inconclusive", details = details, stats = v.stats }
end

--[[
expect_err: a negative test passes when the scheduler failed as expected
(its error text containing / matching what the test names) and fails when
it did not fail. bug is the scheduler's root cause (scheduler.judge), text
the scheduler's error text. Script errors and inconclusives stay as they are.
]]
function M.expect(test, v, bug, text)
  if not test.expect_err or v.status == "error" or v.status == "inconclusive" then return v end
  local function out(status, msg)
    return { status = status, details = { { check = "expect_err", status = status, msg = msg } },
      stats = v.stats }
  end
  if not bug then
    if v.status == "fail" then
      local c = v.details[1]
      return out("fail", ("the scheduler did not fail, only a check did (%s: %s); " ..
        "expect_err wants the scheduler to fail"):format(c.check, c.msg))
    end
    return out("fail", "expect_err: the scheduler did not fail")
  end
  local lit, pat = test.expect_scx_bpf_error_contains, test.expect_scx_bpf_error_matches
  text = text or ""
  if lit and not text:find(lit, 1, true) then
    return out("fail", ("the scheduler failed, but its error %q does not contain %q")
      :format(text, lit))
  end
  if pat and not text:find(pat) then
    return out("fail", ("the scheduler failed, but its error %q does not match %q"):format(text,
      pat))
  end
  return out("pass", "failed as expected: " .. bug)
end

return M
