-- require("ktstr"): the public table and its strictness.
local ktstr = require("ktstr")

describe("the ktstr table", function()
  it("offers the vocabulary", function()
    for _, name in ipairs({ "test", "cgroup", "work", "phase", "cpuset", "step", "hold", "backdrop", "op",
                            "pass", "fail", "skip", "inconclusive", "merge", "all_of", "any_of" }) do
      assert.is_not_nil(rawget(ktstr, name), name)
    end
  end)

  it("names a misspelt member with did you mean", function()
    local ok, err = pcall(function() return ktstr.cgroups end)
    assert.is_false(ok)
    assert.matches("ktstr: unknown name 'cgroups' %(did you mean 'cgroup'%?%)$", err)
  end)

  it("leaves no globals behind", function()
    local before = {}
    for k in pairs(_G) do before[k] = true end
    for m in pairs(package.loaded) do
      if m == "ktstr" or m:match("^ktstr%.") and m ~= "ktstr.core" then package.loaded[m] = nil end
    end
    require("ktstr")
    require("ktstr.host.checks")
    require("ktstr.host.report")
    for k in pairs(_G) do assert.is_true(before[k], "new global " .. tostring(k)) end
  end)
end)
