-- Host monitor cost at 10 Hz (host CPU) and snapshot pause (QMP stop -> maps copied -> cont).
local core = require("ktstr.core")

local SCRIPT = [[
local ktstr = require("ktstr")
local S = ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched", ops_name = "ktstr" }
ktstr.test{ name = "monitor_bench", scheduler = S, llcs = 2, cores = 2, duration_s = 8,
  num_snapshots = 20,
  defs = { ktstr.cgroup("a"):workers(4):work(ktstr.work.spin_wait()) },
  post_vm = function(result)
    local m = result.monitor
    local p = m.pauses_ms
    table.sort(p)
    print(("BENCH samples=%d wall=%.2f sample_cpu=%.4f loop_cpu=%.4f snaps=%d " ..
      "pause_min=%.2f pause_med=%.2f pause_max=%.2f"):format(#m.samples, m.wall_s,
      m.sample_cpu_s or 0, m.loop_cpu_s, #p, p[1] or 0, p[(#p + 1) // 2] or 0, p[#p] or 0))
  end,
}
]]

local dir = assert(core.mkdtemp("/tmp/ktstr-bench-"))
local file = dir .. "/monitor_bench.lua"
local f = assert(io.open(file, "w"))
f:write(SCRIPT)
f:close()
local p = io.popen(("%s script %s 2>&1"):format(core.exe(), file))
local out = p:read("a")
p:close()
core.rm_rf(dir)
local line = out:match("BENCH ([^\n]*)")
if not line then
  io.stderr:write(out)
  os.exit(1)
end
local v = {}
for k, n in line:gmatch("([%w_]+)=([%d.]+)") do v[k] = tonumber(n) end
print(("monitor: %d samples in %.1fs (%.1f Hz); sampler CPU %.3f%% of one host CPU, whole " ..
  "host loop (sampling, channel, snapshots) %.2f%%"):format(v.samples, v.wall, v.samples / v.wall,
  100 * v.sample_cpu / v.wall, 100 * v.loop_cpu / v.wall))
print(("snapshot pause over %d captures: min %.2f ms, median %.2f ms, max %.2f ms"):format(v.snaps,
  v.pause_min, v.pause_med, v.pause_max))
