-- Work types and phases (ktstr.work.*, ktstr.phase.*): what each worker's loop does.
local V = require("ktstr.validate")

local M = {}

-- Parameter names, kinds and defaults of the C work types (src/work_*.c,
-- which re-checks ranges). Durations are seconds here; the runtime hands
-- the C side ns. A fourth field is a minimum the group sizes below need,
-- or for an enum the names it takes; "nodes" takes a list of NUMA node ids.
local SPIN = { "spin_iters", "int", 1024 }
local CACHE = { { "size_kib", "int", 32 }, { "stride", "int", 64 } }
-- asymmetric_waker's classes: rt is FIFO 50, deadline 0.5 ms every 10 ms.
local CLASSES = { "cfs", "batch", "idle", "rt", "deadline", "ext" }
M.TYPES = {
  spin_wait = {}, yield_heavy = {}, mixed = {}, io_sync_write = {}, fork_exit = {}, nice_sweep = {},
  alu_hot = { { "width", "int", 64 } },
  bursty = { { "burst_duration", "duration", 0.05 }, { "sleep_duration", "duration", 0.1 } },
  idle_churn = { { "burst_duration", "duration", 0.001 }, { "sleep_duration", "duration", 0.005 },
    { "precise_timing", "bool", false } },
  pipe_io = { { "burst_iters", "int", 1024 } },
  futex_ping_pong = { SPIN },
  futex_fan_out = { { "fan_out", "int", 4, 1 }, SPIN },
  cache_pressure = CACHE, cache_yield = CACHE,
  affinity_churn = { SPIN }, policy_churn = { SPIN },
  page_fault_churn = { { "region_kib", "int", 4096 }, { "touches_per_cycle", "int", 256 },
    { "spin_iters", "int", 64 } },
  mutex_contention = { { "contenders", "int", 4, 2 }, { "hold_iters", "int", 256 },
    { "work_iters", "int", 1024 } },
  wake_chain = { { "depth", "int", 4, 2 }, { "wake", "enum", "pipe", { "pipe", "futex" } },
    { "work_per_hop", "duration", 0.0001 } },
  asymmetric_waker = { { "waker_class", "enum", "cfs", CLASSES },
    { "wakee_class", "enum", "cfs", CLASSES }, { "burst_iters", "int", 1024 } },
  thundering_herd = { { "waiters", "int", 7, 1 }, { "batches", "int", 1000, 1 },
    { "inter_batch_ms", "int", 5 } },
  epoll_storm = { { "producers", "int", 1, 1 }, { "consumers", "int", 2, 1 },
    { "events_per_burst", "int", 32, 1 } },
  signal_storm = { { "signals_per_iter", "int", 16, 1 }, { "work_iters", "int", 1024 } },
  fan_out_compute = { { "fan_out", "int", 4, 1 }, { "cache_footprint_kib", "int", 256, 1 },
    { "operations", "int", 5 }, { "sleep_usec", "int", 100 } },
  cache_pipe = { { "size_kib", "int", 32, 1 }, { "burst_iters", "int", 1024 } },
  ipc_variance = { { "hot_iters", "int", 100000, 1 }, { "cold_iters", "int", 1024, 1 },
    { "period_iters", "int", 64, 1 } },
  producer_consumer_imbalance = { { "producers", "int", 2, 1 }, { "consumers", "int", 1, 1 },
    { "produce_rate_hz", "int", 1000, 1 }, { "consume_iters", "int", 4096 },
    { "queue_depth_target", "int", 1024, 1 } },
  preempt_storm = { { "cfs_workers", "int", 2, 1 }, { "rt_burst_iters", "int", 1024 },
    { "rt_sleep_us", "int", 1000, 1 } },
  schbench = { { "message_threads", "int", 1, 1 }, { "worker_threads", "int", 0 },
    { "cache_footprint_kib", "int", 256, 1 }, { "operations", "int", 5 },
    { "sleep_usec", "int", 100 }, { "skip_locking", "bool", false } },
  -- placement, cgroups, NUMA and RT
  smt_sibling_spin = {},
  cross_affinity_churn = { SPIN },
  numa_migration_churn = { { "period_ms", "int", 100 } },
  numa_working_set_sweep = { { "region_kib", "int", 4096 }, { "sweep_period_ms", "int", 100 },
    { "target_nodes", "nodes", {} } },
  cgroup_churn = { { "groups", "int", 2 }, { "cycle_ms", "int", 100 } },
  cgroup_attach_storm = { { "reap", "enum", "sig_ign", { "sig_ign", "waitpid" } } },
  priority_inversion = { { "high_count", "int", 1, 1 }, { "medium_count", "int", 1 },
    { "low_count", "int", 1, 1 }, { "hold_iters", "int", 4096 }, { "work_iters", "int", 1024 },
    { "pi_mode", "enum", "plain", { "plain", "pi" } } },
  rt_starvation = { { "rt_workers", "int", 1, 1 }, { "cfs_workers", "int", 1 },
    { "rt_priority", "int", 50 }, { "burst_iters", "int", 1024 } },
  io_rand_read = {}, io_convoy = {},
}

