-- The guest-side executor: runs a test's steps and ops on real cgroups and workers.
local core = require("ktstr.core")
local cgroupdef = require("ktstr.cgroupdef")
local cpuset = require("ktstr.cpuset")
local disk = require("ktstr.guest.disk")
local fault = require("ktstr.fault")
local payload = require("ktstr.guest.payload")
local show = require("ktstr.show")
local sched = require("ktstr.guest.sched")
local step = require("ktstr.step")
local verdict = require("ktstr.verdict")
local work = require("ktstr.work")

local M = {}

local Ctx = {}
Ctx.__index = Ctx

-- An environment failure (a cgroup write refused, a spawn failed): inconclusive.
local function fail(fmt, ...)
  fault.raise("env", fmt:format(...))
end

-- A mistake of the test script found while it runs, at src (its file:line) when known.
local function mistake(src, fmt, ...)
  fault.raise("script", (src and src .. ": " or "") .. fmt:format(...))
end

local function ok(v, err, ...)
  if v == nil then fail("%s", err) end
  return v, err, ...
end

-- A cpuset the script asked for that this topology cannot give.
local function resolved(src, cpus, err)
  if not cpus then mistake(src, "%s", err) end
  return cpus
end

-- A custom function runs in the worker's own Lua state as fn(w, params).
local function custom_chunk(w)
  local parts = {}
  for k, v in pairs(w.params) do
    parts[#parts + 1] = ("[%q] = %s"):format(k, type(v) == "string" and ("%q"):format(v)
      or tostring(v))
  end
  return ("local w = ...\nlocal fn = assert(load(%q, %q, 'b'))\nreturn fn(w, {%s})")
    :format(w.code, "=" .. w.source, table.concat(parts, ", "))
end

-- The workers_spawn fields for a work value: work= (C loop) or lua= (custom).
function M.work_fields(w)
  if w.type == "custom" then return { lua = custom_chunk(w) } end
  return { work = ok(core.work_resolve(w.type, work.c_args(w))) }
end

-- The host as a scenario run without one sees it: nobody to ask or tell.
local NO_HOST = {
  call = function() return nil, "no host is listening (not run by the agent)" end,
  notify = function() end,
  sleep = core.sleep,
}

--[[
plan: the scheduler to run (scheduler.plan on the host), or nil for EEVDF.
link: how the scenario reaches whoever runs it: call(msg, timeout) -> reply
| nil, err (a snapshot: the host pauses the guest), notify(msg) (phases, no
answer), sleep(s) (every wait of the scenario and its scheduler). The agent
passes its port's; the REPL's evaluator its socket's and an interruptible
sleep; nil: NO_HOST.
]]
function M.new(test, topo, plan, link)
  local self = setmetatable({ test = test, topo = topo, duration_s = test.duration_s,
    live = {}, done = {}, timeline = {}, t0 = core.now(), all_cpus = core.cpus_online(),
    plan = plan, sched_runs = {}, snapshots = {}, link = link or NO_HOST, payload_runs = {} },
    Ctx)
  -- the scratch disk, when the host attached one: its counters from here on
  local dev = core.disk_find()
  if dev then self.disk = { info = disk.info(dev), before = disk.stat(dev) } end
  return self
end

-- Every CPU a cgroup was allowed: a union over its cpusets, nil once unrestricted.
local function allow(inst, cpus)
  if not cpus then
    inst.unrestricted = true
    return
  end
  for _, c in ipairs(cpuset.parse(cpus)) do inst.allowed[c] = true end
end

-- The running cgroup inst nests in, or nil.
local function parent_of(inst)
  local name = step.parent_of(inst.name, inst.ctx.live)
  return name and inst.ctx.live[name]
end

