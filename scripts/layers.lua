-- The layering check: which Lua modules may load which, and which C files may include what.
--
-- `ktstr lua scripts/layers.lua [--tap] [ROOT]` reads string-literal requires
-- in ROOT/lua/ktstr (lazy ones inside functions and spawned chunks too) and
-- #include lines in ROOT/src, vmm and initramfs. Each violation prints as
-- "file:line: what, why" and the exit code is 1; a clean tree prints
-- nothing and exits 0. --tap prints one TAP line per rule instead, for
-- make check.
local core = require("ktstr.core")

local tap, root = false, "."
for _, a in ipairs({ ... }) do
  if a == "--tap" then tap = true else root = a end
end
root = root:gsub("/+$", "")

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Files under root/dir ending in one of suffixes, as root-relative paths.
local function files(dir, suffixes)
  local out = {}
  for _, sfx in ipairs(suffixes) do
    for _, rel in ipairs(core.list_files(root .. "/" .. dir, sfx) or {}) do
      out[#out + 1] = dir .. "/" .. rel
    end
  end
  table.sort(out)
  return out
end

-- Lua ---------------------------------------------------------------------------------------------

--[[
The source with its comments blanked (newlines kept, so positions keep
their lines). Strings stay: a chunk handed to a spawned `ktstr lua -e`
requires what that process loads.
]]
local function strip_comments(s)
  local out, i, n = {}, 1, #s
  local function blank(a, b) out[#out + 1] = s:sub(a, b):gsub("[^\n]", " ") end
  while i <= n do
    local c = s:sub(i, i)
    if c == "-" and s:sub(i + 1, i + 1) == "-" then
      local eq = s:match("^%[(=*)%[", i + 2)
      local stop
      if eq then
        local _, e = s:find("]" .. eq .. "]", i, true)
        stop = e or n
      else
        stop = (s:find("\n", i, true) or n + 1) - 1
      end
      blank(i, stop)
      i = stop + 1
    elseif c == '"' or c == "'" then
      local j = i + 1
      while j <= n do
        local d = s:sub(j, j)
        if d == "\\" then j = j + 1 elseif d == c or d == "\n" then break end
        j = j + 1
      end
      out[#out + 1] = s:sub(i, j)
      i = j + 1
    elseif c == "[" and s:match("^%[=*%[", i) then
      local eq = s:match("^%[(=*)%[", i)
      local _, e = s:find("]" .. eq .. "]", i, true)
      e = e or n
      out[#out + 1] = s:sub(i, e)
      i = e + 1
    else
      local j = s:find("[-\"'%[]", i) or n + 1
      if j == i then j = i + 1 end
      out[#out + 1] = s:sub(i, j - 1)
      i = j
    end
  end
  return table.concat(out)
end

local function line_of(s, pos)
  local _, nl = s:sub(1, pos):gsub("\n", "")
  return nl + 1
end

-- Every string-literal require in s: { mod =, line =, pos = }.
-- a module name in quotes, and `require "m"`, `require("m")`, `pcall(require, "m")` around it
local NAME = "[\"']([%w_.]+)[\"']"
local REQUIRE = { "require%s*%(?%s*" .. NAME, "pcall%s*%(%s*require%s*,%s*" .. NAME }
local function requires(s)
  local out = {}
  for _, pat in ipairs(REQUIRE) do
    local from = 1
    while true do
      local a, b, mod = s:find(pat, from)
      if not a then break end
      -- a name that only ends in "require" (my_require) is not the call
      if not s:sub(a - 1, a - 1):match("[%w_.:]") then
        out[#out + 1] = { mod = mod, line = line_of(s, a), pos = a }
      end
      from = b + 1
    end
  end
  table.sort(out, function(x, y) return x.pos < y.pos end)
  return out
end

-- The layer of a file (lua/ktstr/...) or of a module name (ktstr.x.y).
local function file_layer(path)
  return path:match("^lua/ktstr/(%a+)/") or "top"
end

local function mod_layer(mod)
  return mod:match("^ktstr%.(host)%.") or mod:match("^ktstr%.(guest)%.") or "top"
end

local function mod_exists(mod)
  if mod == "ktstr.core" or not mod:match("^ktstr%.") and mod ~= "ktstr" then return true end
  local rel = mod:gsub("%.", "/")
  return exists(root .. "/lua/" .. rel .. ".lua") or exists(root .. "/lua/" .. rel .. "/init.lua")
end

local LUA_RULES = {
  { name = "guest/ loads no host module", from = "guest", to = { host = true },
    why = "guest code never loads host code (the guest's image does not carry host/)" },
  { name = "the top level loads neither side", from = "top", to = { host = true, guest = true },
    why = "the vocabulary and what both sides share load neither host/ nor guest/" },
  { name = "host/ loads no guest module", from = "host", to = { guest = true },
    why = "host code never loads guest code (it runs inside the guest, as PID 1 or its children)" },
}

-- Assignments into another module's table: `local m = require("x")` then
-- `m.f = ...` or `function m.f`. A module owns its table; others pass
-- what they need instead.
local function patches(s, path, add)
  local names = {}
  for name, mod in s:gmatch("local%s+([%a_][%w_]*)%s*=%s*require%s*%(?%s*" .. NAME ..
      "%s*%)?%s*\n") do
    names[name] = mod
  end
  local from = 1
  while true do
    local a, b, mod, field = s:find("require%s*%(?%s*" .. NAME ..
      "%s*%)?%s*%.([%a_][%w_]*)%s*=[^=]", from)
    if not a then break end
    add("no module assigns into another", path, line_of(s, a),
      ("assigns %s.%s"):format(mod, field), "a module owns its table: pass what the other needs")
    from = b + 1
  end
  for name, mod in pairs(names) do
    for _, pat in ipairs({ "()[^%w_.:]" .. name .. "%s*%.%s*([%a_][%w_]*)%s*=[^=]",
      "()function%s+" .. name .. "%s*[.:]%s*([%a_][%w_]*)" }) do
      for pos, field in ("\n" .. s):gmatch(pat) do
        add("no module assigns into another", path, line_of(s, math.max(1, pos - 1)),
          ("assigns %s.%s (%s is %s)"):format(name, field, name, mod),
          "a module owns its table: pass what the other needs (a parameter, a link table)")
      end
    end
  end
end

local function mod_of(path)
  return path:gsub("^lua/", ""):gsub("/init%.lua$", ""):gsub("%.lua$", ""):gsub("/", ".")
end

--[[
Modules that load each other, however lazily: the strongly connected
components (Tarjan) of the require graph; edges[m] = { {mod =, path =,
line =}, ... }. Each require inside a cycle is reported.
]]
local function cycles(edges, add)
  local index, low, on, stack, n = {}, {}, {}, {}, 0
  local comp = {}
  local function visit(v)
    n = n + 1
    index[v], low[v] = n, n
    stack[#stack + 1], on[v] = v, true
    for _, e in ipairs(edges[v] or {}) do
      local w = e.mod
      if edges[w] then
        if not index[w] then
          visit(w)
          low[v] = math.min(low[v], low[w])
        elseif on[w] then
          low[v] = math.min(low[v], index[w])
        end
      end
    end
    if low[v] == index[v] then
      local c = {}
      repeat
        local w = table.remove(stack)
        on[w] = nil
        c[#c + 1] = w
      until w == v
      if #c > 1 then
        table.sort(c)
        for _, m in ipairs(c) do comp[m] = c end
      end
    end
  end
  local mods = {}
  for m in pairs(edges) do mods[#mods + 1] = m end
  table.sort(mods)
  for _, m in ipairs(mods) do
    if not index[m] then visit(m) end
  end
  for _, m in ipairs(mods) do
    for _, e in ipairs(edges[m]) do
      if comp[m] and comp[m] == comp[e.mod] then
        add("no two modules load each other", e.path, e.line, ("requires %s, in the cycle %s")
          :format(e.mod, table.concat(comp[m], " <-> ")),
          "the one that runs the other passes what it needs")
      end
    end
  end
end

local function check_lua(add)
  local edges = {}
  for _, path in ipairs(files("lua/ktstr", { ".lua" })) do
    local src = strip_comments(slurp(root .. "/" .. path) or "")
    local layer = file_layer(path)
    local mine = {}
    edges[mod_of(path)] = mine
    for _, r in ipairs(requires(src)) do
      if r.mod ~= mod_of(path) then
        mine[#mine + 1] = { mod = r.mod, path = path, line = r.line }
      end
      for _, rule in ipairs(LUA_RULES) do
        if rule.from == layer and rule.to[mod_layer(r.mod)] then
          add(rule.name, path, r.line, "requires " .. r.mod, rule.why)
        end
      end
      if not mod_exists(r.mod) then
        add("every required ktstr module exists", path, r.line, "requires " .. r.mod,
          "no such module under lua/ (moved or renamed?)")
      end
    end
    patches(src, path, add)
  end
  cycles(edges, add)
end

-- C ---------------------------------------------------------------------------------------------

local C_DIRS = { "src", "vmm", "initramfs" }
local LUA_HEADERS = { ["lua.h"] = true, ["lauxlib.h"] = true, ["lualib.h"] = true }

local function under(path, dir) return path:sub(1, #dir + 1) == dir .. "/" end

--[[
Where a quoted include lands: beside the including file, else from the
root (the build's only -I is the root). nil: not the project's.
]]
local function resolve(from, inc)
  local dir = from:match("^(.*)/") or "."
  for _, c in ipairs({ dir .. "/" .. inc, inc }) do
    -- a/b/../c -> a/c
    local norm = c
    repeat
      local before = norm
      norm = norm:gsub("[^/]+/%.%./", "", 1):gsub("^%./", "")
    until norm == before
    if exists(root .. "/" .. norm) then return norm end
  end
  return nil
end

-- Every C file's includes: { [path] = { { line =, name =, target = project path | nil } } }.
local function scan_c()
  local all = {}
  for _, d in ipairs(C_DIRS) do
    for _, path in ipairs(files(d, { ".c", ".h" })) do
      local list, n = {}, 0
      for line in ((slurp(root .. "/" .. path) or "") .. "\n"):gmatch("([^\n]*)\n") do
        n = n + 1
        local q, name = line:match('^%s*#%s*include%s*([<"])([^>"]+)[>"]')
        if name then
          list[#list + 1] = { line = n, name = name,
            target = q == '"' and resolve(path, name) or nil }
        end
      end
      all[path] = list
    end
  end
  return all
end

-- The Lua header path reaches through its project includes, or nil.
local function lua_via(all, path, seen)
  seen = seen or {}
  if seen[path] then return nil end
  seen[path] = true
  for _, inc in ipairs(all[path] or {}) do
    if LUA_HEADERS[inc.name:match("([^/]+)$")] then return { inc.name } end
    if inc.target then
      local chain = lua_via(all, inc.target, seen)
      if chain then
        table.insert(chain, 1, inc.target)
        return chain
      end
    end
  end
  return nil
end

local C_RULES = {
  { name = "src/base includes nothing of the project outside src/base",
    from = function(p) return under(p, "src/base") end,
    bad = function(t) return not under(t, "src/base") end,
    why = "plumbing knows no Lua, no host and no guest" },
  { name = "src/guest includes nothing from vmm/, initramfs/, src/host/, src/bind/",
    from = function(p) return under(p, "src/guest") end,
    bad = function(t)
      return under(t, "vmm") or under(t, "initramfs") or under(t, "src/host") or
        under(t, "src/bind")
    end,
    why = "the guest runtime runs in the guest and knows no Lua" },
  { name = "vmm/ and initramfs/ include nothing from src/guest/ or src/bind/",
    from = function(p) return under(p, "vmm") or under(p, "initramfs") end,
    bad = function(t) return under(t, "src/guest") or under(t, "src/bind") end,
    why = "the host's VM side and image builder know neither the guest runtime nor Lua" },
}

local function check_c(add)
  local all = scan_c()
  local paths = {}
  for p in pairs(all) do paths[#paths + 1] = p end
  table.sort(paths)
  for _, rule in ipairs(C_RULES) do
    for _, p in ipairs(paths) do
      if rule.from(p) then
        for _, inc in ipairs(all[p]) do
          if inc.target and rule.bad(inc.target) then
            add(rule.name, p, inc.line, ("includes %s"):format(inc.target), rule.why)
          end
        end
      end
    end
  end
  for _, p in ipairs(paths) do
    for _, inc in ipairs(all[p]) do
      if inc.name:find("..", 1, true) then
        add("includes name their file beside or from the root", p, inc.line,
          "includes " .. inc.name, "a path from the root shows where it reaches")
      end
    end
  end
  local name = "lua.h, lauxlib.h and lualib.h only in src/bind/"
  for _, p in ipairs(paths) do
    if not under(p, "src/bind") then
      for _, inc in ipairs(all[p]) do
        local chain = inc.target and lua_via(all, inc.target)
        if LUA_HEADERS[inc.name:match("([^/]+)$")] then
          add(name, p, inc.line, "includes " .. inc.name, "only the bindings speak Lua")
        elseif chain then
          add(name, p, inc.line, ("includes %s -> %s"):format(inc.target,
            table.concat(chain, " -> ")), "only the bindings speak Lua")
        end
      end
    end
  end
end

-- Report ------------------------------------------------------------------------------------------

local ORDER = { "guest/ loads no host module", "the top level loads neither side",
  "host/ loads no guest module", "every required ktstr module exists",
  "no module assigns into another", "no two modules load each other" }
for _, r in ipairs(C_RULES) do ORDER[#ORDER + 1] = r.name end
ORDER[#ORDER + 1] = "includes name their file beside or from the root"
ORDER[#ORDER + 1] = "lua.h, lauxlib.h and lualib.h only in src/bind/"

local found = {}
local function add(rule, path, line, what, why)
  found[rule] = found[rule] or {}
  table.insert(found[rule], ("%s:%d: %s, %s"):format(path, line, what, why))
end

if not exists(root .. "/lua/ktstr/.") then
  io.stderr:write("layers: no lua/ktstr under ", root, "\n")
  return 2
end
check_lua(add)
check_c(add)

local bad = false
for i, rule in ipairs(ORDER) do
  local list = found[rule] or {}
  bad = bad or #list > 0
  if tap then
    print(("%s %d - %s"):format(#list > 0 and "not ok" or "ok", i, rule))
    for _, v in ipairs(list) do print("# " .. v) end
  else
    for _, v in ipairs(list) do print(v) end
  end
end
if tap then print("1.." .. #ORDER) end
return bad and 1 or 0
