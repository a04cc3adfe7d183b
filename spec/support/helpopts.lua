-- Spec helper: the subcommands `ktstr help` lists and the options each one's --help names.
local run = require("support.run")

local M = {}

-- The subcommands of `ktstr help`, in order (help and version take no options).
function M.commands()
  local out = run.sh(run.sh_quote(run.exe) .. " help")
  local list, on = {}, false
  for line in out:gmatch("[^\n]+") do
    if line == "commands:" then
      on = true
    elseif on then
      list[#list + 1] = line:match("^  (%a+)")
    end
  end
  return list
end

local function tokens(s, into)
  for opt in (" " .. s):gmatch("[%s%[|,(](%-%-?%a[%w-]*)") do into[opt] = true end
  return into
end

--[[
options(cmd) -> named, takes, internal. named: every option `ktstr CMD
--help` mentions anywhere (a word starting with - or -- after a space, [, |,
comma or parenthesis); takes: those it says CMD itself takes (its usage
lines and the option column of its option lines); internal: those whose
option line says "internal:".
]]
function M.options(cmd)
  local out, ok = run.sh(run.sh_quote(run.exe) .. " " .. cmd .. " --help 2>&1")
  assert(ok, "ktstr " .. cmd .. " --help failed: " .. out)
  local named, takes, internal = tokens(out, {}), {}, {}
  for line in out:gmatch("[^\n]+") do
    local col, what = line:match("^  (%-%S.-)%s%s+(.*)$")
    if col then
      tokens(col, takes)
      if what:match("^internal:") then tokens(col, internal) end
    elseif line:match("^usage: ktstr ") or line:match("^%s+ktstr ") then
      tokens(line, takes)
    end
  end
  return named, takes, internal
end

-- The keys of a set, sorted: what an assertion prints.
M.sorted = require("ktstr.validate").sorted

return M
