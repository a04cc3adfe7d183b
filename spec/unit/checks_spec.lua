-- Checks: each check on fake worker reports, evaluate, expect_err.
local ktstr = require("ktstr")
local checks = require("ktstr.host.checks")

-- A healthy worker: 10 s on CPU 0 of 10 s wall, 9000 units, small gap.
local function worker(pid, t)
  local w = { index = 0, pid = pid, work_units = 9000, iterations = 9000, cpu_ns = 10e9, wall_ns = 10e9,
    max_gap_ns = 5e6, max_gap_cpu = 0, max_gap_at_ns = 1e9, cpus = { 0 }, migrations = 3, run_delay_ns = 0,
    exit = { code = 0 } }
  for k, v in pairs(t or {}) do w[k] = v end
  return w
end

local function result(cgroups, extra)
  local r = { duration_s = 10, accel = "kvm", cgroups = cgroups, console = "" }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

local function one_cgroup(workers, cpus)
  return result({ { name = "a", cpus = cpus, workers = workers } })
end

local function test(keys)
  keys.name = keys.name or "t"
  return keys
end

-- The details of evaluate as "status check: msg" lines.
local function judge(keys, r)
  local v = checks.evaluate(test(keys), r)
  local out = {}
  for i, d in ipairs(v.details) do out[i] = ("%s %s: %s"):format(d.status, d.check, d.msg) end
  return v.status, out
end

