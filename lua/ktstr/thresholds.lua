-- Thresholds: the opt-in check keys of a test or scheduler, their validators, defaults and merge.
local V = require("ktstr.validate")

local M = {}

local function positive(v, w) return V.number(v, w, 0, nil, true) end
local function nonneg(v, w) return V.number(v, w, 0) end

-- The check keys a test (or a scheduler) may set, with their validators.
M.KEYS = {
  not_starved = V.boolean,
  isolation = V.boolean,
  max_spread_pct = function(v, w) return V.number(v, w, 0, 100) end,
  max_cgroup_spread_pct = function(v, w) return V.number(v, w, 0, 100) end,
  max_gap_ms = positive,
  max_throughput_cv = positive,
  min_work_rate = nonneg,
  min_iteration_rate = nonneg,
  max_p99_wake_latency_ns = positive,
  max_migration_ratio = nonneg,
  -- the host monitor's: reported always, enforced once any layer turns enforcement on
  max_imbalance_ratio = function(v, w) return V.number(v, w, 1) end,
  max_local_dsq_depth = nonneg,
  fail_on_stall = V.boolean,
  sustained_samples = function(v, w) return V.integer(v, w, 1) end,
  max_fallback_rate = nonneg,
  max_keep_last_rate = nonneg,
  enforce_monitor_thresholds = V.boolean,
}

-- The default layer of the merge: every check off, as in ktstr (they are opt-in).
M.DEFAULT = {}

-- The thresholds not_starved uses when the test sets none (ktstr's release
-- and debug columns). Under TCG the guest runs ~5x slower than KVM and its
-- vCPUs are host threads at the mercy of the host scheduler, so spreads and
-- gaps stretch like ktstr's debug builds in small VMs: TCG takes the debug
-- column, KVM the release one. An unknown accelerator counts as TCG.
M.NOT_STARVED = {
  release = { max_spread_pct = 15, max_gap_ms = 2000 },
  debug = { max_spread_pct = 35, max_gap_ms = 3000 },
}

function M.column(accel)
  return accel == "kvm" and "release" or "debug"
end

-- merge(default, scheduler, test): the check keys of each layer, last set wins.
function M.merge(...)
  local out = {}
  for i = 1, select("#", ...) do
    local layer = select(i, ...)
    for k in pairs(M.KEYS) do
      if layer and layer[k] ~= nil then out[k] = layer[k] end
    end
  end
  return out
end

-- The thresholds in force for test under accel: default -> scheduler ->
-- test, then not_starved's defaults where the chain left spread or gap unset.
function M.resolve(test, accel)
  local th = M.merge(M.DEFAULT, test.scheduler, test)
  if th.not_starved then
    for k, v in pairs(M.NOT_STARVED[M.column(accel)]) do
      if th[k] == nil then th[k] = v end
    end
  end
  return th
end

return M
