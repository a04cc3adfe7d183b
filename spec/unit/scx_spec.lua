-- The scx build cache's binaries checked against what the build recorded before a guest gets them.
local core = require("ktstr.core")
local scx = require("ktstr.host.scx")
local run = require("support.run")

local q = run.sh_quote

describe("ktstr.host.scx.check", function()
  local tmp, entry, link

  local function write(path, data)
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
  end

  before_each(function()
    tmp = assert(core.mkdtemp("/tmp/ktstr-spec-scx-"))
    entry = tmp .. "/scx/7.3.4-1-abc"
    assert(core.mkdir_p(entry .. "/bin"))
    write(entry .. "/bin/scx_x", ("x"):rep(1000))
    write(entry .. "/metadata.json", require("cjson").encode({ recipe = "ktstr-scx-1",
      kernel = "7.3.4+deb13-amd64", schedulers = { "scx_x" },
      files = { scx_x = { size = 1000, hash = core.hash_files({ entry .. "/bin/scx_x" }) } } }))
    -- build/scx is a link to the entry's bin, as make scx leaves it
    link = tmp .. "/build-scx"
    assert(os.execute(("ln -s %s %s"):format(q(entry .. "/bin"), q(link))))
  end)

  after_each(function()
    core.rm_rf(tmp)
  end)

  it("passes a binary the build left as it was, and binaries from elsewhere", function()
    assert.is_nil(scx.check(link .. "/scx_x"))
    write(tmp .. "/mine", "y")
    assert.is_nil(scx.check(tmp .. "/mine"))
  end)

  it("names a binary cut short or changed, and the command that builds it again", function()
    write(entry .. "/bin/scx_x", ("x"):rep(10))
    assert.are.equal(link .. "/scx_x: the scx build cache's bin/scx_x is 10 bytes, 1000 when " ..
      "built; run: ktstr kernel scx 7.3 (make scx)", scx.check(link .. "/scx_x"))
    write(entry .. "/bin/scx_x", ("y"):rep(1000))
    assert.are.equal(link .. "/scx_x: the scx build cache's bin/scx_x has changed since it was " ..
      "built; run: ktstr kernel scx 7.3 (make scx)", scx.check(link .. "/scx_x"))
  end)
end)