describe("the checks", function()
  it("pass a healthy run with every check on", function()
    local status, lines = judge({ not_starved = true, isolation = true, max_throughput_cv = 0.1, min_work_rate = 1,
      min_iteration_rate = 100, max_migration_ratio = 0.01 }, one_cgroup({ worker(1), worker(2) }, "0-1"))
    assert.equal("pass", status)
    assert.same({}, lines)
  end)

  it("always fail a worker that failed, was killed or exited non-zero", function()
    local status, lines = judge({}, one_cgroup({ worker(1, { error = "pipe_io: read: EPIPE" }),
      worker(2, { exit = { killed = true, signal = 9 } }), worker(3, { exit = { code = 1 } }) }))
    assert.equal("fail", status)
    assert.same({ "fail workers: worker 1 failed: pipe_io: read: EPIPE", "fail workers: worker 2 killed by signal 9",
      "fail workers: worker 3 exited with code 1" }, lines)
  end)

  it("name a scratch disk the host failed, and only that, as not the scheduler's doing", function()
    local failed = one_cgroup({ worker(1), worker(7, { work_units = 0,
      error = "io_sync_write: pwrite at 1638400: No space left on device" }) })
    assert.matches("^worker 7's io_sync_write pwrite failed on the scratch disk %(No space left " ..
      "on device%): the host failed the disk image, not the scheduler", checks.disk_failed(failed))
    assert.matches("io_rand_read pread failed on the scratch disk %(Input/output error%)",
      checks.disk_failed(one_cgroup({ worker(3, { error = "io_rand_read: pread at 4096: " ..
        "Input/output error" }) })))
    -- our own misuse (alignment), a short transfer, other work types: the verdict stands
    for _, e in ipairs({ "io_rand_read: pread at 4096: Invalid argument",
        "io_convoy: pwrite at 0: short transfer", "pipe_io: read: Input/output error" }) do
      assert.is_nil(checks.disk_failed(one_cgroup({ worker(1, { error = e }) })), e)
    end
    local v = checks.not_judged(checks.evaluate(test({ not_starved = true }), failed),
      checks.disk_failed(failed))
    assert.equal("inconclusive", v.status)
    assert.equal("guest", v.details[1].check)
  end)

  it("leave workers the harness ended itself to the progress checks", function()
    assert.equal("pass", (judge({}, one_cgroup({ worker(1, { exit = { killed = true, signal = 9, by_stop = true } }),
      worker(2, { exit = { killed = true, by_op = true }, error = "killed (reaped elsewhere)" }) }))))
  end)

  it("not_starved fails a worker with no work units", function()
    local _, lines = judge({ not_starved = true }, one_cgroup({ worker(1), worker(12, { work_units = 0 }) }))
    assert.same({ "fail not_starved: tid 12 made no progress (0 work units)" }, lines)
  end)

  it("isolation fails a worker seen outside its cgroup's cpuset, and skips cgroups without one", function()
    local _, lines = judge({ isolation = true }, result({
      { name = "a", cpus = "0-1", workers = { worker(7, { cpus = { 0, 3, 2 } }) } },
      { name = "b", workers = { worker(8, { cpus = { 0, 1, 2, 3 } }) } } }))
    assert.same({ "fail isolation: tid 7 ran on cpu 2,3 outside cgroup a's cpuset 0-1" }, lines)
  end)

  it("max_gap_ms fails the worker stuck longest, with CPU and time", function()
    local _, lines = judge({ max_gap_ms = 1000 }, one_cgroup({ worker(123, { max_gap_ns = 1523e6, max_gap_cpu = 2,
      max_gap_at_ns = 4200e6 }), worker(124, { max_gap_ns = 999e6 }) }))
    assert.same({ "fail max_gap_ms: tid 123 stuck 1523ms on cpu2 at +4200ms (threshold 1000ms)" }, lines)
  end)

  -- vCPU 2's thread waited on the host from +10.0s to +11.6s (monitor clock); the worker
  -- started at guest time 100 s, which the monitor clock puts at +5 s (offset -95 s).
  local function host_held(delay_ms)
    local samples = {}
    for i = 0, 40 do
      local t = 9 + i * 0.1
      local d = t <= 10 and 0 or math.min(t, 11.6) - 10
      samples[#samples + 1] = { t = t, phase = "Step[0]", cpus = {
        { cpu = 2, nr_running = 1, clock = math.floor(t * 1e9), dsq_depth = 0,
          vcpu = { run_ns = 0, delay_ns = math.floor(d * delay_ms * 1e6) } } } }
    end
    local w = worker(123, { max_gap_ns = 1800e6, max_gap_cpu = 2, max_gap_at_ns = 6700e6,
      start_s = 100 })
    return one_cgroup({ w }), { samples = samples, phases = {}, guest_offset = -95 }
  end

  it("max_gap_ms is inconclusive when the host kept that vCPU waiting through the gap", function()
    local r, m = host_held(1000)  -- the thread waited all 1.6 s of the 1.8 s gap
    r.monitor = m
    local status, lines = judge({ max_gap_ms = 1000 }, r)
    assert.equal("inconclusive", status)
    assert.same({ "inconclusive max_gap_ms: tid 123 stuck 1800ms on cpu2 at +6700ms, but the " ..
      "host kept that vCPU waiting 1600ms of it (threshold 1000ms)" }, lines)
  end)

  it("max_gap_ms still fails a gap the host explains only in part", function()
    local r, m = host_held(250)  -- 400 ms of waiting leave 1400 ms on the guest
    r.monitor = m
    local status = judge({ max_gap_ms = 1000 }, r)
    assert.equal("fail", status)
  end)

  it("not_starved's default gap is 2000ms under KVM", function()
    local r = one_cgroup({ worker(1, { max_gap_ns = 2500e6 }) })
    assert.equal("fail", (judge({ not_starved = true }, r)))
    r.accel = "tcg"
    assert.equal("pass", (judge({ not_starved = true }, r)))
  end)

  it("max_spread_pct fails a cgroup whose off-CPU shares spread too far", function()
    local _, lines = judge({ max_spread_pct = 20 }, one_cgroup({ worker(1, { cpu_ns = 8.8e9, cpus = { 0 } }),
      worker(2, { cpu_ns = 4.6e9, cpus = { 1 } }) }))
    assert.same({ "fail max_spread_pct: unfair cgroup a: spread=42.0% (12.0-54.0%) 2 workers on 2 cpus " ..
      "(threshold 20.0%)" }, lines)
    assert.equal("pass", (judge({ max_spread_pct = 50 }, one_cgroup({ worker(1, { cpu_ns = 8.8e9 }),
      worker(2, { cpu_ns = 4.6e9 }) }))))
  end)

  it("max_spread_pct and max_throughput_cv leave out cgroups of RT tiers, unequal by design", function()
    local r = one_cgroup({ worker(1, { cpu_ns = 9.1e9 }), worker(2, { cpu_ns = 0.9e9, work_units = 10 }) })
    r.cgroups[1].work = { "rt_starvation" }
    assert.equal("pass", (judge({ max_spread_pct = 20, max_throughput_cv = 0.5 }, r)))
    r.cgroups[1].work = { "spin_wait" }
    local _, lines = judge({ max_spread_pct = 20, max_throughput_cv = 0.5 }, r)
    assert.equal(2, #lines)
  end)

  it("max_throughput_cv compares work per CPU-second within a cgroup", function()
    local _, lines = judge({ max_throughput_cv = 0.5 }, one_cgroup({ worker(1, { work_units = 1000 }),
      worker(2, { work_units = 9000 }) }))
    assert.same({ "fail max_throughput_cv: cgroup a throughput cv=0.80 above 0.50 (2 workers, 100.0-900.0 units/cpu-s)" },
      lines)
  end)

  it("min_work_rate fails slow workers and is inconclusive without CPU time", function()
    local status, lines = judge({ min_work_rate = 1 }, one_cgroup({ worker(5, { work_units = 5 }),
      worker(6, { cpu_ns = 0 }) }))
    assert.equal("fail", status)
    assert.same({ "fail min_work_rate: worker 5 work rate 0.5/cpu-s below floor 1.0/cpu-s",
      "inconclusive min_work_rate: tid 6 has no CPU time: work rate undefined" }, lines)
    assert.equal("inconclusive", (judge({ min_work_rate = 1 }, one_cgroup({ worker(6, { cpu_ns = 0 }) }))))
  end)

  it("min_iteration_rate fails workers below the floor per wall second", function()
    local _, lines = judge({ min_iteration_rate = 1000 }, one_cgroup({ worker(3, { iterations = 8124 }) }))
    assert.same({ "fail min_iteration_rate: worker 3 iteration rate 812.4/s below floor 1000.0/s" }, lines)
  end)

  it("max_p99_wake_latency_ns fails slow wakes and is inconclusive without samples", function()
    local _, lines = judge({ max_p99_wake_latency_ns = 10e6 }, one_cgroup({
      worker(4, { wake = { count = 10, p50_ns = 1e6, p99_ns = 15.2e6, max_ns = 20e6, mean_ns = 2e6 } }),
      worker(5, { wake = { count = 10, p50_ns = 1e6, p99_ns = 2e6, max_ns = 3e6, mean_ns = 1e6 } }) }))
    assert.same({ "fail max_p99_wake_latency_ns: worker 4 p99 wake latency 15.2ms above 10.0ms" }, lines)
    local status, none = judge({ max_p99_wake_latency_ns = 10e6 }, one_cgroup({ worker(6) }))
    assert.equal("inconclusive", status)
    assert.same({ "inconclusive max_p99_wake_latency_ns: no worker recorded wake latencies (only blocking work " ..
      "types do)" }, none)
  end)

  it("max_migration_ratio fails workers that migrate too often per iteration", function()
    local _, lines = judge({ max_migration_ratio = 0.05 }, one_cgroup({ worker(9, { migrations = 1200,
      iterations = 10000 }) }))
    assert.same({ "fail max_migration_ratio: worker 9 migration ratio 0.120 above 0.050 (1200 migrations in 10000 " ..
      "iterations)" }, lines)
  end)
end)

