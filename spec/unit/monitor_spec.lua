-- monitor: summary math, stuck CPUs and their exemptions, event rates, dilation, timeline, the text block, enforce vs report-only.
local monitor = require("ktstr.host.monitor")

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

local function cpu(nr, clock, extra)
  local c = { nr_running = nr, scx_nr_running = nr, clock = clock, dsq_depth = 0, scx_flags = 0 }
  for k, v in pairs(extra or {}) do c[k] = v end
  return c
end

-- n samples 100 ms apart; fn(i) -> the CPUs of sample i (0-based) and its phase.
local function run(n, fn)
  local out = {}
  for i = 0, n - 1 do
    local cpus, phase = fn(i)
    for k, c in ipairs(cpus) do c.cpu = k - 1 end
    out[#out + 1] = { t = i / 10, phase = phase or "step 1", cpus = cpus }
  end
  return out
end

local function ticking(i) return (i + 1) * 100000000 end

-- Two busy CPUs whose clocks advance; cpu1's clock is frozen over samples 1..frozen+1.
local function frozen_cpu1(n, frozen, cpu1_extra)
  return run(n, function(i)
    local clock = (i >= 1 and i <= frozen + 1) and 12345 or ticking(i)
    return { cpu(1, ticking(i)), cpu(1, clock, cpu1_extra and cpu1_extra(i)) }
  end)
end

describe("monitor.summarize", function()
  it("computes imbalance, nr_running and DSQ depth per sample", function()
    local s = monitor.summarize(run(3, function(i)
      return ({ { cpu(2, ticking(i)), cpu(1, ticking(i), { dsq_depth = 4 }) },
        { cpu(3, ticking(i), { dsq_depth = 2 }), cpu(0, ticking(i)) },
        { cpu(1, ticking(i)), cpu(1, ticking(i)) } })[i + 1]
    end))
    assert.equal(3, s.samples)
    assert.equal(3.0, s.max_imbalance)
    assert.equal(2.0, s.avg_imbalance)
    assert.near(8 / 6, s.avg_nr_running, 1e-12)
    assert.equal(4, s.max_dsq_depth)
    assert.equal(1.0, s.avg_dsq_depth)
    assert.near(100, s.period_ms, 1e-9)
    assert.same({ "monitor OK" }, s.verdict)
  end)

  it("detects a stuck CPU after exactly sustained_samples samples without clock progress", function()
    assert.equal(0, monitor.summarize(frozen_cpu1(10, 4)).stuck)
    local s = monitor.summarize(frozen_cpu1(10, 5))
    assert.equal(1, s.stuck)
    assert.same({ { cpu = 1, from_t = 0.1, to_t = 0.6, samples = 5, held = 0 } }, s.stuck_episodes)
    assert.same({ "rq clock stuck on cpu1 for 5 samples (+0.1s..+0.6s) with tasks runnable" }, s.verdict)
    assert.equal(0, monitor.summarize(frozen_cpu1(10, 5), { sustained_samples = 6 }).stuck)
  end)

  it("counts the tasks a stuck CPU held in its own local DSQ all along (the fewest seen)", function()
    local function queued(i) return { dsq_depth = i == 3 and 1 or 2 } end
    local s = monitor.summarize(frozen_cpu1(10, 5, queued))
    assert.equal(1, s.stuck_episodes[1].held)
    local function drained(i) return { dsq_depth = i == 4 and 0 or 2 } end
    assert.equal(0, monitor.summarize(frozen_cpu1(10, 5, drained)).stuck_episodes[1].held)
  end)

  it("exempts idle CPUs", function()
    local s = monitor.summarize(run(10, function(i) return { cpu(1, ticking(i)), cpu(0, 777) } end))
    assert.equal(0, s.stuck)
  end)

  it("exempts vCPUs the host preempted, but not vCPUs that ran", function()
    local function preempted(i) return { vcpu = { run_ns = i * 1000000, delay_ns = i * 80000000 } } end
    assert.equal(0, monitor.summarize(frozen_cpu1(10, 6, preempted)).stuck)
    local function ran(i) return { vcpu = { run_ns = i * 50000000, delay_ns = i * 80000000 } } end
    assert.equal(1, monitor.summarize(frozen_cpu1(10, 6, ran)).stuck)
  end)

  it("totals event counters over the span and gives rates per second, a counter reset counting nothing", function()
    local s = monitor.summarize(run(11, function(i)
      local kl = i <= 5 and i * 5 or (i - 6) * 5  -- cpu0 restarts its counters at sample 6
      return { cpu(1, ticking(i), { events = { dispatch_keep_last = kl, select_cpu_fallback = 0 } }),
        cpu(1, ticking(i), { events = { dispatch_keep_last = i * 5, select_cpu_fallback = i } }) }
    end))
    assert.equal(1.0, s.span_s)
    assert.equal(25 + 20 + 50, s.events.dispatch_keep_last)
    assert.equal(10, s.events.select_cpu_fallback)
    assert.near(95, s.event_rates.dispatch_keep_last, 1e-9)
    assert.near(10, s.event_rates.select_cpu_fallback, 1e-9)
  end)

  it("has no events without a scheduler", function()
    assert.is_nil(monitor.summarize(frozen_cpu1(3, 0)).events)
  end)

  it("measures host dilation from the vCPU threads' run and delay", function()
    local s = monitor.summarize(run(5, function(i)
      local v = { vcpu = { run_ns = i * 100000000, delay_ns = i * 85000000 } }
      return { cpu(1, ticking(i), v), cpu(1, ticking(i), v) }
    end))
    assert.near(1.85, s.dilation, 1e-12)
    assert.same({ run_ns = 800000000, delay_ns = 680000000 }, s.host)
    assert.is_nil(monitor.summarize(frozen_cpu1(3, 0)).dilation)
  end)

  it("gives one timeline entry per phase, intervals counted in the phase they end in", function()
    local s = monitor.summarize(run(11, function(i)
      local phase = i <= 4 and "step 1" or "step 2"
      local nr = i <= 4 and 2 or 1
      return { cpu(nr, ticking(i), { events = { select_cpu_fallback = 0, dispatch_keep_last = i * 10 } }),
        cpu(1, ticking(i), { dsq_depth = i <= 4 and 3 or 0 }) }, phase
    end))
    assert.equal(2, #s.timeline)
    local a, b = s.timeline[1], s.timeline[2]
    assert.same({ "step 1", 0.0, 0.4, 5, 2.0, 2.0, 3, 1.5 }, { a.phase, a.from_t, a.to_t, a.samples, a.avg_imbalance,
      a.max_imbalance, a.max_dsq_depth, a.avg_nr_running })
    assert.near(0.4, a.duration_s, 1e-12)
    assert.near(100, a.keep_last_rate, 1e-9)
    assert.same({ "step 2", 0.4, 1.0, 6, 1.0, 0, 1.0 }, { b.phase, b.from_t, b.to_t, b.samples, b.max_imbalance,
      b.max_dsq_depth, b.avg_nr_running })
    assert.near(0.6, b.duration_s, 1e-12)
    assert.near(100, b.keep_last_rate, 1e-9)
    assert.same({ "step 1: +0.0s..+0.4s (0.4s) samples=5 imbalance=2.00 max=2.00 max_dsq=3 nr_running/cpu=1.5 " ..
      "fallback=0.0/s keep_last=100.0/s",
      "step 2: +0.4s..+1.0s (0.6s) samples=6 imbalance=1.00 max=1.00 max_dsq=0 nr_running/cpu=1.0 " ..
      "fallback=0.0/s keep_last=100.0/s" }, monitor.format_timeline(s))
  end)

  it("skips samples with an implausible DSQ depth", function()
    local samples = frozen_cpu1(3, 0)
    samples[2].cpus[1].dsq_depth = 20000
    local s = monitor.summarize(samples)
    assert.equal(2, s.samples)
    assert.equal(1, s.skipped)
    assert.equal(0, s.max_dsq_depth)
  end)

  it("is inconclusive with no samples or an uninitialized guest", function()
    local s = monitor.summarize({})
    assert.equal("monitor: no samples", s.inconclusive)
    assert.same({ "samples=0", "verdict: monitor: no samples" }, monitor.format(s))
    local zeros = monitor.summarize(run(4, function() return { cpu(0, 0), cpu(0, 0) } end))
    assert.equal("monitor: guest not yet initialized (every rq clock reads 0)", zeros.inconclusive)
    local junk = run(2, function() return { cpu(0, 5, { dsq_depth = 99999 }) } end)
    assert.same({ "samples=0 skipped=2", "verdict: monitor: no samples" }, monitor.format(monitor.summarize(junk)))
  end)

  it("validates thresholds", function()
    assert.matches("monitor thresholds: unknown key 'max_imbalance' %(did you mean 'max_imbalance_ratio'%?%)",
      err_of(monitor.summarize, {}, { max_imbalance = 2 }))
    assert.matches("monitor thresholds: sustained_samples: expected an integer >= 1, got 0",
      err_of(monitor.summarize, {}, { sustained_samples = 0 }))
  end)
end)

describe("monitor.format", function()
  -- 41 samples over 4 s on two CPUs: 13 with 2+1 tasks, 28 with 1+1; keep_last and
  -- refill_slice_dfl 210 each; the host delays the vCPUs 0.85 ns per ns run.
  local function tutorial()
    return run(41, function(i)
      local n = i < 13 and 2 or 1
      local ev0 = { select_cpu_fallback = 0, dispatch_keep_last = i * 5, refill_slice_dfl = i * 5,
        dispatch_local_dsq_offline = 0 }
      local late = i >= 20 and 10 or 0
      local ev1 = { select_cpu_fallback = 0, dispatch_keep_last = late, refill_slice_dfl = late,
        dispatch_local_dsq_offline = 0 }
      local v = { run_ns = i * 100000000, delay_ns = i * 85000000 }
      return { cpu(n, ticking(i), { events = ev0, vcpu = v }), cpu(1, ticking(i), { events = ev1, vcpu = v }) }
    end)
  end

  it("prints the summary block in ktstr's shape", function()
    assert.same({
      "samples=41 max_imbalance=2.00 max_dsq_depth=0 stuck=0",
      "avg: imbalance=1.32 nr_running/cpu=1.2 dsq/cpu=0.0",
      "events: fallback=0 (0.0/s) keep_last=210 (52.5/s) offline=0",
      "events+: refill_slice_dfl=210",
      "host: dilation=1.85 period=100ms",
      "verdict: monitor OK",
    }, monitor.format(monitor.summarize(tutorial())))
  end)

  it("adds the guest's schedstat line: context switches, run delay per second, wakeups", function()
    -- over 4 s, each of two CPUs: 50 switches, 2 ms of run delay, 20 wakeups, 1 idle per 0.1 s
    local samples = run(41, function(i)
      local ss = { csw = i * 50, run_delay_ns = i * 2000000, pcount = i * 50, ttwu = i * 20,
        goidle = i }
      return { cpu(1, ticking(i), { schedstat = ss }), cpu(1, ticking(i), { schedstat = ss }) }
    end)
    local lines = monitor.format(monitor.summarize(samples))
    assert.equal("schedstat: csw=4000 (1000/s) run_delay=40.0ms/s ttwu=1600 goidle=80", lines[4])
  end)

  it("leaves out events+ when no other counter moved and says what is unknown", function()
    local lines = monitor.format(monitor.summarize(frozen_cpu1(3, 0)))
    assert.same({ "samples=3 max_imbalance=1.00 max_dsq_depth=0 stuck=0",
      "avg: imbalance=1.00 nr_running/cpu=1.0 dsq/cpu=0.0", "events: none (no scheduler attached)",
      "host: dilation=n/a period=100ms", "verdict: monitor OK" }, lines)
  end)
end)

describe("monitor.outcomes", function()
  -- cpu0 runs 5 tasks and cpu1 one over samples 2..(1+n): imbalance 5.
  local function imbalanced(n)
    return run(12, function(i)
      return { cpu((i >= 2 and i <= n + 1) and 5 or 1, ticking(i)), cpu(1, ticking(i)) }
    end)
  end

  local MSG = "imbalance ratio 5.00 for 5 consecutive samples (+0.2s..+0.6s; peak 5.00), above max_imbalance_ratio=4.0"

  it("passes when nothing is violated", function()
    assert.same({ { status = "pass", details = {} } }, monitor.outcomes(monitor.summarize(imbalanced(4)), nil, true))
  end)

  it("fails on a sustained violation when enforced", function()
    local s = monitor.summarize(imbalanced(5))
    assert.same({ MSG }, s.verdict)
    assert.same({ { status = "fail", details = { { check = "monitor", status = "fail", msg = MSG } } } },
      monitor.outcomes(s, nil, true))
  end)

  it("only reports a violation when not enforced", function()
    local s = monitor.summarize(imbalanced(5))
    assert.same({ { status = "pass", details = { { check = "monitor", status = "pass", msg = "report-only: " .. MSG } } } },
      monitor.outcomes(s, monitor.DEFAULTS, false))
  end)

  it("judges against the thresholds it is given", function()
    local s = monitor.summarize(imbalanced(5))
    assert.same({ status = "pass", details = {} }, monitor.outcomes(s, { max_imbalance_ratio = 5 }, true)[1])
    assert.matches("sustained_samples 3 differs from the 5 the summary was made with",
      err_of(monitor.outcomes, s, { sustained_samples = 3 }, true))
  end)

  it("fails sustained DSQ depth and event rates, and stalls only with fail_on_stall", function()
    -- fallback rates per interval: 100, 300, 500, ... /s; the best run of 5 starts at 500
    local s = monitor.summarize(run(8, function(i)
      return { cpu(1, ticking(i), { dsq_depth = 60 + i, events = { select_cpu_fallback = i * i * 10,
        dispatch_keep_last = 0 } }), cpu(1, i >= 2 and 5 or ticking(i)) }
    end))
    local msgs = {}
    for _, o in ipairs(monitor.outcomes(s, nil, true)) do msgs[#msgs + 1] = o.details[1].msg end
    assert.same({
      "local DSQ depth 63 for 5 consecutive samples (+0.3s..+0.7s; peak 67 on cpu0), above max_local_dsq_depth=50",
      "rq clock stuck on cpu1 for 5 samples (+0.2s..+0.7s) with tasks runnable",
      "select_cpu_fallback 500.0/s for 5 consecutive intervals (+0.2s..+0.7s; peak 1300.0/s), above " ..
        "max_fallback_rate=200",
    }, msgs)
    assert.equal(2, #monitor.outcomes(s, { fail_on_stall = false }, true))
  end)

  it("is inconclusive without samples only when enforced", function()
    local s = monitor.summarize({})
    assert.same({ { status = "inconclusive", details = { { check = "monitor", status = "inconclusive",
      msg = "monitor: no samples" } } } }, monitor.outcomes(s, nil, true))
    assert.equal("pass", monitor.outcomes(s, nil, false)[1].status)
  end)
end)

describe("monitor.host_delay", function()
  local samples = run(3, function(i)
    return { cpu(1, ticking(i)), cpu(1, ticking(i), { vcpu = { run_ns = 0, delay_ns = math.min(i, 1) * 100000000 } }) }
  end)

  it("interpolates the vCPU thread's run delay between samples, in ms", function()
    assert.near(50, monitor.host_delay(samples, 1, 0.05, 0.15), 1e-9)
    assert.near(100, monitor.host_delay(samples, 1, 0, 0.2), 1e-9)
    assert.near(0, monitor.host_delay(samples, 1, 0.1, 0.5), 1e-9)
  end)

  it("is nil without vCPU data", function()
    assert.is_nil(monitor.host_delay(samples, 0, 0, 0.2))
  end)
end)
