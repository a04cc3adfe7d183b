-- ktstr.host.junit: JUnit XML and TAP from a run's verdicts.
local junit = require("ktstr.host.junit")

local CASES = {
  { name = "ok_test", status = "pass", time = 4.25, output = "PASS ok_test\n" },
  { name = "starved", status = "fail", time = 6.5,
    message = "tid 12 stuck 4010ms on cpu1 at +4010ms (threshold 3000ms)",
    output = "FAIL starved [sched=x]: tid 12 stuck <4010ms> & more\n  max_gap_ms: ...\n" },
  { name = "bad", status = "error", time = 0.1, message = "t.lua:3: run(ctx) returned nothing" },
  { name = "gauntlet/t/4cpu-1llc-nosmt", status = "inconclusive", time = 3,
    message = "the guest sent \27[31m\255" },
  { name = "needs_smt", status = "skip", message = "requires_smt" },
}

describe("junit.render", function()
  local xml = junit.render({ name = "ktstr", time = 13.85, cases = CASES })

  it("counts tests, failures, errors and skips on the suite", function()
    assert.matches('<testsuite name="ktstr" tests="5" failures="1" errors="2" skipped="1" ' ..
      'time="13%.850">', xml)
  end)

  it("gives each test a testcase with its time, a failure carrying the root cause and report",
    function()
      assert.matches('<testcase name="ok_test" classname="ktstr" time="4%.250">', xml)
      assert.matches('<failure type="fail" message="tid 12 stuck 4010ms on cpu1 at %+4010ms ' ..
        '%(threshold 3000ms%)">FAIL starved %[sched=x%]: tid 12 stuck &lt;4010ms&gt; &amp; more\n',
        xml)
      assert.matches('<error type="error" message="t%.lua:3: run%(ctx%) returned nothing">', xml)
      assert.matches('<testcase name="gauntlet/t/4cpu%-1llc%-nosmt"', xml)
      assert.matches('<skipped message="requires_smt"/>', xml)
    end)

  it("keeps control bytes and bytes that are not UTF-8 out of the XML", function()
    assert.matches('message="the guest sent \\x1b%[31m\\xff"', xml)
    assert.is_nil(xml:find("\27", 1, true))
    assert.is_not_nil(utf8.len(xml))
  end)

  it("is well-formed: every element closed in order", function()
    local stack = {}
    for close, tag, selfclose in xml:gmatch("<(/?)([%w-]+)[^>]-(/?)>") do
      if close == "/" then
        assert.are.equal(table.remove(stack), tag)
      elseif selfclose == "" then
        stack[#stack + 1] = tag
      end
    end
    assert.are.same({}, stack)
  end)
end)

describe("junit.tap", function()
  it("numbers the cases and ends with the plan", function()
    assert.are.equal("ok 1 - ok_test\n" ..
      "not ok 2 - starved # FAIL: tid 12 stuck 4010ms on cpu1 at +4010ms (threshold 3000ms)\n" ..
      "not ok 3 - bad # ERROR: t.lua:3: run(ctx) returned nothing\n" ..
      "not ok 4 - gauntlet/t/4cpu-1llc-nosmt # INCONCLUSIVE: the guest sent \27[31m\255\n" ..
      "ok 5 - needs_smt # SKIP requires_smt\n1..5\n", junit.tap(CASES))
  end)
end)
