-- What a run prints: the verdict, root cause first; stats; console tail; the replay command.
local cpuset = require("ktstr.cpuset")
local show = require("ktstr.show")

local M = {}

local WORD = { pass = "PASS", fail = "FAIL", inconclusive = "INCONCLUSIVE", skip = "SKIP",
  error = "ERROR" }
local PER_CHECK = 8  -- detail lines shown per check; the rest are counted

function M.scheduler_name(test)
  return test.scheduler and test.scheduler.name or "eevdf"
end

-- "mixed_workloads [sched=eevdf] [topo=1n2l2c1t]"; a failure's header adds
-- the ops name the kernel showed, when it is not the declared name.
function M.title(test, result)
  local ops = result and result.sched and result.sched.ops
  local name = M.scheduler_name(test)
  if type(ops) == "string" and ops ~= name then name = ("%s ops=%s"):format(name, ops) end
  return ("%s [sched=%s] [topo=%s]%s"):format(test.name, name, cpuset.topo_name(test),
    test.kernel_label and (" [kernel=%s]"):format(test.kernel_label) or "")
end

--[[
A pass in one line, plus one more when the host could not watch it (a
kernel whose BTF lacks a field the monitor reads): a pass is then weaker.
]]
function M.pass_line(test, seconds, result)
  local line = ("PASS %s (%.1fs)"):format(M.title(test), seconds)
  local m = result and result.monitor
  if m and m.off then line = line .. "\nmonitor off: " .. tostring(m.off) end
  return line
end

-- The root cause: the first detail that carries the verdict's own status.
function M.cause(v)
  for _, d in ipairs(v.details) do
    if d.status == v.status then return d end
  end
end

local function shell_word(s)
  return s:match("^[%w_./:=@+-]+$") and s or "'" .. s:gsub("'", "'\\''") .. "'"
end

