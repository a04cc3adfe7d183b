-- `ktstr stats`: the runs' sidecar records listed, one run's metrics shown, two sets compared.
local argparse = require("ktstr.host.argparse")
local core = require("ktstr.core")
local read_json = require("ktstr.host.kernel").read_json
local welch = require("ktstr.host.welch")

local M = {}

local USAGE = [==[
usage: ktstr stats list [DIR]
       ktstr stats show RUN
       ktstr stats compare BASE NEW [--base DIR]... [--new DIR]... [--alpha P]

  list     the runs under DIR (default: ktstr-results): directory, kernel,
           commit, date, tests, records and verdicts
  show     per test in RUN (a run directory or record file): verdicts and
           metrics (mean and stdev when a test has several records)
  compare  per test and metric: n, mean and stdev of each side, delta %, a
           Welch's t-test p-value, and a verdict line per test. Each side is
           every record under its directories: repeats and several runs are
           samples. Exit 1 when a metric got worse beyond its noise floor
           with p < P (default 0.05), or, with one sample on a side, beyond
           twice its floor; or a test that passed in every BASE record failed
           in NEW. Otherwise exit 2 when a test has no pass or fail record
           on a side (nothing to judge), and 0. Bad input exits 2.
]==]

local bad = argparse.complainer("stats", USAGE)

M.ALPHA = 0.05
-- with one sample on a side there is no spread to test: the floor widens instead
M.WIDE = 2

local function num(x) return type(x) == "number" and x == x and x or nil end

local function ratio(a, b)
  a, b = num(a), num(b)
  return a and b and b > 0 and a / b or nil
end

--[[
The metrics, each with the side that is better (nil: shown, never judged)
and its noise floor: a change smaller than max(rel * |base mean|, abs) is
noise whatever the p-value. Tail figures (a p99, a maximum) are judged only
with two samples a side or more (min_n): one run's tail says little.

The floors come from six clean and four throttled runs of
spec/vm/scripts/stats_*.lua under TCG on a loaded 2-CPU host. There host
contention moved work rates by up to 40% between identical runs, p99 wake
latency 8-fold and max gaps from 33 to 330 ms; shares of time the guest's
own clock measures (off-CPU, run delay) moved by a few points. A rate times
the host's dilation (vCPU runnable time over the time the host ran it) is
the rate per second the host gave the guest: within 10% across those runs,
so the "adj" rates are judged and the raw ones shown. A scheduler that
idles CPUs still lowers it, since an idle vCPU is not runnable on the host.
But not always: in one make check beside other guests a clean run's adj
rates fell 60% against the one before at the same dilation (1.64, 1.61),
so rates are judged from three samples a side (min_n), where Welch's test
sees the spread; with fewer, the shares of time (off-CPU, run delay) judge.
TCG-calibrated floors are loose under KVM, never tight.

Cgroup metrics take (stats cgroup, its cgroup_times entry, the record).
]]
local function per_s(count, t) return ratio(count, t and t.wall_s / t.workers) end

local function adjusted(count, t, r)
  local v, d = per_s(count, t), num(r.host_dilation)
  return v and d and d >= 1 and v * d or nil
end

M.CGROUP_METRICS = {
  { key = "work/s", get = function(c, t) return per_s(c.work_units, t) end },
  { key = "work/s adj", better = "higher", rel = 0.25, abs = 0, min_n = 3,
    get = function(c, t, r) return adjusted(c.work_units, t, r) end },
  { key = "iter/s", get = function(c, t) return per_s(c.iterations, t) end },
  { key = "iter/s adj", better = "higher", rel = 0.25, abs = 0, min_n = 3,
    get = function(c, t, r) return adjusted(c.iterations, t, r) end },
  { key = "off-cpu %", better = "lower", rel = 0.25, abs = 10,
    get = function(_, t)
      local share = t and ratio(t.wall_s - t.cpu_s, t.wall_s)
      return share and 100 * math.max(0, share)
    end },
  { key = "run delay %", better = "lower", rel = 0.25, abs = 10,
    get = function(_, t)
      local d = t and num(t.run_delay_s)
      return d and ratio(100 * d, d + t.cpu_s)
    end },
  { key = "p99 wake us", better = "lower", rel = 1, abs = 50000, min_n = 2,
    get = function(_, t) return t and num(t.wake_p99_us) end },
  { key = "migr/s", better = "lower", rel = 1, abs = 10,
    get = function(c, t) return per_s(c.migrations, t) end },
  { key = "max gap ms", better = "lower", rel = 1, abs = 250, min_n = 2,
    get = function(c) return num(c.gap_ms) end },
}

