-- Schedulers under test: the fixture clean and with injected bugs, load failures, ops.
local run = require("support.run")

local KNOBS = "spec/vm/scripts/sched_knobs.lua"

local script = run.script

describe("the fixture scheduler #vm", function()
  after_each(run.assert_no_leftovers)

  it("passes the tutorial's tests/mixed.lua three runs in a row", function()
    for i = 1, 3 do
      local code, out = run.judged({ "script", "tests/mixed.lua" })
      assert.are.equal(0, code, ("run %d:\n%s"):format(i, out))
      assert.matches("^PASS mixed_workloads %[sched=ktstr_sched%] %[topo=1n2l2c1t%]", out)
      run.assert_no_leftovers()
    end
  end)

  it("passes a clean run: loaded, enabled, stopped cleanly", function()
    local code, out = script(KNOBS, "fixture_clean")
    assert.are.equal(0, code, out)
    assert.matches("^PASS fixture_clean %[sched=ktstr_sched%]", out)
  end)

  it("fails an injected scx_bpf_error with the kernel's reason and the message first", function()
    local code, out = script(KNOBS, "fixture_crash")
    assert.are.equal(1, code, out)
    assert.matches("^BUG SUMMARY: scheduler 'ktstr_sched' was kicked out by the kernel " ..
      "%(scx_bpf_error: ktstr: injected crash after 1 s%)", out)
    assert.matches("\nFAIL fixture_crash ", out, 1, true)
    assert.matches("--- scheduler log ---", out, 1, true)
  end)

  it("passes expect_err when the scheduler fails with the expected words, and fails it " ..
    "otherwise", function()
    local code, out = script(KNOBS, "expect_crash_words")
    assert.are.equal(0, code, out)
    assert.matches("^PASS expect_crash_words %[sched=ktstr_sched%]", out)
    code, out = script(KNOBS, "expect_other_words")
    assert.are.equal(1, code, out)
    assert.matches("\nFAIL expect_other_words [^\n]*: the scheduler failed, but its error " ..
      '"ktstr: injected crash after 1 s" does not contain "dispatch stall"', out)
    code, out = script(KNOBS, "expect_err_but_clean")
    assert.are.equal(1, code, out)
    assert.matches("^FAIL expect_err_but_clean [^\n]*: expect_err: the scheduler did not fail", out)
  end)

  it("waits for the scheduler it started, whatever its ops are called; a declared ops_name " ..
    "that differs names both", function()
    local code, out = script(KNOBS, "wrong_ops_name")
    assert.are.equal(2, code, out)
    assert.matches("^ERROR wrong_ops_name [^\n]*: spec/vm/scripts/sched_knobs.lua:%d+: scheduler " ..
      "'ktstr_sched' declares ops_name 'simple', but the kernel enabled it as 'ktstr'", out)
  end)

  it("fails a dispatch stall as a watchdog stall", function()
    local code, out = script(KNOBS, "fixture_stall")
    assert.are.equal(1, code, out)
    assert.matches("^BUG SUMMARY: scheduler 'ktstr_sched' was kicked out by the kernel " ..
      "%(watchdog stall: runnable task stall", out)
  end)

  it("keeps bursty sleepers and spinners on the same CPUs waiting alike, fixture and EEVDF", function()
    for _, name in ipairs({ "fixture_mixed_fair", "eevdf_mixed_fair" }) do
      local code, out = script(KNOBS, name)
      assert.are.equal(0, code, out)
      assert.matches("^PASS " .. name .. " ", out)
    end
  end)

  -- the others wait: the plain spinners, or the bursty sleepers, kept waiting so long that
  -- they count as CPU-bound too
  it("fails an injected unfair share on the cgroup fairness gate: the others wait", function()
    local code, out = script(KNOBS, "fixture_mixed_unfair")
    assert.are.equal(1, code, out)
    assert.matches("^FAIL fixture_mixed_unfair [^\n]*: unfair cgroups on cpus 0%-1: spin waited " ..
      "[%d.]+%% of runnable time vs %a+ [%d.]+%% %(spread=[%d.]+%%, threshold 25%.0%%%)\n", out)
  end)

  it("fails an injected starvation of one cgroup on not_starved's gap gate", function()
    local code, out = script(KNOBS, "fixture_starve")
    assert.are.equal(1, code, out)
    -- not_starved turns on the gap gate at its default (3000 ms under TCG).
    -- Every enqueue of the victim is held 4 s, its start-up included: when
    -- the holds eat the whole run before its first checkpoint, the same
    -- starvation shows as no progress at all.
    local gap = out:match("^FAIL fixture_starve [^\n]*: tid %d+ stuck %d+ms on cpu%d+ at %+%d+ms " ..
      "%(threshold 3000ms%)\n  max_gap_ms: tid %d+ stuck ")
    local none = out:match("^FAIL fixture_starve [^\n]*: tid %d+ made no progress %(0 work units%)" ..
      "\n  not_starved: ")
    assert.is_truthy(gap or none, out)
    assert.matches("\nvictim: workers=1 ", out)
    assert.matches("\nothers: workers=2 ", out)
  end)

  it("fails injected dispatch blackouts on not_starved's gap gate", function()
    local code, out = script(KNOBS, "fixture_degrade")
    assert.are.equal(1, code, out)
    assert.matches("^FAIL fixture_degrade [^\n]*: tid %d+ stuck %d+ms on cpu%d+ at %+%d+ms " ..
      "%(threshold 3000ms%)", out)
  end)

  it("keeps workers running across detach, attach and restart, each run ending cleanly", function()
    local code, out = script(KNOBS, "fixture_ops")
    assert.are.equal(0, code, out)
    assert.matches("^PASS fixture_ops", out)
  end)

  it("reports a verifier rejection as a load failure with the verifier's words", function()
    local code, out = script("spec/vm/scripts/sched_broken.lua", "verifier_rejects")
    assert.are.equal(1, code, out)
    assert.matches("^BUG SUMMARY: scheduler 'broken' failed to load: the verifier rejected " ..
      "[%w_]+[^\n]*: invalid access to map value[^\n]*; exited with " ..
      "status 1 before it was enabled", out)
    assert.matches("BPF program load failed", out, 1, true)
  end)

  it("treats a missing scheduler binary as bad input, naming where it looked", function()
    local code, out = script("spec/vm/scripts/sched_broken.lua", "missing_binary")
    assert.are.equal(2, code, out)
    assert.matches("^ERROR missing_binary [^\n]*: spec/vm/scripts/sched_broken.lua:%d+: scheduler " ..
      "'ghost': binary 'no%-such%-scheduler%-binary' not found; looked in: ", out)
    assert.matches("\n0 passed, 0 failed, 1 error %(bad input%)\n$", out)
  end)
end)
