-- ktstr.step, ktstr.hold, ktstr.backdrop: their values, step.plan and the static check.
local ktstr = require("ktstr")
local step = require("ktstr.step")
local H = ktstr.hold

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

-- Runs src as the test script tests/x.lua; returns its error.
local script_err = require("support.script").err

local TOPO = { numa_nodes = 1, llcs = 2, cores = 2, threads = 1 }

describe("ktstr.hold", function()
  it("spells full, fractions, fixed times and loops", function()
    assert.same({ kind = "frac", frac = 1 }, H.full)
    assert.same({ kind = "frac", frac = 0.25 }, H.frac(0.25))
    assert.same({ kind = "fixed", seconds = 2 }, H.fixed("2s"))
    assert.same({ kind = "loop", interval = 0.5 }, H.loop({ interval = "500ms" }))
  end)

  it("rejects bad holds", function()
    assert.matches("ktstr.hold.frac: expected a number >= 0 and <= 1, got 2$", err_of(H.frac, 2))
    assert.matches("ktstr.hold.loop: unknown key 'every'", err_of(H.loop, { every = 1 }))
    assert.matches("ktstr.hold.loop: interval must be > 0$", err_of(H.loop, { interval = 0 }))
    assert.matches("unknown hold 'ful' %(did you mean 'full'%?%)$", err_of(function() return H.ful end))
  end)
end)

describe("ktstr.step", function()
  it("unwraps its setup and keeps its ops and hold", function()
    local snap = ktstr.op.capture_snapshot("s")
    local s = ktstr.step({ setup = { ktstr.cgroup("a"):workers(2) }, ops = { snap }, hold = H.fixed(0) })
    assert.equal("a", s.setup[1].name)
    assert.equal(2, s.setup[1].workers)
    assert.same({ snap }, s.ops)
    assert.same(H.fixed(0), s.hold)
    assert.is_true(step.is(s))
  end)

  it("needs a hold and takes only setup, ops and hold", function()
    assert.matches("ktstr.step: hold: expected ktstr.hold.full, .frac%(f%), .fixed%(d%) or .loop{interval = d}, got nil$",
      err_of(ktstr.step, { ops = {} }))
    assert.matches("ktstr.step: unknown key 'op' %(did you mean 'ops'%?%)$", err_of(ktstr.step, { op = {}, hold = H.full }))
    assert.matches("ktstr.step: ops%[1%]: expected a ktstr.op value", err_of(ktstr.step, { ops = { "x" }, hold = H.full }))
    assert.matches("ktstr.step: setup%[2%]: expected ktstr.cgroup", err_of(ktstr.step,
      { setup = { ktstr.cgroup("a"), "b" }, hold = H.full }))
  end)
end)

describe("ktstr.backdrop", function()
  it("holds cgroups and ops that outlive the steps", function()
    local b = ktstr.backdrop({ ktstr.cgroup("bg"), ops = { ktstr.op.set_cpuset("bg", ktstr.cpuset.llc(0)) } })
    assert.equal("bg", b.cgroups[1].name)
    assert.equal("set_cpuset", b.ops[1].op)
  end)
end)

describe("step.plan", function()
  it("starts each step when the previous hold ends", function()
    local plan = step.plan({ ktstr.step({ hold = H.frac(0.5) }), ktstr.step({ hold = H.fixed("2s") }),
      ktstr.step({ hold = H.full }) }, 20)
    assert.same({ { label = "Step[0]", start_s = 0, hold_s = 10 }, { label = "Step[1]", start_s = 10, hold_s = 2 },
      { label = "Step[2]", start_s = 12, hold_s = 20 } }, plan)
  end)

  it("gives a loop step the rest of the duration, and nothing once it is spent", function()
    local plan = step.plan({ ktstr.step({ hold = H.fixed(5) }), ktstr.step({ hold = H.loop({ interval = 1 }) }),
      ktstr.step({ hold = H.loop({ interval = 1 }) }) }, 12)
    assert.same({ label = "Step[1]", start_s = 5, hold_s = 7, interval_s = 1 }, plan[2])
    assert.same({ label = "Step[2]", start_s = 12, hold_s = 0, interval_s = 1 }, plan[3])
  end)

  it("plans the tutorial's workload-then-snapshot steps", function()
    local plan = step.plan({ ktstr.step({ hold = H.full }), ktstr.step({ hold = H.fixed(0) }) }, 20)
    assert.same({ 0, 20, 20, 0 }, { plan[1].start_s, plan[1].hold_s, plan[2].start_s, plan[2].hold_s })
  end)
end)

