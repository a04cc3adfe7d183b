-- ktstr stats compare end to end: two clean runs agree; a scheduler that refuses to dispatch half
-- of every 100 ms passes every default gate, and compare catches it.
local core = require("ktstr.core")
local run = require("support.run")

local CLEAN, THROTTLED = "spec/vm/scripts/stats_clean.lua", "spec/vm/scripts/stats_throttled.lua"

describe("ktstr stats compare #vm", function()
  local dir
  setup(function() dir = assert(core.mkdtemp("/tmp/ktstr-stats-vm-")) end)
  teardown(function() core.rm_rf(dir) end)
  after_each(run.assert_no_leftovers)

  -- Runs a script into its own sidecar directory; every run must pass.
  local function pass(script, name)
    local code, out = run.script(script, "stats_pair", { KTSTR_SIDECAR_DIR = dir .. "/" .. name })
    assert.are.equal(0, code, out)
    assert.matches("^PASS stats_pair ", out)
    return dir .. "/" .. name
  end

  local function stats(...)
    local code, out, err = run.ktstr({ "stats", ... })
    return code, out .. err
  end

  it("does not flag two clean runs, and flags the throttled fixture that passes its runs", function()
    local c1, c2 = pass(CLEAN, "clean1"), pass(CLEAN, "clean2")
    local code, out = stats("compare", c1, c2)
    assert.are.equal(0, code, out)
    assert.matches("\nOK stats_pair: no significant regression", out)
    local t1, t2 = pass(THROTTLED, "throttled1"), pass(THROTTLED, "throttled2")
    code, out = stats("compare", "--base", c1, "--base", c2, "--new", t1, "--new", t2)
    assert.are.equal(1, code, out)
    assert.matches("\nREGRESSED stats_pair: [^\n]*spin: run delay %% %+[%d.]+%% %(p[=<][%d.]+%)",
      out)
    -- both runs of each side are in one directory: list sees four runs
    code, out = stats("list", dir)
    assert.are.equal(0, code, out)
    local _, n = out:gsub("\n" .. dir:gsub("%p", "%%%0") .. "/%a+%d", "")
    assert.are.equal(4, n, out)
  end)
end)
