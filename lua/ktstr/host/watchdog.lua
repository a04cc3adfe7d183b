-- ktstr.host.watchdog: the test's sched_ext watchdog timeout, set in the guest kernel by the host.
--[[
Why and how. A test's watchdog_timeout_s reached the kernel only through a
scheduler's own option (watchdog_arg); one declared without it kept its own
timeout, 30 s for most. So the host sets the kernel's variables itself,
through k:cas on guest RAM, with the guest paused for each write.

The kernel (7.3, kernel/sched/ext/ext.c): sch->watchdog_timeout (jiffies) is
set at enable; one delayed work for all schedulers, scx_watchdog_workfn,
stores jiffies in scx_watchdog_timestamp, fails any task runnable for longer
than the timeout, then requeues itself after scx_watchdog_interval, read at
that moment. refresh_watchdog() (enable, disable) sets the interval to half
the shortest timeout and the timestamp to jiffies. scx_tick() fails the root
scheduler ("watchdog failed to check in") once jiffies passes timestamp +
root->watchdog_timeout. Kernels before 7.1 keep one global
scx_watchdog_timeout and requeue after half of it: there the interval is
the timeout, halved.

The danger: the work already queued fires after the interval it was queued
with. Lower a 30 s timeout to 3 s at once and that work still comes 15 s
after the last check-in: scx_tick kicks out a healthy scheduler at 3 s. So:

- The interval may be lowered at any time (the work only checks in more
  often). It becomes CHECK_S (or T/2 for a timeout T under 2*CHECK_S): the
  kernel checks every T/2, ktstr every 250 ms, so a stall is caught
  between T and T + 250 ms instead of T and 1.5 T.
- A timeout may be raised at any time.
- A timeout is lowered to x only if x >= max(P, L) + T/2, where P bounds
  the delay the pending work was queued with and L = jiffies - timestamp
  (the work may be late): the check-in keeps at least the T/2 of slack the
  kernel itself leaves a scheduler whose timeout is T.
- P: the interval in memory, or, until the work has run since our last
  write of it, the larger of that and the interval before. "Has run" is a
  new timestamp against one read after the write (in the same pause): the
  work stores the timestamp before it reads the interval, with rq locks
  (full barriers) between, so a run whose timestamp we see as new requeues
  with our value. refresh_watchdog() also writes a new timestamp, and
  re-arms the work with the interval it writes, which is then in memory.

From a 30 s scheduler to T = 3 s (HZ 250, 7.3 layout): at the first sample
after enable the interval goes to 250 ms and the timeout to 16.5 s (the
pending 15 s plus 1.5 s); once the work has run (up to 15 s after enable),
the timeout goes to 3 s. From the fixture's 5 s to 3 s: 250 ms and 4 s at
once, 3 s within 2.5 s. The old layout gets there in more steps (each write
of the timeout is also the next interval). Each decision is made again
with the guest paused and every value read again, and each write is a
compare-and-swap against what was just read, so a scheduler that went away
meanwhile (scx_root changed, state not enabled) is not written to.
]]
local kernel = require("ktstr.host.kernel")

local M = {}

M.CHECK_S = 0.25          -- the interval ktstr sets: a stall is caught within T + 250 ms
M.MAX_TIMEOUT_S = 30      -- SCX_WATCHDOG_MAX_TIMEOUT: the most a scheduler may ask for
local MAX_STEPS = 64      -- writes per scheduler: more means someone keeps undoing them

local function ms(jiffies, hz) return math.floor(jiffies * 1000 / hz + 0.5) end

--[[
Where the variables are for this kernel: layout(btf, syms, kern) -> layout
| nil, why. kern is the resolved kernel (its config gives HZ).
]]
function M.layout(btf, syms, kern)
  local hz = math.tointeger(tonumber(kernel.config_value(kern, "CONFIG_HZ") or ""))
  if not hz or hz <= 0 then return nil, "no CONFIG_HZ in the kernel's config" end
  for _, name in ipairs({ "scx_root", "scx_watchdog_timestamp", "jiffies",
      "scx_enable_state_var" }) do
    if not syms[name] then return nil, "no " .. name .. " symbol" end
  end
  local l = { hz = hz, root = syms.scx_root, ts = syms.scx_watchdog_timestamp,
    jiffies = syms.jiffies, state = syms.scx_enable_state_var,
    -- each scx_sched's own number (7.3): a restart at the same address is a new scheduler
    id_off = btf:member("scx_sched", "id"), enabled = btf:enum_value("SCX_ENABLED") or 1 }
  local off = btf:member("scx_sched", "watchdog_timeout")
  if off then
    if not syms.scx_watchdog_interval then return nil, "no scx_watchdog_interval symbol" end
    l.tmo_off, l.iv = off, syms.scx_watchdog_interval
  elseif syms.scx_watchdog_timeout then
    l.tmo = syms.scx_watchdog_timeout  -- before 7.1: one global, the interval its half
  else
    return nil, "struct scx_sched has no watchdog_timeout on this kernel, nor a " ..
      "scx_watchdog_timeout symbol"
  end
  return l
