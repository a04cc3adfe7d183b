-- ktstr.cgroup("name"): a chainable, immutable builder for one cgroup and its workers.
local V = require("ktstr.validate")
local cpuset = require("ktstr.cpuset")
local work = require("ktstr.work")

local M = {}

local DEF = {}  -- the key under which a builder keeps its plain table
local methods = {}
local Builder = {}

local function with(self, key, value)
  local def = {}
  for k, v in pairs(self[DEF]) do def[k] = v end
  def[key] = value
  return setmetatable({ [DEF] = def }, Builder)
end

local function what(self, method)
  return ("%s '%s': %s"):format(self[DEF].payload and "payload" or "cgroup", self[DEF].name, method)
end

-- Workers must fill whole groups (pipe_io pairs, mutex_contention contenders, ...).
local function check_groups(def, method)
  local g = def.work and work.group_size(def.work) or 1
  if def.workers and def.workers % g ~= 0 then
    V.raise("cgroup '%s': %s: %s runs in groups of %d, so workers must be a multiple of %d " ..
      "(got %d)", def.name, method, def.work.type, g, g, def.workers)
  end
end

-- What one worker set may hold (the guest's core.workers_spawn refuses more).
M.WORKERS_MAX = 4096

function methods:workers(n)
  if self[DEF].workers_pct then V.raise("%s: workers_pct is already set", what(self, "workers")) end
  local b = with(self, "workers", V.integer(n, what(self, "workers"), 0, M.WORKERS_MAX))
  check_groups(b[DEF], "workers")
  return b
end

-- ceil(cpus * p) workers, cpus being the size of the cgroup's cpuset (at most 252 CPUs).
function methods:workers_pct(p)
  if self[DEF].workers then V.raise("%s: workers is already set", what(self, "workers_pct")) end
  return with(self, "workers_pct", V.number(p, what(self, "workers_pct"), 0, M.WORKERS_MAX / 256,
    true))
end

function methods:work(w)
  if not work.is(w) then
    V.raise("%s: expected a work value (ktstr.work.spin_wait(), ...), got %s", what(self, "work"),
      tostring(w))
  end
  local b = with(self, "work", w)
  check_groups(b[DEF], "work")
  return b
end

function methods:cpuset(spec)
  if not cpuset.is(spec) then
    V.raise("%s: expected a ktstr.cpuset value (llc(0), ...), got %s", what(self, "cpuset"),
      tostring(spec))
  end
  return with(self, "cpuset", spec)
end

function methods:nice(n)
  return with(self, "nice", V.integer(n, what(self, "nice"), -20, 19))
end

function methods:comm(s)
  if type(s) ~= "string" or #s == 0 or #s > 15 or s:find("%z") then
    V.raise("%s: expected a name of 1 to 15 bytes, got %s", what(self, "comm"), tostring(s))
  end
  return with(self, "comm", s)
end

-- Policies; true marks those that need a priority (1..99, CAP_SYS_NICE).
local POLICIES = { normal = false, batch = false, idle = false, fifo = true, rr = true }

function methods:sched_policy(name, prio)
  local w = what(self, "sched_policy")
  if POLICIES[name] == nil then
    V.raise("%s: %s", w, V.unknown("policy", name, V.sorted(POLICIES)))
  end
  if POLICIES[name] then
    prio = V.integer(prio, w .. ": " .. name .. " priority", 1, 99)
  elseif prio ~= nil then
    V.raise("%s: %s takes no priority (only fifo and rr do)", w, name)
  end
  return with(self, "sched_policy", { policy = name, priority = prio })
end

-- Per-worker affinity: a cpuset spec, or an intent resolved per worker.
M.AFFINITY = { single_cpu = true, llc_aligned = true, cross_cgroup = true, smt_sibling_pair = true }

function M.affinity(v, w)
  if cpuset.is(v) or M.AFFINITY[v] then return v end
  V.raise("%s: expected a ktstr.cpuset value or one of %s, got %s", w,
    table.concat(V.sorted(M.AFFINITY), ", "), tostring(v))
end

function methods:affinity(v)
  return with(self, "affinity", M.affinity(v, what(self, "affinity")))
end

function methods:cpu_weight(n)
  return with(self, "cpu_weight", V.integer(n, what(self, "cpu_weight"), 1, 10000))
end

-- cpu.max: quota of CPU time per period (durations; the kernel wants 1ms..1s periods).
function methods:cpu_max(quota, period)
  local w = what(self, "cpu_max")
  local q = V.duration(quota, w .. ": quota")
  local p = V.duration(period or 0.1, w .. ": period")
  if q < 0.001 then V.raise("%s: quota must be at least 1ms, got %s", w, tostring(quota)) end
  -- more than 1000 CPUs' worth of a 1 s period limits nothing a guest can have
  if q > 1000 then V.raise("%s: quota must be at most 1000s, got %s", w, tostring(quota)) end
  if p < 0.001 or p > 1 then V.raise("%s: period must be 1ms..1s, got %s", w, tostring(period)) end
  return with(self, "cpu_max", { quota = q, period = p })
end

-- 100 = one CPU's worth, over the default 100ms period.
function methods:cpu_quota_pct(pct)
  V.number(pct, what(self, "cpu_quota_pct"), 1, 100 * 1000)
  return methods.cpu_max(self, pct / 100 * 0.1, 0.1)
end

local UNITS = { [""] = 1, K = 1024, M = 1024 ^ 2, G = 1024 ^ 3 }

local function bytes(v, w)
  local n, u = tostring(v):match("^(%d+)([KMG]?)$")
  if (type(v) == "number" and math.type(v) ~= "integer") or not n or tonumber(n) == 0 then
    V.raise("%s: expected bytes > 0 (an integer or a string like \"256M\"), got %s", w, tostring(v))
  end
  -- the kernel takes up to 2^63-1; past that the number would wrap to "no limit"
  local count, unit = math.tointeger(tonumber(n)), math.tointeger(UNITS[u])
  if not count or count > math.maxinteger // unit then
    V.raise("%s: %s is more bytes than the kernel can take (at most %d)", w, tostring(v),
      math.maxinteger)
  end
  return count * unit
end

for _, key in ipairs({ "memory_max", "memory_high", "memory_low" }) do
  methods[key] = function(self, v) return with(self, key, bytes(v, what(self, key))) end
end

-- PID_MAX_LIMIT: pids.max refuses more.
function methods:pids_max(n)
  return with(self, "pids_max", V.integer(n, what(self, "pids_max"), 1, 4194304))
end

function methods:io_weight(n)
  return with(self, "io_weight", V.integer(n, what(self, "io_weight"), 1, 10000))
end

local NAMES = V.sorted(methods)
local RENAMED = { work_type = "work" }  -- the Rust builder's name, as the tutorial spells it
-- What shapes workers, not a cgroup: a payload's cgroup runs its own program instead.
M.WORKER_ONLY = { workers = true, workers_pct = true, work = true, comm = true,
  sched_policy = true, affinity = true }
Builder.__index = function(self, k)
  local def = rawget(self, DEF)
  if def and def.payload and M.WORKER_ONLY[k] then
    V.raise("payload '%s': %s does not apply: a payload's cgroup runs its program, not workers",
      def.name, k)
  end
  return methods[k] or V.raise("ktstr.cgroup: %s", V.unknown("method", k, NAMES, RENAMED))
end
Builder.__tostring = function(self)
  return ("ktstr.%s('%s')"):format(self[DEF].payload and "payload" or "cgroup", self[DEF].name)
end

-- ktstr.cgroup("name"): a cgroup under the ktstr root, named by a path segment.
function M.new(name)
  V.name(name, "ktstr.cgroup")
  return setmetatable({ [DEF] = { name = name, source = V.where() } }, Builder)
end

function M.is(v)
  return getmetatable(v) == Builder
end

-- The cgroup of a payload (ktstr.payload): payload is what ktstr.payload checked.
function M.payload(name, payload)
  return setmetatable({ [DEF] = { name = name, source = V.where(), payload = payload } }, Builder)
end

-- The plain table the executor takes, defaults filled in: spin_wait, and
-- one group of workers (1 for most work types) unless workers were given
-- (a payload's cgroup has neither: def.payload runs instead).
function M.unwrap(b, w)
  if not M.is(b) then V.raise("%s: expected ktstr.cgroup(...), got %s", w, tostring(b)) end
  local def = {}
  for k, v in pairs(b[DEF]) do def[k] = v end
  if def.payload then return def end
  def.work = def.work or work.api.spin_wait()
  if not def.workers and not def.workers_pct then def.workers = work.group_size(def.work) end
  return def
end

return M
