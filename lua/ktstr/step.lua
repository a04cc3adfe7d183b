-- Steps, holds and the backdrop: the scenario's timeline, its plan, and a static check of it.
local V = require("ktstr.validate")
local cpuset = require("ktstr.cpuset")
local cgroupdef = require("ktstr.cgroupdef")
local op = require("ktstr.op")
local work = require("ktstr.work")

local M = {}

M.hold_api = V.strict({
  full = { kind = "frac", frac = 1 },
  -- a fraction of the test's duration_s
  frac = function(f) return { kind = "frac", frac = V.number(f, "ktstr.hold.frac", 0, 1) } end,
  fixed = function(d) return { kind = "fixed", seconds = V.duration(d, "ktstr.hold.fixed") } end,
  -- repeat the step's ops every interval until duration_s runs out
  loop = function(t)
    if type(t) ~= "table" then
      V.raise("ktstr.hold.loop: expected {interval = ...}, got %s", tostring(t))
    end
    V.keys(t, { interval = true }, "ktstr.hold.loop")
    local i = V.duration(t.interval, "ktstr.hold.loop: interval")
    if i <= 0 then V.raise("ktstr.hold.loop: interval must be > 0") end
    return { kind = "loop", interval = i }
  end,
}, "ktstr.hold", "hold")

local HOLDS = { frac = true, fixed = true, loop = true }
local HOLD_FORMS = "ktstr.hold.full, .frac(f), .fixed(d) or .loop{interval = d}"

local function defs(list, w)
  local out = {}
  for i, b in ipairs(V.list(list, w)) do out[i] = cgroupdef.unwrap(b, ("%s[%d]"):format(w, i)) end
  return out
end

local function ops(list, w)
  for i, o in ipairs(V.list(list, w)) do
    if not op.is(o) then V.raise("%s[%d]: expected a ktstr.op value, got %s", w, i, tostring(o)) end
  end
  return list
end

-- ktstr.step{setup = {defs}, ops = {ops}, hold = ...}: ops run first, then
-- the setup's cgroups start, then the hold; a loop hold starts the setup
-- first and then repeats the ops. Step-local cgroups end with the step.
function M.new(t)
  local w = "ktstr.step"
  V.record(t, w, "{setup =, ops =, hold =}", { setup = true, ops = true, hold = true })
  if type(t.hold) ~= "table" or not HOLDS[t.hold.kind] then
    V.raise("%s: hold: expected %s, got %s", w, HOLD_FORMS, tostring(t.hold))
  end
  return { setup = defs(t.setup or {}, w .. ": setup"), ops = ops(t.ops or {}, w .. ": ops"),
    hold = t.hold, source = V.where() }
end

function M.is(s)
  return type(s) == "table" and type(s.hold) == "table" and HOLDS[s.hold.kind] ~= nil
    and type(s.setup) == "table" and type(s.ops) == "table"
end

-- ktstr.backdrop{def, def, ..., ops = {...}}: cgroups that live through
-- every step, created in order before step 0; then its ops run once.
function M.backdrop(t)
  local w = "ktstr.backdrop"
  V.record(t, w, "{defs..., ops =}")
  local list = {}
  for k, v in pairs(t) do
    if k ~= "ops" then list[k] = v end
  end
  return { backdrop = true, cgroups = defs(list, w), ops = ops(t.ops or {}, w .. ": ops"),
    source = V.where() }
end

-- plan(steps, duration_s) -> { {label = "Step[0]", start_s, hold_s, interval_s}, ... }:
-- when each step starts and how long it holds, nominally (setup time aside).
function M.plan(steps, duration_s)
  local out, t = {}, 0
  for k, s in ipairs(steps) do
    local h = s.hold
    local hold = h.kind == "frac" and h.frac * duration_s or h.kind == "fixed" and h.seconds
      or math.max(0, duration_s - t)
    out[k] = { label = ("Step[%d]"):format(k - 1), start_s = t, hold_s = hold,
      interval_s = h.interval }
    t = t + hold
  end
  return out
end

