-- Verdicts: constructors, the lattice fail > inconclusive > pass > skip, all_of and any_of.
local ktstr = require("ktstr")

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

describe("verdict constructors", function()
  it("build plain tables with one detail per message", function()
    assert.same({ status = "pass", details = {} }, ktstr.pass())
    assert.same({ status = "fail", details = { { check = "custom", status = "fail", msg = "boom" } } },
      ktstr.fail("boom"))
    assert.same({ status = "skip", details = { { check = "custom", status = "skip", msg = "no SMT" } } },
      ktstr.skip("no SMT"))
    assert.equal("inconclusive", ktstr.inconclusive("no samples").status)
  end)

  it("want a message", function()
    assert.matches("ktstr.fail: expected a message string, got nil$", err_of(ktstr.fail))
  end)
end)

describe("ktstr.merge", function()
  local order = { "skip", "pass", "inconclusive", "fail" }
  local function v(status)
    return status == "pass" and ktstr.pass() or ktstr[status](status .. " detail")
  end

  for i, a in ipairs(order) do
    for j, b in ipairs(order) do
      local want = order[math.max(i, j)]
      it(("takes %s for %s + %s"):format(want, a, b), function()
        assert.equal(want, ktstr.merge(v(a), v(b)).status)
      end)
    end
  end

  it("keeps details in order, left first", function()
    local m = ktstr.merge(ktstr.fail("first"), ktstr.merge(ktstr.inconclusive("second"), ktstr.fail("third")))
    assert.same({ "first", "second", "third" }, { m.details[1].msg, m.details[2].msg, m.details[3].msg })
  end)

  it("rejects what is not a verdict", function()
    assert.matches("ktstr.merge: argument 2 is not a verdict", err_of(ktstr.merge, ktstr.pass(), true))
  end)
end)

describe("ktstr.all_of", function()
  it("passes when empty and takes the worst branch", function()
    assert.equal("pass", ktstr.all_of({}).status)
    assert.equal("fail", ktstr.all_of({ ktstr.pass(), ktstr.fail("x"), ktstr.inconclusive("y") }).status)
  end)

  it("is skip when every branch skips", function()
    assert.equal("skip", ktstr.all_of({ ktstr.skip("a"), ktstr.skip("b") }).status)
  end)
end)

describe("ktstr.any_of", function()
  it("passes with one passing branch", function()
    assert.equal("pass", ktstr.any_of({ ktstr.fail("x"), ktstr.pass() }).status)
  end)

  it("summarises the branches when none passes", function()
    local v = ktstr.any_of({ ktstr.fail("x"), ktstr.inconclusive("y"), ktstr.skip("z") })
    assert.equal("inconclusive", v.status)
    assert.same({ check = "any_of", status = "inconclusive", msg = "1 failed, 1 inconclusive, 1 skipped of 3 branches" },
      v.details[1])
    assert.same({ "x", "y", "z" }, { v.details[2].msg, v.details[3].msg, v.details[4].msg })
  end)

  it("fails when every branch fails, and skips when every branch skips", function()
    assert.equal("fail", ktstr.any_of({ ktstr.fail("x"), ktstr.fail("y") }).status)
    assert.equal("skip", ktstr.any_of({ ktstr.skip("x") }).status)
  end)
end)
