-- Runs inside the 1n2l2c1t guest (CPUs 0-1 = LLC0, 2-3 = LLC1): workers in real cgroups.
local core = require("ktstr.core")

local G = require("support.guest")
local ROOT, slurp, eventually, alive = G.ROOT, G.slurp, G.eventually, G.alive

local function put(path, value)
  local f = assert(io.open(path, "w"))
  local ok, err = f:write(value)
  f:close()
  assert(ok, err)
end

-- "0-1,3" -> { [0] = true, [1] = true, [3] = true }
local function cpuset(list)
  local set = {}
  for part in list:gmatch("[^,%s]+") do
    local a, b = part:match("^(%d+)%-(%d+)$")
    a, b = tonumber(a or part), tonumber(b or part)
    for c = a, b do set[c] = true end
  end
  return set
end

-- A cgroup through core.cgroup_* when the binding is there, else by hand.
local function cgroup(name, cpus)
  if core.cgroup_create then
    local cg = assert(core.cgroup_create(name))
    if cpus then assert(cg:set_cpus(cpus)) end
    return cg
  end
  local dir = ROOT .. "/" .. name
  os.execute("mkdir -p " .. dir)
  put(ROOT .. "/cgroup.subtree_control", "+cpuset +cpu")
  if cpus then put(dir .. "/cpuset.cpus", cpus) end
  local function set_frozen(v)
    put(dir .. "/cgroup.freeze", v)
    return eventually(function()
      return (slurp(dir .. "/cgroup.events") or ""):match("frozen " .. v)
    end, 2) and true
  end
  return {
    path = function() return dir end,
    freeze = function() return set_frozen("1") end,
    unfreeze = function() return set_frozen("0") end,
    remove = function()
      put(dir .. "/cgroup.kill", "1")
      eventually(function()
        return (slurp(dir .. "/cgroup.events") or ""):match("populated 0")
      end, 5)
      return os.remove(dir)
    end,
  }
end

