-- The host monitor and BPF snapshots against real guests: what the host sees without the guest's help.
local run = require("support.run")

local SCRIPT = "spec/vm/scripts/monitor.lua"

local function script(filter)
  return run.script(SCRIPT, filter)
end

describe("the host monitor #vm", function()
  after_each(run.assert_no_leftovers)

  it("sees four spinners on four CPUs, one sample per 100 ms", function()
    local code, out = script("monitor_spinners")
    assert.are.equal(0, code, out)
  end)

  it("sees the fixture's dispatch stall as stuck rq clocks before the watchdog fires", function()
    local code, out = script("monitor_stall")
    assert.are.equal(1, code, out)
    assert.matches("^BUG SUMMARY: [^\n]*watchdog stall", out)
    assert.matches("\nstuck: cpu%d rq clock frozen with runnable tasks [^\n]*, seen [%d.]+s " ..
      "before the scheduler exited", out)
    assert.matches("\nverdict: rq clock stuck on cpu%d", out)
    -- the guest's own schedstat and the scheduler's programs, read from guest RAM
    assert.matches("\nschedstat: csw=%d+ %(%d+/s%) run_delay=[%d.]+ms/s ttwu=%d+ goidle=%d+\n", out)
    assert.matches("\nbpf: ktstr_%w+ cnt=%d+ %d+ns/call\n", out)
  end)

  it("reports a threshold violation without failing, and fails it when enforced", function()
    local code, out = script("imbalance_reported")
    assert.are.equal(0, code, out)
    code, out = script("imbalance_enforced")
    assert.are.equal(1, code, out)
    assert.matches("^FAIL imbalance_enforced [^\n]*: imbalance ratio 4%.00 for %d+ consecutive " ..
      "samples", out)
    -- 4 workers on cpu0; kworkers or the agent there now and then add one or two
    local peak = tonumber(out:match("\n%-%-%- monitor %-%-%-\nsamples=%d+ max_imbalance=(%d+)%.00 "))
    assert.is_true(peak ~= nil and peak >= 4 and peak <= 8, out)
  end)
end)

describe("BPF snapshots #vm", function()
  after_each(run.assert_no_leftovers)

  it("reads a nondecreasing .bss counter periodically and after the workload", function()
    local code, out = script("snapshot_counter")
    assert.are.equal(0, code, out)
    local first, last, snap, final = out:match("snapshot_counter: periodic (%d+)%.%.(%d+), " ..
      "after_workload (%d+), final (%d+)")
    assert.is_truthy(first, out)
    assert.is_true(tonumber(first) > 0 and tonumber(last) >= tonumber(first), out)
    assert.is_true(tonumber(final) >= tonumber(snap), out)
  end)

  it("dumps the scheduler's maps when it dies of an error", function()
    local code, out = script("failure_dump")
    assert.are.equal(1, code, out)
    assert.matches("\n%-%-%- failure dump %(%+[%d.]+s, guest paused [%d.]+ms%) %-%-%-\n", out)
    local n = tonumber(out:match("\nktstr_sc%.bss nr_dispatched = (%d+)\n"))
    assert.is_truthy(n, out)
    assert.is_true(n > 0, out)
    assert.matches("\nktstr_sc%.rodata knobs = {[^\n]*crash_after", out)
  end)
end)
