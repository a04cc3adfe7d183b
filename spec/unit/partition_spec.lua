-- ktstr.host.partition: --partition slices are disjoint, cover the list, and stay put.
local partition = require("ktstr.host.partition")

local function names(n)
  local out = {}
  for i = 1, n do out[i] = ("test_%03d"):format(i) end
  return out
end

local function id(x) return x end

describe("partition", function()
  it("reads I/N, count:I/N and hash:I/N and refuses the rest naming the argument", function()
    assert.are.same({ index = 2, total = 3, by = "count" }, partition.parse("2/3"))
    assert.are.same({ index = 1, total = 1, by = "count" }, partition.parse("count:1/1"))
    assert.are.same({ index = 3, total = 4, by = "hash" }, partition.parse("hash:3/4"))
    for _, bad in ipairs({ "3/2", "0/2", "1/0", "x", "1/", "salt:1/2", "-1/2", "1.5/2" }) do
      local p, err = partition.parse(bad)
      assert.is_nil(p, bad)
      assert.matches("^%-%-partition '" .. bad:gsub("%p", "%%%0") .. "': ", err)
    end
  end)

  for _, by in ipairs({ "count", "hash" }) do
    it(by .. ": the slices are disjoint and together are the whole list, in order", function()
      local all = names(37)
      for n = 1, 5 do
        local seen, total = {}, 0
        for i = 1, n do
          local part = partition.slice(all, { index = i, total = n, by = by }, id)
          local last = 0
          for _, name in ipairs(part) do
            assert.is_nil(seen[name], name)
            seen[name] = true
            local k = tonumber(name:match("%d+"))
            assert.is_true(k > last)
            last = k
          end
          total = total + #part
        end
        assert.are.equal(#all, total)
      end
    end)
  end

  it("count slices are balanced; hash slices keep a test where it was when others come", function()
    local all = names(10)
    for i = 1, 3 do
      local n = #partition.slice(all, { index = i, total = 3, by = "count" }, id)
      assert.is_true(n == 3 or n == 4)
    end
    local before = partition.slice(all, { index = 2, total = 3, by = "hash" }, id)
    local more = names(20)
    local after = {}
    for _, name in ipairs(partition.slice(more, { index = 2, total = 3, by = "hash" }, id)) do
      after[name] = true
    end
    for _, name in ipairs(before) do assert.is_true(after[name], name) end
  end)
end)
