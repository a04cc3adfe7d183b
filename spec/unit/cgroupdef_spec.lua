-- ktstr.cgroup("name"): the builder, its checks, and the plain table it unwraps to.
local ktstr = require("ktstr")
local cgroupdef = require("ktstr.cgroupdef")

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

local function def(b) return cgroupdef.unwrap(b, "spec") end

describe("ktstr.cgroup", function()
  it("unwraps to a plain table with spin_wait and one worker by default", function()
    local d = def(ktstr.cgroup("a"))
    assert.equal("a", d.name)
    assert.equal(1, d.workers)
    assert.same(ktstr.work.spin_wait(), d.work)
    assert.matches("^spec/unit/cgroupdef_spec.lua:%d+$", d.source)
  end)

  it("records every builder setting", function()
    local d = def(ktstr.cgroup("b"):workers(4):work(ktstr.work.yield_heavy()):cpuset(ktstr.cpuset.llc(1))
      :nice(5):comm("spinner"):sched_policy("fifo", 10):affinity("single_cpu"):cpu_weight(200)
      :cpu_max("50ms", "100ms"):memory_max("256M"):memory_high(1 << 20):memory_low(4096):pids_max(64)
      :io_weight(50))
    assert.same({ name = "b", source = d.source, workers = 4, work = ktstr.work.yield_heavy(),
      cpuset = ktstr.cpuset.llc(1), nice = 5, comm = "spinner", sched_policy = { policy = "fifo", priority = 10 },
      affinity = "single_cpu", cpu_weight = 200, cpu_max = { quota = 0.05, period = 0.1 },
      memory_max = 256 * 1024 * 1024, memory_high = 1 << 20, memory_low = 4096, pids_max = 64, io_weight = 50 }, d)
  end)

  it("is immutable: a method returns a new builder", function()
    local base = ktstr.cgroup("a"):workers(2)
    local niced = base:nice(10)
    assert.is_nil(def(base).nice)
    assert.equal(10, def(niced).nice)
  end)

  it("gives grouped work one full group of workers by default", function()
    assert.equal(2, def(ktstr.cgroup("p"):work(ktstr.work.pipe_io())).workers)
  end)

  it("turns cpu_quota_pct into cpu.max over 100ms", function()
    assert.same({ quota = 0.05, period = 0.1 }, def(ktstr.cgroup("q"):cpu_quota_pct(50)).cpu_max)
  end)

  it("takes workers_pct instead of workers, not both", function()
    assert.equal(0.5, def(ktstr.cgroup("w"):workers_pct(0.5)).workers_pct)
    assert.is_nil(def(ktstr.cgroup("w"):workers_pct(0.5)).workers)
    assert.matches("cgroup 'w': workers: workers_pct is already set$",
      err_of(function() ktstr.cgroup("w"):workers_pct(1):workers(2) end))
  end)

  it("names the cgroup, the method and the value in errors", function()
    local c = ktstr.cgroup("a")
    assert.matches("cgroup 'a': workers: expected an integer in 0..4096, got %-1$", err_of(c.workers, c, -1))
    assert.matches("cgroup 'a': nice: expected an integer in %-20..19, got 20$", err_of(c.nice, c, 20))
    assert.matches("cgroup 'a': comm: expected a name of 1 to 15 bytes", err_of(c.comm, c, "a_very_long_comm_name"))
    assert.matches("cgroup 'a': cpu_weight: expected an integer in 1..10000, got 0$", err_of(c.cpu_weight, c, 0))
    assert.matches("cgroup 'a': cpu_max: period must be 1ms..1s, got 2s$", err_of(c.cpu_max, c, 0.01, "2s"))
    assert.matches("cgroup 'a': memory_max: expected bytes > 0", err_of(c.memory_max, c, "lots"))
    assert.matches("cgroup 'a': work: expected a work value", err_of(c.work, c, "spin_wait"))
    assert.matches("cgroup 'a': cpuset: expected a ktstr.cpuset value", err_of(c.cpuset, c, 0))
    assert.matches("cgroup 'a': affinity: expected a ktstr.cpuset value or one of cross_cgroup, llc_aligned, " ..
      "single_cpu, smt_sibling_pair, got pinned$", err_of(c.affinity, c, "pinned"))
  end)

  it("checks scheduling policies and their priorities", function()
    local c = ktstr.cgroup("a")
    assert.same({ policy = "batch" }, def(c:sched_policy("batch")).sched_policy)
    assert.matches("unknown policy 'fifi' %(did you mean 'fifo'%?%)$", err_of(c.sched_policy, c, "fifi"))
    assert.matches("sched_policy: rr priority: expected an integer in 1..99, got nil$", err_of(c.sched_policy, c, "rr"))
    assert.matches("sched_policy: idle takes no priority", err_of(c.sched_policy, c, "idle", 3))
  end)

  it("takes deadline parameters as durations, checked as the kernel does", function()
    local c = ktstr.cgroup("dl")
    assert.same({ policy = "deadline", runtime_ns = 2000000, deadline_ns = 8000000, period_ns = 10000000 },
      def(c:sched_policy("deadline", { runtime = "2ms", deadline = "8ms", period = 0.01 })).sched_policy)
    -- an implicit deadline: the period, or the other way round
    assert.same({ policy = "deadline", runtime_ns = 1000000, deadline_ns = 5000000, period_ns = 5000000 },
      def(c:sched_policy("deadline", { runtime = "1ms", period = "5ms" })).sched_policy)
    assert.equal(5000000, def(c:sched_policy("deadline", { runtime = "1ms", deadline = "5ms" }))
      .sched_policy.period_ns)
    local cases = {
      { { runtime = "20ms", deadline = "10ms", period = "100ms" },
        "cgroup 'dl': sched_policy: deadline: runtime=20ms deadline=10ms period=100ms: want runtime <= " ..
        "deadline <= period$" },
      { { runtime = "1ms", deadline = "10ms", period = "5ms" }, "runtime=1ms deadline=10ms period=5ms: want " },
      { { runtime = "500ns", period = "1ms" }, "runtime=500ns deadline=1ms period=1ms: runtime must be at least 1024ns$" },
      { { runtime = "10us", period = "50us" }, "period must be 100us..4194.3ms$" },
      { { runtime = "1ms", period = "5s" }, "period must be 100us..4194.3ms$" },
      { { runtime = "1ms" }, "sched_policy: deadline: give a period %(or a deadline, which the period then equals%)$" },
      { { period = "1ms" }, "sched_policy: deadline: runtime is required$" },
      { { runtime = "1ms", perod = "2ms" }, "unknown key 'perod' %(did you mean 'period'%?%)$" },
      { { runtime = "fast", period = "2ms" }, "sched_policy: deadline: runtime: " },
    }
    for _, case in ipairs(cases) do
      assert.matches(case[2], err_of(c.sched_policy, c, "deadline", case[1]))
    end
    assert.matches("sched_policy: deadline: expected a table {runtime = d, deadline = d, period = d}, got 5",
      err_of(c.sched_policy, c, "deadline", 5))
  end)

  it("keeps deadline workers off affinities, whichever comes second", function()
    local dl = { runtime = "1ms", period = "10ms" }
    assert.matches("cgroup 'd': affinity: deadline workers cannot take an affinity",
      err_of(function() return ktstr.cgroup("d"):sched_policy("deadline", dl):affinity("single_cpu") end))
    assert.matches("cgroup 'd': sched_policy: deadline workers cannot take an affinity",
      err_of(function() return ktstr.cgroup("d"):affinity(ktstr.cpuset.llc(0)):sched_policy("deadline", dl) end))
    assert.matches("cgroup 'd': work: affinity_churn cannot run as deadline",
      err_of(function() return ktstr.cgroup("d"):sched_policy("deadline", dl):work(ktstr.work.affinity_churn()) end))
  end)

  it("runs workers as threads with clone_mode('thread')", function()
    assert.equal("thread", def(ktstr.cgroup("t"):clone_mode("thread")).clone_mode)
    assert.is_nil(def(ktstr.cgroup("t")).clone_mode)
    assert.matches("cgroup 't': clone_mode: unknown clone mode 'threads' %(did you mean 'thread'%?%)$",
      err_of(function() return ktstr.cgroup("t"):clone_mode("threads") end))
  end)

  it("takes cpuset_mems and a memory policy with its nodes and flags", function()
    local d = def(ktstr.cgroup("m"):cpuset_mems("0-1"):mem_policy("interleave", { 1, 0, 1 })
      :mpol_flags("static_nodes"))
    assert.same({ 0, 1 }, d.cpuset_mems)
    assert.same({ mode = "interleave", nodes = { 0, 1 } }, d.mem_policy)
    assert.same({ static_nodes = true }, d.mpol_flags)
    assert.same({ mode = "preferred", nodes = { 1 } }, def(ktstr.cgroup("m"):mem_policy("preferred", 1)).mem_policy)
    assert.same({ mode = "local" }, def(ktstr.cgroup("m"):mem_policy("local")).mem_policy)
    assert.same({ 0, 2, 3 }, def(ktstr.cgroup("m"):cpuset_mems("0,2-3")).cpuset_mems)
    local c = ktstr.cgroup("m")
    local cases = {
      { function() return c:mem_policy("spread", { 0 }) end,
        "cgroup 'm': mem_policy: unknown memory policy 'spread' %(valid: bind, default, interleave, local, " ..
        "preferred, preferred_many, weighted_interleave%)$" },
      { function() return c:mem_policy("bind") end,
        "cgroup 'm': mem_policy: bind: expected a node, a list of nodes or a node list \"0%-1\", got nil$" },
      { function() return c:mem_policy("preferred", { 0, 1 }) end, "mem_policy: preferred takes one node, got 0%-1$" },
      { function() return c:mem_policy("local", 0) end, "mem_policy: local takes no nodes$" },
      { function() return c:mem_policy("bind", { 64 }) end, "expected NUMA nodes 0..63, got 64$" },
      { function() return c:cpuset_mems("1-0") end, "cgroup 'm': cpuset_mems: bad node list '1%-0'" },
      { function() return c:cpuset_mems({}) end, "cpuset_mems: expected a node, a list of nodes" },
      { function() return c:mpol_flags("static_nodes", "relative_nodes") end,
        "mpol_flags: static_nodes and relative_nodes exclude each other$" },
      { function() return c:mpol_flags("sticky") end, "mpol_flags: unknown flag 'sticky'" },
      { function() return c:mem_policy("interleave", 0):mpol_flags("numa_balancing") end,
        "cgroup 'm': mpol_flags: numa_balancing goes only with bind or preferred_many, not interleave$" },
      { function() return c:mpol_flags("relative_nodes"):mem_policy("local") end,
        "cgroup 'm': mem_policy: local takes no nodes, so no static_nodes or relative_nodes$" },
    }
    for _, case in ipairs(cases) do assert.matches(case[2], err_of(case[1])) end
  end)

  it("keeps workers a multiple of the work's group size, whichever comes last", function()
    assert.matches("cgroup 'm': work: mutex_contention runs in groups of 4, so workers must be a multiple of 4 %(got 6%)$",
      err_of(function() ktstr.cgroup("m"):workers(6):work(ktstr.work.mutex_contention()) end))
    assert.matches("cgroup 'p': workers: pipe_io runs in groups of 2",
      err_of(function() ktstr.cgroup("p"):work(ktstr.work.pipe_io()):workers(3) end))
  end)

  it("rejects names that are not a path of names, and unknown methods", function()
    assert.equal("a/b/c", def(ktstr.cgroup("a/b/c")).name)
    for _, bad in ipairs({ "a//b", "/a", "a/", "a/../b", "a/b c" }) do
      local err = err_of(ktstr.cgroup, bad)
      assert.truthy(err:find("ktstr.cgroup: expected names of letters, digits, '_', '.' or '-', nested " ..
        "with '/' (\"parent/child\"), got '" .. bad .. "'", 1, true), err)
    end
    assert.matches("ktstr.cgroup: 'a/b/c/d/e/f/g/h/i' nests 9 deep, more than 8$",
      err_of(ktstr.cgroup, "a/b/c/d/e/f/g/h/i"))
    assert.matches("ktstr.cgroup: expected a name", err_of(ktstr.cgroup, nil))
    assert.matches("ktstr.cgroup: unknown method 'work_type' %(did you mean 'work'%?%)$",
      err_of(function() return ktstr.cgroup("a"):work_type() end))
  end)

  it("unwraps only builders", function()
    assert.matches("spec: expected ktstr.cgroup%(...%), got", err_of(cgroupdef.unwrap, { name = "a" }, "spec"))
  end)
end)
