-- ktstr.op: each op as a plain table, and the checks on its arguments.
local ktstr = require("ktstr")
local op = require("ktstr.op")
local O = ktstr.op

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

-- The op without its source line.
local function bare(o)
  assert.matches("^spec/unit/op_spec.lua:%d+$", o.source)
  o.source = nil
  return o
end

describe("ktstr.op", function()
  it("builds cgroup ops naming their cgroups", function()
    assert.same({ op = "remove_cgroup", cgroup = "a" }, bare(O.remove_cgroup("a")))
    assert.same({ op = "stop_cgroup", cgroup = "a" }, bare(O.stop_cgroup("a")))
    assert.same({ op = "clear_cpuset", cgroup = "a" }, bare(O.clear_cpuset("a")))
    assert.same({ op = "freeze_cgroup", cgroup = "a" }, bare(O.freeze_cgroup("a")))
    assert.same({ op = "unfreeze_cgroup", cgroup = "a" }, bare(O.unfreeze_cgroup("a")))
    assert.same({ op = "set_cpuset", cgroup = "a", cpuset = ktstr.cpuset.llc(0) },
      bare(O.set_cpuset("a", ktstr.cpuset.llc(0))))
    assert.same({ op = "swap_cpusets", a = "a", b = "b" }, bare(O.swap_cpusets("a", "b")))
    assert.same({ op = "move_all_tasks", from = "a", to = "b" }, bare(O.move_all_tasks("a", "b")))
    assert.same({ op = "spawn", cgroup = "a", workers = 2 }, bare(O.spawn("a", 2)))
    assert.same({ op = "spawn", cgroup = "a", workers = 1, work = ktstr.work.mixed() },
      bare(O.spawn("a", 1, ktstr.work.mixed())))
    assert.same({ op = "set_affinity", cgroup = "a", affinity = "llc_aligned" },
      bare(O.set_affinity("a", "llc_aligned")))
    assert.same({ op = "capture_snapshot", label = "after_workload" }, bare(O.capture_snapshot("after_workload")))
    assert.same({ op = "detach_scheduler" }, bare(O.detach_scheduler()))
  end)

  it("unwraps the def of add_cgroup", function()
    local o = O.add_cgroup(ktstr.cgroup("late"):workers(3))
    assert.equal("late", o.def.name)
    assert.equal(3, o.def.workers)
    assert.same({ "late" }, op.refs(O.remove_cgroup("late")))
    assert.same({}, op.refs(o))
  end)

  it("lists the cgroups an op needs", function()
    assert.same({ "a", "b" }, op.refs(O.swap_cpusets("a", "b")))
    assert.same({ "x", "y" }, op.refs(O.move_all_tasks("x", "y")))
  end)

  it("rejects bad arguments, naming the op", function()
    assert.matches("ktstr.op.set_cpuset: expected a ktstr.cpuset value, got 0%-1$", err_of(O.set_cpuset, "a", "0-1"))
    assert.matches("ktstr.op.set_cpuset: disjoint%(%) outside a step's setup has no cgroup position: give it %(index, of%)$",
      err_of(O.set_cpuset, "a", ktstr.cpuset.disjoint()))
    assert.matches("ktstr.op.swap_cpusets: both cgroups are 'a'$", err_of(O.swap_cpusets, "a", "a"))
    assert.matches("ktstr.op.spawn: workers: expected an integer >= 1, got 0$", err_of(O.spawn, "a", 0))
    assert.matches("ktstr.op.remove_cgroup: expected a name", err_of(O.remove_cgroup, 3))
    assert.matches("ktstr.op.add_cgroup: expected ktstr.cgroup%(...%)", err_of(O.add_cgroup, "a"))
    assert.matches("ktstr.op.detach_scheduler: takes 0 arguments, got 1$", err_of(O.detach_scheduler, "x"))
    assert.matches("ktstr.op.clear_cpuset: takes 1 argument, got 2$", err_of(O.clear_cpuset, "a", "b"))
  end)

  it("names an unknown op with did you mean", function()
    assert.matches("ktstr.op: unknown op 'set_cpusets' %(did you mean 'set_cpuset'%?%)$",
      err_of(function() return O.set_cpusets end))
  end)
end)
