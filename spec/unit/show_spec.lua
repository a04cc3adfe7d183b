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

  it("text: escapes what a terminal would act on, keeps newlines, tabs and UTF-8 text", function()
    assert.are.equal("plain", show.text("plain"))
    assert.are.equal("a\tb\nc", show.text("a\tb\nc"))
    assert.are.equal("\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07",
      show.text("\27[31mred\27[0m \27]0;title\7"))
    assert.are.equal("x\\xffy", show.text("x\255y"))
    -- a serial console's line ends are newlines; a lone carriage return overwrites: escaped
    assert.are.equal("line\nnext\\x0dover", show.text("line\r\nnext\rover"))
    assert.are.equal("µs ÿ 日本 😀", show.text("µs ÿ 日本 😀"))
    -- C1 controls (CSI as U+009B), cut, overlong, surrogate and past-U+10FFFF sequences
    assert.are.equal("\\xc2\\x9b2J", show.text("\xc2\x9b2J"))
    assert.are.equal("\\xe2\\x82", show.text("\xe2\x82"))
    assert.are.equal("\\xc0\\xaf", show.text("\xc0\xaf"))
    assert.are.equal("\\xed\\xa0\\x80", show.text("\xed\xa0\x80"))
    assert.are.equal("\\xf4\\x90\\x80\\x80", show.text("\xf4\x90\x80\x80"))
    assert.are.equal("\\x00z\\x7f", show.text("\0z\127"))
    assert.are.equal("5", show.text(5))
  end)
end)
