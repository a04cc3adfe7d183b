-- Runs inside the 1n2l2c1t guest (CPUs 0-1 = LLC0, 2-3 = LLC1): the worker options through
-- the executor (deadline, threads, nested and threaded cgroups, cpuset.mems, memory
-- policies), each read back from the kernel while the workers run.
local ktstr = require("ktstr")
local core = require("ktstr.core")
local protocol = require("ktstr.protocol")
local scenario = require("ktstr.guest.scenario")

local G = require("support.guest")

local function run(t)
  t.llcs, t.cores, t.duration_s = 2, 2, t.duration_s or 1
  local test = ktstr.test(t)
  require("ktstr.test").reset()
  local r = scenario.run(test, test, nil)
  assert(protocol.check({ t = "result", id = 1, result = r }))
  return r
end

local function cgroup_of(r, name)
  for _, cg in ipairs(r.cgroups) do
    if cg.name == name then return cg end
  end
end

-- A cgroup file, trailing blanks cut; "" when it cannot be read.
local function cgfile(name, file)
  return ((G.slurp(G.ROOT .. "/" .. name .. "/" .. file) or ""):gsub("%s+$", ""))
end

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

local function ls(dir)
  local p = io.popen("ls " .. dir .. " 2>/dev/null")
  local out = lines(p:read("a"))
  p:close()
  return out
end

-- Every cgroup left under the ktstr root, at any depth.
local function leftovers()
  local p = io.popen("find " .. G.ROOT .. " -mindepth 1 -type d 2>/dev/null")
  local out = lines(p:read("a"))
  p:close()
  return out
end

