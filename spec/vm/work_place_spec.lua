-- The placement, cgroup, NUMA and RT work types in one guest of 2 nodes, 2 LLCs and SMT.
local run = require("support.run")

describe("placement work types #vm", function()
  after_each(run.assert_no_leftovers)

  it("each makes progress and does its own thing, under the fixture scheduler", function()
    -- run(ctx) sees the churn and storm cgroups made and removed, siblings'
    -- affinity narrowed, the sweep's pages on both nodes; post_vm sees the
    -- SMT pair on sibling threads, node hops, RT waits and rests
    local code, out, err = run.ktstr({ "script", "spec/vm/scripts/work_place.lua", "-v" })
    assert.are.equal(0, code, out .. err)
    assert.matches("^PASS place_types %[sched=ktstr_sched%] %[topo=2n2l1c2t%]", out)
  end)
end)
