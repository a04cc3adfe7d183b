-- Runs inside the 1n2l2c1t guest: ktstr.core's cgroup v2 calls against the real kernel.
local core = require("ktstr.core")

local ROOT = "/sys/fs/cgroup/ktstr"

local function slurp(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Calls fn until it returns a true value or timeout_s passes; returns that value or nil.
local function eventually(fn, timeout_s)
  local deadline = core.now() + (timeout_s or 3)
  repeat
    local v = fn()
    if v then return v end
    core.sleep(0.02)
  until core.now() > deadline
  return nil
end

-- utime + stime of pid in clock ticks, from /proc/<pid>/stat (fields 14 and 15).
local function cputime(pid)
  local stat = assert(slurp("/proc/" .. pid .. "/stat"), "no /proc/" .. pid)
  local f = {}
  for w in stat:match("%) (.*)$"):gmatch("%S+") do f[#f + 1] = w end
  return tonumber(f[12]) + tonumber(f[13])
end

local function alive(pid)
  return slurp("/proc/" .. pid .. "/stat") ~= nil
end

local procs = {}

local function spawn(argv)
  local p = assert(core.spawn(argv))
  procs[#procs + 1] = p
  return p
end

local function busy()
  return spawn({ "sh", "-c", "while :; do :; done" })
end

describe("cgroups under /sys/fs/cgroup/ktstr", function()
  -- Every case removes what it made: anything left here is a failure (then cleaned up).
  after_each(function()
    for _, p in ipairs(procs) do p:close() end
    procs = {}
    local n, err = core.cgroup_remove_all()
    assert.are.equal(0, n, err or "cgroups were left under " .. ROOT)
  end)

  it("creates a cgroup with cpuset, cpu, memory and pids, and removes it", function()
    local cg = assert(core.cgroup_create("a"))
    assert.are.equal(ROOT .. "/a", cg:path())
    assert.are.equal("a", cg:name())
    assert.are.equal("ktstr.cgroup: a (" .. ROOT .. "/a)", tostring(cg))
    local ctl = assert(slurp(ROOT .. "/cgroup.subtree_control"))
    for _, c in ipairs({ "cpuset", "cpu", "memory", "pids" }) do
      assert.matches(c, ctl)
    end
    assert.are.equal("", assert(cg:read("cpuset.cpus")))
    assert.is_true(cg:remove())
    local none, msg, code = core.cgroup_open("a")
    assert.is_nil(none)
    assert.are.equal("open: " .. ROOT .. "/a: No such file or directory", msg)
    assert.are.equal("ENOENT", code)
  end)

  it("refuses to create a cgroup that exists, naming it", function()
    assert(core.cgroup_create("a"))
    local cg, msg, code = core.cgroup_create("a")
    assert.is_nil(cg)
    assert.are.equal("create: " .. ROOT .. "/a: File exists", msg)
    assert.are.equal("EEXIST", code)
    assert.is_true(core.cgroup_open("a"):remove())
  end)

  it("opens an existing cgroup by name", function()
    assert(core.cgroup_create("a"))
    local cg = assert(core.cgroup_open("a"))
    assert.are.equal(ROOT .. "/a", cg:path())
    assert.is_true(cg:remove())
  end)

  it("raises on names and files that would leave the cgroup", function()
    for _, bad in ipairs({ "", "..", "../x", "/a", "a/", "a//b", "a/./b", ("x"):rep(128) }) do
      assert.has_error(function() core.cgroup_create(bad) end)
      assert.has_error(function() core.cgroup_open(bad) end)
    end
    local cg = assert(core.cgroup_create("a"))
    assert.has_error(function() cg:read("../cgroup.procs") end)
    assert.has_error(function() cg:write("..", "1") end)
    assert.is_true(cg:remove())
  end)

  it("reports the online CPUs", function()
    assert.are.equal("0-3", core.cpus_online())
  end)

  it("confines a cgroup and its members to the CPUs it is given", function()
    local cg = assert(core.cgroup_create("a"))
    assert.is_true(cg:set_cpus("2-3"))
    assert.are.equal("2-3", cg:read("cpuset.cpus.effective"))
    local p = spawn({ "sleep", "30" })
    assert.is_true(cg:attach(p:pid()))
    assert.is_true(cg:set_cpus("0-1"))
    assert.are.equal("0-1", cg:read("cpuset.cpus.effective"))
    local status = assert(slurp("/proc/" .. p:pid() .. "/status"))
    assert.are.equal("0-1", status:match("Cpus_allowed_list:%s*(%S+)"))
    assert.is_true(cg:remove())
  end)

  it("rejects a cpuset naming an offline CPU, naming cpuset.cpus and the CPU", function()
    local cg = assert(core.cgroup_create("a"))
    local ok, msg, code = cg:set_cpus("7")
    assert.is_nil(ok)
    assert.are.equal("set_cpus: " .. ROOT .. "/a/cpuset.cpus: 7: CPU 7 is not online"
      .. " (/sys/devices/system/cpu/online: 0-3)", msg)
    assert.are.equal("EINVAL", code)
    ok, msg = cg:set_cpus("1-7")
    assert.is_nil(ok)
    assert.matches("cpuset.cpus: 1%-7: CPUs 4%-7 are not online", msg)
    ok, msg, code = cg:set_cpus("0-x")
    assert.is_nil(ok)
    assert.matches("cpuset.cpus: 0%-x: Invalid argument", msg)
    assert.are.equal("", cg:read("cpuset.cpus"), "a rejected cpuset was written")
    assert.is_true(cg:remove())
  end)

  it("sets memory nodes and rejects a node without memory", function()
    local cg = assert(core.cgroup_create("a"))
    assert.is_true(cg:set_mems("0"))
    assert.are.equal("0", cg:read("cpuset.mems.effective"))
    local ok, msg, code = cg:set_mems("3")
    assert.is_nil(ok)
    assert.matches("set_mems: " .. ROOT .. "/a/cpuset.mems: 3: node 3 is not online with memory",
      msg, 1, true)
    assert.are.equal("EINVAL", code)
    assert.is_true(cg:remove())
  end)

  it("rejects cpu.weight 0, naming cpu.weight and the value", function()
    local cg = assert(core.cgroup_create("a"))
    local ok, msg, code = cg:set_weight(0)
    assert.is_nil(ok)
    assert.are.equal("write: " .. ROOT .. "/a/cpu.weight: 0: Numerical result out of range", msg)
    assert.are.equal("ERANGE", code)
    assert.is_true(cg:set_weight(200))
    assert.are.equal("200", cg:read("cpu.weight"))
    assert.is_true(cg:remove())
  end)

  it("writes cpu.max, memory.max and pids.max, numbers or \"max\"", function()
    local cg = assert(core.cgroup_create("a"))
    assert.is_true(cg:set_max(50000, 100000))
    assert.are.equal("50000 100000", cg:read("cpu.max"))
    assert.is_true(cg:set_max("max"))
    assert.are.equal("max 100000", cg:read("cpu.max"))
    assert.is_true(cg:set_memory_max(64 * 1024 * 1024))
    assert.are.equal("67108864", cg:read("memory.max"))
    assert.is_true(cg:set_memory_max("max"))
    assert.are.equal("max", cg:read("memory.max"))
    assert.is_true(cg:set_pids_max(16))
    assert.are.equal("16", cg:read("pids.max"))
    assert.is_true(cg:write("pids.max", "max"))
    assert.are.equal("max", cg:read("pids.max"))
    assert.has_error(function() cg:set_max("lots") end)
    assert.has_error(function() cg:set_pids_max(1.5) end)
    local ok, msg, code = cg:read("no.such.file")
    assert.is_nil(ok)
    assert.are.equal("read: " .. ROOT .. "/a/no.such.file: No such file or directory", msg)
    assert.are.equal("ENOENT", code)
    assert.is_true(cg:remove())
  end)

  it("attaches a spawned child and lists it in procs", function()
    local cg = assert(core.cgroup_create("a"))
    local p = spawn({ "sleep", "30" })
    assert.is_true(cg:attach(p:pid()))
    assert.are.same({ p:pid() }, cg:procs())
    assert.are.equal("0::/ktstr/a\n", slurp("/proc/" .. p:pid() .. "/cgroup"))
    local ok, msg, code = cg:attach(4194303)
    assert.is_nil(ok)
    assert.are.equal("attach: " .. ROOT .. "/a/cgroup.procs: 4194303: No such process", msg)
    assert.are.equal("ESRCH", code)
    assert.is_true(cg:remove())
  end)

  it("freezing stops a busy child's progress and unfreezing resumes it", function()
    local cg = assert(core.cgroup_create("a"))
    local p = busy()
    local pid = p:pid()
    assert.is_true(cg:attach(pid))
    local t0 = cputime(pid)
    assert.truthy(eventually(function() return cputime(pid) > t0 end), "the busy child never ran")
    assert.is_true(cg:freeze())
    assert.matches("frozen 1", cg:read("cgroup.events"))
    local f0 = cputime(pid)
    core.sleep(0.3)
    assert.are.equal(f0, cputime(pid), "a frozen child used CPU")
    assert.is_true(cg:unfreeze())
    assert.matches("frozen 0", cg:read("cgroup.events"))
    assert.truthy(eventually(function() return cputime(pid) > f0 end), "the child did not resume")
    assert.is_true(cg:remove())
  end)

  it("removing a cgroup kills the processes inside and leaves none behind", function()
    local cg = assert(core.cgroup_create("a"))
    local sleeper, spinner = spawn({ "sleep", "30" }), busy()
    assert.is_true(cg:attach(sleeper:pid()))
    assert.is_true(cg:attach(spinner:pid()))
    assert.is_true(cg:remove())
    -- killed; reaping stays with their parent, which gets their status
    assert.are.equal(9, assert(sleeper:wait(2)).signal)
    assert.are.equal(9, assert(spinner:wait(2)).signal)
    assert.is_false(alive(sleeper:pid()))
    assert.is_nil(core.cgroup_open("a"))
  end)

  it("removes a frozen cgroup with its processes", function()
    local cg = assert(core.cgroup_create("a"))
    local p = busy()
    assert.is_true(cg:attach(p:pid()))
    assert.is_true(cg:freeze())
    assert.is_true(cg:remove())
    assert.are.equal(9, assert(p:wait(2)).signal)
  end)

  it("creates a/b with controllers down the path; removing a removes both", function()
    local b = assert(core.cgroup_create("a/b"))
    assert.are.equal(ROOT .. "/a/b", b:path())
    local ctl = assert(slurp(ROOT .. "/a/cgroup.subtree_control"))
    for _, c in ipairs({ "cpuset", "cpu", "memory", "pids" }) do
      assert.matches(c, ctl)
    end
    assert.is_true(b:set_cpus("1"))
    -- b gets children, so (no internal processes) the process goes into a/b/c.
    local c = assert(core.cgroup_create("a/b/c"))
    assert.is_true(c:set_weight(50))
    local p = spawn({ "sleep", "30" })
    assert.is_true(c:attach(p:pid()))
    assert.are.equal("1", c:read("cpuset.cpus.effective"))
    local a = assert(core.cgroup_open("a"))
    assert.is_true(a:remove())
    assert.are.equal(9, assert(p:wait(2)).signal)
    assert.is_nil(core.cgroup_open("a/b"))
    assert.is_nil(core.cgroup_open("a"))
  end)

  it("closing a handle leaves the cgroup; the closed handle raises", function()
    do
      local cg <close> = assert(core.cgroup_create("a"))
      assert.is_true(cg:set_weight(10))
    end
    local cg = assert(core.cgroup_open("a"))
    assert.are.equal("10", cg:read("cpu.weight"))
    cg:close()
    cg:close()
    assert.are.equal("ktstr.cgroup: closed", tostring(cg))
    assert.has_error(function() cg:path() end, "cgroup is closed")
    assert.is_true(core.cgroup_open("a"):remove())
  end)

  it("remove_all removes every cgroup and counts the top-level ones", function()
    assert(core.cgroup_create("a"))
    assert(core.cgroup_create("b/c"))
    local p = spawn({ "sleep", "30" })
    assert.is_true(assert(core.cgroup_open("b/c")):attach(p:pid()))
    assert.are.equal(2, core.cgroup_remove_all())
    assert.are.equal(9, assert(p:wait(2)).signal)
    assert.are.equal(0, core.cgroup_remove_all())
  end)
end)
