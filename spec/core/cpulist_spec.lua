-- ktstr.core.cpulist_parse (src/base/cpulist.c): the one cpulist parser, as the kernel prints lists.
local core = require("ktstr.core")

describe("core.cpulist_parse", function()
  it("reads numbers, ranges, strides and the kernel's trailing newline", function()
    assert.same({ 0, 1, 2, 5 }, core.cpulist_parse("0-2,5"))
    assert.same({ 0, 1, 3, 4 }, core.cpulist_parse("4,3,1,0"))
    assert.same({ 0, 1, 4, 5 }, core.cpulist_parse("0-7:2/4"))
    assert.same({ 0, 1, 4 }, core.cpulist_parse(" 0 - 1 , 4\n"))
    assert.same({}, core.cpulist_parse(""))
  end)

  it("refuses bad syntax and, when asked, the empty list, as input errors", function()
    for _, s in ipairs({ "x", "0,", ",0", "0,,1", "1-0", "0-", "0-3:3/2" }) do
      local v, err, code = core.cpulist_parse(s)
      assert.is_nil(v, s)
      assert.equal(("bad cpulist '%s': expected CPU numbers and ranges like \"0-1,4\""):format(s), err)
      assert.equal("EINVAL", code)
    end
    assert.same({ nil, "bad cpulist '': expected CPU numbers and ranges like \"0-1,4\"", "EINVAL" },
      { core.cpulist_parse("", true) })
    assert.same({ nil, "bad cpulist '8192': CPU numbers must be below 8192", "ERANGE" },
      { core.cpulist_parse("8192") })
  end)
end)
