-- Argument checks for the vocabulary: errors at the script's line, "did you mean" for names.
local duration = require("ktstr.duration")

local M = {}

-- Errors name the caller's line as error(msg, 2) would, generalised: the
-- first Lua frame outside this directory (and its host/ and guest/), however deep in the vocabulary
-- the check runs (a def validated by ktstr.test, an op by its step, ...).
local DIR = debug.getinfo(1, "S").source:match("^(@.*[/\\])") or "@"

local function in_library(info)
  if info.what == "C" then return true end
  local src = info.source
  return src:sub(1, #DIR) == DIR
end

local function user_level()
  local level = 3  -- 1 = user_level, 2 = its caller in this file
  while true do
    local info = debug.getinfo(level, "S")
    if not info then return 1 end
    if not in_library(info) then return level - 1 end
    level = level + 1
  end
end

-- "file:line" of the script line that is calling into the vocabulary.
function M.where()
  local level = 2
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then return "?" end
    if not in_library(info) then return ("%s:%d"):format(info.short_src, info.currentline) end
    level = level + 1
  end
end

function M.raise(fmt, ...)
  error(fmt:format(...), user_level())
end

-- Levenshtein distance with adjacent transpositions counted as one edit.
local function distance(a, b)
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:sub(i, i) == b:sub(j - 1, j - 1)
          and a:sub(i - 1, i - 1) == b:sub(j, j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[#a][#b]
end

function M.sorted(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- The closest candidate within a third of the name's length, or the
-- first that starts with it ("burst" -> "burst_duration"), or nil.
-- renamed maps old spellings (e.g. Rust's) to today's names.
function M.suggest(name, candidates, renamed)
  if type(name) ~= "string" then return nil end
  if renamed and renamed[name] then return renamed[name] end
  local best, best_d = nil, math.min(3, math.max(1, #name // 3))
  for _, c in ipairs(candidates) do
    local d = distance(name, c)
    if d <= best_d and (not best or d < best_d) then best, best_d = c, d end
  end
  if best or #name < 3 then return best end
  for _, c in ipairs(candidates) do
    if c:sub(1, #name) == name then return c end
  end
end

-- "unknown key 'duraton_s' (did you mean 'duration_s'?)", or the valid list.
function M.unknown(noun, name, candidates, renamed)
  local s = M.suggest(name, candidates, renamed)
  local shown = type(name) == "string" and ("'%s'"):format(name) or tostring(name)
  if s then return ("unknown %s %s (did you mean '%s'?)"):format(noun, shown, s) end
  if #candidates == 0 then return ("unknown %s %s (there are none)"):format(noun, shown) end
  return ("unknown %s %s (valid: %s)"):format(noun, shown, table.concat(candidates, ", "))
end

local function show(v)
  return type(v) == "string" and ("'%s'"):format(v) or tostring(v)
end

-- Raises for a key of t that is not in allowed (a set).
function M.keys(t, allowed, what, renamed)
  local names = M.sorted(allowed)
  for k in pairs(t) do
    if not allowed[k] then M.raise("%s: %s", what, M.unknown("key", k, names, renamed)) end
  end
end

-- A declaration's table: raises unless t is a table (form shows its shape,
-- "{name = ..., ...}") and, given allowed, for a key not in it.
function M.record(t, what, form, allowed, renamed)
  if type(t) ~= "table" then M.raise("%s: expected a table %s, got %s", what, form, show(t)) end
  if allowed then M.keys(t, allowed, what, renamed) end
  return t
end

-- Makes indexing a missing name of a public table raise with "did you mean".
function M.strict(tbl, what, noun)
  local names = M.sorted(tbl)
  return setmetatable(tbl, { __index = function(_, k)
    M.raise("%s: %s", what, M.unknown(noun, k, names))
  end })
end

-- Integers (2 or 2.0) >= min and, given max, <= max; returns the integer.
function M.integer(v, what, min, max)
  local n = math.type(v) and math.tointeger(v)
  if not n or (min and n < min) or (max and n > max) then
    local range = max and ("in %d..%d"):format(min, max) or (">= %d"):format(min)
    M.raise("%s: expected an integer %s, got %s", what, range, show(v))
  end
  return n
end

-- Finite numbers, >= lo (> lo when lo_excl) and <= hi where those are given.
function M.number(v, what, lo, hi, lo_excl)
  local ok = type(v) == "number" and v == v and v > -math.huge and v < math.huge
    and (not lo or (lo_excl and v > lo) or (not lo_excl and v >= lo)) and (not hi or v <= hi)
  if not ok then
    local range = (lo and (lo_excl and "> " or ">= ") .. lo or "") ..
      (hi and ((lo and " and <= " or "<= ") .. hi) or "")
    M.raise("%s: expected a number %s, got %s", what, range, show(v))
  end
  return v
end

function M.boolean(v, what)
  if type(v) ~= "boolean" then M.raise("%s: expected true or false, got %s", what, show(v)) end
  return v
end

-- Names of cgroups, tests and snapshots: one path segment, safe in --filter,
-- short enough for a cgroup directory and a record's file name (NAME_MAX 255).
M.NAME_MAX = 128

local function segment(v)
  return v:match("^[%w_.-]+$") and v ~= "." and v ~= ".."
end

local function short(v, what)
  if #v > M.NAME_MAX then
    M.raise("%s: name of %d bytes, longer than %d: '%s...'", what, #v, M.NAME_MAX, v:sub(1, 24))
  end
  return v
end

function M.name(v, what)
  if type(v) ~= "string" or not segment(v) then
    M.raise("%s: expected a name of letters, digits, '_', '.' or '-', got %s", what, show(v))
  end
  return short(v, what)
end

-- Cgroup names: a name, or a path of names nested in each other ("a/b": b
-- inside a), at most CGROUP_DEPTH deep, NAME_MAX bytes in all.
M.CGROUP_DEPTH = 8

function M.cgroup_name(v, what)
  if type(v) ~= "string" or not v:find("/", 1, true) then return M.name(v, what) end
  local depth = 0
  for seg in (v .. "/"):gmatch("(.-)/") do
    depth = depth + 1
    if not segment(seg) then
      M.raise("%s: expected names of letters, digits, '_', '.' or '-', nested with '/' " ..
        "(\"parent/child\"), got %s", what, show(v))
    end
  end
  if depth > M.CGROUP_DEPTH then
    M.raise("%s: '%s' nests %d deep, more than %d", what, v, depth, M.CGROUP_DEPTH)
  end
  return short(v, what)
end

function M.duration(v, what)
  local s, err = duration.parse(v)
  if not s then M.raise("%s: %s", what, err) end
  return s
end

function M.list(v, what)
  if type(v) ~= "table" then M.raise("%s: expected a list {...}, got %s", what, show(v)) end
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 or k > #v then
      M.raise("%s: expected a list {...}, got a table with key %s", what, show(k))
    end
  end
  return v
end

return M
