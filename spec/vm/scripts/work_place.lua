-- The placement, cgroup, NUMA and RT work types in one guest (2 nodes, 2 LLCs, SMT):
-- run(ctx) watches each do its special thing while it runs, post_vm checks their reports.
local ktstr = require("ktstr")

local ROOT = "/sys/fs/cgroup/ktstr"

local function slurp(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- The cgroups directly under the ktstr root.
local function children()
  local p = assert(io.popen("ls -1p " .. ROOT))
  local out = {}
  for name in p:read("a"):gmatch("([^\n]+)/\n") do out[#out + 1] = name end
  p:close()
  return out
end

local function pids(cgroup)
  local out = {}
  for pid in (slurp(ROOT .. "/" .. cgroup .. "/cgroup.procs") or ""):gmatch("%d+") do
    out[#out + 1] = pid
  end
  return out
end

-- CPU time charged to a cgroup so far (its own tasks, whoever they are).
local function usage_usec(dir)
  return tonumber((slurp(dir .. "/cpu.stat") or ""):match("usage_usec (%d+)")) or 0
end

local W = ktstr.work
local DEFS = {
  ktstr.cgroup("smt"):workers(2):work(W.smt_sibling_spin()):affinity("smt_sibling_pair"),
  -- CPUs 2-3 (node 1): each rewrites the other's affinity, {2,3} <-> {2} or {3}
  ktstr.cgroup("xaff"):workers(2):work(W.cross_affinity_churn())
    :cpuset(ktstr.cpuset.numa(1)),
  ktstr.cgroup("nmc"):workers(1):work(W.numa_migration_churn{ period_ms = 50 }),
  ktstr.cgroup("nws"):workers(1):work(W.numa_working_set_sweep{ region_kib = 1024,
    sweep_period_ms = 50 }),
  ktstr.cgroup("churn"):workers(2):work(W.cgroup_churn{ cycle_ms = 20 }),
  ktstr.cgroup("storm"):workers(1):work(W.cgroup_attach_storm()),
  ktstr.cgroup("storm_wait"):workers(1):work(W.cgroup_attach_storm{ reap = "waitpid" }),
  -- the tiers on one CPU each, one per node: the other CPU of a node stays free of RT
  ktstr.cgroup("pi"):workers(3):work(W.priority_inversion{ pi_mode = "pi" })
    :cpuset(ktstr.cpuset.exact{ 1 }),
  ktstr.cgroup("rts"):workers(2):work(W.rt_starvation()):cpuset(ktstr.cpuset.exact{ 3 }),
}

local NAMES = { "smt", "xaff", "nmc", "nws", "churn", "storm", "storm_wait", "pi", "rts" }

ktstr.test{
  name = "place_types",
  scheduler = ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched" },
  numa_nodes = 2, llcs = 2, cores = 1, threads = 2,
  duration_s = 4,
  not_starved = true,
  run = function(ctx)
    for _, def in ipairs(DEFS) do ctx:op(ktstr.op.add_cgroup(def)) end
    ctx:sleep(0.3)
    local seen = { churn = {}, masks = {}, binds = {}, nodes = {} }
    for _ = 1, 30 do
      for _, name in ipairs(children()) do
        if name:match("^cgroup_churn%+") and #pids(name) > 0 then seen.churn[name] = true end
      end
      for _, pid in ipairs(pids("xaff")) do
        local mask = (slurp("/proc/" .. pid .. "/status") or ""):match("Cpus_allowed_list:%s*(%S+)")
        if mask then seen.masks[mask] = true end
      end
      for _, pid in ipairs(pids("nws")) do
        for line in (slurp("/proc/" .. pid .. "/numa_maps") or ""):gmatch("[^\n]+") do
          local node = line:match(" bind:(%d+) ")
          if node then
            seen.binds[node] = true
            for n in line:gmatch(" N(%d+)=") do seen.nodes[n] = true end
          end
        end
      end
      ctx:sleep(0.05)
    end
    local made = {}
    for _, name in ipairs(children()) do
      if name:find("+", 1, true) then made[#made + 1] = name end
    end
    table.sort(made)
    local storms = {}
    for _, name in ipairs(made) do
      if name:match("^cgroup_attach_storm%+") then storms[#storms + 1] = usage_usec(ROOT .. "/" .. name) end
    end
    for _, name in ipairs(NAMES) do ctx:op(ktstr.op.remove_cgroup(name)) end
    local left = {}
    for _, name in ipairs(children()) do left[#left + 1] = name end
    local why = {}
    local function need(ok, fmt, ...)
      if not ok then why[#why + 1] = fmt:format(...) end
    end
    need(#made == 6, "made cgroups while running: %s", table.concat(made, " "))
    need(next(seen.churn) ~= nil, "no cgroup_churn worker seen in a cgroup it made")
    need(#storms == 2 and storms[1] > 0 and storms[2] > 0,
      "attach storms' cgroups charged no CPU time (children never moved in)")
    local masks = {}
    for m in pairs(seen.masks) do masks[#masks + 1] = m end
    need(seen.masks["2"] or seen.masks["3"], "xaff never narrowed a sibling (masks seen: %s)",
      table.concat(masks, " "))
    need(seen.binds["0"] and seen.binds["1"], "the sweep's region was not bound to both nodes")
    need(seen.nodes["1"], "no page of the sweep's region seen on node 1")
    need(#left == 0, "cgroups left after removal: %s", table.concat(left, " "))
    if #why > 0 then return ktstr.fail(table.concat(why, "; ")) end
    return ktstr.pass()
  end,
  post_vm = function(result)
    local by = {}
    for _, cg in ipairs(result.cgroups) do by[cg.name] = cg.workers end
    local function cpus(w)
      local s = {}
      for _, c in ipairs(w.cpus or {}) do s[c] = true end
      return s
    end
    for name, ws in pairs(by) do
      for _, w in ipairs(ws) do
        if w.work_units == 0 then return ktstr.fail(name .. ": a worker did no work") end
      end
    end
    -- smt_sibling_pair: one core's two threads
    local a, b = by.smt[1].cpus, by.smt[2].cpus
    if #a ~= 1 or #b ~= 1 or a[1] // 2 ~= b[1] // 2 or a[1] == b[1] then
      return ktstr.fail("smt pair not on sibling threads")
    end
    local nmc = cpus(by.nmc[1])
    if not ((nmc[0] or nmc[1]) and (nmc[2] or nmc[3])) then
      return ktstr.fail("numa_migration_churn stayed on one node")
    end
    for _, w in ipairs(by.xaff) do
      if w.migrations == 0 then return ktstr.fail("xaff: a sibling never migrated") end
    end
    if not (by.pi[1].wake and by.pi[1].wake.count > 0) then
      return ktstr.fail("priority_inversion: the top tier never waited for the lock")
    end
    if not (by.rts[1].wake and by.rts[1].wake.count > 0) then
      return ktstr.fail("rt_starvation: the RT member never rested")
    end
    for _, name in ipairs({ "pi", "rts" }) do
      for _, w in ipairs(by[name]) do
        for c in pairs(cpus(w)) do
          if c ~= (name == "pi" and 1 or 3) then return ktstr.fail(name .. " left its CPU") end
        end
      end
    end
  end,
}
