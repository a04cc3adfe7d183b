-- --partition: a deterministic slice of the selected tests, so a CI matrix fans a suite out.
local M = {}

--[[
parse("2/3") -> { index = 2, total = 3, by = "count" } | nil, message.
"count:2/3" is the same; "hash:2/3" slices by the hash of each test's
name instead of its place in the list, so adding a test moves no other.
Indexes count from 1, as CI matrices do.
]]
function M.parse(s)
  local by, i, n = s:match("^(%a+):(%d+)/(%d+)$")
  if not by then
    by = "count"
    i, n = s:match("^(%d+)/(%d+)$")
  end
  i, n = tonumber(i), tonumber(n)
  if not i or (by ~= "count" and by ~= "hash") then
    return nil, ("--partition '%s': expected I/N, count:I/N or hash:I/N"):format(s)
  end
  if n < 1 or i < 1 or i > n then
    return nil, ("--partition '%s': I must be 1..N, and N at least 1"):format(s)
  end
  return { index = i, total = n, by = by }
end

-- FNV-1a over the name, 32 bits: stable across runs, machines and Lua versions.
local function hash(name)
  local h = 2166136261
  for k = 1, #name do h = ((h ~ name:byte(k)) * 16777619) & 0xffffffff end
  return h
end

-- The items of partition p, in their order; name(item) gives a test's name.
function M.slice(items, p, name)
  local out = {}
  for k, it in ipairs(items) do
    local slot = p.by == "hash" and hash(name(it)) % p.total or (k - 1) % p.total
    if slot == p.index - 1 then out[#out + 1] = it end
  end
  return out
end

return M
