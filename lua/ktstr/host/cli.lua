-- The ktstr command line: parses argv and dispatches to a subcommand module.
local M = {}

local USAGE = [==[
usage: ktstr <command> [options]      (ktstr <command> --help for its options)

commands:
  script FILE...   run ktstr test scripts, each test in its own guest, and judge them
  vm -- CMD...     boot a guest, run CMD there, exit with its status
  repl             a Lua prompt whose chunks run in a guest (--attach ID: a held one)
  verifier SCHED.. load schedulers per kernel x topology: each BPF program's verifier verdict
  kernel           the guest kernel cache: fetch, build, clean, list, path, source, scx
  stats            the test records: list runs, show one, compare two sets (Welch's t-test)
  lua              Lua 5.4 with ktstr and ktstr.core loaded (-e CHUNK, FILE ARGS...)
  version          ktstr's version and the tree it was built from (also --version)
  help             this text (also -h, --help)
]==]
local function usage_error(msg)
  io.stderr:write("ktstr: ", msg, "\n", USAGE)
  return 2
end

local commands = {
  lua = function(args) return require("ktstr.interp").main(table.unpack(args)) end,
  vm = function(args) return require("ktstr.host.vmcmd").main(args) end,
  kernel = function(args)
    if args[1] == "build" or args[1] == "clean" then
      return require("ktstr.host.kbuild").main(args)
    end
    return require("ktstr.host.kernel").main(args, { scx = require("ktstr.host.scx").build })
  end,
  script = function(args) return require("ktstr.host.runner").main(args) end,
  repl = function(args) return require("ktstr.host.repl").main(args) end,
  stats = function(args) return require("ktstr.host.stats").main(args) end,
  verifier = function(args) return require("ktstr.host.verifier").main(args) end,
  help = function() io.stdout:write(USAGE) return 0 end,
  version = function()
    io.stdout:write(("ktstr %s (%s)\n"):format(require("ktstr.core").version()))
    return 0
  end,
}

function M.main(...)
  local args = { ... }
  local name = table.remove(args, 1)
  if name == "--version" then name = "version" end
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
