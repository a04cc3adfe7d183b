-- tests/*.lua end to end: every test there passes, except the tutorial's deliberately broken one.
local run = require("support.run")

-- Zero to ktstr's "break it on purpose" step: the only test here that must fail.
local BROKEN = "tests/broken_iteration_rate.lua"
local FLOOR = "50000000%.0"

local function lines(s)
  local out = {}
  for l in s:gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

local function literal(s)
  return (s:gsub("%p", "%%%0"))
end

local FILES = lines(run.sh("ls tests/*.lua"))

-- The tests a script declares, from --list: { name =, sched =, topo =, duration_s = }.
local function listed(files)
  local args = { "script" }
  table.move(files, 1, #files, 2, args)
  args[#args + 1] = "--list"
  local code, out, err = run.ktstr(args)
  assert.are.equal(0, code, err)
  local tests = {}
  for _, l in ipairs(lines(out)) do
    local name, sched, topo, d = l:match("^(%S+)  (%S+)  (%S+)  ([%d.]+)s$")
    assert.is_truthy(name, "unexpected --list line: " .. l)
    tests[#tests + 1] = { name = name, sched = sched, topo = topo, duration_s = tonumber(d) }
  end
  return tests
end

describe("tests/ #vm", function()
  after_each(run.assert_no_leftovers)

  it("holds every tutorial step, each running 3 to 5 s", function()
    local seen = {}
    for _, t in ipairs(listed(FILES)) do
      seen[t.name] = t.topo
      assert.is_true(t.duration_s >= 3 and t.duration_s <= 5,
        ("%s runs %gs: keep tests/ at 3-5 s"):format(t.name, t.duration_s))
    end
    assert.are.same({ step1_skeleton = "1n1l2c1t", step3_two_cgroups = "1n1l2c1t",
      step4_topology = "1n2l2c1t", step5_phased_worker = "1n2l2c1t",
      mixed_workloads = "1n2l2c1t", throughput_gate = "1n2l2c1t" }, {
      step1_skeleton = seen.step1_skeleton, step3_two_cgroups = seen.step3_two_cgroups,
      step4_topology = seen.step4_topology, step5_phased_worker = seen.step5_phased_worker,
      mixed_workloads = seen.mixed_workloads, throughput_gate = seen.throughput_gate })
  end)

  for _, file in ipairs(FILES) do
    if file ~= BROKEN then
      it("passes every test in " .. file .. " and exits 0", function()
        local tests = listed({ file })
        assert.is_true(#tests > 0, file .. " declares no test")
        local code, out, err = run.judged({ "script", file })
        assert.are.equal(0, code, out .. err)
        local got = lines(out)
        for i, t in ipairs(tests) do
          assert.matches(("^PASS %s %%[sched=%s%%] %%[topo=%s%%] %%([%%d.]+s%%)$")
            :format(literal(t.name), literal(t.sched), t.topo), got[i] or "", nil, false)
        end
        assert.are.equal(("%d passed, 0 failed"):format(#tests), got[#tests + 1])
        assert.are.equal(#tests + 1, #got, out)
      end)
    end
  end

  it("fails " .. BROKEN .. " on its iteration-rate floor alone and exits 1", function()
    local code, out, err = run.ktstr({ "script", BROKEN })
    assert.are.equal(1, code, out .. err)
    local detail = "worker %d+ iteration rate [%d.]+/s below floor " .. FLOOR .. "/s"
    local got = lines(out)
    -- root cause first, then one detail per worker; no other check trips
    assert.matches("^FAIL throughput_gate %[sched=eevdf%] %[topo=1n2l2c1t%]: " .. detail .. "$",
      got[1])
    for i = 2, 5 do
      assert.matches("^  min_iteration_rate: " .. detail .. "$", got[i])
    end
    assert.are.equal("--- stats ---", got[6])
    assert.matches("^4 workers, ", got[7])
    assert.matches(literal("\nreplay: ktstr script " .. BROKEN .. " --filter throughput_gate\n" ..
      "0 passed, 1 failed\n") .. "$", out)
  end)
end)
