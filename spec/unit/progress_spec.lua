-- ktstr.host.progress: one line on a terminal, nothing elsewhere.
local progress = require("ktstr.host.progress")

local function sink()
  local s = { buf = {} }
  function s.write(_, ...) for _, v in ipairs({ ... }) do s.buf[#s.buf + 1] = v end end
  function s.flush() end
  function s.text() return table.concat(s.buf) end
  return s
end

describe("progress", function()
  it("redraws one line in place: done/total, elapsed, the test and its stage", function()
    local p = progress.new(12, true)
    p.out = sink()
    p:set("mixed_workloads: booting")
    p:done_one()
    p:set("step1_skeleton: running")
    assert.are.equal("\r\27[K[0/12 0:00] mixed_workloads: booting" ..
      "\r\27[K[1/12 0:00] step1_skeleton: running", p.out.text())
    p:clear()
    assert.matches("\r\27%[K$", p.out.text())
  end)

  it("keeps to one terminal line", function()
    local p = progress.new(1, true)
    p.text = ("x"):rep(200)
    assert.are.equal(79, #p:line())
  end)

  it("draws nothing when not on a terminal", function()
    local p = progress.new(3, false)
    p.out = sink()
    p:set("a: booting")
    p:clear()
    assert.are.equal("", p.out.text())
  end)
end)
