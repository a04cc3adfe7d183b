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
    for _, c in ipairs({ "script", "vm", "repl", "kernel", "stats", "verifier", "lua" }) do
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
    for _, c in ipairs({ "script", "vm", "repl", "verifier" }) do
      local code, out, err = ktstr(c, "--bogus")
      assert.are.equal(2, code, c)
      assert.are.equal("", out, c)
      assert.matches("^ktstr " .. c .. ": unknown option '%-%-bogus'\nusage: ktstr " .. c, err, c)
    end
  end)
end)

describe("ktstr script --partition", function()
  local function list(...)
    local code, out, err = ktstr("script", "tests/mixed.lua", "tests/corpus.lua",
      "tests/step1_skeleton.lua", "tests/step3_two_cgroups.lua", "tests/step4_topology.lua",
      "--list", ...)
    assert.are.equal(0, code, err)
    local names = {}
    for name in out:gmatch("([^\n ]+)  [^\n]*\n") do names[#names + 1] = name end
    return names
  end

  it("gives slices that are disjoint and together are the whole selection", function()
    local all = list()
    assert.is_true(#all >= 8)
    for _, by in ipairs({ "", "hash:" }) do
      local seen, n = {}, 0
      for i = 1, 3 do
        for _, name in ipairs(list("--partition", ("%s%d/3"):format(by, i))) do
          assert.is_nil(seen[name], name)
          seen[name], n = true, n + 1
        end
      end
      assert.are.equal(#all, n)
    end
  end)

  it("refuses a slice that does not exist, naming the argument", function()
    local code, _, err = ktstr("script", "tests/mixed.lua", "--partition", "3/2")
    assert.are.equal(2, code)
    assert.matches("^ktstr script: %-%-partition '3/2': ", err)
  end)
end)

describe("ktstr script with several kernels", function()
  it("lists each test once per kernel, and one kernel named twice once", function()
    local code, out, err = ktstr("script", "tests/step1_skeleton.lua", "--list", "--kernel",
      "/nonexistent/a/vmlinux", "--kernel", "/nonexistent/b/vmlinux")
    assert.are.equal(0, code, err)
    assert.are.equal("step1_skeleton@/nonexistent/a/vmlinux  eevdf  1n1l2c1t  3s\n" ..
      "step1_skeleton@/nonexistent/b/vmlinux  eevdf  1n1l2c1t  3s\n", out)
    code, out, err = ktstr("script", "tests/step1_skeleton.lua", "--list", "--kernel", "7.3",
      "--kernel", "7.3")
    assert.are.equal(0, code, err)
    assert.are.equal("step1_skeleton  eevdf  1n1l2c1t  3s\n", out)
    assert.matches("%-%-kernel 7%.3 is the kernel 7%.3 names: run once", err)
  end)
end)
