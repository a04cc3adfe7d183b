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

-- What a deadline worker cannot do: the kernel refuses it an affinity
-- narrower than every CPU (EBUSY), so affinities and work that changes its
-- own affinity are refused with it, whichever comes second.
local function check_deadline(def, method)
  local p = def.sched_policy
  if not p or p.policy ~= "deadline" then return end
  if def.affinity ~= nil then
    V.raise("cgroup '%s': %s: deadline workers cannot take an affinity: the kernel wants a " ..
      "deadline task's affinity to span every CPU", def.name, method)
  end
  if def.work and def.work.type == "affinity_churn" then
    V.raise("cgroup '%s': %s: affinity_churn cannot run as deadline: the kernel refuses a " ..
      "deadline task an affinity narrower than every CPU", def.name, method)
  end
end

function methods:work(w)
  if not work.is(w) then
    V.raise("%s: expected a work value (ktstr.work.spin_wait(), ...), got %s", what(self, "work"),
      tostring(w))
  end
  local b = with(self, "work", w)
  check_groups(b[DEF], "work")
  check_deadline(b[DEF], "work")
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

-- Policies; true marks those that need a priority (1..99, CAP_SYS_NICE);
-- deadline takes its parameters instead.
local POLICIES = { normal = false, batch = false, idle = false, fifo = true, rr = true,
  deadline = false }

-- The kernel's bounds for SCHED_DEADLINE (src/guest/policy.h): runtime in
-- units of 1024 ns, periods within sched_deadline_period_{min,max}_us.
M.DL_RUNTIME_MIN, M.DL_PERIOD_MIN, M.DL_PERIOD_MAX = 1024, 100000, 4194304000

local function ns(s) return math.floor(s * 1e9 + 0.5) end

-- "10ms", "1.5ms", "250us": as the C side prints them too.
local function show_ns(n)
  if n >= 1000000 then return ("%gms"):format(n / 1e6) end
  if n >= 1000 then return ("%gus"):format(n / 1e3) end
  return n .. "ns"
end
M.show_ns = show_ns

