-- ktstr.work and ktstr.phase: work values, their parameters, sequences, custom functions.
local work = require("ktstr.work")
local W, P = work.api, work.phase_api

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

describe("work constructors", function()
  it("exist for every work type", function()
    for _, name in ipairs({ "spin_wait", "yield_heavy", "mixed", "alu_hot", "bursty", "idle_churn",
                            "io_sync_write", "pipe_io", "futex_ping_pong", "futex_fan_out",
                            "cache_pressure", "cache_yield", "fork_exit", "nice_sweep", "affinity_churn",
                            "policy_churn", "page_fault_churn", "mutex_contention",
                            "smt_sibling_spin", "cross_affinity_churn", "numa_migration_churn",
                            "numa_working_set_sweep", "cgroup_churn", "cgroup_attach_storm",
                            "priority_inversion", "rt_starvation", "io_rand_read", "io_convoy" }) do
      assert.same(name, W[name]().type)
    end
  end)

  it("fill defaults and take durations as seconds or strings", function()
    assert.same({ type = "spin_wait", params = {} }, W.spin_wait())
    assert.same({ type = "bursty", params = { burst_duration = 0.05, sleep_duration = 0.1 } }, W.bursty())
    assert.same({ type = "bursty", params = { burst_duration = 0.02, sleep_duration = 0.2 } },
      W.bursty({ burst_duration = "20ms", sleep_duration = 0.2 }))
    assert.same({ burst_duration = 0.001, sleep_duration = 0.005, precise_timing = true },
      W.idle_churn({ precise_timing = true }).params)
    assert.same({ fan_out = 8, spin_iters = 1024 }, W.futex_fan_out({ fan_out = 8 }).params)
  end)

  it("name an unknown parameter with did you mean", function()
    assert.matches("ktstr.work.bursty: unknown key 'burst' %(did you mean 'burst_duration'%?%)$",
      err_of(W.bursty, { burst = 1 }))
    assert.matches("ktstr.work.spin_wait: unknown key 'n' %(there are none%)$", err_of(W.spin_wait, { n = 1 }))
  end)

  it("check parameter types", function()
    assert.matches("ktstr.work.bursty: burst_duration: bad duration 'soon'", err_of(W.bursty, { burst_duration = "soon" }))
    assert.matches("ktstr.work.bursty: sleep_duration: expected a duration > 0, got 0$",
      err_of(W.bursty, { sleep_duration = 0 }))
    assert.matches("ktstr.work.pipe_io: burst_iters: expected an integer >= 0, got 1.5$",
      err_of(W.pipe_io, { burst_iters = 1.5 }))
    assert.matches("precise_timing: expected true or false, got 1$", err_of(W.idle_churn, { precise_timing = 1 }))
    assert.matches("ktstr.work.mutex_contention: contenders: expected an integer >= 2, got 1$",
      err_of(W.mutex_contention, { contenders = 1 }))
    assert.matches("expected a table of parameters", err_of(W.bursty, "50ms"))
  end)

  it("take enum values by name and node lists as sorted sets", function()
    assert.same({ reap = "sig_ign" }, W.cgroup_attach_storm().params)
    assert.same({ reap = "waitpid" }, W.cgroup_attach_storm({ reap = "waitpid" }).params)
    assert.equal("pi", W.priority_inversion({ pi_mode = "pi" }).params.pi_mode)
    assert.matches("ktstr.work.priority_inversion: pi_mode: unknown choice 'pii' %(did you mean 'pi'%?%)$",
      err_of(W.priority_inversion, { pi_mode = "pii" }))
    assert.matches("reap: unknown choice 'wait' %(did you mean 'waitpid'%?%)$",
      err_of(W.cgroup_attach_storm, { reap = "wait" }))
    assert.same({ 0, 2, 3 }, W.numa_working_set_sweep({ target_nodes = { 3, 0, 2 } }).params.target_nodes)
    assert.matches("target_nodes: node 1 given twice$",
      err_of(W.numa_working_set_sweep, { target_nodes = { 1, 1 } }))
    assert.matches("target_nodes%[2%]: expected an integer in 0..31, got 32$",
      err_of(W.numa_working_set_sweep, { target_nodes = { 0, 32 } }))
    assert.matches("target_nodes: expected a list {...}, got 1$",
      err_of(W.numa_working_set_sweep, { target_nodes = 1 }))
    -- a default list is each value's own
    local a, b = W.numa_working_set_sweep(), W.numa_working_set_sweep()
    assert.same({}, a.params.target_nodes)
    assert.are_not.equal(a.params.target_nodes, b.params.target_nodes)
  end)

  it("name an unknown work type with did you mean", function()
    assert.matches("ktstr.work: unknown work type 'spinwait' %(did you mean 'spin_wait'%?%)$",
      err_of(function() return W.spinwait end))
  end)
end)

