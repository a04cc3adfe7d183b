-- ktstr.host.gauntlet: which presets a test runs on, and the runner's options for it.
local ktstr = require("ktstr")
local gauntlet = require("ktstr.host.gauntlet")
local runner = require("ktstr.host.runner")

local function names(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = v.name end
  return out
end

describe("gauntlet.variants", function()
  after_each(function() require("ktstr.test").reset() end)

  it("runs a test on each small preset, named gauntlet/test/preset, with its topology", function()
    local t = ktstr.test{ name = "any", defs = { ktstr.cgroup("a"):workers(1) } }
    local v = gauntlet.variants(t, 8)
    assert.same({ "gauntlet/any/4cpu-1llc-nosmt", "gauntlet/any/4cpu-2llc-nosmt",
      "gauntlet/any/8cpu-2llc-smt" }, names(v))
    assert.same({ 1, 2, 2, 2 }, { v[3].numa_nodes, v[3].llcs, v[3].cores, v[3].threads })
    assert.equal("any", v[3].base_name)
    assert.equal(t.duration_s, v[3].duration_s)  -- the rest is the test's own
  end)

  it("leaves out the presets a test's cpusets do not fit, saying why", function()
    local t = ktstr.test{ name = "two", llcs = 2, defs = {
      ktstr.cgroup("b"):workers(1):cpuset(ktstr.cpuset.llc(1)) } }
    local v, skipped = gauntlet.variants(t, 4)
    assert.same({ "gauntlet/two/4cpu-2llc-nosmt" }, names(v))
    assert.equal("4cpu-1llc-nosmt", skipped[1].preset)
    assert.matches("llc%(1%) out of range", skipped[1].why)
    assert.equal("8 CPUs > 4", skipped[2].why)
  end)
end)

describe("ktstr script --gauntlet options", function()
  it("takes --max-cpus only with --gauntlet", function()
    local o = runner.parse({ "t.lua", "--gauntlet", "--max-cpus", "4" })
    assert.same({ true, 4 }, { o.gauntlet, o.max_cpus })
    local stderr = io.stderr
    io.stderr = { write = function() end }  -- luacheck: ignore
    local none, code = runner.parse({ "t.lua", "--max-cpus", "4" })
    io.stderr = stderr  -- luacheck: ignore
    assert.same({ nil, 2 }, { none, code })
  end)
end)
