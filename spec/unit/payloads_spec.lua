-- Payload runs judged on the host (ktstr.host.payloads): failures named with their output, bounds,
-- the report's stats and output blocks, the record's metrics for ktstr stats, the protocol.
local ktstr = require("ktstr")
local cjson = require("cjson")
local checks = require("ktstr.host.checks")
local protocol = require("ktstr.protocol")
local report = require("ktstr.host.report")
local stats = require("ktstr.host.stats")
local test = require("ktstr.test")

local function run(over)
  local r = { name = "stress", step = "Step[0]", parser = "stress_ng",
    argv = { "/bin/stress-ng", "--cpu", "1" }, exit = { code = 0 }, started_s = 0.5,
    ended_s = 3.7, metrics = { bogo_ops = 228, bogo_ops_per_s = 72.9, ["cpu.bogo_ops"] = 228 },
    stdout_tail = "", stderr_tail = "stress-ng: info: dispatching hogs: 1 cpu\n" }
  for k, v in pairs(over or {}) do
    if v == false then r[k] = nil else r[k] = v end
  end
  return r
end

local function declare()
  return ktstr.test{ name = "t", duration_s = 3, defs = {
    ktstr.payload{ name = "stress", argv = { "true" }, metrics = "stress_ng",
      checks = { bogo_ops_per_s = { min = 50, max = 1000 }, ["cpu.bogo_ops"] = { min = 1 } } },
  } }
end

