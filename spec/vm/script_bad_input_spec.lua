-- ktstr script on bad input: each mistake names the script's line, exits 2, boots nothing.
local run = require("support.run")

local DIR = "spec/vm/scripts/"

-- Runs ktstr script on files; expects exit 2, nothing on stdout, one stderr line.
local function rejects(files, extra)
  local args = { "script" }
  for _, f in ipairs(files) do args[#args + 1] = DIR .. f end
  table.move(extra or {}, 1, #(extra or {}), #args + 1, args)
  local code, out, err = run.ktstr(args)
  assert.are.equal(2, code, out .. err)
  assert.are.equal("", out)
  return err
end

describe("ktstr script on bad input #vm", function()
  after_each(run.assert_no_leftovers)

  it("names the file and line of a syntax error", function()
    assert.matches("^ktstr script: spec/vm/scripts/syntax_error%.lua:6: '}' expected " ..
      "%(to close '{' at line 4%) near 'duration_s'\n$", rejects({ "syntax_error.lua" }))
  end)

  it("names the file and line of a Lua error while the script loads", function()
    assert.matches("^ktstr script: spec/vm/scripts/load_error%.lua:6: attempt to perform " ..
      "arithmetic on a nil value %(global 'base_duration'%)\n$", rejects({ "load_error.lua" }))
  end)

  it("names the method and the value of a wrong type", function()
    assert.are.equal("ktstr script: spec/vm/scripts/wrong_type.lua:7: cgroup 'spin': " ..
      "workers: expected an integer in 0..4096, got 'two'\n", rejects({ "wrong_type.lua" }))
  end)

  it("names both places of a duplicate test name in one file", function()
    assert.are.equal("ktstr script: spec/vm/scripts/duplicate_names.lua:6: ktstr.test: " ..
      "duplicate test name 'twice' (first declared at spec/vm/scripts/duplicate_names.lua:4)\n",
      rejects({ "duplicate_names.lua" }))
  end)

  it("names both places of a duplicate test name across two files", function()
    assert.are.equal("ktstr script: spec/vm/scripts/duplicate_second.lua:4: ktstr.test: " ..
      "duplicate test name 'in_two_files' (first declared at " ..
      "spec/vm/scripts/duplicate_first.lua:4)\n",
      rejects({ "duplicate_first.lua", "duplicate_second.lua" }))
  end)

  it("says why the topology cannot satisfy a cpuset, at the cgroup's line", function()
    assert.are.equal("ktstr script: spec/vm/scripts/cpuset_unsat.lua:9: cgroup " ..
      "'background_spinner': cpuset: llc(2) out of range: the topology has 2 LLCs (0-1)\n",
      rejects({ "cpuset_unsat.lua" }))
  end)

  it("rejects a filter that matches no test", function()
    assert.are.equal("ktstr script: --filter 'no_such_test' matches no test in " ..
      "spec/vm/scripts/verdicts.lua\n", rejects({ "verdicts.lua" }, { "--filter", "no_such_test" }))
  end)

  it("calls a run body that raises in the guest bad input, naming the script's host path and line",
    function()
    local code, out, err = run.ktstr({ "script", DIR .. "run_error.lua" })
    assert.are.equal(2, code, out .. err)
    local cause = "spec/vm/scripts/run_error.lua:9: attempt to index a nil value (local 'missing')"
    -- root cause on the first line; the detail keeps a traceback of the script's frames only
    assert.are.equal("ERROR run_raises [sched=eevdf] [topo=1n1l2c1t]: " .. cause .. "\n" ..
      "  script: " .. cause .. "\n" ..
      "stack traceback:\n" ..
      "\tspec/vm/scripts/run_error.lua:9: in field 'run'\n",
      out:match("^.-\n[^\n]*\n[^\n]*\n[^\n]*\n"))
    -- a script error is not the scheduler's: no stats, monitor or console
    assert.is_nil(out:find("--- ", 1, true))
    assert.matches("\n0 passed, 0 failed, 1 error %(bad input%)\n$", out)
  end)

  it("never passes a run body without a verdict, an error of any type or os.exit; the other " ..
    "tests still run", function()
    local code, out, err = run.ktstr({ "script", DIR .. "honest.lua" })
    assert.are.equal(2, code, out .. err)
    local H = "spec/vm/scripts/honest.lua:"
    local want = {
      "ERROR returns_nothing [sched=eevdf] [topo=1n1l2c1t]: " .. H .. "9: run(ctx) returned " ..
        "nothing; it must return a verdict",
      "ERROR raises_a_table [sched=eevdf] [topo=1n1l2c1t]: " .. H .. "18: error raised with a " ..
        "table value: { code = 1 }",
      "ERROR llc_that_is_not_there [sched=eevdf] [topo=1n1l2c1t]: " .. H .. "4: cgroup 'spin': " ..
        "cpuset: llc(3) out of range: the topology has 1 LLC",
      "ERROR exits_in_run [sched=eevdf] [topo=1n1l2c1t]: " .. H .. "34: os.exit(0) called",
      "ERROR exits_in_post_vm [sched=eevdf] [topo=1n1l2c1t]: " .. H .. "43: os.exit(0) called",
      "PASS still_runs [sched=eevdf] [topo=1n1l2c1t]",
    }
    for _, line in ipairs(want) do assert.is_truthy(out:find("\n" .. line, 1, true) or
      out:find("^" .. line:gsub("%p", "%%%0")), line .. "\n---\n" .. out) end
    assert.matches("\n1 passed, 0 failed, 5 errors %(bad input%)\n$", out)
  end)

  it("calls os.exit while a script loads bad input, before any boot", function()
    assert.are.equal("ktstr script: spec/vm/scripts/exits_at_load.lua:5: os.exit(0) called: a test " ..
      "script cannot end ktstr; return a verdict or raise an error\n", rejects({ "exits_at_load.lua" }))
  end)

  it("refuses a precompiled Lua file", function()
    local core = require("ktstr.core")
    local dir = assert(core.mkdtemp("/tmp/ktstr-bc-"))
    local f = assert(io.open(dir .. "/t.lua", "wb"))
    f:write(string.dump(assert(loadfile(DIR .. "exits_at_load.lua"))))
    f:close()
    local code, out, err = run.ktstr({ "script", dir .. "/t.lua" })
    core.rm_rf(dir)
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.are.equal(("ktstr script: %s/t.lua: precompiled Lua is not a test script (ktstr loads " ..
      "scripts as text)\n"):format(dir), err)
  end)

  it("refuses what the guest would refuse while the script loads, naming its line", function()
    local core = require("ktstr.core")
    local dir = assert(core.mkdtemp("/tmp/ktstr-lim-"))
    local f = assert(io.open(dir .. "/t.lua", "w"))
    f:write('local ktstr = require("ktstr")\nktstr.test{ name = "t", duration_s = 1e12 }\n')
    f:close()
    local t0 = core.now()
    local code, out, err = run.ktstr({ "script", dir .. "/t.lua" })
    core.rm_rf(dir)
    assert.are.equal(2, code, out .. err)
    assert.are.equal(("ktstr script: %s/t.lua:2: ktstr.test 't': duration_s: bad duration " ..
      "1000000000000.0: longer than a day (86400 s)\n"):format(dir), err)
    assert.is_true(core.now() - t0 < 1.5)  -- nothing booted
  end)

  it("takes Ctrl-C in a post_vm that loops as an interruption: exit 130, no record", function()
    local core = require("ktstr.core")
    local dir = assert(core.mkdtemp("/tmp/ktstr-int-"))
    local q = run.sh_quote(dir)
    local cmd = table.concat({
      "export KTSTR_RUN_DIR=" .. q .. "/run KTSTR_SIDECAR_DIR=" .. q .. "/side",
      "KTSTR_SPEC_MARK=" .. q .. "/mark; mkdir -p " .. q .. "/run;",
      run.sh_quote(run.exe), "script", DIR .. "post_vm_loop.lua >" .. q .. "/out 2>&1 & pid=$!;",
      "i=0; while [ ! -e " .. q .. "/mark ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done;",
      "sleep 0.3; kill -INT $pid; wait $pid; echo $?" }, " ")
    local rc = run.sh(cmd)
    local out = io.open(dir .. "/out"):read("a")
    local side = run.sh("find " .. dir .. "/side -name '*.json' 2>/dev/null")
    local procs, dirs = run.leftovers_in(dir .. "/run")
    core.rm_rf(dir)
    assert.are.equal("130\n", rc, out)
    assert.is_nil(out:find("FAIL", 1, true), out)
    assert.are.equal("", side)
    assert.are.equal("", procs)
    assert.are.equal("", dirs)
  end)
end)
