-- Boot time on several kernels side by side (whole `ktstr vm -- true` runs), and where a boot goes.
--
--   KERNELS=7.3,KEY N=10 build/ktstr lua bench/kernels.lua
--
-- A kernel written K:nokaslr boots K at its link address (ktstr vm --no-kaslr).
-- Runs `ktstr vm --no-restore --topo TOPO --kernel K -- true` N times per kernel, the
-- kernels alternating so host noise falls on all alike, and prints the
-- median of each and its ratio to the first. Then one boot per kernel with
-- initcall_debug: the phases (before the kernel's first line: firmware and
-- the bzImage's decompression; the kernel to /init; /init to the agent's
-- ready; poweroff) and the initcalls that took longest.
-- bench/lib: what the bench scripts share
package.path = arg[0]:gsub("[^/]*$", "") .. "lib/?.lua;" .. package.path
local stat = require("stat")
local core = require("ktstr.core")

local N = tonumber(os.getenv("N") or "5")
local TOPO = os.getenv("TOPO") or "1n2l2c1t"
local KERNELS = {}
for k in (os.getenv("KERNELS") or "7.3"):gmatch("[^,]+") do KERNELS[#KERNELS + 1] = k end
local EXE = assert(core.exe())

local q = stat.q


-- Runs ktstr vm on kernel k with extra args; returns wall seconds and its stderr.
local function vm(k, extra)
  local t0 = core.now()
  local name, nokaslr = k:match("^(.-)(:nokaslr)$")
  local p = assert(io.popen(("%s vm --no-restore --topo %s --kernel %s %s %s -- true " ..
    "2>&1 >/dev/null"):format(q(EXE), TOPO, q(name or k), nokaslr and "--no-kaslr" or "",
    extra or "")))
  local err = p:read("a")
  local ok = p:close()
  if not ok then error(("ktstr vm --kernel %s failed:\n%s"):format(k, err)) end
  return core.now() - t0, err
end

local walls = {}
for _, k in ipairs(KERNELS) do walls[k] = {} end
for _ = 1, N do
  for _, k in ipairs(KERNELS) do table.insert(walls[k], (vm(k))) end
end
print(("ktstr vm --topo %s -- true, median of %d, kernels alternating:"):format(TOPO, N))
local base = stat.median(walls[KERNELS[1]])
for _, k in ipairs(KERNELS) do
  local m = stat.median(walls[k])
  print(("  %-40s %.2fs  %.2fx  (min %.2fs, max %.2fs)"):format(k, m, m / base,
    math.min(table.unpack(walls[k])), math.max(table.unpack(walls[k]))))
end

-- The timestamp of the first console line matching pat, in seconds.
local function at(console, pat)
  for line in console:gmatch("[^\n]+") do
    local t = line:match("^%[%s*([%d.]+)%]")
    if t and line:find(pat) then return tonumber(t) end
  end
end

local function breakdown(k)
  local wall, err = vm(k, "-v --console --append 'initcall_debug ignore_loglevel'")
  local ready = tonumber(err:match("ktstr vm: ready%s+%+[%d.]+s %(at ([%d.]+)s%)"))
  local spawn = tonumber(err:match("ktstr vm: spawn%s+%+[%d.]+s %(at ([%d.]+)s%)"))
  local uptime = tonumber(err:match("guest uptime at ready ([%d.]+)s"))
  local init = at(err, "Run /init as init process") or at(err, "Freeing unused kernel")
  print(("%s, one boot with initcall_debug (%.2fs whole; printing slows it):"):format(k, wall))
  if ready and spawn and uptime then
    print(("  before the kernel (firmware, decompression) %.2fs"):format(ready - spawn - uptime))
    if init then
      print(("  kernel to /init %.2fs, /init to agent ready %.2fs"):format(init, uptime - init))
    end
    print(("  ready to exit (command, poweroff) %.2fs"):format(wall - ready))
  end
  local calls = {}
  for name, us in err:gmatch("initcall ([%w_.]+)[^\n]- returned %-?%d+ after (%d+) usecs") do
    calls[#calls + 1] = { name = name, us = tonumber(us) }
  end
  table.sort(calls, function(a, b) return a.us > b.us end)
  local total = 0
  for _, c in ipairs(calls) do total = total + c.us end
  print(("  %d initcalls, %.2fs in all; longest:"):format(#calls, total / 1e6))
  for i = 1, math.min(12, #calls) do
    print(("    %8.1fms %s"):format(calls[i].us / 1e3, calls[i].name))
  end
  for _, m in ipairs({ { "smpboot: Total of", "CPUs up" }, { "ACPI: Interpreter enabled",
      "ACPI interpreter" }, { "PCI host bridge", "PCI probe" } }) do
    local t = at(err, m[1])
    if t then print(("  %s at %.2fs"):format(m[2], t)) end
  end
end

for _, k in ipairs(KERNELS) do breakdown(k) end
