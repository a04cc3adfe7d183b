-- The corpus of real schedulers (make scx): a constraint's skip, and a real verifier rejection.
-- tests/corpus.lua itself passes through tutorial_spec.lua, as every script in tests/ does.
local run = require("support.run")

local SKIP = "spec/vm/scripts/corpus_skip.lua"
local QMAP = "spec/vm/scripts/corpus_qmap.lua"

-- The lines between "--- NAME ---" and the next section.
local function section(out, name)
  local body = out:match("\n%-%-%- " .. name .. " %-%-%-\n(.-)\n%-%-%- ")
  return body or out:match("\n%-%-%- " .. name .. " %-%-%-\n(.-)\nreplay: ")
end

describe("the scheduler corpus #vm", function()
  after_each(run.assert_no_leftovers)

  it("skips scx_pair on three CPUs, naming its constraint, without booting a guest", function()
    local t0 = require("ktstr.core").now()
    local code, out, err = run.ktstr({ "script", SKIP })
    assert.are.equal(0, code, out .. err)
    local why = "scheduler 'scx_pair' needs a multiple of 2 CPUs (cpus_multiple_of), " ..
      "the guest has 3"
    assert.are.equal("SKIP pair_on_three_cpus [sched=scx_pair] [topo=1n1l3c1t]: " .. why .. "\n" ..
      "  constraints: " .. why .. "\n" ..
      "replay: ktstr script " .. SKIP .. " --filter pair_on_three_cpus\n" ..
      "0 passed, 0 failed, 1 skipped\n", out)
    assert.is_true(require("ktstr.core").now() - t0 < 2, "a skip boots nothing")
  end)

  it("leaves the presets with an odd CPU count out of scx_pair's gauntlet", function()
    local code, out, err = run.ktstr({ "script", "tests/corpus.lua", "--filter", "scx_pair",
      "--gauntlet", "--max-cpus", "16", "--list", "-v" })
    assert.are.equal(0, code, err)
    assert.matches("gauntlet/corpus_scx_pair/9cpu%-3llc%-nosmt left out: scheduler 'scx_pair' " ..
      "needs a multiple of 2 CPUs %(cpus_multiple_of%), the guest has 9\n", err)
    assert.matches("gauntlet/corpus_scx_pair/15cpu%-5llc%-nosmt left out: ", err)
    assert.matches("\ngauntlet/corpus_scx_pair/8cpu%-2llc%-smt  scx_pair  1n2l2c2t  4s\n", out)
    assert.is_nil(out:find("9cpu", 1, true))
  end)

  it("fails scx_qmap, which the 7.3 verifier rejects, naming the program and its line first",
    function()
    local code, out, err = run.ktstr({ "script", QMAP })
    assert.are.equal(1, code, out .. err)
    -- the first line names the program, the source line, the statement and the complaint
    assert.matches("^BUG SUMMARY: scheduler 'scx_qmap' failed to load: the verifier rejected " ..
      "qmap_dequeue at scx_qmap%.bpf%.c:336 %(taskc%->q_prev = NULL;%): R7 invalid mem access " ..
      "'scalar' %[Register Type Safety: Invalid dereference%]; exited with status %d+ before it " ..
      "was enabled\n", out)
    assert.matches("\nFAIL qmap_rejected %[sched=scx_qmap%] %[topo=1n2l2c1t%]: ", "\n" .. out)
    local log = section(out, "scheduler log")
    assert.is_truthy(log, out)
    assert.matches("qmap_dequeue", log, 1, true)
    assert.matches("libbpf: prog 'qmap_dequeue': failed to load", log, 1, true)
    assert.matches("\n0 passed, 1 failed\n$", out)
  end)
end)
