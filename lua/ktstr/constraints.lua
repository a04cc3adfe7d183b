-- Topology constraints a scheduler declares: which guests it can run on at all.
local V = require("ktstr.validate")

local M = {}

-- The Rust ktstr's keys, plus cpus_multiple_of (scx_pair pairs CPUs up).
local BOUNDS = {
  { "cpus", "CPUs" }, { "llcs", "LLCs" }, { "numa_nodes", "NUMA nodes" },
}
local KEYS = { requires_smt = true, cpus_multiple_of = true }
for _, b in ipairs(BOUNDS) do KEYS["min_" .. b[1]], KEYS["max_" .. b[1]] = true, true end

local RENAMED = { min_nodes = "min_numa_nodes", max_nodes = "max_numa_nodes",
  min_numa = "min_numa_nodes", max_numa = "max_numa_nodes", smt = "requires_smt" }

--[[
check(t, what) -> a validated copy of t = { min_cpus =, max_cpus =, min_llcs =,
max_llcs =, min_numa_nodes =, max_numa_nodes =, requires_smt =,
cpus_multiple_of = }; a mistake raises at the script's line.
]]
function M.check(t, what)
  V.record(t, what, "{min_cpus = ..., ...}", KEYS, RENAMED)
  local c = {}
  for _, b in ipairs(BOUNDS) do
    local lo, hi = "min_" .. b[1], "max_" .. b[1]
    if t[lo] ~= nil then c[lo] = V.integer(t[lo], what .. "." .. lo, 1) end
    if t[hi] ~= nil then c[hi] = V.integer(t[hi], what .. "." .. hi, 1) end
    if c[lo] and c[hi] and c[lo] > c[hi] then
      V.raise("%s: %s (%d) is above %s (%d): no topology fits", what, lo, c[lo], hi, c[hi])
    end
  end
  if t.cpus_multiple_of ~= nil then
    c.cpus_multiple_of = V.integer(t.cpus_multiple_of, what .. ".cpus_multiple_of", 1)
  end
  if t.requires_smt ~= nil then
    c.requires_smt = V.boolean(t.requires_smt, what .. ".requires_smt")
  end
  return c
end

--[[
unmet(c, topo) -> why topo = { numa_nodes, llcs, cores, threads } does not
satisfy c ("needs at least 4 CPUs, the guest has 2"), or nil when it does
(or c is nil). llcs counts every node's LLCs.
]]
function M.unmet(c, topo)
  if not c then return nil end
  local have = { cpus = topo.llcs * topo.cores * topo.threads, llcs = topo.llcs,
    numa_nodes = topo.numa_nodes }
  for _, b in ipairs(BOUNDS) do
    local lo, hi, n = c["min_" .. b[1]], c["max_" .. b[1]], have[b[1]]
    if lo and n < lo then
      return ("needs at least %d %s (min_%s), the guest has %d"):format(lo, b[2], b[1], n)
    end
    if hi and n > hi then
      return ("needs at most %d %s (max_%s), the guest has %d"):format(hi, b[2], b[1], n)
    end
  end
  local m = c.cpus_multiple_of
  if m and have.cpus % m ~= 0 then
    return ("needs a multiple of %d CPUs (cpus_multiple_of), the guest has %d"):format(m,
      have.cpus)
  end
  if c.requires_smt and topo.threads < 2 then
    return ("needs SMT (requires_smt), the guest has %d thread per core"):format(topo.threads)
  end
  return nil
end

-- The reason test cannot run under its scheduler, or nil.
function M.test_unmet(test)
  local s = test.scheduler
  local why = s and M.unmet(s.constraints, test)
  return why and ("scheduler '%s' %s"):format(s.name, why)
end

return M
