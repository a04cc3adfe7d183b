-- The host monitor's judgement: summary, stuck CPUs, event rates, dilation, timeline and verdict.
--
-- Pure Lua over the C sampler's samples (about one per 100 ms):
--   { t = seconds since monitor start, phase = "step 1",
--     cpus = { { cpu =, nr_running =, scx_nr_running =, clock = rq clock ns,
--                dsq_depth =, scx_flags =, events = { cumulative SCX event
--                counters } | nil, vcpu = { run_ns =, delay_ns = } | nil,
--                schedstat = { csw =, run_delay_ns =, pcount =, ttwu =, goidle = } | nil }, ... } }
-- Thresholds are judged over sustained runs of samples, as ktstr does, so a
-- single spike (a cpuset change, a burst of wakeups) is not a violation.
local V = require("ktstr.validate")
local verdict = require("ktstr.verdict")

local M = {}

M.DEFAULTS = {
  max_imbalance_ratio = 4.0,
  max_local_dsq_depth = 50,
  fail_on_stall = true,
  sustained_samples = 5,
  max_fallback_rate = 200,
  max_keep_last_rate = 100,
}

local KEYS = {
  max_imbalance_ratio = function(v, w) return V.number(v, w, 1) end,
  max_local_dsq_depth = function(v, w) return V.number(v, w, 0) end,
  fail_on_stall = V.boolean,
  sustained_samples = function(v, w) return V.integer(v, w, 1) end,
  max_fallback_rate = function(v, w) return V.number(v, w, 0) end,
  max_keep_last_rate = function(v, w) return V.number(v, w, 0) end,
}

-- The SCX event counters in the order the summary lists them.
M.EVENTS = { "select_cpu_fallback", "dispatch_keep_last", "dispatch_local_dsq_offline",
  "enq_skip_exiting", "enq_skip_migration_disabled", "reenq_immed", "reenq_repeat",
  "refill_slice_dfl", "bypass_duration", "bypass_dispatch", "bypass_activate", "insert_not_owned" }

-- A local DSQ this deep is guest memory the kernel has not initialized yet.
local DSQ_CEILING = 10000

-- A vCPU that ran less than this in an interval cannot be expected to have
-- ticked its rq clock: ten ticks at HZ=250, ktstr's conservative default.
M.PREEMPT_RUN_NS = 40000000

-- thresholds(t) -> DEFAULTS overlaid with t's keys, validated.
function M.thresholds(t)
  local out = {}
  for k, v in pairs(M.DEFAULTS) do out[k] = v end
  if t == nil then return out end
  if type(t) ~= "table" then
    V.raise("monitor thresholds: expected a table, got %s", tostring(t))
  end
  V.keys(t, KEYS, "monitor thresholds")
  for k, v in pairs(t) do out[k] = KEYS[k](v, "monitor thresholds: " .. k) end
  return out
end

