-- The wake/IPC work types on the host: what each one does beyond progress, and its bad parameters refused.
local core = require("ktstr.core")
local work = require("ktstr.work")

local SCHED = { other = 0, fifo = 1, batch = 3, idle = 5, deadline = 6 }

-- Field n (1-based) of /proc/pid/stat, past the "(comm)".
local function stat_field(pid, n)
  local f = assert(io.open("/proc/" .. pid .. "/stat"))
  local s = f:read("a")
  f:close()
  local i = 2
  for v in s:match("%) (.*)$"):gmatch("%S+") do
    i = i + 1
    if i == n then return tonumber(v) end
  end
end

local function policy(pid) return stat_field(pid, 41) end

-- Runs one group (or n workers) for secs; during(ws) runs halfway through.
local function run(name, params, opts)
  opts = opts or {}
  local w = assert(core.work_resolve(name, params or {}))
  local ws = assert(core.workers_spawn{ n = opts.n or w.group_size, work = w, cpus = opts.cpus })
  local secs = opts.secs or 0.5
  core.sleep(secs / 2)
  local seen = opts.during and opts.during(ws)
  core.sleep(secs / 2)
  assert(ws:stop(2))
  local reports = ws:reports()
  ws:close()
  for _, r in ipairs(reports) do
    assert.is_nil(r.error)
    assert.same({ code = 0 }, r.exit)
  end
  return reports, seen
end

local function units(reports)
  local u = {}
  for i, r in ipairs(reports) do u[i] = r.work_units end
  return u
end

-- A ring that passes its token in order: counts fall by at most one, once,
-- going round from member 0 (the members before the holder are one ahead).
local function in_ring_order(u)
  local drops = 0
  for i = 2, #u do
    if u[i] ~= u[i - 1] then
      assert.equal(u[i - 1] - 1, u[i], "ring counts " .. table.concat(u, " "))
      drops = drops + 1
    end
  end
  assert.is_true(drops <= 1, "ring counts " .. table.concat(u, " "))
end

