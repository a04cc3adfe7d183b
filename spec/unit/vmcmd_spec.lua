-- `ktstr vm` option parsing: what is accepted and how bad input is named.
local vmcmd = require("ktstr.host.vmcmd")
local vm = require("ktstr.host.vm")

describe("ktstr vm options", function()
  local saved
  -- luacheck: push ignore 122 (io.stderr is swapped so the usage text stays quiet)
  before_each(function()
    saved = io.stderr
    io.stderr = assert(io.open("/dev/null", "w"))
  end)
  after_each(function()
    io.stderr:close()
    io.stderr = saved
  end)
  -- luacheck: pop

  it("takes options before -- and the command after it", function()
    local o, cmd = vmcmd.parse({ "--topo", "1n2l2c1t", "--memory-mib=2048", "-v", "--", "sh", "-c", "x" })
    assert.are.equal("1n2l2c1t", o.topo)
    assert.are.equal(2048, o.memory_mib)
    assert.is_true(o.verbose)
    assert.are.same({ "sh", "-c", "x" }, cmd)
  end)

  it("rejects an unknown option with exit code 2", function()
    local o, code = vmcmd.parse({ "--bogus", "--", "true" })
    assert.is_nil(o)
    assert.are.equal(2, code)
  end)

  it("rejects a missing command and a bad number", function()
    assert.are.equal(2, select(2, vmcmd.parse({ "--topo", "1n1l2c1t" })))
    assert.are.equal(2, select(2, vmcmd.parse({ "--memory-mib", "lots", "--", "true" })))
    assert.are.equal(2, select(2, vmcmd.parse({ "--timeout" })))
  end)

  it("takes --disk SIZE as the scratch disk's bytes, and refuses a bad size", function()
    assert.are.equal(64 << 20, vmcmd.parse({ "--disk", "64M", "--", "true" }).disk)
    assert.is_nil(vmcmd.parse({ "--", "true" }).disk)
    assert.are.equal(2, select(2, vmcmd.parse({ "--disk", "12X", "--", "true" })))
    assert.are.equal(2, select(2, vmcmd.parse({ "--disk", "1K", "--", "true" })))
  end)
end)

describe("guest failure diagnosis", function()
  it("names a kernel panic from the console", function()
    local kind, line = vm.diagnose("[ 1.0] sysrq: Trigger a crash\n" ..
      "[ 1.1] Kernel panic - not syncing: sysrq triggered crash\n[ 1.2] CPU: 0 PID: 1\n")
    assert.are.equal("panic", kind)
    assert.are.equal("Kernel panic - not syncing: sysrq triggered crash", line)
  end)

  it("finds nothing in a clean console", function()
    assert.is_nil(vm.diagnose("Linux version 7.3.4\nRun /init as init process\n"))
  end)
end)
