-- Booting guests: the topology the guest sees, exit status, panics, cleanup.
local core = require("ktstr.core")
local run = require("support.run")

local function vm(topo, script)
  return run.ktstr({ "vm", "--topo", topo, "--", "sh", "-c", script })
end

local function joined(out)
  return (out:gsub("%s+$", ""):gsub("\n", ","))
end

describe("ktstr vm #vm", function()
  after_each(run.assert_no_leftovers)

  it("gives 1n2l2c1t two LLCs of two CPUs each", function()
    local code, out, err = vm("1n2l2c1t",
      "for c in 0 1 2 3; do cat /sys/devices/system/cpu/cpu$c/cache/index3/shared_cpu_list; done")
    assert.are.equal(0, code, err)
    assert.are.equal("0-1,0-1,2-3,2-3", joined(out))
  end)

  it("gives 2n2l2c1t two NUMA nodes with CPUs 0-1 and 2-3", function()
    local code, out, err = vm("2n2l2c1t",
      "cat /sys/devices/system/node/node0/cpulist /sys/devices/system/node/node1/cpulist; " ..
      "ls -d /sys/devices/system/node/node* | wc -l")
    assert.are.equal(0, code, err)
    assert.are.equal("0-1,2-3,2", joined(out))
  end)

  it("gives 1n1l2c2t SMT sibling pairs", function()
    local code, out, err = vm("1n1l2c2t",
      "for c in 0 1 2 3; do cat /sys/devices/system/cpu/cpu$c/topology/thread_siblings_list; done")
    assert.are.equal(0, code, err)
    assert.are.equal("0-1,0-1,2-3,2-3", joined(out))
  end)

  it("exits with the guest command's status and streams both outputs", function()
    local code, out, err = vm("1n1l2c1t", "echo to-out; echo to-err >&2; exit 7")
    assert.are.equal(7, code)
    assert.are.equal("to-out\n", out)
    assert.matches("to%-err", err)
  end)

  it("runs a dynamically linked binary from the packed library closure", function()
    local code, out, err = run.ktstr({ "vm", "--", "ktstr", "lua", "-e",
      "print(require('cjson').encode({ok = true}), require('ktstr.core').uname().release)" })
    assert.are.equal(0, code, err)
    assert.matches('^{"ok":true}\t7%.3', out)
  end)

  it("reports a guest kernel panic, exits non-zero and leaves no QEMU", function()
    local code, out, err = vm("1n1l2c1t", "echo c > /proc/sysrq-trigger; sleep 30")
    assert.are_not.equal(0, code)
    assert.are.equal("", out)
    assert.matches("guest kernel panic", err)
    assert.matches("sysrq", err)
  end)

  it("stops the guest and cleans up when interrupted with SIGINT", function()
    local base = assert(core.mkdtemp("/tmp/ktstr-spec-"))
    local p = assert(core.spawn({ "env", "KTSTR_RUN_DIR=" .. base, run.exe, "vm", "--",
      "sleep", "60" }, { new_pgrp = false }))
    core.sleep(2)
    p:kill(2)
    local st = assert(p:wait(30))
    p:close()
    local procs, dirs = run.leftovers_in(base)
    core.rm_rf(base)
    assert.are.equal(130, st.code)
    assert.are.equal("", procs)
    assert.are.equal("", dirs)
  end)

  it("names the fix when the kernel is missing, with exit code 2", function()
    local code, _, err = run.ktstr({ "vm", "--kernel", "6.99", "--", "true" })
    assert.are.equal(2, code)
    assert.matches("run: ktstr kernel fetch 6.99", err, 1, true)
  end)

  it("rejects an invalid topology naming the field, with exit code 2", function()
    local code, _, err = run.ktstr({ "vm", "--topo", "2n3l2c1t", "--", "true" })
    assert.are.equal(2, code)
    assert.matches("llcs (3) must be a multiple of numa_nodes (2)", err, 1, true)
  end)

  it("says QEMU is missing when it cannot be run", function()
    local code, _, err = run.ktstr({ "vm", "--", "true" },
      { KTSTR_QEMU = "/nonexistent/qemu-system-x86_64", KTSTR_ACCEL = "tcg" })
    assert.are.equal(1, code)
    assert.matches("/nonexistent/qemu%-system%-x86_64: No such file or directory", err)
    assert.matches("make deps", err, 1, true)
  end)
end)
