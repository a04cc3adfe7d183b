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
      "workers: expected an integer >= 0, got 'two'\n", rejects({ "wrong_type.lua" }))
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

  it("fails a test whose run body raises in the guest, naming the script's host path and line",
    function()
    local code, out, err = run.ktstr({ "script", DIR .. "run_error.lua" })
    assert.are.equal(1, code, out .. err)
    local cause = "spec/vm/scripts/run_error.lua:9: attempt to index a nil value (local 'missing')"
    -- root cause on the first line; the detail keeps a traceback of the script's frames only
    assert.are.equal("FAIL run_raises [sched=eevdf] [topo=1n1l2c1t]: " .. cause .. "\n" ..
      "  guest: " .. cause .. "\n" ..
      "stack traceback:\n" ..
      "\tspec/vm/scripts/run_error.lua:9: in function <spec/vm/scripts/run_error.lua:7>\n",
      out:match("^.-\n[^\n]*\n[^\n]*\n[^\n]*\n"))
    assert.matches("\n0 passed, 1 failed\n$", out)
  end)
end)
