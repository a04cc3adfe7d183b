-- Spec helper: whole files read and written.
local M = {}

-- path's contents; raises when it cannot be opened.
function M.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- path's contents, or nil when it cannot be opened.
function M.read_if(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Writes s as path's whole contents.
function M.write(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  assert(f:close())
end

return M