local function mon(r) return type(r.monitor) == "table" and r.monitor or {} end

local function rate(r, name)
  local e = mon(r).event_rates
  return type(e) == "table" and num(e[name]) or nil
end

M.RUN_METRICS = {
  { key = "monitor: avg imbalance", better = "lower", rel = 0.5, abs = 0.5,
    get = function(r) return num(mon(r).avg_imbalance) end },
  { key = "monitor: max imbalance",
    get = function(r) return num(mon(r).max_imbalance) end },
  { key = "monitor: avg nr_running",
    get = function(r) return num(mon(r).avg_nr_running) end },
  { key = "monitor: avg dsq depth", better = "lower", rel = 1, abs = 1,
    get = function(r) return num(mon(r).avg_dsq_depth) end },
  { key = "monitor: max dsq depth",
    get = function(r) return num(mon(r).max_dsq_depth) end },
  { key = "monitor: run delay ms/s", better = "lower", rel = 1.5, abs = 150,
    get = function(r)
      local ss = mon(r).schedstat
      return type(ss) == "table" and ratio(num(ss.run_delay_ns) and ss.run_delay_ns / 1e6,
        mon(r).span_s) or nil
    end },
  { key = "monitor: csw/s",
    get = function(r)
      local ss = mon(r).schedstat
      return type(ss) == "table" and ratio(ss.csw, mon(r).span_s) or nil
    end },
  { key = "monitor: fallback/s", better = "lower", rel = 1, abs = 10,
    get = function(r) return rate(r, "select_cpu_fallback") end },
  { key = "monitor: keep_last/s", better = "lower", rel = 1, abs = 10,
    get = function(r) return rate(r, "dispatch_keep_last") end },
  { key = "monitor: stuck", better = "lower", rel = 0, abs = 0.5,
    get = function(r) return num(mon(r).stuck) end },
  -- the host's contention, not the scheduler's doing: read it beside the rates
  { key = "host: dilation",
    get = function(r) return num(r.host_dilation) end },
}

--[[
A payload's metric: judged (which way is better) when its parser says
(ktstr.metrics); a metrics function's are shown only. Payload figures
have not been measured for noise the way the rates above were: they are
judged as the adjusted rates are, from three samples a side, beyond 25%.
]]
local function payload_def(parser_name, metric)
  local parser = require("ktstr.metrics").PARSERS[parser_name]
  local def = parser and require("ktstr.metrics").defines(parser, metric)
  if not (def and def.better) then return {} end
  return { better = def.better, rel = 0.25, abs = 0, min_n = 3 }
end

