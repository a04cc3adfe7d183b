-- The wake/IPC work types together in one guest: each made progress, the rings kept their order, schbench gave its percentiles.
local run = require("support.run")

describe("wake/IPC work types in a guest #vm", function()
  after_each(run.assert_no_leftovers)

  it("run side by side under the fixture scheduler and all make progress", function()
    local code, out = run.script("spec/vm/scripts/wake_types.lua", "wake_types")
    for line in out:gmatch("[^\n]+") do
      if line:match("^wake_types: ") then print("# " .. line) end
    end
    assert.are.equal(0, code, out)
    -- post_vm's lines come first, then the verdict
    assert.matches("\nPASS wake_types ", out)
    assert.matches("\nwake_types: schbench %d+ worker threads, [1-9]%d* requests", out)
    for _, name in ipairs({ "wake_chain", "wake_chain_futex", "asymmetric_waker", "thundering_herd",
      "epoll_storm", "signal_storm", "fan_out_compute", "cache_pipe", "ipc_variance",
      "producer_consumer_imbalance", "preempt_storm", "schbench" }) do
      assert.matches("wake_types: " .. name .. " units [1-9]", out)
    end
  end)
end)