describe("work.group_size", function()
  it("pairs pipe and futex partners and sizes fan-out and mutex groups", function()
    assert.equal(1, work.group_size(W.spin_wait()))
    assert.equal(2, work.group_size(W.pipe_io()))
    assert.equal(2, work.group_size(W.futex_ping_pong()))
    assert.equal(5, work.group_size(W.futex_fan_out()))
    assert.equal(3, work.group_size(W.mutex_contention({ contenders = 3 })))
  end)

  it("pairs smt_sibling_spin and sums the tiers of priority_inversion and rt_starvation", function()
    assert.equal(2, work.group_size(W.smt_sibling_spin()))
    assert.equal(3, work.group_size(W.priority_inversion()))
    assert.equal(6, work.group_size(W.priority_inversion({ high_count = 2, medium_count = 0,
      low_count = 4 })))
    assert.equal(2, work.group_size(W.rt_starvation()))
    assert.equal(5, work.group_size(W.rt_starvation({ rt_workers = 2, cfs_workers = 3 })))
    assert.equal(1, work.group_size(W.cgroup_churn()))
  end)
end)

describe("work.misfit", function()
  it("names a target node the topology lacks, and nothing else", function()
    local w = W.numa_working_set_sweep({ target_nodes = { 0, 2 } })
    assert.equal("numa_working_set_sweep: target_nodes: node 2, but the topology has 2 NUMA nodes",
      work.misfit(w, { numa_nodes = 2 }))
    assert.is_nil(work.misfit(w, { numa_nodes = 3 }))
    assert.is_nil(work.misfit(W.numa_working_set_sweep(), { numa_nodes = 1 }))
    assert.is_nil(work.misfit(W.spin_wait(), { numa_nodes = 1 }))
  end)
end)

describe("sequences and phases", function()
  it("build phase tables with durations in seconds", function()
    assert.same({ kind = "spin", duration = 0.1 }, P.spin(0.1))
    assert.same({ kind = "yield", duration = 0.02 }, P.yield("20ms"))
    assert.same({ type = "sequence", params = {}, phases = { P.spin(0.1), P.sleep(1), P.io("5ms"), P.alu_hot(2) } },
      W.sequence(P.spin(0.1), P.sleep(1), P.io("5ms"), P.alu_hot(2)))
  end)

  it("reject empty sequences, non-phases and zero-length phases", function()
    assert.matches("expected 1 to 16 phases", err_of(W.sequence))
    assert.matches("argument 2 is not a phase", err_of(W.sequence, P.spin(1), W.spin_wait()))
    assert.matches("ktstr.phase.sleep: expected a duration > 0, got 0$", err_of(P.sleep, 0))
    assert.matches("unknown phase 'spn' %(did you mean 'spin'%?%)$", err_of(function() return P.spn end))
  end)
end)

describe("custom work", function()
  it("dumps a function that uses only globals", function()
    local w = W.custom(function(wk, params)
      while not wk:stop() do
        for _ = 1, params.n do end
        wk:units(1)
      end
    end, { n = 3 })
    assert.equal("custom", w.type)
    assert.same({ n = 3 }, w.params)
    assert.is_function(load(w.code, "custom", "b"))
    assert.matches("^spec/unit/work_spec.lua:%d+$", w.source)
  end)

  it("rejects a function that captures a local of the script", function()
    local n = 3
    assert.matches("the function uses 'n' from the enclosing script",
      err_of(W.custom, function() return n end))
  end)

  it("rejects C functions and table-valued params", function()
    assert.matches("expected a Lua function", err_of(W.custom, print))
    assert.matches("params.t: expected a number, string or boolean, got table",
      err_of(W.custom, function() end, { t = {} }))
  end)
end)

-- The C side (ktstr.core.work_types) re-validates; its names, kinds and
-- defaults must agree with ours for the types it has so far.
describe("the work type table", function()
  local ok, core = pcall(require, "ktstr.core")
  local types = ok and core.work_types and core.work_types()
  local KIND = { int = "int", ns = "duration", bool = "bool", enum = "enum", nodes = "nodes" }

  it("matches ktstr.core.work_types() for every type the C side has", function()
    if not types then return pending("ktstr.core.work_types is not there") end
    for _, t in ipairs(types) do
      if t.name ~= "sequence" then
        local ours = work.TYPES[t.name]
        assert.is_table(ours, t.name)
        assert.equal(#t.params, #ours, t.name)
        for i, p in ipairs(t.params) do
          local default = p.default
          if p.kind == "ns" then default = p.default / 1e9 end
          if p.kind == "bool" then default = p.default == true or p.default == 1 end
          assert.same({ p.name, KIND[p.kind], default }, { ours[i][1], ours[i][2], ours[i][3] }, t.name)
          if p.kind == "enum" then assert.same(p.choices, ours[i][4], t.name) end
        end
      end
    end
  end)
end)
