-- Worker sets on the host, without cgroups: spawn, telemetry, stop, reap, errors.
local core = require("ktstr.core")
local cjson = require("cjson")

local spawned = {}   -- every pid a test started, checked after each test

local function spawn(t)
  local ws, err, code = core.workers_spawn(t)
  if ws then
    for _, pid in ipairs(ws:pids()) do spawned[#spawned + 1] = pid end
  end
  return ws, err, code
end

local function alive(pid)
  local f = io.open("/proc/" .. pid .. "/stat")
  if not f then return false end
  f:close()
  return true
end

-- Field n (1-based) of /proc/pid/stat, past the "(comm)".
local function stat_field(pid, n)
  local f = assert(io.open("/proc/" .. pid .. "/stat"))
  local s = f:read("a")
  f:close()
  local rest = s:match("%) (.*)$")
  local i = 2
  for v in rest:gmatch("%S+") do
    i = i + 1
    if i == n then return v end
  end
end

local function comm_of(pid)
  local f = assert(io.open("/proc/" .. pid .. "/comm"))
  local s = f:read("l")
  f:close()
  return s
end

local function sum_units(reports)
  local n = 0
  for _, r in ipairs(reports) do n = n + r.work_units end
  return n
end

-- Polls fn until it returns a truthy value or the deadline passes.
local function eventually(timeout, fn)
  local deadline = core.now() + timeout
  repeat
    local v = fn()
    if v then return v end
    core.sleep(0.01)
  until core.now() > deadline
  return fn()
end

local function dumped(fn)
  return string.dump(fn)
end

describe("worker sets on the host", function()
  after_each(function()
    collectgarbage()
    collectgarbage()
    for _, pid in ipairs(spawned) do
      assert.is_false(alive(pid), "worker " .. pid .. " left behind")
    end
    spawned = {}
  end)

  it("run two spin_wait workers that report progress, CPU time and their CPUs", function()
    local ws <close> = assert(spawn({ n = 2, work = "spin_wait" }))
    core.sleep(0.3)
    assert.is_true(ws:stop())
    local reports = ws:reports()
    assert.are.equal(2, #reports)
    for i, r in ipairs(reports) do
      assert.are.equal(i - 1, r.index)
      assert.are.equal("spin_wait", r.work)
      assert.are.equal("done", r.state)
      assert.is_true(r.work_units > 0)
      assert.are.equal(r.work_units, r.iterations)
      assert.is_true(r.wall_ns >= 0.25e9 and r.wall_ns < 5e9, "wall " .. r.wall_ns)
      assert.is_true(r.cpu_ns > 0 and r.cpu_ns <= r.wall_ns * 1.05)
      local schedstat = io.open("/proc/self/schedstat")
      if schedstat then  -- run delay fits in wall time; nil without schedstat
        schedstat:close()
        assert.is_true(r.run_delay_ns >= 0 and r.run_delay_ns + r.cpu_ns <= r.wall_ns * 1.05)
        assert.is_true(r.slices >= 1)
      else
        assert.is_nil(r.run_delay_ns)
      end
      assert.is_true(#r.cpus >= 1)
      assert.is_true(r.max_gap_ns > 0)
      assert.is_nil(r.wake)
      assert.are.same({ code = 0 }, r.exit)
      assert.is_nil(r.error)
    end
  end)

  it("give live snapshots that grow while the workers run", function()
    local ws <close> = assert(spawn({ n = 1, work = "spin_wait" }))
    local first = eventually(2, function()
      local r = ws:reports()[1]
      return r.work_units > 0 and r
    end)
    assert.is_truthy(first, "no progress within 2 s")
    assert.are.equal("running", first.state)
    assert.is_nil(first.exit)
    local later = eventually(2, function()
      local r = ws:reports()[1]
      return r.work_units > first.work_units and r.wall_ns > first.wall_ns and r
    end)
    assert.is_truthy(later, "the snapshot did not move")
    assert.is_true(later.cpu_ns > 0)
  end)

  it("serialize reports with lua-cjson", function()
    local ws <close> = assert(spawn({ n = 2, work = "spin_wait" }))
    core.sleep(0.05)
    ws:stop()
    local back = cjson.decode(cjson.encode(ws:reports()))
    assert.are.equal(2, #back)
    assert.are.equal(ws:reports()[2].work_units, back[2].work_units)
  end)

  it("take a table from core.work_resolve as the work", function()
    local w = assert(core.work_resolve("futex_ping_pong", { spin_iters = 256 }))
    local ws <close> = assert(spawn({ n = 2, work = w }))
    core.sleep(0.2)
    ws:stop()
    for _, r in ipairs(ws:reports()) do
      assert.are.equal("futex_ping_pong", r.work)
      assert.is_true(r.work_units > 0)
    end
  end)

  it("hold placed workers at the start barrier until start()", function()
    local ws <close> = assert(spawn({ n = 2, work = "spin_wait", start = false }))
    core.sleep(0.1)
    for _, r in ipairs(ws:reports()) do
      assert.are.equal("placed", r.state)
      assert.are.equal(0, r.work_units)
    end
    assert.is_true(ws:start())
    assert.is_truthy(eventually(2, function() return sum_units(ws:reports()) > 0 end))
  end)

  it("reap every worker on close, without stop, and close twice is harmless", function()
    local ws = assert(spawn({ n = 3, work = "spin_wait" }))
    local pids = ws:pids()
    ws:close()
    ws:close()
    for _, pid in ipairs(pids) do assert.is_false(alive(pid)) end
    assert.matches("closed", tostring(ws))
    assert.has_error(function() ws:reports() end, "workers: already closed")
  end)

  it("reap the workers when the owning object is collected", function()
    local pids = assert(spawn({ n = 2, work = "spin_wait" })):pids()
    collectgarbage()
    collectgarbage()
    for _, pid in ipairs(pids) do assert.is_false(alive(pid)) end
  end)

  it("name workers ktstr-<type> unless comm is given", function()
    local a <close> = assert(spawn({ n = 1, work = "spin_wait", start = false }))
    local b <close> = assert(spawn({ n = 1, work = "spin_wait", comm = "mycomm", start = false }))
    assert.are.equal("ktstr-spin_wait", comm_of(a:pids()[1]))
    assert.are.equal("mycomm", comm_of(b:pids()[1]))
  end)

  it("apply nice, policy and affinity before the start", function()
    local ws <close> = assert(spawn({ n = 1, work = "spin_wait", nice = 7,
      policy = "batch", cpus = "0", start = false }))
    local pid = ws:pids()[1]
    assert.are.equal("7", stat_field(pid, 19))     -- nice
    assert.are.equal("3", stat_field(pid, 41))     -- SCHED_BATCH
    ws:start()
    core.sleep(0.1)
    ws:stop()
    assert.are.same({ 0 }, ws:reports()[1].cpus)
  end)

  it("record wake latencies for a sleeping work type", function()
    local ws <close> = assert(spawn({ n = 1, work = "idle_churn" }))
    assert.is_truthy(eventually(3, function()
      local w = ws:reports()[1].wake
      return w and w.count >= 5
    end))
    ws:stop()
    local w = ws:reports()[1].wake
    assert.is_true(w.p99_ns > 0 and w.p50_ns <= w.p99_ns and w.p99_ns <= w.max_ns)
    assert.is_true(w.mean_ns > 0)
  end)

  it("run custom Lua work that counts exactly the units it reports", function()
    local ws <close> = assert(spawn({ n = 2, lua = dumped(function(w)
      local c = require("ktstr.core")
      for _ = 1, 1000 do w:units(1) end
      while not w:stop() do c.sleep(0.005) end
    end) }))
    assert.is_truthy(eventually(5, function() return sum_units(ws:reports()) == 2000 end))
    assert.is_true(ws:stop())
    for i, r in ipairs(ws:reports()) do
      assert.are.equal(1000, r.work_units)
      assert.are.equal("lua", r.work)
      assert.are.equal(i - 1, r.index)
      assert.are.same({ code = 0 }, r.exit)
    end
  end)

  it("take custom Lua work as source text, with the worker's index and wakes", function()
    local ws <close> = assert(spawn({ n = 2, lua = [[
      local w = ...
      w:units(w:index() + 10)
      w:wake(1000)
      w:wake(3000)
      while not w:stop() do require("ktstr.core").sleep(0.005) end
    ]] }))
    assert.is_truthy(eventually(5, function() return sum_units(ws:reports()) == 21 end))
    ws:stop()
    local r = ws:reports()
    assert.are.equal(10, r[1].work_units)
    assert.are.equal(11, r[2].work_units)
    assert.are.equal(2, r[1].wake.count)
    assert.are.equal(3000, r[1].wake.max_ns)
    assert.are.equal(2000, r[1].wake.mean_ns)
  end)

  it("end a worker whose Lua errors with the message in its report, others keep their data", function()
    local ws <close> = assert(spawn({ n = 2, lua = dumped(function(w)
      local c = require("ktstr.core")
      w:units(5)
      if w:index() == 1 then error("boom in worker") end
      while not w:stop() do c.sleep(0.005) end
    end) }))
    assert.is_truthy(eventually(5, function() return ws:reports()[2].exit end))
    ws:stop()
    local r = ws:reports()
    assert.are.same({ code = 0 }, r[1].exit)
    assert.is_nil(r[1].error)
    assert.are.equal(5, r[1].work_units)
    assert.are.same({ code = 1 }, r[2].exit)
    assert.matches("boom in worker", r[2].error)
    assert.are.equal(5, r[2].work_units)
  end)

  it("report a worker killed by a signal as crashed while the others keep running", function()
    local ws <close> = assert(spawn({ n = 3, work = "spin_wait" }))
    core.sleep(0.1)
    local victim = ws:pids()[2]
    os.execute("kill -SEGV " .. victim)
    assert.is_truthy(eventually(3, function() return ws:reports()[2].exit end))
    local mid = ws:reports()
    assert.is_nil(mid[1].exit)
    assert.is_true(ws:stop())
    local r = ws:reports()
    assert.are.equal(11, r[2].exit.signal)
    assert.is_true(r[2].exit.killed)
    assert.matches("signal 11", r[2].error)
    assert.is_true(r[2].work_units > 0, "the crashed worker keeps its counters")
    for _, i in ipairs({ 1, 3 }) do
      assert.are.same({ code = 0 }, r[i].exit)
      assert.is_true(r[i].work_units > mid[i].work_units)
    end
  end)

  it("kill a worker that ignores stop once the timeout passes", function()
    local ws <close> = assert(spawn({ n = 1, lua = "while true do end" }))
    core.sleep(0.05)
    local t0 = core.now()
    assert.is_true(ws:stop(0.2))
    assert.is_true(core.now() - t0 < 3)
    local e = ws:reports()[1].exit
    assert.are.same({ killed = true, signal = 9, by_stop = true }, e)
    assert.is_nil(ws:reports()[1].error)
  end)

  it("fail cleanly when the cgroup does not exist, naming it", function()
    local ws, err, code = spawn({ n = 2, work = "spin_wait",
      cgroup = "/sys/fs/cgroup/ktstr-no-such-cgroup" })
    assert.is_nil(ws)
    assert.are.equal("ENOENT", code)
    assert.matches("cgroup.procs: /sys/fs/cgroup/ktstr%-no%-such%-cgroup", err)
  end)

  it("run workers as threads of one process, each with its own telemetry", function()
    local ws <close> = assert(spawn({ n = 3, work = "spin_wait", threads = true, comm = "thr",
      nice = 3 }))
    local proc, tids = ws:process(), ws:pids()
    spawned[#spawned + 1] = proc
    for _, tid in ipairs(tids) do
      assert.are_not.equal(proc, tid)
      -- a thread of that process, not a process of its own
      assert.is_truthy(io.open(("/proc/%d/task/%d/stat"):format(proc, tid)))
      assert.are.equal(proc, tonumber(io.open(("/proc/%d/status"):format(tid)):read("a")
        :match("Tgid:%s*(%d+)")))
      assert.are.equal("thr", comm_of(tid))
      assert.are.equal(3, core.sched_getattr(tid).nice)
    end
    core.sleep(0.3)
    assert.is_true(ws:stop())
    assert.is_false(alive(proc), "the threads' process is reaped")
    for i, r in ipairs(ws:reports()) do
      assert.are.equal(tids[i], r.pid)
      assert.are.equal("done", r.state)
      assert.is_true(r.work_units > 0)
      assert.is_true(r.cpu_ns > 0 and r.cpu_ns <= r.wall_ns * 1.05, "a thread's own CPU time")
      assert.are.same({ code = 0 }, r.exit)
    end
  end)

  it("run grouped and custom work as threads", function()
    local ws <close> = assert(spawn({ n = 2, work = "pipe_io", threads = true }))
    spawned[#spawned + 1] = ws:process()
    local lw <close> = assert(spawn({ n = 2, threads = true, lua = dumped(function(w)
      while not w:stop() do w:units(1) end
    end) }))
    spawned[#spawned + 1] = lw:process()
    core.sleep(0.3)
    ws:stop()
    lw:stop()
    for _, r in ipairs(ws:reports()) do
      assert.is_true(r.work_units > 0 and r.wake.count > 0)
    end
    for _, r in ipairs(lw:reports()) do assert.is_true(r.work_units > 0) end
  end)

  it("end every thread worker with their process: a crash or exit in one, a straggler killed", function()
    local ws <close> = assert(spawn({ n = 3, threads = true, lua = dumped(function(w)
      if w:index() == 1 then
        require("ktstr.core").sleep(0.1)
        os.exit(3)
      end
      while not w:stop() do w:units(1) end
    end) }))
    spawned[#spawned + 1] = ws:process()
    eventually(2, function() return ws:reports()[1].exit end)
    for _, r in ipairs(ws:reports()) do
      assert.are.same({ code = 3 }, r.exit, "cut short with the process")
    end
    local stuck <close> = assert(spawn({ n = 2, threads = true, lua = dumped(function(w)
      if w:index() == 1 then while true do end end
      while not w:stop() do w:units(1) end
    end) }))
    spawned[#spawned + 1] = stuck:process()
    core.sleep(0.1)
    assert.is_true(stuck:stop(0.2))
    for _, r in ipairs(stuck:reports()) do
      assert.is_true(r.exit.killed and r.exit.by_stop)
    end
  end)

  it("fail a threads set whose worker cannot set up, naming it", function()
    local ws, err, code = spawn({ n = 2, threads = true, work = "spin_wait",
      cpus_each = { "0", "1000" } })
    assert.is_nil(ws)
    assert.are.equal("EINVAL", code)
    assert.matches("worker 1: sched_setaffinity: cpus 1000", err)
  end)

  it("run deadline workers with the parameters read back, reset on fork", function()
    local ws <close>, err = spawn({ n = 1, work = "fork_exit", policy = "deadline",
      runtime = 2000000, deadline = 8000000, period = 10000000 })
    if not ws and err:match("EPERM") then return pending("no SCHED_DEADLINE here: " .. err) end
    assert(ws, err)
    local a = core.sched_getattr(ws:pids()[1])
    assert.are.same({ policy = "deadline", priority = 0, nice = 0, reset_on_fork = true,
      runtime = 2000000, deadline = 8000000, period = 10000000 }, a)
    core.sleep(0.3)
    ws:stop()
    -- fork_exit forks: a deadline task may only because its children start as normal tasks
    assert.is_true(ws:reports()[1].work_units > 0)
  end)

  it("refuse deadline bandwidth past the CPUs, naming the values (EBUSY)", function()
    local cpus = #assert(core.cpulist_parse(assert(core.cpus_online())))
    local ws, err, code = spawn({ n = cpus + 1, work = "spin_wait", policy = "deadline",
      runtime = 9000000, deadline = 10000000, period = 10000000 })
    if not ws and code == "EPERM" then return pending("no SCHED_DEADLINE here: " .. err) end
    assert.is_nil(ws)
    assert.are.equal("EBUSY", code)
    assert.matches("deadline runtime=9ms deadline=10ms period=10ms: admission control refused " ..
      "its 0.9 CPU %(EBUSY%)", err)
  end)

  it("set a memory policy in each worker before it runs", function()
    local ws <close> = assert(spawn({ n = 2, threads = true, work = "spin_wait",
      mempolicy = "bind", mem_nodes = "0", mpol_flags = { "static_nodes" } }))
    spawned[#spawned + 1] = ws:process()
    local tid = ws:pids()[2]
    local maps = io.open(("/proc/%d/task/%d/numa_maps"):format(ws:process(), tid)):read("a")
    assert.matches("bind=static:0", maps, 1, true)
    local lw <close> = assert(spawn({ n = 1, mempolicy = "preferred", mem_nodes = "0",
      lua = dumped(function(w)
        local m = require("ktstr.core").mempolicy_get()
        if m.mode ~= "preferred" or m.nodes ~= "0" then error("mempolicy " .. m.mode .. m.nodes) end
        while not w:stop() do w:units(1) end
      end) }))
    core.sleep(0.2)
    lw:stop()
    local r = lw:reports()[1]
    assert.is_nil(r.error)
    assert.is_true(r.work_units > 0)
  end)

  it("raise clear errors for caller bugs", function()
    local cases = {
      { { n = 0, work = "spin_wait" }, "n must be at least 1, got 0" },
      { { n = -3, work = "spin_wait" }, "n must be at least 1, got %-3" },
      { { work = "spin_wait" }, "n %(the worker count%) is required" },
      { { n = 3, work = "futex_ping_pong" }, "n=3 is not a multiple of futex_ping_pong's group size 2" },
      { { n = 6, work = "futex_fan_out" }, "n=6 is not a multiple of futex_fan_out's group size 5" },
      { { n = 1, work = "no_such_work" }, "no_such_work" },
      { { n = 1 }, "exactly one of work = and lua =" },
      { { n = 1, work = "spin_wait", lua = "" }, "exactly one of work = and lua =" },
      { { n = 1, lua = "this is not lua" }, "lua work:" },
      { { n = 1, work = "spin_wait", policy = "sporadic" },
        "policy must be one of normal, batch, idle, fifo, rr, deadline; got 'sporadic'" },
      { { n = 1, work = "spin_wait", policy = "deadline" }, "runtime must be at least 1024ns" },
      { { n = 1, work = "spin_wait", policy = "deadline", runtime = 20000000, deadline = 10000000, period = 100000000 },
        "deadline runtime=20ms deadline=10ms period=100ms: want runtime <= deadline <= period" },
      { { n = 1, work = "spin_wait", policy = "deadline", runtime = 10000, deadline = 50000, period = 50000 },
        "period must be 100us..4194.3ms" },
      { { n = 1, work = "spin_wait", runtime = 1000000 }, "go with policy = \"deadline\"" },
      { { n = 1, work = "spin_wait", mempolicy = "spread" }, "mempolicy must be one of default, " },
      { { n = 1, work = "spin_wait", mempolicy = "bind" }, "mempolicy bind needs at least one node" },
      { { n = 1, work = "spin_wait", mempolicy = "preferred", mem_nodes = "0-1" },
        "mempolicy preferred takes one node, got 2" },
      { { n = 1, work = "spin_wait", mempolicy = "local", mem_nodes = "0" }, "takes no nodes" },
      { { n = 1, work = "spin_wait", mempolicy = "bind", mem_nodes = "64" }, "bad node list '64'" },
      { { n = 1, work = "spin_wait", mempolicy = "interleave", mem_nodes = "0",
          mpol_flags = { "numa_balancing" } }, "numa_balancing goes only with bind or preferred_many" },
      { { n = 1, work = "spin_wait", mempolicy = "bind", mem_nodes = "0",
          mpol_flags = { "static_nodes", "relative_nodes" } }, "exclude each other" },
      { { n = 1, work = "spin_wait", mempolicy = "bind", mem_nodes = "0", mpol_flags = { "sticky" } },
        "unknown flag 'sticky'" },
      { { n = 1, work = "spin_wait", mem_nodes = "0" }, "go with mempolicy =" },
      { { n = 1, work = "spin_wait", policy = "fifo" }, "policy fifo needs priority 1..99, got 0" },
      { { n = 1, work = "spin_wait", priority = 5 }, "policy normal takes no priority" },
      { { n = 1, work = "spin_wait", nice = 40 }, "nice must be %-20..19, got 40" },
      { { n = 1, work = "spin_wait", cpus = "1-0" }, "bad cpulist '1%-0'" },
      { { n = 1, work = "spin_wait", cpus = "" }, "bad cpulist ''" },
      { { n = 1, work = "spin_wait", cgroup = 42 }, "cgroup must be a directory path" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(core.workers_spawn, c[1])
      assert.is_false(ok, c[2])
      assert.matches(c[2], err)
    end
  end)
end)
