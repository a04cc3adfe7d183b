-- The gauntlet: one test run again on each topology preset that can hold it.
local constraints = require("ktstr.constraints")
local cpuset = require("ktstr.cpuset")
local step = require("ktstr.step")

local M = {}

-- ktstr's presets (newest names), smallest first. Under TCG every vCPU is a
-- host thread, so the default ceiling keeps only the small ones.
M.PRESETS = {
  { "4cpu-1llc-nosmt", 1, 1, 4, 1 }, { "4cpu-2llc-nosmt", 1, 2, 2, 1 },
  { "8cpu-2llc-smt", 1, 2, 2, 2 }, { "9cpu-3llc-nosmt", 1, 3, 3, 1 },
  { "12cpu-3llc-smt", 1, 3, 2, 2 }, { "14cpu-7llc-nosmt", 1, 7, 2, 1 },
  { "15cpu-5llc-nosmt", 1, 5, 3, 1 }, { "2numa-16cpu-4llc-nosmt", 2, 4, 4, 1 },
  { "32cpu-4llc-smt", 1, 4, 4, 2 }, { "32cpu-4llc-nosmt", 1, 4, 8, 1 },
  { "2numa-32cpu-2llc-smt", 2, 2, 8, 2 }, { "4numa-32cpu-8llc-nosmt", 4, 8, 4, 1 },
  { "64cpu-8llc-smt", 1, 8, 4, 2 }, { "64cpu-8llc-nosmt", 1, 8, 8, 1 },
}

-- The most vCPUs a preset may have by default: KVM runs vCPUs at host speed, TCG does not.
function M.default_max_cpus(kvm) return kvm and 64 or 8 end

local function with_topology(test, p)
  local v = setmetatable({}, { __index = test })
  v.numa_nodes, v.llcs, v.cores, v.threads = p[2], p[3], p[4], p[5]
  v.name, v.base_name, v.preset = ("gauntlet/%s/%s"):format(test.name, p[1]), test.name, p[1]
  return v
end

--[[
variants(test, max_cpus) -> list of tests, one per preset with at most
max_cpus CPUs whose topology the test's cgroups, cpusets and ops fit and its
scheduler's constraints allow; and a list of { preset =, why = } for those
left out. A run(ctx) body is judged only when it runs.
]]
function M.variants(test, max_cpus)
  local out, skipped = {}, {}
  for _, p in ipairs(M.PRESETS) do
    local v = with_topology(test, p)
    local cpus = p[3] * p[4] * p[5]  -- llcs counts every node's
    local unmet = constraints.test_unmet(v)
    if cpus > max_cpus then
      skipped[#skipped + 1] = { preset = p[1], why = ("%d CPUs > %d"):format(cpus, max_cpus) }
    elseif unmet then
      skipped[#skipped + 1] = { preset = p[1], why = unmet }
    else
      local ok, err = pcall(function()
        if test.steps then step.check(test.steps, test.backdrop, v, test.scheduler ~= nil) end
      end)
      if ok then
        out[#out + 1] = v
      else
        skipped[#skipped + 1] = { preset = p[1], why = tostring(err) }
      end
    end
  end
  return out, skipped
end

-- "1n2l2c1t" of a preset, for listings.
function M.topo_name(v) return cpuset.topo_name(v) end

return M