describe("step.check", function()
  it("accepts ops on cgroups a previous step or the backdrop made", function()
    local bd = ktstr.backdrop({ ktstr.cgroup("bg") })
    step.check({
      ktstr.step({ setup = { ktstr.cgroup("a") }, hold = H.frac(0.5) }),
      ktstr.step({ ops = { ktstr.op.add_cgroup(ktstr.cgroup("a")), ktstr.op.set_cpuset("bg", ktstr.cpuset.llc(1)),
        ktstr.op.swap_cpusets("a", "bg") }, hold = H.full }),
    }, bd, TOPO, false)
  end)

  it("lets a loop step's ops use its own setup", function()
    step.check({ ktstr.step({ setup = { ktstr.cgroup("a") }, ops = { ktstr.op.freeze_cgroup("a") },
      hold = H.loop({ interval = 1 }) }) }, nil, TOPO, false)
  end)

  it("explains that a step runs its ops before its setup, at the op's line", function()
    local err = script_err([[
ktstr.test{ name = "t", steps = {
  ktstr.step{ setup = { ktstr.cgroup("a") },
    ops = { ktstr.op.capture_snapshot("x"), ktstr.op.freeze_cgroup("a") }, hold = ktstr.hold.full } } }]])
    assert.equal("tests/x.lua:4: freeze_cgroup: cgroup 'a' does not exist yet: a step runs its ops before " ..
      "its setup, so put the op in the next step", err)
  end)

  it("names an unknown cgroup with did you mean", function()
    local err = script_err([[
ktstr.test{ name = "t", backdrop = ktstr.backdrop{ ktstr.cgroup("phased_worker") }, steps = {
  ktstr.step{ hold = ktstr.hold.full,
    ops = { ktstr.op.stop_cgroup("phased_wroker") } } } }]])
    assert.equal("tests/x.lua:4: stop_cgroup: unknown cgroup 'phased_wroker' (did you mean 'phased_worker'?)", err)
  end)

  it("forgets a step's cgroups when the step ends, but not the backdrop's", function()
    local err = script_err([[
ktstr.test{ name = "t", backdrop = ktstr.backdrop{ ktstr.cgroup("bg") }, steps = {
  ktstr.step{ setup = { ktstr.cgroup("a") }, hold = ktstr.hold.frac(0.5) },
  ktstr.step{ ops = { ktstr.op.stop_cgroup("bg"), ktstr.op.stop_cgroup("a") }, hold = ktstr.hold.full } } }]])
    assert.equal("tests/x.lua:4: stop_cgroup: unknown cgroup 'a' (valid: bg)", err)
  end)

  it("rejects a cgroup created twice, at the def's line", function()
    local err = script_err([[
ktstr.test{ name = "t", backdrop = ktstr.backdrop{ ktstr.cgroup("a") }, steps = {
  ktstr.step{ setup = {
    ktstr.cgroup("a") }, hold = ktstr.hold.full } } }]])
    assert.equal("tests/x.lua:4: cgroup 'a' already exists (from backdrop)", err)
  end)

  it("resolves cpusets on the test's topology, with the setup position", function()
    local err = script_err([[
ktstr.test{ name = "t", llcs = 2, steps = { ktstr.step{ hold = ktstr.hold.full, setup = {
  ktstr.cgroup("a"):cpuset(ktstr.cpuset.disjoint()),
  ktstr.cgroup("b"):cpuset(ktstr.cpuset.llc(2)) } } } }]])
    assert.equal("tests/x.lua:4: cgroup 'b': cpuset: llc(2) out of range: the topology has 2 LLCs (0-1)", err)
  end)

  it("refuses a NUMA node the topology lacks, at the def's or the spawn's line", function()
    local err = script_err([[
ktstr.test{ name = "t", numa_nodes = 2, llcs = 2, defs = {
  ktstr.cgroup("a"):work(ktstr.work.numa_working_set_sweep{ target_nodes = { 0, 1 } }),
  ktstr.cgroup("b"):work(ktstr.work.numa_working_set_sweep{ target_nodes = { 2 } }) } }]])
    assert.equal("tests/x.lua:4: cgroup 'b': numa_working_set_sweep: target_nodes: node 2, " ..
      "but the topology has 2 NUMA nodes", err)
    err = script_err([[
ktstr.test{ name = "t", backdrop = ktstr.backdrop{ ktstr.cgroup("a") }, steps = {
  ktstr.step{ ops = { ktstr.op.spawn("a", 1,
    ktstr.work.numa_working_set_sweep{ target_nodes = { 1 } }) }, hold = ktstr.hold.full } } }]])
    assert.equal("tests/x.lua:3: spawn: numa_working_set_sweep: target_nodes: node 1, " ..
      "but the topology has 1 NUMA node", err)
  end)

  it("needs a scheduler for scheduler ops", function()
    local err = script_err([[
ktstr.test{ name = "t", steps = { ktstr.step{ ops = { ktstr.op.detach_scheduler() }, hold = ktstr.hold.full } } }]])
    assert.equal("tests/x.lua:2: detach_scheduler: the test has no scheduler (it runs under EEVDF)", err)
  end)

  it("nests cgroups: a child's cpuset within its parent's, naming both", function()
    step.check({ ktstr.step({ hold = H.full, setup = {
      ktstr.cgroup("a"):workers(0):cpuset(ktstr.cpuset.llc(0)),
      ktstr.cgroup("a/b"):cpuset(ktstr.cpuset.exact({ 1 })),
      ktstr.cgroup("a/c"),                 -- inherits 0-1
      ktstr.cgroup("x/y/z") } }) }, nil, TOPO, false)   -- parents made on the way
    local err = script_err([[
ktstr.test{ name = "t", llcs = 2, defs = {
  ktstr.cgroup("a"):cpuset(ktstr.cpuset.llc(0)),
  ktstr.cgroup("a/b"):cpuset(ktstr.cpuset.llc(1)) } }]])
    assert.equal("tests/x.lua:4: cgroup 'a/b': cpuset 2-3 is not within its parent 'a''s cpuset 0-1", err)
    err = script_err([[
ktstr.test{ name = "t", llcs = 2, defs = {
  ktstr.cgroup("a"):cpuset(ktstr.cpuset.llc(0)),
  ktstr.cgroup("a/b/c"):cpuset(ktstr.cpuset.exact("0-2")) } }]])
    assert.equal("tests/x.lua:4: cgroup 'a/b/c': cpuset 0-2 is not within its parent 'a''s cpuset 0-1", err)
  end)

  it("wants a parent declared before the cgroups nested in it", function()
    local err = script_err([[
ktstr.test{ name = "t", defs = {
  ktstr.cgroup("a/b"),
  ktstr.cgroup("a") } }]])
    assert.equal("tests/x.lua:4: cgroup 'a': its child 'a/b' exists already (from Step[0]): declare a parent " ..
      "before the cgroups nested in it", err)
  end)

  it("makes a child of a cgroup with workers threaded, which takes no memory controller", function()
    local err = script_err([[
ktstr.test{ name = "t", defs = {
  ktstr.cgroup("a"):workers(2),
  ktstr.cgroup("a/b"):memory_max("64M") } }]])
    assert.equal("tests/x.lua:4: cgroup 'a/b': memory_max needs a domain cgroup, but 'a/b' must be threaded: " ..
      "its parent 'a' holds workers, and cgroup v2 gives a cgroup with processes of its own only threaded " ..
      "children, which have no memory or io controller", err)
    -- with no workers of its own, the parent can give domain children a memory controller
    step.check({ ktstr.step({ hold = H.full, setup = { ktstr.cgroup("a"):workers(0),
      ktstr.cgroup("a/b"):memory_max("64M") } }) }, nil, TOPO, false)
  end)

  it("refuses workers spawned into a cgroup whose children are domains", function()
    local err = script_err([[
ktstr.test{ name = "t", backdrop = ktstr.backdrop{ ktstr.cgroup("a"):workers(0), ktstr.cgroup("a/b") },
  steps = { ktstr.step{ hold = ktstr.hold.full,
    ops = { ktstr.op.spawn("a", 1) } } } }]])
    assert.matches("^tests/x.lua:4: spawn: cgroup 'a' has a child 'a/b', which is a domain cgroup since 'a' had " ..
      "no workers when it was made: cgroup v2 lets a cgroup with domain children hold no processes", err)
  end)

  it("keeps set_cpuset of a nested cgroup within its parent", function()
    local err = script_err([[
ktstr.test{ name = "t", llcs = 2,
  backdrop = ktstr.backdrop{ ktstr.cgroup("a"):cpuset(ktstr.cpuset.llc(0)), ktstr.cgroup("a/b") },
  steps = { ktstr.step{ hold = ktstr.hold.full,
    ops = { ktstr.op.set_cpuset("a/b", ktstr.cpuset.llc(1)) } } } }]])
    assert.equal("tests/x.lua:5: set_cpuset: cgroup 'a/b': cpuset 2-3 is not within its parent 'a''s cpuset 0-1", err)
    err = script_err([[
ktstr.test{ name = "t", llcs = 2,
  backdrop = ktstr.backdrop{ ktstr.cgroup("a"):workers(0), ktstr.cgroup("a/b"):cpuset(ktstr.cpuset.llc(1)) },
  steps = { ktstr.step{ hold = ktstr.hold.full,
    ops = { ktstr.op.set_cpuset("a", ktstr.cpuset.llc(0)) } } } }]])
    assert.equal("tests/x.lua:5: set_cpuset: cgroup 'a/b': cpuset 2-3 is not within its parent 'a''s cpuset 0-1", err)
    err = script_err([[
ktstr.test{ name = "t", llcs = 2,
  backdrop = ktstr.backdrop{ ktstr.cgroup("dl"):sched_policy("deadline", { runtime = "1ms", period = "10ms" }) },
  steps = { ktstr.step{ hold = ktstr.hold.full,
    ops = { ktstr.op.set_cpuset("dl", ktstr.cpuset.llc(0)) } } } }]])
    assert.matches("^tests/x.lua:5: set_cpuset: cgroup 'dl': deadline workers need every CPU", err)
  end)

  it("gives deadline workers every CPU and no more bandwidth than the guest admits", function()
    local err = script_err([[
ktstr.test{ name = "t", llcs = 2, defs = {
  ktstr.cgroup("dl"):sched_policy("deadline", { runtime = "1ms", period = "10ms" })
    :cpuset(ktstr.cpuset.llc(1)) } }]])
    assert.equal("tests/x.lua:3: cgroup 'dl': deadline workers need every CPU (the kernel wants a deadline " ..
      "task's affinity to span its root domain), but the cgroup has cpuset 2-3 of 0-3", err)
    err = script_err([[
ktstr.test{ name = "t", llcs = 1, cores = 2, defs = {
  ktstr.cgroup("a"):workers(1):sched_policy("deadline", { runtime = "5ms", period = "10ms" }),
  ktstr.cgroup("b"):workers(3):sched_policy("deadline", { runtime = "5ms", period = "10ms" }) } }]])
    assert.equal("tests/x.lua:4: cgroup 'b': sched_policy deadline: 3 workers x runtime 5ms / period 10ms = " ..
      "1.5 CPUs of deadline bandwidth (2 with the other cgroups'), past the 1.9 that 2 CPUs admit (95% " ..
      "each: the kernel's fair server keeps 5%)", err)
  end)

  it("checks NUMA nodes against the topology and the cgroup's cpuset_mems", function()
    local topo2 = { numa_nodes = 2, llcs = 2, cores = 2, threads = 1 }
    step.check({ ktstr.step({ hold = H.full, setup = {
      ktstr.cgroup("m"):cpuset_mems({ 1 }):mem_policy("bind", 1),
      ktstr.cgroup("i"):mem_policy("interleave", "0-1"),
      ktstr.cgroup("r"):cpuset_mems(0):mem_policy("preferred", 1):mpol_flags("relative_nodes") } }) },
      nil, topo2, false)
    local cases = {
      { 'ktstr.cgroup("m"):cpuset_mems("0-1")',
        "tests/x.lua:3: cgroup 'm': cpuset_mems: node 1 out of range: the topology has 1 NUMA node (0)" },
      { 'ktstr.cgroup("m"):mem_policy("bind", 1)',
        "tests/x.lua:3: cgroup 'm': mem_policy bind: node 1 out of range: the topology has 1 NUMA node (0)" },
      { 'ktstr.cgroup("m"):cpuset_mems(0):mem_policy("interleave", "0-1")', "numa_nodes = 2",
        "tests/x.lua:3: cgroup 'm': mem_policy interleave: node 1 is not in the cgroup's cpuset_mems 0 (give " ..
        "mpol_flags static_nodes or relative_nodes to mean otherwise)" },
      { 'ktstr.cgroup("m"):cpuset_mems(0):mem_policy("bind", 1):mpol_flags("static_nodes")', "numa_nodes = 2",
        "tests/x.lua:3: cgroup 'm': mem_policy bind: none of nodes 1 is in the cgroup's cpuset_mems 0" },
    }
    for _, c in ipairs(cases) do
      local topo = c[3] and c[2] .. ", llcs = 2, " or ""
      local err = script_err(("ktstr.test{ name = 't', %sdefs = {\n  %s } }"):format(topo, c[1]))
      assert.equal(c[3] or c[2], err)
    end
  end)

  after_each(function() require("ktstr.test").reset() end)
end)
