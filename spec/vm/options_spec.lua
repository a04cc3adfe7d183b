-- The worker options end to end: one 2-node guest reads back memory policies, cpuset.mems,
-- deadline, threads and a threaded child; their mistakes exit 2 at load, naming the line.
local core = require("ktstr.core")
local run = require("support.run")

describe("worker options #vm", function()
  after_each(run.assert_no_leftovers)

  it("take effect in a 2-node guest: pages where the policy puts them, every worker reported", function()
    local code, out = run.script("spec/vm/scripts/options.lua", "worker_options")
    assert.are.equal(0, code, out)
    assert.matches("options: workers bound=1 dl=1 fenced=1 spread=2 team/sub=2 team=1\n", out)
    local b1, f1, s0, s1 = out:match("options: pages bound N0=%d+ N1=(%d+), fenced N0=%d+ N1=(%d+), " ..
      "spread N0=(%d+) N1=(%d+)\n")
    assert.is_truthy(b1, out)
    io.stderr:write(("# bound %s pages on node 1, fenced %s, interleaved %s/%s\n"):format(b1, f1, s0, s1))
    assert.matches("PASS worker_options %[sched=eevdf%] %[topo=2n2l2c1t%]", out)
  end)

  describe("at load", function()
    local dir
    before_each(function() dir = assert(core.mkdtemp("/tmp/ktstr-options-")) end)
    after_each(function() core.rm_rf(dir) end)

    -- ktstr script on a test of the given topology with these cgroups: exit 2, the one stderr line.
    local function rejects(topo, defs)
      local path = dir .. "/bad.lua"
      local f = assert(io.open(path, "w"))
      f:write('local ktstr = require("ktstr")\n',
        ('ktstr.test{ name = "bad", %s,\n  defs = {\n'):format(topo), defs, " } }\n")
      f:close()
      local code, out, err = run.ktstr({ "script", path })
      assert.are.equal(2, code, out .. err)
      assert.are.equal("", out)
      return (err:gsub(dir:gsub("%p", "%%%0"), "DIR"))
    end

    it("names a deadline's parameters out of the kernel's order", function()
      assert.are.equal("ktstr script: DIR/bad.lua:4: cgroup 'dl': sched_policy: deadline: runtime=20ms " ..
        "deadline=10ms period=100ms: want runtime <= deadline <= period\n",
        rejects("llcs = 1", '    ktstr.cgroup("dl"):sched_policy("deadline",\n' ..
          '      { runtime = "20ms", deadline = "10ms", period = "100ms" })'))
    end)

    it("names deadline bandwidth the guest's CPUs cannot admit", function()
      assert.matches("^ktstr script: DIR/bad.lua:4: cgroup 'dl': sched_policy deadline: 5 workers x runtime " ..
        "9ms / period 10ms = 4.5 CPUs of deadline bandwidth, past the 3.8 that 4 CPUs admit",
        rejects("llcs = 2", '    ktstr.cgroup("dl"):workers(5):sched_policy("deadline", { runtime = "9ms", ' ..
          'period = "10ms" })'))
    end)

    it("names a clone mode it does not know", function()
      assert.are.equal("ktstr script: DIR/bad.lua:4: cgroup 't': clone_mode: unknown clone mode 'threads' " ..
        "(did you mean 'thread'?)\n", rejects("llcs = 1", '    ktstr.cgroup("t"):clone_mode("threads")'))
    end)

    it("names both cgroups when a child's cpuset leaves its parent's", function()
      assert.are.equal("ktstr script: DIR/bad.lua:5: cgroup 'a/b': cpuset 2-3 is not within its parent " ..
        "'a''s cpuset 0-1\n", rejects("llcs = 2", '    ktstr.cgroup("a"):cpuset(ktstr.cpuset.llc(0)),\n' ..
          '    ktstr.cgroup("a/b"):cpuset(ktstr.cpuset.llc(1))'))
    end)

    it("names a NUMA node the topology does not have, for mem_policy and cpuset_mems", function()
      assert.are.equal("ktstr script: DIR/bad.lua:4: cgroup 'm': mem_policy bind: node 2 out of range: " ..
        "the topology has 2 NUMA nodes (0-1)\n",
        rejects("numa_nodes = 2, llcs = 2", '    ktstr.cgroup("m"):mem_policy("bind", { 0, 2 })'))
      assert.are.equal("ktstr script: DIR/bad.lua:4: cgroup 'm': cpuset_mems: node 1 out of range: " ..
        "the topology has 1 NUMA node (0)\n", rejects("llcs = 1", '    ktstr.cgroup("m"):cpuset_mems("0-1")'))
    end)
  end)
end)
