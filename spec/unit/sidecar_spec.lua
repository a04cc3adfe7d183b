-- ktstr.host.sidecar: the variant name and the record a run writes.
local sidecar = require("ktstr.host.sidecar")

describe("sidecar", function()
  it("hashes with FNV-1a 64", function()
    -- the published test vectors
    assert.are.equal("cbf29ce484222325", sidecar.fnv1a(""))
    assert.are.equal("af63dc4c8601ec8c", sidecar.fnv1a("a"))
    assert.are.equal("85944171f73967e8", sidecar.fnv1a("foobar"))
  end)

  it("names a variant by topology and scheduler settings, not by test", function()
    local t = { name = "a", numa_nodes = 1, llcs = 2, cores = 2, threads = 1 }
    local u = { name = "b", numa_nodes = 1, llcs = 2, cores = 2, threads = 1 }
    assert.are.equal(sidecar.variant(t), sidecar.variant(u))
    u.llcs = 1
    assert.are_not.equal(sidecar.variant(t), sidecar.variant(u))
    local s = { name = "a", numa_nodes = 1, llcs = 2, cores = 2, threads = 1,
      scheduler = { name = "x", args = { "--slow" } } }
    assert.are_not.equal(sidecar.variant(t), sidecar.variant(s))
  end)

  it("records the verdict, the run and the host", function()
    local run = sidecar.start()
    local t = { name = "t", numa_nodes = 1, llcs = 1, cores = 2, threads = 1, duration_s = 1 }
    local v = { status = "fail", details = { { check = "x", status = "fail", msg = "m" } } }
    local rec = sidecar.record(t, v, { kernel = "7.3.4", monitor = { summary = { dilation = 1.5 },
      periodic_target = 2, periodic_fired = 1 } }, run)
    assert.are.equal("t", rec.test_name)
    assert.is_false(rec.passed)
    assert.are.equal("7.3.4", rec.kernel_version)
    assert.are.equal(2, rec.vcpus)
    assert.are.equal(1.5, rec.host_dilation)
    assert.are.same({ 2, 1 }, { rec.periodic_target, rec.periodic_fired })
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", rec.timestamp)
    assert.matches("^%d+T%d+Z%-%d+$", rec.run_id)
    assert.is_true(rec.cpu_budget >= 1)
  end)

  it("keeps each cgroup's worker times and worst p99 wake latency for ktstr stats", function()
    local function w(wall, cpu, delay, wake)
      return { wall_ns = wall * 1e9, cpu_ns = cpu * 1e9, run_delay_ns = delay and delay * 1e9,
        wake = wake }
    end
    local times = sidecar.cgroup_times({ cgroups = {
      { name = "spin", workers = { w(4, 3, 1), w(4, 2, 2) } },
      { name = "sleep", workers = { w(4, 1, 0.5, { count = 10, p99_ns = 2000 }),
        w(4, 1, nil, { count = 5, p99_ns = 9000 }) } },
    } })
    assert.are.same({
      { name = "spin", workers = 2, wall_s = 8, cpu_s = 5, run_delay_s = 3, wakes = 0 },
      { name = "sleep", workers = 2, wall_s = 8, cpu_s = 2, wakes = 15, wake_p99_us = 9 },
    }, times)
    assert.are.same({}, sidecar.cgroup_times({}))
  end)

  it("writes a record whole or not at all: Ctrl-C while encoding it ends the run with 130", function()
    local core = require("ktstr.core")
    local dir = assert(core.mkdtemp("/tmp/ktstr-sidecar-spec-"))
    -- the Ctrl-C lands while the record is encoded, inside the encoder's pcall
    local chunk = [[
      local core, cjson = require("ktstr.core"), require("cjson")
      local real = cjson.encode
      cjson.encode = function(v)
        if type(v) == "table" and v.test_name then
          cjson.encode = real
          assert(io.popen("kill -INT " .. core.getpid())):close()
          for _ = 1, 1000 do end
        end
        return real(v)
      end
      local run = require("ktstr.host.sidecar").start()
      local t = { name = "t", numa_nodes = 1, llcs = 1, cores = 2, threads = 1, duration_s = 1 }
      print("returned", run:write(t, { status = "pass", details = {} }, { kernel = "7.3.4" }))
    ]]
    local p = assert(io.popen(("KTSTR_SIDECAR_DIR=%s '%s' lua -e %s 2>&1; echo \"rc=$?\"")
      :format(dir, assert(core.exe()), "'" .. chunk:gsub("'", "'\\''") .. "'")))
    local out = p:read("a")
    p:close()
    local files = core.list_files(dir) or {}
    core.rm_rf(dir)
    assert.matches("rc=130\n$", out)
    assert.is_nil(out:find("returned", 1, true), out)
    assert.same({}, files)
  end)
end)
