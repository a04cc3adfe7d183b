-- Harness overhead: `ktstr script tests/mixed.lua` wall time minus duration_s, beside boot time.
-- Boot time is measured the same way, as the wall time of `ktstr vm -- true`; both are
-- medians of N (default 3), interleaved so host load hits both alike. Goal: overhead <= boot + 1 s.
-- bench/lib: what the bench scripts share
package.path = arg[0]:gsub("[^/]*$", "") .. "lib/?.lua;" .. package.path
local stat = require("stat")
local core = require("ktstr.core")

local N = tonumber(os.getenv("N") or "3")
local SCRIPT = "tests/mixed.lua"
local TOPO = "1n2l2c1t"  -- mixed.lua's topology, so both boot the same guest


local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- How busy the host is: load average and the QEMU guests running (between our runs: others').
local function load()
  local f = assert(io.open("/proc/loadavg"))
  local avg = f:read("a"):match("^(%S+ %S+ %S+)")
  f:close()
  local p = assert(io.popen("pgrep -c qemu-system 2>/dev/null"))
  local guests = tonumber(p:read("a")) or 0
  p:close()
  return ("load %s, %d other QEMU guests"):format(avg, guests)
end

-- Wall seconds of one ktstr run; a run that fails makes the numbers meaningless.
local function timed(args)
  local q = {}
  for i, a in ipairs(args) do q[i] = sh_quote(a) end
  local cmd = ("%s %s >/dev/null 2>&1"):format(sh_quote(core.exe()), table.concat(q, " "))
  local t0 = core.now()
  local ok, _, code = os.execute(cmd)
  local dt = core.now() - t0
  if not ok then error(("`ktstr %s` exited %s"):format(table.concat(args, " "), code)) end
  return dt
end

local registry = require("ktstr.test")
registry.reset()
dofile(SCRIPT)
local duration_s = registry.registry()[1].duration_s

print(("harness: %s (duration_s %g) vs ktstr vm --topo %s -- true, median of %d; %s")
  :format(SCRIPT, duration_s, TOPO, N, load()))
-- excess: overhead minus the boot just before it, a pair that shares the host's load
local boot, wall, overhead, excess = {}, {}, {}, {}
for i = 1, N do
  boot[i] = timed({ "vm", "--topo", TOPO, "--", "true" })
  wall[i] = timed({ "script", SCRIPT })
  overhead[i] = wall[i] - duration_s
  excess[i] = overhead[i] - boot[i]
  print(("  run %d: boot %.2fs  script %.2fs  overhead %.2fs  excess %+.2fs  (%s)"):format(i,
    boot[i], wall[i], overhead[i], excess[i], load()))
end
local b, o = stat.median(boot), stat.median(overhead)
print(("harness: boot %.2fs  script wall %.2fs  overhead %.2fs  paired excess %+.2fs  " ..
  "goal overhead <= boot + 1s = %.2fs: %s"):format(b, stat.median(wall), o,
  stat.median(excess), b + 1, o <= b + 1 and "met" or "NOT met"))
