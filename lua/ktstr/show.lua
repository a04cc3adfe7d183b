-- Any Lua value as readable text: for error messages, the REPL's results and the report's dumps.
local M = {}

M.MAX_ITEMS = 100    -- entries of one table; the rest are counted, not shown
M.MAX_DEPTH = 8      -- levels of nested tables; deeper ones show as {...}

local KEYWORDS = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or repeat
  return then true until while]]):gmatch("%a+") do KEYWORDS[w] = true end

local ESCAPES = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ["\\"] = "\\\\", ['"'] = '\\"' }

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return ESCAPES[c] or ("\\%d"):format(c:byte())
  end) .. '"'
end

local function scalar(v)
  if type(v) == "string" then return quote(v) end
  return tostring(v)
end

local TYPE_ORDER = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = TYPE_ORDER[type(a)] or 4, TYPE_ORDER[type(b)] or 4
  if ta ~= tb then return ta < tb end
  if ta == 1 or ta == 2 then return a < b end
  return tostring(a) < tostring(b)
end

local function key_text(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") and not KEYWORDS[k] then return k end
  return "[" .. scalar(k) .. "]"
end

-- Raw iteration: strict tables (require("ktstr")) raise on a missing key.
local function entries(t)
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local keys = {}
  for k in next, t do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  return n, keys
end

local function render(v, o, indent, ancestors)
  if type(v) ~= "table" then return scalar(v) end
  local mt = getmetatable(v)
  if type(mt) == "table" and rawget(mt, "__tostring") then return tostring(v) end
  if ancestors[v] then return "<cycle: " .. tostring(v) .. ">" end
  if indent >= o.depth * 2 then return "{...}" end
  local n, keys = entries(v)
  if n + #keys == 0 then return "{}" end
  ancestors[v] = true
  local items, total, long = {}, 0, false
  local function add(s)
    if #items >= o.items then return end
    items[#items + 1] = s
    total = total + #s + 2
    long = long or s:find("\n", 1, true) ~= nil
  end
  for i = 1, n do add(render(rawget(v, i), o, indent + 2, ancestors)) end
  for _, k in ipairs(keys) do
    add(key_text(k) .. " = " .. render(rawget(v, k), o, indent + 2, ancestors))
  end
  ancestors[v] = nil
  local more = n + #keys - #items
  if more > 0 then items[#items + 1] = ("... (%d more)"):format(more) end
  if not o.width or (not long and total + indent + 4 <= o.width) then
    return "{ " .. table.concat(items, ", ") .. " }"
  end
  local pad = (" "):rep(indent + 2)
  return "{\n" .. pad .. table.concat(items, ",\n" .. pad) .. ",\n" .. (" "):rep(indent) .. "}"
end

--[[
show.value(v, o): v as text. Scalars as tostring gives them, strings
quoted; tables sorted by key (the array part first), cycles marked,
__tostring honoured, strict tables read raw. o (optional): width (a table
wider than this breaks onto indented lines; without it all stays on one
line), max (text longer than this is cut, ending " ..."), items and depth
(fewer entries per table or levels than MAX_ITEMS, MAX_DEPTH).
]]
function M.value(v, o)
  o = o or {}
  local s = render(v, { width = o.width, items = o.items or M.MAX_ITEMS,
    depth = o.depth or M.MAX_DEPTH }, 0, {})
  if o.max and #s > o.max then return s:sub(1, o.max):gsub("%s+$", "") .. " ..." end
  return s
end

return M
