-- ktstr.core work_types/work_resolve (src/work.c via l_work.c): defaults, bounds, messages, groups.
local core = require("ktstr.core")

local NS_MAX = 60000000000
local ITERS_MAX = 1 << 30

-- The contract, written out: every type in order, its params as
-- { name, kind, default, min, max }, group size with defaults, blocking.
local TYPES = {
  { "spin_wait", {}, 1, false },
  { "yield_heavy", {}, 1, false },
  { "mixed", {}, 1, false },
  { "alu_hot", { { "width", "int", 64, 64, 512 } }, 1, false },
  { "bursty", { { "burst_duration", "ns", 50000000, 1, NS_MAX },
                { "sleep_duration", "ns", 100000000, 1, NS_MAX } }, 1, true },
  { "idle_churn", { { "burst_duration", "ns", 1000000, 1, NS_MAX },
                    { "sleep_duration", "ns", 5000000, 1, NS_MAX },
                    { "precise_timing", "bool", false, 0, 1 } }, 1, true },
  { "io_sync_write", {}, 1, false },
  { "pipe_io", { { "burst_iters", "int", 1024, 0, ITERS_MAX } }, 2, true },
  { "futex_ping_pong", { { "spin_iters", "int", 1024, 0, ITERS_MAX } }, 2, true },
  { "futex_fan_out", { { "fan_out", "int", 4, 1, 15 },
                       { "spin_iters", "int", 1024, 0, ITERS_MAX } }, 5, true },
  { "cache_pressure", { { "size_kib", "int", 32, 1, 1048576 },
                        { "stride", "int", 64, 1, 1048576 } }, 1, false },
  { "cache_yield", { { "size_kib", "int", 32, 1, 1048576 },
                     { "stride", "int", 64, 1, 1048576 } }, 1, false },
  { "fork_exit", {}, 1, false },
  { "nice_sweep", {}, 1, false },
  { "affinity_churn", { { "spin_iters", "int", 1024, 0, ITERS_MAX } }, 1, false },
  { "policy_churn", { { "spin_iters", "int", 1024, 0, ITERS_MAX } }, 1, false },
  { "page_fault_churn", { { "region_kib", "int", 4096, 64, 1048576 },
                          { "touches_per_cycle", "int", 256, 1, 262144 },
                          { "spin_iters", "int", 64, 0, ITERS_MAX } }, 1, false },
  { "mutex_contention", { { "contenders", "int", 4, 2, 16 },
                          { "hold_iters", "int", 256, 0, ITERS_MAX },
                          { "work_iters", "int", 1024, 0, ITERS_MAX } }, 4, true },
  { "sequence", {}, 1, true },
  { "wake_chain", { { "depth", "int", 4, 2, 16 }, { "wake", "enum", "pipe", 0, 1 },
                    { "work_per_hop", "ns", 100000, 1, NS_MAX } }, 4, true },
  { "asymmetric_waker", { { "waker_class", "enum", "cfs", 0, 5 },
                          { "wakee_class", "enum", "cfs", 0, 5 },
                          { "burst_iters", "int", 1024, 0, ITERS_MAX } }, 2, true },
  { "thundering_herd", { { "waiters", "int", 7, 1, 15 }, { "batches", "int", 1000, 1, ITERS_MAX },
                         { "inter_batch_ms", "int", 5, 0, 60000 } }, 8, true },
  { "epoll_storm", { { "producers", "int", 1, 1, 15 }, { "consumers", "int", 2, 1, 15 },
                     { "events_per_burst", "int", 32, 1, 1 << 20 } }, 3, true },
  { "signal_storm", { { "signals_per_iter", "int", 16, 1, 1 << 20 },
                      { "work_iters", "int", 1024, 0, ITERS_MAX } }, 2, false },
  { "fan_out_compute", { { "fan_out", "int", 4, 1, 15 },
                         { "cache_footprint_kib", "int", 256, 1, 65536 },
                         { "operations", "int", 5, 0, 1 << 20 },
                         { "sleep_usec", "int", 100, 0, 60000000 } }, 5, true },
  { "cache_pipe", { { "size_kib", "int", 32, 1, 1048576 },
                    { "burst_iters", "int", 1024, 0, ITERS_MAX } }, 2, true },
  { "ipc_variance", { { "hot_iters", "int", 100000, 1, ITERS_MAX },
                      { "cold_iters", "int", 1024, 1, ITERS_MAX },
                      { "period_iters", "int", 64, 1, 1 << 20 } }, 1, false },
  { "producer_consumer_imbalance", { { "producers", "int", 2, 1, 15 },
                                     { "consumers", "int", 1, 1, 15 },
                                     { "produce_rate_hz", "int", 1000, 1, 1000000 },
                                     { "consume_iters", "int", 4096, 0, ITERS_MAX },
                                     { "queue_depth_target", "int", 1024, 1, 1 << 20 } },
    3, true },
  { "preempt_storm", { { "cfs_workers", "int", 2, 1, 15 },
                       { "rt_burst_iters", "int", 1024, 0, ITERS_MAX },
                       { "rt_sleep_us", "int", 1000, 1, 60000000 } }, 3, true },
  { "schbench", { { "message_threads", "int", 1, 1, 64 }, { "worker_threads", "int", 0, 0, 1024 },
                  { "cache_footprint_kib", "int", 256, 1, 65536 },
                  { "operations", "int", 5, 0, 1 << 20 },
                  { "sleep_usec", "int", 100, 0, 60000000 },
                  { "skip_locking", "bool", false, 0, 1 } }, 1, true },
  { "smt_sibling_spin", {}, 2, false },
  { "cross_affinity_churn", { { "spin_iters", "int", 1024, 0, ITERS_MAX } }, 1, false },
  { "numa_migration_churn", { { "period_ms", "int", 100, 1, 60000 } }, 1, false },
  { "numa_working_set_sweep", { { "region_kib", "int", 4096, 4, 1048576 },
                                { "sweep_period_ms", "int", 100, 1, 60000 },
                                { "target_nodes", "nodes", {}, 0, (1 << 32) - 1 } }, 1, false },
  { "cgroup_churn", { { "groups", "int", 2, 1, 16 }, { "cycle_ms", "int", 100, 1, 60000 } },
    1, false },
  { "cgroup_attach_storm", { { "reap", "enum", "sig_ign", 0, 1 } }, 1, false },
  { "priority_inversion", { { "high_count", "int", 1, 1, 15 }, { "medium_count", "int", 1, 0, 14 },
                            { "low_count", "int", 1, 1, 15 }, { "hold_iters", "int", 4096, 0, 1 << 20 },
                            { "work_iters", "int", 1024, 0, ITERS_MAX },
                            { "pi_mode", "enum", "plain", 0, 1 } }, 3, true },
  { "rt_starvation", { { "rt_workers", "int", 1, 1, 16 }, { "cfs_workers", "int", 1, 0, 15 },
                       { "rt_priority", "int", 50, 1, 99 },
                       { "burst_iters", "int", 1024, 1, ITERS_MAX } }, 2, true },
  { "io_rand_read", {}, 1, false },
  { "io_convoy", {}, 1, false },
}

