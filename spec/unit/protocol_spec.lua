-- The host<->guest protocol: every message round-trips, a wrong shape is named, one exit-code table.
local cjson = require("cjson")
local fault = require("ktstr.fault")
local protocol = require("ktstr.protocol")
local runner = require("ktstr.host.runner")

local TOPO = { numa_nodes = 1, llcs = 2, cores = 2, threads = 1 }
local PLAN = { name = "fixture", ops_name = "fixture", argv = { "/bin/ktstr-sched", "-v" },
  source = "t.lua:3", enable_timeout_s = 15.0 }
local FACTS = { release = "7.3.0", cpus = { { cpu = 0, llc = "0-1", siblings = "0", core_id = 0,
  die_id = 0, package_id = 0 } }, nodes = { "0-3" }, uptime_s = 1.25, sched_ext = "disabled",
  kernel = { code_phys = "0x1000000", syms = { _text = "0xffffffff81000000" } } }
local WORKER = { index = 0, group = 0, member = 0, pid = 101, work = "spin", state = "done",
  work_units = 5, iterations = 123456, wall_ns = 2000000000, cpu_ns = 1900000000,
  run_delay_ns = 1000, slices = 40, vcsw = 1, ivcsw = 7, max_gap_ns = 3000000, max_gap_cpu = 1,
  max_gap_at_ns = 12, start_s = 0.5, migrations = 3, cpus = { 0, 1 },
  wake = { count = 2, mean_ns = 10, p50_ns = 9, p90_ns = 11, p99_ns = 12, max_ns = 13,
    samples = 2 },
  exit = { code = 0, by_stop = true } }
local RESULT = { duration_s = 2.5,
  cgroups = { { name = "a", step = "Step[0]", cpus = "0-1", work = { "spin" },
    workers = { WORKER } } },
  timeline = { { label = "Step[0]", start_s = 0.1, end_s = 2.4 } },
  snapshots = { "mid" },
  sched = { name = "fixture", ops = "fixture", enabled_after_s = 0.3,
    failure = { kind = "disabled", msg = "kicked out", at_s = 1.5 }, exit = { code = 0 },
    log = "", kernel = "" },
  verdict = { status = "pass", details = { { check = "custom", status = "pass", msg = "ok" } } },
  fault = { kind = "env", msg = "cgroup write refused" } }

-- One of every message, as its sender makes it.
local SAMPLES = {
  run_test = { t = "run_test", id = 1, script = "/scripts/t.lua", test = "t", topo = TOPO,
    sched = PLAN },
  exec = { t = "exec", id = 2, argv = { "true" } },
  facts = { t = "facts", id = 3, facts = FACTS },
  repl = { t = "repl", duration_s = 5.0, topo = TOPO, sched = PLAN, attach = true },
  poweroff = { t = "poweroff" },
  files = { t = "files", data = "aGVsbG8=" },
  resume = { t = "resume", wall = 1796562013.25 },
  snapshot_done = { t = "snapshot_done", call = 1, error = "pausing the guest: no" },
  ready = { t = "ready", facts = FACTS },
  result = { t = "result", id = 1, result = RESULT },
  out = { t = "out", id = 2, fd = "stdout", data = "hi\n" },
  exit = { t = "exit", id = 2, code = 0 },
  error = { t = "error", id = 7, msg = "unknown request 'x'" },
  phase = { t = "phase", label = "Step[0]", at_s = 0.25, guest_now = 12.5 },
  workload = { t = "workload", duration_s = 2.0, at_s = 0.2, guest_now = 12.4 },
  snapshot = { t = "snapshot", call = 1, name = "mid", at_s = 1.5, why = "asked" },
  init = { t = "init", topo = TOPO, sched = PLAN, attach = false, duration_s = 5.0 },
  evaluator_ready = { t = "evaluator_ready", note = "scheduler fixture attached" },
  repl_ready = { t = "repl_ready", fresh = true, note = "n" },
  repl_eval = { t = "repl_eval", id = 4, chunk = "1 + 1" },
  repl_interrupt = { t = "repl_interrupt", force = true },
  repl_result = { t = "repl_result", id = 4, ok = true, text = "2" },
  repl_out = { t = "repl_out", id = 4, fd = "stderr", data = "x" },
  repl_dead = { t = "repl_dead", msg = "cannot restart the evaluator" },
  repl_detach = { t = "repl_detach" },
  repl_detached = { t = "repl_detached" },
  repl_hello = { t = "repl_hello", id = "abc123", name = "t", topo = "1n2l2c1t" },
  repl_busy = { t = "repl_busy", msg = "another prompt is attached to this guest" },
  repl_host = { t = "repl_host", id = 5, chunk = "ktstr.facts" },
  repl_quit = { t = "repl_quit" },
  repl_bye = { t = "repl_bye" },
}