describe("checks.evaluate", function()
  it("judges nothing of a run the environment cut short: inconclusive, no checks, no post_vm", function()
    local ran = false
    local r = one_cgroup({ worker(1, { work_units = 0 }) })
    r.fault = { kind = "env", msg = "set_cpus: /sys/fs/cgroup/ktstr/a: Device or resource busy" }
    local status, lines = judge({ not_starved = true, post_vm = function() ran = true end }, r)
    assert.equal("inconclusive", status)
    assert.is_false(ran)
    assert.same({ "inconclusive env: set_cpus: /sys/fs/cgroup/ktstr/a: Device or resource busy" }, lines)
  end)

  it("calls a run the script cut short bad input (error), whatever the checks would say", function()
    local r = one_cgroup({ worker(1, { work_units = 0 }) })
    r.fault = { kind = "script", msg = "t.lua:3: ktstr.cpuset.llc(3): no LLC 3 (1 LLC)" }
    local status, lines = judge({ not_starved = true }, r)
    assert.equal("error", status)
    assert.same({ "error script: t.lua:3: ktstr.cpuset.llc(3): no LLC 3 (1 LLC)" }, lines)
    r.fault = { kind = "internal", msg = "ktstr internal error: x.lua:1: boom" }
    assert.same({ "inconclusive ktstr: ktstr internal error: x.lua:1: boom" }, select(2, judge({}, r)))
  end)

  it("merges what the test body returned, labelled run", function()
    local r = one_cgroup({ worker(1) })
    r.verdict = ktstr.skip("needs SMT")
    local status, lines = judge({}, r)
    assert.equal("skip", status)
    assert.same({ "skip run: needs SMT" }, lines)
    assert.equal("skip", (judge({ not_starved = true, post_vm = function() end }, r)))
  end)

  it("merges post_vm's verdict, its errors and a bad return value", function()
    local r = one_cgroup({ worker(1) })
    assert.same({ "fail post_vm: too few snapshots" },
      select(2, judge({ post_vm = function() return ktstr.fail("too few snapshots") end }, r)))
    assert.equal("pass", (judge({ post_vm = function(res) assert(res.cgroups[1].name == "a") end }, r)))
    local _, raised = judge({ post_vm = function() error("oops") end }, r)
    assert.matches("^fail post_vm: spec/unit/checks_spec.lua:%d+: oops$", raised[1])
    assert.same({ "fail post_vm: returned 42; return a verdict (ktstr.pass(), ktstr.fail(msg), ...) or nothing" },
      select(2, judge({ post_vm = function() return 42 end }, r)))
  end)

  it("fails post_vm for every value that is not a verdict, and for error values of any type", function()
    local r = one_cgroup({ worker(1) })
    for _, bad in ipairs({ false, 42, "pass", { status = "fail" }, ktstr.fail }) do
      local status, lines = judge({ post_vm = function() return bad end }, r)
      assert.equal("fail", status)
      assert.matches("^fail post_vm: returned ", lines[1])
    end
    local status, lines = judge({ post_vm = function() error({ code = 1 }) end }, r)
    assert.equal("fail", status)
    assert.same({ "fail post_vm: error raised with a table value: { code = 1 }" }, lines)
    assert.equal("fail", (judge({ post_vm = function() error() end }, r)))
  end)

  it("calls os.exit in post_vm bad input naming its line, and leaves os.exit as it was", function()
    local fault = require("ktstr.fault")
    local real = os.exit
    local restore = fault.guard_exit()
    local status, lines = judge({ post_vm = function() os.exit(0) end }, one_cgroup({ worker(1) }))
    restore()
    assert.equal(real, os.exit)
    assert.equal("error", status)
    assert.matches("^error post_vm: spec/unit/checks_spec.lua:%d+: os.exit%(0%) called: a test script " ..
      "cannot end ktstr", lines[1])
  end)

  it("stops a post_vm that never returns after its time bound, as bad input", function()
    local saved = checks.POST_VM_TIMEOUT_S
    checks.POST_VM_TIMEOUT_S = 0.2
    local t0 = require("ktstr.core").now()
    local status, lines = judge({ post_vm = function() while true do end end }, one_cgroup({ worker(1) }))
    checks.POST_VM_TIMEOUT_S = saved
    assert.equal("error", status)
    assert.matches("^error post_vm: spec/unit/checks_spec.lua:%d+: post_vm still running after 0.2s", lines[1])
    assert.is_true(require("ktstr.core").now() - t0 < 2)
  end)

  it("rolls up per-cgroup stats", function()
    local v = checks.evaluate(test({}), result({
      { name = "a", workers = { worker(1, { cpus = { 0, 1 }, max_gap_ns = 10e6, migrations = 1, iterations = 100 }),
        worker(2, { cpus = { 1 }, cpu_ns = 9e9, migrations = 2, iterations = 50 }) } },
      { name = "b", workers = { worker(3, { cpus = { 2 }, max_gap_ns = 21e6 }) } } }))
    assert.same({ workers = 3, cpus = 3, migrations = 6, iterations = 9150, work_units = 27000, worst_spread = 10,
      worst_gap_ms = 21, cgroups = {
        { name = "a", workers = 2, cpus = 2, spread = 10, gap_ms = 10, migrations = 3, iterations = 150,
          work_units = 18000 },
        { name = "b", workers = 1, cpus = 1, spread = 0, gap_ms = 21, migrations = 3, iterations = 9000,
          work_units = 9000 } } }, v.stats)
  end)
end)

