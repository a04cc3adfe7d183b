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

  it("keeps workers a multiple of the work's group size, whichever comes last", function()
    assert.matches("cgroup 'm': work: mutex_contention runs in groups of 4, so workers must be a multiple of 4 %(got 6%)$",
      err_of(function() ktstr.cgroup("m"):workers(6):work(ktstr.work.mutex_contention()) end))
    assert.matches("cgroup 'p': workers: pipe_io runs in groups of 2",
      err_of(function() ktstr.cgroup("p"):work(ktstr.work.pipe_io()):workers(3) end))
  end)

  it("rejects names that are not one path segment, and unknown methods", function()
    assert.matches("ktstr.cgroup: expected a name of letters, digits", err_of(ktstr.cgroup, "a/b"))
    assert.matches("ktstr.cgroup: expected a name", err_of(ktstr.cgroup, nil))
    assert.matches("ktstr.cgroup: unknown method 'work_type' %(did you mean 'work'%?%)$",
      err_of(function() return ktstr.cgroup("a"):work_type() end))
  end)

  it("unwraps only builders", function()
    assert.matches("spec: expected ktstr.cgroup%(...%), got", err_of(cgroupdef.unwrap, { name = "a" }, "spec"))
  end)
end)
