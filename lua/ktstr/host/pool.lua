-- Running jobs as child processes side by side, within a count and a CPU budget.
local core = require("ktstr.core")

local M = {}

-- poll takes 8 objects at the most; each running job is one
M.MAX_JOBS = 8

-- The host's online CPUs: the default budget of guests' vCPUs side by side.
function M.host_cpus()
  local f = io.open("/sys/devices/system/cpu/online")
  local list = f and f:read("l")
  if f then f:close() end
  local cpus = list and core.cpulist_parse(list)
  return cpus and #cpus or 1
end

-- How a child ended, for a line that says so: "exit 3", "signal 9".
function M.ended(status)
  return status.code and ("exit %d"):format(status.code) or ("signal %d"):format(status.signal or 0)
end

--[[
A scratch directory for the jobs' result files, removed when the variable
holding it goes out of scope (local d <close> = pool.scratch("...")), an
interrupt raised through the run included. d.path is the directory.
]]
function M.scratch(prefix)
  local path = assert(core.mkdtemp(prefix))
  return setmetatable({ path = path }, { __close = function(d) core.rm_rf(d.path) end })
end

--[[
pool.run(jobs, opts) -> nil | 128 + signal when interrupted (every child
killed and reaped). jobs: { {cost = vCPUs, argv = {...}, ...}, ... }, started
in order as room allows: at most opts.jobs at once, their costs summed no
higher than opts.budget, except that a job costing more than the whole budget
runs when nothing else does. opts.on_wait(job, used) once per job that waits
for room; opts.on_start(job); opts.on_done(job, {out =, err =, status =
{code=|signal=}, time_s =}) as each ends, its output kept whole until then;
opts.on_tick(running) twice a second at least, running = the jobs running.
]]
function M.run(jobs, opts)
  local limit = math.min(opts.jobs or 1, M.MAX_JOBS)
  local budget = opts.budget or math.huge
  local pending, running, used, told = {}, {}, 0, {}
  for i, j in ipairs(jobs) do pending[i] = j end

  local function fits(j)
    return #running < limit and (used + j.cost <= budget or #running == 0)
  end

  local function start(j)
    local p, err = core.spawn(j.argv, { new_pgrp = false })
    if not p then
      opts.on_done(j, { out = "", err = err .. "\n", status = { code = 2 }, time_s = 0 })
      return
    end
    running[#running + 1] = { job = j, p = p, out = {}, err = {}, t0 = core.now() }
    used = used + j.cost
    if opts.on_start then opts.on_start(j) end
  end

  local function fill()
    local k = 1
    while k <= #pending do
      local j = pending[k]
      if fits(j) then
        table.remove(pending, k)
        start(j)
      else
        if not told[j] and opts.on_wait then
          told[j] = true
          opts.on_wait(j, used)
        end
        -- later jobs may still fit beside what runs (a smaller guest)
        k = k + 1
      end
    end
  end

  local function finish(k)
    local r = table.remove(running, k)
    local status = r.p:wait()
    used = used - r.job.cost
    opts.on_done(r.job, { out = table.concat(r.out), err = table.concat(r.err),
      status = status or { code = 2 }, time_s = core.now() - r.t0 })
  end

  local function kill_all(sig)
    for _, r in ipairs(running) do r.p:close() end
    running = {}
    return 128 + sig
  end

  -- whatever raises through here (an interrupt in a callback), no child outlives it
  local _ <close> = setmetatable({}, { __close = function(_, err)
    if err then kill_all(2) end
  end })
  fill()
  while #running > 0 do
    local sig = core.signal_pending()
    if sig then return kill_all(sig) end
    local objs = {}
    for k, r in ipairs(running) do objs[k] = r.p end
    local ready = core.poll(objs, 0.5) or {}
    -- from the last, so finishing one does not shift the ones still to read
    for n = #ready, 1, -1 do
      local k = ready[n]
      local r = running[k]
      local which, data = r.p:read(0)
      if which then
        table.insert(which == "stdout" and r.out or r.err, data)
      elseif data == nil then
        finish(k)
      end
    end
    fill()
    if opts.on_tick then
      local now = {}
      for k, r in ipairs(running) do now[k] = r.job end
      opts.on_tick(now)
    end
  end
  return nil
end

return M
