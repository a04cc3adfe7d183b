-- A guest that lies (spec/support/fake_qemu.c as KTSTR_QEMU): each malformed message is one
-- inconclusive line, never a traceback; a flood is cut; its text reaches the terminal escaped.
local cjson = require("cjson")
local core = require("ktstr.core")
local run = require("support.run")

local FAKE = run.exe:match("^(.*)/") .. "/fake-qemu"
local ROOT = run.exe:match("^(.*/)build/[^/]+$") or "./"

local READY = cjson.encode({ t = "ready", facts = { release = "7.3.4+deb13-amd64",
  cpus = { { cpu = 0 }, { cpu = 1 } }, nodes = { "0-1" } } })
local HONEST = '{"t":"result","id":1,"result":{"duration_s":1,' ..
  '"verdict":{"status":"pass","details":[]}}}'

-- One worker's report as the guest makes it; over overrides fields.
local function worker(over)
  local w = { index = 0, group = 0, member = 0, pid = 7, work = "spin_wait", state = "done",
    work_units = 100, iterations = 100, wall_ns = 1000000000, cpu_ns = 900000000,
    run_delay_ns = 1000, vcsw = 1, ivcsw = 1, max_gap_ns = 1000, max_gap_cpu = 0,
    max_gap_at_ns = 0, start_s = 0.5, migrations = 0, cpus = { 0 } }
  for k, v in pairs(over or {}) do w[k] = v end
  return w
end

-- The fake's directive that sends a result frame with this result table (or raw JSON text).
local function result(r)
  return ('send {"t":"result","id":1,"result":%s}'):format(type(r) == "string" and r or
    cjson.encode(r))
end

