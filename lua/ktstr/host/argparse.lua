-- Command-line options for the subcommands: one loop for --key VALUE, --key=VALUE, lists and flags.
local M = {}

--[[
parse(args, spec [, o]) -> o, rest | nil, message. spec: valued = {["--topo"]
= "topo"}, lists = {["-i"] = "include"} (repeatable, collected in order),
flags = {["-v"] = "verbose"}, positional = "stop" (the first operand ends the
options: rest is its index), "collect" (operands go to o[spec.collect]) or
"reject" (an operand is an error; spec.reject names why). "--" always ends
the options; rest is the index of what follows it.
]]
function M.parse(args, spec, o)
  o = o or {}
  for _, field in pairs(spec.lists or {}) do o[field] = o[field] or {} end
  if spec.collect then o[spec.collect] = o[spec.collect] or {} end
  local i = 1
  while i <= #args do
    local a = args[i]
    local key, val = a:match("^(%-%-[%w-]+)=(.*)$")
    key = key or a
    local field, list = spec.valued and spec.valued[key], spec.lists and spec.lists[key]
    if a == "--" then
      return o, i + 1
    elseif field or list then
      if not val then
        i = i + 1
        val = args[i]
        if not val then return nil, ("option %s needs a value"):format(key) end
      end
      if list then table.insert(o[list], val) else o[field] = val end
    elseif spec.flags and spec.flags[a] then
      o[spec.flags[a]] = true
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, ("unknown option '%s'"):format(a)
    elseif spec.positional == "stop" then
      return o, i
    elseif spec.positional == "collect" then
      table.insert(o[spec.collect], a)
    else
      local why = spec.reject and " (" .. spec.reject .. ")" or ""
      return nil, ("unexpected argument '%s'%s"):format(a, why)
    end
    i = i + 1
  end
  return o, i
end

-- complainer("script", USAGE) -> bad: bad(msg) prints "ktstr script: msg"
-- and the usage on stderr and returns 2, the exit code of a usage error.
function M.complainer(cmd, usage)
  return function(msg)
    io.stderr:write("ktstr ", cmd, ": ", msg, "\n", usage)
    return 2
  end
end

-- Turns o[key] (a string from the command line) into a positive number, an
-- integer when asked; nil, message naming the option when it is not one.
function M.positive(o, key, integer)
  local v = o[key]
  if v == nil then return true end
  local n = tonumber(v)
  if integer then n = n and math.tointeger(n) end
  if not n or n <= 0 then
    return nil, ("--%s: expected a positive %s, got '%s'"):format((key:gsub("_", "-")),
      integer and "integer" or "number", v)
  end
  o[key] = n
  return true
end

return M
