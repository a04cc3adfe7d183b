-- REPL chunks: printing values, compiling as lua.c does, calling with the chunk's own traceback.
local chunk = require("ktstr.chunk")

describe("chunk.pretty", function()
  it("separates values with tabs and prints top-level strings as themselves", function()
    assert.are.equal("1\tx y\tnil\t2.5\ttrue", chunk.pretty(1, "x y", nil, 2.5, true))
  end)

  it("sorts keys, numbers first, and quotes nested strings", function()
    assert.are.equal('{ 1, 2, [10] = 3, ["a b"] = true, nested = { s = "q\\"\\n" }, x = "y" }',
      chunk.pretty({ 1, 2, x = "y", ["a b"] = true, [10] = 3, nested = { s = 'q"\n' } }))
  end)

  it("breaks a table that does not fit on one line, indented", function()
    local t = { long_name_one = ("a"):rep(40), long_name_two = ("b"):rep(40), inner = { 1 } }
    assert.are.equal('{\n  inner = { 1 },\n  long_name_one = "' .. ("a"):rep(40) .. '",\n' ..
      '  long_name_two = "' .. ("b"):rep(40) .. '",\n}', chunk.pretty(t))
  end)

  it("marks cycles but prints a table shared by two keys twice", function()
    local shared = { 1 }
    local t = { a = shared, b = shared }
    t.self = t
    local s = chunk.pretty(t)
    assert.matches("^{ a = { 1 }, b = { 1 }, self = <cycle: table: 0x%x+> }$", s)
  end)

  it("uses __tostring and reads strict tables raw", function()
    local obj = setmetatable({}, { __tostring = function() return "obj!" end })
    assert.are.equal("{ o = obj! }", chunk.pretty({ o = obj }))
    local strict = setmetatable({ k = 1 }, { __index = function() error("strict") end })
    assert.are.equal("{ k = 1 }", chunk.pretty(strict))
  end)

  it("cuts long tables and long output", function()
    local t = {}
    for i = 1, 150 do t[i] = { i } end
    local s = chunk.pretty(t)
    assert.matches("\n  { 100 },\n  %.%.%. %(50 more%),\n}$", s)
    local lines = {}
    for i = 1, 300 do lines[i] = "l" end
    assert.matches("^l\n.*\n%.%.%. %(100 more lines%)$", chunk.pretty(table.concat(lines, "\n")))
  end)
end)

describe("chunk.compile", function()
  it("compiles an expression so that its value is returned", function()
    assert.are.equal(3, chunk.compile("1 + 2")())
  end)

  it("compiles statements, in the given environment", function()
    local env = {}
    chunk.compile("x = 5", env)()
    assert.are.equal(5, env.x)
  end)

  it("calls a chunk incomplete when it only lacks its end", function()
    for _, src in ipairs({ "for i = 1, 2 do", "f(1,", "x = 1 +", "1 +", "t = {" }) do
      local f, _, incomplete = chunk.compile(src)
      assert.is_nil(f, src)
      assert.is_true(incomplete, src)
    end
  end)

  it("reports a syntax error as complete, named stdin", function()
    local f, err, incomplete = chunk.compile("x = = 1")
    assert.is_nil(f)
    assert.is_false(incomplete)
    assert.are.equal("stdin:1: unexpected symbol near '='", err)
  end)
end)

describe("chunk.call", function()
  it("returns the values as text", function()
    assert.are.same({ true, "2\tx" }, { chunk.call(chunk.compile("1 + 1, 'x'")) })
    assert.are.same({ true, "" }, { chunk.call(chunk.compile("y = 1")) })
  end)

  it("keeps the chunk's own frames in the traceback", function()
    local ok, err = chunk.call(chunk.compile("local function g() error('boom') end\ng()"))
    assert.is_false(ok)
    assert.are.equal("stdin:1: boom\nstack traceback:\n\tstdin:1: in local 'g'\n" ..
      "\tstdin:2: in main chunk", err)
  end)

  it("shows an executor error table by its message", function()
    assert.are.same({ false, "no cgroup 'a' is running" },
      { chunk.call(chunk.compile("error({ kind = 'op_failed', msg = \"no cgroup 'a' is running\" })")) })
  end)
end)
