-- The cgroup calls on the host: argument checks, and no work outside a cgroup2 mount.
local core = require("ktstr.core")

local function slurp(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

local function root_is_cgroup2()
  return slurp("/proc/self/mounts"):find(" /sys/fs/cgroup cgroup2 ", 1, true) ~= nil
end

describe("cgroup calls on the host", function()
  it("report the online CPUs as sysfs lists them", function()
    assert.are.equal(slurp("/sys/devices/system/cpu/online"):gsub("\n$", ""), core.cpus_online())
  end)

  it("raise on names that are not plain relative paths, before touching anything", function()
    for _, bad in ipairs({ "", ".", "..", "../x", "/a", "a/", "a//b", "a/../b", "a\nb",
      ("x"):rep(128) }) do
      assert.has_error(function() core.cgroup_create(bad) end)
      assert.has_error(function() core.cgroup_open(bad) end)
    end
  end)

  it("refuse to create anything when /sys/fs/cgroup is not a cgroup2 mount", function()
    if root_is_cgroup2() then
      pending("this host mounts cgroup2 at /sys/fs/cgroup")
      return
    end
    local cg, msg, code = core.cgroup_create("spec-host")
    assert.is_nil(cg)
    assert.are.equal("create: /sys/fs/cgroup: not a cgroup2 mount", msg)
    assert.are.equal("ENODEV", code)
    assert.is_nil(io.open("/sys/fs/cgroup/ktstr"))
    assert.are.equal(0, core.cgroup_remove_all())
  end)
end)
