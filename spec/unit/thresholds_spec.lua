-- Thresholds: the merge of the check keys and the not_starved defaults.
local thresholds = require("ktstr.thresholds")

local function test(keys)
  keys.name = keys.name or "t"
  return keys
end

describe("thresholds.merge", function()
  it("lets the last layer that sets a key win", function()
    local m = thresholds.merge({ max_gap_ms = 1, not_starved = true }, { max_gap_ms = 2, isolation = false },
      { max_gap_ms = 3 })
    assert.same({ max_gap_ms = 3, not_starved = true, isolation = false }, m)
  end)

  it("skips missing layers and keys that are not checks", function()
    assert.same({ min_work_rate = 1 }, thresholds.merge(nil, { name = "sched", min_work_rate = 1 }, nil))
  end)
end)

describe("thresholds.resolve", function()
  it("gives not_starved the release column under KVM and the debug column under TCG", function()
    assert.same({ not_starved = true, max_spread_pct = 15, max_gap_ms = 2000 },
      thresholds.resolve(test({ not_starved = true }), "kvm"))
    assert.same({ not_starved = true, max_spread_pct = 35, max_gap_ms = 3000 },
      thresholds.resolve(test({ not_starved = true }), "tcg"))
    assert.equal(35, thresholds.resolve(test({ not_starved = true }), nil).max_spread_pct)
  end)

  it("keeps a threshold the scheduler or the test set, test last", function()
    local t = test({ not_starved = true, max_spread_pct = 20, scheduler = { name = "s", max_gap_ms = 500,
      max_spread_pct = 10 } })
    assert.same({ not_starved = true, max_spread_pct = 20, max_gap_ms = 500 }, thresholds.resolve(t, "kvm"))
  end)

  it("turns nothing on by default", function()
    assert.same({}, thresholds.resolve(test({}), "kvm"))
  end)
end)
