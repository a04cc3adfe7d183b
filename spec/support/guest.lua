-- Spec helpers for specs that run inside a guest: files, polling, processes.
local core = require("ktstr.core")

local M = {}

M.ROOT = "/sys/fs/cgroup/ktstr"

-- path's contents, or nil when it cannot be opened
M.slurp = require("support.files").read_if

-- Calls fn until it returns a true value or timeout_s passes; returns that value or nil.
function M.eventually(fn, timeout_s)
  local deadline = core.now() + (timeout_s or 3)
  repeat
    local v = fn()
    if v then return v end
    core.sleep(0.02)
  until core.now() > deadline
  return nil
end

function M.alive(pid)
  return M.slurp("/proc/" .. pid .. "/stat") ~= nil
end

return M