-- Work that wants a CPU all the time: it never sleeps, yields, waits on
-- another worker or changes its own weight or class. What it waits is
-- what the scheduler decided (the cgroup fairness check compares these).
M.CPU_BOUND = { spin_wait = true, alu_hot = true, cache_pressure = true,
  page_fault_churn = true, affinity_churn = true, ipc_variance = true, signal_storm = true,
  smt_sibling_spin = true, numa_working_set_sweep = true }

-- Work whose members are unequal by design: RT tiers run ahead of the
-- others, so the checks that compare a cgroup's workers with each other
-- (spread, throughput cv) leave its cgroups out.
M.UNEVEN = { priority_inversion = true, rt_starvation = true }

-- Workers per group for the types whose workers pair up; the others are 1.
local GROUP = {
  pipe_io = function() return 2 end,
  futex_ping_pong = function() return 2 end,
  futex_fan_out = function(p) return p.fan_out + 1 end,
  mutex_contention = function(p) return p.contenders end,
  wake_chain = function(p) return p.depth end,
  asymmetric_waker = function() return 2 end,
  thundering_herd = function(p) return p.waiters + 1 end,
  epoll_storm = function(p) return p.producers + p.consumers end,
  signal_storm = function() return 2 end,
  fan_out_compute = function(p) return p.fan_out + 1 end,
  cache_pipe = function() return 2 end,
  producer_consumer_imbalance = function(p) return p.producers + p.consumers end,
  preempt_storm = function(p) return p.cfs_workers + 1 end,
  smt_sibling_spin = function() return 2 end,
  priority_inversion = function(p) return p.high_count + p.medium_count + p.low_count end,
  rt_starvation = function(p) return p.rt_workers + p.cfs_workers end,
}

