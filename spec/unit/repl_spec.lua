-- The REPL's pure parts: printing values, compiling chunks as lua.c does, the command line.
local repl = require("ktstr.host.repl")

describe("repl.pretty", function()
  it("separates values with tabs and prints top-level strings as themselves", function()
    assert.are.equal("1\tx y\tnil\t2.5\ttrue", repl.pretty(1, "x y", nil, 2.5, true))
  end)

  it("sorts keys, numbers first, and quotes nested strings", function()
    assert.are.equal('{ 1, 2, [10] = 3, ["a b"] = true, nested = { s = "q\\"\\n" }, x = "y" }',
      repl.pretty({ 1, 2, x = "y", ["a b"] = true, [10] = 3, nested = { s = 'q"\n' } }))
  end)

  it("breaks a table that does not fit on one line, indented", function()
    local t = { long_name_one = ("a"):rep(40), long_name_two = ("b"):rep(40), inner = { 1 } }
    assert.are.equal('{\n  inner = { 1 },\n  long_name_one = "' .. ("a"):rep(40) .. '",\n' ..
      '  long_name_two = "' .. ("b"):rep(40) .. '",\n}', repl.pretty(t))
  end)

  it("marks cycles but prints a table shared by two keys twice", function()
    local shared = { 1 }
    local t = { a = shared, b = shared }
    t.self = t
    local s = repl.pretty(t)
    assert.matches("^{ a = { 1 }, b = { 1 }, self = <cycle: table: 0x%x+> }$", s)
  end)

  it("uses __tostring and reads strict tables raw", function()
    local obj = setmetatable({}, { __tostring = function() return "obj!" end })
    assert.are.equal("{ o = obj! }", repl.pretty({ o = obj }))
    local strict = setmetatable({ k = 1 }, { __index = function() error("strict") end })
    assert.are.equal("{ k = 1 }", repl.pretty(strict))
  end)

  it("cuts long tables and long output", function()
    local t = {}
    for i = 1, 150 do t[i] = { i } end
    local s = repl.pretty(t)
    assert.matches("\n  { 100 },\n  %.%.%. %(50 more%),\n}$", s)
    local lines = {}
    for i = 1, 300 do lines[i] = "l" end
    assert.matches("^l\n.*\n%.%.%. %(100 more lines%)$", repl.pretty(table.concat(lines, "\n")))
  end)
end)

describe("repl.compile", function()
  it("compiles an expression so that its value is returned", function()
    assert.are.equal(3, repl.compile("1 + 2")())
  end)

  it("compiles statements, in the given environment", function()
    local env = {}
    repl.compile("x = 5", env)()
    assert.are.equal(5, env.x)
  end)

  it("calls a chunk incomplete when it only lacks its end", function()
    for _, src in ipairs({ "for i = 1, 2 do", "f(1,", "x = 1 +", "1 +", "t = {" }) do
      local f, _, incomplete = repl.compile(src)
      assert.is_nil(f, src)
      assert.is_true(incomplete, src)
    end
  end)

  it("reports a syntax error as complete, named stdin", function()
    local f, err, incomplete = repl.compile("x = = 1")
    assert.is_nil(f)
    assert.is_false(incomplete)
    assert.are.equal("stdin:1: unexpected symbol near '='", err)
  end)
end)

describe("repl.call", function()
  it("returns the values as text", function()
    assert.are.same({ true, "2\tx" }, { repl.call(repl.compile("1 + 1, 'x'")) })
    assert.are.same({ true, "" }, { repl.call(repl.compile("y = 1")) })
  end)

  it("keeps the chunk's own frames in the traceback", function()
    local ok, err = repl.call(repl.compile("local function g() error('boom') end\ng()"))
    assert.is_false(ok)
    assert.are.equal("stdin:1: boom\nstack traceback:\n\tstdin:1: in local 'g'\n" ..
      "\tstdin:2: in main chunk", err)
  end)

  it("shows an executor error table by its message", function()
    assert.are.same({ false, "no cgroup 'a' is running" },
      { repl.call(repl.compile("error({ kind = 'op_failed', msg = \"no cgroup 'a' is running\" })")) })
  end)
end)

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
