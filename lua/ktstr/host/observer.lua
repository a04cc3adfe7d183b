-- The host side of a running guest: monitor samples every 100 ms, snapshots, watchdog, agent calls.
local core = require("ktstr.core")
local guestkernel = require("ktstr.host.kmem")

local M = {}

M.PERIOD_S = 0.1
M.MAX_SAMPLES = 36000     -- an hour at 10 Hz; older samples are dropped
M.MAX_PERIODIC = 64
M.MAX_ENTRIES = 4096      -- per map in a snapshot
local SCX_EXIT_ERROR = 1024

local Obs = {}
Obs.__index = Obs

--[[
Starts watching booted guest h. opts: num_snapshots (periodic captures over
the workload), monitor (false turns sampling off), watchdog_s (the sched_ext
watchdog timeout to set in the kernel for each scheduler enabled, see
ktstr.host.watchdog). The monitor is off, with a reason in obs.off, when guest
memory cannot be read.
]]
function M.start(h, opts)
  opts = opts or {}
  local self = setmetatable({ h = h, samples = {}, phases = {}, snapshots = {},
    pauses_ms = {}, t0 = core.now(), num_snapshots = opts.num_snapshots or 0 }, Obs)
  if opts.monitor ~= false then
    if not h.ksyms then
      self.off = "no kernel symbols from the guest"
    else
      self.gk, self.off = guestkernel.open(h, h.kernel.btf, h.ksyms,
        { writable = opts.watchdog_s and true or false })
    end
  end
  if opts.watchdog_s then self:watch_timeout(opts.watchdog_s) end
  self.next_sample = 0  -- seconds since start, like every time kept here
  self.cpu0 = core.cputime()
  self:phase("setup")  -- until the first step: scheduler start, cgroups
  return self
end

function Obs:now() return core.now() - self.t0 end

-- The watchdog timeout to keep setting; without a readable kernel it is recorded as off.
function Obs:watch_timeout(timeout_s)
  local watchdog = require("ktstr.host.watchdog")
  local layout, why
  if self.gk then
    layout, why = watchdog.layout(self.gk.btf, self.gk.syms, self.h.kernel)
  end
  if layout then
    self.watchdog = watchdog.new(self.gk.kern, layout, timeout_s)
  else
    -- the monitor's reason (a kernel lacking a field) is the watchdog's too
    self.watchdog_off = why or ("monitor off: " .. tostring(self.off))
  end
end