--[[
metrics(record) -> { [key] = value }, { key, ... } in display order, and
{ [key] = metric definition }. Per-cgroup keys are "NAME: metric"; a
cgroup declared again in a later step is "NAME#2"; a payload's metrics
are "payload NAME: metric".
]]
function M.metrics(r)
  local vals, order, defs = {}, {}, {}
  local function put(key, def, v)
    if v == nil then return end
    vals[key], defs[key], order[#order + 1] = v, def, key
  end
  local cgs = type(r.stats) == "table" and type(r.stats.cgroups) == "table" and r.stats.cgroups
    or {}
  local times = type(r.cgroup_times) == "table" and r.cgroup_times or {}
  local seen = {}
  for i, c in ipairs(cgs) do
    local name = tostring(c.name)
    seen[name] = (seen[name] or 0) + 1
    if seen[name] > 1 then name = ("%s#%d"):format(name, seen[name]) end
    local t = times[i]
    -- the times belong to the same cgroup only if the names agree (records are data)
    if type(t) ~= "table" or t.name ~= c.name or not num(t.wall_s) or not num(t.cpu_s)
      or not num(t.workers) or t.workers <= 0 then
      t = nil
    end
    for _, def in ipairs(M.CGROUP_METRICS) do
      put(name .. ": " .. def.key, def, def.get(c, t, r))
    end
  end
  local pls = type(r.stats) == "table" and type(r.stats.payloads) == "table" and r.stats.payloads
    or {}
  for _, p in ipairs(pls) do
    if type(p) == "table" and type(p.metrics) == "table" then
      local names = {}
      for k, v in pairs(p.metrics) do
        if type(k) == "string" and num(v) then names[#names + 1] = k end
      end
      table.sort(names)
      for _, k in ipairs(names) do
        put(("payload %s: %s"):format(tostring(p.name), k), payload_def(p.parser, k), p.metrics[k])
      end
    end
  end
  for _, def in ipairs(M.RUN_METRICS) do put(def.key, def, def.get(r)) end
  return vals, order, defs
end

-- Records ---------------------------------------------------------------------------------------

local SUFFIX = ".ktstr.json"

--[[
load(path) -> { record, ... } | nil, message: a record file, or every record
under a directory (any depth), each with _path and _dir (its directory).
Unreadable records are reported in warnings, not fatal.
]]
function M.load(path, warnings)
  local files
  if path:sub(-#SUFFIX) == SUFFIX then
    files = { path }
  else
    local list, err = core.list_files(path, SUFFIX)
    -- err is "list_files: PATH: why"; the caller names the path once
    if not list then
      return nil, ("%s: %s"):format(path, (err:match("([^:]*)$"):gsub("^%s+", "")))
    end
    files = {}
    for i, f in ipairs(list) do files[i] = path:gsub("/+$", "") .. "/" .. f end
  end
  local out = {}
  for _, f in ipairs(files) do
    local r = read_json(f)
    if r and type(r.test) == "string" then
      r._path, r._dir = f, f:match("^(.*)/[^/]*$") or "."
      out[#out + 1] = r
    elseif warnings then
      warnings[#warnings + 1] = ("%s: not a sidecar record, left out"):format(f)
    end
  end
  if #out == 0 and #files == 1 and path == files[1] then
    return nil, ("%s: not a sidecar record"):format(path)
  end
  return out
end

local function status_of(r)
  return type(r.status) == "string" and r.status or "unknown"
end

-- Groups records by test name, in the order the tests first appear.
local function by_test(records)
  local groups, order = {}, {}
  for _, r in ipairs(records) do
    local name = r.test
    if not groups[name] then groups[name], order[#order + 1] = {}, name end
    table.insert(groups[name], r)
  end
  return groups, order
end

local STATUS_ORDER = { "pass", "fail", "inconclusive", "skip", "error" }

-- "2 pass 1 fail" in a fixed order, unknown statuses last.
local function verdict_counts(records)
  local n, extra = {}, {}
  for _, r in ipairs(records) do
    local s = status_of(r)
    n[s] = (n[s] or 0) + 1
  end
  local parts = {}
  for _, s in ipairs(STATUS_ORDER) do
    if n[s] then parts[#parts + 1], n[s] = ("%d %s"):format(n[s], s), nil end
  end
  for s in pairs(n) do extra[#extra + 1] = s end
  table.sort(extra)
  for _, s in ipairs(extra) do parts[#parts + 1] = ("%d %s"):format(n[s], s) end
  return table.concat(parts, " ")
end

-- Formatting -------------------------------------------------------------------------------------

-- A figure in about four significant digits, without exponents for what a run measures.
function M.fmt(x)
  if x == nil then return "-" end
  local a = math.abs(x)
  if a >= 1e4 then return ("%.0f"):format(x) end
  if a >= 100 then return ("%.1f"):format(x) end
  if a >= 1 then return ("%.2f"):format(x) end
  if a == 0 then return "0" end
  return ("%.3g"):format(x)
end

local function fmt_p(p)
  if p == nil then return "-" end
  if p < 1e-4 then return "<0.0001" end
  return ("%.4f"):format(p)
end

-- Columns padded to their widest cell: align is a string of "l" and "r",
-- one per column (figures right, words left).
local function table_lines(rows, align, indent)
  local w = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do w[i] = math.max(w[i] or 0, #cell) end
  end
  local out = {}
  for _, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do
      local pad = (" "):rep(w[i] - #cell)
      cells[i] = align:sub(i, i) == "r" and pad .. cell or cell .. pad
    end
    out[#out + 1] = ((indent or "") .. table.concat(cells, "  ")):gsub("%s+$", "")
  end
  return out
end

local function distinct(records, field)
  local seen, out = {}, {}
  for _, r in ipairs(records) do
    local v = r[field]
    if type(v) == "string" and not seen[v] then seen[v], out[#out + 1] = true, v end
  end
  table.sort(out)
  return #out > 0 and table.concat(out, ",") or "?"
end

local function describe(records)
  local r = records[1]
  return ("[sched=%s] [topo=%s]"):format(tostring(r.scheduler), tostring(r.topology))
end

-- list -------------------------------------------------------------------------------------------

function M.list(dir, out)
  local warnings = {}
  local records, err = M.load(dir, warnings)
  if not records then return nil, err end
  local dirs, order = {}, {}
  for _, r in ipairs(records) do
    if not dirs[r._dir] then dirs[r._dir], order[#order + 1] = {}, r._dir end
    table.insert(dirs[r._dir], r)
  end
  local newest = {}
  for d, rs in pairs(dirs) do
    newest[d] = ""
    for _, r in ipairs(rs) do
      if type(r.timestamp) == "string" and r.timestamp > newest[d] then newest[d] = r.timestamp end
    end
  end
  table.sort(order, function(a, b)
    if newest[a] ~= newest[b] then return newest[a] < newest[b] end
    return a < b
  end)
  local rows = { { "RUN", "KERNEL", "COMMIT", "DATE", "RUNS", "TESTS", "RECORDS", "VERDICTS" } }
  for _, d in ipairs(order) do
    local rs = dirs[d]
    local _, tests = by_test(rs)
    local ids = {}
    for _, r in ipairs(rs) do ids[tostring(r.run_id)] = true end
    local nids = 0
    for _ in pairs(ids) do nids = nids + 1 end
    rows[#rows + 1] = { d, distinct(rs, "kernel_version"), distinct(rs, "project_commit"),
      newest[d] ~= "" and newest[d] or "?", tostring(nids), tostring(#tests), tostring(#rs),
      verdict_counts(rs) }
  end
  for _, w in ipairs(warnings) do out[#out + 1] = "note: " .. w end
  if #order == 0 then
    out[#out + 1] = ("no sidecar records under %s"):format(dir)
    return out
  end
  for _, l in ipairs(table_lines(rows, "llllrrrl")) do out[#out + 1] = l end
  return out
end

-- show -------------------------------------------------------------------------------------------

-- Per key, the values of a set of records, and the keys in first-seen order.
local function samples(records)
  local vals, order, defs = {}, {}, {}
  for _, r in ipairs(records) do
    local v, o, d = M.metrics(r)
    for _, k in ipairs(o) do
      if not vals[k] then vals[k], defs[k], order[#order + 1] = {}, d[k], k end
      table.insert(vals[k], v[k])
    end
  end
  return vals, order, defs
end

local function better_word(def)
  return def.better == "higher" and "higher" or def.better == "lower" and "lower" or ""
end

function M.show(path, out)
  local warnings = {}
  local records, err = M.load(path, warnings)
  if not records then return nil, err end
  if #records == 0 then return nil, ("%s: no sidecar records"):format(path) end
  local groups, tests = by_test(records)
  for _, w in ipairs(warnings) do out[#out + 1] = "note: " .. w end
  for i, name in ipairs(tests) do
    local rs = groups[name]
    if i > 1 then out[#out + 1] = "" end
    out[#out + 1] = ("%s %s: %s (%d record%s)"):format(name, describe(rs), verdict_counts(rs),
      #rs, #rs > 1 and "s" or "")
    for _, r in ipairs(rs) do
      if status_of(r) ~= "pass" and type(r.details) == "table" then
        local d = r.details[1]
        if type(d) == "table" and type(d.msg) == "string" then
          out[#out + 1] = ("  %s: %s: %s"):format(status_of(r):upper(), tostring(d.check),
            d.msg:match("^[^\n]*"))
        end
      end
    end
    local vals, order, defs = samples(rs)
    local rows, align = { { "metric", "n", "mean", "stdev", "min", "max", "better" } }, "lrrrrrl"
    if #rs == 1 then rows, align = { { "metric", "value", "better" } }, "lrl" end
    for _, k in ipairs(order) do
      local xs = vals[k]
      local mean, sd = welch.mean_sd(xs)
      if #rs == 1 then
        rows[#rows + 1] = { k, M.fmt(mean), better_word(defs[k]) }
      else
        rows[#rows + 1] = { k, tostring(#xs), M.fmt(mean), M.fmt(sd),
          M.fmt(math.min(table.unpack(xs))), M.fmt(math.max(table.unpack(xs))),
          better_word(defs[k]) }
      end
    end
    if #order > 0 then
      for _, l in ipairs(table_lines(rows, align, "  ")) do out[#out + 1] = l end
    else
      out[#out + 1] = "  no metrics recorded"
    end
  end
  return out
end

-- compare ----------------------------------------------------------------------------------------

-- Records a comparison can use: a run that was judged (pass or fail). An
-- inconclusive run says the environment failed, a skip or an error that
-- nothing of the scheduler was measured.
local function usable(r)
  local s = status_of(r)
  return s == "pass" or s == "fail"
end

--[[
judge(def, base, new, alpha) -> row: n, mean and sd of each side, delta
(percent of the base mean; nil when the base mean is 0), p (Welch, nil with
one sample on a side), and verdict "worse", "better" or nil.
]]
function M.judge(def, base, new, alpha)
  local mb, sb = welch.mean_sd(base)
  local mn, sn = welch.mean_sd(new)
  local row = { nb = #base, mb = mb, sb = sb, nn = #new, mn = mn, sn = sn }
  row.delta = mb ~= 0 and 100 * (mn - mb) / math.abs(mb) or nil
  local t = welch.test(base, new)
  row.p = t and t.p
  if not def.better or math.min(#base, #new) < (def.min_n or 1) then return row end
  local floor = math.max((def.rel or 0) * math.abs(mb), def.abs or 0)
  local change = def.better == "higher" and mn - mb or mb - mn  -- > 0: better
  local significant
  if t then
    significant = t.p < (alpha or M.ALPHA) and math.abs(change) > floor
  else
    significant = math.abs(change) > M.WIDE * floor
  end
  if significant then row.verdict = change < 0 and "worse" or "better" end
  return row
end

local function side(paths, warnings)
  local all = {}
  for _, p in ipairs(paths) do
    local rs, err = M.load(p, warnings)
    if not rs then return nil, err end
    if #rs == 0 then return nil, ("%s: no sidecar records"):format(p) end
    table.move(rs, 1, #rs, #all + 1, all)
  end
  return all
end

local function names_of(list)
  return table.concat(list, ", ")
end

--[[
compare(base_paths, new_paths, {alpha =}, out) -> regressed, unjudged
(counts of tests: worse, and without a judged record on a side) | nil,
message (bad input: a missing directory, no records, no test in common).
]]
function M.compare(base_paths, new_paths, opts, out)
  local warnings = {}
  local base, err = side(base_paths, warnings)
  if not base then return nil, err end
  local new, nerr = side(new_paths, warnings)
  if not new then return nil, nerr end
  local bg, border = by_test(base)
  local ng = by_test(new)
  local common, only_base, only_new = {}, {}, {}
  for _, name in ipairs(border) do
    if ng[name] then common[#common + 1] = name else only_base[#only_base + 1] = name end
  end
  for name in pairs(ng) do
    if not bg[name] then only_new[#only_new + 1] = name end
  end
  table.sort(only_new)
  if #common == 0 then
    return nil, ("no test in common between %s (%s) and %s (%s)"):format(
      names_of(base_paths), names_of(border), names_of(new_paths), names_of(only_new))
  end
  for _, w in ipairs(warnings) do out[#out + 1] = "note: " .. w end
  if #only_base > 0 then out[#out + 1] = "note: only in base: " .. names_of(only_base) end
  if #only_new > 0 then out[#out + 1] = "note: only in new: " .. names_of(only_new) end
  local regressed, unjudged, verdicts = 0, 0, {}
  for _, name in ipairs(common) do
    local b_all, n_all = bg[name], ng[name]
    local b, n = {}, {}
    for _, r in ipairs(b_all) do if usable(r) then b[#b + 1] = r end end
    for _, r in ipairs(n_all) do if usable(r) then n[#n + 1] = r end end
    out[#out + 1] = ""
    out[#out + 1] = ("%s %s: base %s, new %s"):format(name, describe(b_all),
      verdict_counts(b_all), verdict_counts(n_all))
    local bv, nv = distinct(b_all, "variant"), distinct(n_all, "variant")
    if bv ~= nv then
      out[#out + 1] = ("  note: variants differ (base %s, new %s): scheduler settings or " ..
        "topology changed"):format(bv, nv)
    end
    local ba, na = distinct(b_all, "accel"), distinct(n_all, "accel")
    if ba ~= na then
      out[#out + 1] = ("  note: accelerators differ (base %s, new %s): rates and latencies " ..
        "measure the host as much as the scheduler"):format(ba, na)
    end
    local worse, better, single = {}, 0, false
    -- a test that passed in every base record and fails in a new one is worse, whatever the figures
    local b_pass = #b_all > 0
    for _, r in ipairs(b_all) do b_pass = b_pass and status_of(r) == "pass" end
    local n_fail = 0
    for _, r in ipairs(n_all) do if status_of(r) == "fail" then n_fail = n_fail + 1 end end
    if b_pass and n_fail > 0 then
      worse[#worse + 1] = ("verdict: %d of %d new records fail"):format(n_fail, #n_all)
    end
    if #b == 0 or #n == 0 then
      out[#out + 1] = ("  no judged record (pass or fail) on the %s side: metrics not compared")
        :format(#b == 0 and "base" or "new")
    else
      local bvals, border_k, defs = samples(b)
      local nvals = samples(n)
      local rows = { { "metric", "n", "base", "stdev", "n", "new", "stdev", "delta", "p", "" } }
      for _, k in ipairs(border_k) do
        if nvals[k] then
          local row = M.judge(defs[k], bvals[k], nvals[k], opts.alpha)
          rows[#rows + 1] = { k, tostring(row.nb), M.fmt(row.mb), M.fmt(row.sb), tostring(row.nn),
            M.fmt(row.mn), M.fmt(row.sn), row.delta and ("%+.1f%%"):format(row.delta) or "-",
            fmt_p(row.p), row.verdict == "worse" and "WORSE" or row.verdict == "better" and "better"
            or "" }
          if row.verdict == "worse" then
            worse[#worse + 1] = ("%s %s%s"):format(k, row.delta and ("%+.1f%%"):format(row.delta)
              or ("%s -> %s"):format(M.fmt(row.mb), M.fmt(row.mn)),
              row.p and (" (p%s%s)"):format(row.p < 1e-4 and "" or "=", fmt_p(row.p)) or "")
            single = single or not row.p
          elseif row.verdict == "better" then
            better = better + 1
          end
        end
      end
      for _, l in ipairs(table_lines(rows, "lrrrrrrrrl", "  ")) do out[#out + 1] = l end
    end
    if #worse == 0 and (#b == 0 or #n == 0) then
      unjudged = unjudged + 1
      verdicts[#verdicts + 1] = ("UNJUDGED %s: no pass or fail record on the %s side"):format(name,
        #b == 0 and "base" or "new")
    elseif #worse > 0 then
      regressed = regressed + 1
      verdicts[#verdicts + 1] = ("REGRESSED %s: %s%s"):format(name, table.concat(worse, "; "),
        single and " (one sample a side: beyond twice the floor)" or "")
    else
      verdicts[#verdicts + 1] = ("OK %s: no significant regression%s"):format(name,
        better > 0 and (" (%d metric%s better)"):format(better, better > 1 and "s" or "") or "")
    end
  end
  out[#out + 1] = ""
  for _, v in ipairs(verdicts) do out[#out + 1] = v end
  out[#out + 1] = ("%d of %d tests regressed%s"):format(regressed, #common,
    unjudged > 0 and (", %d not judged"):format(unjudged) or "")
  return regressed, unjudged
end

-- main -------------------------------------------------------------------------------------------

local function emit(lines)
  if #lines > 0 then io.stdout:write(table.concat(lines, "\n"), "\n") end
end

local function fail_input(cmd, msg)
  io.stderr:write(("ktstr stats %s: %s\n"):format(cmd, msg))
  return 2
end

function M.main(args)
  local cmd = args[1]
  if cmd == "-h" or cmd == "--help" or cmd == "help" then
    io.stdout:write(USAGE)
    return 0
  end
  if not cmd then return bad("no stats command given (list, show or compare)") end
  if cmd:sub(1, 1) == "-" then return bad(("unknown option '%s'"):format(cmd)) end
  local rest = table.move(args, 2, #args, 1, {})
  for _, a in ipairs(rest) do
    if a == "-h" or a == "--help" then
      io.stdout:write(USAGE)
      return 0
    end
  end
  local out = {}
  if cmd == "list" then
    local o, err = argparse.parse(rest, { positional = "collect", collect = "dirs" })
    if not o then return bad(err) end
    if #o.dirs > 1 then return bad("list takes one directory") end
    local dir = o.dirs[1] or "ktstr-results"
    local ok, lerr = M.list(dir, out)
    if not ok then return fail_input("list", lerr) end
    emit(out)
    return 0
  elseif cmd == "show" then
    local o, err = argparse.parse(rest, { positional = "collect", collect = "runs" })
    if not o then return bad(err) end
    if #o.runs ~= 1 then return bad("show takes one run directory") end
    local ok, serr = M.show(o.runs[1], out)
    if not ok then return fail_input("show", serr) end
    emit(out)
    return 0
  elseif cmd == "compare" then
    local o, err = argparse.parse(rest, { lists = { ["--base"] = "base", ["--new"] = "new" },
      valued = { ["--alpha"] = "alpha" }, positional = "collect", collect = "sides" })
    if not o then return bad(err) end
    if #o.sides == 2 then
      table.insert(o.base, 1, o.sides[1])
      table.insert(o.new, 1, o.sides[2])
    elseif #o.sides ~= 0 then
      return bad(("compare takes BASE and NEW, got %d operand%s"):format(#o.sides,
        #o.sides > 1 and "s" or ""))
    end
    if #o.base == 0 or #o.new == 0 then return bad("compare needs a BASE and a NEW") end
    local alpha = o.alpha and tonumber(o.alpha)
    if o.alpha and not (alpha and alpha > 0 and alpha < 1) then
      return bad(("--alpha: expected a probability between 0 and 1, got '%s'"):format(o.alpha))
    end
    local regressed, unjudged = M.compare(o.base, o.new, { alpha = alpha }, out)
    if not regressed then return fail_input("compare", unjudged) end
    emit(out)
    -- nothing worse, but a test that could not be compared says nothing either way
    return regressed > 0 and 1 or unjudged > 0 and 2 or 0
  end
  return bad(("unknown stats command '%s' (list, show or compare)"):format(cmd))
end

return M