-- The names an enum param takes, in the order of its values.
local CHOICES = {
  ["wake_chain.wake"] = { "pipe", "futex" },
  ["asymmetric_waker.waker_class"] = { "cfs", "batch", "idle", "rt", "deadline", "ext" },
  ["asymmetric_waker.wakee_class"] = { "cfs", "batch", "idle", "rt", "deadline", "ext" },
  ["cgroup_attach_storm.reap"] = { "sig_ign", "waitpid" },
  ["priority_inversion.pi_mode"] = { "plain", "pi" },
}

-- Other params set while one is pushed to a bound, so that checks between
-- parameters (stride within the buffer, touches within the region) pass.
local ROOM = {
  ["cache_pressure.stride"] = { size_kib = 1048576 },
  ["cache_yield.stride"] = { size_kib = 1048576 },
  ["page_fault_churn.region_kib"] = { touches_per_cycle = 1 },
  ["page_fault_churn.touches_per_cycle"] = { region_kib = 1048576 },
  ["epoll_storm.producers"] = { consumers = 1 },
  ["epoll_storm.consumers"] = { producers = 1 },
  ["producer_consumer_imbalance.producers"] = { consumers = 1 },
  ["producer_consumer_imbalance.consumers"] = { producers = 1 },
  -- a group of at most 16: the other tiers at their smallest
  ["priority_inversion.high_count"] = { medium_count = 0 },
  ["priority_inversion.low_count"] = { medium_count = 0 },
  ["rt_starvation.rt_workers"] = { cfs_workers = 0 },
}