-- Work that does its IO on the guest's scratch disk (src/guest/work_io.c): a
-- test that runs it gets the disk (ktstr.test's disk key).
M.DISK = { io_sync_write = true, io_rand_read = true, io_convoy = true }

M.PHASES = { spin = true, sleep = true, yield = true, io = true, alu_hot = true }
M.MAX_PHASES = 16

local CHECK = {
  int = function(v, what, min) return V.integer(v, what, min or 0) end,
  bool = V.boolean,
  enum = function(v, what, names)
    for _, n in ipairs(names) do
      if v == n then return v end
    end
    V.raise("%s: %s", what, V.unknown("choice", v, names))
  end,
  -- NUMA node ids, a set: sorted, each once (the C side takes nodes 0..31)
  nodes = function(v, what)
    local out, seen = {}, {}
    for i, n in ipairs(V.list(v, what)) do
      n = V.integer(n, ("%s[%d]"):format(what, i), 0, 31)
      if seen[n] then V.raise("%s: node %d given twice", what, n) end
      seen[n], out[#out + 1] = true, n
    end
    table.sort(out)
    return out
  end,
  duration = function(v, what)
    local s = V.duration(v, what)
    if s <= 0 then V.raise("%s: expected a duration > 0, got %s", what, tostring(v)) end
    return s
  end,
}

local function ns(s) return math.floor(s * 1e9 + 0.5) end

-- The parameters and phases as the C side takes them: durations in ns.
function M.c_args(w)
  local params = {}
  for _, p in ipairs(M.TYPES[w.type] or {}) do
    local v = w.params[p[1]]
    params[p[1]] = p[2] == "duration" and ns(v) or v
  end
  local phases
  if w.phases then
    phases = {}
    for i, ph in ipairs(w.phases) do phases[i] = { kind = ph.kind, ns = ns(ph.duration) } end
  end
  return params, phases
end

-- The C side's own ranges (src/work*.c), checked when the script makes the
-- value rather than in the guest after a boot. Outside the ktstr binary
-- (a plain lua5.4 loading the vocabulary) the guest still checks them.
local has_core, core = pcall(require, "ktstr.core")

local function c_check(w, what)
  if not has_core then return w end
  local ok, err = core.work_resolve(w.type, M.c_args(w))
  if not ok then V.raise("%s: %s", what, err) end
  return w
end

local function make(name, params)
  return function(args)
    local what = "ktstr.work." .. name
    args = args or {}
    if type(args) ~= "table" then
      V.raise("%s: expected a table of parameters {name = value, ...}, got %s", what,
        tostring(args))
    end
    local allowed, out = {}, {}
    for _, p in ipairs(params) do allowed[p[1]] = true end
    V.keys(args, allowed, what)
    for _, p in ipairs(params) do
      local v = args[p[1]]
      if v == nil and type(p[3]) ~= "table" then
        out[p[1]] = p[3]
      else  -- a table default is copied: values stay apart
        out[p[1]] = CHECK[p[2]](v == nil and p[3] or v, what .. ": " .. p[1], p[4])
      end
    end
    return c_check({ type = name, params = out }, what)
  end
end

local function phase(kind)
  return function(d)
    return { kind = kind, duration = CHECK.duration(d, "ktstr.phase." .. kind) }
  end
end

local function sequence(...)
  local n = select("#", ...)
  if n == 0 or n > M.MAX_PHASES then
    V.raise("ktstr.work.sequence: expected 1 to %d phases (ktstr.phase.spin(0.1), ...), got %d",
      M.MAX_PHASES, n)
  end
  local phases = {}
  for i = 1, n do
    local p = select(i, ...)
    if type(p) ~= "table" or not M.PHASES[p.kind] then
      V.raise("ktstr.work.sequence: argument %d is not a phase " ..
        "(ktstr.phase.spin/sleep/yield/io/alu_hot)", i)
    end
    phases[i] = p
  end
  return c_check({ type = "sequence", params = {}, phases = phases }, "ktstr.work.sequence")
end

-- Plain values a custom work function can be handed (no functions, no tables).
local PLAIN = { number = true, string = true, boolean = true }

-- The function is string.dump'ed and loaded again in the worker's own Lua
-- state, where it is called as fn(w, params); it cannot see the script's
-- locals there, so only _ENV may be an upvalue.
local function custom(fn, params)
  local what = "ktstr.work.custom"
  if type(fn) ~= "function" or debug.getinfo(fn, "S").what == "C" then
    V.raise("%s: expected a Lua function(w), got %s", what, tostring(fn))
  end
  for i = 1, math.huge do
    local up = debug.getupvalue(fn, i)
    if not up then break end
    if up ~= "_ENV" then
      V.raise("%s: the function uses '%s' from the enclosing script; it runs in the " ..
        "worker's own Lua state, so pass it in params (the function's second argument) " ..
        "or define it inside", what, up)
    end
  end
  params = params or {}
  if type(params) ~= "table" then
    V.raise("%s: params must be a table, got %s", what, tostring(params))
  end
  for k, v in pairs(params) do
    if type(k) ~= "string" or not PLAIN[type(v)] then
      V.raise("%s: params.%s: expected a number, string or boolean, got %s", what, tostring(k),
        type(v))
    end
  end
  local info = debug.getinfo(fn, "S")
  return { type = "custom", params = params, code = string.dump(fn),
    source = ("%s:%d"):format(info.short_src, info.linedefined) }
end

local api = { sequence = sequence, custom = custom }
for name, params in pairs(M.TYPES) do api[name] = make(name, params) end
M.api = V.strict(api, "ktstr.work", "work type")

local phases = {}
for kind in pairs(M.PHASES) do phases[kind] = phase(kind) end
M.phase_api = V.strict(phases, "ktstr.phase", "phase")

-- Is this a work value the constructors above made?
function M.is(w)
  return type(w) == "table" and rawget(M.api, w.type) ~= nil and type(w.params) == "table"
end

-- Workers that run together as one group (divides a cgroup's worker count).
function M.group_size(w)
  local g = GROUP[w.type]
  return g and g(w.params) or 1
end

-- Why the test's topology cannot run w (a target node it lacks), or nil.
function M.misfit(w, topo)
  local nodes = w.type == "numa_working_set_sweep" and w.params.target_nodes or {}
  local last = nodes[#nodes]
  if last and last >= topo.numa_nodes then
    return ("%s: target_nodes: node %d, but the topology has %d NUMA node%s"):format(w.type,
      last, topo.numa_nodes, topo.numa_nodes == 1 and "" or "s")
  end
end

return M
