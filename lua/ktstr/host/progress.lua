-- The one-line progress display of a long run, on a terminal only.
local core = require("ktstr.core")

local M = {}

local Progress = {}
Progress.__index = Progress

--[[
progress.new(total [, tty]) -> p. Draws on stderr, and only when stdout and
stderr are both terminals (tty overrides, for specs): a report on stdout
never shares a line with it, and a log or a pipe never sees it.
p:set(text) redraws "[done/total] elapsed text"; p:done_one() counts a
finished test; p:clear() erases the line before anything else is printed.
]]
function M.new(total, tty)
  if tty == nil then tty = core.isatty(1) and core.isatty(2) end
  return setmetatable({ total = total, done = 0, t0 = core.now(), on = tty, shown = false,
    text = "", out = io.stderr }, Progress)
end

function Progress:line()
  local s = core.now() - self.t0
  local line = ("[%d/%d %d:%02d] %s"):format(self.done, self.total, s // 60, math.floor(s % 60),
    self.text)
  -- one terminal line: a long test name must not wrap and leave a trail
  return #line > 79 and line:sub(1, 78) .. "~" or line
end

function Progress:draw()
  if not self.on then return end
  self.out:write("\r\27[K", self:line())
  self.out:flush()
  self.shown = true
end

function Progress:set(text)
  self.text = text
  self:draw()
end

function Progress:done_one()
  self.done = self.done + 1
end

function Progress:clear()
  if self.on and self.shown then
    self.out:write("\r\27[K")
    self.out:flush()
    self.shown = false
  end
end

return M