local PHASES = { { kind = "spin", ns = 1000000 } }

local function names()
  local out = {}
  for i, t in ipairs(TYPES) do out[i] = t[1] end
  return out
end

local function resolve(name, params)
  return core.work_resolve(name, params, name == "sequence" and PHASES or nil)
end

local function as_lua(kind, v, choices)
  if kind == "bool" then return v ~= 0 and v ~= false end
  if kind == "enum" and math.type(v) == "integer" then return choices[v + 1] end
  if kind == "nodes" then	-- a mask given, the node ids back
    local ids = {}
    for i = 0, 31 do
      if v & (1 << i) ~= 0 then ids[#ids + 1] = i end
    end
    return ids
  end
  return v
end

local function with(base, k, v)
  local t = {}
  for key, val in pairs(base or {}) do t[key] = val end
  t[k] = v
  return t
end

describe("work_types", function()
  local types = core.work_types()

  it("lists every work type once, in a stable order", function()
    local got = {}
    for i, t in ipairs(types) do got[i] = t.name end
    assert.same(names(), got)
  end)

  for i, want in ipairs(TYPES) do
    local name, params, _, blocking = want[1], want[2], want[3], want[4]

    it(("describes %s: unit, group, blocking and every parameter"):format(name), function()
      local t = types[i]
      assert.equal(name, t.name)
      assert.is_string(t.unit)
      assert.is_true(#t.unit > 0)
      assert.equal(blocking, t.blocking)
      assert.equal(want[3] > 1, t.group)
      assert.equal(#params, #t.params)
      for j, p in ipairs(params) do
        local got = t.params[j]
        assert.same({ name = p[1], kind = p[2], default = p[3], min = p[4], max = p[5] },
          { name = got.name, kind = got.kind, default = got.default, min = got.min,
            max = got.max })
        assert.is_string(got.help)
        assert.same(CHOICES[name .. "." .. p[1]], got.choices)
      end
    end)
  end

  it("gives sequence the phase kinds it takes", function()
    local seq
    for _, t in ipairs(types) do
      if t.name == "sequence" then seq = t end
    end
    assert.same({ "spin", "sleep", "yield", "io", "alu_hot" }, seq.phase_kinds)
  end)
end)

describe("work_resolve", function()
  for _, want in ipairs(TYPES) do
    local name, params, group = want[1], want[2], want[3]

    it(("fills the defaults of %s"):format(name), function()
      local w = assert(resolve(name, {}))
      local args = {}
      for _, p in ipairs(params) do args[p[1]] = p[3] end
      assert.equal(name, w.name)
      assert.same(args, w.args)
      assert.equal(group, w.group_size)
      assert.is_string(w.unit)
    end)

    it(("tells which parameters %s takes when given an unknown one"):format(name), function()
      local w, err, code = resolve(name, { bogus = 1 })
      local valid = {}
      for i, p in ipairs(params) do valid[i] = p[1] end
      assert.is_nil(w)
      assert.equal(("work type '%s' has no parameter 'bogus'; %s"):format(name,
        #valid > 0 and "valid: " .. table.concat(valid, ", ") or "it takes none"), err)
      assert.equal("EINVAL", code)
    end)

    for _, p in ipairs(params) do
      local pname, kind, _, min, max = table.unpack(p)
      local choices = CHOICES[name .. "." .. pname]
      local unit = kind == "ns" and " ns" or choices and ": " .. table.concat(choices, ", ") or ""

      it(("accepts %s.%s at both bounds (%d, %d)"):format(name, pname, min, max), function()
        for _, v in ipairs({ min, max }) do
          local w, err = resolve(name, with(ROOM[name .. "." .. pname], pname, v))
          assert.is_nil(err)
          assert.same(as_lua(kind, v, choices), w.args[pname])
        end
      end)

      it(("rejects %s.%s just outside its bounds, naming both"):format(name, pname), function()
        for _, v in ipairs({ min - 1, max + 1 }) do
          local w, err, code = resolve(name, with(ROOM[name .. "." .. pname], pname, v))
          assert.is_nil(w)
          if kind == "nodes" then
            assert.equal(("%s.%s: node ids are 0..31"):format(name, pname), err)
          else
            assert.equal(("%s.%s: %d is out of range (%d..%d%s)"):format(name, pname, v, min,
              max, unit), err)
          end
          assert.equal("EINVAL", code)
        end
      end)
    end
  end

  it("lists every valid type for an unknown one", function()
    local w, err, code = core.work_resolve("spinwait", {})
    assert.is_nil(w)
    assert.equal("unknown work type 'spinwait'; valid: " .. table.concat(names(), ", "), err)
    assert.equal("EINVAL", code)
  end)

  it("matches the bursty example of the brief word for word", function()
    local _, err = core.work_resolve("bursty", { sleep_duration = 0 })
    assert.equal("bursty.sleep_duration: 0 is out of range (1..60000000000 ns)", err)
    _, err = core.work_resolve("bursty", { burst = 1 })
    assert.equal("work type 'bursty' has no parameter 'burst'; valid: burst_duration, "
      .. "sleep_duration", err)
  end)

  it("takes the params table as optional", function()
    assert.same({ width = 64 }, core.work_resolve("alu_hot").args)
    assert.same({ width = 64 }, core.work_resolve("alu_hot", nil).args)
  end)

  it("keeps given values and fills the rest", function()
    local w = core.work_resolve("bursty", { sleep_duration = 7 })
    assert.same({ burst_duration = 50000000, sleep_duration = 7 }, w.args)
  end)

  it("takes a float with an integer value as an integer", function()
    assert.equal(1000000000, core.work_resolve("bursty", { burst_duration = 1e9 })
      .args.burst_duration)
  end)

  it("takes precise_timing as a boolean or as 0/1, and gives a boolean back", function()
    assert.is_true(core.work_resolve("idle_churn", { precise_timing = true }).args.precise_timing)
    assert.is_false(core.work_resolve("idle_churn", { precise_timing = false }).args.precise_timing)
    assert.is_true(core.work_resolve("idle_churn", { precise_timing = 1 }).args.precise_timing)
  end)

  it("accepts the result's args back as params", function()
    local w = core.work_resolve("idle_churn", { precise_timing = true, sleep_duration = 3 })
    assert.same(w, core.work_resolve("idle_churn", w.args))
  end)

  describe("group sizes", function()
    it("pairs pipe_io and futex_ping_pong", function()
      assert.equal(2, core.work_resolve("pipe_io", {}).group_size)
      assert.equal(2, core.work_resolve("futex_ping_pong", {}).group_size)
    end)

    it("makes a futex_fan_out group of fan_out receivers and a messenger", function()
      assert.equal(4, core.work_resolve("futex_fan_out", { fan_out = 3 }).group_size)
      assert.equal(16, core.work_resolve("futex_fan_out", { fan_out = 15 }).group_size)
    end)

    it("makes a mutex_contention group of contenders", function()
      assert.equal(4, core.work_resolve("mutex_contention", { contenders = 4 }).group_size)
      assert.equal(7, core.work_resolve("mutex_contention", { contenders = 7 }).group_size)
    end)

    it("leaves ungrouped types at 1", function()
      assert.equal(1, core.work_resolve("spin_wait", {}).group_size)
    end)

    it("pairs smt_sibling_spin and sums the tiers of the RT types", function()
      assert.equal(2, core.work_resolve("smt_sibling_spin", {}).group_size)
      assert.equal(6, core.work_resolve("priority_inversion",
        { high_count = 2, medium_count = 3, low_count = 1 }).group_size)
      assert.equal(16, core.work_resolve("rt_starvation",
        { rt_workers = 4, cfs_workers = 12 }).group_size)
    end)
  end)

  describe("node-list and placement enum parameters", function()
    it("take reap and pi_mode by name and give the name back", function()
      assert.equal("waitpid", core.work_resolve("cgroup_attach_storm", { reap = "waitpid" })
        .args.reap)
      assert.equal("pi", core.work_resolve("priority_inversion", { pi_mode = "pi" }).args.pi_mode)
      local w, err = core.work_resolve("priority_inversion", { pi_mode = "Pi" })
      assert.is_nil(w)
      assert.equal("priority_inversion.pi_mode: unknown choice 'Pi'; valid: plain, pi", err)
    end)

    it("take node ids as a list and give them back ascending, each once", function()
      local w = core.work_resolve("numa_working_set_sweep", { target_nodes = { 3, 0, 3 } })
      assert.same({ 0, 3 }, w.args.target_nodes)
      local _, err = core.work_resolve("numa_working_set_sweep", { target_nodes = { 0, 32 } })
      assert.equal("numa_working_set_sweep.target_nodes: node ids are 0..31", err)
      _, err = core.work_resolve("numa_working_set_sweep", { target_nodes = { -1 } })
      assert.equal("numa_working_set_sweep.target_nodes: node ids are 0..31", err)
    end)

    it("accept the result's args back as params", function()
      for _, args in ipairs({ { "priority_inversion", { pi_mode = "pi" } },
                              { "numa_working_set_sweep", { target_nodes = { 1, 2 } } } }) do
        local w = core.work_resolve(args[1], args[2])
        assert.same(w, core.work_resolve(args[1], w.args))
      end
    end)

    it("raise on a node list of something else", function()
      assert.has_error(function()
        core.work_resolve("numa_working_set_sweep", { target_nodes = { "x" } })
      end, "numa_working_set_sweep.target_nodes[1] must be an integer node id")
      assert.has_error(function()
        core.work_resolve("numa_working_set_sweep", { target_nodes = "0-1" })
      end, "numa_working_set_sweep.target_nodes must be a list of node ids, got string 0-1")
    end)
  end)

  describe("checks between parameters", function()
    it("rejects a cache stride larger than the buffer", function()
      local w, err, code = core.work_resolve("cache_pressure", { size_kib = 1, stride = 1025 })
      assert.is_nil(w)
      assert.equal("cache_pressure.stride: 1025 is larger than the buffer "
        .. "(size_kib 1 = 1024 bytes)", err)
      assert.equal("EINVAL", code)
      assert.is_table(core.work_resolve("cache_yield", { size_kib = 1, stride = 1024 }))
    end)

    it("rejects more page touches per cycle than the region has pages", function()
      local w, err = core.work_resolve("page_fault_churn",
        { region_kib = 64, touches_per_cycle = 17 })
      assert.is_nil(w)
      assert.equal("page_fault_churn.touches_per_cycle: 17 is more than the region's 16 pages "
        .. "(region_kib 64)", err)
      assert.is_table(core.work_resolve("page_fault_churn",
        { region_kib = 64, touches_per_cycle = 16 }))
    end)

    it("rejects priority_inversion and rt_starvation groups past 16", function()
      local w, err = core.work_resolve("priority_inversion",
        { high_count = 8, medium_count = 1, low_count = 8 })
      assert.is_nil(w)
      assert.equal("priority_inversion: high_count + medium_count + low_count = 17 workers, "
        .. "at most 16 share a lock", err)
      assert.is_table(core.work_resolve("priority_inversion",
        { high_count = 8, medium_count = 0, low_count = 8 }))
      w, err = core.work_resolve("rt_starvation", { rt_workers = 16, cfs_workers = 1 })
      assert.is_nil(w)
      assert.equal("rt_starvation: rt_workers + cfs_workers = 17 workers, at most 16 per group",
        err)
    end)
  end)

  describe("caller bugs raise", function()
    it("on a name that is not a string", function()
      assert.has_error(function() core.work_resolve({}) end)
    end)

    it("on params that are not a table", function()
      assert.has_error(function() core.work_resolve("bursty", 5) end,
        "params must be a table, got number")
    end)

    it("on a parameter name that is not a string", function()
      assert.has_error(function() core.work_resolve("bursty", { 5 }) end,
        "bursty: parameter names must be strings, got number")
    end)

    it("on a duration that is not an integer number of ns", function()
      assert.has_error(function() core.work_resolve("bursty", { burst_duration = 0.05 }) end,
        "bursty.burst_duration must be an integer number of ns, got number 0.05")
      assert.has_error(function() core.work_resolve("bursty", { burst_duration = "10ms" }) end,
        "bursty.burst_duration must be an integer number of ns, got string 10ms")
    end)

    it("on a count that is not an integer", function()
      assert.has_error(function() core.work_resolve("pipe_io", { burst_iters = 1.5 }) end,
        "pipe_io.burst_iters must be an integer, got number 1.5")
    end)

    it("on a bool given as something else", function()
      assert.has_error(function() core.work_resolve("idle_churn", { precise_timing = "yes" }) end,
        "idle_churn.precise_timing must be a boolean, got string yes")
    end)
  end)
end)

describe("work_resolve for sequence", function()
  local VALID = "valid: spin, sleep, yield, io, alu_hot"

  local function seq(phases)
    return core.work_resolve("sequence", {}, phases)
  end

  it("gives the phases back in order", function()
    local phases = {
      { kind = "spin", ns = 100000000 }, { kind = "sleep", ns = 20000000 },
      { kind = "yield", ns = 1 }, { kind = "io", ns = 5000000 },
      { kind = "alu_hot", ns = NS_MAX },
    }
    local w = assert(seq(phases))
    assert.same(phases, w.phases)
    assert.equal(1, w.group_size)
    assert.same({}, w.args)
  end)

  it("takes up to 16 phases", function()
    local phases = {}
    for i = 1, 16 do phases[i] = { kind = "spin", ns = i } end
    assert.equal(16, #assert(seq(phases)).phases)
  end)

  it("rejects a sequence without phases, given or not", function()
    for _, phases in ipairs({ {}, false }) do
      local w, err, code = seq(phases or nil)
      assert.is_nil(w)
      assert.equal("work type 'sequence' needs at least one phase", err)
      assert.equal("EINVAL", code)
    end
  end)

  it("rejects 17 phases", function()
    local phases = {}
    for i = 1, 17 do phases[i] = { kind = "spin", ns = 1 } end
    local _, err = seq(phases)
    assert.equal("sequence: 17 phases, at most 16", err)
  end)

  it("names an unknown phase kind, its position and the valid kinds", function()
    local _, err, code = seq({ { kind = "spin", ns = 1 }, { kind = "sleeep", ns = 1 } })
    assert.equal("sequence phase 2: unknown kind 'sleeep'; " .. VALID, err)
    assert.equal("EINVAL", code)
  end)

  it("rejects phase durations out of range, naming the phase", function()
    local _, err = seq({ { kind = "sleep", ns = 0 } })
    assert.equal("sequence phase 1 (sleep): 0 is out of range (1..60000000000 ns)", err)
    _, err = seq({ { kind = "spin", ns = 1 }, { kind = "io", ns = NS_MAX + 1 } })
    assert.equal("sequence phase 2 (io): 60000000001 is out of range (1..60000000000 ns)", err)
  end)

  it("rejects params, since sequence takes none", function()
    local _, err = core.work_resolve("sequence", { phases = 1 }, PHASES)
    assert.equal("work type 'sequence' has no parameter 'phases'; it takes none", err)
  end)

  it("rejects phases for any other type", function()
    local w, err, code = core.work_resolve("spin_wait", {}, PHASES)
    assert.is_nil(w)
    assert.equal("work type 'spin_wait' takes no phases", err)
    assert.equal("EINVAL", code)
  end)

  it("raises on malformed phases", function()
    assert.has_error(function() seq(5) end, "phases must be a table, got number")
    assert.has_error(function() seq({ "spin" }) end, "phase 1 must be a table {kind =, ns =}")
    assert.has_error(function() seq({ { ns = 1 } }) end, "phase 1: kind must be a string")
    assert.has_error(function() seq({ { kind = "spin", ns = 0.5 } }) end,
      "phase 1: ns must be an integer")
    assert.has_error(function() seq({ { kind = "spin" } }) end, "phase 1: ns must be an integer")
  end)
end)
