-- The test's watchdog_timeout_s set in the guest kernel by the host: stalls caught at it, no false kicks.
local cjson = require("cjson")
local run = require("support.run")

local SCRIPT = "spec/vm/scripts/watchdog.lua"

local function script(filter)
  return run.ktstr({ "script", SCRIPT, "--filter", filter, "--json" })
end

-- The --json record on stderr.
local function record(err)
  local line = err:match("\n({.*})%s*$") or err:match("^({.*})%s*$")
  assert(line, err)
  return cjson.decode(line)
end

--[[
How long after the stall started the kernel kicked the scheduler: from the
fixture's start_ns (ops.init, in the failure dump's .bss) plus its
--stall-after, to the kernel log's "disabled" line, both guest time.
]]
local function detected_after(out, stall_after_s)
  local start_ns = out:match("ktstr_sc%.bss start_ns = (%d+)")
  local disabled = out:match('%[%s*([%d.]+)%] sched_ext: BPF scheduler "ktstr" disabled')
  assert(start_ns and disabled, out)
  return tonumber(disabled) - (tonumber(start_ns) / 1e9 + stall_after_s)
end

-- "watchdog failed to check in for 3.004s" (or a task's "failed to run for"): the seconds.
local function kicked_after(out)
  local s = out:match("^BUG SUMMARY: scheduler 'ktstr_sched' was kicked out by the kernel " ..
    "%(watchdog stall: runnable task stall: [^\n]-failed to [%a ]+ for ([%d.]+)s%)")
  assert(s, out)
  return tonumber(s)
end

describe("the test's watchdog timeout #vm", function()
  after_each(run.assert_no_leftovers)

  it("kicks out a stall at the test's 3 s, not the scheduler's own 5 s", function()
    local code, out, err = script("watchdog_stall")
    assert.are.equal(1, code, out .. err)
    -- the kernel fails the check-in once the timeout has passed since the last one:
    -- at or after 3 s; 5 s or later if the scheduler's own timeout were still in force
    local x = kicked_after(out)
    assert.is_true(x >= 3 and x < 4, out)
    local d = detected_after(out, 4)
    assert.is_true(d >= 2.5 and d < 8, ("kicked %.2fs after the stall started\n%s"):format(d, out))
    assert.matches("\nwatchdog: 5000ms %-> 3000ms at %+[%d.]+s via 4000ms %(ktstr: " ..
      "watchdog_timeout_s = 3s, checked every 248ms%)\n", out)
    local wd = record(err).watchdog
    assert.are.same({ 3000, 3000, 248, 1 }, { wd.asked_ms, wd.want_ms, wd.check_ms, #wd.runs })
  end)

  it("passes a healthy scheduler whose own 30 s check-in is pending when 3 s is asked", function()
    local code, out, err = script("watchdog_long_clean")
    assert.are.equal(0, code, out .. err)
    assert.matches("^PASS watchdog_long_clean", out)
    local r = record(err).watchdog.runs[1]
    assert.are.same({ 30000, 3000 }, { r.from_ms, r.to_ms })
    -- 16.5 s while the check-in the kernel queued at enable (15 s out) is pending
    assert.are.same({ 16500, 248, 15000 }, { r.steps[1].tmo_ms, r.steps[1].iv_ms,
      r.steps[1].pending_ms })
    assert.are.equal(3000, r.steps[#r.steps].tmo_ms)
    assert.is_true(r.at_s - r.seen_s >= 14, cjson.encode(r))
  end)

  it("catches a stall of a 30 s scheduler at 16.5 s when it starts before 3 s can be set", function()
    local code, out, err = script("watchdog_long_stall")
    assert.are.equal(1, code, out .. err)
    local x = kicked_after(out)
    assert.is_true(x >= 16.5 and x < 17.5, out)
    assert.matches("\nwatchdog: 30000ms %-> 16500ms at %+[%d.]+s %(ktstr: watchdog_timeout_s = " ..
      "3s, checked every 248ms%); 3000ms not reached: the check the kernel had queued " ..
      "15000ms out did not run while the scheduler was up\n", out)
  end)

  it("sets it again for each scheduler run: attach, detach, restart", function()
    local code, out, err = script("watchdog_ops")
    assert.are.equal(0, code, out .. err)
    local runs = record(err).watchdog.runs
    assert.are.equal(3, #runs, cjson.encode(runs))
    for _, r in ipairs(runs) do
      assert.are.same({ 5000, 3000 }, { r.from_ms, r.to_ms }, cjson.encode(runs))
    end
  end)
end)