describe("max_cgroup_spread_pct", function()
  -- Workers as a 4 s run reports them (ms): a futex ping-pong member sleeps
  -- half its wall time by design, a spinner never sleeps.
  local pid = 100
  local function w(wall, cpu, delay)
    pid = pid + 1
    return { pid = pid, wall_ns = wall * 1e6, cpu_ns = cpu * 1e6, run_delay_ns = delay and delay * 1e6,
      work_units = 1, iterations = 1, exit = { code = 0 } }
  end
  local function sleeper(cpu, delay) return w(3930, cpu, delay) end
  local function spinner(cpu) return w(3950, cpu, 3950 - cpu) end
  local function judged(cgroups)
    return judge({ max_cgroup_spread_pct = 25 }, result(cgroups))
  end

  it("judges CPU-bound cgroups only: sleepers beside them are not compared, however long they wait",
    function()
    local status, lines = judged({
      { name = "pingpong", cpus = "0-1", workers = { sleeper(1000, 2520), sleeper(980, 2470) } },
      { name = "a", cpus = "0-1", workers = { spinner(1340), spinner(1300) } },
      { name = "b", cpus = "0-1", workers = { spinner(1290), spinner(1310) } } })
    assert.same({}, lines)
    assert.equal("pass", status)
  end)

  it("fails the CPU-bound cgroup kept waiting, naming the CPUs and both waits", function()
    local status, lines = judged({
      { name = "favored", cpus = "0-1", workers = { spinner(3177), spinner(3128) } },
      { name = "plain", cpus = "0-1", workers = { spinner(790), spinner(806) } },
      { name = "alone", cpus = "2-3", workers = { spinner(100) } } })
    assert.equal("fail", status)
    assert.same({ "fail max_cgroup_spread_pct: unfair cgroups on cpus 0-1: favored waited 20.2% of " ..
      "runnable time vs plain 79.8% (spread=59.6%, threshold 25.0%)" }, lines)
  end)

  it("accepts per-cgroup fairness when worker counts differ, and fails what is fair neither way", function()
    -- one worker with a CPU to itself beside three sharing the other: equal per cgroup
    assert.equal("pass", (judged({
      { name = "one", cpus = "0-1", workers = { spinner(3900) } },
      { name = "three", cpus = "0-1", workers = { spinner(1300), spinner(1300), spinner(1300) } } })))
    local status, lines = judged({
      { name = "one", cpus = "0-1", workers = { spinner(3900) } },
      { name = "three", cpus = "0-1", workers = { spinner(400), spinner(400), spinner(400) } } })
    assert.equal("fail", status)
    assert.matches("unfair cgroups on cpus 0%-1: one waited 1%.3%% of runnable time vs three 89%.9%%", lines[1])
  end)

  it("is inconclusive for a cgroup with a worker without run delay, still judging the others", function()
    local status, lines = judged({
      { name = "a", cpus = "0-1", workers = { spinner(2000), sleeper(1000, nil) } },
      { name = "b", cpus = "0-1", workers = { spinner(2000) } },
      { name = "c", cpus = "0-1", workers = { spinner(1900) } } })
    assert.equal("inconclusive", status)
    assert.same({ "inconclusive max_cgroup_spread_pct: tid " .. pid - 2 .. " of cgroup a has no " ..
      "schedstat run delay: fairness on cpus 0-1 undefined" }, lines)
    status, lines = judged({
      { name = "a", cpus = "0-1", workers = { w(3900, 0, 0) } },
      { name = "b", cpus = "0-1", workers = { spinner(3000) } },
      { name = "c", cpus = "0-1", workers = { spinner(900) } } })
    assert.equal("fail", status)
    assert.matches("tid %d+ of cgroup a has no wall or runnable time", lines[1])
    assert.matches("unfair cgroups on cpus 0%-1: b waited 24%.1%% of runnable time vs c 77%.2%%", lines[2])
  end)

  it("compares only cgroups allowed identical CPUs; with nothing to compare it is inconclusive", function()
    local fair = { spinner(2000) }
    assert.equal("pass", (judged({
      { name = "a", cpus = "0-1", workers = { spinner(3900) } },
      { name = "b", cpus = "2-3", workers = { spinner(100) } },
      { name = "c", workers = fair }, { name = "d", workers = fair } })))
    assert.equal("fail", (judged({
      { name = "a", cpus = "0,1", workers = { spinner(3900) } },
      { name = "b", cpus = "0-1", workers = { spinner(100) } },
      { name = "c", cpus = "1-2", workers = { spinner(100) } } })))
    for _, cgroups in ipairs({
      { { name = "narrow", cpus = "0-1", workers = { spinner(1000) } },
        { name = "wide", workers = { spinner(3900) } } },
      { { name = "spin", cpus = "0-1", workers = { spinner(1000) } },
        { name = "sleepy", cpus = "0-1", workers = { sleeper(100, 3000) } } } }) do
      local status, lines = judged(cgroups)
      assert.equal("inconclusive", status)
      assert.same({ "inconclusive max_cgroup_spread_pct: no two CPU-bound cgroups (spin_wait, alu_hot, " ..
        "cache_pressure, ... runnable >= 90% of the time) share the same CPUs: nothing to compare (work " ..
        "that sleeps or yields by design is not judged here)" }, lines)
    end
  end)

  it("does not compare yielders, always runnable as they are: what they wait they gave away", function()
    local status = judged({
      { name = "cache", cpus = "0-1", work = { "cache_pressure" }, workers = { spinner(3300) } },
      { name = "yield", cpus = "0-1", work = { "yield_heavy" }, workers = { spinner(600) } },
      { name = "spin", cpus = "0-1", work = { "spin_wait" }, workers = { spinner(3200) } } })
    assert.equal("pass", status)
    assert.equal("fail", (judged({
      { name = "cache", cpus = "0-1", work = { "cache_pressure" }, workers = { spinner(3300) } },
      { name = "spin", cpus = "0-1", work = { "spin_wait", "alu_hot" }, workers = { spinner(600) } } })))
  end)
end)

