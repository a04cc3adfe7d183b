-- The ktstr command line: parses argv and dispatches to a subcommand module.
local M = {}

local USAGE = [==[
usage: ktstr <command> [options]

commands:
  script FILE... [--filter PAT] [--list] [--kernel K] [--json] [-v]
                 run ktstr test scripts, each test in its own guest
  vm [--topo 1n2l2c1t] [--memory-mib N] [--kernel K] [--timeout S] [-v] -- CMD [ARGS...]
                 boot a guest, run CMD there, exit with its status
  repl [--topo 1n2l2c1t] [--scheduler S] [--kernel K] | repl --attach ID
                 a Lua prompt whose chunks run in a guest
  kernel fetch [VERSION] | list | path VERSION
                 manage the guest kernel cache
  lua [-e CHUNK] [FILE [ARGS...]]
                 run Lua 5.4 with ktstr and ktstr.core loaded
  help           this text
]==]

local function usage_error(msg)
  io.stderr:write("ktstr: ", msg, "\n", USAGE)
  return 2
end

local commands = {
  lua = function(args) return require("ktstr.interp").main(table.unpack(args)) end,
  vm = function(args) return require("ktstr.host.vmcmd").main(args) end,
  kernel = function(args)
    return require("ktstr.host.kernel").main(args, { scx = require("ktstr.host.scx").build })
  end,
  script = function(args) return require("ktstr.host.runner").main(args) end,
  repl = function(args) return require("ktstr.host.repl").main(args) end,
  help = function() io.stdout:write(USAGE) return 0 end,
}

function M.main(...)
  local args = { ... }
  local name = table.remove(args, 1)
  if not name or name == "-h" or name == "--help" then
    io.stdout:write(USAGE)
    return name and 0 or 2
  end
  local cmd = commands[name]
  if not cmd then
    return usage_error(("unknown command '%s'"):format(name))
  end
  -- what killed runs left (run dirs in RAM, scratch dirs) goes before we add ours
  if name ~= "help" and name ~= "lua" then require("ktstr.host.reclaim").sweep() end
  return cmd(args)
end

return M
