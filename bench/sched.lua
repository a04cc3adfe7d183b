-- Added wall time of a test under the fixture scheduler versus EEVDF (same test, median of N).
-- bench/lib: what the bench scripts share
package.path = arg[0]:gsub("[^/]*$", "") .. "lib/?.lua;" .. package.path
local stat = require("stat")
local core = require("ktstr.core")

local N = tonumber(os.getenv("N") or "3")
local SCRIPT = [[
local ktstr = require("ktstr")
local S = ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched", ops_name = "ktstr" }
local defs = { ktstr.cgroup("a"):workers(2):cpuset(ktstr.cpuset.llc(0)),
  ktstr.cgroup("b"):workers(2):cpuset(ktstr.cpuset.llc(1)) }
ktstr.test{ name = "eevdf", llcs = 2, cores = 2, duration_s = 3, defs = defs }
ktstr.test{ name = "fixture", scheduler = S, llcs = 2, cores = 2, duration_s = 3, defs = defs }
]]


local dir = assert(core.mkdtemp("/tmp/ktstr-bench-"))
local file = dir .. "/sched_bench.lua"
local f = assert(io.open(file, "w"))
f:write(SCRIPT)
f:close()
local times = { eevdf = {}, fixture = {} }
for _ = 1, N do
  for name, list in pairs(times) do
    local t0 = core.now()
    local ok = os.execute(("%s script %s --filter %s >/dev/null"):format(core.exe(), file, name))
    assert(ok, name .. " did not pass")
    list[#list + 1] = core.now() - t0
  end
end
core.rm_rf(dir)
local e, s = stat.median(times.eevdf), stat.median(times.fixture)
print(("duration_s=3 test, median of %d: eevdf %.2fs, fixture %.2fs, added %.2fs")
  :format(N, e, s, s - e))