local function stats_lines(out, s)
  out[#out + 1] = "--- stats ---"
  if s.workers > 0 then
    out[#out + 1] = ("%d workers, %d cpus, %d migrations, worst_spread=%.1f%%, worst_gap=%.0fms")
      :format(s.workers, s.cpus, s.migrations, s.worst_spread, s.worst_gap_ms)
  end
  for _, c in ipairs(s.cgroups) do
    out[#out + 1] = ("%s: workers=%d cpus=%d spread=%.1f%% gap=%.0fms migrations=%d iter=%d")
      :format(c.name, c.workers, c.cpus, c.spread, c.gap_ms, c.migrations, c.iterations)
  end
  for _, p in ipairs(s.payloads or {}) do
    out[#out + 1] = require("ktstr.host.payloads").stats_line(p)
  end
end

-- A stuck CPU, and whether the monitor saw it before the scheduler went away.
local function stuck_line(e, sum)
  local seen = e.from_t + sum.sustained.samples * (sum.period_ms or 100) / 1000
  local when = ""
  if sum.sched_exit_t then
    when = seen <= sum.sched_exit_t and
      (", seen %.1fs before the scheduler exited (+%.2fs)"):format(sum.sched_exit_t - seen,
        sum.sched_exit_t) or (", after the scheduler exited (+%.2fs)"):format(sum.sched_exit_t)
  end
  local held = (e.held or 0) > 0 and (", %d in its local DSQ throughout"):format(e.held) or ""
  return ("stuck: cpu%d rq clock frozen with runnable tasks%s +%.2fs..+%.2fs (%d samples)%s")
    :format(e.cpu, held, e.from_t, e.to_t, e.samples, when)
end

-- --- monitor ---: the host's view of the guest (summary, stuck CPUs), then the per-phase timeline.
local function monitor_lines(out, m)
  out[#out + 1] = "--- monitor ---"
  local wd = require("ktstr.host.watchdog").format(m.watchdog)
  if not m.summary then
    out[#out + 1] = "monitor off: " .. tostring(m.off or m.sample_error or "no samples")
    table.move(wd, 1, #wd, #out + 1, out)
    return
  end
  local monitor = require("ktstr.host.monitor")
  local block = monitor.format(m.summary)
  table.move(block, 1, #block, #out + 1, out)
  table.move(wd, 1, #wd, #out + 1, out)
  for i, p in ipairs(m.progs or {}) do
    if i > 6 then
      out[#out + 1] = ("bpf: ... and %d more programs"):format(#m.progs - 6)
      break
    end
    out[#out + 1] = ("bpf: %s cnt=%d %.0fns/call"):format(p.name, p.cnt, p.nsecs / p.cnt)
  end
  for i, e in ipairs(m.summary.stuck_episodes or {}) do
    if i > 4 then
      out[#out + 1] = ("stuck: ... and %d more"):format(#m.summary.stuck_episodes - 4)
      break
    end
    out[#out + 1] = stuck_line(e, m.summary)
  end
  local tl = monitor.format_timeline(m.summary)
  if #tl > 0 then
    out[#out + 1] = "--- timeline ---"
    table.move(tl, 1, #tl, #out + 1, out)
  end
end

-- --- failure dump ---: the scheduler's globals and maps as the host read them when it failed.
local function dump_lines(out, dump)
  out[#out + 1] = ("--- failure dump (+%.2fs, guest paused %.1fms) ---"):format(dump.t or 0,
    dump.pause_ms or 0)
  if dump.why then out[#out + 1] = "taken because " .. dump.why end
  for _, m in ipairs(dump.maps or {}) do
    local globals = m.name:match("%.bss$") or m.name:match("%.data$") or m.name:match("%.rodata$")
    local e = m.entries and m.entries[1]
    if globals and e and type(e.value) == "table" then
      local names = {}
      for k in pairs(e.value) do names[#names + 1] = k end
      table.sort(names)
      for _, k in ipairs(names) do
        out[#out + 1] = ("%s %s = %s"):format(m.name, k, show.value(e.value[k], { max = 160 }))
      end
    else
      out[#out + 1] = ("map %s (%s): %s"):format(m.name, m.type, m.entries and
        ("%d entries"):format(#m.entries) or (m.error or "not read"))
    end
  end
end

local function console_lines(out, console, n)
  local lines = {}
  for l in console:gmatch("[^\n]*") do lines[#lines + 1] = l end
  while #lines > 0 and lines[#lines] == "" do lines[#lines] = nil end
  if #lines == 0 then return end
  out[#out + 1] = ("--- console (last %d lines) ---"):format(math.min(n, #lines))
  table.move(lines, math.max(1, #lines - n + 1), #lines, #out + 1, out)
end

-- format(test, verdict, result, {file =, console_lines = 40}) -> text:
-- "FAIL name [sched=..] [topo=..]: <root cause>", one line per detail
-- (check: message), --- stats ---, QEMU's stderr (a guest that did not
-- boot), the console tail, the replay command. Much of it is the guest's
-- words (details, logs, console): show.text escapes what a terminal would act on.
function M.format(test, v, result, opts)
  opts = opts or {}
  local c = M.cause(v)
  -- the header takes the cause's first line; the detail below keeps all of it
  local out = {}
  -- a broken scheduler is the root cause, whatever the checks then saw
  if result and result.bug then out[1] = "BUG SUMMARY: " .. result.bug end
  out[#out + 1] = ("%s %s%s"):format(WORD[v.status], M.title(test, result),
    c and ": " .. c.msg:match("^[^\n]*") or "")
  local shown, checks = {}, {}
  for _, d in ipairs(v.details) do
    if not shown[d.check] then checks[#checks + 1], shown[d.check] = d.check, 0 end
    shown[d.check] = shown[d.check] + 1
    if shown[d.check] <= PER_CHECK then
      local tag = d.status == v.status and "" or (" (%s)"):format(d.status)
      out[#out + 1] = ("  %s%s: %s"):format(d.check, tag, d.msg)
    end
  end
  for _, check in ipairs(checks) do
    local more = shown[check] - PER_CHECK
    if more > 0 then out[#out + 1] = ("  %s: ... and %d more"):format(check, more) end
  end
  -- bad input: the script is wrong, so what the guest saw is beside the point
  if v.status == "error" then result = nil end
  if v.stats and (v.stats.workers > 0 or #(v.stats.payloads or {}) > 0) and result then
    stats_lines(out, v.stats)
    require("ktstr.host.payloads").output_lines(out, result)
  end
  if result and result.monitor then monitor_lines(out, result.monitor) end
  local dump = result and result.snapshots and result.snapshots.failure_dump
  if dump then dump_lines(out, dump) end
  local s = result and result.sched
  if s and s.log and s.log ~= "" then
    out[#out + 1] = "--- scheduler log ---"
    out[#out + 1] = s.log
  end
  if s and s.failure and s.kernel and s.kernel ~= "" then
    out[#out + 1] = "--- kernel (sched_ext) ---"
    out[#out + 1] = s.kernel
  end
  if result and result.qemu_stderr then
    out[#out + 1] = "--- qemu stderr ---"
    out[#out + 1] = (result.qemu_stderr:gsub("\n+$", ""))
  end
  if result and result.console then console_lines(out, result.console, opts.console_lines or 40) end
  if opts.file then
    out[#out + 1] = ("replay: ktstr script %s --filter %s%s%s"):format(shell_word(opts.file),
      shell_word(test.name), test.preset and " --gauntlet" or "",
      test.kernel_label and " --kernel " .. shell_word(test.kernel_label) or "")
  end
  return show.text(table.concat(out, "\n") .. "\n")
end

-- "3 passed, 1 failed" (+ ", N skipped", ", N inconclusive", ", N errors" when there are any).
function M.summary(c)
  local s = ("%d passed, %d failed"):format(c.passed or 0, c.failed or 0)
  if (c.skipped or 0) > 0 then s = s .. (", %d skipped"):format(c.skipped) end
  if (c.inconclusive or 0) > 0 then s = s .. (", %d inconclusive"):format(c.inconclusive) end
  if (c.errors or 0) > 0 then
    s = s .. (", %d error%s (bad input)"):format(c.errors, c.errors > 1 and "s" or "")
  end
  return s
end

-- The --json record of one test: plain data, ready for cjson.
function M.json(test, v, result)
  result = result or {}
  return {
    test = test.name, source = test.source, scheduler = M.scheduler_name(test),
    scheduler_ops = result.sched and result.sched.ops,
    topology = cpuset.topo_name(test), status = v.status, passed = v.status == "pass",
    skipped = v.status == "skip", inconclusive = v.status == "inconclusive",
    details = v.details, stats = v.stats, duration_s = result.duration_s or test.duration_s,
    accel = result.accel,
    monitor = result.monitor and (result.monitor.summary or { off = result.monitor.off }),
    snapshots = result.snapshots,
  }
end

return M
