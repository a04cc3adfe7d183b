-- The scheduler under test, in the guest: start, wait until enabled, watch, stop, explain.
local core = require("ktstr.core")

local M = {}

local SX = "/sys/kernel/sched_ext"
local SIGINT, SIGKILL = 2, 9
local SIGNALS = { [4] = "SIGILL", [6] = "SIGABRT", [7] = "SIGBUS", [8] = "SIGFPE",
  [9] = "SIGKILL", [11] = "SIGSEGV", [15] = "SIGTERM" }

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return (s:gsub("%s+$", ""))
end

function M.state() return read(SX .. "/state") end
function M.ops() return read(SX .. "/root/ops") end
-- Bumped by the kernel at every enable: tells our scheduler's enable from any earlier one.
function M.enable_seq() return tonumber(read(SX .. "/enable_seq") or "") end

local function tail(s, n)
  local lines = {}
  for l in (s or ""):gmatch("[^\n]+") do lines[#lines + 1] = l end
  return table.concat(lines, "\n", math.max(1, #lines - n + 1))
end

-- The kernel's own words about sched_ext since boot (enable, disable, reason, message).
function M.kernel_log()
  local p = io.popen("dmesg 2>/dev/null")
  local out = {}
  local keep = 0
  for l in p:lines() do
    if l:find("sched_ext", 1, true) then
      keep = 8  -- the reason's message and backtrace follow the header line
    end
    if keep > 0 then
      out[#out + 1] = l
      keep = keep - 1
    end
  end
  p:close()
  return table.concat(out, "\n")
end

function M.describe_exit(st)
  if not st then return "still running" end
  if st.code then return ("exited with status %d"):format(st.code) end
  return ("killed by %s"):format(SIGNALS[st.signal] or ("signal " .. tostring(st.signal)))
end

local Sched = {}
Sched.__index = Sched

local seq = 0

-- The BPF maps that exist now, as a set of ids.
local function map_ids()
  local set = {}
  for _, id in ipairs(core.bpf_map_ids() or {}) do set[id] = true end
  return set
end

-- The ops name a scheduler enabled under differs from the one it declared.
local function ops_mismatch(plan, ops)
  return { kind = "ops_mismatch", bad_input = true,
    msg = ("%s: scheduler '%s' declares ops_name '%s', but the kernel enabled it as '%s' " ..
      "(/sys/kernel/sched_ext/root/ops); drop ops_name or set it to '%s'")
      :format(plan.source or "?", plan.name, plan.ops_name, ops, ops) }
end

--[[
Starts plan = { name, ops_name?, argv } and waits (bounded) until the kernel
enables it: state "enabled" with an enable_seq past the one before the
spawn, so it is this process's enable, whatever its ops are called. The ops
name the kernel shows is recorded (self.ops); a declared ops_name that
differs is a failure naming both. Returns the handle, or nil and a failure
{ kind = "load_failed" | "enable_timeout" | "ops_mismatch", msg, log }.
sleep: how to wait between looks (core.sleep unless given).
]]
function M.start(plan, timeout, sleep)
  seq = seq + 1
  local log = ("/tmp/sched-%d.log"):format(seq)
  local before = map_ids()
  local seq0 = M.enable_seq() or 0
  local t0 = core.now()
  local p, err = core.spawn(plan.argv, { output = log })
  if not p then return nil, { kind = "load_failed", msg = err } end
  local self = setmetatable({ plan = plan, p = p, log = log, t0 = t0 }, Sched)
  timeout = timeout or plan.enable_timeout_s or 15
  local deadline = t0 + timeout
  while core.now() < deadline do
    if M.state() == "enabled" and (M.enable_seq() or 0) > seq0 then
      self.enabled_after_s = core.now() - t0
      self.ops = M.ops()
      if plan.ops_name and self.ops and self.ops ~= plan.ops_name then
        local f = ops_mismatch(plan, self.ops)
        self:stop()
        f.log = self:log_tail(40)
        return nil, f
      end
      self:hold_maps(before)
      return self
    end
    local st = p:wait(0)
    if st then
      self.exit = st
      p:close()
      -- the verifier's words can be hundreds of lines above the tail
      return nil, { kind = "load_failed", log = self:log_tail(40),
        load_log = self:log_end(M.LOAD_LOG_MAX),
        msg = ("%s before it was enabled"):format(M.describe_exit(st)) }
    end
    (sleep or core.sleep)(0.02)
  end
  -- what the kernel said while it still ran, not after we stopped it
  local state = M.state() or "?"
  self:stop()
  return nil, { kind = "enable_timeout", log = self:log_tail(40),
    msg = ("still running but not enabled after %gs (sched_ext state: %s)"):format(timeout, state) }
end

-- The most maps held open (the guest's RLIMIT_NOFILE is 1024).
local MAX_HELD = 256

--[[
Holds the scheduler's maps (those that appeared since `before`) open: when
it dies they would go with its last fd, before the host could dump them.
Released when the run is over (release_maps).
]]
function Sched:hold_maps(before)
  self.held = {}
  local ids = {}
  for id in pairs(map_ids()) do
    if not before[id] then ids[#ids + 1] = id end
  end
  -- the loader's own maps have the lowest ids; the ones it makes at run time
  -- (scx_pair's 4096 inner queues) would take every fd the guest has
  table.sort(ids)
  for i = 1, math.min(#ids, MAX_HELD) do
    local fd = core.bpf_map_hold(ids[i])
    if fd then self.held[#self.held + 1] = fd end
  end
end

function Sched:holds_maps() return self.held and #self.held > 0 end

function Sched:release_maps()
  for _, fd in ipairs(self.held or {}) do core.bpf_map_release(fd) end
  self.held = nil
end

function Sched:log_tail(n)
  return tail(read(self.log), n or 40)
end

-- The last max bytes of the log (a verifier trace can run to megabytes;
-- its verdict and the program's name are at the end).
M.LOAD_LOG_MAX = 128 * 1024

function Sched:log_end(max)
  local f = io.open(self.log, "rb")
  if not f then return nil end
  local size = f:seek("end")
  f:seek("set", math.max(0, size - max))
  local s = f:read("a")
  f:close()
  return s
end

-- nil while healthy; else a failure: the process ended, or the kernel disabled it.
function Sched:check()
  if self.exit then return self.failure end
  local st = self.p:wait(0)
  local state = M.state()
  if not st and state == "enabled" then return nil end
  local since = core.now() - self.t0
  if st then self.exit = st end
  -- the kernel's verdict comes first: an exit often follows its kick
  if state ~= "enabled" then
    self.failure = { kind = "disabled", at_s = since,
      msg = ("disabled by the kernel after %.1fs; the scheduler %s"):format(since,
        st and M.describe_exit(st) or "was still running") }
  else
    self.failure = { kind = "exited", at_s = since,
      msg = ("%s after %.1fs while still enabled"):format(M.describe_exit(st), since) }
  end
  return self.failure
end

-- SIGINT, then SIGKILL after a grace period; records how it exited.
function Sched:stop()
  if self.failure and not self.exit then
    -- kicked out: let the loader notice and print the kernel's exit info itself
    self.exit = self.p:wait(1)
  end
  if not self.exit then
    self.p:kill(SIGINT)
    self.exit = self.p:wait(5)
    if not self.exit then
      self.p:kill(SIGKILL)
      self.exit = self.p:wait(5)
      self.killed = true
    end
  end
  self.p:close()
  self:release_maps()
  return self.exit
end

-- What the host judges: how it ran and ended, with the evidence.
function Sched:report()
  return { name = self.plan.name, ops = self.ops, enabled_after_s = self.enabled_after_s,
    failure = self.failure, exit = self.exit, killed_at_stop = self.killed,
    log = self:log_tail(40), kernel = M.kernel_log() }
end

return M