-- {runtime =, deadline =, period =}: durations; deadline defaults to the
-- period and the period to the deadline (the kernel's implicit deadline).
local function deadline(params, w)
  V.record(params, w, "{runtime = d, deadline = d, period = d}",
    { runtime = true, deadline = true, period = true })
  if params.runtime == nil then V.raise("%s: runtime is required", w) end
  if params.deadline == nil and params.period == nil then
    V.raise("%s: give a period (or a deadline, which the period then equals)", w)
  end
  local r = ns(V.duration(params.runtime, w .. ": runtime"))
  local d = params.deadline and ns(V.duration(params.deadline, w .. ": deadline"))
  local p = params.period and ns(V.duration(params.period, w .. ": period"))
  d, p = d or p, p or d
  local shown = ("runtime=%s deadline=%s period=%s"):format(show_ns(r), show_ns(d), show_ns(p))
  if r < M.DL_RUNTIME_MIN then
    V.raise("%s: %s: runtime must be at least %dns", w, shown, M.DL_RUNTIME_MIN)
  end
  if r > d or d > p then V.raise("%s: %s: want runtime <= deadline <= period", w, shown) end
  if p < M.DL_PERIOD_MIN or p > M.DL_PERIOD_MAX then
    V.raise("%s: %s: period must be %s..%s", w, shown, show_ns(M.DL_PERIOD_MIN),
      show_ns(M.DL_PERIOD_MAX))
  end
  return { policy = "deadline", runtime_ns = r, deadline_ns = d, period_ns = p }
end

function methods:sched_policy(name, prio)
  local w = what(self, "sched_policy")
  if POLICIES[name] == nil then
    V.raise("%s: %s", w, V.unknown("policy", name, V.sorted(POLICIES)))
  end
  local p
  if name == "deadline" then
    p = deadline(prio, w .. ": deadline")
  elseif POLICIES[name] then
    p = { policy = name, priority = V.integer(prio, w .. ": " .. name .. " priority", 1, 99) }
  elseif prio ~= nil then
    V.raise("%s: %s takes no priority (only fifo and rr do)", w, name)
  else
    p = { policy = name }
  end
  local b = with(self, "sched_policy", p)
  check_deadline(b[DEF], "sched_policy")
  return b
end

-- fork: each worker a process (the default); thread: the workers are
-- threads of one process, which joins the cgroup and is reaped once.
local CLONE_MODES = { fork = true, thread = true }

function methods:clone_mode(mode)
  if not CLONE_MODES[mode] then
    V.raise("%s: %s", what(self, "clone_mode"), V.unknown("clone mode", mode,
      V.sorted(CLONE_MODES)))
  end
  return with(self, "clone_mode", mode)
end

-- NUMA node sets: a node, a list of nodes or a node list "0-1,3"; sorted, unique.
M.NODES_MAX = 64

local function nodes(v, w)
  local out, seen = {}, {}
  local function add(n)
    if math.type(n) ~= "integer" or n < 0 or n >= M.NODES_MAX then
      V.raise("%s: expected NUMA nodes 0..%d, got %s", w, M.NODES_MAX - 1, tostring(n))
    end
    if not seen[n] then out[#out + 1], seen[n] = n, true end
  end
  if math.type(v) == "integer" then
    add(v)
  elseif type(v) == "table" then
    for _, n in ipairs(V.list(v, w)) do add(n) end
  elseif type(v) == "string" then
    for part in (v .. ","):gmatch("([^,]*),") do
      local a, b = part:match("^%s*(%d+)%-(%d+)%s*$")
      a, b = tonumber(a or part:match("^%s*(%d+)%s*$")), tonumber(b)
      if not a or (b and b < a) then
        V.raise("%s: bad node list '%s' (want e.g. \"0-1,3\")", w, v)
      end
      for n = a, b or a do add(math.tointeger(n)) end
    end
  end
  if #out == 0 then
    V.raise("%s: expected a node, a list of nodes or a node list \"0-1\", got %s", w,
      type(v) == "string" and ("'%s'"):format(v) or tostring(v))
  end
  table.sort(out)
  return out
end

-- "0-1,3", as cpulists are written
local node_list = cpuset.format

-- cpuset.mems: the NUMA nodes the workers may allocate from.
function methods:cpuset_mems(v)
  return with(self, "cpuset_mems", nodes(v, what(self, "cpuset_mems")))
end

-- Memory policies (set_mempolicy) and how many nodes each takes: false
-- none, 1 exactly one, true one or more.
local MEM_POLICIES = { default = false, ["local"] = false, preferred = 1, bind = true,
  interleave = true, preferred_many = true, weighted_interleave = true }
local MPOL_FLAGS = { static_nodes = true, relative_nodes = true, numa_balancing = true }

-- The rules set_mempolicy enforces between mode and flags, whichever came last.
local function check_mpol(def, method)
  local p, f = def.mem_policy, def.mpol_flags
  if not p or not f then return end
  local w = ("cgroup '%s': %s"):format(def.name, method)
  if f.numa_balancing and p.mode ~= "bind" and p.mode ~= "preferred_many" then
    V.raise("%s: numa_balancing goes only with bind or preferred_many, not %s", w, p.mode)
  end
  if (f.static_nodes or f.relative_nodes) and not p.nodes then
    V.raise("%s: %s takes no nodes, so no static_nodes or relative_nodes", w, p.mode)
  end
end

function methods:mem_policy(mode, v)
  local w = what(self, "mem_policy")
  local takes = MEM_POLICIES[mode]
  if takes == nil then
    V.raise("%s: %s", w, V.unknown("memory policy", mode, V.sorted(MEM_POLICIES)))
  end
  local p = { mode = mode }
  if takes == false and v ~= nil then
    V.raise("%s: %s takes no nodes", w, mode)
  elseif takes then
    p.nodes = nodes(v, w .. ": " .. mode)
    if takes == 1 and #p.nodes ~= 1 then
      V.raise("%s: preferred takes one node, got %s", w, node_list(p.nodes))
    end
  end
  local b = with(self, "mem_policy", p)
  check_mpol(b[DEF], "mem_policy")
  return b
end

function methods:mpol_flags(...)
  local w = what(self, "mpol_flags")
  local f = {}
  for i = 1, select("#", ...) do
    local name = select(i, ...)
    if not MPOL_FLAGS[name] then
      V.raise("%s: %s", w, V.unknown("flag", name, V.sorted(MPOL_FLAGS)))
    end
    f[name] = true
  end
  if f.static_nodes and f.relative_nodes then
    V.raise("%s: static_nodes and relative_nodes exclude each other", w)
  end
  local b = with(self, "mpol_flags", f)
  check_mpol(b[DEF], "mpol_flags")
  return b
end

-- Per-worker affinity: a cpuset spec, or an intent resolved per worker.
M.AFFINITY = { single_cpu = true, llc_aligned = true, cross_cgroup = true, smt_sibling_pair = true }

function M.affinity(v, w)
  if cpuset.is(v) or M.AFFINITY[v] then return v end
  V.raise("%s: expected a ktstr.cpuset value or one of %s, got %s", w,
    table.concat(V.sorted(M.AFFINITY), ", "), tostring(v))
end

function methods:affinity(v)
  local b = with(self, "affinity", M.affinity(v, what(self, "affinity")))
  check_deadline(b[DEF], "affinity")
  return b
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

-- Bytes as an integer or a string like "256M" (K, M, G): n | nil, why.
function M.parse_bytes(v)
  local n, u = tostring(v):match("^(%d+)([KMG]?)$")
  if (type(v) == "number" and math.type(v) ~= "integer") or not n or tonumber(n) == 0 then
    return nil, ("expected bytes > 0 (an integer or a string like \"256M\"), got %s")
      :format(tostring(v))
  end
  -- the kernel takes up to 2^63-1; past that the number would wrap to "no limit"
  local count, unit = math.tointeger(tonumber(n)), math.tointeger(UNITS[u])
  if not count or count > math.maxinteger // unit then
    return nil, ("%s is more bytes than the kernel can take (at most %d)"):format(tostring(v),
      math.maxinteger)
  end
  return count * unit
end

local function bytes(v, w)
  local n, why = M.parse_bytes(v)
  if not n then V.raise("%s: %s", w, why) end
  return n
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

-- ktstr.cgroup("name"): a cgroup under the ktstr root; "a/b" nests b in a.
function M.new(name)
  V.cgroup_name(name, "ktstr.cgroup")
  return setmetatable({ [DEF] = { name = name, source = V.where() } }, Builder)
end

function M.is(v)
  return getmetatable(v) == Builder
end

-- The cgroup of a payload (ktstr.payload): payload is what ktstr.payload checked.
function M.payload(name, payload)
  return setmetatable({ [DEF] = { name = name, source = V.where(), payload = payload } }, Builder)
end

-- The vocabulary's own cpulists ("0-3,5", cpuset.format's) as sets.
local function cpu_set(list)
  local set = {}
  for part in list:gmatch("[^,]+") do
    local a, b = part:match("^(%d+)%-(%d+)$")
    for c = tonumber(a or part), tonumber(b or part) do set[c] = true end
  end
  return set
end

local function subset(a, b)
  for k in pairs(a) do
    if not b[k] then return false end
  end
  return true
end

local function set_of(list)
  local set = {}
  for _, n in ipairs(list) do set[n] = true end
  return set
end

local function count(n, word)
  return ("%d %s%s (%s)"):format(n, word, n == 1 and "" or "s", n == 1 and "0" or "0-" .. (n - 1))
end

-- SCHED_DEADLINE bandwidth a guest CPU admits: all of it (7.x's
-- sched_rt_runtime_us is 100%) less the 5% the kernel's fair server
-- reserves (4 CPUs admitted 38 workers of 0.1 CPU, under EEVDF and the
-- fixture alike). Past that the script is refused here; the guest's kernel
-- has the last word anyway: its EBUSY names the values.
M.DL_CPU_SHARE = 0.95

--[[
place(def, topo, cpus, parent) -> info | nil, message: what a def needs of
its topology and of the cgroup it nests in, checked at load (step.check)
and again when the executor creates it. cpus is its resolved cpuset (nil:
none of its own), parent the info of the nearest running cgroup it nests
in. info: cpus (the cpulist it runs on, its parent's when it has none; nil
for every CPU), mems (its node list, or its parent's), threaded (it must
be a threaded cgroup: its parent holds processes of its own, and cgroup v2
lets such a cgroup have only threaded children), workers (how many it
starts), dl_bw (CPUs of deadline bandwidth they ask).
]]
function M.place(def, topo, cpus, parent)
  local w = ("cgroup '%s'"):format(def.name)
  local ncpus = topo.llcs * topo.cores * topo.threads
  if cpus and parent and parent.cpus and not subset(cpu_set(cpus), cpu_set(parent.cpus)) then
    return nil, ("%s: cpuset %s is not within its parent '%s''s cpuset %s"):format(w, cpus,
      parent.name, parent.cpus)
  end
  local info = { name = def.name, cpus = cpus or parent and parent.cpus,
    mems = def.cpuset_mems and node_list(def.cpuset_mems) or parent and parent.mems,
    threaded = parent and (parent.workers > 0 or parent.threaded) or false }
  for _, n in ipairs(def.cpuset_mems or {}) do
    if n >= topo.numa_nodes then
      return nil, ("%s: cpuset_mems: node %d out of range: the topology has %s"):format(w, n,
        count(topo.numa_nodes, "NUMA node"))
    end
  end
  if def.cpuset_mems and parent and parent.mems
      and not subset(set_of(def.cpuset_mems), cpu_set(parent.mems)) then
    return nil, ("%s: cpuset_mems %s is not within its parent '%s''s %s"):format(w,
      node_list(def.cpuset_mems), parent.name, parent.mems)
  end
  local mp, flags = def.mem_policy, def.mpol_flags or {}
  if mp and mp.nodes and not flags.relative_nodes then
    local allowed = info.mems and cpu_set(info.mems)
    local inside = false
    for _, n in ipairs(mp.nodes) do
      if n >= topo.numa_nodes then
        return nil, ("%s: mem_policy %s: node %d out of range: the topology has %s"):format(w,
          mp.mode, n, count(topo.numa_nodes, "NUMA node"))
      end
      if allowed and not allowed[n] and not flags.static_nodes then
        return nil, ("%s: mem_policy %s: node %d is not in the cgroup's cpuset_mems %s (give " ..
          "mpol_flags static_nodes or relative_nodes to mean otherwise)"):format(w, mp.mode, n,
          info.mems)
      end
      inside = inside or not allowed or allowed[n]
    end
    if not inside then
      return nil, ("%s: mem_policy %s: none of nodes %s is in the cgroup's cpuset_mems %s")
        :format(w, mp.mode, node_list(mp.nodes), info.mems)
    end
  end
  local sp = def.sched_policy
  if sp and sp.policy == "deadline" and info.cpus and #cpu_set(info.cpus) < ncpus then
    return nil, ("%s: deadline workers need every CPU (the kernel wants a deadline task's " ..
      "affinity to span its root domain), but the cgroup has cpuset %s of %s"):format(w,
      info.cpus, "0-" .. (ncpus - 1))
  end
  if info.threaded then
    for _, k in ipairs({ "memory_max", "memory_high", "memory_low", "io_weight" }) do
      if def[k] then
        return nil, ("%s: %s needs a domain cgroup, but '%s' must be threaded: its parent " ..
          "'%s' holds workers, and cgroup v2 gives a cgroup with processes of its own only " ..
          "threaded children, which have no memory or io controller"):format(w, k, def.name,
          parent.name)
      end
    end
  end
  local size = 0
  for _ in pairs(cpu_set(info.cpus or "0-" .. (ncpus - 1))) do size = size + 1 end
  -- a payload's program is a process of its own: its children are threaded like workers'
  info.workers = def.payload and 1 or def.workers or math.ceil(size * def.workers_pct)
  info.dl_bw = sp and sp.policy == "deadline" and info.workers * sp.runtime_ns / sp.period_ns
    or 0
  return info
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