--[[
Runs fn with every vCPU stopped and the guest resumed after, even when fn
raises. Returns the pause in seconds and fn's results, or nil, message when
the guest could not be paused or resumed.
]]
function Obs:paused(fn)
  local h, t_stop = self.h, core.now()
  local ok, err = h:qmp({ execute = "stop" })
  if not ok then return nil, "pausing the guest: " .. tostring(err) end
  local r = table.pack(pcall(fn))
  -- a guest left stopped would hang the test until its timeout: insist
  local cok, cerr = h:qmp({ execute = "cont" })
  for _ = 1, 3 do
    if cok then break end
    cok, cerr = h:qmp({ execute = "cont" }, 10)
  end
  local pause = core.now() - t_stop
  if not cok then return nil, "resuming the guest: " .. tostring(cerr) end
  self.pauses_ms[#self.pauses_ms + 1] = pause * 1000
  if not r[1] then error(r[2], 0) end
  return pause, table.unpack(r, 2, r.n)
end

function Obs:phase(label)
  self.phases[#self.phases + 1] = { label = label, t = self:now() }
  self.label = label
end

function Obs:take_sample()
  local c0 = core.cputime()
  local s, err = self.gk:sample()
  self.sample_cpu_s = (self.sample_cpu_s or 0) + core.cputime() - c0
  if not s then
    self.sample_error = err
    return
  end
  s.t, s.phase = self:now(), self.label
  -- program run counts once a second: they are cumulative, the last read is the total
  if #self.samples % 10 == 0 then self:read_progs() end
  local list = self.samples
  list[#list + 1] = s
  if #list > M.MAX_SAMPLES then table.remove(list, 1) end
  -- the scheduler's maps go away soon after it exits: dump them now
  if math.max(s.exit_kind, s.exit_info_kind) >= SCX_EXIT_ERROR and
      not self.snapshots.failure_dump then
    self:capture("failure_dump", "the monitor saw the error exit")
  end
  if self.watchdog then
    self.watchdog:poll(s.t, function(fn) return self:paused(fn) end)
  end
end

-- Keeps the newest counts of every program seen, so those of a scheduler
-- that has since exited still count.
function Obs:read_progs()
  local progs = self.gk:progs()
  self.progs = self.progs or {}
  for _, p in ipairs(progs or {}) do self.progs[p.id] = p end
end

local function render(b, id, bytes)
  if not b or not id or id == 0 then return bytes end
  local ok, v = pcall(require("ktstr.host.btfrender").render, b, id, bytes, 0)
  return ok and v or { error = tostring(v) }
end

local function render_values(m, b, values)
  local info, entries = m.info, {}
  for i, v in ipairs(values) do
    if i > M.MAX_ENTRIES then break end
    local e = {}
    if type(v) == "table" and v.key then
      e.key, v = render(b, info.btf_key_type_id, v.key), v.value
    else
      e.key = i - 1
    end
    if type(v) == "table" then
      local per = {}
      for c, bytes in ipairs(v) do per[c] = render(b, info.btf_value_type_id, bytes) end
      e.value = per
    else
      e.value = render(b, info.btf_value_type_id, v)
    end
    entries[#entries + 1] = e
  end
  return entries
end

-- Turns copied bytes into Lua values through each map's own BTF.
local function render_maps(raw)
  local maps, btfs = {}, {}
  for _, m in ipairs(raw) do
    local info = m.info
    local out = { name = info.name, type = info.type, key_size = info.key_size,
      value_size = info.value_size, max_entries = info.max_entries, error = m.error }
    if m.values then
      local b = m.blob and (btfs[m.blob] or core.btf_new(m.blob))
      if b then btfs[m.blob] = b end
      out.entries = render_values(m, b, m.values)
    end
    maps[#maps + 1] = out
  end
  return maps
end

--[[
Pauses every vCPU, copies the BPF maps and a monitor sample, resumes, then
renders. Returns the snapshot or nil, message. Reusing a name replaces it.
]]
function Obs:capture(name, why)
  if not self.gk then return nil, "cannot read guest memory: " .. tostring(self.off) end
  local t = self:now()
  local pause, raw, rerr, sample = self:paused(function()
    local maps, merr = self.gk:read_maps()
    return maps, merr, self.gk:sample()
  end)
  if not pause then return nil, raw end
  if not raw then return nil, "reading BPF maps: " .. tostring(rerr) end
  self.gk:load_btfs(raw)
  local snap = { name = name, why = why, t = t, phase = self.label, pause_ms = pause * 1000,
    maps = render_maps(raw), cpus = sample and sample.cpus }
  self.snapshots[name] = snap
  return snap
end

-- Periodic captures: boundary i of n at 0.1d + (i+1)*0.8d/(n+1) into the workload.
function Obs:workload(duration_s)
  local n = math.min(self.num_snapshots, M.MAX_PERIODIC)
  if n <= 0 or self.periodic then return end
  local start = self:now()
  self.periodic = {}
  for i = 0, n - 1 do
    self.periodic[#self.periodic + 1] = { name = ("periodic_%03d"):format(i),
      at = start + 0.1 * duration_s + (i + 1) * 0.8 * duration_s / (n + 1) }
  end
  self.periodic_target = n
  self.periodic_fired = 0
end

function Obs:due_periodic(now)
  local p = self.periodic and self.periodic[1]
  if p and now >= p.at then
    table.remove(self.periodic, 1)
    if self:capture(p.name) then self.periodic_fired = self.periodic_fired + 1 end
  end
end

-- A message the observer answers itself; true if it was one.
function Obs:handle(msg)
  -- declared (a number) on phase and workload only: elsewhere it is not ours to read
  if msg.t == "phase" or msg.t == "workload" then
    -- the guest's CLOCK_MONOTONIC on our clock, to place its events among our samples
    self.guest_offset = self:now() - msg.guest_now
  end
  if msg.t == "phase" then
    self:phase(msg.label)
  elseif msg.t == "workload" then
    self:workload(msg.duration_s or 0)
  elseif msg.t == "snapshot" then
    -- a failure dump the monitor already took is the earlier, better one
    local snap, err = msg.name == "failure_dump" and self.snapshots.failure_dump
    if not snap then snap, err = self:capture(msg.name, msg.why) end
    self.h:send({ t = "snapshot_done", call = msg.call, error = not snap and err or nil })
  else
    return false
  end
  return true
end

--[[
The next message from the agent that is not the observer's own business,
sampling and capturing meanwhile. Returns msg, or nil and a failure as
Vm:recv does (kind "timeout" after timeout seconds).
]]
function Obs:recv(timeout)
  local deadline = core.now() + timeout
  while true do
    local now = core.now()
    if self.gk and now >= self.next_sample + self.t0 then
      self:take_sample()
      -- behind schedule (a long snapshot, a stalled host): skip, do not burst
      if self:now() > self.next_sample + 3 * M.PERIOD_S then self.late = (self.late or 0) + 1 end
      self.next_sample = math.max(self.next_sample + M.PERIOD_S, self:now())
    end
    self:due_periodic(self:now())
    local wake = math.min(deadline, self.gk and self.next_sample + self.t0 or deadline)
    local p = self.periodic and self.periodic[1]
    if p then wake = math.min(wake, p.at + self.t0) end
    local msg, err = self.h:recv(math.max(0.001, wake - core.now()), true)
    if msg then
      if not self:handle(msg) then return msg end
    elseif err.kind ~= "timeout" then
      return nil, err
    elseif core.now() >= deadline then
      return nil, self.h:failure("timeout", ("no answer from the guest within %gs"):format(timeout))
    end
  end
end

-- The programs that ran, busiest first.
function Obs:prog_list()
  local out = {}
  for _, p in pairs(self.progs or {}) do
    if p.cnt > 0 then out[#out + 1] = p end
  end
  table.sort(out, function(a, b) return a.nsecs > b.nsecs end)
  return out
end

-- What the checks and the report get: samples, phases, snapshots, pause times.
function Obs:result()
  return { samples = self.samples, phases = self.phases, off = self.off,
    sample_error = self.sample_error, snapshots = self.snapshots,
    progs = self:prog_list(),
    watchdog = self.watchdog and self.watchdog:result() or
      self.watchdog_off and { off = self.watchdog_off },
    guest_offset = self.guest_offset, late = self.late, sample_cpu_s = self.sample_cpu_s,
    loop_cpu_s = core.cputime() - self.cpu0, wall_s = self:now(), pauses_ms = self.pauses_ms,
    periodic_target = self.periodic_target, periodic_fired = self.periodic_fired }
end

return M
