-- Runs inside the guest: what PID 1 set up before the agent started.
local agent = require("ktstr.guest.agent")

describe("the guest as PID 1 left it", function()
  it("has cgroup2 with cpuset, cpu, memory and pids enabled for children", function()
    local f = assert(io.open("/sys/fs/cgroup/cgroup.subtree_control"))
    local ctl = f:read("a")
    f:close()
    for _, c in ipairs({ "cpuset", "cpu", "memory", "pids" }) do
      assert.matches(c, ctl)
    end
  end)

  it("reports facts that agree with sysfs", function()
    local facts = agent.facts()
    assert.are.equal(4, #facts.cpus)
    assert.are.equal("0-1", facts.cpus[1].llc)
    assert.are.equal("2-3", facts.cpus[4].llc)
    assert.are.equal("disabled", facts.sched_ext)
    assert(require("ktstr.protocol").check({ t = "ready", facts = facts }))
  end)

  it("parses cpulists the way the kernel prints them", function()
    assert.are.same({ 0, 1, 2, 5, 7, 8 }, agent.parse_cpulist("0-2,5,7-8"))
    assert.are.same({}, agent.parse_cpulist(""))
  end)
end)
