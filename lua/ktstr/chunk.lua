-- REPL chunks, on either side: compiling as lua.c does, the environment, calling, printing results.
local show = require("ktstr.show")

local M = {}

M.MAX_LINES = 200    -- of one printed result; the rest is counted, not shown
M.WIDTH = 100        -- a table that fits goes on one line

-- Cuts text to M.MAX_LINES lines, saying how many were left out.
local function cap_lines(s)
  local count, cut = 0, nil
  for pos in s:gmatch("()\n") do
    count = count + 1
    if count == M.MAX_LINES then cut = pos end
  end
  if not cut or count < M.MAX_LINES + 1 then return s end
  return s:sub(1, cut) .. ("... (%d more lines)"):format(count - M.MAX_LINES + 1)
end

--[[
Values as lua.c prints them, only readably: separated by tabs, a string as
itself at the top, tables sorted by key and indented, cycles marked.
]]
function M.pretty(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do
    local v = select(i, ...)
    out[i] = type(v) == "string" and v or show.value(v, { width = M.WIDTH })
  end
  return cap_lines(table.concat(out, "\t"))
end

-- Compiling ------------------------------------------------------------------------------------

--[[
A chunk environment over _G: vars, and a print that hands its line to
out(text) (the chunk's output travels with its result); what a chunk sets
as a global stays for the next chunk.
]]
function M.environment(vars, out)
  vars.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    out(table.concat(parts, "\t") .. "\n")
  end
  return setmetatable(vars, { __index = _G })
end

--[[
Compiles src as lua.c does: as an expression first (so `1 + 1` prints 2),
then as statements; env nil keeps _G. Returns the function, or nil, message, incomplete (the
chunk only lacks its end: read another line).
]]
function M.compile(src, env, name)
  -- load's env argument, even nil, replaces _ENV: pass it only when given
  local function compile(s)
    if env then return load(s, name or "=stdin", "t", env) end
    return load(s, name or "=stdin", "t")
  end
  local f, rerr = compile("return " .. src)
  if f then return f end
  local g, err = compile(src)
  if g then return g end
  -- lua.c asks only the statement form; "x = 1 +" and "1 +" both wait for more here
  return nil, err, err:sub(-5) == "<eof>" or rerr:sub(-5) == "<eof>"
end

--[[
Calls f under xpcall; returns true, values (as M.pretty text) or false,
message with the traceback of the chunk's own frames (ours are cut).
An error table from the executor ({kind =, msg =}) shows its msg.
]]
function M.call(f)
  local r = table.pack(xpcall(f, function(e)
    if type(e) == "table" and type(rawget(e, "msg")) == "string" then return e.msg end
    local msg = type(e) == "string" and e or M.pretty(e)
    local tb = debug.traceback("", 2)
    local all, own = {}, {}
    for line in tb:gmatch("[^\n]+") do
      -- from our xpcall outwards the frames are the REPL's, not the chunk's
      if line:find("in function 'xpcall'", 1, true) then break end
      if not line:match("^stack traceback:") and line:match("%S") then
        all[#all + 1] = line
        -- ktstr's own frames (and error itself) say nothing to whoever typed the chunk
        if not line:find("lua/ktstr/", 1, true) and not line:find("in function 'error'", 1, true)
        then
          own[#own + 1] = line
        end
      end
    end
    local keep = #own > 0 and own or all
    if #keep == 0 then return msg end
    return msg .. "\nstack traceback:\n" .. table.concat(keep, "\n")
  end))
  if not r[1] then return false, r[2] end
  return true, r.n > 1 and M.pretty(table.unpack(r, 2, r.n)) or ""
end

return M
