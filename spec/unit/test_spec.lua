-- ktstr.test{...}: keys, defaults, bodies, the registry; tests/mixed.lua loads and registers.
local ktstr = require("ktstr")
local test = require("ktstr.test")

-- src run as the test script tests/x.lua: script returns ok, error; script_err the error
local script, script_err = require("support.script").run, require("support.script").err

describe("ktstr.test", function()
  after_each(test.reset)

  it("fills the defaults of the Rust attribute", function()
    local t = ktstr.test({ name = "skeleton" })
    assert.same({ 1, 1, 2, 1, 12, 5 }, { t.numa_nodes, t.llcs, t.cores, t.threads, t.duration_s, t.watchdog_timeout_s })
    assert.is_nil(t.scheduler)
    assert.is_nil(t.memory_mib)
    assert.is_true(t.kaslr)
    assert.is_false(ktstr.test({ name = "fixed", kaslr = false }).kaslr)
    assert.same({}, t.extra_sched_args)
    assert.is_nil(t.steps)
    assert.is_nil(t.run)
  end)

  it("registers tests in declaration order, with the line of each ktstr.test", function()
    assert.is_true(script('ktstr.test{ name = "a" }\n\nktstr.test{\n  name = "b" }'))
    local r = test.registry()
    assert.same({ "a", "b" }, { r[1].name, r[2].name })
    assert.same({ "tests/x.lua:2", "tests/x.lua:4" }, { r[1].source, r[2].source })
    test.reset()
    assert.same({}, test.registry())
  end)

  it("names an unknown key at the script's line, with did you mean", function()
    assert.equal("tests/x.lua:4: ktstr.test: unknown key 'duraton_s' (did you mean 'duration_s'?)",
      script_err('local x = 1\n\nktstr.test{ name = "t", duraton_s = 3 }'))
    assert.equal("tests/x.lua:2: ktstr.test: unknown key 'not_stuck' (did you mean 'not_starved'?)",
      script_err('ktstr.test{ name = "t", not_stuck = true }'))
  end)

  it("names both places for a duplicate test name", function()
    assert.equal("tests/x.lua:3: ktstr.test: duplicate test name 'a' (first declared at tests/x.lua:2)",
      script_err('ktstr.test{ name = "a" }\nktstr.test{ name = "a" }'))
  end)

  it("takes durations as seconds or strings", function()
    local t = ktstr.test({ name = "t", duration_s = "1.5s", watchdog_timeout_s = 10 })
    assert.same({ 1.5, 10 }, { t.duration_s, t.watchdog_timeout_s })
  end)

  it("validates the topology, the scheduler slots and the check keys", function()
    local cases = {
      { 'name = "bad name"', "ktstr.test: name: expected a name of letters" },
      { 'name = "t", llcs = 3, numa_nodes = 2', "ktstr.test 't': llcs %(3%) must be a multiple of numa_nodes %(2%)$" },
      { 'name = "t", cores = 0', "ktstr.test 't': cores: expected an integer >= 1, got 0$" },
      { 'name = "t", duration_s = 0', "ktstr.test 't': duration_s: expected a duration > 0, got 0$" },
      { 'name = "t", extra_sched_args = { "--x" }', "extra_sched_args needs a scheduler %(the test runs under EEVDF%)$" },
      { 'name = "t", scheduler = "scx_simple"', "scheduler: expected a scheduler table with a name, got scx_simple$" },
      { 'name = "t", max_spread_pct = 120', "max_spread_pct: expected a number >= 0 and <= 100, got 120$" },
      { 'name = "t", isolation = 1', "isolation: expected true or false, got 1$" },
      { 'name = "t", max_gap_ms = "2s"', "max_gap_ms: expected a number > 0, got '2s'$" },
      { 'name = "t", run = 1', "run: expected a function%(ctx%), got 1$" },
      { 'name = "t", post_vm = true', "post_vm: expected a function%(result%), got true$" },
      { 'name = "t", defs = {}, run = function() end', "give one of defs, steps or run$" },
      { 'name = "t", backdrop = ktstr.backdrop{}', "backdrop goes with steps$" },
      { 'name = "t", steps = { ktstr.hold.full }', "steps%[1%]: expected ktstr.step{...}" },
    }
    for _, c in ipairs(cases) do
      local err = script_err("ktstr.test{ " .. c[1] .. " }")
      assert.matches("^tests/x.lua:2: ", err)
      assert.matches(c[2], err)
    end
  end)

  it("keeps the check keys it was given", function()
    local t = ktstr.test({ name = "t", not_starved = true, max_spread_pct = 20, min_work_rate = 0 })
    assert.same({ true, 20, 0 }, { t.not_starved, t.max_spread_pct, t.min_work_rate })
    assert.is_nil(t.isolation)
  end)

  it("turns defs into one step that holds for the whole duration", function()
    local t = ktstr.test({ name = "t", defs = { ktstr.cgroup("a"), ktstr.cgroup("b") } })
    assert.equal(1, #t.steps)
    assert.same({ "a", "b" }, { t.steps[1].setup[1].name, t.steps[1].setup[2].name })
    assert.same(ktstr.hold.full, t.steps[1].hold)
    assert.same({}, t.steps[1].ops)
  end)

  it("keeps a run function and a post_vm hook", function()
    local run, post = function() end, function() end
    local t = ktstr.test({ name = "t", run = run, post_vm = post })
    assert.equal(run, t.run)
    assert.equal(post, t.post_vm)
  end)
end)

describe("limits the guest would refuse", function()
  after_each(test.reset)

  -- Each is refused while the script loads, at its own line, before any boot.
  local CASES = {
    { 'ktstr.cgroup("a"):memory_max("99999999999G")', "more bytes than the kernel can take" },
    { 'ktstr.cgroup(("n"):rep(4096))', "name of 4096 bytes, longer than 128" },
    { 'ktstr.cgroup("a"):workers(100000)', "expected an integer in 0..4096, got 100000" },
    { 'ktstr.work.futex_fan_out{ fan_out = 10^6 }', "fan_out: 1000000 is out of range (1..15)" },
    { 'ktstr.work.page_fault_churn{ region_kib = 64 * 1024 * 1024 }',
      "region_kib: 67108864 is out of range (64..1048576)" },
    { 'ktstr.test{ name = "t", duration_s = 1e12 }', "longer than a day" },
    { 'ktstr.test{ name = "t", watchdog_timeout_s = 31 }', "takes at most 30 s" },
    { 'ktstr.test{ name = "t", memory_mib = 10^7 }', "memory_mib must be <=" },
    { 'ktstr.test{ name = "t", kaslr = "no" }', "kaslr: expected true or false" },
    { 'ktstr.cgroup("a"):pids_max(2^40)', "expected an integer in 1..4194304" },
    { 'ktstr.cgroup("a"):cpu_quota_pct(1e300)', "expected a number >= 1 and <= 100000" },
    { 'ktstr.work.sequence(ktstr.phase.spin(120))', "out of range" },
  }
  for _, c in ipairs(CASES) do
    it("refuses " .. c[1], function()
      local err = script_err("\n" .. c[1])
      assert.matches("^tests/x.lua:3: ", err)
      assert.is_truthy(err:find(c[2], 1, true), err)
    end)
  end
end)

describe("expect_err", function()
  after_each(test.reset)
  local S = 'local s = ktstr.scheduler{ name = "x", binary = "x" }\n'

  it("takes the error text to look for, and checks the pattern when the test is declared", function()
    local t = ktstr.test({ name = "neg", scheduler = { name = "x" }, expect_err = true,
      expect_scx_bpf_error_contains = "injected", expect_scx_bpf_error_matches = "after %d+ s" })
    assert.same({ true, "injected", "after %d+ s" }, { t.expect_err, t.expect_scx_bpf_error_contains,
      t.expect_scx_bpf_error_matches })
    assert.matches("tests/x.lua:3: .*expect_scx_bpf_error_contains goes with expect_err = true",
      script_err(S .. 'ktstr.test{ name = "t", scheduler = s, expect_scx_bpf_error_contains = "x" }'))
    assert.matches("bad Lua pattern", script_err(S .. 'ktstr.test{ name = "t", scheduler = s, ' ..
      'expect_err = true, expect_scx_bpf_error_matches = "(" }'))
    assert.matches("matches an empty error, so it checks nothing", script_err(S .. 'ktstr.test{ name = "t", ' ..
      'scheduler = s, expect_err = true, expect_scx_bpf_error_matches = ".*" }'))
    assert.matches("expect_err needs a scheduler", script_err('\nktstr.test{ name = "t", expect_err = true }'))
  end)
end)

describe("ktstr.test's scratch disk", function()
  after_each(test.reset)

  local function io_def(w) return ktstr.cgroup("io"):work(w) end

  it("comes with IO work or io_weight anywhere in defs, steps or the backdrop, and not otherwise", function()
    local MIB = 1024 * 1024
    assert.is_nil(ktstr.test({ name = "cpu", defs = { ktstr.cgroup("a") } }).disk)
    assert.is_nil(ktstr.test({ name = "body", run = function() end }).disk)
    -- the io phase of a sequence writes a tmpfs file: no disk
    assert.is_nil(ktstr.test({ name = "seq", defs = { io_def(ktstr.work.sequence(
      ktstr.phase.io(0.1))) } }).disk)
    for i, w in ipairs({ ktstr.work.io_sync_write(), ktstr.work.io_rand_read(),
      ktstr.work.io_convoy() }) do
      assert.equal(256 * MIB, ktstr.test({ name = "defs" .. i, defs = { io_def(w) } }).disk)
    end
    assert.equal(256 * MIB, ktstr.test({ name = "weight",
      defs = { ktstr.cgroup("a"):io_weight(50) } }).disk)
    local hold = ktstr.hold.full
    assert.equal(256 * MIB, ktstr.test({ name = "add", steps = { ktstr.step{
      ops = { ktstr.op.add_cgroup(io_def(ktstr.work.io_convoy())) }, hold = hold } } }).disk)
    assert.equal(256 * MIB, ktstr.test({ name = "spawn", steps = {
      ktstr.step{ ops = { ktstr.op.spawn("a", 1, ktstr.work.io_rand_read()) }, hold = hold } },
      backdrop = ktstr.backdrop{ ktstr.cgroup("a") } }).disk)
    assert.equal(256 * MIB, ktstr.test({ name = "backdrop", steps = {
      ktstr.step{ hold = hold } },
      backdrop = ktstr.backdrop{ io_def(ktstr.work.io_sync_write()) } }).disk)
  end)

  it("takes true or a size, for a run(ctx) body or a bigger disk", function()
    assert.equal(256 << 20, ktstr.test({ name = "a", disk = true, run = function() end }).disk)
    assert.equal(64 << 20, ktstr.test({ name = "b", disk = "64M" }).disk)
    assert.equal(1 << 30, ktstr.test({ name = "c", disk = "1G",
      defs = { io_def(ktstr.work.io_rand_read()) } }).disk)
    assert.equal(1 << 20, ktstr.test({ name = "d", disk = 1048576 }).disk)
  end)

  for _, c in ipairs({
    { "0", "expected bytes > 0" }, { "-5", "expected bytes > 0" }, { "1.5", "expected bytes > 0" },
    { '"12X"', "expected bytes > 0" }, { '"1K"', "expected a size from 1M to 64G, got 1K" },
    { '"65G"', "expected a size from 1M to 64G, got 65G" },
    { '"1025K"', "expected whole 4 KiB blocks %(the IO work types' unit%), got 1025K %(1049600 bytes%)" },
    { "false", "expected true or a size" },
  }) do
    it("refuses disk = " .. c[1] .. " at the script's line", function()
      assert.matches("^tests/x.lua:3: ktstr.test 't': disk: " .. c[2],
        script_err('\nktstr.test{ name = "t",\n  disk = ' .. c[1] .. ' }'))
    end)
  end
end)

describe("tests/mixed.lua", function()
  after_each(test.reset)

  it("loads on the host and registers the tutorial's test", function()
    dofile("tests/mixed.lua")
    local r = test.registry()
    assert.equal(1, #r)
    local t = r[1]
    assert.equal("mixed_workloads", t.name)
    assert.matches("^tests/mixed.lua:%d+$", t.source)
    assert.same({ 1, 2, 2, 1, 5 }, { t.numa_nodes, t.llcs, t.cores, t.threads, t.duration_s })
    assert.same({ true, true, 20.0, 0.5, 1.0 },
      { t.isolation, t.not_starved, t.max_spread_pct, t.max_throughput_cv, t.min_work_rate })
    local setup = t.steps[1].setup
    assert.same({ "background_spinner", "phased_worker" }, { setup[1].name, setup[2].name })
    assert.same({ 2, 2 }, { setup[1].workers, setup[2].workers })
    assert.same(ktstr.work.spin_wait(), setup[1].work)
    assert.same(ktstr.work.sequence(ktstr.phase.spin(0.1), ktstr.phase.yield(0.02)), setup[2].work)
    assert.same({ ktstr.cpuset.llc(0), ktstr.cpuset.llc(1) }, { setup[1].cpuset, setup[2].cpuset })
  end)

  it("stays within 50 lines, steps 7 and 10 together", function()
    local n = 0
    for _ in io.lines("tests/mixed.lua") do n = n + 1 end
    assert.is_true(n <= 50, n .. " lines")
  end)
end)