local function leftover_cgroups()
  local p = io.popen("find " .. ROOT .. " -mindepth 1 -maxdepth 1 -type d 2>/dev/null")
  local names = {}
  for l in p:lines() do names[#names + 1] = l end
  p:close()
  return names
end

local function ktstr_workers_running()
  local p = io.popen("cat /proc/[0-9]*/comm 2>/dev/null")
  local found = {}
  for l in p:lines() do
    if l:match("^ktstr%-") then found[#found + 1] = l end
  end
  p:close()
  return found
end

local sets, pids = {}, {}

local function spawn(t)
  local ws, err, code = core.workers_spawn(t)
  if ws then
    sets[#sets + 1] = ws
    for _, pid in ipairs(ws:pids()) do pids[#pids + 1] = pid end
  end
  return ws, err, code
end

local function units(ws)
  local u = {}
  for i, r in ipairs(ws:reports()) do u[i] = r.work_units end
  return u
end

local function all_progress(ws)
  for _, r in ipairs(ws:reports()) do
    if r.work_units == 0 then return false end
  end
  return true
end

describe("workers in the guest", function()
  after_each(function()
    for _, ws in ipairs(sets) do ws:close() end
    sets = {}
    for _, pid in ipairs(pids) do
      assert.is_false(alive(pid), "worker " .. pid .. " left behind")
    end
    pids = {}
    assert.are.same({}, ktstr_workers_running(), "ktstr-* processes left behind")
    local left = leftover_cgroups()
    if core.cgroup_remove_all then core.cgroup_remove_all() end
    assert.are.same({}, left, "cgroups left under " .. ROOT)
  end)

  it("pins one cgroup per LLC: every spin_wait worker progresses, CPU time tracks wall time, CPUs stay in the cpuset", function()
    local groups = { { name = "llc0", cpus = "0-1" }, { name = "llc1", cpus = "2-3" } }
    for _, g in ipairs(groups) do
      g.cg = cgroup(g.name, g.cpus)
      g.ws = assert(spawn({ n = 2, work = "spin_wait", cgroup = g.cg:path(), start = false }))
    end
    for _, g in ipairs(groups) do g.ws:start() end
    core.sleep(2)
    for _, g in ipairs(groups) do assert.is_true(g.ws:stop()) end
    for _, g in ipairs(groups) do
      local allowed = cpuset(g.cpus)
      for _, r in ipairs(g.ws:reports()) do
        print(("# %s worker %d: %.0f units/s, cpu/wall %.2f, cpus {%s}, max gap %.1f ms, run delay %.1f ms")
          :format(g.name, r.index, r.work_units / (r.wall_ns / 1e9), r.cpu_ns / r.wall_ns,
            table.concat(r.cpus, ","), r.max_gap_ns / 1e6, r.run_delay_ns / 1e6))
        assert.is_true(r.work_units > 0, g.name .. " worker made no progress")
        assert.is_true(math.abs(r.cpu_ns / r.wall_ns - 1) <= 0.25,
          ("%s worker %d: cpu %d ns vs wall %d ns"):format(g.name, r.index, r.cpu_ns, r.wall_ns))
        assert.is_true(#r.cpus >= 1)
        for _, c in ipairs(r.cpus) do
          assert.is_true(allowed[c], ("%s worker ran on cpu %d outside %s"):format(g.name, c, g.cpus))
        end
        assert.are.same({ code = 0 }, r.exit)
      end
      assert.is_true(g.cg:remove())
    end
  end)

  describe("each work type", function()
    for _, t in ipairs(core.work_types()) do
      it(("runs %s for a second and reports progress"):format(t.name), function()
        local phases = t.phase_kinds and {
          { kind = "spin", ns = 20000000 }, { kind = "sleep", ns = 10000000 } } or nil
        local w = assert(core.work_resolve(t.name, nil, phases))
        local cg = cgroup("types")
        -- the IO types run on the guest's scratch disk (make check gives it one)
        local before = t.name:match("^io_") and require("ktstr.guest.disk").stat("vda")
        local ws = assert(spawn({ n = w.group_size, work = w, cgroup = cg:path() }))
        core.sleep(1)
        assert.is_true(ws:stop())
        if before then
          local d = require("ktstr.guest.disk")
          local moved = d.delta(before, d.stat("vda"))
          assert.is_true(moved.reads + moved.writes > 0, t.name .. " did no IO on /dev/vda")
        end
        for _, r in ipairs(ws:reports()) do
          print(("# %s worker %d: %d units (%s), cpu/wall %.2f, wakes %s")
            :format(t.name, r.index, r.work_units, t.unit, r.cpu_ns / math.max(r.wall_ns, 1),
              r.wake and r.wake.count or "-"))
          assert.is_nil(r.error)
          assert.are.same({ code = 0 }, r.exit)
          assert.is_true(r.work_units > 0, t.name .. " worker " .. r.index .. " made no progress")
        end
        assert.is_true(cg:remove())
      end)
    end
  end)

  it("records wake latencies for sleeping and hand-off work (idle_churn, futex_ping_pong)", function()
    local cg = cgroup("wake")
    local idle = assert(spawn({ n = 2, work = "idle_churn", cgroup = cg:path() }))
    local pong = assert(spawn({ n = 2, work = "futex_ping_pong", cgroup = cg:path() }))
    core.sleep(1)
    for _, ws in ipairs({ idle, pong }) do
      assert.is_true(ws:stop())
      for _, r in ipairs(ws:reports()) do
        assert.is_truthy(r.wake, r.work .. " recorded no wakes")
        print(("# %s worker %d: %d wakes, p50 %.1f us, p99 %.1f us, max %.1f us")
          :format(r.work, r.index, r.wake.count, r.wake.p50_ns / 1e3, r.wake.p99_ns / 1e3,
            r.wake.max_ns / 1e3))
        assert.is_true(r.wake.count > 0)
        assert.is_true(r.wake.p99_ns > 0)
      end
    end
    assert.is_true(cg:remove())
  end)

  it("makes no progress in a frozen cgroup and resumes after thawing", function()
    local cg = cgroup("frozen", "0-1")
    local ws = assert(spawn({ n = 2, work = "spin_wait", cgroup = cg:path() }))
    assert.is_truthy(eventually(function() return all_progress(ws) end, 5), "no progress before freezing")
    assert.is_true(cg:freeze())
    local before = units(ws)
    core.sleep(0.5)
    assert.are.same(before, units(ws))
    for _, r in ipairs(ws:reports()) do assert.is_nil(r.exit) end
    assert.is_true(cg:unfreeze())
    assert.is_truthy(eventually(function()
      local now = units(ws)
      for i, u in ipairs(now) do if u <= before[i] then return false end end
      return true
    end, 5), "no progress after thawing")
    assert.is_true(ws:stop())
    for _, r in ipairs(ws:reports()) do
      assert.is_true(r.max_gap_ns >= 0.4e9, "the freeze shows as a gap: " .. r.max_gap_ns)
    end
    assert.is_true(cg:remove())
  end)

  it("leaves no process behind when a cgroup with live workers is removed", function()
    local cg = cgroup("doomed")
    local ws = assert(spawn({ n = 3, work = "spin_wait", cgroup = cg:path() }))
    assert.is_truthy(eventually(function() return all_progress(ws) end, 5))
    assert.is_true(cg:remove())
    assert.is_true(ws:stop())
    for _, r in ipairs(ws:reports()) do
      assert.is_false(alive(r.pid))
      assert.is_truthy(r.exit, "worker " .. r.index .. " not reaped")
      assert.is_true(r.exit.killed, "worker " .. r.index .. " not reported killed")
      assert.is_true(r.work_units > 0, "a killed worker keeps its counters")
    end
  end)

  it("reports a crashing worker as such while the others keep their data", function()
    local cg = cgroup("crash")
    local ws = assert(spawn({ n = 3, cgroup = cg:path(), lua = string.dump(function(w)
      local c = require("ktstr.core")
      w:units(7)
      if w:index() == 0 then error("worker zero gives up") end
      while not w:stop() do
        w:units(1)
        c.sleep(0.002)
      end
    end) }))
    assert.is_truthy(eventually(function() return ws:reports()[1].exit end, 5))
    local victim = ws:pids()[2]
    os.execute("kill -SEGV " .. victim)
    assert.is_truthy(eventually(function() return ws:reports()[2].exit end, 5))
    local mid = ws:reports()
    core.sleep(0.1)
    assert.is_true(ws:stop())
    local r = ws:reports()
    assert.are.same({ code = 1 }, r[1].exit)
    assert.matches("worker zero gives up", r[1].error)
    assert.are.equal(7, r[1].work_units)
    assert.are.equal(11, r[2].exit.signal)
    assert.matches("signal 11", r[2].error)
    assert.is_true(r[2].work_units >= 7)
    assert.are.same({ code = 0 }, r[3].exit)
    assert.is_nil(r[3].error)
    assert.is_true(r[3].work_units > mid[3].work_units, "the survivor kept working")
    assert.is_true(cg:remove())
  end)

  it("runs custom Lua work that reports exactly the units it counted", function()
    local cg = cgroup("custom", "2-3")
    local ws = assert(spawn({ n = 2, cgroup = cg:path(), lua = string.dump(function(w)
      local c = require("ktstr.core")
      for _ = 1, 1000 do w:units(1) end
      while not w:stop() do c.sleep(0.01) end
    end) }))
    assert.is_truthy(eventually(function()
      local u = units(ws)
      return u[1] == 1000 and u[2] == 1000
    end, 10))
    assert.is_true(ws:stop())
    for _, r in ipairs(ws:reports()) do
      assert.are.equal(1000, r.work_units)
      assert.are.same({ code = 0 }, r.exit)
      for _, c in ipairs(r.cpus) do assert.is_true(c == 2 or c == 3) end
    end
    assert.is_true(cg:remove())
  end)

  it("refuses fewer than one worker and a group size that does not divide n", function()
    local ok, err = pcall(core.workers_spawn, { n = 0, work = "spin_wait" })
    assert.is_false(ok)
    assert.matches("n must be at least 1, got 0", err)
    ok, err = pcall(core.workers_spawn, { n = 3, work = "pipe_io" })
    assert.is_false(ok)
    assert.matches("n=3 is not a multiple of pipe_io's group size 2", err)
    ok, err = pcall(core.workers_spawn, { n = 6, work = "mutex_contention" })
    assert.is_false(ok)
    assert.matches("n=6 is not a multiple of mutex_contention's group size 4", err)
  end)
end)