local function load_error(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  return tostring(err)
end

describe("wake_chain", function()
  for _, wake in ipairs({ "pipe", "futex" }) do
    it(("passes the token round a ring of 5 in order (%s wakes)"):format(wake), function()
      local r = run("wake_chain", { depth = 5, wake = wake, work_per_hop = 20000 })
      local u = units(r)
      assert.is_true(u[1] > 10, "hops: " .. table.concat(u, " "))
      in_ring_order(u)
      for _, w in ipairs(r) do
        assert.is_true(w.wake.count >= w.work_units - 1, "every hop but the first is a wake")
      end
    end)
  end

  it("runs several chains side by side, each in order", function()
    local r = run("wake_chain", { depth = 3, wake = "futex" }, { n = 6 })
    in_ring_order({ r[1].work_units, r[2].work_units, r[3].work_units })
    in_ring_order({ r[4].work_units, r[5].work_units, r[6].work_units })
  end)
end)

describe("asymmetric_waker", function()
  it("puts the waker and the wakee in their classes, and both wake", function()
    local r, seen = run("asymmetric_waker", { waker_class = "batch", wakee_class = "idle" }, {
      during = function(ws)
        local pids = ws:pids()
        return { policy(pids[1]), policy(pids[2]) }
      end })
    assert.same({ SCHED.batch, SCHED.idle }, seen)
    assert.is_true(r[1].wake.count > 0 and r[2].wake.count > 0)
    assert.is_true(math.abs(r[1].work_units - r[2].work_units) <= 1)
  end)

  it("runs an rt waker at FIFO 50 and a deadline wakee", function()
    local r, seen = run("asymmetric_waker", { waker_class = "rt", wakee_class = "deadline" }, {
      during = function(ws)
        local pids = ws:pids()
        return { policy(pids[1]), stat_field(pids[1], 40), policy(pids[2]) }
      end })
    assert.same({ SCHED.fifo, 50, SCHED.deadline }, seen)
    assert.is_true(r[2].work_units > 0)
  end)

  it("fails the spawn, naming the class, when the class cannot be set", function()
    -- SCHED_DEADLINE needs every CPU of the root domain in its affinity
    local f = assert(io.open("/sys/devices/system/cpu/online"))
    local online = f:read("l")
    f:close()
    if online == "0" then return pending("one CPU: cpus 0 is the whole root domain") end
    local w = assert(core.work_resolve("asymmetric_waker", { wakee_class = "deadline" }))
    local ws, err = core.workers_spawn{ n = 2, work = w, cpus = "0" }
    if ws then ws:close() end
    assert.is_nil(ws)
    assert.matches("worker 1: asymmetric_waker: wakee: class deadline: sched_setattr: ", err)
    assert.matches("whole root domain", err)
  end)
end)

describe("thundering_herd", function()
  it("wakes the whole herd once per batch, then the group ends by itself", function()
    local r = run("thundering_herd", { waiters = 5, batches = 20, inter_batch_ms = 1 }, { secs = 1 })
    assert.equal(20, r[1].work_units)
    for i = 2, 6 do
      assert.equal("done", r[i].state)
      assert.is_true(r[i].work_units > 0 and r[i].work_units <= 20)
      assert.equal(r[i].work_units, r[i].wake.count)
    end
  end)
end)

describe("epoll_storm", function()
  it("hands each event to one consumer: the consumers read what the producers wrote", function()
    local r = run("epoll_storm", { producers = 2, consumers = 3, events_per_burst = 2 })
    local written = (r[1].work_units + r[2].work_units) * 2
    local read, wakes = 0, 0
    for i = 3, 5 do
      assert.is_true(r[i].work_units > 0)
      read = read + r[i].work_units
      wakes = wakes + (r[i].wake and r[i].wake.count or 0)
    end
    assert.is_true(read <= written, ("read %d of %d"):format(read, written))
    assert.is_true(read >= written / 2, ("read %d of %d"):format(read, written))
    assert.is_true(wakes > 0 and wakes <= read, ("%d wakes for %d events"):format(wakes, read))
  end)
end)

describe("signal_storm", function()
  it("signals the partner: each receives what the other sent (pending ones merge)", function()
    local r = run("signal_storm", { signals_per_iter = 4, work_iters = 4096 })
    for i, w in ipairs(r) do
      local other = r[3 - i]
      assert.is_true(w.metrics.signals_received > 0)
      assert.is_true(w.metrics.signals_received <= other.metrics.signals_sent)
      -- the stop may cut the last burst short
      assert.is_true(w.metrics.signals_sent >= w.work_units * 4)
      assert.is_true(w.metrics.signals_sent < (w.work_units + 1) * 4)
    end
  end)
end)

describe("fan_out_compute", function()
  it("wakes every receiver each round and waits for all of them", function()
    local r = run("fan_out_compute", { fan_out = 3, cache_footprint_kib = 64, operations = 2 })
    assert.is_true(r[2].work_units > 0)
    for i = 2, 4 do
      assert.is_true(math.abs(r[i].work_units - r[2].work_units) <= 1)
      assert.is_true(r[1].work_units >= r[i].work_units)
      assert.is_true(r[1].work_units <= r[i].work_units + 1)
    end
  end)
end)

describe("cache_pipe", function()
  it("alternates the pair over the pipe", function()
    local r = run("cache_pipe", { size_kib = 64, burst_iters = 256 })
    assert.is_true(r[1].work_units > 10)
    in_ring_order(units(r))
  end)
end)

describe("producer_consumer_imbalance", function()
  it("fills the queue to its target and drops when the consumer is slow", function()
    local r = run("producer_consumer_imbalance", { producers = 2, consumers = 1,
      produce_rate_hz = 5000, consume_iters = 1 << 22, queue_depth_target = 8 })
    for i = 1, 2 do
      assert.equal(8, r[i].metrics.queue_depth_max)
      assert.is_true(r[i].metrics.dropped > 0)
    end
    assert.is_true(r[3].work_units > 0)
  end)

  it("keeps up without drops when the consumers are fast", function()
    local r = run("producer_consumer_imbalance", { produce_rate_hz = 200, consume_iters = 16 })
    assert.equal(0, r[1].metrics.dropped + r[2].metrics.dropped)
    assert.is_table(r[3].wake, "the consumer slept on the empty queue")
  end)
end)

describe("preempt_storm", function()
  it("runs member 0 at SCHED_FIFO 1, sleeping between bursts, and the others fair", function()
    local r, seen = run("preempt_storm", { cfs_workers = 2, rt_sleep_us = 500 }, {
      during = function(ws)
        local pids = ws:pids()
        return { policy(pids[1]), stat_field(pids[1], 40), policy(pids[2]), policy(pids[3]) }
      end })
    assert.same({ SCHED.fifo, 1, SCHED.other, SCHED.other }, seen)
    assert.is_true(r[1].wake.count > 0)
    assert.is_nil(r[2].wake)
  end)
end)

describe("ipc_variance", function()
  it("alternates hot and cold phases, a unit per pair", function()
    local r = run("ipc_variance", { hot_iters = 1000, cold_iters = 100, period_iters = 4 })
    assert.is_true(r[1].work_units > 100)
    assert.equal(r[1].work_units, r[1].iterations)
  end)
end)

describe("schbench", function()
  it("reports wakeup and request percentiles of its message and worker threads", function()
    local r = run("schbench", { message_threads = 2, worker_threads = 2,
      cache_footprint_kib = 64, operations = 1 }, { secs = 1 })
    local m = r[1].metrics
    print(("# schbench on the host: %d requests, %.0f rps, wakeup p50/p90/p99 %.1f/%.1f/%.1f us, " ..
      "request p50/p99 %.1f/%.1f us"):format(m.loop_count, m.rps, m.wakeup_p50_us,
      m.wakeup_p90_us, m.wakeup_p99_us, m.request_p50_us, m.request_p99_us))
    assert.equal(4, m.worker_threads)
    assert.is_true(m.loop_count > 0)
    assert.equal(r[1].work_units, m.loop_count)
    assert.is_true(m.rps > 0)
    assert.is_true(m.wakeup_p50_us <= m.wakeup_p90_us and m.wakeup_p90_us <= m.wakeup_p99_us)
    assert.is_true(m.wakeup_p99_us <= m.wakeup_max_us)
    assert.is_true(m.request_p50_us <= m.request_p99_us and m.request_p99_us <= m.request_max_us)
    -- a request holds a 100 us think time: no request is quicker
    assert.is_true(m.request_p50_us >= 100)
    assert.is_true(r[1].wake.count > 0)
    assert.is_number(m.sched_delay_worker_us)
  end)

  it("sizes its worker threads to the worker's CPUs by default", function()
    local r = run("schbench", { cache_footprint_kib = 16 }, { cpus = "0" })
    assert.equal(1, r[1].metrics.worker_threads)
  end)
end)

describe("bad parameters are refused when the script makes the work", function()
  local W = work.api
  local cases = {
    { function() W.wake_chain{ depth = 1 } end, "ktstr.work.wake_chain: depth: expected an integer >= 2, got 1" },
    { function() W.wake_chain{ depth = 17 } end, "wake_chain.depth: 17 is out of range (2..16)" },
    { function() W.wake_chain{ wake = "pipes" } end,
      "ktstr.work.wake_chain: wake: unknown choice 'pipes' (did you mean 'pipe'?)" },
    { function() W.wake_chain{ work_per_hop = 0 } end, "work_per_hop: expected a duration > 0" },
    { function() W.asymmetric_waker{ waker_class = "fifo" } end,
      "waker_class: unknown choice 'fifo' (valid: cfs, batch, idle, rt, deadline, ext)" },
    { function() W.thundering_herd{ waiters = 16 } end,
      "thundering_herd.waiters: 16 is out of range (1..15)" },
    { function() W.thundering_herd{ batches = 0 } end, "batches: expected an integer >= 1, got 0" },
    { function() W.epoll_storm{ producers = 8, consumers = 9 } end,
      "epoll_storm.consumers: producers 8 + consumers 9 is more than 16 workers in a group" },
    { function() W.signal_storm{ signals_per_iter = 0 } end, "signals_per_iter: expected an integer >= 1" },
    { function() W.fan_out_compute{ fan_out = 16 } end, "fan_out_compute.fan_out: 16 is out of range" },
    { function() W.fan_out_compute{ cache_footprint_kib = 65537 } end,
      "fan_out_compute.cache_footprint_kib: 65537 is out of range (1..65536)" },
    { function() W.cache_pipe{ size_kib = 0 } end, "size_kib: expected an integer >= 1, got 0" },
    { function() W.ipc_variance{ hot_iters = 0 } end, "hot_iters: expected an integer >= 1, got 0" },
    { function() W.producer_consumer_imbalance{ producers = 15, consumers = 2 } end,
      "producer_consumer_imbalance.consumers: producers 15 + consumers 2 is more than 16" },
    { function() W.producer_consumer_imbalance{ queue_depth_target = 0 } end,
      "queue_depth_target: expected an integer >= 1, got 0" },
    { function() W.preempt_storm{ rt_sleep_us = 0 } end, "rt_sleep_us: expected an integer >= 1, got 0" },
    { function() W.schbench{ message_threads = 0 } end, "message_threads: expected an integer >= 1" },
    { function() W.schbench{ message_threads = 2, worker_threads = 513 } end,
      "schbench.worker_threads: 2 message threads x 513 workers is more than 1024 threads" },
    { function() W.schbench{ skip_locking = 1 } end, "skip_locking: expected true or false, got 1" },
    { function() W.schbench{ workers = 2 } end,
      "ktstr.work.schbench: unknown key 'workers' (valid: cache_footprint_kib, message_threads," },
  }
  for _, c in ipairs(cases) do
    it(c[2], function()
      local err = load_error(c[1])
      assert.is_truthy(err:find(c[2], 1, true), err)
    end)
  end
end)
