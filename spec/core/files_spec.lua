-- core.copy_sparse and core.b64encode/b64decode: the saved guests' RAM copies and the channel's file pieces.
local core = require("ktstr.core")

describe("core.copy_sparse", function()
  local dir
  before_each(function() dir = assert(core.mkdtemp("/dev/shm/ktstr-copy-spec-")) end)
  after_each(function() core.rm_rf(dir) end)

  local function allocated_kib(path)
    local p = io.popen("du -k " .. path)
    local n = tonumber(p:read("a"):match("^(%d+)"))
    p:close()
    return n
  end

  it("copies the data and keeps the holes as holes", function()
    local src = dir .. "/src"
    local f = assert(io.open(src, "wb"))
    f:write("head")
    f:seek("set", 64 << 20)
    f:write(("x"):rep(8192))
    f:seek("set", (128 << 20) - 5)
    f:write("tail!")
    f:close()
    local n = assert(core.copy_sparse(src, dir .. "/dst"))
    -- whole pages of data (what SEEK_DATA reports), not the 128 MiB the file spans
    assert.is_true(n >= 8192 + 9 and n <= 64 * 1024, tostring(n))
    assert.are.equal(io.open(src, "rb"):read("a"), io.open(dir .. "/dst", "rb"):read("a"))
    assert.is_true(allocated_kib(dir .. "/dst") < 1024)
  end)

  it("names a source it cannot read and leaves no destination", function()
    local n, err, code = core.copy_sparse(dir .. "/absent", dir .. "/dst")
    assert.is_nil(n)
    assert.matches("absent", err, 1, true)
    assert.are.equal("ENOENT", code)
    assert.is_nil(io.open(dir .. "/dst"))
  end)
end)

describe("core.b64encode / b64decode", function()
  it("round-trips every length and every byte", function()
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    all = table.concat(all)
    for n = 0, 7 do
      local s = all:sub(1, n)
      assert.are.equal(s, core.b64decode(core.b64encode(s)))
    end
    assert.are.equal(all, core.b64decode(core.b64encode(all)))
    assert.are.equal("aGVsbG8=", core.b64encode("hello"))
    assert.are.equal("", core.b64encode(""))
  end)

  it("refuses what is not base64", function()
    for _, bad in ipairs({ "abc", "ab=c", "a b=", "====", "ab\0=" }) do
      local s, err, code = core.b64decode(bad)
      assert.is_nil(s, bad)
      assert.matches("not base64", err)
      assert.are.equal("EINVAL", code)
    end
  end)
end)
