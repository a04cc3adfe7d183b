-- Verdicts: pass, fail, inconclusive, skip; combined, fail > error > inconclusive > pass > skip.
local V = require("ktstr.validate")

local M = {}

-- "error" is bad input (the script is wrong): the runner's, never a script's own verdict.
M.RANK = { skip = 0, pass = 1, inconclusive = 2, error = 3, fail = 4 }

-- { status = "fail", details = { {check =, status =, msg =}, ... }, stats = {...} | nil }
function M.is(v)
  return type(v) == "table" and M.RANK[v.status] ~= nil and type(v.details) == "table"
end

local function one(status, msg, check, what)
  if type(msg) ~= "string" then
    V.raise("%s: expected a message string, got %s", what, tostring(msg))
  end
  local d = { check = check or "custom", status = status, msg = msg }
  return { status = status, details = { d } }
end

function M.pass() return { status = "pass", details = {} } end
function M.fail(msg, check) return one("fail", msg, check, "ktstr.fail") end
function M.skip(why, check) return one("skip", why, check, "ktstr.skip") end
function M.inconclusive(why, check) return one("inconclusive", why, check, "ktstr.inconclusive") end

local function arg(v, what, i)
  if not M.is(v) then
    V.raise("%s: argument %d is not a verdict (ktstr.pass(), ktstr.fail(msg), ...), got %s", what,
      i, tostring(v))
  end
  return v
end

-- The worse status wins; details keep their order, left first; stats from
-- the left unless it has none.
function M.merge(a, b)
  arg(a, "ktstr.merge", 1)
  arg(b, "ktstr.merge", 2)
  local details = table.move(a.details, 1, #a.details, 1, {})
  table.move(b.details, 1, #b.details, #details + 1, details)
  return { status = M.RANK[b.status] > M.RANK[a.status] and b.status or a.status, details = details,
    stats = a.stats or b.stats }
end

-- Every branch must hold: the worst wins; an empty list passes.
function M.all_of(list)
  V.list(list, "ktstr.all_of")
  local v = M.pass()
  for i, b in ipairs(list) do
    v = i == 1 and arg(b, "ktstr.all_of", 1) or M.merge(v, arg(b, "ktstr.all_of", i))
  end
  return v
end

-- One passing branch is enough; otherwise inconclusive beats fail, and
-- all-skip is skip, with a summary line before the branches' details.
function M.any_of(list)
  V.list(list, "ktstr.any_of")
  local n = { pass = 0, fail = 0, inconclusive = 0, skip = 0 }
  for i, b in ipairs(list) do
    local s = arg(b, "ktstr.any_of", i).status
    if s == "pass" then return b end
    n[s] = n[s] + 1
  end
  if #list == 0 then return M.pass() end
  local status = n.inconclusive > 0 and "inconclusive" or n.fail > 0 and "fail" or "skip"
  local msg = ("%d failed, %d inconclusive, %d skipped of %d branches"):format(n.fail,
    n.inconclusive, n.skip, #list)
  local details = { { check = "any_of", status = status, msg = msg } }
  for _, b in ipairs(list) do table.move(b.details, 1, #b.details, #details + 1, details) end
  return { status = status, details = details }
end

return M