-- Same values and, for numbers, the same subtype: an integer must come back an integer
-- (the samples write a "number" field as a float: JSON keeps no subtype).
local function same(a, b, path)
  path = path or "msg"
  assert.are.equal(type(a), type(b), path)
  if type(a) == "number" then
    assert.are.equal(math.type(a), math.type(b), path .. " (" .. tostring(b) .. ")")
  end
  if type(a) ~= "table" then return assert.are.equal(a, b, path) end
  for k, v in pairs(a) do same(v, b[k], path .. "." .. tostring(k)) end
  for k in pairs(b) do assert.is_not_nil(a[k], path .. "." .. tostring(k) .. " appeared") end
end

local function json_with(t, fn)
  local m = cjson.decode(cjson.encode(SAMPLES[t]))
  fn(m)
  return cjson.encode(m)
end

local function refused(raw, ...)
  local msg, err = protocol.decode(raw)
  assert.is_nil(msg, raw)
  assert.is_string(err)
  for _, want in ipairs({ ... }) do assert.truthy(err:find(want, 1, true), err) end
  return err
end

describe("ktstr.protocol", function()
  it("has a sample here for every message type, and the types are all documented", function()
    local n = 0
    for t, m in pairs(protocol.MESSAGES) do
      n = n + 1
      assert.is_table(SAMPLES[t], "no sample for message '" .. t .. "'")
      assert.is_string(m.doc, t)
      assert.is_table(m.from, t)
      assert.is_table(m.fields, t)
    end
    for t in pairs(SAMPLES) do assert.is_table(protocol.MESSAGES[t], "sample of unknown " .. t) end
    assert.are.equal(31, n)
  end)

  it("round-trips every message type, integers as integers", function()
    for t, msg in pairs(SAMPLES) do
      assert.is_true(protocol.check(msg))
      local back, err = protocol.decode(protocol.encode(msg))
      assert.is_table(back, t .. ": " .. tostring(err))
      same(msg, back, t)
    end
  end)

  it("turns the floats lua-cjson decodes into integers where a field is one", function()
    local raw = cjson.encode(SAMPLES.result)
    assert.are.equal("float", math.type(cjson.decode(raw).result.cgroups[1].workers[1].pid))
    local m = assert(protocol.decode(raw))
    local w = m.result.cgroups[1].workers[1]
    assert.are.equal("integer", math.type(w.pid))
    assert.are.equal("integer", math.type(w.cpus[2]))
    assert.are.equal("integer", math.type(w.wake.p99_ns))
    assert.are.equal("float", math.type(w.start_s))
    assert.are.equal("integer", math.type(assert(protocol.decode(
      '{"t":"exec","id":4,"argv":["x"]}')).id))
  end)

  it("names the message type and the field of a missing field", function()
    refused('{"t":"ready"}', "'ready'", "'facts'", "missing")
    refused(json_with("exit", function(m) m.id = nil end), "'exit'", "'id'", "missing")
    refused(json_with("ready", function(m) m.facts.release = nil end), "'facts.release'")
  end)

  it("treats null as absent: fine for an optional field, missing for a required one", function()
    local m = assert(protocol.decode('{"t":"exit","id":1,"code":0,"signal":null}'))
    assert.is_nil(m.signal)
    refused('{"t":"exit","id":null}', "'exit'", "'id'", "missing")
    refused('{"t":"ready","facts":{"release":"x","cpus":[null],"nodes":[]}}', "'facts.cpus[1]'",
      "null")
  end)

  it("names the field of a wrong type, down to nested ones", function()
    refused('{"t":"exit","id":1,"code":"x"}', "'exit'", "'code'", "integer", '"x"')
    refused('{"t":"repl_result","id":1,"ok":"yes"}', "'repl_result'", "'ok'", "boolean")
    refused('{"t":"phase","label":3,"at_s":1,"guest_now":1}', "'phase'", "'label'", "string")
    refused(json_with("result", function(m) m.result.cgroups = 5 end), "'result.cgroups'",
      "table")
    refused(json_with("result", function(m) m.result.cgroups[1].workers[1].exit = 3 end),
      "'result.cgroups[1].workers[1].exit'")
    refused(json_with("result", function(m) m.result.sched.failure = 5 end),
      "'result.sched.failure'")
    refused(json_with("phase", function(m) m.guest_now = "x" end), "'phase'", "'guest_now'")
  end)

  it("refuses a string, a number or null where a table goes", function()
    refused('{"t":"result","id":1,"result":"x"}', "'result'", "must be a table", '"x"')
    refused('{"t":"result","id":1,"result":5}', "'result'", "must be a table")
    refused('{"t":"result","id":1,"result":null}', "'result'", "missing")
    refused('{"t":"ready","facts":"all of them"}', "'ready'", "'facts'", "table")
  end)

  it("refuses integers that do not fit and numbers that are not finite", function()
    refused(json_with("result", function(m) m.result.cgroups[1].workers[1].migrations = 1e300 end),
      "'result'", "'result.cgroups[1].workers[1].migrations'", "integer", "1e+300")
    refused('{"t":"exit","id":1.5}', "'id'", "integer", "1.5")
    refused('{"t":"exit","id":9223372036854775808}', "'id'", "integer")
    -- JSON has no NaN or Infinity: what is refused still names the message and the field
    refused('{"t":"exit","id":1,"code":NaN}', "message 'exit': field 'code': not JSON")
    refused('{"t":"phase","label":"a","at_s":Infinity,"guest_now":1}',
      "message 'phase': field 'at_s': not JSON")
    refused('{"t":"result","id":1,"result":{"cgroups":[{"name":"a","workers":[{"pid":1,' ..
      '"migrations":NaN}]}]}}', "message 'result': field 'migrations': not JSON")
    assert.are.equal("message 'exit': field 'id' must be an integer, not 3.5",
      refused('{"t":"exit","id":3.5}'))
    -- a number where a table goes reads as the guest wrote it
    assert.are.equal("message 'result': field 'result.cgroups' must be a table, not 5",
      refused('{"t":"result","id":1,"result":{"cgroups":5}}'))
    refused('{"t":"phase","label":"a","at_s":1e400,"guest_now":1}', "'phase'", "'at_s'", "finite")
    -- an undeclared field holds no NaN either
    refused('{"t":"error","msg":"x","extra":[1,-1e999]}', "'error'", "'extra[2]'", "finite")
  end)

  it("refuses an unknown type, a frame with no type, and what is not a JSON object", function()
    refused('{"t":"launch_missiles"}', "unknown message type", "launch_missiles")
    refused('{"id":1}', "without a type")
    refused('{"t":5}', "without a type")
    refused("x{", "not JSON")
    refused("", "not JSON")
    refused("[1,2]", "without a type")
    refused("5", "JSON object")
    refused("null", "JSON object")
    assert.is_nil((protocol.decode(nil)))
  end)

  it("refuses a cgroup's cpus that are not a cpulist, as the checks would trip on it", function()
    refused(json_with("result", function(m) m.result.cgroups[1].cpus = "garbage" end),
      "message 'result': field 'result.cgroups[1].cpus' is refused: bad cpulist 'garbage'")
    refused(json_with("result", function(m) m.result.cgroups[1].cpus = "0-99999999" end),
      "'result.cgroups[1].cpus'", "must be below")
    assert.is_table(protocol.decode(json_with("result", function(m)
      m.result.cgroups[1].cpus = "0-1,3" end)))
  end)

  it("refuses values a field's enum does not list", function()
    refused(json_with("result", function(m) m.result.fault.kind = "gremlins" end),
      "'result.fault.kind'", "gremlins")
    refused(json_with("result", function(m) m.result.verdict.status = "great" end),
      "'result.verdict.status'")
    refused(json_with("result", function(m) m.result.sched.failure.kind = 5 end),
      "'result.sched.failure.kind'")
  end)

  it("raises at the caller on encoding a message of the wrong shape", function()
    local ok, err = pcall(function() protocol.encode({ t = "exit", code = 0 }) end)
    assert.is_false(ok)
    assert.matches("protocol_spec.lua:%d+: protocol.encode: message 'exit': field 'id'", err)
    assert.has_error(function() protocol.encode({ t = "nope" }) end)
    assert.has_error(function() protocol.encode("ready") end)
    local fine, why = protocol.check({ t = "out", id = 1, fd = "stdout" })
    assert.is_nil(fine)
    assert.matches("'data' is missing", why)
  end)

  it("decodes QMP's JSON without raising", function()
    assert.are.same({ ["return"] = {} }, protocol.json('{"return": {}}'))
    local v, err = protocol.json("{")
    assert.is_nil(v)
    assert.matches("not JSON", err)
  end)
end)