local function details(t, payloads)
  local v = checks.evaluate(t, { accel = "tcg", cgroups = {}, payloads = payloads })
  local out = {}
  for _, d in ipairs(v.details) do out[#out + 1] = { d.check, d.status, d.msg } end
  return v.status, out, v
end

describe("payloads judged on the host", function()
  after_each(test.reset)

  it("passes a clean run within its bounds", function()
    local status, ds = details(declare(), { stress = run() })
    assert.are.equal("pass", status)
    assert.are.same({}, ds)
  end)

  it("fails a run that exited non-zero, naming it and its last words", function()
    local status, ds = details(declare(), { stress = run({ exit = { code = 1 }, metrics = false,
      stdout_tail = "Try 'stress-ng --help' for more information.\n",
      stderr_tail = "/bin/stress-ng: unrecognized option '--bogus'\n" }) })
    assert.are.equal("fail", status)
    -- a failed run's bounds are not judged: its failure says it all
    assert.are.same({ { "payload", "fail", "payload 'stress' exited with code 1: /bin/stress-ng: " ..
      "unrecognized option '--bogus'" } }, ds)
  end)

  it("fails a run killed by a signal, one past its timeout, one that printed nothing parseable",
    function()
      local t = declare()
      local _, ds = details(t, { stress = run({ exit = { signal = 9 }, metrics = false,
        stderr_tail = "" }) })
      assert.are.equal("payload 'stress' was killed by signal 9 (and printed nothing)", ds[1][3])
      _, ds = details(t, { stress = run({ exit = { signal = 15 }, timed_out = true,
        ended_s = 33.5, metrics = false }) })
      assert.are.equal("payload 'stress' was still running 33s after it started (its timeout_s): " ..
        "killed: stress-ng: info: dispatching hogs: 1 cpu", ds[1][3])
      _, ds = details(t, { stress = run({ metrics = false,
        parse_error = "the stress_ng parser found none: its --yaml file has no metrics: list" }) })
      assert.are.same({ { "payload", "fail", "payload 'stress' gave no metrics: the stress_ng " ..
        "parser found none: its --yaml file has no metrics: list" } }, ds)
    end)

  it("fails a metric below its min or above its max, and cannot judge one the run did not give",
    function()
      local t = declare()
      local _, ds = details(t, { stress = run({ metrics = { bogo_ops_per_s = 12.25,
        ["cpu.bogo_ops"] = 3 } }) })
      assert.are.same({ { "payload", "fail", "payload 'stress' bogo_ops_per_s 12.25 below min 50" } },
        ds)
      _, ds = details(t, { stress = run({ metrics = { bogo_ops_per_s = 1500.5 } }) })
      assert.are.same({
        { "payload", "fail", "payload 'stress' bogo_ops_per_s 1500.5 above max 1000" },
        { "payload", "inconclusive", "payload 'stress' gave no metric cpu.bogo_ops this run (it " ..
          "gave: bogo_ops_per_s)" } }, ds)
    end)

  it("judges nothing of a payload an op stopped but says its bounds went unjudged", function()
    local status, ds = details(declare(), { stress = run({ by_op = true, exit = { signal = 15 },
      metrics = false }) })
    assert.are.equal("inconclusive", status)
    assert.are.equal("payload 'stress' was stopped by an op: bogo_ops_per_s not judged", ds[1][3])
  end)

  it("judges a run the test did not declare (a run body's) by how it ended only", function()
    local t = ktstr.test{ name = "r", run = function() return ktstr.pass() end }
    assert.are.equal("pass", (details(t, { other = run({ name = "other" }) })))
    assert.are.equal("fail", (details(t, { other = run({ name = "other", exit = { code = 3 } }) })))
  end)

  it("reports a failed payload's output and every payload's metrics in --- stats ---", function()
    local t = declare()
    local result = { accel = "tcg", cgroups = {}, payloads = {
      stress = run({ exit = { code = 2 }, metrics = false,
        stderr_tail = "line 1\nline 2\n", stdout_tail = "out\n" }),
      pipe = run({ name = "pipe", parser = "perf_sched_pipe", started_s = 0.6, ended_s = 1.9,
        metrics = { total_s = 0.869, ops_per_s = 2301, usecs_per_op = 434.525 } }) } }
    local v = checks.evaluate(t, result)
    local text = report.format(t, v, result, {})
    assert.matches("\n%-%-%- stats %-%-%-\npayload stress: exit 2 after 3%.2s\n" ..
      "payload pipe: exit 0 after 1%.3s ops_per_s=2301 total_s=0%.869 usecs_per_op=434%.5\n" ..
      "%-%-%- payload stress stderr %(last 2 lines%) %-%-%-\nline 1\nline 2\n" ..
      "%-%-%- payload stress stdout %(last 1 lines%) %-%-%-\nout\n", text)
    assert.is_nil(text:find("workers,", 1, true))  -- no workers: no workers line
  end)

  it("puts the metrics in the record, where ktstr stats finds them with their direction", function()
    local t = declare()
    local v = checks.evaluate(t, { accel = "tcg", cgroups = {}, payloads = { stress = run() } })
    local rec = cjson.decode(cjson.encode({ test = "t", status = "pass", stats = v.stats }))
    local vals, order, defs = stats.metrics(rec)
    assert.are.same({ "payload stress: bogo_ops", "payload stress: bogo_ops_per_s",
      "payload stress: cpu.bogo_ops" }, order)
    assert.are.equal(72.9, vals["payload stress: bogo_ops_per_s"])
    assert.are.equal("higher", defs["payload stress: bogo_ops_per_s"].better)
    assert.are.equal(3, defs["payload stress: bogo_ops_per_s"].min_n)
    -- a metrics function's figures are shown, never judged
    rec.stats.payloads[1].parser = "function"
    defs = select(3, stats.metrics(rec))
    assert.is_nil(defs["payload stress: bogo_ops"].better)
  end)
end)

describe("protocol: result.payloads", function()
  local function frame(payloads)
    return cjson.encode({ t = "result", id = 1, result = { cgroups = {}, payloads = payloads } })
  end

  it("carries a payload's run, integers made integers", function()
    local m = assert(protocol.decode(frame({ stress = run() })))
    local r = m.result.payloads.stress
    assert.are.equal("integer", math.type(r.exit.code))
    assert.are.equal(72.9, r.metrics.bogo_ops_per_s)
  end)

  it("refuses a metric that is not a number, and a run without its start", function()
    local _, err = protocol.decode(frame({ stress = run({ metrics = { x = "fast" } }) }))
    assert.are.equal("message 'result': field 'result.payloads.stress.metrics.x' must be a number, " ..
      "not \"fast\"", err)
    _, err = protocol.decode(frame({ stress = run({ started_s = false }) }))
    assert.matches("'result.payloads.stress.started_s' is missing", err)
  end)
end)
