-- Boot time: host spawn -> agent ready, and the whole ktstr vm round trip, median of N.
-- bench/lib: what the bench scripts share
package.path = arg[0]:gsub("[^/]*$", "") .. "lib/?.lua;" .. package.path
local stat = require("stat")
local core = require("ktstr.core")
local vm = require("ktstr.host.vm")

local N = tonumber(os.getenv("N") or "5")
local TOPOS = { "1n1l2c1t", "1n2l2c1t" }


local function stage(h, name)
  for _, t in ipairs(h.timings) do
    if t[1] == name then return t[2] end
  end
end

for _, topo in ipairs(TOPOS) do
  local ready, spawn_to_ready, total, uptime = {}, {}, {}, {}
  for _ = 1, N do
    local t0 = core.now()
    local h <close>, f = vm.boot({ topo = topo, restore = false })
    if not h then error(vm.format_failure(f)) end
    ready[#ready + 1] = stage(h, "ready")
    spawn_to_ready[#spawn_to_ready + 1] = stage(h, "ready") - stage(h, "initramfs")
    uptime[#uptime + 1] = h.facts.uptime_s
    h:shutdown(10)
    total[#total + 1] = core.now() - t0
  end
  print(("%s: spawn->ready %.2fs  start->ready %.2fs  guest uptime at ready %.2fs  " ..
    "boot+poweroff %.2fs  (median of %d)")
    :format(topo, stat.median(spawn_to_ready), stat.median(ready), stat.median(uptime),
      stat.median(total), N))
end
