-- Payloads in real guests: stress-ng, fio and perf bench run, their metrics in the result, the
-- report and the record; failures named with their output; a missing program refused at load.
local cjson = require("cjson")
local run = require("support.run")

local SCRIPT = "spec/vm/scripts/payload.lua"

describe("payloads #vm", function()
  after_each(run.assert_no_leftovers)

  -- one run of the script: two tests, two boots
  local code, out, err, records
  local function once()
    if code then return end
    code, out, err = run.judged({ "script", SCRIPT, "--json" })
    records = {}
    for line in err:gmatch("[^\n]+") do
      if line:sub(1, 1) == "{" then
        local r = cjson.decode(line)
        records[r.test] = r
      end
    end
  end

  it("runs stress-ng, fio and perf bench in the guest, each in its own cgroup, with metrics",
    function()
      once()
      assert.are.equal(1, code, out .. err)
      assert.matches("\nPASS payload_programs %[sched=eevdf%] %[topo=1n1l2c1t%]", "\n" .. out)
      -- post_vm printed result.payloads[name].metrics
      local function metric(name, key)
        local line = ("\n" .. out):match("\npayload " .. name .. ": ([^\n]*)")
        assert.is_truthy(line, out)
        return tonumber(line:match(" " .. key .. "=([%d.e+-]+)"))
      end
      assert.is_true(metric("stress", "bogo_ops") > 0, out)
      assert.is_true(metric("stress", "bogo_ops_per_s") > 0, out)
      assert.is_true(metric("fio", "read_iops") > 0, out)
      assert.is_true(metric("fio", "write_iops") > 0, out)
      assert.is_true(metric("fio", "read_lat_mean_us") > 0, out)
      assert.is_true(metric("pipe", "ops_per_s") > 0, out)
      assert.is_true(metric("pipe", "usecs_per_op") > 0, out)
      assert.is_true(metric("messaging", "total_s") > 0, out)
      -- the program itself saw its cgroup, its nice and its cpuset
      assert.matches("\npayload where: cpus=1 allowed_cpu=1 in_own_cgroup=1 nice=5\n", out)
      -- the record carries them for ktstr stats
      local rec = records.payload_programs
      assert.is_truthy(rec, err)
      local by = {}
      for _, p in ipairs(rec.stats.payloads) do by[p.name] = p end
      assert.are.equal("stress_ng", by.stress.parser)
      assert.are.equal("exit 0", by.stress.ended)
      assert.is_true(by.stress.metrics["cpu.bogo_ops"] > 0)
      assert.is_true(by.fio.metrics["rw.read_iops"] > 0)
    end)

  it("fails a payload that exits non-zero, one below its bound and one past its timeout",
    function()
      once()
      local report = out:match("\n(FAIL payload_failures .-\nreplay: [^\n]*)")
      assert.is_truthy(report, out)
      assert.matches("^FAIL payload_failures %[sched=eevdf%] %[topo=1n1l2c1t%]: payload 'bad' " ..
        "exited with code 1: /bin/stress%-ng: unrecognized option '%-%-bogus%-option'\n", report)
      assert.matches("\n  payload: payload 'bounded' ops_per_s [%d.]+ below min 1000000000000\n",
        report)
      assert.matches("\n  payload: payload 'hang' was still running 2s after it started %(its " ..
        "timeout_s%): killed", report)
      assert.matches("\n%-%-%- stats %-%-%-\npayload bad: exit 1 after", report)
      assert.matches("\npayload bounded: exit 0 after [%d.]+s ops_per_s=", report)
      assert.matches("\npayload hang: timed out after", report)
      assert.matches("\n%-%-%- payload bad stderr %(last 1 lines%) %-%-%-\n/bin/stress%-ng: " ..
        "unrecognized option '%-%-bogus%-option'\n", report)
      assert.are.equal("fail", records.payload_failures.status)
    end)

  it("refuses a program the host does not have at the payload's line, booting nothing", function()
    local c, o, e = run.ktstr({ "script", "spec/vm/scripts/payload_missing.lua" })
    assert.are.equal(2, c, o .. e)
    assert.are.equal("", o)
    assert.matches("^ktstr script: spec/vm/scripts/payload_missing%.lua:6: ktstr%.payload 'nope': " ..
      "'ktstr%-no%-such%-program' not found on PATH %(", e)
  end)
end)