describe("checks.expect (expect_err)", function()
  local T = { name = "neg", expect_err = true }
  local fail = ktstr.fail("tid 1 made no progress", "not_starved")

  it("passes when the scheduler failed, with the failure as its detail", function()
    local v = checks.expect(T, fail, "scheduler 'x' crashed", "boom")
    assert.equal("pass", v.status)
    assert.same({ check = "expect_err", status = "pass", msg = "failed as expected: scheduler 'x' crashed" },
      v.details[1])
  end)

  it("fails when the scheduler did not fail, even if a check did", function()
    assert.same({ "the scheduler did not fail" }, { (checks.expect(T, ktstr.pass()).details[1].msg:match(
      "the scheduler did not fail")) })
    assert.equal("fail", checks.expect(T, ktstr.pass()).status)
    local v = checks.expect(T, fail)
    assert.equal("fail", v.status)
    assert.matches("only a check did %(not_starved: tid 1 made no progress%)", v.details[1].msg)
  end)

  it("wants the scheduler's error to contain or match the expected text", function()
    local t = { name = "neg", expect_err = true, expect_scx_bpf_error_contains = "injected crash",
      expect_scx_bpf_error_matches = "after %d+ s" }
    assert.equal("pass", checks.expect(t, fail, "bug", "ktstr: injected crash after 1 s").status)
    local v = checks.expect(t, fail, "bug", "ktstr: dispatch stall")
    assert.equal("fail", v.status)
    assert.matches('does not contain "injected crash"', v.details[1].msg)
    v = checks.expect(t, fail, "bug", "injected crash after one s")
    assert.matches('does not match "after %%d%+ s"', v.details[1].msg)
  end)

  it("leaves tests without expect_err, script errors and inconclusives alone", function()
    assert.equal(fail, checks.expect({ name = "t" }, fail, "bug", "x"))
    local inc = ktstr.inconclusive("host busy")
    assert.equal(inc, checks.expect(T, inc, nil, nil))
  end)
end)

