-- Runs inside the 1n2l2c1t guest (CPUs 0-1 = LLC0, 2-3 = LLC1): the executor's affinities.
local ktstr = require("ktstr")
local protocol = require("ktstr.protocol")
local scenario = require("ktstr.guest.scenario")

local G = require("support.guest")

local function run(t)
  t.llcs, t.cores, t.duration_s = 2, 2, t.duration_s or 1
  local test = ktstr.test(t)
  require("ktstr.test").reset()
  local r = scenario.run(test, test, nil)
  assert.is_nil(r.fault)
  -- what the executor made is what the protocol declares a result to be
  assert(protocol.check({ t = "result", id = 1, result = r }))
  return r
end

local function cpus_of(r, name)
  for _, cg in ipairs(r.cgroups) do
    if cg.name == name then
      local out = {}
      for i, w in ipairs(cg.workers) do out[i] = table.concat(w.cpus, ",") end
      return out
    end
  end
end

describe("named affinities", function()
  it("single_cpu keeps each worker on its own CPU", function()
    local r = run({ name = "single", defs = {
      ktstr.cgroup("pinned"):workers(4):affinity("single_cpu") } })
    assert.same({ "0", "1", "2", "3" }, cpus_of(r, "pinned"))
  end)

  it("llc_aligned keeps each worker inside one LLC", function()
    local r = run({ name = "llc", defs = {
      ktstr.cgroup("aligned"):workers(4):affinity("llc_aligned") } })
    for _, list in ipairs(cpus_of(r, "aligned")) do
      assert.is_truthy(list:match("^[01],?[01]?$") or list:match("^[23],?[23]?$"), list)
    end
  end)

  it("set_affinity re-pins running workers", function()
    local seen = {}
    run({ name = "repin", run = function(ctx)
      ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("moving"):workers(2)))
      ctx:op(ktstr.op.set_affinity("moving", ktstr.cpuset.exact({ 3 })))
      for _, pid in ipairs(ctx:get("moving").sets[1]:pids()) do
        seen[#seen + 1] = G.slurp(("/proc/%d/status"):format(pid)):match("Cpus_allowed_list:%s*(%S+)")
      end
      return ktstr.pass()
    end })
    assert.same({ "3", "3" }, seen)
  end)
end)

describe("a run(ctx) body's verdict", function()
  local function body(fn)
    local test = ktstr.test({ name = "body", duration_s = 1, run = fn })
    require("ktstr.test").reset()
    local r = scenario.run(test, test, nil)
    assert(protocol.check({ t = "result", id = 1, result = r }))
    return r
  end

  it("is never assumed: nothing or a value that is not a verdict is the script's error", function()
    for _, bad in ipairs({ false, 42, "pass", { status = "fail" }, ktstr.fail }) do
      local r = body(function() return bad end)
      assert.is_nil(r.verdict)
      assert.equal("script", r.fault.kind)
      assert.matches("run%(ctx%) returned .* it must return a verdict", r.fault.msg)
    end
    assert.matches("returned nothing", body(function() end).fault.msg)
  end)

  it("takes an error of any type as the script's, showing the value", function()
    local r = body(function() error({ code = 1 }) end)
    assert.equal("script", r.fault.kind)
    assert.matches("error raised with a table value: { code = 1 }", r.fault.msg)
    assert.matches("error raised with a nil value", body(function() error() end).fault.msg)
  end)

  it("passes a verdict through", function()
    assert.equal("skip", body(function() return ktstr.skip("no SMT") end).verdict.status)
  end)
end)
