-- Spawn of N workers into a cgroup, in a guest: time to all placed, and to all running.
-- bench/lib: what the bench scripts share
package.path = arg[0]:gsub("[^/]*$", "") .. "lib/?.lua;" .. package.path
local stat = require("stat")
local core = require("ktstr.core")

local N = tonumber(os.getenv("N") or "64")


local function inner()
  local placed, running = {}, {}
  for _ = 1, 5 do
    local cg = assert(core.cgroup_create("bench"))
    local t0 = core.now()
    local ws = assert(core.workers_spawn({ n = N, work = "spin_wait", cgroup = cg, start = false }))
    placed[#placed + 1] = core.now() - t0
    ws:start()
    -- running = every worker has checked in at least once
    repeat
      local all = true
      for _, r in ipairs(ws:reports()) do
        if r.work_units == 0 then all = false break end
      end
    until all or core.now() - t0 > 60
    running[#running + 1] = core.now() - t0
    ws:close()
    assert(cg:remove())
  end
  print(("spawn %d workers into a cgroup (guest, median of 5): all placed %.0f ms, " ..
    "all running %.0f ms"):format(N, stat.median(placed) * 1000, stat.median(running) * 1000))
end

if ... == "--inner" then
  inner()
  return 0
end
local cmd = ("%s vm --topo 1n2l2c1t -i bench:/bench -- ktstr lua /bench/spawn.lua --inner")
  :format(core.exe())
return os.execute(cmd) and 0 or 1
