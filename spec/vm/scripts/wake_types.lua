-- The wake/IPC work types in one guest under the fixture scheduler: every one progresses, post_vm prints their figures.
local ktstr = require("ktstr")
local W = ktstr.work

-- One cgroup per type, defaults except where noted; the second wake_chain
-- takes the futex path.
local TYPES = {
  { "wake_chain", W.wake_chain() },
  { "wake_chain_futex", W.wake_chain{ depth = 3, wake = "futex" } },
  { "asymmetric_waker", W.asymmetric_waker{ waker_class = "rt", wakee_class = "cfs" } },
  { "thundering_herd", W.thundering_herd() },
  { "epoll_storm", W.epoll_storm() },
  { "signal_storm", W.signal_storm() },
  { "fan_out_compute", W.fan_out_compute() },
  { "cache_pipe", W.cache_pipe() },
  { "ipc_variance", W.ipc_variance() },
  { "producer_consumer_imbalance", W.producer_consumer_imbalance() },
  { "preempt_storm", W.preempt_storm() },
  { "schbench", W.schbench() },
}

local defs = {}
for i, t in ipairs(TYPES) do defs[i] = ktstr.cgroup(t[1]):work(t[2]) end

local function fmt_us(ns) return ns and ("%.0f"):format(ns / 1e3) or "-" end

-- Counts that fall by at most one, once, from member 0: a ring passed in order.
local function in_order(u)
  local drops = 0
  for i = 2, #u do
    if u[i] ~= u[i - 1] then
      if u[i] ~= u[i - 1] - 1 then return false end
      drops = drops + 1
    end
  end
  return drops <= 1
end

local function check(result)
  local bad = {}
  for _, cg in ipairs(result.cgroups) do
    local units, wakes, p99 = {}, 0, 0
    for i, w in ipairs(cg.workers) do
      units[i] = w.work_units
      if w.work_units == 0 then bad[#bad + 1] = cg.name .. " made no progress" end
      if w.wake then
        wakes = wakes + w.wake.count
        p99 = math.max(p99, w.wake.p99_ns)
      end
    end
    print(("wake_types: %s units %s wakes %d worst p99 %s us"):format(cg.name,
      table.concat(units, ","), wakes, wakes > 0 and fmt_us(p99) or "-"))
    if cg.name:match("^wake_chain") and not in_order(units) then
      bad[#bad + 1] = cg.name .. " passed its token out of order: " .. table.concat(units, ",")
    end
    if cg.name == "signal_storm" then
      for _, w in ipairs(cg.workers) do
        if not (w.metrics and w.metrics.signals_received > 0) then
          bad[#bad + 1] = "signal_storm worker received no signal"
        end
      end
    end
    if cg.name == "schbench" then
      local m = cg.workers[1].metrics or {}
      print(("wake_types: schbench %d worker threads, %d requests (%.1f rps), wakeup p50 %.1f " ..
        "p90 %.1f p99 %.1f max %.1f us, request p50 %.1f p90 %.1f p99 %.1f us, " ..
        "sched delay worker %.1f msg %.1f us"):format(m.worker_threads or -1, m.loop_count or -1,
        m.rps or -1, m.wakeup_p50_us or -1, m.wakeup_p90_us or -1, m.wakeup_p99_us or -1,
        m.wakeup_max_us or -1, m.request_p50_us or -1, m.request_p90_us or -1,
        m.request_p99_us or -1, m.sched_delay_worker_us or -1, m.sched_delay_msg_us or -1))
      if not (m.wakeup_p99_us and m.request_p99_us) then
        bad[#bad + 1] = "schbench reported no percentiles"
      elseif m.wakeup_p50_us > m.wakeup_p99_us or m.request_p50_us > m.request_p99_us then
        bad[#bad + 1] = "schbench percentiles out of order"
      end
    end
  end
  if #bad > 0 then return ktstr.fail(table.concat(bad, "; ")) end
end

ktstr.test{
  name = "wake_types",
  scheduler = ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched", ops_name = "ktstr" },
  llcs = 1, cores = 2, duration_s = 8,
  not_starved = true,
  defs = defs,
  post_vm = check,
}
