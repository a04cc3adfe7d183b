-- Sidecar files: each test run's verdict, stats and monitor summary as JSON for tools to read.
local core = require("ktstr.core")
local cjson = require("cjson")
local cpuset = require("ktstr.cpuset")
local report = require("ktstr.host.report")
local sh = require("ktstr.host.kernel").sh

local M = {}

-- FNV-1a, 64 bits: a stable name for a variant, not a security hash.
function M.fnv1a(s)
  local h = -3750763034362895579  -- 0xcbf29ce484222325
  for i = 1, #s do
    h = (h ~ s:byte(i)) * 1099511628211
  end
  return ("%016x"):format(h)
end

-- The git commit of the directory ktstr runs in, "-dirty" when tracked files changed.
function M.project_commit()
  local head = (sh("git rev-parse --short=7 HEAD 2>/dev/null") or ""):match("^(%x+)")
  if not head then return nil end
  local dirty = sh("git status --porcelain --untracked-files=no 2>/dev/null") or ""
  return dirty ~= "" and head .. "-dirty" or head
end

--[[
Where a run's sidecars go: KTSTR_SIDECAR_DIR as given, else
ktstr-results/{kernel}-{commit} under the current directory (one directory
per kernel and commit; a run there replaces the files of runs that ended).
Returns dir, whether it is ours to clear.
]]
function M.dir(kernel_release)
  local env = os.getenv("KTSTR_SIDECAR_DIR")
  if env and env ~= "" then return env, false end
  return ("ktstr-results/%s-%s"):format(kernel_release or "unknown",
    M.project_commit() or "unknown"), true
end

-- What makes two runs of one test comparable: topology, scheduler and its settings.
function M.variant(test)
  local s = test.scheduler or {}
  return M.fnv1a(table.concat({ cpuset.topo_name(test), report.scheduler_name(test),
    table.concat(s.args or {}, " "), table.concat(test.extra_sched_args or {}, " "),
    table.concat(s.kargs or {}, " "), cjson.encode(s.sysctls or {}) }, "\0"))
end

local function host()
  local u = core.uname()
  local f = io.open("/proc/cpuinfo")
  local info = f and f:read("a") or ""
  if f then f:close() end
  local _, ncpu = info:gsub("\nprocessor%s*:", "")
  return { uname = ("%s %s %s"):format(u.sysname, u.release, u.machine),
    cpu_model = info:match("model name%s*:%s*([^\n]+)"),
    cpus = ncpu + (info:match("^processor") and 1 or 0) }
end

