-- The REPL's command line (chunk printing and compiling: chunk_spec.lua).
local repl = require("ktstr.host.repl")

describe("repl.parse", function()
  local function quietly(args)
    local stderr = io.stderr
    io.stderr = { write = function() end }  -- luacheck: ignore
    local o, code = repl.parse(args)
    io.stderr = stderr  -- luacheck: ignore
    return o, code
  end

  it("reads options and repeated scheduler arguments", function()
    local o = quietly({ "--topo", "1n2l2c1t", "--scheduler=ktstr-sched", "--sched-arg", "-v",
      "--sched-arg", "--slice-us=5", "--memory-mib", "512" })
    assert.are.equal("1n2l2c1t", o.topo)
    assert.are.equal("ktstr-sched", o.scheduler)
    assert.are.same({ "-v", "--slice-us=5" }, o.sched_args)
    assert.are.equal(512, o.memory_mib)
  end)

  it("exits 2 on bad options", function()
    for _, args in ipairs({ { "--bogus" }, { "chunk" }, { "--topo" }, { "--memory-mib", "x" },
      { "--ops-name", "x" }, { "--attach", "ID", "--topo", "1n1l1c1t" } }) do
      local o, code = quietly(args)
      assert.is_nil(o, table.concat(args, " "))
      assert.are.equal(2, code)
    end
  end)
end)