-- The static check ktstr.test runs on declarative scenarios: every cpuset
-- resolves on the topology, every op names a cgroup that exists when it
-- runs, scheduler ops have a scheduler. Raises at the def's or op's line.
local function fail(src, fmt, ...)
  error(src .. ": " .. fmt:format(...), 0)
end

local function check_spec(spec, topo, src, what, index, n)
  if not cpuset.is(spec) then return end
  local cpus, err = cpuset.resolve(spec, topo, index, n)
  if not cpus then fail(src, "%s: %s", what, err) end
end

-- The nearest running cgroup name nests in, by name, or nil.
function M.parent_of(name, live)
  local p = name:match("^(.*)/[^/]+$")
  while p do
    if live[p] then return p end
    p = p:match("^(.*)/[^/]+$")
  end
end

-- The running cgroups nested in name, deepest first.
function M.children_of(name, live)
  local out = {}
  for other in pairs(live) do
    if other:sub(1, #name + 1) == name .. "/" then out[#out + 1] = other end
  end
  table.sort(out, function(a, b)
    local da, db = select(2, a:gsub("/", "")), select(2, b:gsub("/", ""))
    if da ~= db then return da > db end
    return a < b
  end)
  return out
end

-- SCHED_DEADLINE bandwidth of the running cgroups, against what the guest admits.
local function check_dl(st, topo, def)
  local sum = 0
  for _, info in pairs(st.info) do sum = sum + info.dl_bw end
  local ncpus = topo.llcs * topo.cores * topo.threads
  local cap = ncpus * cgroupdef.DL_CPU_SHARE
  local mine = st.info[def.name].dl_bw
  if mine > 0 and sum > cap + 1e-9 then
    local sp = def.sched_policy
    fail(def.source, "cgroup '%s': sched_policy deadline: %d workers x runtime %s / period %s " ..
      "= %.3g CPUs of deadline bandwidth%s, past the %.3g that %d CPUs admit (%d%% each: the " ..
      "kernel's fair server keeps 5%%)", def.name,
      st.info[def.name].workers, cgroupdef.show_ns(sp.runtime_ns), cgroupdef.show_ns(sp.period_ns),
      mine, sum > mine and (" (%.3g with the other cgroups')"):format(sum) or "", cap, ncpus,
      math.floor(cgroupdef.DL_CPU_SHARE * 100 + 0.5))
  end
end

local function start(list, topo, st, scope)
  local live = st.live
  for i, def in ipairs(list) do
    local w = ("cgroup '%s'"):format(def.name)
    if live[def.name] then fail(def.source, "%s already exists (from %s)", w, live[def.name]) end
    local kid = M.children_of(def.name, live)[1]
    if kid then
      fail(def.source, "%s: its child '%s' exists already (from %s): declare a parent " ..
        "before the cgroups nested in it", w, kid, live[kid])
    end
    check_spec(def.cpuset, topo, def.source, w .. ": cpuset", i - 1, #list)
    check_spec(def.affinity, topo, def.source, w .. ": affinity", i - 1, #list)
    local misfit = def.work and work.misfit(def.work, topo)
    if misfit then fail(def.source, "%s: %s", w, misfit) end
    local cpus = def.cpuset and cpuset.resolve(def.cpuset, topo, i - 1, #list)
    local parent = M.parent_of(def.name, live)
    local info, err = cgroupdef.place(def, topo, cpus, parent and st.info[parent])
    if not info then fail(def.source, "%s", err) end
    live[def.name], st.info[def.name], st.defs[def.name] = scope, info, def
    check_dl(st, topo, def)
  end
end

local function forget(st, name)
  for _, kid in ipairs(M.children_of(name, st.live)) do
    st.live[kid], st.info[kid], st.defs[kid] = nil, nil, nil
  end
  st.live[name], st.info[name], st.defs[name] = nil, nil, nil
end

-- What cgroup v2 lets an op do to nested cgroups.
local function check_nested(o, topo, st)
  if o.op == "spawn" then
    local info = st.info[o.cgroup]
    for _, kid in ipairs(M.children_of(o.cgroup, st.live)) do
      if info.workers == 0 and not info.threaded and not st.info[kid].threaded then
        fail(o.source, "spawn: cgroup '%s' has a child '%s', which is a domain cgroup since " ..
          "'%s' had no workers when it was made: cgroup v2 lets a cgroup with domain children " ..
          "hold no processes (declare '%s' with workers to make its children threaded)",
          o.cgroup, kid, o.cgroup, o.cgroup)
      end
    end
  elseif o.op == "set_cpuset" then
    -- within its parent's, around its children's own
    local cpus = cpuset.resolve(o.cpuset, topo)
    local parent = M.parent_of(o.cgroup, st.live)
    local info, err = cgroupdef.place(st.defs[o.cgroup], topo, cpus, parent and st.info[parent])
    if not info then fail(o.source, "%s: %s", o.op, err) end
    for _, kid in ipairs(M.children_of(o.cgroup, st.live)) do
      if st.defs[kid].cpuset and M.parent_of(kid, st.live) == o.cgroup then
        _, err = cgroupdef.place(st.defs[kid], topo, st.info[kid].cpus, info)
        if err then fail(o.source, "%s: %s", o.op, err) end
      end
    end
  end
end

local function run_ops(list, topo, st, scope, has_sched, later)
  local live = st.live
  for _, o in ipairs(list) do
    if op.NEEDS_SCHEDULER[o.op] and not has_sched then
      fail(o.source, "%s: the test has no scheduler (it runs under EEVDF)", o.op)
    end
    for _, name in ipairs(op.refs(o)) do
      if not live[name] then
        if later[name] then
          fail(o.source, "%s: cgroup '%s' does not exist yet: a step runs its ops before its " ..
            "setup, so put the op in the next step", o.op, name)
        end
        fail(o.source, "%s: %s", o.op, V.unknown("cgroup", name, V.sorted(live)))
      end
    end
    check_spec(o.cpuset, topo, o.source, o.op, nil, nil)
    check_spec(o.affinity, topo, o.source, o.op, nil, nil)
    local misfit = o.work and work.misfit(o.work, topo)
    if misfit then fail(o.source, "%s: %s", o.op, misfit) end
    check_nested(o, topo, st)
    if o.op == "add_cgroup" then start({ o.def }, topo, st, scope) end
    if o.op == "remove_cgroup" then forget(st, o.cgroup) end
  end
end

function M.check(steps, backdrop, topo, has_sched)
  local st = { live = {}, info = {}, defs = {} }
  if backdrop then
    start(backdrop.cgroups, topo, st, "backdrop")
    run_ops(backdrop.ops, topo, st, "backdrop", has_sched, {})
  end
  for k, s in ipairs(steps) do
    local scope = ("Step[%d]"):format(k - 1)
    local later = {}
    for _, def in ipairs(s.setup) do later[def.name] = true end
    if s.hold.kind == "loop" then
      start(s.setup, topo, st, scope)
      run_ops(s.ops, topo, st, scope, has_sched, {})
    else
      run_ops(s.ops, topo, st, scope, has_sched, later)
      start(s.setup, topo, st, scope)
    end
    for name, where in pairs(st.live) do
      if where == scope then st.live[name], st.info[name], st.defs[name] = nil, nil, nil end
    end
  end
end

-- step.each_def(test, f): every cgroup def a test declares (the backdrop's, then each
-- step's setup and add_cgroup ops) and every work an op spawns, as f(def) and f(nil, work).
function M.each_def(test, f)
  local function each_op(list)
    for _, o in ipairs(list or {}) do
      if o.def then f(o.def) end
      if o.work then f(nil, o.work) end
    end
  end
  if test.backdrop then
    for _, d in ipairs(test.backdrop.cgroups) do f(d) end
    each_op(test.backdrop.ops)
  end
  for _, s in ipairs(test.steps or {}) do
    for _, d in ipairs(s.setup) do f(d) end
    each_op(s.ops)
  end
end

return M
