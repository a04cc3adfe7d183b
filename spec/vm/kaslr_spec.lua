-- KASLR on real guests: the kernel moves between boots, and the host still samples and snapshots it.
local run = require("support.run")

-- Boots n times (never restores: a saved guest keeps the address of the boot it saved);
-- each boot's kernel text address.
local function boots(filter, n)
  local texts = {}
  for i = 1, n do
    local code, out = run.script("spec/vm/scripts/watched.lua", filter, { KTSTR_NO_RESTORE = "1" })
    assert.are.equal(0, code, out)
    texts[i] = out:match(filter .. ": text (0xffffffff%x+) samples %d+ nr_dispatched %d+\n")
    assert.is_truthy(texts[i], out)
  end
  return texts
end

local function twice(filter) return boots(filter, 2) end

describe("KASLR #vm", function()
  after_each(run.assert_no_leftovers)

  it("moves the kernel at every boot; the monitor and snapshots follow it", function()
    local t = twice("kaslr_on")
    -- 2 MiB-aligned slots across a GiB: the same slot twice is a 1-in-500
    -- chance (seen once); a third boot in that slot too, 1 in 250000
    if t[1] == t[2] then t[2] = boots("kaslr_on", 1)[1] end
    assert.are_not.equal(t[1], t[2])
  end)

  it("keeps the kernel where it was linked with kaslr = false", function()
    local t = twice("kaslr_off")
    assert.are.same({ "0xffffffff81000000", "0xffffffff81000000" }, t)
  end)
end)
