-- report: the failure text (header with the root cause, details, stats, console, replay), pass and summary lines, JSON.
local ktstr = require("ktstr")
local report = require("ktstr.host.report")
local checks = require("ktstr.host.checks")

local TEST = { name = "mixed_workloads", source = "tests/mixed.lua:6", numa_nodes = 1, llcs = 2, cores = 2,
  threads = 1, duration_s = 20, min_iteration_rate = 50000000 }

local function worker(pid, iterations, cpus, gap_ms)
  return { pid = pid, work_units = iterations, iterations = iterations, cpu_ns = 20e9, wall_ns = 20e9,
    max_gap_ns = gap_ms * 1e6, max_gap_cpu = cpus[1], max_gap_at_ns = 1e9, cpus = cpus, migrations = 1,
    exit = { code = 0 } }
end

local RESULT = { duration_s = 20, accel = "kvm", console = "boot\nline 2\nlast line\n", cgroups = {
  { name = "background_spinner", cpus = "0-1", workers = { worker(71, 838066, { 0 }, 10), worker(72, 838000, { 1 }, 8) } },
  { name = "phased_worker", cpus = "2-3", workers = { worker(73, 756690, { 2, 3 }, 21) } } } }

describe("report.format", function()
  local v = checks.evaluate(TEST, RESULT)
  local text = report.format(TEST, v, RESULT, { file = "tests/mixed.lua" })
  local lines = {}
  for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end

  it("opens with status, test, scheduler, topology and the root cause", function()
    assert.equal("FAIL mixed_workloads [sched=eevdf] [topo=1n2l2c1t]: worker 71 iteration rate 41903.3/s below " ..
      "floor 50000000.0/s", lines[1])
  end)

  it("gives one line per detail, named by its check", function()
    assert.same({
      "  min_iteration_rate: worker 71 iteration rate 41903.3/s below floor 50000000.0/s",
      "  min_iteration_rate: worker 72 iteration rate 41900.0/s below floor 50000000.0/s",
      "  min_iteration_rate: worker 73 iteration rate 37834.5/s below floor 50000000.0/s",
    }, { lines[2], lines[3], lines[4] })
  end)

  it("rolls the stats up per cgroup", function()
    assert.same({
      "--- stats ---",
      "3 workers, 4 cpus, 3 migrations, worst_spread=0.0%, worst_gap=21ms",
      "background_spinner: workers=2 cpus=2 spread=0.0% gap=10ms migrations=2 iter=1676066",
      "phased_worker: workers=1 cpus=2 spread=0.0% gap=21ms migrations=1 iter=756690",
    }, { lines[5], lines[6], lines[7], lines[8] })
  end)

  it("ends with the console tail and the replay command", function()
    assert.same({ "--- console (last 3 lines) ---", "boot", "line 2", "last line",
      "replay: ktstr script tests/mixed.lua --filter mixed_workloads" }, { table.unpack(lines, 9, 13) })
    assert.equal(13, #lines)
  end)

  it("puts the environment's failure first and tags details of another status", function()
    local r = { fault = { kind = "env", msg = "spawn: fork: Resource temporarily unavailable" }, cgroups = {} }
    local f = report.format(TEST, ktstr.merge(checks.evaluate(TEST, r), ktstr.skip("no SMT", "x")), r)
    assert.equal("INCONCLUSIVE mixed_workloads [sched=eevdf] [topo=1n2l2c1t]: spawn: fork: Resource " ..
      "temporarily unavailable\n  env: spawn: fork: Resource temporarily unavailable\n  x (skip): no SMT\n", f)
  end)

  it("shows a script error alone: no stats, monitor or console", function()
    local r = { fault = { kind = "script", msg = "tests/x.lua:9: no cgroup 'b' is running" }, cgroups = {},
      console = "boot\n", monitor = { off = "no samples" } }
    local f = report.format(TEST, checks.evaluate(TEST, r), r, { file = "tests/x.lua" })
    assert.equal("ERROR mixed_workloads [sched=eevdf] [topo=1n2l2c1t]: tests/x.lua:9: no cgroup 'b' is running\n" ..
      "  script: tests/x.lua:9: no cgroup 'b' is running\n" ..
      "replay: ktstr script tests/x.lua --filter mixed_workloads\n", f)
  end)

  it("counts the details past eight per check", function()
    local many = ktstr.pass()
    for i = 1, 10 do many = ktstr.merge(many, ktstr.fail("w" .. i, "not_starved")) end
    local f = report.format(TEST, many, {})
    assert.matches("\n  not_starved: w8\n  not_starved: ... and 2 more\n$", f)
  end)

  it("names the scheduler and quotes odd file names in the replay line", function()
    local t = setmetatable({ scheduler = { name = "scx_ktstr" } }, { __index = TEST })
    local f = report.format(t, ktstr.skip("needs SMT"), {}, { file = "my tests/a.lua" })
    assert.equal("SKIP mixed_workloads [sched=scx_ktstr] [topo=1n2l2c1t]: needs SMT\n  custom: needs SMT\n" ..
      "replay: ktstr script 'my tests/a.lua' --filter mixed_workloads\n", f)
  end)

  it("shows at most console_lines of the console", function()
    local f = report.format(TEST, ktstr.fail("x"), { console = "a\nb\nc" }, { console_lines = 2 })
    assert.matches("%-%-%- console %(last 2 lines%) %-%-%-\nb\nc\n$", f)
  end)
end)

describe("report.pass_line and report.summary", function()
  it("prints a pass with its time", function()
    assert.equal("PASS mixed_workloads [sched=eevdf] [topo=1n2l2c1t] (34.5s)", report.pass_line(TEST, 34.46))
  end)

  it("sums up, adding skipped and inconclusive only when there are some", function()
    assert.equal("3 passed, 0 failed", report.summary({ passed = 3, failed = 0 }))
    assert.equal("3 passed, 1 failed, 2 skipped", report.summary({ passed = 3, failed = 1, skipped = 2 }))
    assert.equal("0 passed, 0 failed, 1 inconclusive", report.summary({ inconclusive = 1 }))
  end)
end)

describe("report.json", function()
  it("is plain data naming the test, its place and its verdict", function()
    local v = checks.evaluate(TEST, RESULT)
    local j = report.json(TEST, v, RESULT)
    assert.same({ "mixed_workloads", "tests/mixed.lua:6", "eevdf", "1n2l2c1t", "fail", false, false, false, 20, "kvm" },
      { j.test, j.source, j.scheduler, j.topology, j.status, j.passed, j.skipped, j.inconclusive, j.duration_s, j.accel })
    assert.equal(v.details, j.details)
    assert.equal(3, j.stats.workers)
  end)
end)

describe("report.format's header", function()
  it("adds the ops name the kernel showed when it is not the declared name", function()
    local t = { name = "t", source = "x.lua:1", numa_nodes = 1, llcs = 1, cores = 2, threads = 1,
      scheduler = { name = "scx_simple" } }
    local r = { sched = { name = "scx_simple", ops = "simple" }, cgroups = {} }
    assert.matches("^FAIL t %[sched=scx_simple ops=simple%] %[topo=1n1l2c1t%]: x\n",
      report.format(t, ktstr.fail("x"), r))
    r.sched.ops = "scx_simple"
    assert.matches("^FAIL t %[sched=scx_simple%] ", report.format(t, ktstr.fail("x"), r))
  end)
end)
