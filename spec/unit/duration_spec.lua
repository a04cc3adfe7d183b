-- ktstr.duration: seconds or "100ms"-style strings to seconds.
local duration = require("ktstr.duration")

describe("duration.parse", function()
  it("takes seconds as numbers", function()
    assert.equal(12, duration.parse(12))
    assert.equal(0.1, duration.parse(0.1))
    assert.equal(0, duration.parse(0))
  end)

  for s, want in pairs({ ["100ms"] = 0.1, ["2s"] = 2, ["1.5s"] = 1.5, ["500us"] = 0.0005,
                         ["250ns"] = 2.5e-7, ["2m"] = 120, ["1h"] = 3600, [" 20 ms "] = 0.02,
                         [".5s"] = 0.5 }) do
    it(("reads '%s' as %s s"):format(s, want), function()
      assert.equal(want, duration.parse(s))
    end)
  end

  for _, bad in ipairs({ "10 sec", "ms", "1.5", "-1s", "1e3ms", "" }) do
    it(("rejects '%s', naming it"):format(bad), function()
      local s, err = duration.parse(bad)
      assert.is_nil(s)
      assert.equal(("bad duration '%s': expected seconds (a number) or a string like " ..
        '"100ms", "1.5s", "500us"'):format(bad), err)
    end)
  end

  it("rejects negative, infinite and NaN seconds and other types", function()
    assert.equal("bad duration -1: must be finite and >= 0", select(2, duration.parse(-1)))
    assert.is_nil(duration.parse(math.huge))
    assert.is_nil(duration.parse(0 / 0))
    assert.matches("^bad duration table", select(2, duration.parse({})))
  end)
end)
