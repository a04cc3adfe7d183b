-- Every work loop runs for real on the host: it makes progress, records wakes, stops in time.
local core = require("ktstr.core")

local RUN_S = 0.3
-- A loop returns within ~10 ms of the stop flag; a busy 2-CPU host (a guest
-- beside us) can delay 4 spinning contenders by hundreds of ms. A loop that
-- ignores stop is killed at 2 s and fails the exit check instead.
local STOP_BUDGET_S = 1.0

-- Small settings where the defaults would leave too few wakes in RUN_S.
local PARAMS = {
  bursty = { burst_duration = 5000000, sleep_duration = 5000000 },
  io_sync_write = {},
}
local PHASES = {
  sequence = {
    { kind = "spin", ns = 10000000 }, { kind = "sleep", ns = 5000000 },
    { kind = "yield", ns = 5000000 }, { kind = "io", ns = 5000000 },
    { kind = "alu_hot", ns = 5000000 },
  },
}
-- Members that never wait: the fan-out messengers only wake others, and
-- preempt_storm's fair-class members only spin.
local function waits(name, member)
  if name == "futex_fan_out" or name == "fan_out_compute" then return member > 0 end
  if name == "preempt_storm" then return member == 0 end
  -- the RT tiers: top and middle (a lock wait, a rest) always, low only when contended
  if name == "priority_inversion" then return member < 2 end
  if name == "rt_starvation" then return member < 1 end	-- the RT member's rests
  return name ~= "mutex_contention"	-- contention is likely, not certain
end

-- Work that acts on cgroups and their members only inside ktstr's own
-- (spec/vm/work_place_spec runs it in a guest): on the host it refuses.
local NEEDS_KTSTR_CGROUP = { cross_affinity_churn = true, cgroup_churn = true,
  cgroup_attach_storm = true }

local function leftover_files()
  local p = io.popen("ls /tmp/ktstr-work-* 2>/dev/null")
  local out = p:read("a")
  p:close()
  return out
end

-- The IO types' disk: a sparse file (the guest's is a virtio-blk device); on
-- the host nothing carries the scratch disk's serial, so without it they refuse.
local DISK_DIR = assert(core.mkdtemp("/tmp/ktstr-disk-spec-"))
local DISK = DISK_DIR .. "/disk.img"
do
  local f = assert(io.open(DISK, "wb"))
  f:seek("set", (16 << 20) - 1)
  f:write("\0")
  f:close()
end

local function run(name)
  local w = assert(core.work_resolve(name, PARAMS[name] or {}, PHASES[name]))
  local ws = assert(core.workers_spawn{ n = w.group_size, work = w })
  core.sleep(RUN_S)
  local t0 = core.now()
  assert(ws:stop(2))
  local stop_s = core.now() - t0
  local reports = ws:reports()
  ws:close()
  return w, reports, stop_s
end

describe("work loops on the host", function()
  setup(function() assert.equal(DISK, core.disk_path(DISK)) end)
  teardown(function()
    core.disk_path(false)
    core.rm_rf(DISK_DIR)
  end)

  for _, t in ipairs(core.work_types()) do
    if NEEDS_KTSTR_CGROUP[t.name] then
      it(("refuse %s outside a ktstr cgroup, saying why"):format(t.name), function()
        local _, reports = run(t.name)
        assert.equal(1, #reports)
        assert.equal(0, reports[1].work_units)
        assert.equal(1, reports[1].exit.code)
        assert.matches("^" .. t.name .. ": the worker's cgroup /sys/fs/cgroup/%S* is not under " ..
          "/sys/fs/cgroup/ktstr: this work acts on cgroups and their members only inside " ..
          "ktstr's own %(run it in a ktstr.cgroup%)$", reports[1].error)
      end)
      goto next
    end
    it(("run %s: every member makes progress and stops in time"):format(t.name), function()
      local w, reports, stop_s = run(t.name)
      assert.equal(w.group_size, #reports)
      for _, r in ipairs(reports) do
        assert.is_nil(r.error)
        assert.equal(0, r.exit.code)
        assert.is_true(r.work_units > 0, ("member %d did no work"):format(r.member))
        if t.blocking and waits(t.name, r.member) then
          assert.is_table(r.wake, ("member %d recorded no wake"):format(r.member))
          assert.is_true(r.wake.count > 0)
        end
      end
      assert.is_true(stop_s < STOP_BUDGET_S, ("stop took %.0f ms"):format(stop_s * 1e3))
      assert.equal("", leftover_files())
    end)
    ::next::
  end
end)

describe("IO work types without a scratch disk", function()
  for _, name in ipairs({ "io_sync_write", "io_rand_read", "io_convoy" }) do
    it(("%s fails at once, saying what is missing"):format(name), function()
      assert.is_nil(core.disk_path(false))
      local w = assert(core.work_resolve(name, {}))
      local ws = assert(core.workers_spawn{ n = 1, work = w })
      core.sleep(0.1)
      assert(ws:stop(2))
      local r = ws:reports()[1]
      ws:close()
      assert.equal(1, r.exit.code)
      assert.equal(0, r.work_units)
      assert.matches(name .. ": no scratch disk in this guest", r.error, 1, true)
    end)
  end
end)
