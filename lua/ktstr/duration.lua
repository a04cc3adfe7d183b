-- Durations as test scripts write them: seconds (0.1) or strings ("100ms", "1.5s", "500us").
local M = {}

-- Seconds per unit, as divisors for the sub-second ones so "100ms" is exactly 0.1.
local DIV = { ns = 1e9, us = 1e6, ms = 1e3, s = 1 }
local MUL = { m = 60, min = 60, h = 3600 }

local FORM = 'expected seconds (a number) or a string like "100ms", "1.5s", "500us"'

-- The longest duration anything takes: a day. Longer is a typo, and 1e12 s
-- would not even fit the nanosecond counters the guest uses.
M.MAX_S = 86400

-- parse(v) -> seconds | nil, message naming the value
function M.parse(v)
  local s
  if type(v) == "number" then
    s = v
  elseif type(v) == "string" then
    local num, unit = v:match("^%s*(%d*%.?%d+)%s*(%a+)%s*$")
    num = tonumber(num)
    if num and DIV[unit] then
      s = num / DIV[unit]
    elseif num and MUL[unit] then
      s = num * MUL[unit]
    else
      return nil, ("bad duration '%s': %s"):format(v, FORM)
    end
  else
    return nil, ("bad duration %s: %s"):format(tostring(v), FORM)
  end
  if s ~= s or s == math.huge or s < 0 then
    return nil, ("bad duration %s: must be finite and >= 0"):format(tostring(v))
  end
  if s > M.MAX_S then
    return nil, ("bad duration %s: longer than a day (%d s)"):format(tostring(v), M.MAX_S)
  end
  return s
end

return M
