-- Any Lua value as readable text (errors, REPL, dumps); guest text made safe for a terminal.
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

-- Bytes a terminal may act on: C0 controls but tab and newline, DEL, and every non-ASCII byte
-- (a valid UTF-8 character among them is kept, but for the C1 controls U+0080..U+009F).
local UNSAFE = "[\0-\8\11-\31\127-\255]"

--[[
show.text(s): s with every byte a terminal could act on written as \xHH
(an escape sequence shows as "\x1b[31m"): control characters but newline
and tab, a carriage return unless it ends a line ("\r\n" becomes "\n"),
DEL, bytes that are not UTF-8 and the C1 controls; valid UTF-8 text is
kept. For what the guest wrote (its messages, logs, console, REPL output)
on its way to the terminal; a backslash is left as it is.
]]
function M.text(s)
  s = tostring(s)
  if not s:find(UNSAFE) then return s end
  s = s:gsub("\r\n", "\n")
  local out, i = {}, 1
  while true do
    local j = s:find(UNSAFE, i)
    if not j then break end
    out[#out + 1] = s:sub(i, j - 1)
    local c = s:byte(j)
    local n = c >= 0xf5 and 1 or c >= 0xf0 and 4 or c >= 0xe0 and 3 or c >= 0xc2 and 2 or 1
    local seq = s:sub(j, j + n - 1)
    if n > 1 and #seq == n and utf8.len(seq) == 1 and not (c == 0xc2 and seq:byte(2) < 0xa0) then
      out[#out + 1], i = seq, j + n
    else
      out[#out + 1], i = ("\\x%02x"):format(c), j + 1
    end
  end
  out[#out + 1] = s:sub(i)
  return table.concat(out)
end

return M