describe("worker options", function()
  after_each(function()
    assert.same({}, leftovers())
  end)

  it("run deadline workers with the script's parameters, throttled to their runtime", function()
    local seen = {}
    local r = run({ name = "dl", run = function(ctx)
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("dl"):workers(2)
        :sched_policy("deadline", { runtime = "2ms", deadline = "8ms", period = "10ms" })))
      for _, pid in ipairs(ctx:get("dl").sets[1]:pids()) do
        seen[#seen + 1] = { attr = core.sched_getattr(pid), sched = G.slurp("/proc/" .. pid .. "/sched") }
      end
      ctx:sleep(1)
      return ktstr.pass()
    end })
    assert.is_nil(r.fault)
    assert.equal(2, #seen)
    for _, s in ipairs(seen) do
      assert.same({ policy = "deadline", priority = 0, nice = 0, reset_on_fork = true, runtime = 2000000,
        deadline = 8000000, period = 10000000 }, s.attr)
      assert.matches("\npolicy%s+:%s+6\n", s.sched)
      assert.matches("\ndl.runtime%s+:%s+%-?%d+\n", s.sched)
    end
    for _, w in ipairs(cgroup_of(r, "dl").workers) do
      assert.is_true(w.work_units > 0)
      assert.same({ code = 0 }, w.exit)
      -- a spinner gets its 2ms of every 10ms and no more: about 20% of its wall time
      assert.is_true(w.cpu_ns < w.wall_ns * 0.35, ("cpu %d of wall %d"):format(w.cpu_ns, w.wall_ns))
    end
  end)

  it("call deadline bandwidth the guest cannot admit the script's mistake, naming the values", function()
    local r = run({ name = "dl_busy", run = function(ctx)
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("greedy"):workers(5)
        :sched_policy("deadline", { runtime = "9ms", period = "10ms" })))
      return ktstr.pass()
    end })
    assert.equal("script", r.fault.kind)
    assert.matches("^/?spec/guest/options_spec.lua:%d+: cgroup 'greedy': workers_spawn: worker %d: sched_setattr: " ..
      "deadline runtime=9ms deadline=10ms period=10ms: admission control refused its 0.9 CPU %(EBUSY%)",
      r.fault.msg)
  end)

  it("run a cgroup's workers as threads of one process, each reported, one reaped", function()
    local proc, tids, tasks, procs, threads
    local r = run({ name = "threads", run = function(ctx)
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("thr"):work(ktstr.work.futex_ping_pong()):workers(4)
        :clone_mode("thread"):nice(2)))
      local ws = ctx:get("thr").sets[1]
      proc, tids = ws:process(), ws:pids()
      tasks = ls("/proc/" .. proc .. "/task")
      procs, threads = cgfile("thr", "cgroup.procs"), lines(cgfile("thr", "cgroup.threads"))
      ctx:sleep(0.5)
      return ktstr.pass()
    end })
    assert.is_nil(r.fault)
    local want = { tostring(proc) }
    for _, t in ipairs(tids) do want[#want + 1] = tostring(t) end
    table.sort(want)
    table.sort(tasks)
    assert.same(want, tasks)
    assert.equal(tostring(proc), procs)  -- one process in the cgroup, holding all four
    assert.equal(5, #threads)
    local ws = cgroup_of(r, "thr").workers
    assert.equal(4, #ws)
    for i, w in ipairs(ws) do
      assert.equal(tids[i], w.pid)
      assert.is_true(w.work_units > 0 and w.wake.count > 0 and w.cpu_ns > 0)
      assert.same({ code = 0 }, w.exit)
    end
    assert.is_falsy(G.alive(proc))
  end)

  it("nest cgroups: parents made, cpusets within, removed deepest first", function()
    local got = {}
    local r = run({ name = "nested", run = function(ctx)
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("outer"):workers(0):cpuset(ktstr.cpuset.llc(0))))
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("outer/inner"):cpuset(ktstr.cpuset.exact({ 1 }))))
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("outer/heir"):memory_max("64M")))
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("deep/er/est")))
      got.inner = cgfile("outer/inner", "cpuset.cpus.effective")
      got.heir = cgfile("outer/heir", "cpuset.cpus.effective")
      got.heir_mem = cgfile("outer/heir", "memory.max")
      got.outer_type = cgfile("outer", "cgroup.type")
      got.made = G.slurp(G.ROOT .. "/deep/er/cgroup.type") ~= nil
      local pid = ctx:get("outer/inner").sets[1]:pids()[1]
      got.where = G.slurp("/proc/" .. pid .. "/cgroup")
      got.cpus = G.slurp("/proc/" .. pid .. "/status"):match("Cpus_allowed_list:%s*(%S+)")
      ctx:op(ktstr.op.remove_cgroup("deep/er/est"))
      got.pruned = G.slurp(G.ROOT .. "/deep/cgroup.type") == nil
      ctx:op(ktstr.op.remove_cgroup("outer"))
      got.gone = G.slurp(G.ROOT .. "/outer/cgroup.type") == nil
      return ktstr.pass()
    end })
    assert.is_nil(r.fault)
    assert.same({ inner = "1", heir = "0-1", heir_mem = tostring(64 << 20), outer_type = "domain", made = true,
      where = "0::/ktstr/outer/inner\n", cpus = "1", pruned = true, gone = true }, got)
    -- the children went before their parent, each reported as ended by the op
    local order = {}
    for _, cg in ipairs(r.cgroups) do order[#order + 1] = cg.name end
    assert.same({ "deep/er/est", "outer/heir", "outer/inner", "outer" }, order)
    assert.is_true(cgroup_of(r, "outer/inner").workers[1].exit.by_op)
  end)

  it("make the children of a cgroup with workers threaded", function()
    local got = {}
    local r = run({ name = "threaded", run = function(ctx)
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("pool"):workers(1)))
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("pool/kid"):workers(2):cpu_weight(50)))
      got.pool, got.kid = cgfile("pool", "cgroup.type"), cgfile("pool/kid", "cgroup.type")
      got.ctl = cgfile("pool", "cgroup.subtree_control")
      got.weight = cgfile("pool/kid", "cpu.weight")
      got.procs = #lines(cgfile("pool", "cgroup.procs"))  -- the whole threaded subtree's
      got.kid_at = G.slurp("/proc/" .. ctx:get("pool/kid").sets[1]:pids()[1] .. "/cgroup")
      ctx:sleep(0.3)
      return ktstr.pass()
    end })
    assert.is_nil(r.fault)
    assert.same({ pool = "domain threaded", kid = "threaded", ctl = "cpuset cpu pids", weight = "50", procs = 3,
      kid_at = "0::/ktstr/pool/kid\n" }, got)
    for _, w in ipairs(cgroup_of(r, "pool/kid").workers) do assert.is_true(w.work_units > 0) end
  end)

  it("call a child's cpuset outside its parent's the script's mistake, naming both", function()
    local r = run({ name = "nested_bad", run = function(ctx)
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("p"):workers(0):cpuset(ktstr.cpuset.llc(0))))
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("p/c"):cpuset(ktstr.cpuset.llc(1))))
      return ktstr.pass()
    end })
    assert.equal("script", r.fault.kind)
    assert.matches("^/?spec/guest/options_spec.lua:%d+: cgroup 'p/c': cpuset 2%-3 is not within its parent " ..
      "'p''s cpuset 0%-1$", r.fault.msg)
  end)

  it("set cpuset.mems and each worker's memory policy before the work starts", function()
    local got = {}
    local r = run({ name = "mem", run = function(ctx)
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("bound"):workers(2):cpuset_mems(0):mem_policy("bind", 0)
        :work(ktstr.work.page_fault_churn())))
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("spread"):workers(2):clone_mode("thread")
        :mem_policy("interleave", { 0 }):mpol_flags("static_nodes")))
      local pid = ctx:get("bound").sets[1]:pids()[1]
      got.mems = cgfile("bound", "cpuset.mems")
      got.allowed = G.slurp("/proc/" .. pid .. "/status"):match("Mems_allowed_list:%s*(%S+)")
      got.bound = G.slurp("/proc/" .. pid .. "/numa_maps"):match(" (bind:0) ")
      local ws = ctx:get("spread").sets[1]
      got.spread = G.slurp(("/proc/%d/task/%d/numa_maps"):format(ws:process(), ws:pids()[2]))
        :match(" (interleave=static:0) ")
      ctx:sleep(0.3)
      return ktstr.pass()
    end })
    assert.is_nil(r.fault)
    assert.same({ mems = "0", allowed = "0", bound = "bind:0", spread = "interleave=static:0" }, got)
    for _, w in ipairs(cgroup_of(r, "bound").workers) do assert.is_true(w.work_units > 0) end
  end)
end)
