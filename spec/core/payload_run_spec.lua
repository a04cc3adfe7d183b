-- guest/payload.lua on the host (no cgroup): a payload's program run, awaited, killed, parsed.
local core = require("ktstr.core")
local cgroupdef = require("ktstr.cgroupdef")
local fault = require("ktstr.fault")
local run = require("ktstr.guest.payload")

local NO_CGROUP = { path = function() return nil end }

-- The def of a payload declared in the test script tests/x.lua.
local function def(src)
  local b = assert(load('local ktstr = require("ktstr")\nreturn ' .. src, "@tests/x.lua"))()
  return cgroupdef.unwrap(b, "spec")
end

local function start(d, duration_s)
  return run.start(d, NO_CGROUP, { name = d.name, step = "Step[0]", t0 = core.now(),
    duration_s = duration_s or 0 })
end

-- The fault finishing raises, as {kind, msg}.
local function raised(p)
  local ok, e = pcall(p.finish, p, "end", core.sleep)
  assert.is_false(ok)
  assert.is_true(fault.is(e), tostring(e))
  return e.kind, e.msg
end

describe("guest payload runs", function()
  local old_dir, old_fn
  before_each(function()
    old_dir, old_fn = run.DIR, run.FN_TIMEOUT_S
    run.DIR = assert(core.mkdtemp("/tmp/ktstr-payload-run-"))
  end)
  after_each(function()
    core.rm_rf(run.DIR)
    run.DIR, run.FN_TIMEOUT_S = old_dir, old_fn
  end)

  it("runs stress-ng with the --yaml its parser reads, and parses its metrics", function()
    local p = start(def('ktstr.payload{ name = "s", argv = { "stress-ng", "--cpu", 1, ' ..
      '"--timeout", "1s" }, metrics = "stress_ng" }'))
    assert.are.same({ "/bin/stress-ng", "--cpu", "1", "--timeout", "1s", "--yaml",
      run.DIR .. "/s.yaml", "--metrics-brief" }, p.argv)
    p:finish("end", core.sleep)
    local r = p:result()
    assert.are.same({ code = 0 }, r.exit)
    assert.are.equal("stress_ng", r.parser)
    assert.is_true(r.metrics.bogo_ops > 0)
    assert.is_true(r.metrics["cpu.bogo_ops_per_s"] > 0)
    assert.is_true(r.ended_s > r.started_s)
    assert.matches("successful run completed", r.stderr_tail)
  end)

  it("gives a metrics function both streams; an empty table is no metrics", function()
    local p = start(def('ktstr.payload{ name = "f", argv = { "sh", "-c", "echo 42; echo 7 >&2" }, ' ..
      'metrics = function(out, err) return { out = tonumber(out), err = tonumber(err) } end }'))
    p:finish("end", core.sleep)
    assert.are.same({ out = 42, err = 7 }, p:result().metrics)
    p = start(def('ktstr.payload{ name = "e", argv = { "true" }, metrics = function() return {} end }'))
    p:finish("end", core.sleep)
    assert.is_nil(p:result().metrics)
    assert.are.equal("its metrics function returned an empty table", p:result().parse_error)
  end)

  it("says why a built-in parser found nothing", function()
    local p = start(def('ktstr.payload{ name = "q", argv = { "true", "bench", "pipe" }, ' ..
      'metrics = "perf_sched_pipe" }'))
    p:finish("end", core.sleep)
    assert.are.equal("the perf_sched_pipe parser found none: no 'Total time:' line on its stdout",
      p:result().parse_error)
  end)

  it("makes what a metrics function gets wrong the script's fault, at the function's line", function()
    local cases = {
      { "function() error('boom', 0) end", "tests/x.lua:2: payload 'm': metrics function: boom" },
      { "function() return 5 end", "tests/x.lua:2: payload 'm': metrics function returned number; " ..
        "it must return a table {name = number}" },
      { "function() return { x = 'fast' } end", "tests/x.lua:2: payload 'm': metrics function: " ..
        "metric x = fast: expected a finite number" },
      { "function() return { ['a b'] = 1 } end", "metric name a b: expected letters, digits" },
      { "function() return { x = 0/0 } end", "expected a finite number" },
    }
    for _, c in ipairs(cases) do
      local p = start(def('ktstr.payload{ name = "m", argv = { "true" }, metrics = ' .. c[1] .. ' }'))
      local kind, msg = raised(p)
      assert.are.equal("script", kind)
      assert(msg:find(c[2], 1, true), msg)
    end
    run.FN_TIMEOUT_S = 0.2
    local p = start(def('ktstr.payload{ name = "m", argv = { "true" }, ' ..
      'metrics = function() while true do end end }'))
    local kind, msg = raised(p)
    assert.are.equal("script", kind)
    assert.are.equal("tests/x.lua:2: payload 'm': metrics function: still running after 0.2s: " ..
      "it must return", msg)
  end)

  it("waits for a payload past its step until its timeout, then kills it", function()
    local p = start(def('ktstr.payload{ name = "h", argv = { "sleep", 30 }, timeout_s = 0.5 }'))
    local t0 = core.now()
    p:finish("end", core.sleep)
    local r = p:result()
    assert.is_true(r.timed_out)
    assert.are.equal(15, r.exit.signal)
    assert.is_true(core.now() - t0 >= 0.4 and core.now() - t0 < 5)
    -- the default: duration_s plus GRACE_S
    p = start(def('ktstr.payload{ name = "d", argv = { "true" } }'), 12)
    assert.is_true(math.abs(p.deadline - p.started - 12 - run.GRACE_S) < 0.1)
    p:finish("end", core.sleep)
  end)

  it("kills a payload an op stops, and one a cut-short run tears down, parsing neither", function()
    local p = start(def('ktstr.payload{ name = "o", argv = { "sleep", 30 }, ' ..
      'metrics = function() error("not called") end }'))
    p:finish("op", core.sleep)
    local r = p:result()
    assert.is_true(r.by_op)
    assert.is_nil(r.timed_out)
    assert.is_nil(r.metrics)
    p = start(def('ktstr.payload{ name = "t", argv = { "sh", "-c", "echo x" }, ' ..
      'metrics = function() error("not called") end }'))
    while not p:poll() do core.sleep(0.01) end
    p:finish("teardown", core.sleep)
    assert.are.same({ code = 0 }, p:result().exit)
    assert.is_nil(p:result().metrics)
  end)

  it("makes a program the guest cannot start the environment's failure", function()
    local d = def('ktstr.payload{ name = "x", argv = { "true" } }')
    d.payload.exec = "/nonexistent/true"
    local ok, e = pcall(start, d)
    assert.is_false(ok)
    assert.are.equal("env", e.kind)
    assert.are.equal("payload 'x': spawn: /nonexistent/true: No such file or directory", e.msg)
  end)
end)

