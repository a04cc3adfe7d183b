-- ktstr script in CI: guests side by side (-j), JUnit and TAP, repeats, records that survive.
local cjson = require("cjson")
local core = require("ktstr.core")
local run = require("support.run")

local SCRIPT = "spec/vm/scripts/ci.lua"

local function records(dir)
  local out = {}
  for _, name in ipairs(core.list_files(dir, ".ktstr.json") or {}) do
    local f = assert(io.open(dir .. "/" .. name))
    out[name] = cjson.decode(f:read("a"))
    f:close()
  end
  return out
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("ktstr script for CI #vm", function()
  after_each(run.assert_no_leftovers)

  it("-j 2 runs a passing and a failing test at once: right verdicts, exit 1, JUnit", function()
    local dir = assert(core.mkdtemp("/tmp/ktstr-ci-"))
    local code, out, err = run.ktstr({ "script", SCRIPT, "-j", "2", "--junit", dir .. "/j.xml",
      "--tap" }, { KTSTR_SIDECAR_DIR = dir .. "/records" })
    assert.are.equal(1, code, out .. err)
    -- each test's report is printed whole, wherever the other one was
    assert.matches("\nPASS ci_passes %[sched=eevdf%] %[topo=1n1l1c1t%] %([%d.]+s%)\n", "\n" .. out)
    local fail = out:match("FAIL ci_fails[^\n]*\n.-replay: [^\n]*\n")
    assert.is_truthy(fail, out)
    assert.is_nil(fail:find("PASS ci_passes", 1, true))
    assert.matches("\n1 passed, 1 failed\n", out)
    -- TAP numbers the runs as they end
    assert.matches("\nnot ok [12] %- ci_fails # FAIL: planted failure\n", out)
    assert.matches("\nok [12] %- ci_passes\n", out)
    assert.matches("\n1%.%.2\n$", out)
    -- a standard XML parser reads the JUnit file
    local py = "import sys, xml.etree.ElementTree as E\n" ..
      "s = E.parse(sys.argv[1]).getroot().find('testsuite')\n" ..
      "print(s.get('tests'), s.get('failures'), s.get('errors'), " ..
      "sorted((c.get('name'), [x.tag for x in c]) for c in s))\n"
    local parsed, ok = run.sh("python3 -c " .. run.sh_quote(py) .. " " .. dir .. "/j.xml")
    assert.is_true(ok)
    assert.are.equal("2 1 0 [('ci_fails', ['failure', 'system-out']), " ..
      "('ci_passes', ['system-out'])]\n", parsed)
    -- both workers wrote their record into the one run
    local recs = records(dir .. "/records")
    assert.are.equal(2, count(recs))
    local ids = {}
    for _, r in pairs(recs) do ids[r.run_id] = true end
    assert.are.equal(1, count(ids))
    core.rm_rf(dir)
  end)

  it("-j: a test that crashes its guest disturbs none of the others", function()
    local code, out = run.ktstr({ "script", SCRIPT, "spec/vm/scripts/ci_panic.lua", "-j", "3",
      "--tap" })
    assert.are.equal(1, code, out)
    assert.matches("\nPASS ci_passes ", "\n" .. out)
    assert.matches("\nFAIL ci_fails [^\n]*: planted failure\n", "\n" .. out)
    assert.matches("\nFAIL ci_panics [^\n]*: [^\n]*panic", "\n" .. out)
    assert.matches("\n1 passed, 2 failed\n", out)
  end)

  it("--repeat gives each run its own record and case", function()
    local dir = assert(core.mkdtemp("/tmp/ktstr-ci-"))
    local code, out = run.ktstr({ "script", SCRIPT, "--exact", "ci_passes", "--repeat", "2",
      "--tap" }, { KTSTR_SIDECAR_DIR = dir })
    assert.are.equal(0, code, out)
    assert.matches("\nok 1 %- ci_passes#1\nok 2 %- ci_passes#2\n1%.%.2\n$", out)
    local recs = records(dir)
    assert.are.equal(2, count(recs))
    for name, r in pairs(recs) do
      assert.are.equal(tonumber(name:match("%-r(%d)%.ktstr%.json$")), r["repeat"])
      assert.are.equal(2, r.repeats)
    end
    core.rm_rf(dir)
  end)

  it("keeps the records of a run beside it, and replaces those of runs that ended", function()
    local dir = assert(core.mkdtemp("/tmp/ktstr-ci-"))
    local cmd = ("cd %s && for t in ci_passes ci_fails; do KTSTR_RUN_DIR=%s/run %s script %s " ..
      "--exact $t >/dev/null 2>&1 & done; wait"):format(dir, dir, run.sh_quote(run.exe),
      run.sh_quote(os.getenv("PWD") .. "/" .. SCRIPT))
    core.mkdir_p(dir .. "/run")
    run.sh(cmd)
    local res = dir .. "/ktstr-results"
    local runs = core.list_files(res, ".ktstr.json")
    -- two runs at once in one results directory: neither cleared the other
    assert.are.equal(2, #runs, table.concat(runs, " "))
    run.sh(("cd %s && KTSTR_RUN_DIR=%s/run %s script %s --exact ci_passes >/dev/null 2>&1")
      :format(dir, dir, run.sh_quote(run.exe), run.sh_quote(os.getenv("PWD") .. "/" .. SCRIPT)))
    -- a later run replaces what the ended ones wrote
    runs = core.list_files(res, ".ktstr.json")
    assert.are.equal(1, #runs, table.concat(runs, " "))
    assert.matches("ci_passes%-", runs[1])
    core.rm_rf(dir)
  end)
end)
