-- Ops (ktstr.op.*): the actions a step takes on cgroups and the scheduler, as plain tables.
local V = require("ktstr.validate")
local cpuset = require("ktstr.cpuset")
local cgroupdef = require("ktstr.cgroupdef")
local work = require("ktstr.work")

local M = {}

local function spec(v, w)
  if not cpuset.is(v) then V.raise("%s: expected a ktstr.cpuset value, got %s", w, tostring(v)) end
  if cpuset.positional(v) then
    V.raise("%s: %s() outside a step's setup has no cgroup position: give it (index, of)", w,
      v.kind)
  end
  return v
end

local function two(w, a, b)
  V.cgroup_name(a, w)
  if V.cgroup_name(b, w) == a then V.raise("%s: both cgroups are '%s'", w, a) end
end

-- name -> builder of the op's fields (w: "ktstr.op.<name>" for messages).
-- The fields cgroup, a, b, from, to name cgroups that must exist when it runs.
local OPS = {
  add_cgroup = function(w, def) return { def = cgroupdef.unwrap(def, w) } end,
  remove_cgroup = function(w, name) return { cgroup = V.cgroup_name(name, w) } end,
  stop_cgroup = function(w, name) return { cgroup = V.cgroup_name(name, w) } end,
  set_cpuset = function(w, name, s)
    return { cgroup = V.cgroup_name(name, w), cpuset = spec(s, w) }
  end,
  clear_cpuset = function(w, name) return { cgroup = V.cgroup_name(name, w) } end,
  swap_cpusets = function(w, a, b)
    two(w, a, b)
    return { a = a, b = b }
  end,
  -- n more workers in the cgroup, running its own work unless w is given.
  spawn = function(w, name, n, wk)
    if wk ~= nil and not work.is(wk) then
      V.raise("%s: expected a work value, got %s", w, tostring(wk))
    end
    return { cgroup = V.cgroup_name(name, w), workers = V.integer(n, w .. ": workers", 1),
      work = wk }
  end,
  set_affinity = function(w, name, a)
    a = cgroupdef.affinity(a, w)
    if cpuset.is(a) then spec(a, w) end
    return { cgroup = V.cgroup_name(name, w), affinity = a }
  end,
  move_all_tasks = function(w, from, to)
    two(w, from, to)
    return { from = from, to = to }
  end,
  freeze_cgroup = function(w, name) return { cgroup = V.cgroup_name(name, w) } end,
  unfreeze_cgroup = function(w, name) return { cgroup = V.cgroup_name(name, w) } end,
  capture_snapshot = function(w, label) return { label = V.name(label, w) } end,
  attach_scheduler = function() return {} end,
  detach_scheduler = function() return {} end,
  restart_scheduler = function() return {} end,
}

-- Arity of each op; extra arguments are a mistake worth naming.
local ARGS = { add_cgroup = 1, remove_cgroup = 1, stop_cgroup = 1, set_cpuset = 2, clear_cpuset = 1,
  swap_cpusets = 2, spawn = 3, set_affinity = 2, move_all_tasks = 2, freeze_cgroup = 1,
  unfreeze_cgroup = 1, capture_snapshot = 1, attach_scheduler = 0, detach_scheduler = 0,
  restart_scheduler = 0 }

M.NEEDS_SCHEDULER = { attach_scheduler = true, detach_scheduler = true, restart_scheduler = true }

local api = {}
for name, build in pairs(OPS) do
  api[name] = function(...)
    local w = "ktstr.op." .. name
    local n = select("#", ...)
    if n > ARGS[name] then
      V.raise("%s: takes %d argument%s, got %d", w, ARGS[name], ARGS[name] == 1 and "" or "s", n)
    end
    local o = build(w, ...)
    o.op, o.source = name, V.where()
    return o
  end
end
M.api = V.strict(api, "ktstr.op", "op")

function M.is(o)
  return type(o) == "table" and OPS[o.op] ~= nil and type(o.source) == "string"
end

-- The cgroup names the op needs to exist when it runs.
function M.refs(o)
  local out = {}
  for _, k in ipairs({ "cgroup", "a", "b", "from", "to" }) do
    if o[k] then out[#out + 1] = o[k] end
  end
  return out
end

return M
