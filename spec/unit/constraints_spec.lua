-- Scheduler constraints (the topologies a scheduler runs on), enable_timeout_s, and build/scx/.
local constraints = require("ktstr.constraints")
local gauntlet = require("ktstr.host.gauntlet")
local scheduler = require("ktstr.scheduler")

-- Runs src as the script tests/x.lua; returns pcall's results.
local script = require("support.script").run

local function topo(numa_nodes, llcs, cores, threads)
  return { numa_nodes = numa_nodes, llcs = llcs, cores = cores, threads = threads }
end

describe("ktstr.scheduler constraints", function()
  after_each(function() require("ktstr.test").reset() end)

  it("takes the Rust ktstr's keys and cpus_multiple_of", function()
    local s = scheduler.new({ name = "x", binary = "x", constraints = { min_cpus = 2,
      max_cpus = 8, min_llcs = 1, max_llcs = 4, min_numa_nodes = 1, max_numa_nodes = 2,
      requires_smt = false, cpus_multiple_of = 2 } })
    assert.same({ min_cpus = 2, max_cpus = 8, min_llcs = 1, max_llcs = 4, min_numa_nodes = 1,
      max_numa_nodes = 2, requires_smt = false, cpus_multiple_of = 2 }, s.constraints)
  end)

  it("raises at the script's line for an unknown key, with a suggestion", function()
    local ok, err = script('\nktstr.scheduler{ name = "p", binary = "p",\n' ..
      '  constraints = { min_cpu = 2 } }')
    assert.is_false(ok)
    assert.equal("tests/x.lua:3: ktstr.scheduler 'p': constraints: unknown key 'min_cpu' " ..
      "(did you mean 'min_cpus'?)", err)
    ok, err = script('ktstr.scheduler{ name = "p", binary = "p", constraints = { min_nodes = 2 } }')
    assert.is_false(ok)
    assert.matches("did you mean 'min_numa_nodes'", err, 1, true)
  end)

  it("raises at the script's line for bad values and empty ranges", function()
    local cases = {
      { "{ min_cpus = 0 }", "constraints.min_cpus: expected an integer >= 1, got 0" },
      { "{ max_llcs = 1.5 }", "constraints.max_llcs: expected an integer >= 1, got 1.5" },
      { "{ requires_smt = 1 }", "constraints.requires_smt: expected true or false, got 1" },
      { "{ cpus_multiple_of = 'two' }",
        "constraints.cpus_multiple_of: expected an integer >= 1, got 'two'" },
      { "{ min_cpus = 8, max_cpus = 4 }",
        "constraints: min_cpus (8) is above max_cpus (4): no topology fits" },
      { "4", "constraints: expected a table {min_cpus = ..., ...}, got 4" },
    }
    for _, c in ipairs(cases) do
      local ok, err = script(('ktstr.scheduler{ name = "p", binary = "p", constraints = %s }')
        :format(c[1]))
      assert.is_false(ok)
      assert.equal("tests/x.lua:2: ktstr.scheduler 'p': " .. c[2], err)
    end
  end)

  it("says why a topology does not satisfy them, or nothing", function()
    local c = constraints.check({ min_cpus = 4, max_cpus = 8, cpus_multiple_of = 2,
      max_numa_nodes = 1, min_llcs = 2 }, "c")
    assert.is_nil(constraints.unmet(c, topo(1, 2, 2, 1)))
    assert.is_nil(constraints.unmet(nil, topo(1, 1, 1, 1)))
    assert.equal("needs at least 4 CPUs (min_cpus), the guest has 2",
      constraints.unmet(c, topo(1, 2, 1, 1)))
    assert.equal("needs at most 8 CPUs (max_cpus), the guest has 16",
      constraints.unmet(c, topo(1, 2, 4, 2)))
    assert.equal("needs a multiple of 2 CPUs (cpus_multiple_of), the guest has 5",
      constraints.unmet(constraints.check({ cpus_multiple_of = 2 }, "c"), topo(1, 1, 5, 1)))
    assert.equal("needs at least 2 LLCs (min_llcs), the guest has 1",
      constraints.unmet(c, topo(1, 1, 4, 1)))
    assert.equal("needs at most 1 NUMA nodes (max_numa_nodes), the guest has 2",
      constraints.unmet(c, topo(2, 2, 2, 1)))
    assert.equal("needs SMT (requires_smt), the guest has 1 thread per core",
      constraints.unmet(constraints.check({ requires_smt = true }, "c"), topo(1, 1, 2, 1)))
  end)

  it("names the scheduler for a test that cannot run under it", function()
    local ok, t = script('return ktstr.test{ name = "odd", cores = 3, scheduler = ' ..
      'ktstr.scheduler{ name = "pair", binary = "scx_pair", constraints = ' ..
      '{ cpus_multiple_of = 2 } } }')
    assert.is_true(ok, t)
    assert.equal("scheduler 'pair' needs a multiple of 2 CPUs (cpus_multiple_of), " ..
      "the guest has 3", constraints.test_unmet(t))
  end)

  it("leaves the presets they exclude out of the gauntlet, saying why", function()
    local ok, t = script('return ktstr.test{ name = "pairs", scheduler = ' ..
      'ktstr.scheduler{ name = "pair", binary = "scx_pair", constraints = ' ..
      '{ cpus_multiple_of = 2, requires_smt = true } } }')
    assert.is_true(ok, t)
    local v, skipped = gauntlet.variants(t, 9)
    assert.same({ "gauntlet/pairs/8cpu-2llc-smt" }, { v[1].name, v[2] })
    local why = {}
    for _, s in ipairs(skipped) do why[s.preset] = s.why end
    assert.equal("scheduler 'pair' needs SMT (requires_smt), the guest has 1 thread per core",
      why["4cpu-1llc-nosmt"])
    assert.equal("scheduler 'pair' needs a multiple of 2 CPUs (cpus_multiple_of), " ..
      "the guest has 9", why["9cpu-3llc-nosmt"])
  end)
end)

describe("ktstr.scheduler enable_timeout_s", function()
  it("is a duration > 0 handed to the guest's plan", function()
    local s = scheduler.new({ name = "x", path = "/bin/sh", enable_timeout_s = "1m" })
    assert.equal(60, s.enable_timeout_s)
    local plan = scheduler.plan(s, "/bin/sh", { watchdog_timeout_s = 5, extra_sched_args = {} })
    assert.equal(60, plan.enable_timeout_s)
    assert.is_nil(scheduler.plan(scheduler.new({ name = "y", path = "/bin/sh" }), "/bin/sh",
      { watchdog_timeout_s = 5, extra_sched_args = {} }).enable_timeout_s)
    local ok, err = pcall(scheduler.new, { name = "x", path = "/bin/sh", enable_timeout_s = 0 })
    assert.is_false(ok)
    assert.matches("enable_timeout_s: expected a number > 0, got 0", err, 1, true)
  end)
end)

describe("finding a corpus scheduler", function()
  it("looks in build/scx/ after build/sched/ and says what makes it", function()
    local s = scheduler.new({ name = "c", binary = "no-such-scx" })
    local _, err = scheduler.find_binary(s, "/nonexistent/build")
    assert.matches("looked in: /nonexistent/build/sched/no-such-scx, " ..
      "/nonexistent/build/scx/no-such-scx, ", err, 1, true)
    assert.matches("; /nonexistent/build/scx/ holds the kernel's tools/sched_ext schedulers " ..
      "once `make scx` ran$", err)
  end)
end)
