-- show.value: the one renderer of Lua values (error messages, REPL results, the report's dumps).
local show = require("ktstr.show")

describe("show.value", function()
  it("keeps everything on one line unless given a width", function()
    local t = { long_name_one = ("a"):rep(60), long_name_two = ("b"):rep(60), inner = { 1, 2 } }
    local s = show.value(t)
    assert.is_nil(s:find("\n", 1, true))
    assert.are.equal('{ inner = { 1, 2 }, long_name_one = "' .. ("a"):rep(60) .. '", long_name_two = "' ..
      ("b"):rep(60) .. '" }', s)
    assert.matches("^{\n  inner = { 1, 2 },\n", show.value(t, { width = 100 }))
  end)

  it("quotes strings and shows other scalars as tostring does", function()
    assert.are.equal('"a\\nb"', show.value("a\nb"))
    assert.are.equal("2.5", show.value(2.5))
    assert.are.equal("nil", show.value(nil))
    assert.are.equal("{ code = 1 }", show.value({ code = 1 }))
  end)

  it("cuts at max characters, at items per table and at depth", function()
    local list = {}
    for i = 1, 50 do list[i] = i end
    local s = show.value(list, { max = 20 })
    assert.are.equal("{ 1, 2, 3, 4, 5, 6, ...", s)
    assert.are.equal("{ 1, 2, ... (48 more) }", show.value(list, { items = 2 }))
    assert.are.equal("{ a = { b = {...} } }", show.value({ a = { b = { c = 1 } } }, { depth = 2 }))
  end)
end)