--[[
Per cgroup, the times the stats roll-up leaves out and `ktstr stats` needs
for its rates and shares: wall, CPU and run delay (seconds, summed over the
workers; run delay nil when a worker had no schedstat), and the worst
worker's p99 wake latency (us; nil when no worker blocks).
]]
function M.cgroup_times(result)
  local out = {}
  for _, cg in ipairs(result.cgroups or {}) do
    local ws = cg.workers or {}
    local c = { name = cg.name, workers = #ws, wall_s = 0, cpu_s = 0, run_delay_s = 0, wakes = 0 }
    for _, w in ipairs(ws) do
      c.wall_s, c.cpu_s = c.wall_s + (w.wall_ns or 0) / 1e9, c.cpu_s + (w.cpu_ns or 0) / 1e9
      c.run_delay_s = c.run_delay_s and w.run_delay_ns and c.run_delay_s + w.run_delay_ns / 1e9
      if w.wake and (w.wake.count or 0) > 0 then
        c.wakes = c.wakes + w.wake.count
        c.wake_p99_us = math.max(c.wake_p99_us or 0, w.wake.p99_ns / 1e3)
      end
    end
    out[#out + 1] = c
  end
  return out
end

-- The sidecar record: the --json record plus what a later comparison needs.
function M.record(test, v, result, run)
  local r = report.json(test, v, result)
  result = result or {}
  local m = result.monitor or {}
  local s = test.scheduler or {}
  r.test_name = test.name
  r.variant = M.variant(test)
  r.kernel_version = result.kernel
  r.project_commit = run.commit
  r.timestamp = os.date("!%Y-%m-%dT%H:%M:%SZ", run.time)
  r.run_id = run.id
  r.vcpus = test.numa_nodes and test.llcs * test.cores * test.threads
  r.host = run.host
  r.cpu_budget = run.host.cpus
  r.host_dilation = m.summary and m.summary.dilation
  r.watchdog = m.watchdog
  r.periodic_target, r.periodic_fired = m.periodic_target, m.periodic_fired
  r.sysctls, r.kargs = s.sysctls, s.kargs
  r.cgroup_times = M.cgroup_times(result)
  return r
end

local Run = {}
Run.__index = Run

--[[
A run of `ktstr script`: one id (its start and the pid of the ktstr that
owns it), one directory. id: join that run instead (a -j worker writes its
test's record into its parent's run).
]]
function M.start(id)
  local t = os.time()
  return setmetatable({ time = t, host = host(), commit = M.project_commit(), joined = id ~= nil,
    id = id or ("%s-%d"):format(os.date("!%Y%m%dT%H%M%SZ", t), core.getpid()) }, Run)
end

-- Whether the ktstr that owns run id is still running (its pid names a ktstr).
function M.live(id)
  local pid = type(id) == "string" and id:match("%-(%d+)$")
  local f = pid and io.open("/proc/" .. pid .. "/cmdline")
  if not f then return false end
  local cmd = f:read("a")
  f:close()
  return cmd:find("ktstr", 1, true) ~= nil
end

-- The run a record file belongs to, or nil.
local function run_of(path)
  local f = io.open(path)
  if not f then return nil end
  local ok, rec = pcall(cjson.decode, f:read("l") or "")
  f:close()
  return ok and type(rec) == "table" and rec.run_id or nil
end

--[[
Called as a run begins, with the kernel it runs: the runs going on now
are the ones the results directory describes. Records of runs that had
ended go; those of runs still going (another ktstr beside this one, a
partition of the same suite) stay, and so do those they write later.
A run that joined another (a -j worker) claims nothing.
]]
function Run:claim(kernel_release)
  if self.joined then return end
  local dir, ours = M.dir(kernel_release)
  if not ours then return end
  for _, old in ipairs(core.list_files(dir, ".ktstr.json") or {}) do
    local path = dir .. "/" .. old
    local id = not old:find("/", 1, true) and run_of(path)
    if id ~= self.id and not M.live(id) then os.remove(path) end
  end
end

-- The JSON line of one test's record.
function Run:line(test, v, result, rep)
  local rec = M.record(test, v, result, self)
  if rep then rec["repeat"], rec.repeats = rep.index, rep.of end
  local ok, line = pcall(cjson.encode, rec)
  -- Ctrl-C while encoding is no property of the record: the run ends, no file
  if not ok and core.signal_pending() then error(line, 0) end
  if not ok then
    -- a snapshot value JSON cannot hold (a sparse array): keep the rest
    rec.snapshots, rec.snapshots_error = nil, tostring(line)
    line = cjson.encode(rec)
  end
  return line, rec.variant
end

--[[
Writes one test's record; returns the JSON line, then the path or nil,
message. rep = {index =, of =}: one of --repeat's runs, its index in the
file name and the record.
]]
function Run:write(test, v, result, rep)
  local line, variant = self:line(test, v, result, rep)
  -- one directory per kernel: a run over several kernels writes into each
  self.dirs = self.dirs or {}
  local kernel = result and result.kernel or "unknown"
  local dir = self.dirs[kernel]
  if not dir then
    dir = M.dir(result and result.kernel)
    local ok, err = core.mkdir_p(dir)
    if not ok then return line, nil, err end
    self.dirs[kernel] = dir
  end
  -- gauntlet variants are named gauntlet/test/preset: one file name all the same
  local path = ("%s/%s-%s%s.ktstr.json"):format(dir,
    (test.name:gsub("[^%w_.-]", "-")), variant, rep and ("-r%d"):format(rep.index) or "")
  -- written aside and renamed: an interrupt leaves the record whole or absent
  local tmp = ("%s.tmp-%d"):format(path, core.getpid())
  local ok, wrote, err = pcall(function()
    local f, oerr = io.open(tmp, "w")
    if not f then return nil, oerr end
    local w, werr = f:write(line, "\n")
    f:close()
    if not w then return nil, werr end
    return os.rename(tmp, path)
  end)
  if not ok or not wrote then os.remove(tmp) end
  if not ok then error(wrote, 0) end
  if not wrote then return line, nil, err end
  return line, path
end

return M
