-- Spec helper: Lua source run as the test script tests/x.lua, as ktstr script loads one.
local M = {}

-- Runs src (ktstr already required as `ktstr`) as tests/x.lua; returns pcall's results.
function M.run(src)
  return pcall(assert(load('local ktstr = require("ktstr")\n' .. src, "@tests/x.lua")))
end

-- Runs src as M.run does, insists that it raised, and returns the error.
function M.err(src)
  local ok, err = M.run(src)
  assert(not ok, "the script ran without an error")
  return err
end

return M
