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

-- Every option spec names, as written on the command line.
local function spec_options(spec)
  local set = {}
  for _, group in ipairs({ "valued", "lists", "flags" }) do
    for opt in pairs(spec[group] or {}) do set[opt] = true end
  end
  return set
end

--[[
The help a command prints: its synopsis, then each option of spec.doc, a
list of { "-v, --verbose", "what it does" } whose words that start with
"-" name exactly the options the parser takes (checked here, so the text
cannot drift from the parser).
]]
local function help_text(cmd, spec)
  local lines = { ("usage: ktstr %s %s\n"):format(cmd, spec.synopsis) }
  if spec.about then lines[#lines + 1] = "\n" .. spec.about .. "\n" end
  if #spec.doc > 0 then lines[#lines + 1] = "\noptions:\n" end
  local documented = {}
  for _, d in ipairs(spec.doc) do
    for opt in (" " .. d[1]):gmatch("%s(%-%-?%w[%w-]*)") do documented[opt] = true end
    lines[#lines + 1] = ("  %-24s %s\n"):format(d[1], d[2])
  end
  local takes = spec_options(spec)
  takes["-h"], takes["--help"] = true, true
  for opt in pairs(takes) do
    if not documented[opt] then error(("ktstr %s: option %s has no help"):format(cmd, opt), 3) end
  end
  for opt in pairs(documented) do
    if not takes[opt] then error(("ktstr %s: help names %s, not an option"):format(cmd, opt), 3) end
  end
  return table.concat(lines)
end

--[[
command(name, spec) -> cmd: cmd.help (the text -h prints), cmd.bad(msg)
(the usage error: exit code 2), cmd.parse(args [, o]) -> o, rest | nil,
exit code: -h or --help among the options prints the help on stdout (0); a bad
option prints the error and the synopsis on stderr (2). spec as for parse,
plus synopsis ("FILE... [options]"), doc and an optional about.
]]
function M.command(name, spec)
  local cmd = { help = help_text(name, spec) }
  cmd.bad = M.complainer(name, ("usage: ktstr %s %s\n(ktstr %s --help lists the options)\n")
    :format(name, spec.synopsis, name))
  local flags = { ["-h"] = "help", ["--help"] = "help" }
  for k, v in pairs(spec.flags or {}) do flags[k] = v end
  local full = setmetatable({ flags = flags }, { __index = spec })
  function cmd.parse(args, o)
    local r, rest = M.parse(args, full, o)
    if r and r.help then
      io.stdout:write(cmd.help)
      return nil, 0
    end
    if not r then return nil, cmd.bad(rest) end
    return r, rest
  end
  return cmd
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
