-- The placement, NUMA and RT work types on the host: what each does besides counting work.
local core = require("ktstr.core")
local slurp = require("support.guest").slurp

-- rt_priority and policy of a live pid (/proc/PID/stat fields 40 and 41).
local function sched_of(pid)
  local stat = assert(slurp("/proc/" .. pid .. "/stat"))
  local rest = stat:match("^.*%) (.*)$")	-- past comm, which may hold anything
  local f = {}
  for v in rest:gmatch("%S+") do f[#f + 1] = v end
  -- rest starts at field 3 (state)
  return tonumber(f[40 - 2]), tonumber(f[41 - 2])
end

local SCHED_OTHER, SCHED_FIFO = 0, 1

-- Runs n workers of w (opts merged) for run_s; returns the reports and what
-- during(ws) returned halfway through.
local function run(w, opts, run_s, during)
  local spec = { n = w.group_size, work = w }
  for k, v in pairs(opts or {}) do spec[k] = v end
  local ws = assert(core.workers_spawn(spec))
  core.sleep(run_s / 2)
  local seen = during and during(ws)
  core.sleep(run_s / 2)
  assert(ws:stop(2))
  local reports = ws:reports()
  ws:close()
  for _, r in ipairs(reports) do
    assert.is_nil(r.error)
    assert.equal(0, r.exit.code)
  end
  return reports, seen
end

describe("numa_working_set_sweep", function()
  it("binds its region with mbind (MPOL_BIND) and writes every page, pass after pass", function()
    local w = assert(core.work_resolve("numa_working_set_sweep",
      { region_kib = 1024, sweep_period_ms = 5 }))
    local reports, maps = run(w, nil, 0.4, function(ws)
      return slurp("/proc/" .. ws:pids()[1] .. "/numa_maps")
    end)
    -- one node here: every period binds the region to node 0 again, and it stays
    assert.matches("\n%x+ bind:0 anon=%d+", maps)
    assert.is_true(reports[1].work_units > 10, reports[1].work_units)
  end)
end)

describe("numa_migration_churn", function()
  it("on one node pins to that node's CPUs again each period, spinning all along", function()
    local w = assert(core.work_resolve("numa_migration_churn", { period_ms = 5 }))
    local reports = run(w, { cpus = "0" }, 0.3)
    assert.is_true(reports[1].work_units > 0)
    assert.same({ 0 }, reports[1].cpus)	-- the node's CPUs within its own
  end)
end)

describe("rt_starvation", function()
  it("makes the RT members SCHED_FIFO at rt_priority and leaves the others alone", function()
    local w = assert(core.work_resolve("rt_starvation",
      { rt_workers = 1, cfs_workers = 2, rt_priority = 7 }))
    local _, seen = run(w, nil, 0.3, function(ws)
      local out = {}
      for i, pid in ipairs(ws:pids()) do out[i] = { sched_of(pid) } end
      return out
    end)
    assert.same({ { 7, SCHED_FIFO }, { 0, SCHED_OTHER }, { 0, SCHED_OTHER } }, seen)
  end)

  it("rests its RT member on a shared CPU: the other still runs, the rests are wakes", function()
    local w = assert(core.work_resolve("rt_starvation"))
    local reports = run(w, { cpus = "0" }, 0.6)
    local rt, cfs = reports[1], reports[2]
    assert.is_true(cfs.work_units > 0, "the CFS member never ran")
    -- runs of 10 ms, rests of 1 ms: the RT member never holds the CPU whole
    assert.is_true(rt.cpu_ns < 0.97 * rt.wall_ns, ("RT share %.2f"):format(rt.cpu_ns / rt.wall_ns))
    assert.is_true(cfs.cpu_ns > 0.02 * cfs.wall_ns,
      ("CFS share %.3f"):format(cfs.cpu_ns / cfs.wall_ns))
    assert.is_true(rt.wake.count >= 10, rt.wake.count)
    assert.is_nil(cfs.wake)
  end)
end)

describe("priority_inversion", function()
  local function one_cpu(mode)
    local w = assert(core.work_resolve("priority_inversion", { pi_mode = mode }))
    return run(w, { cpus = "0" }, 0.8, function(ws)
      local out = {}
      for i, pid in ipairs(ws:pids()) do out[i] = { sched_of(pid) } end
      return out
    end)
  end

  it("puts the tiers at FIFO 2, FIFO 1 and the cgroup's own policy", function()
    local _, seen = one_cpu("plain")
    assert.same({ 2, SCHED_FIFO }, seen[1])
    assert.same({ 1, SCHED_FIFO }, seen[2])
    -- plain: nothing boosts the low tier
    assert.same({ 0, SCHED_OTHER }, seen[3])
  end)

  it("on one CPU: the top tier waits out the middle one under plain, not under pi", function()
    local plain = one_cpu("plain")
    local pi = one_cpu("pi")
    for _, r in ipairs({ plain, pi }) do
      assert.is_true(r[3].work_units > 0, "the low tier never held the lock")
      assert.is_true(r[1].wake.count > 0, "the top tier never waited")
    end
    -- plain: the holder runs only when both RT tiers rest (runs of up to 10 ms);
    -- pi: the holder is boosted past the middle tier and lets go within its hold
    local slow, fast = plain[1].wake.mean_ns, pi[1].wake.mean_ns
    assert.is_true(slow > 3 * fast, ("plain waits %.0f us, pi %.0f us"):format(slow / 1e3,
      fast / 1e3))
  end)
end)
