-- core.spawn's options for payloads (src/base/proc.c): output files, nice, a cgroup to join first.
local core = require("ktstr.core")

local function slurp(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

describe("core.spawn options", function()
  local dir
  before_each(function() dir = assert(core.mkdtemp("/tmp/ktstr-spawn-")) end)
  after_each(function() core.rm_rf(dir) end)

  it("writes stdout and stderr to their own files and sets nice before exec", function()
    -- field 19 of /proc/self/stat is the nice value of the program itself
    local p = assert(core.spawn({ "sh", "-c", "echo to-out; echo to-err >&2; " ..
      "cut -d' ' -f19 /proc/self/stat" }, { output = dir .. "/o", stderr = dir .. "/e", nice = 7 }))
    assert.are.same({ code = 0 }, p:wait(10))
    p:close()
    assert.are.equal("to-out\n7\n", slurp(dir .. "/o"))
    assert.are.equal("to-err\n", slurp(dir .. "/e"))
  end)

  it("names the step that failed: a cgroup it could not join", function()
    local p, err, code = core.spawn({ "true" }, { output = dir .. "/o", cgroup = dir .. "/none" })
    assert.is_nil(p)
    assert.are.equal("ENOENT", code)
    assert.are.equal(("spawn: true (joining the cgroup %s/none): No such file or directory")
      :format(dir), err)
  end)

  it("names the program an exec could not find", function()
    local p, err = core.spawn({ "ktstr-no-such-program" })
    assert.is_nil(p)
    assert.are.equal("spawn: ktstr-no-such-program: No such file or directory", err)
  end)

  it("refuses stderr= without output= and a nice outside -20..19", function()
    assert.has_error(function() core.spawn({ "true" }, { stderr = dir .. "/e" }) end,
      "spawn: stderr= goes with output=")
    assert.has_error(function() core.spawn({ "true" }, { output = dir .. "/o", nice = 20 }) end,
      "spawn: nice must be -20..19, got 20")
  end)
end)