-- Whether a sample is one to judge (the HTML report's heat strips draw the same ones).
function M.plausible(s)
  if type(s.cpus) ~= "table" or #s.cpus == 0 then return false end
  for _, c in ipairs(s.cpus) do
    if (c.dsq_depth or 0) > DSQ_CEILING then return false end
  end
  return true
end

-- One clock value everywhere is zeroed or never-written guest memory.
local function clocks_identical(samples)
  local first, readings = nil, 0
  for _, s in ipairs(samples) do
    for _, c in ipairs(s.cpus) do
      readings = readings + 1
      first = first or c.clock
      if c.clock ~= first then return false end
    end
  end
  return readings > 1, first
end

-- CPU id -> its entry (the position stands in for a missing id)
local function by_cpu(s)
  local out = {}
  for i, c in ipairs(s.cpus) do out[c.cpu or i - 1] = c end
  return out
end

-- Counters only grow; a drop is a scheduler restarting its counters, and
-- the interval counts for nothing, as in ktstr.
local function delta(a, b)
  if type(a) ~= "number" or type(b) ~= "number" then return nil end
  return math.max(0, b - a)
end

local function preempted(p, c, dt_ns)
  if not (p.vcpu and c.vcpu) then return false end
  local ran = delta(p.vcpu.run_ns, c.vcpu.run_ns)
  local waited = delta(p.vcpu.delay_ns, c.vcpu.delay_ns)
  return ran ~= nil and waited ~= nil and waited > dt_ns / 2 and ran < M.PREEMPT_RUN_NS
end

-- The rq clock did not move while the CPU had work, and neither idleness
-- (NOHZ stops the tick) nor the host (the vCPU thread waited) explains it.
local function stalled(p, c, dt_ns)
  if not c.clock or c.clock == 0 or c.clock ~= p.clock then return false end
  if (p.nr_running or 0) == 0 and (c.nr_running or 0) == 0 then return false end
  return not preempted(p, c, dt_ns)
end

-- Per-sample figures: imbalance, nr_running and DSQ sums, the deepest DSQ.
local function per_sample(s)
  local lo, hi, nr, dsq, deepest, deepest_cpu = math.huge, 0, 0, 0, -1, nil
  for _, c in ipairs(s.cpus) do
    local n = c.nr_running or 0
    lo, hi, nr = math.min(lo, n), math.max(hi, n), nr + n
    dsq = dsq + (c.dsq_depth or 0)
    if (c.dsq_depth or 0) > deepest then deepest, deepest_cpu = c.dsq_depth or 0, c.cpu end
  end
  return { imbalance = hi / math.max(1, lo), nr = nr, dsq = dsq, max_dsq = deepest,
    max_dsq_cpu = deepest_cpu, ncpu = #s.cpus }
end

-- Event and vCPU deltas over the interval from sample p to sample c,
-- summed over the CPUs present in both.
-- Adds what each of the CPU's cumulative counters in group moved since before into iv[group].
local function add_deltas(iv, group, before, now)
  if not (before and before[group] and now[group]) then return end
  iv[group] = iv[group] or {}
  for name, v in pairs(now[group]) do
    local d = delta(before[group][name], v)
    if d then iv[group][name] = (iv[group][name] or 0) + d end
  end
end

local function per_interval(p, c)
  local pc, cc = by_cpu(p), by_cpu(c)
  local iv = { dt = c.t - p.t, run = 0, delay = 0 }
  for cpu, now in pairs(cc) do
    local before = pc[cpu]
    add_deltas(iv, "events", before, now)
    add_deltas(iv, "schedstat", before, now)
    if before and before.vcpu and now.vcpu then
      iv.run = iv.run + (delta(before.vcpu.run_ns, now.vcpu.run_ns) or 0)
      iv.delay = iv.delay + (delta(before.vcpu.delay_ns, now.vcpu.delay_ns) or 0)
      iv.vcpu = true
    end
  end
  return iv
end

local function rate_of(iv, name)
  if not iv.events or iv.dt <= 0 then return nil end
  return (iv.events[name] or 0) / iv.dt
end

-- The highest level a metric held for n consecutive points: over every
-- window of n points with no gap, the window's minimum; the best window.
-- It exceeds a threshold exactly when n consecutive points all do.
local function sustained(points, n)
  local best
  for i = 1, #points - n + 1 do
    local lo, peak = math.huge, nil
    for j = i, i + n - 1 do
      local p = points[j]
      if p.v == nil then
        lo = nil
        break
      end
      lo = math.min(lo, p.v)
      if not peak or p.v > peak.v then peak = p end
    end
    if lo and (not best or lo > best.value) then
      best = { value = lo, from_t = points[i].from, to_t = points[i + n - 1].to, peak = peak.v,
        peak_t = peak.to, peak_cpu = peak.cpu }
    end
  end
  return best
end

local function stuck_episodes(kept, n)
  local episodes, runs = {}, {}
  local function close(cpu)
    local r = runs[cpu]
    if r and r.samples >= n then episodes[#episodes + 1] = r end
    runs[cpu] = nil
  end
  for i = 2, #kept do
    local pc, dt_ns = by_cpu(kept[i - 1]), (kept[i].t - kept[i - 1].t) * 1e9
    for id, c in pairs(by_cpu(kept[i])) do
      local p = pc[id]
      if p and stalled(p, c, dt_ns) then
        local r = runs[id] or { cpu = id, from_t = kept[i - 1].t, samples = 0,
          held = p.dsq_depth or 0 }
        r.to_t, r.samples = kept[i].t, r.samples + 1
        -- tasks in the CPU's own queue all along: handed to it, never run
        r.held = math.min(r.held, c.dsq_depth or 0)
        runs[id] = r
      else
        close(id)
      end
    end
  end
  for cpu in pairs(runs) do close(cpu) end
  table.sort(episodes, function(a, b)
    if a.from_t ~= b.from_t then return a.from_t < b.from_t end
    return a.cpu < b.cpu
  end)
  return episodes
end

local function median(list)
  if #list == 0 then return nil end
  local s = table.move(list, 1, #list, 1, {})
  table.sort(s)
  local m = (#s + 1) // 2
  return #s % 2 == 1 and s[m] or (s[m] + s[m + 1]) / 2
end

-- Contiguous runs of one phase label. An interval belongs to the phase of
-- the sample that ends it, so a phase's time and rates start from the
-- sample before its first.
local function timeline(kept, stats, ivs)
  local out, cur = {}, nil
  for i, s in ipairs(kept) do
    local label = s.phase or "-"
    if not cur or cur.phase ~= label then
      cur = { phase = label, from_t = i > 1 and kept[i - 1].t or s.t, samples = 0,
        imb_sum = 0, max_imbalance = 0, max_dsq_depth = 0, nr = 0, ncpu = 0, dt = 0, fallback = 0,
        keep_last = 0 }
      out[#out + 1] = cur
    end
    local st, iv = stats[i], ivs[i]
    cur.to_t, cur.samples = s.t, cur.samples + 1
    cur.imb_sum, cur.max_imbalance = cur.imb_sum + st.imbalance,
      math.max(cur.max_imbalance, st.imbalance)
    cur.max_dsq_depth = math.max(cur.max_dsq_depth, st.max_dsq)
    cur.nr, cur.ncpu = cur.nr + st.nr, cur.ncpu + st.ncpu
    if iv then
      cur.dt = cur.dt + iv.dt
      local e = iv.events or {}
      cur.fallback = cur.fallback + (e.select_cpu_fallback or 0)
      cur.keep_last = cur.keep_last + (e.dispatch_keep_last or 0)
    end
  end
  for i, c in ipairs(out) do
    out[i] = { phase = c.phase, from_t = c.from_t, to_t = c.to_t, duration_s = c.dt,
      samples = c.samples, avg_imbalance = c.imb_sum / c.samples, max_imbalance = c.max_imbalance,
      max_dsq_depth = c.max_dsq_depth, avg_nr_running = c.nr / c.ncpu,
      fallback_rate = c.dt > 0 and c.fallback / c.dt or 0,
      keep_last_rate = c.dt > 0 and c.keep_last / c.dt or 0 }
  end
  return out
end

local function span(a, b) return ("+%.1fs..+%.1fs"):format(a, b) end

-- The thresholds a summary breaks: { {key =, msg =}, ... }.
local function violations(s, th)
  local out, sus, n = {}, s.sustained, s.sustained.samples
  -- "<name> <value> for N consecutive samples (+a..+b; peak <value>), above <key>=<threshold>"
  local function over(key, metric, name, fmt, what)
    local w = sus[metric]
    if w and w.value > th[key] then
      local shape = name .. " " .. fmt .. " for %d consecutive %s (%s; peak " .. fmt ..
        "%s), above %s=%s"
      local cpu = w.peak_cpu and (" on cpu%d"):format(w.peak_cpu) or ""
      out[#out + 1] = { key = key, msg = shape:format(w.value, n, what, span(w.from_t, w.to_t),
        w.peak, cpu, key, tostring(th[key])) }
    end
  end
  over("max_imbalance_ratio", "imbalance", "imbalance ratio", "%.2f", "samples")
  over("max_local_dsq_depth", "dsq_depth", "local DSQ depth", "%d", "samples")
  if th.fail_on_stall then
    for _, e in ipairs(s.stuck_episodes) do
      out[#out + 1] = { key = "fail_on_stall", msg = ("rq clock stuck on cpu%d for %d samples " ..
        "(%s) with tasks runnable"):format(e.cpu, e.samples, span(e.from_t, e.to_t)) }
    end
  end
  over("max_fallback_rate", "fallback_rate", "select_cpu_fallback", "%.1f/s", "intervals")
  over("max_keep_last_rate", "keep_last_rate", "dispatch_keep_last", "%.1f/s", "intervals")
  return out
end

local function verdict_lines(s, th)
  local lines = {}
  for i, v in ipairs(violations(s, th)) do lines[i] = v.msg end
  if #lines == 0 then lines[1] = "monitor OK" end
  return lines
end

-- summarize(samples [, thresholds]) -> summary (plain data):
--   samples, skipped, period_ms, span_s, max_imbalance, avg_imbalance,
--   avg_nr_running, max_dsq_depth, avg_dsq_depth, stuck, stuck_episodes =
--   { {cpu =, from_t =, to_t =, samples =, held = fewest tasks in its local DSQ} },
--   events = { name = total } |
--   nil, event_rates = { name = per s }, dilation | nil, host = { run_ns =,
--   delay_ns = }, sustained = { samples = n, imbalance =, dsq_depth =,
--   fallback_rate =, keep_last_rate = ({value =, from_t =, to_t =, peak =,
--   peak_t =, peak_cpu =} | nil) }, timeline = { see timeline() },
--   thresholds, verdict = { lines }, inconclusive = msg | nil.
function M.summarize(samples, thresholds)
  V.list(samples, "monitor.summarize")
  local th = M.thresholds(thresholds)
  local kept = {}
  for _, s in ipairs(samples) do
    if M.plausible(s) then kept[#kept + 1] = s end
  end
  local sum = { samples = #kept, skipped = #samples - #kept, thresholds = th }
  local same, clock = clocks_identical(kept)
  if #kept == 0 or same then
    sum.inconclusive = #kept == 0 and "monitor: no samples" or
      ("monitor: guest not yet initialized (every rq clock reads %s)"):format(tostring(clock))
    sum.verdict = { sum.inconclusive }
    return sum
  end

  local stats, ivs, gaps = {}, {}, {}
  local imb, dsq, fb, kl = {}, {}, {}, {}
  local tot = { imb = 0, nr = 0, dsq = 0, ncpu = 0, run = 0, delay = 0 }
  local events, vcpu = nil, false
  for i, s in ipairs(kept) do
    local st = per_sample(s)
    stats[i] = st
    tot.imb, tot.nr, tot.dsq, tot.ncpu = tot.imb + st.imbalance, tot.nr + st.nr, tot.dsq + st.dsq,
      tot.ncpu + st.ncpu
    sum.max_imbalance = math.max(sum.max_imbalance or 0, st.imbalance)
    sum.max_dsq_depth = math.max(sum.max_dsq_depth or 0, st.max_dsq)
    imb[i] = { v = st.imbalance, from = s.t, to = s.t }
    dsq[i] = { v = st.max_dsq, from = s.t, to = s.t, cpu = st.max_dsq_cpu }
    for _, c in ipairs(s.cpus) do
      if c.events then events = events or {} end
    end
    if i > 1 then
      local iv = per_interval(kept[i - 1], s)
      ivs[i], gaps[#gaps + 1] = iv, iv.dt * 1000
      for name, d in pairs(iv.events or {}) do events[name] = (events[name] or 0) + d end
      for name, d in pairs(iv.schedstat or {}) do
        sum.schedstat = sum.schedstat or {}
        sum.schedstat[name] = (sum.schedstat[name] or 0) + d
      end
      tot.run, tot.delay, vcpu = tot.run + iv.run, tot.delay + iv.delay, vcpu or iv.vcpu
      local from, to = kept[i - 1].t, s.t
      fb[#fb + 1] = { v = rate_of(iv, "select_cpu_fallback"), from = from, to = to }
      kl[#kl + 1] = { v = rate_of(iv, "dispatch_keep_last"), from = from, to = to }
    end
  end

  local n = th.sustained_samples
  sum.period_ms = median(gaps)
  sum.span_s = kept[#kept].t - kept[1].t
  sum.avg_imbalance = tot.imb / #kept
  sum.avg_nr_running = tot.nr / tot.ncpu
  sum.avg_dsq_depth = tot.dsq / tot.ncpu
  sum.stuck_episodes = stuck_episodes(kept, n)
  sum.stuck = #sum.stuck_episodes
  sum.events = events
  sum.event_rates = {}
  for name, total in pairs(events or {}) do
    sum.event_rates[name] = sum.span_s > 0 and total / sum.span_s or 0
  end
  if vcpu then
    sum.host = { run_ns = tot.run, delay_ns = tot.delay }
    sum.dilation = tot.run > 0 and 1 + tot.delay / tot.run or nil
  end
  sum.sustained = { samples = n, imbalance = sustained(imb, n), dsq_depth = sustained(dsq, n),
    fallback_rate = sustained(fb, n), keep_last_rate = sustained(kl, n) }
  sum.timeline = timeline(kept, stats, ivs)
  sum.verdict = verdict_lines(sum, th)
  return sum
end

-- A pass that carries a message: report-only findings.
local function note(msg)
  return { status = "pass", details = { { check = "monitor", status = "pass", msg = msg } } }
end

-- outcomes(summary [, thresholds [, enforce]]) -> { verdict, ... }: each
-- violated threshold fails when enforce is true and is a passing note
-- ("report-only: ...") otherwise; no samples or an uninitialized guest is
-- inconclusive when enforced. Sustained runs were measured by summarize,
-- so thresholds must keep its sustained_samples.
function M.outcomes(summary, thresholds, enforce)
  if type(summary) ~= "table" or not summary.verdict then
    V.raise("monitor.outcomes: expected a summary from monitor.summarize, got %s",
      tostring(summary))
  end
  local th = thresholds and M.thresholds(thresholds) or summary.thresholds
  if summary.inconclusive then
    return { enforce and verdict.inconclusive(summary.inconclusive, "monitor") or
      note("report-only: " .. summary.inconclusive) }
  end
  if th.sustained_samples ~= summary.sustained.samples then
    V.raise("monitor.outcomes: sustained_samples %d differs from the %d the summary was made " ..
      "with; summarize again", th.sustained_samples, summary.sustained.samples)
  end
  local out = {}
  for _, v in ipairs(violations(summary, th)) do
    out[#out + 1] = enforce and verdict.fail(v.msg, "monitor") or note("report-only: " .. v.msg)
  end
  if #out == 0 then out[1] = verdict.pass() end
  return out
end

-- host_delay(samples, cpu, t0, t1) -> ms the host kept vCPU cpu's thread
-- waiting between t0 and t1 (seconds, the samples' clock), interpolated
-- linearly between samples; nil without vCPU data. A scheduling gap that
-- this covers was the host's doing, not the guest scheduler's.
function M.host_delay(samples, cpu, t0, t1)
  V.list(samples, "monitor.host_delay")
  V.number(t0, "monitor.host_delay: t0")
  V.number(t1, "monitor.host_delay: t1", t0)
  local pts = {}
  for _, s in ipairs(samples) do
    local c = type(s.cpus) == "table" and by_cpu(s)[cpu]
    if c and c.vcpu and type(c.vcpu.delay_ns) == "number" then
      pts[#pts + 1] = { t = s.t, d = c.vcpu.delay_ns }
    end
  end
  if #pts == 0 then return nil end
  local function at(t)
    if t <= pts[1].t then return pts[1].d end
    for i = 2, #pts do
      local a, b = pts[i - 1], pts[i]
      if t <= b.t then return a.d + (b.d - a.d) * (t - a.t) / (b.t - a.t) end
    end
    return pts[#pts].d
  end
  return math.max(0, at(t1) - at(t0)) / 1e6
end

-- format(summary) -> the --- monitor --- block as a list of lines.
function M.format(s)
  local first = ("samples=%d"):format(s.samples)
  if s.inconclusive then
    if s.skipped > 0 then first = first .. (" skipped=%d"):format(s.skipped) end
    return { first, "verdict: " .. s.inconclusive }
  end
  first = ("%s max_imbalance=%.2f max_dsq_depth=%d stuck=%d"):format(first, s.max_imbalance,
    s.max_dsq_depth, s.stuck)
  if s.skipped > 0 then first = first .. (" skipped=%d"):format(s.skipped) end
  local out = { first, ("avg: imbalance=%.2f nr_running/cpu=%.1f dsq/cpu=%.1f"):format(
    s.avg_imbalance, s.avg_nr_running, s.avg_dsq_depth) }
  local e, r = s.events, s.event_rates
  if e then
    out[#out + 1] = ("events: fallback=%d (%.1f/s) keep_last=%d (%.1f/s) offline=%d"):format(
      e.select_cpu_fallback or 0, r.select_cpu_fallback or 0, e.dispatch_keep_last or 0,
      r.dispatch_keep_last or 0, e.dispatch_local_dsq_offline or 0)
    local shown = { select_cpu_fallback = true, dispatch_keep_last = true,
      dispatch_local_dsq_offline = true }
    -- the known counters in their order, then any the kernel added since
    local names, extra = table.move(M.EVENTS, 1, #M.EVENTS, 1, {}), {}
    for _, k in ipairs(V.sorted(e)) do names[#names + 1] = k end
    for _, k in ipairs(names) do
      if not shown[k] and (e[k] or 0) > 0 then
        shown[k], extra[#extra + 1] = true, ("%s=%d"):format(k, e[k])
      end
    end
    if #extra > 0 then out[#out + 1] = "events+: " .. table.concat(extra, " ") end
  else
    out[#out + 1] = "events: none (no scheduler attached)"
  end
  local ss = s.schedstat
  if ss and s.span_s and s.span_s > 0 then
    -- run_delay: runnable-but-waiting time summed over CPUs, per second of the run
    out[#out + 1] = ("schedstat: csw=%d (%.0f/s) run_delay=%.1fms/s ttwu=%d goidle=%d"):format(
      ss.csw or 0, (ss.csw or 0) / s.span_s, (ss.run_delay_ns or 0) / 1e6 / s.span_s,
      ss.ttwu or 0, ss.goidle or 0)
  end
  out[#out + 1] = ("host: dilation=%s period=%s"):format(
    s.dilation and ("%.2f"):format(s.dilation) or "n/a",
    s.period_ms and ("%.0fms"):format(s.period_ms) or "n/a")
  for _, l in ipairs(s.verdict) do out[#out + 1] = "verdict: " .. l end
  return out
end

-- format_timeline(summary) -> one line per phase.
function M.format_timeline(s)
  local out = {}
  for i, p in ipairs(s.timeline or {}) do
    out[i] = ("%s: %s (%.1fs) samples=%d imbalance=%.2f max=%.2f max_dsq=%d nr_running/cpu=%.1f " ..
      "fallback=%.1f/s keep_last=%.1f/s"):format(p.phase, span(p.from_t, p.to_t), p.duration_s,
      p.samples, p.avg_imbalance, p.max_imbalance, p.max_dsq_depth, p.avg_nr_running,
      p.fallback_rate, p.keep_last_rate)
  end
  return out
end

return M
