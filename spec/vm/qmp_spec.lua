-- The host's side channels into a running guest: QMP and guest RAM.
local vm = require("ktstr.host.vm")

describe("a running 2n2l2c1t guest #vm", function()
  local h

  setup(function()
    local f
    h, f = vm.boot({ topo = "2n2l2c1t" })
    assert(h, f and vm.format_failure(f))
  end)

  teardown(function()
    if h then
      h:shutdown(10)
      h:close()
    end
  end)

  it("names one host thread per vCPU over QMP", function()
    local tids = assert(h:vcpu_threads())
    assert.are.equal(4, #tids)
    for _, tid in ipairs(tids) do
      assert.truthy(io.open(("/proc/%d/task/%d/stat"):format(h.qvm:pid(), tid)))
    end
  end)

  it("stops and continues the vCPUs over QMP", function()
    assert(h:qmp({ execute = "stop" }))
    assert.is_false(assert(h:qmp({ execute = "query-status" })).running)
    assert(h:qmp({ execute = "cont" }))
    assert.is_true(assert(h:qmp({ execute = "query-status" })).running)
    local st = assert(h:exec({ "true" }, nil, 30))
    assert.are.equal(0, st.code)
  end)

  it("maps guest RAM read-only and finds the kernel's banner in it", function()
    local gm = assert(h:guestmem())
    assert.are.equal(h.topo.memory_mib * 1024 * 1024, gm:size())
    -- the kernel's code starts where /proc/iomem said (KASLR moves it); its banner is in .rodata
    local code = assert(tonumber(h.facts.kernel.code_phys:sub(3), 16))
    local found
    for mib = code // (1024 * 1024), code // (1024 * 1024) + 80 do
      local chunk = assert(gm:read(mib * 1024 * 1024, 1024 * 1024 + 64))
      found = chunk:match("Linux version 7%.3[^%z]*")
      if found then break end
    end
    gm:close()
    assert.matches(h.facts.release, found, 1, true)
  end)

  it("rejects reads outside guest RAM", function()
    local gm = assert(h:guestmem())
    local ok, err, code = gm:read(gm:size() + 4096, 16)
    gm:close()
    assert.is_nil(ok)
    assert.are.equal("EFAULT", code)
    assert.matches("guestmem_read", err)
  end)
end)
