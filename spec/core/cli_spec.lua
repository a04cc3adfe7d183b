-- The ktstr binary's command line: --help on every subcommand, --version, usage errors.
local run = require("support.run")

local function ktstr(...)
  local q = { run.sh_quote(run.exe) }
  for _, a in ipairs({ ... }) do q[#q + 1] = run.sh_quote(a) end
  local dir = os.tmpname()
  local out, _, code = run.sh(table.concat(q, " ") .. " 2>" .. dir)
  local f = io.open(dir)
  local err = f:read("a")
  f:close()
  os.remove(dir)
  return code, out, err
end

describe("ktstr's command line", function()
  it("prints each subcommand's help on stdout and exits 0", function()
    for _, c in ipairs({ "script", "vm", "repl", "kernel", "lua" }) do
      for _, flag in ipairs({ "--help", "-h" }) do
        local code, out, err = ktstr(c, flag)
        assert.are.equal(0, code, c .. " " .. flag .. ": " .. err)
        assert.matches("^usage: ktstr " .. c .. " ", out, c)
        assert.are.equal("", err, c)
      end
    end
    local code, out = ktstr("--help")
    assert.are.equal(0, code)
    assert.matches("^usage: ktstr <command>", out)
  end)

  it("says its version and the tree it was built from", function()
    local code, out = ktstr("--version")
    assert.are.equal(0, code)
    assert.matches("^ktstr %d+%.%d+%.%d+ %(%S+%)\n$", out)
    local _, again = ktstr("version")
    assert.are.equal(out, again)
  end)

  it("answers an unknown option with the synopsis on stderr and exit 2", function()
    for _, c in ipairs({ "script", "vm", "repl" }) do
      local code, out, err = ktstr(c, "--bogus")
      assert.are.equal(2, code, c)
      assert.are.equal("", out, c)
      assert.matches("^ktstr " .. c .. ": unknown option '%-%-bogus'\nusage: ktstr " .. c, err, c)
    end
  end)
end)