end

local W = {}
W.__index = W

--[[
new(kern, layout, timeout_s) -> w: kern is core.kernel_open's (opened on a
writable guestmem). w:poll(t, paused) after each monitor sample.
]]
function M.new(kern, layout, timeout_s)
  local hz = layout.hz
  local asked_ms = math.floor(timeout_s * 1000 + 0.5)
  -- msecs_to_jiffies rounds up
  local tmo = math.max(1, (math.min(asked_ms, M.MAX_TIMEOUT_S * 1000) * hz + 999) // 1000)
  local self = setmetatable({ k = kern, l = layout, want = tmo,
    want_iv = math.max(1, math.min(tmo // 2, math.floor(M.CHECK_S * hz))),
    runs = {} }, W)
  self.info = { want_ms = ms(tmo, hz), asked_ms = asked_ms, check_ms = ms(self.want_iv, hz) }
  return self
end

local function addr(v) return ("0x%x"):format(v) end

-- The kernel's values now: nil when no scheduler is enabled, nil, err on a fault.
function W:read()
  local k, l = self.k, self.l
  local root, err = k:u64(l.root)
  if not root then return nil, err end
  if root == 0 then return nil end
  local s = { root = root }
  s.state, err = k:u32(l.state)
  if not s.state then return nil, err end
  if s.state ~= l.enabled then return nil end
  s.id = l.id_off and k:u64(addr(root + l.id_off)) or 0
  s.tmo_at = l.tmo or addr(root + l.tmo_off)
  s.tmo, err = k:u64(s.tmo_at)
  if not s.tmo then return nil, err end
  if l.iv then
    s.iv, err = k:u64(l.iv)
    if not s.iv then return nil, err end
  else
    s.iv = s.tmo // 2
  end
  s.ts, err = k:u64(l.ts)
  if not s.ts then return nil, err end
  s.jiffies, err = k:u64(l.jiffies)
  if not s.jiffies then return nil, err end
  s.key = ("%x/%d"):format(root, s.id)

  -- a torn or foreign state (an interval of ULONG_MAX while disabling): not ours to touch
  if s.tmo <= 0 or s.iv <= 0 or s.tmo > 3600 * l.hz then return nil end
  return s
end

--[[
What to write given s: { iv = new interval } and/or { tmo = new timeout },
or nil when nothing should change now. p is the bound on the pending
work's delay (see the comment at the top).
]]
function W:plan(s)
  local p = s.iv
  if self.pend and self.pend.key == s.key and self.pend.ts == s.ts then
    p = math.max(p, self.pend.p)
  end
  local w = {}
  if self.l.iv and s.iv > self.want_iv then w.iv = self.want_iv end
  local T = self.want
  if T > s.tmo then
    w.tmo = T
  elseif T < s.tmo then
    local lag = math.max(0, s.jiffies - s.ts)
    local x = math.max(T, math.max(p, lag) + T // 2)
    if x < s.tmo then w.tmo = x end
  end
  if next(w) then return w, p end
end

-- The record of the scheduler run s belongs to, made at its first sight.
function W:run_of(s, t)
  local r = self.runs[#self.runs]
  if r and r.key == s.key then return r end
  r = { key = s.key, from_ms = ms(s.tmo, self.l.hz), seen_s = t, steps = {} }
  self.runs[#self.runs + 1] = r
  return r
end

--[[
The writes of plan w, each a CAS against what s read; p bounds the pending
work's delay. Once the interval (or, before 7.1, the timeout) has changed,
the work is pending with at most p until a run after this write: kept in
self.pend even when the next CAS is refused. Returns false, why on a refusal.
]]
function W:write(s, w, p)
  local function cas(at, old, new, what)
    local ok, found = self.k:cas(at, 8, old, new)
    if ok then return true end
    if ok == false then return false, ("%s: found %d, not %d"):format(what, found, old) end
    return false, what .. ": " .. tostring(found)  -- a fault: nil, message
  end
  if w.iv then
    local ok, err = cas(self.l.iv, s.iv, w.iv, "interval")
    if not ok then return false, err end
    self.pend = { key = s.key, ts = s.ts, p = p }
  end
  if w.tmo then
    local ok, err = cas(s.tmo_at, s.tmo, w.tmo, "timeout")
    if not ok then return false, err end
    if not self.l.iv then self.pend = { key = s.key, ts = s.ts, p = p } end
  end
  return true
end

--[[
One step: reads the kernel's values; if something should change, pauses the
guest through paused(fn) (the observer's: runs fn with the vCPUs stopped),
reads again, decides again and writes. t: seconds on the observer's clock.
]]
function W:poll(t, paused)
  local s = self:read()
  if not s then return end
  local r = self:run_of(s, t)
  if r.given_up or not self:plan(s) then return end
  local ok, err = paused(function()
    local now = self:read()
    -- the scheduler went away, or another took its place, since the read above
    if not now or now.key ~= s.key then return end
    local w, p = self:plan(now)
    if not w then return end
    local wok, werr = self:write(now, w, p)
    if not wok then
      r.refused = (r.refused or 0) + 1
      r.error = werr
      return
    end
    local hz = self.l.hz
    r.steps[#r.steps + 1] = { t = t, tmo_ms = w.tmo and ms(w.tmo, hz),
      iv_ms = w.iv and ms(w.iv, hz), pending_ms = ms(p, hz) }
    if w.tmo then r.to_ms, r.at_s = ms(w.tmo, hz), t end
  end)
  if ok == nil and err then r.error = err end
  if #r.steps >= MAX_STEPS or (r.refused or 0) >= MAX_STEPS then
    r.given_up = true
    r.error = (r.error or "") .. " (gave up after " .. MAX_STEPS .. " tries)"
  end
end

--[[
What result.monitor.watchdog records: asked_ms (the test's), want_ms (that,
at most the kernel's 30 s), check_ms (the interval ktstr sets) and per
scheduler run the timeout found (from_ms) when first seen (seen_s), the last
one written (to_ms) and when (at_s), each write (steps) and any error.
]]
function W:result()
  local runs = {}
  for i, r in ipairs(self.runs) do
    runs[i] = { from_ms = r.from_ms, seen_s = r.seen_s, to_ms = r.to_ms, at_s = r.at_s,
      steps = r.steps, error = r.error }
  end
  return { asked_ms = self.info.asked_ms, want_ms = self.info.want_ms,
    check_ms = self.info.check_ms, runs = runs }
end

--[[
The report's line for each scheduler run, e.g. "watchdog: 30000ms -> 3000ms
at +15.3s via 16500ms (ktstr: watchdog_timeout_s = 3s, checked every 248ms)".
]]
function M.format(info)
  local out = {}
  if not info then return out end
  if info.off then return { "watchdog: not set by ktstr: " .. info.off } end
  for _, r in ipairs(info.runs or {}) do
    local line
    if r.to_ms then
      local via = {}
      for _, st in ipairs(r.steps) do
        if st.tmo_ms and st.tmo_ms ~= r.to_ms then via[#via + 1] = ("%dms"):format(st.tmo_ms) end
      end
      line = ("watchdog: %dms -> %dms at +%.1fs"):format(r.from_ms, r.to_ms, r.at_s)
      if #via > 0 then line = line .. " via " .. table.concat(via, ", ") end
    else
      line = ("watchdog: %dms kept"):format(r.from_ms)
    end
    line = line .. (" (ktstr: watchdog_timeout_s = %gs%s, checked every %dms)"):format(
      info.asked_ms / 1000, info.want_ms ~= info.asked_ms and
        (", the kernel's most is %ds"):format(M.MAX_TIMEOUT_S) or "", info.check_ms)
    if (r.to_ms or r.from_ms) ~= info.want_ms then
      local first = r.steps[1]
      line = line .. ("; %dms not reached: "):format(info.want_ms) .. (r.error or
        first and ("the check the kernel had queued %dms out did not run while the " ..
          "scheduler was up"):format(first.pending_ms) or "nothing written")
    elseif r.error then
      line = line .. "; " .. r.error
    end
    out[#out + 1] = line
  end
  return out
end

return M