describe("failure kinds and exit codes (ktstr.fault)", function()
  it("gives every kind a status with an exit code", function()
    for _, list in ipairs({ fault.KINDS, fault.RUN }) do
      for kind, k in pairs(list) do
        assert.is_number(fault.EXIT[k.status], kind)
        assert.are.equal(k.status, fault.status(kind))
      end
    end
    assert.has_error(function() fault.status("gremlins") end)
    assert.has_error(function() fault.failure("gremlins", "x") end)
    assert.are.same({ kind = "setup", msg = "x" }, fault.failure("setup", "x"))
  end)

  it("is the table the runner's exit code comes from, the worst status first", function()
    local function counts(t)
      local c = { passed = 0, failed = 0, skipped = 0, inconclusive = 0, errors = 0 }
      for k, v in pairs(t) do c[k] = v end
      return c
    end
    assert.are.equal(fault.EXIT.pass, runner.exit_code(counts({ passed = 2 })))
    assert.are.equal(fault.EXIT.skip, runner.exit_code(counts({ skipped = 1 })))
    assert.are.equal(fault.EXIT.fail, runner.exit_code(counts({ failed = 1 })))
    assert.are.equal(fault.EXIT.error, runner.exit_code(counts({ errors = 1 })))
    assert.are.equal(fault.EXIT.inconclusive, runner.exit_code(counts({ inconclusive = 1 })))
    -- a failure of the scheduler is what CI must see
    assert.are.equal(fault.EXIT.fail, runner.exit_code(counts({ failed = 1, errors = 3 })))
  end)

  it("maps a one-guest command's failure to 2 for bad input, 130 for an interrupt, else 1", function()
    assert.are.equal(2, fault.exit_code("bad_input"))
    assert.are.equal(130, fault.exit_code("interrupted"))
    for _, kind in ipairs({ "panic", "boot", "boot_timeout", "qemu_exit", "timeout", "channel",
      "protocol", "agent", "setup", "gone", "dead" }) do
      assert.are.equal(1, fault.exit_code(kind), kind)
    end
  end)

  -- a regression guard on the source: the kinds are listed once and mapped once
  local function sources()
    local out = {}
    local p = assert(io.popen("find lua/ktstr -name '*.lua'"))
    for path in p:lines() do
      local f = assert(io.open(path))
      out[path] = f:read("a")
      f:close()
    end
    p:close()
    return out
  end

  it("lists every failure kind the host and guest code compare or make", function()
    local known = {}
    for _, list in ipairs({ fault.KINDS, fault.RUN, fault.SCHED }) do
      for k in pairs(list) do known[k] = true end
    end
    local seen = 0
    for path, src in pairs(sources()) do
      for _, var in ipairs({ "f", "err", "e", "v", "rerr" }) do
        for kind in src:gmatch("%f[%w_]" .. var .. "%.kind [=~]= \"([%w_]+)\"") do
          seen = seen + 1
          assert.is_true(known[kind], ("%s: kind '%s' is not listed in ktstr.fault"):format(path,
            kind))
        end
      end
      for kind in src:gmatch("kind = \"([%w_]+)\"") do
        -- steps, cpusets and BTF types have kinds of their own
        if not (path:match("/step%.lua$") or path:match("/cpuset%.lua$") or
            path:match("/btfrender%.lua$")) then
          seen = seen + 1
          assert.is_true(known[kind], ("%s: kind '%s' is not listed in ktstr.fault"):format(path,
            kind))
        end
      end
    end
    assert.is_true(seen > 10)
  end)

  it("has no exit code for a failure kind spelled out anywhere but ktstr.fault", function()
    for path, src in pairs(sources()) do
      if not path:match("fault%.lua$") then
        assert.is_nil(src:match("kind == \"[%w_]+\" and %d"), path)
        assert.is_nil(src:match("return 130"), path)
      end
    end
  end)
end)
