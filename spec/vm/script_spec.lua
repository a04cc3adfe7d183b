-- ktstr script end to end: load on the host, run in a guest, judge, report, exit code.
local run = require("support.run")

describe("ktstr script #vm", function()
  after_each(run.assert_no_leftovers)

  it("fails a floor no spinner can reach, root cause first, and exits 1", function()
    local sidecars = assert(require("ktstr.core").mkdtemp("/tmp/ktstr-sidecar-"))
    local code, out, err = run.ktstr({ "script", "spec/vm/scripts/verdicts.lua", "--filter",
      "rate_floor", "-v" }, { KTSTR_SIDECAR_DIR = sidecars })
    -- the sidecar: one JSON record, named by test and variant
    local files = require("ktstr.core").list_files(sidecars, ".ktstr.json")
    assert.are.equal(1, #files, table.concat(files, " "))
    assert.matches("^rate_floor_unreachable%-%x+%.ktstr%.json$", files[1])
    local f = assert(io.open(sidecars .. "/" .. files[1]))
    local rec = require("cjson").decode(f:read("a"))
    f:close()
    require("ktstr.core").rm_rf(sidecars)
    assert.are.equal("rate_floor_unreachable", rec.test_name)
    assert.is_false(rec.passed)
    assert.are.equal("1n1l2c1t", rec.topology)
    assert.matches("^7%.", rec.kernel_version)
    assert.is_true(rec.monitor.samples > 0)
    assert.are.equal("min_work_rate", rec.details[1].check)
    assert.are.equal(1, code, out)
    -- a booted guest's stages, or a restored one's (copy, spawn, restore), or one booted to be
    -- saved (spawn, boot, save)
    local stages = err:match("ktstr script: rate_floor_unreachable: %a+ accel, boot: kernel " ..
      "[%d.]+s, initramfs [%d.]+s, (.-), ready [%d.]+s, ran [%d.]+s\n")
    assert.is_truthy(stages, err)
    local names = stages:gsub(" [%d.]+s", "")
    assert.is_truthy(names == "spawn" or names == "copy, spawn, restore" or
      names == "spawn, boot, save", err)
    local first = out:match("^[^\n]*")
    assert.matches("^FAIL rate_floor_unreachable %[sched=eevdf%] %[topo=1n1l2c1t%]: worker %d+ " ..
      "work rate [%d.]+/cpu%-s below floor 1000000000%.0/cpu%-s$", first)
    assert.matches("--- stats ---\n2 workers", out, 1, true)
    assert.matches("replay: ktstr script spec/vm/scripts/verdicts.lua --filter " ..
      "rate_floor_unreachable", out, 1, true)
  end)

  it("runs steps and ops from a run body and hands the result to post_vm", function()
    local code, out = run.ktstr({ "script", "spec/vm/scripts/verdicts.lua", "--filter",
      "run_body" })
    assert.are.equal(0, code, out)
    assert.matches("^PASS run_body_sees_workers", out)
  end)

  it("boots once more when the guest Oopses while booting, then calls the test inconclusive", function()
    -- TCG's transient: the kernel Oopses on its own and the guest dies before its agent is up
    local dir = assert(require("ktstr.core").mkdtemp("/tmp/ktstr-spec-oops-"))
    local qemu = dir .. "/qemu"
    local f = assert(io.open(qemu, "w"))
    f:write("#!/bin/sh\necho 'Oops: int3: 0000 [#1] PREEMPT SMP'\n",
      "echo 'Kernel panic - not syncing: Fatal exception in interrupt'\nexit 1\n")
    f:close()
    assert(os.execute("chmod +x " .. run.sh_quote(qemu)))
    local code, out, err = run.ktstr({ "script", "spec/vm/scripts/verdicts.lua", "--filter",
      "run_body" }, { KTSTR_QEMU = qemu })
    require("ktstr.core").rm_rf(dir)
    assert.are.equal(2, code, out .. err)
    local _, retries = err:gsub("while booting; booting again\n", "")
    assert.are.equal(1, retries, err)
    assert.matches("^INCONCLUSIVE run_body_sees_workers [^\n]*: the guest did not boot, twice: " ..
      "guest kernel panic: Kernel panic %- not syncing: Fatal exception in interrupt\n", out)
  end)

  it("boots once when QEMU itself fails, and calls the test inconclusive at once", function()
    -- a QEMU that exits at once, saying nothing: that does not go away by booting again
    local code, out, err = run.ktstr({ "script", "spec/vm/scripts/verdicts.lua", "--filter",
      "run_body" }, { KTSTR_QEMU = "/bin/false" })
    assert.are.equal(2, code, out .. err)
    assert.is_nil(err:find("booting again", 1, true), err)
    assert.matches("^INCONCLUSIVE run_body_sees_workers [^\n]*: guest stopped during boot " ..
      "%(QEMU exited%)\n", out)
  end)

  it("boots once more when QEMU crashes or the guest resets itself while booting", function()
    -- TCG's other transient: QEMU ends mid-boot with no message of its own
    local dir = assert(require("ktstr.core").mkdtemp("/tmp/ktstr-spec-qexit-"))
    for _, ending in ipairs({ "kill -SEGV $$", "exit 0" }) do
      local qemu = dir .. "/qemu"
      local f = assert(io.open(qemu, "w"))
      f:write("#!/bin/sh\necho '[    0.000000] Linux version 7.3.0'\n", ending, "\n")
      f:close()
      assert(os.execute("chmod +x " .. run.sh_quote(qemu)))
      local code, out, err = run.ktstr({ "script", "spec/vm/scripts/verdicts.lua", "--filter",
        "run_body" }, { KTSTR_QEMU = qemu })
      assert.are.equal(2, code, ending .. ": " .. out .. err)
      local _, retries = err:gsub("guest stopped during boot %(QEMU exited%) while booting; " ..
        "booting again\n", "")
      assert.are.equal(1, retries, ending .. ": " .. err)
      assert.matches("^INCONCLUSIVE run_body_sees_workers [^\n]*: the guest did not boot, twice: " ..
        "guest stopped during boot %(QEMU exited%)\n", out)
    end
    require("ktstr.core").rm_rf(dir)
  end)

  it("runs a test once per preset topology with --gauntlet", function()
    local code, out = run.ktstr({ "script", "tests/step3_two_cgroups.lua", "--gauntlet",
      "--max-cpus", "4" })
    assert.are.equal(0, code, out)
    assert.matches("^PASS gauntlet/step3_two_cgroups/4cpu%-1llc%-nosmt %[sched=eevdf%] %[topo=1n1l4c1t%]", out)
    assert.matches("\nPASS gauntlet/step3_two_cgroups/4cpu%-2llc%-nosmt %[sched=eevdf%] " ..
      "%[topo=1n2l2c1t%]", out)
    assert.matches("\n2 passed, 0 failed\n$", out)
  end)

  it("names the script's line for a bad key and exits 2 without booting", function()
    local code, out, err = run.ktstr({ "script", "spec/vm/scripts/broken.lua" })
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("spec/vm/scripts/broken.lua:4: ktstr.test: unknown key 'duraton_s' " ..
      "(did you mean 'duration_s'?)", err, 1, true)
  end)

  it("lists tests with their topology without booting", function()
    local code, out = run.ktstr({ "script", "spec/vm/scripts/verdicts.lua", "--list" })
    assert.are.equal(0, code)
    assert.are.equal("rate_floor_unreachable  eevdf  1n1l2c1t  2s\n" ..
      "run_body_sees_workers  eevdf  1n1l2c1t  2s\n", out)
  end)
end)