describe("checks.cpu_stopped", function()
  local function stopped(episode, console)
    return checks.cpu_stopped(result({}, { console = console or "",
      monitor = { summary = { stuck_episodes = { episode } } } }))
  end
  local frozen = { cpu = 2, from_t = 3.3, to_t = 7.2, samples = 39, held = 0 }

  it("blames the CPU when its own queue held tasks all along", function()
    local why = stopped({ cpu = 2, from_t = 3.3, to_t = 7.2, samples = 39, held = 1 })
    assert.matches("^cpu2 stopped %+3%.3s%.%.%+7%.2s: its clock froze with 1 task%(s%) in its own " ..
      "queue, handed to it and never run", why)
  end)

  it("blames the CPU when the kernel says that CPU's timers did not fire", function()
    local console = "[ 22.76] rcu: \tPossible timer handling issue on cpu=2 timer-softirq=6\n"
    assert.matches("kernel reports its timers did not fire", stopped(frozen, console))
    assert.is_nil(stopped(frozen, console:gsub("cpu=2", "cpu=1")))
  end)

  it("leaves a frozen CPU whose tasks sat in the scheduler's own queues to the checks", function()
    assert.is_nil(stopped(frozen))
    assert.is_nil(checks.cpu_stopped(result({})))
  end)

  it("not_judged keeps every failure as an inconclusive detail after the reason", function()
    local v = checks.not_judged({ status = "fail", details = {
      { check = "not_starved", status = "fail", msg = "tid 1 made no progress" },
      { check = "max_spread_pct", status = "inconclusive", msg = "no wall time" } } }, "cpu2 stopped")
    assert.equal("inconclusive", v.status)
    assert.same({ "guest", "cpu2 stopped" }, { v.details[1].check, v.details[1].msg })
    assert.same({ "inconclusive", "inconclusive" }, { v.details[2].status, v.details[3].status })
  end)
end)
