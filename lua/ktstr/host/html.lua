-- The --html report: one self-contained page per run of ktstr script (inline CSS and SVG).
local monitor = require("ktstr.host.monitor")
local report = require("ktstr.host.report")
local svg = require("ktstr.host.svg")

local esc, el = svg.esc, svg.el

local M = {}

M.MAX_CELLS = 400     -- heat cells per CPU; a longer run is binned, each bin its deepest value
M.MAX_HEAT = 6400     -- and per strip kind over all CPUs: 64 CPUs get 100 cells each
M.MAX_MARKERS = 40    -- events and snapshots on one timeline; the rest are counted
M.MAX_WORKERS = 64    -- gap lanes and throughput bars per test
M.MAX_DETAILS = 50    -- detail rows per check; the rest are counted

local SCHED_ERROR = 1024  -- SCX_EXIT_ERROR: an exit kind from here up is the scheduler failing

-- Seconds to the millisecond: the plots need no more, and the page stays small.
local function ms3(t) return math.floor(t * 1000 + 0.5) / 1000 end

--[[
heat(samples) -> { t = {cell start}, t_end =, cpus = { {cpu =, nr = {},
dsq = {}} } } or nil without a sample to draw: per CPU its nr_running and
local DSQ depth in each cell (-1: the CPU was not in that sample). The
samples the monitor judges (monitor.plausible), one cell each, or bins of
several (each its deepest value, so a spike stays visible) past MAX_CELLS
per CPU or MAX_HEAT over all of them.
]]
function M.heat(samples)
  local kept = {}
  for _, s in ipairs(samples or {}) do
    if type(s.t) == "number" and monitor.plausible(s) then kept[#kept + 1] = s end
  end
  if #kept == 0 then return nil end
  local ids, index = {}, {}
  for _, s in ipairs(kept) do
    for i, c in ipairs(s.cpus) do
      local id = c.cpu or i - 1
      if not index[id] then index[id], ids[#ids + 1] = true, id end
    end
  end
  table.sort(ids)
  local heat = { t = {}, cpus = {} }
  for n, id in ipairs(ids) do
    index[id], heat.cpus[n] = n, { cpu = id, nr = {}, dsq = {} }
  end
  local per = math.ceil(#kept / math.max(1, math.min(M.MAX_CELLS, M.MAX_HEAT // #ids)))
  for b = 1, math.ceil(#kept / per) do
    local first = (b - 1) * per + 1
    local nr, dsq = {}, {}
    for i = first, math.min(#kept, first + per - 1) do
      for j, c in ipairs(kept[i].cpus) do
        local n = index[c.cpu or j - 1]
        nr[n] = math.max(nr[n] or 0, c.nr_running or 0)
        dsq[n] = math.max(dsq[n] or 0, c.dsq_depth or 0)
      end
    end
    heat.t[b] = ms3(kept[first].t)
    for n, c in ipairs(heat.cpus) do c.nr[b], c.dsq[b] = nr[n] or -1, dsq[n] or -1 end
  end
  -- a sample stands for the period after it; the last lasts one period too
  local span = kept[#kept].t - kept[1].t
  heat.t_end = ms3(kept[#kept].t + (#kept > 1 and span / (#kept - 1) or 0.1))
  return heat
end

-- The scheduler as the samples saw it: attached, detached, its exit and the kind of it.
local function sched_markers(samples, out)
  local on, exited
  for _, s in ipairs(samples or {}) do
    if type(s.t) == "number" then
      if type(s.sched) == "boolean" then
        if on ~= nil and s.sched ~= on then
          out[#out + 1] = { t = s.t, class = "sched",
            label = s.sched and "scheduler attached" or "scheduler detached" }
        end
        on = s.sched
      end
      local kind = math.max(s.exit_kind or 0, s.exit_info_kind or 0)
      if kind ~= 0 and not exited then
        out[#out + 1] = { t = s.t, class = kind >= SCHED_ERROR and "error" or "sched",
          label = kind >= SCHED_ERROR and "scheduler error exit" or "scheduler exit",
          why = ("the kernel's exit kind %d"):format(kind) }
      end
      exited = kind ~= 0
    end
  end
end

-- One lane per worker: its longest gap, placed on the monitor's clock when the guest's is known.
local function gap_lanes(result, offset)
  local out = {}
  for _, cg in ipairs(result.cgroups or {}) do
    for _, w in ipairs(cg.workers or {}) do
      local g = { label = ("%s %d"):format(cg.name, w.pid), ms = (w.max_gap_ns or 0) / 1e6,
        cpu = w.max_gap_cpu }
      if offset and w.start_s and w.max_gap_at_ns and (w.max_gap_ns or 0) > 0 then
        g.to_t = ms3(w.start_s + w.max_gap_at_ns / 1e9 + offset)
        g.from_t = ms3(g.to_t - w.max_gap_ns / 1e9)
      end
      if #out < M.MAX_WORKERS then out[#out + 1] = g end
    end
  end
  return out
end

--[[
plot(result) -> what svg.timeline draws for one run, on the host
monitor's clock (0: the monitor's start, after the boot): the heat, the
phases the guest announced, markers (scheduler attached, detached or
exited as the samples saw it; snapshots with their time; stuck CPUs), the
stuck episodes and each worker's longest gap. Plain data: a -j worker
sends it to its parent as JSON.
]]
function M.plot(result)
  local m = result.monitor or {}
  local sum = m.summary or {}
  local p = { t0 = 0, heat = M.heat(m.samples), phases = {}, markers = {}, stuck = {},
    monitor_off = m.off or m.sample_error }
  local t1 = m.wall_s or 0
  if p.heat then t1 = math.max(t1, p.heat.t_end) end
  local markers = {}
  sched_markers(m.samples, markers)
  local names = {}
  for name, snap in pairs(result.snapshots or {}) do
    if type(snap) == "table" and type(snap.t) == "number" then names[#names + 1] = name end
  end
  table.sort(names)
  for _, name in ipairs(names) do
    local snap = result.snapshots[name]
    markers[#markers + 1] = { t = snap.t, class = name == "failure_dump" and "error" or "snapshot",
      label = name == "failure_dump" and "failure dump" or "snapshot " .. name, why = snap.why }
  end
  for _, e in ipairs(sum.stuck_episodes or {}) do
    p.stuck[#p.stuck + 1] = { cpu = e.cpu, from_t = ms3(e.from_t), to_t = ms3(e.to_t) }
    markers[#markers + 1] = { t = e.from_t, class = "stuck", label = ("cpu%d stuck"):format(e.cpu),
      why = ("rq clock frozen with tasks runnable until +%.2fs"):format(e.to_t) }
  end
  table.sort(markers, function(a, b)
    if a.t ~= b.t then return a.t < b.t end
    return a.label < b.label
  end)
  for i, mk in ipairs(markers) do
    if i > M.MAX_MARKERS then
      p.markers_left = #markers - M.MAX_MARKERS
      break
    end
    mk.t = ms3(mk.t)
    p.markers[i] = mk
    t1 = math.max(t1, mk.t)
  end
  for i, ph in ipairs(m.phases or {}) do
    local to = m.phases[i + 1] and m.phases[i + 1].t or t1
    p.phases[i] = { label = tostring(ph.label), from_t = ms3(ph.t), to_t = ms3(math.max(to, ph.t)) }
  end
  p.gaps = gap_lanes(result, m.guest_offset)
  for _, g in ipairs(p.gaps) do t1 = math.max(t1, g.to_t or 0) end
  p.t1 = ms3(t1)
  return p
end

--[[
throughput(result) -> one bar per worker (at most MAX_WORKERS): its work
units per second of its wall time, grouped by cgroup, its other figures in
the bar's hover text.
]]
function M.throughput(result)
  local rows = {}
  for _, cg in ipairs(result.cgroups or {}) do
    for _, w in ipairs(cg.workers or {}) do
      local wall = (w.wall_ns or 0) / 1e9
      local rate = wall > 0 and (w.work_units or 0) / wall or 0
      if #rows < M.MAX_WORKERS then
        rows[#rows + 1] = { label = ("%s %d"):format(cg.name, w.pid), group = cg.name,
          value = rate, text = ("%.1f"):format(rate),
          title = ("%s tid %d (%s): %d work units, %d iterations in %.2fs wall, %.2fs on CPU, " ..
            "%d migrations, cpus %s"):format(cg.name, w.pid, tostring(w.work or "?"),
            w.work_units or 0, w.iterations or 0, wall, (w.cpu_ns or 0) / 1e9,
            w.migrations or 0, table.concat(w.cpus or {}, ",")) }
      end
    end
  end
  return rows
end

-- The details in verdict order, at most MAX_DETAILS per check, with how many were left out.
local function details_of(v)
  local out, shown = {}, {}
  for _, d in ipairs(v.details or {}) do
    local check = tostring(d.check or "?")
    shown[check] = (shown[check] or 0) + 1
    if shown[check] <= M.MAX_DETAILS then
      out[#out + 1] = { check = check, status = d.status, msg = tostring(d.msg) }
    end
  end
  for check, n in pairs(shown) do
    if n > M.MAX_DETAILS then
      out[#out + 1] = { check = check, status = "", msg = ("... and %d more"):format(n -
        M.MAX_DETAILS) }
    end
  end
  return out
end

--[[
entry(test, v, result) -> what the page shows of one test run beyond its
case (name, status, time, root cause, text report): its title, verdict,
root cause, BUG SUMMARY, details, per-cgroup stats, the monitor's block and
per-phase table, and the data of its plots. Plain data, JSON-safe.
]]
function M.entry(test, v, result)
  local c = report.cause(v)
  local e = { title = report.title(test, result), status = v.status, cause = c and c.msg,
    details = details_of(v) }
  -- bad input: the script is wrong, so what the guest saw is beside the point (as the report)
  if not result or v.status == "error" then return e end
  e.bug = result.bug
  e.kernel, e.accel, e.duration_s = result.kernel, result.accel, result.duration_s
  if v.stats and v.stats.workers > 0 then e.stats = v.stats end
  local m = result.monitor
  if m then
    local sum = m.summary
    e.monitor = sum and monitor.format(sum) or { "monitor off: " .. tostring(m.off or
      m.sample_error or "no samples") }
    e.phases = sum and sum.timeline
  end
  if m or result.cgroups then
    e.plot = M.plot(result)
    e.bars = M.throughput(result)
    local n = 0
    for _, cg in ipairs(result.cgroups or {}) do n = n + #(cg.workers or {}) end
    if n > #e.bars then e.workers_left = n - #e.bars end
  end
  return e
end

local CSS = [[
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1000px;
  color: #1d1f23; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 .2em; }
h2 { font-size: 1.15em; margin: 0 0 .4em; word-break: break-word; }
h3 { font-size: .95em; margin: 1em 0 .3em; color: #444; }
table { border-collapse: collapse; margin: .3em 0; }
th, td { border: 1px solid #d8dbe0; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.summary td.msg, table.details td:last-child { word-break: break-word; }
pre { background: #f6f7f9; border: 1px solid #e1e3e8; padding: .5em; overflow-x: auto;
  font-size: 12px; white-space: pre-wrap; word-break: break-word; }
section.test { border: 1px solid #d8dbe0; border-left-width: 6px; padding: .6em 1em;
  margin: 1.2em 0; }
section.pass { border-left-color: #2e8b57; }
section.fail { border-left-color: #c62828; }
section.inconclusive { border-left-color: #e69500; }
section.error { border-left-color: #7b1fa2; }
section.skip { border-left-color: #8a8f98; }
.badge { display: inline-block; padding: 0 .45em; border-radius: 3px; color: #fff;
  font-weight: 600; font-size: .85em; }
.badge.pass { background: #2e8b57; }
.badge.fail { background: #c62828; }
.badge.inconclusive { background: #e69500; }
.badge.error { background: #7b1fa2; }
.badge.skip { background: #8a8f98; }
.cause { font-weight: 600; word-break: break-word; }
.bug { color: #c62828; font-weight: 600; word-break: break-word; }
.meta { color: #555; font-size: .9em; word-break: break-word; }
.note { color: #666; font-size: .9em; }
svg { display: block; margin: .2em 0; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg text.tick { text-anchor: middle; font-size: 10px; fill: #666; }
svg text.lbl { text-anchor: end; }
svg text.lbl-l { text-anchor: start; }
svg text.sec { font-weight: 600; fill: #444; }
svg line.grid { stroke: #e6e8ec; stroke-width: 1; }
svg line.base { stroke: #d8dbe0; stroke-width: 1; }
svg rect.gap { fill: #c62828; }
svg rect.stuck { fill: none; stroke: #c62828; stroke-width: 1.5; }
svg g.marker line { stroke-width: 1.2; stroke-dasharray: 3 2; }
svg g.marker.sched line { stroke: #1f5fa8; }
svg g.marker.snapshot line { stroke: #2e8b57; }
svg g.marker.error line { stroke: #c62828; stroke-dasharray: none; }
svg g.marker.stuck line { stroke: #7b1fa2; }
svg g.marker.sched text { fill: #1f5fa8; }
svg g.marker.snapshot text { fill: #2e8b57; }
svg g.marker.error text { fill: #c62828; }
svg g.marker.stuck text { fill: #7b1fa2; }
]]

local WORD = { pass = "PASS", fail = "FAIL", inconclusive = "INCONCLUSIVE", skip = "SKIP",
  error = "ERROR" }

local function badge(status)
  return el("span", { class = "badge " .. tostring(status) }, esc(WORD[status] or status))
end

local function td(s, cls) return el("td", cls and { class = cls } or nil, esc(s)) end

local function row(cells, head)
  local out = {}
  for i, c in ipairs(cells) do
    out[i] = head and el("th", nil, esc(c)) or
      (type(c) == "number" and td(svg.num(c), "num") or td(c))
  end
  return el("tr", nil, table.concat(out))
end

local function tbl(cls, head, rows)
  local body = {}
  for i, r in ipairs(rows) do body[i] = row(r) end
  return el("table", { class = cls }, el("thead", nil, row(head, true)) ..
    el("tbody", nil, table.concat(body)))
end

local function pre(lines) return el("pre", nil, esc(table.concat(lines, "\n"))) end

local function stats_table(s)
  local rows = {}
  for _, c in ipairs(s.cgroups or {}) do
    rows[#rows + 1] = { c.name, c.workers, c.cpus, ("%.1f%%"):format(c.spread),
      ("%.0fms"):format(c.gap_ms), c.migrations, c.iterations, c.work_units or 0 }
  end
  return el("p", { class = "note" }, esc(("%d workers on %d cpus, %d migrations, worst spread " ..
    "%.1f%%, worst gap %.0fms"):format(s.workers, s.cpus, s.migrations, s.worst_spread,
    s.worst_gap_ms))) ..
    tbl("stats", { "cgroup", "workers", "cpus", "spread", "max gap", "migrations", "iterations",
      "work units" }, rows)
end

local function phases_table(timeline)
  local rows = {}
  for _, p in ipairs(timeline) do
    rows[#rows + 1] = { p.phase, ("+%.1fs..+%.1fs"):format(p.from_t, p.to_t),
      ("%.2f"):format(p.avg_imbalance), ("%.2f"):format(p.max_imbalance), p.max_dsq_depth,
      ("%.1f"):format(p.avg_nr_running), ("%.1f/s"):format(p.fallback_rate),
      ("%.1f/s"):format(p.keep_last_rate) }
  end
  return tbl("phases", { "phase", "span", "imbalance", "max", "max DSQ", "nr_running/cpu",
    "fallback", "keep_last" }, rows)
end

-- One test run's section: its case (and entry when the run got that far).
local function section(n, c)
  local e = type(c.html) == "table" and c.html or {}
  local status = c.status
  local out = { el("h2", nil, badge(status) .. " " .. esc(e.title or c.name) ..
    (e.title and " " .. el("span", { class = "note" }, esc(("(%s, %.1fs)"):format(c.name,
      c.time or 0))) or "")) }
  local facts = {}
  if e.kernel then facts[#facts + 1] = "kernel " .. e.kernel end
  if e.accel then facts[#facts + 1] = e.accel end
  if e.duration_s then facts[#facts + 1] = ("the guest ran the test %.1fs"):format(e.duration_s) end
  if #facts > 0 then
    out[#out + 1] = el("p", { class = "meta" }, esc(table.concat(facts, " · ")))
  end
  if e.bug then out[#out + 1] = el("p", { class = "bug" }, esc("BUG SUMMARY: " .. e.bug)) end
  if status ~= "pass" then
    out[#out + 1] = el("p", { class = "cause" }, esc(e.cause or c.message or ""))
  end
  if e.error then
    out[#out + 1] = el("p", { class = "note" }, esc("plots not drawn: " .. e.error))
  end
  if e.details and #e.details > 0 then
    local rows = {}
    for i, d in ipairs(e.details) do rows[i] = { d.check, d.status, d.msg } end
    out[#out + 1] = el("h3", nil, "details") .. tbl("details", { "check", "status", "message" },
      rows)
  end
  if e.stats then out[#out + 1] = el("h3", nil, "per-cgroup stats") .. stats_table(e.stats) end
  if e.plot then
    out[#out + 1] = el("h3", nil, "timeline") .. svg.timeline(e.plot)
    if e.plot.markers_left then
      out[#out + 1] = el("p", { class = "note" }, esc(("... and %d more events not drawn")
        :format(e.plot.markers_left)))
    end
  end
  if e.bars and #e.bars > 0 then
    out[#out + 1] = el("h3", nil, "throughput per worker") ..
      svg.bars({ rows = e.bars, unit = "work units/s" })
  end
  if e.workers_left then
    out[#out + 1] = el("p", { class = "note" }, esc(("... and %d more workers not drawn")
      :format(e.workers_left)))
  end
  if e.monitor then out[#out + 1] = el("h3", nil, "monitor") .. pre(e.monitor) end
  if e.phases and #e.phases > 0 then
    out[#out + 1] = el("h3", nil, "per phase") .. phases_table(e.phases)
  end
  if c.output and c.output ~= "" then
    out[#out + 1] = el("details", status ~= "pass" and { open = "open" } or nil,
      el("summary", nil, "text report") .. el("pre", nil, esc(c.output)))
  end
  return el("section", { class = "test " .. tostring(status), id = "t" .. n },
    table.concat(out))
end

--[[
render{cases =, counts =, time =, run = {id =, host =, commit =}, argv =}
-> the page. cases are the runner's (name, status, time, message = the root
cause, output = the text report), each with html = entry(...) when its run
got that far; counts what report.summary takes.
]]
function M.render(r)
  local cases = r.cases or {}
  local summary = report.summary(r.counts or {})
  local meta = {}
  if r.argv then meta[#meta + 1] = "ktstr script " .. table.concat(r.argv, " ") end
  local run = r.run or {}
  if run.id then meta[#meta + 1] = "run " .. run.id end
  if run.commit then meta[#meta + 1] = "commit " .. run.commit end
  if run.host then
    meta[#meta + 1] = ("host %s (%s CPUs%s)"):format(tostring(run.host.uname),
      tostring(run.host.cpus), run.host.cpu_model and ", " .. run.host.cpu_model or "")
  end
  if r.time then meta[#meta + 1] = ("%.1fs"):format(r.time) end
  local rows = {}
  for n, c in ipairs(cases) do
    rows[n] = el("tr", nil, td(n, "num") ..
      el("td", nil, el("a", { href = "#t" .. n }, esc(c.name))) ..
      el("td", nil, badge(c.status)) .. td(("%.1fs"):format(c.time or 0), "num") ..
      td(c.status == "pass" and "" or c.message or "", "msg"))
  end
  local sections = {}
  for n, c in ipairs(cases) do sections[n] = section(n, c) end
  return "<!DOCTYPE html>\n" .. el("html", { lang = "en" },
    el("head", nil, el("meta", { charset = "utf-8" }) ..
      el("title", nil, esc("ktstr: " .. summary)) .. el("style", nil, CSS)) ..
    el("body", nil, el("h1", nil, "ktstr") ..
      el("p", { class = "meta" }, esc(table.concat(meta, " · "))) ..
      el("p", { class = "counts" }, esc(summary)) ..
      el("table", { class = "summary" }, el("thead", nil, row({ "#", "test", "verdict", "time",
        "root cause" }, true)) .. el("tbody", nil, table.concat(rows))) ..
      table.concat(sections))) .. "\n"
end

return M
