-- The agent's cpio unpacking (a restored guest's files) on archives core.cpio_write makes.
local agent = require("ktstr.guest.agent")
local core = require("ktstr.core")

local slurp = require("support.files").read

local function mode_of(path)
  local p = io.popen("stat -c %a " .. path)
  local m = p:read("l")
  p:close()
  return m
end

describe("agent.unpack", function()
  local dir
  before_each(function() dir = assert(core.mkdtemp("/tmp/ktstr-unpack-spec-")) end)
  after_each(function() core.rm_rf(dir) end)

  local function archive(entries)
    assert(core.cpio_write(dir .. "/a.cpio", entries))
    return slurp(dir .. "/a.cpio")
  end

  it("writes files with their modes, directories and all, replacing what is there", function()
    local bin = ("\0\1\2ELF"):rep(3001)  -- not a multiple of 4: padding follows it
    local src = dir .. "/src.bin"
    local f = assert(io.open(src, "wb"))
    f:write(bin)
    f:close()
    local data = archive({
      { path = "scripts/t.lua", data = "return 1\n" },
      { path = "usr/lib/x/libfoo.so.1", src = src, mode = "0755" },
      { path = "e", data = "" },
      { path = "d/empty", dir = true },
    })
    assert(core.mkdir_p(dir .. "/root/scripts"))
    f = assert(io.open(dir .. "/root/scripts/t.lua", "wb"))
    f:write("an older, longer script\n")
    f:close()
    assert.is_true(agent.unpack(data, dir .. "/root"))
    assert.are.equal("return 1\n", slurp(dir .. "/root/scripts/t.lua"))
    assert.are.equal(bin, slurp(dir .. "/root/usr/lib/x/libfoo.so.1"))
    assert.are.equal("755", mode_of(dir .. "/root/usr/lib/x/libfoo.so.1"))
    assert.are.equal("644", mode_of(dir .. "/root/scripts/t.lua"))
    assert.are.equal("", slurp(dir .. "/root/e"))
    assert.is_truthy(io.open(dir .. "/root/d/empty/."))
  end)

  it("names what is wrong with an archive it cannot unpack", function()
    local data = archive({ { path = "a", data = ("x"):rep(100) } })
    local ok, err = agent.unpack("garbage", dir)
    assert.is_nil(ok)
    assert.are.equal("not a newc cpio at byte 0", err)
    ok, err = agent.unpack(data:sub(1, 150), dir)
    assert.is_nil(ok)
    assert.are.equal("a: cut short", err)
    ok, err = agent.unpack(archive({ { path = "l", symlink = "/x" } }), dir)
    assert.is_nil(ok)
    assert.matches("^l: a kind of entry %(mode 120777%) the host never sends$", err)
  end)
end)
