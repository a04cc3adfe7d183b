-- The built-in payload parsers: stress-ng's --yaml metrics, fio's JSON, perf bench sched's text.

local M = {}

--[[
A parser is a table:
  metrics  { name = better }: the names it gives for the whole run, and
           which way is better ("higher", "lower", or false: shown, never
           judged by `ktstr stats compare`)
  per      the same for each item (a stressor, a fio job), named ITEM.name;
           item says what an item is, for messages ("STRESSOR")
  open     true: items carry names of their own too (a stressor's extras,
           pipe.mb_per_sec_pipe_write_rate), shown, never judged
  argv(argv, base) -> argv, files: the command line with what the parser
           needs added (stress-ng's --yaml FILE), and the files it reads
           ({yaml = path}); base is a path prefix of the payload's own
  check(argv) -> nil | why argv cannot give the parser its input (load time)
  parse(stdout, stderr, files) -> { name = number } | nil, why: files
           holds the contents of the files argv named
A metric name is letters, digits and _ . -: an item's name keeps the
program's spelling, the part after its last dot is the metric's.
]]

local function num(s)
  local v = tonumber(s)
  if v and v == v and v > -math.huge and v < math.huge then return v end
end

-- The option's value in argv: "--opt V", "--opt=V" or, given short, "-o V".
local function option(argv, long, short)
  for i = 2, #argv do
    local a = argv[i]
    if a == long or (short and a == short) then return argv[i + 1] or "", i end
    local v = a:match("^" .. long:gsub("%-", "%%-") .. "=(.*)$")
    if v then return v, i end
  end
end

local function has(argv, word)
  for i = 2, #argv do
    if argv[i] == word then return true end
  end
  return false
end

local function copy(argv)
  return table.move(argv, 1, #argv, 1, {})
end

-- An item's name made safe for a metric name (a stressor or job named "a b" is "a_b").
local function item(s)
  return (tostring(s):gsub("[^%w_%-]", "_"))
end

-- Aggregates of the items' values: how each run-wide metric is made from the items'.
local function aggregate(items, how)
  local out = {}
  for _, it in ipairs(items) do
    for k, v in pairs(it.values) do
      local op = how[k]
      if op == "sum" then
        out[k] = (out[k] or 0) + v
      elseif op == "max" then
        out[k] = math.max(out[k] or v, v)
      end
    end
  end
  return out
end

-- stress-ng -------------------------------------------------------------------------------------

-- The --yaml file's metrics keys we name, and what each becomes.
local SNG_KEYS = {
  ["bogo-ops"] = "bogo_ops",
  ["bogo-ops-per-second-real-time"] = "bogo_ops_per_s",
  ["bogo-ops-per-second-usr-sys-time"] = "bogo_ops_per_cpu_s",
  ["wall-clock-time"] = "wall_s",
  ["user-time"] = "user_s",
  ["system-time"] = "sys_s",
  ["cpu-usage-per-instance"] = "cpu_usage_pct",
  ["max-rss"] = "max_rss_kib",
}

local SNG_HOW = { bogo_ops = "sum", bogo_ops_per_s = "sum", bogo_ops_per_cpu_s = "sum",
  wall_s = "max", user_s = "sum", sys_s = "sum" }

-- The `metrics:` list of stress-ng's --yaml file: { {name =, values = {key = number}} }.
local function sng_entries(yaml)
  local entries, cur, inside = {}, nil, false
  for line in yaml:gmatch("[^\n]*") do
    if line:match("^metrics:%s*$") then
      inside = true
    elseif inside and line:match("^%S") then
      inside = false  -- the next top-level key, or the document's end ("...")
    elseif inside then
      local name = line:match("^%s*%-%s*stressor:%s*(.-)%s*$")
      if name then
        cur = { name = name:gsub("^'(.*)'$", "%1"), values = {} }
        entries[#entries + 1] = cur
      elseif cur then
        local k, v = line:match("^%s+([%w_%-]+):%s*(.-)%s*$")
        if k and num(v) then cur.values[SNG_KEYS[k] or k:gsub("%-", "_")] = num(v) end
      end
    end
  end
  return entries
end

M.stress_ng = {
  metrics = { bogo_ops = "higher", bogo_ops_per_s = "higher", bogo_ops_per_cpu_s = "higher",
    wall_s = false, user_s = false, sys_s = false },
  per = { bogo_ops = "higher", bogo_ops_per_s = "higher", bogo_ops_per_cpu_s = "higher",
    wall_s = false, user_s = false, sys_s = false, cpu_usage_pct = false, max_rss_kib = false },
  open = true, item = "STRESSOR",
  -- adds --metrics-brief (unless --metrics is there) and --yaml FILE (unless argv names one)
  argv = function(argv, base)
    local out = copy(argv)
    local yaml = option(argv, "--yaml", "-Y")
    if not yaml then
      yaml = base .. ".yaml"
      table.move({ "--yaml", yaml }, 1, 2, #out + 1, out)
    end
    if not (has(argv, "--metrics") or has(argv, "--metrics-brief") or has(argv, "-M")) then
      out[#out + 1] = "--metrics-brief"
    end
    return out, { yaml = yaml }
  end,
  check = function(argv)
    if option(argv, "--yaml", "-Y") == "" then return "--yaml needs a file name" end
  end,
  parse = function(_, _, files)
    if not files.yaml then return nil, "it wrote no --yaml file" end
    local entries = sng_entries(files.yaml)
    if #entries == 0 then return nil, "its --yaml file has no metrics: list" end
    local out = aggregate(entries, SNG_HOW)
    for _, e in ipairs(entries) do
      for k, v in pairs(e.values) do out[item(e.name) .. "." .. k] = v end
    end
    return out
  end,
}

-- fio -------------------------------------------------------------------------------------------

local FIO_DIRS = { "read", "write" }

-- One direction of one job: DIR_iops, DIR_bw_kib_s, DIR_ios, and DIR_lat_mean_us, DIR_clat_p99_us.
local function fio_dir(values, dir, d, weights)
  if type(d) ~= "table" then return end
  values[dir .. "_iops"] = num(d.iops) or 0
  values[dir .. "_bw_kib_s"] = num(d.bw) or 0
  local ios = num(d.total_ios) or 0
  values[dir .. "_ios"] = ios
  -- latencies only where there was I/O to time
  if ios <= 0 then return end
  local lat = type(d.lat_ns) == "table" and d.lat_ns or {}
  if num(lat.mean) then
    values[dir .. "_lat_mean_us"] = lat.mean / 1e3
    weights[dir .. "_lat_mean_us"] = num(lat.N) or ios
  end
  local pct = type(d.clat_ns) == "table" and type(d.clat_ns.percentile) == "table" and
    d.clat_ns.percentile
  local p99 = pct and num(pct["99.000000"])
  if p99 then values[dir .. "_clat_p99_us"] = p99 / 1e3 end
end

local FIO_HOW = { read_iops = "sum", read_bw_kib_s = "sum", read_ios = "sum",
  write_iops = "sum", write_bw_kib_s = "sum", write_ios = "sum",
  read_clat_p99_us = "max", write_clat_p99_us = "max", ctx_switches = "sum" }

M.fio = {
  metrics = { read_iops = "higher", read_bw_kib_s = "higher", read_ios = "higher",
    read_lat_mean_us = "lower", read_clat_p99_us = "lower",
    write_iops = "higher", write_bw_kib_s = "higher", write_ios = "higher",
    write_lat_mean_us = "lower", write_clat_p99_us = "lower",
    usr_cpu_pct = false, sys_cpu_pct = false, ctx_switches = false },
  -- adds --output-format=json unless argv asks for it
  argv = function(argv)
    local out = copy(argv)
    if not option(argv, "--output-format") then out[#out + 1] = "--output-format=json" end
    return out, {}
  end,
  check = function(argv)
    local fmt = option(argv, "--output-format")
    if fmt and not fmt:find("json", 1, true) then
      return ("--output-format=%s: the fio parser reads --output-format=json"):format(fmt)
    end
    if option(argv, "--output") then
      return "--output sends the report to a file: the fio parser reads it on stdout"
    end
  end,
  parse = function(stdout)
    -- fio may print notes before its JSON: the report starts at a line that starts with "{"
    local at = stdout:sub(1, 1) == "{" and 1 or stdout:find("\n{", 1, true)
    if at and at > 1 then at = at + 1 end
    -- loaded here: a test script loads this module where lua-cjson may be absent (the rock)
    local ok, doc = pcall(require("cjson").decode, at and stdout:sub(at) or "")
    if not ok or type(doc) ~= "table" or type(doc.jobs) ~= "table" or #doc.jobs == 0 then
      return nil, "no fio JSON report (with jobs) on its stdout"
    end
    local items, sums = {}, {}
    for i, j in ipairs(doc.jobs) do
      if type(j) == "table" then
        local v, w = {}, {}
        for _, dir in ipairs(FIO_DIRS) do fio_dir(v, dir, j[dir], w) end
        v.usr_cpu_pct, v.sys_cpu_pct, v.ctx_switches = num(j.usr_cpu), num(j.sys_cpu), num(j.ctx)
        items[#items + 1] = { name = j.jobname or ("job" .. i), values = v, weights = w }
      end
    end
    local out = aggregate(items, FIO_HOW)
    -- means: latency weighted by the samples behind it, CPU shares over the jobs
    for _, it in ipairs(items) do
      for k, wt in pairs(it.weights) do
        local s = sums[k] or { 0, 0 }
        s[1], s[2], sums[k] = s[1] + it.values[k] * wt, s[2] + wt, s
      end
      for _, k in ipairs({ "usr_cpu_pct", "sys_cpu_pct" }) do
        if it.values[k] then
          local s = sums[k] or { 0, 0 }
          s[1], s[2], sums[k] = s[1] + it.values[k], s[2] + 1, s
        end
      end
    end
    for k, s in pairs(sums) do
      if s[2] > 0 then out[k] = s[1] / s[2] end
    end
    for _, it in ipairs(items) do
      for k, v in pairs(it.values) do out[item(it.name) .. "." .. k] = v end
    end
    return out
  end,
}
M.fio.per, M.fio.item = M.fio.metrics, "JOB"

-- perf bench sched ------------------------------------------------------------------------------

local function perf_bench(what, metrics, lines)
  return {
    metrics = metrics,
    argv = function(argv) return copy(argv), {} end,
    check = function(argv)
      if not (has(argv, "bench") and has(argv, what)) then
        return ("the %s parser reads `perf bench sched %s`; argv does not run it")
          :format("perf_sched_" .. what, what)
      end
      local fmt = option(argv, "--format", "-f")
      if fmt and fmt ~= "default" then
        return ("--format=%s: the parser reads perf bench's default format"):format(fmt)
      end
    end,
    parse = function(stdout)
      local out, any = {}, false
      for pat, key in pairs(lines) do
        local v = num(stdout:match(pat))
        if v then out[key], any = v, true end
      end
      if not any then return nil, "no 'Total time:' line on its stdout" end
      return out
    end,
  }
end

M.perf_sched_messaging = perf_bench("messaging", { total_s = "lower" },
  { ["Total time:%s*([%d.]+) %[sec%]"] = "total_s" })

M.perf_sched_pipe = perf_bench("pipe",
  { total_s = "lower", usecs_per_op = "lower", ops_per_s = "higher" },
  { ["Total time:%s*([%d.]+) %[sec%]"] = "total_s",
    ["\n%s*([%d.]+) usecs/op"] = "usecs_per_op",
    ["\n%s*([%d.]+) ops/sec"] = "ops_per_s" })

-- The parsers by the name a payload's `metrics` gives.
M.PARSERS = { stress_ng = M.stress_ng, fio = M.fio, perf_sched_messaging = M.perf_sched_messaging,
  perf_sched_pipe = M.perf_sched_pipe }

-- The pattern of a metric name (a custom function's too).
M.NAME = "^[%w_][%w_.%-]*$"

--[[
Whether the parser can produce a metric called name: one of its run-wide
names, or ITEM.name for one of its per-item names (any name, for an open
parser). Returns the parser's definition of it ({better =}), or nil and,
for ITEM.name, the name's base.
]]
function M.defines(parser, name)
  if parser.metrics[name] ~= nil then return { better = parser.metrics[name] } end
  local base = name:match("^[%w_%-]+%.([%w_]+)$")
  if base and parser.per and parser.per[base] ~= nil then return { better = parser.per[base] } end
  if base and parser.open then return { better = false, open = true }, base end
  return nil, base
end

-- The names a parser gives, for messages: "bogo_ops, ...; STRESSOR.bogo_ops, ...".
function M.names(parser)
  local run, per = {}, {}
  for k in pairs(parser.metrics) do run[#run + 1] = k end
  for k in pairs(parser.per or {}) do per[#per + 1] = (parser.item or "ITEM") .. "." .. k end
  table.sort(run)
  table.sort(per)
  return table.concat(run, ", ") .. (#per > 0 and "; " .. table.concat(per, ", ") or "")
end

return M
