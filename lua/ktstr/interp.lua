-- `ktstr lua`: the embedded interpreter's command line, on the host and in the guest.
local M = {}

-- The subset of lua.c's command line that tools and specs need.
function M.main(...)
  local args = { ... }
  local i = 1
  while i <= #args do
    local a = args[i]
    if a == "-h" or a == "--help" then
      io.stdout:write("usage: ktstr lua [-e CHUNK]... [--] [FILE [ARGS...]]\n" ..
        "Lua 5.4 with ktstr.core loaded, on the host or in a guest; FILE gets ARGS as arg.\n")
      return 0
    elseif a == "-e" then
      local chunk = args[i + 1]
      if not chunk then
        io.stderr:write("ktstr lua: -e needs a chunk\n")
        return 2
      end
      local f, err = load(chunk, "=(command line)")
      if not f then
        io.stderr:write("ktstr lua: ", err, "\n")
        return 2
      end
      f()
      i = i + 2
    elseif a == "--" then
      i = i + 1
      break
    else
      break
    end
  end
  local file = args[i]
  if not file then return 0 end
  local script_args = { [0] = file }
  for j = i + 1, #args do script_args[#script_args + 1] = args[j] end
  rawset(_G, "arg", script_args)  -- as lua.c does, for scripts like busted
  local f, err = loadfile(file)
  if not f then
    io.stderr:write("ktstr lua: ", err, "\n")
    return 2
  end
  local rc = f(table.unpack(script_args))
  if math.type(rc) == "integer" then return rc end
  return 0
end

return M