--[[
Sets inst's cpuset; nil gives a nested cgroup its parent's (an empty
cpuset.cpus follows the parent's as they change), any other every CPU.
Nested cgroups that inherit follow along.
]]
local function set_cpus(inst, cpus)
  local parent = parent_of(inst)
  inst.inherits = cpus == nil and parent ~= nil
  if inst.inherits then
    ok(inst.cg:write("cpuset.cpus", ""))
    cpus = parent.cpus
  else
    ok(inst.cg:set_cpus(cpus or inst.ctx.all_cpus))
  end
  inst.cpus = cpus
  allow(inst, cpus)
  for _, name in ipairs(step.children_of(inst.name, inst.ctx.live)) do
    local kid = inst.ctx.live[name]
    if kid.inherits and parent_of(kid) == inst then set_cpus(kid, nil) end
  end
end

-- An op's new cpus for inst: within its parent's, around its children's own (at src).
local function check_cpus(inst, cpus, src)
  local parent = parent_of(inst)
  local _, err = cgroupdef.place(inst.def, inst.ctx.topo, cpus, parent and parent.info)
  if err then mistake(src, "%s", err) end
  for _, name in ipairs(step.children_of(inst.name, inst.ctx.live)) do
    local kid = inst.ctx.live[name]
    if not kid.inherits and parent_of(kid) == inst then
      _, err = cgroupdef.place(kid.def, inst.ctx.topo, kid.cpus,
        { name = inst.name, cpus = cpus, workers = inst.info.workers })
      if err then mistake(src, "%s", err) end
    end
  end
  return cpus
end

-- The affinity a def asks for as a cpulist for workers_spawn; named intents
-- (single_cpu, ...) are resolved per worker when they spawn.
function Ctx:affinity(def, index, n)
  local a = def.affinity
  if a == nil or type(a) == "string" then return nil end
  return resolved(def.source, cpuset.resolve(a, self.topo, index, n))
end

-- Per-worker cpulists of a named intent for the n workers after the cgroup's first `done`.
local function intent_cpus(inst, intent, n, done)
  local allowed = cpuset.parse(inst.cpus or inst.ctx.all_cpus)
  local all, err = cpuset.intent(intent, inst.ctx.topo, allowed, done + n)
  if not all then mistake(inst.def.source, "cgroup '%s': affinity %s", inst.name, err) end
  return table.move(all, done + 1, done + n, 1, {})
end

local function spawn(inst, n, w)
  w = w or inst.def.work
  if not w then
    mistake(inst.def.source, "cgroup '%s' runs a payload: spawn needs a work value", inst.name)
  end
  local def = inst.def
  if work.DISK[w.type] and not inst.ctx.disk then
    mistake(def.source, "cgroup '%s': %s does its IO on the scratch disk, and this guest has " ..
      "none: the test gets one when its defs or steps use an IO work type, or when it says " ..
      "disk = \"256M\" (a run(ctx) body must; ktstr repl: --disk SIZE)", inst.name, w.type)
  end
  local f = M.work_fields(w)
  inst.work_types[w.type] = true
  f.n, f.cgroup, f.comm, f.nice = n, inst.cg, def.comm, def.nice
  f.cpus = inst.affinity
  if type(def.affinity) == "string" then
    f.cpus_each = intent_cpus(inst, def.affinity, n, inst.spawned or 0)
  end
  inst.spawned = (inst.spawned or 0) + n
  local sp = def.sched_policy
  if sp then
    f.policy, f.priority = sp.policy, sp.priority
    f.runtime, f.deadline, f.period = sp.runtime_ns, sp.deadline_ns, sp.period_ns
  end
  if def.mem_policy then
    f.mempolicy = def.mem_policy.mode
    f.mem_nodes = def.mem_policy.nodes and cpuset.format(def.mem_policy.nodes)
    f.mpol_flags = {}
    for flag in pairs(def.mpol_flags or {}) do f.mpol_flags[#f.mpol_flags + 1] = flag end
  end
  f.threads = def.clone_mode == "thread"
  local ws, err, code = core.workers_spawn(f)
  -- what the guest's deadline bandwidth cannot admit is the script's to change
  if not ws and sp and sp.policy == "deadline" and (code == "EBUSY" or code == "EPERM") then
    mistake(def.source, "cgroup '%s': %s", inst.name, err)
  end
  inst.sets[#inst.sets + 1] = ok(ws, err, code)
end

local function controllers(inst, def)
  local cg = inst.cg
  if def.cpu_weight then ok(cg:set_weight(def.cpu_weight)) end
  if def.cpu_max then
    ok(cg:set_max(math.floor(def.cpu_max.quota * 1e6), math.floor(def.cpu_max.period * 1e6)))
  end
  if def.memory_max then ok(cg:set_memory_max(def.memory_max)) end
  if def.memory_high then ok(cg:write("memory.high", tostring(def.memory_high))) end
  if def.memory_low then ok(cg:write("memory.low", tostring(def.memory_low))) end
  if def.pids_max then ok(cg:set_pids_max(def.pids_max)) end
  if def.io_weight then
    -- io.weight means something only where iocost runs: on the scratch disk
    local d = inst.ctx.disk
    if not d then
      mistake(def.source, "cgroup '%s': io_weight weighs IO on the scratch disk, and this guest " ..
        "has none (a run(ctx) body must say disk = \"256M\")", inst.name)
    end
    if not d.iocost then
      ok(disk.iocost(d.info.dev))
      d.iocost = true
    end
    ok(cg:write("io.weight", tostring(def.io_weight)))
  end
end

--[[
Creates def's cgroup and starts its workers; index/n place positional
cpusets. A nested cgroup ("a/b") is checked against the running cgroup it
nests in (cgroupdef.place) and made threaded when that one holds workers.
]]
function Ctx:add(def, index, n, label)
  if self.live[def.name] then mistake(def.source, "cgroup '%s' already exists", def.name) end
  local kid = step.children_of(def.name, self.live)[1]
  if kid then
    mistake(def.source, "cgroup '%s': its child '%s' is running already: declare a parent " ..
      "before the cgroups nested in it", def.name, kid)
  end
  local cpus = def.cpuset and resolved(def.source, cpuset.resolve(def.cpuset, self.topo, index, n))
  local pname = step.parent_of(def.name, self.live)
  local info, err = cgroupdef.place(def, self.topo, cpus, pname and self.live[pname].info)
  if not info then mistake(def.source, "%s", err) end
  local inst = { ctx = self, name = def.name, def = def, step = label, sets = {},
    allowed = {}, work_types = {}, info = info,
    cg = ok(core.cgroup_create(def.name, { threaded = info.threaded })) }
  self.live[def.name] = inst
  set_cpus(inst, cpus)
  if def.cpuset_mems then ok(inst.cg:set_mems(info.mems)) end
  controllers(inst, def)
  inst.affinity = self:affinity(def, index, n)
  if def.payload then
    -- a name run again (a later step) is NAME#2 in the result, as in the stats
    self.payload_runs[def.name] = (self.payload_runs[def.name] or 0) + 1
    local k = self.payload_runs[def.name]
    inst.payload = payload.start(def, inst.cg, { name = k > 1 and ("%s#%d"):format(def.name, k)
      or def.name, step = label, t0 = self.t0, duration_s = self.duration_s })
    return inst
  end
  if info.workers > 0 then spawn(inst, info.workers) end
  return inst
end

function Ctx:get(name, src)
  return self.live[name] or mistake(src, "no cgroup '%s' is running", name)
end

-- Stops inst's workers and keeps their reports; by_op marks ends the test asked for.
-- A payload ends too: at its step's end it may first finish by itself.
local function stop(inst, by_op)
  if inst.payload then
    local ctx = inst.ctx
    inst.payload:finish(ctx.tearing_down and "teardown" or by_op and "op" or "end",
      function(s) ctx:sleep(s) end)
  end
  inst.reports = inst.reports or {}
  for _, ws in ipairs(inst.sets) do
    ws:stop(2)
    for _, r in ipairs(ws:reports()) do
      if by_op and r.exit then r.exit.by_op = true end
      inst.reports[#inst.reports + 1] = r
    end
    ws:close()
  end
  inst.sets = {}
end

-- Removes the parents a nested cgroup's creation made on the way, once nothing runs in them.
local function prune(self, name)
  local p = name:match("^(.*)/[^/]+$")
  while p and not self.live[p] and not step.children_of(p, self.live)[1] do
    local cg = core.cgroup_open(p)
    if cg then ok(cg:remove()) end
    p = p:match("^(.*)/[^/]+$")
  end
end

-- Stops and removes a cgroup, the cgroups nested in it first (deepest first).
function Ctx:remove(name, by_op, src)
  local inst = self:get(name, src)
  for _, kid in ipairs(step.children_of(name, self.live)) do
    if self.live[kid] then self:remove(kid, by_op) end
  end
  stop(inst, by_op)
  ok(inst.cg:remove())
  self.live[name] = nil
  self.done[#self.done + 1] = inst
  prune(self, name)
end

local OPS = {}
function OPS.add_cgroup(self, o, label) self:add(o.def, 0, 1, label) end
function OPS.remove_cgroup(self, o) self:remove(o.cgroup, true, o.source) end
function OPS.stop_cgroup(self, o) stop(self:get(o.cgroup, o.source), true) end
function OPS.set_cpuset(self, o)
  local inst = self:get(o.cgroup, o.source)
  local cpus = resolved(o.source, cpuset.resolve(o.cpuset, self.topo))
  set_cpus(inst, check_cpus(inst, cpus, o.source))
end
function OPS.clear_cpuset(self, o) set_cpus(self:get(o.cgroup, o.source), nil) end
function OPS.swap_cpusets(self, o)
  local a, b = self:get(o.a, o.source), self:get(o.b, o.source)
  local ca, cb = not a.inherits and a.cpus or nil, not b.inherits and b.cpus or nil
  set_cpus(a, cb and check_cpus(a, cb, o.source))
  set_cpus(b, ca and check_cpus(b, ca, o.source))
end
function OPS.spawn(self, o)
  local inst = self:get(o.cgroup, o.source)
  for _, name in ipairs(step.children_of(o.cgroup, self.live)) do
    if inst.info.workers == 0 and not self.live[name].info.threaded then
      mistake(o.source, "spawn: cgroup '%s' has a child '%s', which is a domain cgroup since " ..
        "'%s' had no workers when it was made: cgroup v2 lets a cgroup with domain children " ..
        "hold no processes", o.cgroup, name, o.cgroup)
    end
  end
  spawn(inst, o.workers, o.work)
  inst.info.workers = inst.info.workers + o.workers
end
-- Re-pins every running worker of the cgroup; later spawns keep the def's affinity.
function OPS.set_affinity(self, o)
  local inst = self:get(o.cgroup, o.source)
  if inst.payload and #inst.sets == 0 then
    mistake(o.source, "set_affinity: cgroup '%s' runs a payload, whose threads ktstr does not " ..
      "pin: set_cpuset limits it", o.cgroup)
  end
  local total = 0
  for _, ws in ipairs(inst.sets) do total = total + #ws:pids() end
  local lists
  if type(o.affinity) == "string" then
    lists = intent_cpus(inst, o.affinity, total, 0)
  else
    local one = resolved(o.source, cpuset.resolve(o.affinity, self.topo))
    lists = {}
    for i = 1, total do lists[i] = one end
  end
  local k = 0
  for _, ws in ipairs(inst.sets) do
    for i = 0, #ws:pids() - 1 do
      k = k + 1
      -- a worker that already ended has nothing to re-pin
      local done, err, code = ws:set_affinity(i, lists[k])
      if not done and code ~= "ESRCH" then fail("set_affinity('%s'): %s", o.cgroup, err) end
    end
  end
end
function OPS.move_all_tasks(self, o)
  local from, to = self:get(o.from, o.source), self:get(o.to, o.source)
  for _, pid in ipairs(ok(from.cg:procs())) do ok(to.cg:attach(pid)) end
end
function OPS.freeze_cgroup(self, o) ok(self:get(o.cgroup, o.source).cg:freeze()) end
function OPS.attach_scheduler(self, o) self:attach_scheduler(o.source) end
function OPS.detach_scheduler(self, o) self:detach_scheduler(o.source) end
function OPS.restart_scheduler(self, o)
  self:detach_scheduler(o.source)
  self:attach_scheduler(o.source)
end
function OPS.unfreeze_cgroup(self, o) ok(self:get(o.cgroup, o.source).cg:unfreeze()) end
-- The host pauses the guest and reads the scheduler's maps; we wait for it.
function OPS.capture_snapshot(self, o)
  local reply, err = self.link.call({ t = "snapshot", name = o.label,
    at_s = core.now() - self.t0 })
  if not reply then fail("capture_snapshot('%s'): %s", o.label, err) end
  self.snapshots[#self.snapshots + 1] = o.label
end

function Ctx:op(o, label)
  local f = OPS[o.op]
  if not f then
    fault.raise("unsupported", ("%s: op %s is not supported by this ktstr yet")
      :format(o.source, o.op))
  end
  f(self, o, label)
end

--[[
Asks the host to dump a failed scheduler's maps, which our held fds keep
alive: the host's own monitor may have missed the short window between the
error and the loader's exit. Once per scheduler run.
]]
function Ctx:dump_failure()
  local s = self.sched
  if s and s:holds_maps() and not s.dumped then
    s.dumped = true
    self.link.call({ t = "snapshot", name = "failure_dump",
      why = "the guest saw the scheduler fail; its maps were held open" })
  end
end

-- Sleeps while watching the scheduler: one that dies or is kicked out ends the scenario.
function Ctx:sleep(seconds)
  local deadline = core.now() + math.max(0, seconds)
  repeat
    if self.sched then
      local f = self.sched:check()
      if f then
        self:dump_failure()
        fault.raise("sched", f.msg)
      end
    end
    for _, inst in pairs(self.live) do
      if inst.payload then inst.payload:poll() end
    end
    self.link.sleep(math.max(0, math.min(0.1, deadline - core.now())))
  until core.now() >= deadline
end

function Ctx:attach_scheduler(src)
  if not self.plan then mistake(src, "attach_scheduler: the test declares no scheduler") end
  if self.sched then
    mistake(src, "attach_scheduler: %s is already attached", self.plan.name)
  end
  local s, f = sched.start(self.plan, self.enable_timeout, self.link.sleep)
  if not s then
    self.sched_runs[#self.sched_runs + 1] = { name = self.plan.name, failure = f, log = f.log,
      kernel = sched.kernel_log() }
    -- a declaration that does not match the scheduler is the script's mistake
    fault.raise(f.bad_input and "script" or "sched", f.msg)
  end
  self.sched = s
end

function Ctx:detach_scheduler(src)
  if not self.sched then mistake(src, "detach_scheduler: no scheduler is attached") end
  self.sched:stop()
  self.sched_runs[#self.sched_runs + 1] = self.sched:report()
  self.sched = nil
end

function Ctx:mark(label, t0)
  self.timeline[#self.timeline + 1] = { label = label, start_s = t0 - self.t0,
    end_s = core.now() - self.t0 }
end

-- One step: ops, then setup, then the hold (a loop hold repeats the ops).
function Ctx:run_step(s, plan)
  local t0 = core.now()
  self.link.notify({ t = "phase", label = plan.label, at_s = t0 - self.t0,
    guest_now = core.now() })
  local mine = {}
  local function ops()
    for _, o in ipairs(s.ops) do self:op(o, plan.label) end
  end
  if s.hold.kind ~= "loop" then ops() end
  for i, def in ipairs(s.setup) do
    mine[#mine + 1] = self:add(def, i - 1, #s.setup, plan.label).name
  end
  local deadline = t0 + plan.hold_s
  if s.hold.kind == "loop" then
    repeat
      ops()
      self:sleep(math.min(plan.interval_s, deadline - core.now()))
    until core.now() >= deadline
  else
    self:sleep(deadline - core.now())
  end
  -- step-local cgroups end with their step
  for _, name in ipairs(mine) do
    if self.live[name] then self:remove(name, false) end
  end
  self:mark(plan.label, t0)
end

function Ctx:execute_scenario(t)
  local steps, backdrop = t.steps or t, t.backdrop
  step.check(steps, backdrop, self.topo, self.test.scheduler ~= nil)
  if not self.workload_at then
    -- periodic snapshots are spaced over the workload, which starts here
    self.workload_at = core.now()
    self.link.notify({ t = "workload", duration_s = self.duration_s,
      at_s = self.workload_at - self.t0, guest_now = self.workload_at })
  end
  local backdrop_names = {}
  if backdrop then
    for i, def in ipairs(backdrop.cgroups) do
      backdrop_names[i] = self:add(def, i - 1, #backdrop.cgroups, "backdrop").name
    end
    for _, o in ipairs(backdrop.ops or {}) do self:op(o, "backdrop") end
  end
  for k, plan in ipairs(step.plan(steps, self.duration_s)) do
    self:run_step(steps[k], plan)
  end
  for _, name in ipairs(backdrop_names) do
    if self.live[name] then self:remove(name, false) end
  end
  return verdict.pass()
end

function Ctx:execute_steps(steps) return self:execute_scenario({ steps = steps }) end

function Ctx:execute_defs(defs)
  local s = step.new({ setup = defs, hold = step.hold_api.full })
  return self:execute_scenario({ steps = { s } })
end

-- Stops and removes whatever is still running, even after an error; the
-- scheduler last, so the workers' final moments still run under it.
function Ctx:teardown()
  self.tearing_down = true
  local names = {}
  for name in pairs(self.live) do names[#names + 1] = name end
  table.sort(names)  -- a parent before its children, which it removes first
  for _, name in ipairs(names) do
    if self.live[name] then pcall(self.remove, self, name, false) end
  end
  core.cgroup_remove_all()
  if self.sched then
    local f = self.sched:check()
    if f then self:dump_failure() end
    self.sched:stop()
    self.sched.failure = f
    self.sched_runs[#self.sched_runs + 1] = self.sched:report()
    self.sched = nil
  end
end

-- The result the host judges: one entry per cgroup instance.
function Ctx:result()
  local cgroups, payloads = {}, nil
  for _, inst in ipairs(self.done) do
    local cpus
    if not inst.unrestricted then
      local list = {}
      for c in pairs(inst.allowed) do list[#list + 1] = c end
      table.sort(list)
      cpus = cpuset.format(list)
    end
    local types = {}
    for t in pairs(inst.work_types) do types[#types + 1] = t end
    table.sort(types)
    if inst.payload then
      payloads = payloads or {}
      payloads[inst.payload.name] = inst.payload:result(cpus)
    end
    -- a payload's cgroup is a cgroup of workers only if an op spawned some into it
    if not inst.payload or #(inst.reports or {}) > 0 then
      cgroups[#cgroups + 1] = { name = inst.name, step = inst.step, cpus = cpus,
        work = types, workers = inst.reports or {} }
    end
  end
  local runs = self.sched_runs
  local d = self.disk
  local after = d and disk.stat(d.info.dev)
  return { duration_s = core.now() - self.t0, cgroups = cgroups, timeline = self.timeline,
    payloads = payloads,
    snapshots = #self.snapshots > 0 and self.snapshots or nil,
    sched = runs[#runs], sched_runs = #runs > 0 and runs or nil,
    disk = d and after and { dev = d.info.dev, size = d.info.size, scheduler = d.info.scheduler,
      iocost = d.iocost, stat = disk.delta(d.before, after) } }
end

-- The script's own frames of a traceback: ktstr's and C frames say nothing to its author.
local function script_frames()
  local tb = {}
  for line in debug.traceback("", 3):gmatch("[^\n]+") do
    if line:match("^%s+[^%[(]") and not line:find("/lua/ktstr/", 1, true) then
      tb[#tb + 1] = line
    end
  end
  return tb
end

-- Whatever was raised, as a fault; a script's error keeps its own frames.
local function caught(e)
  local f = fault.classify(e)
  if f.kind == "script" and not fault.is(e) then
    local tb = script_frames()
    if type(e) ~= "string" and tb[1] then
      -- no position in a table or nil error value: the frame that raised it
      f.msg = tb[1]:match("^%s*(.-):?%s*in ") .. ": " .. f.msg
    end
    if #tb > 0 then f.msg = f.msg .. "\nstack traceback:\n" .. table.concat(tb, "\n") end
  end
  return f
end

-- What a run(ctx) body must give back: a verdict, never assumed.
local function body_verdict(test, v)
  if verdict.is(v) then return v end
  local info = debug.getinfo(test.run, "S")
  fault.raise("script", ("%s:%d: run(ctx) returned %s; it must return a verdict " ..
    "(ctx:execute_defs{...}, ktstr.pass(), ktstr.fail(msg), ...)"):format(info.short_src,
    info.linedefined, v == nil and "nothing" or show.value(v) .. " (a " .. type(v) .. ")"))
end

--[[
Runs test (from the registry) in this guest: defs/steps through the
executor, or the test's own run(ctx), which must return a verdict; link as
M.new's. Returns
the result table; a failure that ended the run lands in result.fault
({kind, msg}: whose fault it is, ktstr.fault), a failed scheduler in
result.sched (the host judges it).
]]
function M.run(test, topo, plan, link)
  local ctx = M.new(test, topo, plan, link)
  local okk, v = xpcall(function()
    if plan then ctx:attach_scheduler() end
    if test.run then return body_verdict(test, test.run(ctx)) end
    return ctx:execute_scenario({ steps = test.steps, backdrop = test.backdrop })
  end, caught)
  ctx:teardown()
  local r = ctx:result()
  if okk then
    r.verdict = v
  elseif v.kind == "sched" then
    r.sched_failed = v.msg  -- the host judges r.sched; the scenario stopped here
  else
    r.fault = fault.plain(v)
  end
  return r
end

return M