--[[
Runs spec/vm/scripts/hostile.lua against the fake guest: its first boot
plays lie (directive lines after a well-formed ready, or before it when
boot_lie is set), every later boot answers honestly. With repl_input, runs
`ktstr repl` on that input instead. Returns exit code, stdout, stderr.
]]
local function play(lie, boot_lie, repl_input)
  local dir <close> = setmetatable({ path = assert(core.mkdtemp("/tmp/ktstr-hostile-")) },
    { __close = function(d) core.rm_rf(d.path) end })
  local scenario = dir.path .. "/scenario"
  local lines = { "boot 1" }
  if not boot_lie then
    lines[#lines + 1] = "send " .. READY
    lines[#lines + 1] = "expect run_test"
  end
  for _, l in ipairs(type(lie) == "table" and lie or { lie }) do lines[#lines + 1] = l end
  table.move({ "boot *", "send " .. READY, "expect run_test", "send " .. HONEST }, 1, 4,
    #lines + 1, lines)
  local f = assert(io.open(scenario, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
  local code, out, err = run.ktstr(repl_input and { "repl" } or
    { "script", "spec/vm/scripts/hostile.lua" },
    -- the fake plays a boot: it cannot save or restore a guest
    { KTSTR_QEMU = FAKE, KTSTR_FAKE_GUEST = scenario, KTSTR_ACCEL = "tcg",
      KTSTR_NO_RESTORE = "1" }, repl_input)
  return code, out, err
end

-- The lie made the first test inconclusive with one line naming it, and the second still ran.
local function inconclusive(lie, want, boot_lie)
  local code, out, err = play(lie, boot_lie)
  local all = out .. err
  assert.is_nil(all:find("traceback", 1, true), all)
  assert.are.equal(2, code, all)
  local first = out:match("^[^\n]*")
  assert.are.equal("INCONCLUSIVE lied_to [sched=eevdf] [topo=1n1l2c1t]: " .. want, first, all)
  assert.matches("\nPASS told_the_truth ", out, 1, true)
  assert.matches("\n1 passed, 0 failed, 1 inconclusive\n$", out)
  return out, err
end

local MALFORMED = "malformed message from guest: "

describe("a guest that lies #vm", function()
  after_each(run.assert_no_leftovers)

  it("a failure of ktstr's own on the host costs its test only: inconclusive, the next runs",
    function()
      -- a copy of the Lua tree whose judging raises for the first test: a planted bug of ours
      local dir = assert(core.mkdtemp("/tmp/ktstr-hostile-lua-"))
      local lua_dir = ROOT .. "lua"
      run.sh(("cp -r %s %s/lua"):format(run.sh_quote(lua_dir), dir))
      local path = dir .. "/lua/ktstr/host/checks.lua"
      local f = assert(io.open(path))
      local src = f:read("a")
      f:close()
      src = src:gsub("\nfunction M%.evaluate%(test, result%)\n", "%0" ..
        "  if test.name == 'lied_to' then error('planted ktstr bug') end\n", 1)
      f = assert(io.open(path, "w"))
      f:write(src)
      f:close()
      local scenario = dir .. "/scenario"
      f = assert(io.open(scenario, "w"))
      f:write(table.concat({ "boot *", "send " .. READY, "expect run_test", "send " .. HONEST },
        "\n"), "\n")
      f:close()
      local code, out, err = run.ktstr({ "script", "spec/vm/scripts/hostile.lua" },
        { KTSTR_QEMU = FAKE, KTSTR_FAKE_GUEST = scenario, KTSTR_ACCEL = "tcg",
          KTSTR_LUA_DIR = dir .. "/lua", KTSTR_NO_RESTORE = "1" })
      core.rm_rf(dir)
      assert.are.equal(2, code, out .. err)
      assert.matches("^INCONCLUSIVE lied_to: ktstr failed on the host: [^\n]*checks%.lua:%d+: " ..
        "planted ktstr bug\nPASS told_the_truth [^\n]*\n" ..
        -- the fake guest reports no symbols: the pass says the host did not watch it
        "monitor off: no kernel symbols from the guest\n1 passed, 0 failed, 1 inconclusive\n$", out)
      assert.matches("ktstr script: lied_to: [^\n]*planted ktstr bug\nstack traceback:", err)
    end)

  it("is answered honestly by the fake, and the honest guest passes", function()
    local code, out = play("send " .. HONEST)
    assert.are.equal(0, code, out)
    assert.matches("^PASS lied_to .*\nPASS told_the_truth .*\n2 passed, 0 failed\n$", out)
  end)

  it("sends ready without its facts", function()
    inconclusive('send {"t":"ready"}', MALFORMED .. "message 'ready': field 'facts' is missing",
      true)
  end)

  it("sends a result that is a string, a number or null", function()
    inconclusive(result('"x"'), MALFORMED ..
      "message 'result': field 'result' must be a table, not \"x\"")
    inconclusive(result("5"), MALFORMED .. "message 'result': field 'result' must be a table, not 5")
    inconclusive(result("null"), MALFORMED .. "message 'result': field 'result' is missing")
  end)

  it("sends cgroups: 5, a worker's exit: 3, a cpuset that is no cpulist", function()
    inconclusive(result({ cgroups = 5 }), MALFORMED ..
      "message 'result': field 'result.cgroups' must be a table, not 5")
    inconclusive(result({ cgroups = { { name = "a", workers = { worker({ exit = 3 }) } } } }),
      MALFORMED .. "message 'result': field 'result.cgroups[1].workers[1].exit' must be a " ..
      "table, not 3")
    inconclusive(result({ cgroups = { { name = "a", cpus = "all of them",
      workers = { worker() } } } }), MALFORMED .. "message 'result': field " ..
      "'result.cgroups[1].cpus' is refused: bad cpulist 'all of them': expected CPU numbers and " ..
      "ranges like \"0-1,4\"")
  end)

  it("sends migrations: 1e300 and NaN", function()
    inconclusive(result({ cgroups = { { name = "a", workers = { worker({ migrations = 1e300 }) } } } }),
      MALFORMED .. "message 'result': field 'result.cgroups[1].workers[1].migrations' must be " ..
      "an integer, not 1e+300")
    -- JSON has no NaN: the frame is written by hand
    local raw = result({ cgroups = { { name = "a", workers = { worker({ migrations = 12345 }) } } } })
      :gsub("12345", "NaN")
    inconclusive(raw, MALFORMED .. "message 'result': field 'migrations': not JSON: " ..
      "Expected value but found invalid token at character " .. raw:find("NaN") - #"send ")
  end)

  it("sends a verdict with no details, and an unknown status", function()
    inconclusive(result({ verdict = { status = "fail" } }), MALFORMED ..
      "message 'result': field 'result.verdict.details' is missing")
    inconclusive(result({ verdict = { status = "great", details = {} } }), MALFORMED ..
      "message 'result': field 'result.verdict.status' has an unknown value \"great\"")
    inconclusive(result('{"verdict":{"status":"fail","details":[{"status":"meh","msg":"m"}]}}'),
      MALFORMED .. "message 'result': field 'result.verdict.details[1].status' has an unknown " ..
      "value \"meh\"")
  end)

  it("sends sched.failure: 5", function()
    inconclusive(result({ sched = { name = "s", failure = 5 } }), MALFORMED ..
      "message 'result': field 'result.sched.failure' must be a table, not 5")
  end)

  it("sends guest_now: \"x\", where it is declared and where it is not", function()
    inconclusive('send {"t":"phase","label":"x","at_s":1,"guest_now":"x"}', MALFORMED ..
      "message 'phase': field 'guest_now' must be a number, not \"x\"")
    -- undeclared on an error message: not the observer's to read
    local code, out = play({ 'send {"t":"error","msg":"m","guest_now":"x"}', "send " .. HONEST })
    assert.are.equal(0, code, out)
  end)

  it("sends a message only the host sends, and a broken frame", function()
    inconclusive('send {"t":"poweroff"}', "the guest sent 'poweroff', a message only the host sends")
    inconclusive("raw 4b54463105000000deadbeef68656c6c6f",
      "malformed frame from guest: frame checksum efbeadde, computed 3610a686 (5 bytes)")
  end)

  it("floods phase and snapshot frames: cut at their bounds, in bounded time", function()
    local t0 = core.now()
    inconclusive('repeat 1000000 {"t":"phase","label":"flood","at_s":1,"guest_now":1}',
      "the guest sent more than 10000 phase frames in one test")
    assert.is_true(core.now() - t0 < 20, "a flood took " .. (core.now() - t0) .. "s")
    -- each snapshot pauses the guest and keeps the maps: fewer of them
    inconclusive('repeat 2000 {"t":"snapshot","call":1,"name":"s","at_s":1}',
      "the guest sent more than 1000 snapshot frames in one test")
  end)

  it("writes escape sequences and \\xff: they arrive escaped, newlines and tabs kept", function()
    local evil = "\27]0;pwned\7 \27[2J\255"
    local code, out = play({ "console boot " .. evil .. " done",
      result({ verdict = { status = "fail", details = { { check = "custom", status = "fail",
        msg = "evil " .. evil } } }, sched = { name = "s", log = "log\tline " .. evil ..
        "\nnext" } }) })
    assert.are.equal(1, code, out)
    assert.is_nil(out:find("[\27\7\255]"), out)
    local esc = "\\x1b]0;pwned\\x07 \\x1b[2J\\xff"
    assert.are.equal("FAIL lied_to [sched=eevdf] [topo=1n1l2c1t]: evil " .. esc,
      out:match("^[^\n]*"))
    assert.truthy(out:find("\n--- scheduler log ---\nlog\tline " .. esc .. "\nnext\n", 1, true),
      out)
    assert.truthy(out:find("\nboot " .. esc .. " done\n", 1, true), out)
  end)

  it("writes escape sequences and \\xff to the REPL: its output, results and errors arrive escaped", function()
    local evil = "\27]0;pwned\7 \27[2J\255"
    local function frame(m) return "send " .. cjson.encode(m) end
    local code, out, err = play({ "send " .. READY, "expect repl", frame({ t = "repl_ready", note = "note " .. evil }),
      "expect repl_eval", frame({ t = "repl_out", id = 1, fd = "stdout", data = "out\t" .. evil .. "\n" }),
      frame({ t = "repl_result", id = 1, ok = true, text = "text " .. evil }),
      "expect repl_eval", frame({ t = "repl_result", id = 2, ok = false, err = "err " .. evil }) },
      true, "print(1)\nerror(2)\n")
    assert.are.equal(1, code, out .. err)  -- the second chunk failed
    local esc = "\\x1b]0;pwned\\x07 \\x1b[2J\\xff"
    assert.are.equal("out\t" .. esc .. "\ntext " .. esc .. "\n", out)
    assert.are.equal("ktstr repl: note " .. esc .. "\nerr " .. esc .. "\n", err)
  end)
end)
