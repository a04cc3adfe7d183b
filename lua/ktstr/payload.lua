-- ktstr.payload{...}: a real program as a workload, in a cgroup of its own, its output as metrics.
local V = require("ktstr.validate")
local cgroupdef = require("ktstr.cgroupdef")
local metrics = require("ktstr.metrics")
local step = require("ktstr.step")

local M = {}

local KEYS = { name = true, argv = true, metrics = true, checks = true, cpuset = true, nice = true,
  timeout_s = true }

local function read_head(path, n)
  local f = io.open(path, "rb")
  if not f then return nil end
  local head = f:read(n)
  f:close()
  return head
end

-- "6.1" < "6.12" < "7.0": version strings compared number by number.
local function older(a, b)
  local x, y = {}, {}
  for n in a:gmatch("%d+") do x[#x + 1] = tonumber(n) end
  for n in b:gmatch("%d+") do y[#y + 1] = tonumber(n) end
  for i = 1, math.max(#x, #y) do
    if (x[i] or -1) ~= (y[i] or -1) then return (x[i] or -1) < (y[i] or -1) end
  end
  return false
end

--[[
The ELF a wrapper script at path stands for: the newest NAME_VERSION ELF
beside it. Debian's perf before 6.12 is such a wrapper (/usr/bin/perf
execs perf_$(kernel version), a version the guest's kernel is not), so
ktstr packs the real program in its place.
]]
local function wrapped(path)
  local ok, core = pcall(require, "ktstr.core")
  local dir, name = path:match("^(.*)/([^/]+)$")
  if not ok or not dir then return nil end
  local best
  for _, f in ipairs(core.list_files(dir ~= "" and dir or "/") or {}) do
    local v = f:match("^" .. name:gsub("%p", "%%%0") .. "_([%d.]+)$")
    if v and read_head(dir .. "/" .. f, 4) == "\127ELF" and (not best or older(best.v, v)) then
      best = { v = v, path = dir .. "/" .. f }
    end
  end
  return best and best.path
end

--[[
find(prog [, path_env]) -> { host =, binary =, exec = } | nil, why: where
the program is on this machine (a name is looked up on PATH, an absolute
path taken as it is), the ELF to pack (itself, or what a wrapper script
runs) and where the guest runs it (/bin/NAME for a name, the same path
for an absolute one). The guest loads the script too and finds it there.
]]
function M.find(prog, path_env)
  local cands = {}
  if prog:sub(1, 1) == "/" then
    cands[1] = prog
  elseif prog:find("/", 1, true) then
    return nil, ("'%s' is a relative path: give a name found on PATH or an absolute path")
      :format(prog)
  else
    for dir in (path_env or os.getenv("PATH") or ""):gmatch("[^:]+") do
      cands[#cands + 1] = dir .. "/" .. prog
    end
  end
  for _, c in ipairs(cands) do
    local head = read_head(c, 4)  -- nil for a directory or a file we cannot read
    if head == "\127ELF" then
      return { host = c, binary = c, exec = prog:find("/", 1, true) and prog or "/bin/" .. prog }
    elseif head and head:sub(1, 2) == "#!" then
      local elf = wrapped(c)
      if not elf then
        return nil, ("%s is a script, not a program: ktstr packs ELF programs and their " ..
          "libraries (a wrapper's NAME_VERSION program beside it is taken instead; none here)")
          :format(c)
      end
      return { host = c, binary = elf, exec = prog:find("/", 1, true) and prog or "/bin/" .. prog }
    elseif head then
      return nil, ("%s is not an ELF program"):format(c)
    end
  end
  if prog:find("/", 1, true) then return nil, ("%s does not exist"):format(prog) end
  return nil, ("'%s' not found on PATH (%s)"):format(prog, path_env or os.getenv("PATH") or "")
end

local function sorted_keys(t)
  local out = {}
  for k in pairs(t or {}) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- A checked metric the parser cannot produce: the closest name, or every name it gives.
local function no_metric(w, pname, parser, name, base)
  local cands = sorted_keys(parser.metrics)
  if base then
    local item = name:match("^(.*)%.")
    for _, k in ipairs(sorted_keys(parser.per)) do cands[#cands + 1] = item .. "." .. k end
  end
  local s = V.suggest(name, cands)
  V.raise("%s: checks: the %s parser gives no metric '%s' (%s)", w, pname, name,
    s and ("did you mean '%s'?"):format(s) or "it gives " .. metrics.names(parser))
end

-- checks = { metric = { min = x, max = y }, ... }: bounds on what the parser gives.
local function check_bounds(t, p, w)
  local out = {}
  if t == nil then return out end
  V.record(t, w .. ": checks", "{metric = {min =, max =}, ...}")
  local parser = p.metrics and metrics.PARSERS[p.metrics]
  for name, b in pairs(t) do
    if type(name) ~= "string" or not name:match(metrics.NAME) then
      V.raise("%s: checks: expected metric names (letters, digits, _ . -), got %s", w,
        tostring(name))
    end
    if not p.metrics and not p.fn then
      V.raise("%s: checks: the payload has no metrics to check: give metrics = a parser's name " ..
        "or a function", w)
    end
    if parser then
      local def, base = metrics.defines(parser, name)
      -- an open item's name close to a known one is a typo of it
      if not def or (def.open and V.suggest(base, sorted_keys(parser.per))) then
        no_metric(w, p.metrics, parser, name, base)
      end
    end
    local ww = ("%s: checks.%s"):format(w, name)
    V.record(b, ww, "{min = x, max = y}", { min = true, max = true })
    if b.min == nil and b.max == nil then V.raise("%s: give min, max or both", ww) end
    local bound = { min = b.min and V.number(b.min, ww .. ": min"),
      max = b.max and V.number(b.max, ww .. ": max") }
    if bound.min and bound.max and bound.min > bound.max then
      V.raise("%s: min %s is above max %s", ww, tostring(b.min), tostring(b.max))
    end
    out[name] = bound
  end
  return out
end

local PARSER_NAMES = sorted_keys(metrics.PARSERS)

--[[
ktstr.payload{ name = "stress", argv = { "stress-ng", "--cpu", "1", "--timeout", "3s" },
  metrics = "stress_ng" | "fio" | "perf_sched_messaging" | "perf_sched_pipe"
    | function(stdout, stderr) return { name = number, ... } end,
  checks = { bogo_ops_per_s = { min = 100 } },
  cpuset = ktstr.cpuset.llc(0), nice = 5, timeout_s = 30 }
-> the payload's cgroup, a ktstr.cgroup builder (its controllers chain on:
:cpu_weight(200), :memory_max("256M")); it goes wherever a cgroup does.
]]
function M.new(t)
  local w = "ktstr.payload"
  V.record(t, w, "{name = ..., argv = {...}, ...}", KEYS)
  local name = V.name(t.name, w .. ": name")
  w = ("ktstr.payload '%s'"):format(name)
  if type(t.argv) ~= "table" or #t.argv == 0 then
    V.raise("%s: argv: expected the command line {program, arg, ...}, got %s", w, tostring(t.argv))
  end
  local argv = {}
  for i, a in ipairs(V.list(t.argv, w .. ": argv")) do
    if type(a) ~= "string" and math.type(a) ~= "integer" then
      V.raise("%s: argv[%d]: expected a string, got %s", w, i, tostring(a))
    end
    argv[i] = tostring(a)
  end
  if argv[1] == "" then V.raise("%s: argv[1]: expected a program, got ''", w) end
  local found, why = M.find(argv[1])
  if not found then V.raise("%s: %s", w, why) end
  local p = { argv = argv, host = found.host, binary = found.binary, exec = found.exec }
  local m = t.metrics
  if type(m) == "function" then
    p.fn = m
  elseif m ~= nil then
    if not metrics.PARSERS[m] then
      V.raise("%s: metrics: %s, or a function(stdout, stderr)", w,
        V.unknown("parser", m, PARSER_NAMES))
    end
    local bad = metrics.PARSERS[m].check(argv)
    if bad then V.raise("%s: argv: %s", w, bad) end
    p.metrics = m
  end
  p.checks = check_bounds(t.checks, p, w)
  if t.timeout_s ~= nil then
    p.timeout_s = V.duration(t.timeout_s, w .. ": timeout_s")
    if p.timeout_s <= 0 then V.raise("%s: timeout_s: expected a duration > 0", w) end
  end
  local b = cgroupdef.payload(name, p)
  if t.cpuset ~= nil then b = b:cpuset(t.cpuset) end
  if t.nice ~= nil then b = b:nice(t.nice) end
  return b
end

--[[
The payload cgroups a test declares (plain defs with .payload): its defs,
steps, backdrop, add_cgroup ops, and the `payloads` a run(ctx) body starts.
]]
function M.declared(test)
  local out = {}
  local function add(def)
    if def and def.payload then out[#out + 1] = def end
  end
  step.each_def(test, add)
  for _, def in ipairs(test.payloads or {}) do add(def) end
  return out
end

-- A payload's declaration by the name its result carries ("stress", "stress#2"), or nil.
function M.by_name(test, name)
  local base = tostring(name):gsub("#%d+$", "")
  for _, def in ipairs(M.declared(test)) do
    if def.name == base then return def end
  end
end

--[[
What to pack into the guest for tests (those of one script: the guest loads
the whole script, so every payload it declares must be found there):
{ {src = ELF, dst = where the guest runs it}, ... }, or nil, why.
]]
function M.files(tests)
  local out, seen = {}, {}
  for _, test in ipairs(tests) do
    for _, def in ipairs(M.declared(test)) do
      local p = def.payload
      local was = seen[p.exec]
      if was and was ~= p.binary then
        return nil, ("%s: payload '%s': %s would be %s, but another payload packs %s there")
          :format(def.source, def.name, p.exec, p.binary, was)
      end
      if not was then
        seen[p.exec] = p.binary
        out[#out + 1] = { src = p.binary, dst = p.exec }
      end
    end
  end
  return out
end

return M
