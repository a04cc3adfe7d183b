-- watchdog: the order of writes against a model of sched_ext's watchdog (work, interval, scx_tick), both layouts.
local watchdog = require("ktstr.host.watchdog")

local HZ = 250
local ROOT, STATE, IV, TS, JIFFIES, GTMO = 0x100, 0x108, 0x110, 0x118, 0x120, 0x128
local TMO_OFF, ID_OFF = 904, 824
local SCX_ENABLED = 1

local config
setup(function()
  config = os.tmpname()
  local f = assert(io.open(config, "w"))
  f:write("CONFIG_SCHED_CLASS_EXT=y\nCONFIG_HZ=250\n")
  f:close()
end)
teardown(function() os.remove(config) end)

local function num(a) return type(a) == "string" and math.tointeger(tonumber(a:sub(3), 16)) or a end
local function hex(v) return ("0x%x"):format(v) end

--[[
The kernel's side, one jiffy at a time: scx_tick (in the tick, so before the
timer softirq of the same jiffy) fails once jiffies passes timestamp +
timeout; the work runs latency() jiffies after it is due, stores the
timestamp and requeues after the interval it reads then (before 7.1: half
the timeout). The memory is what the host reads and writes.
]]
local function model(opts)
  local m = { mem = {}, global = opts.global, latency = opts.latency or function() return 0 end }
  local mem = m.mem
  local kern = {}
  function kern.u64(_, a) return mem[num(a)] or 0 end
  function kern.u32(_, a) return mem[num(a)] or 0 end
  function kern.cas(_, a, size, old, new)
    assert(size == 8)
    a = num(a)
    if (mem[a] or 0) ~= old then return false, mem[a] or 0 end
    mem[a] = new
    m.writes = (m.writes or 0) + 1
    return true
  end
  m.kern = kern
  mem[JIFFIES] = 10000
  function m.tmo_at() return m.global and GTMO or mem[ROOT] + TMO_OFF end
  function m.tmo() return mem[m.tmo_at()] end
  function m.interval() return m.global and mem[GTMO] // 2 or mem[IV] end
  -- scx_root_enable_workfn: a new scx_sched, then refresh_watchdog()
  function m.enable(sch, id, own_ms)
    mem[ROOT], mem[sch + ID_OFF] = sch, id
    mem[m.tmo_at()] = (own_ms * HZ + 999) // 1000
    if not m.global then mem[IV] = math.max(mem[m.tmo_at()] // 2, 1) end
    mem[TS] = mem[JIFFIES]
    m.due = mem[JIFFIES] + m.interval()
    mem[STATE] = SCX_ENABLED
    m.failed = nil
  end
  function m.disable()
    mem[ROOT], mem[STATE], m.due = 0, 3, nil
  end
  function m.tick()
    local j = mem[JIFFIES] + 1
    mem[JIFFIES] = j
    if mem[ROOT] == 0 or m.failed then return end
    if j > mem[TS] + m.tmo() then
      m.failed = j - mem[TS]
      return
    end
    if m.due and not m.stalled and j >= m.due + (m.lat or 0) then
      mem[TS] = j
      m.due, m.lat = j + m.interval(), m.latency()
    end
  end
  return m
end

local function btf(global)
  local members = { ["scx_sched.id"] = ID_OFF }
  if not global then members["scx_sched.watchdog_timeout"] = TMO_OFF end
  return {
    member = function(_, s, f) return members[s .. "." .. f] end,
    enum_value = function(_, name) return name == "SCX_ENABLED" and SCX_ENABLED or nil end,
  }
end

local function syms(global)
  local s = { scx_root = hex(ROOT), scx_enable_state_var = hex(STATE),
    scx_watchdog_timestamp = hex(TS), jiffies = hex(JIFFIES) }
  if global then s.scx_watchdog_timeout = hex(GTMO) else s.scx_watchdog_interval = hex(IV) end
  return s
end

-- The host: a poll every 100 ms (25 jiffies), the guest stopped while it runs.
local function run(m, w, seconds)
  for _ = 1, seconds * HZ do
    m.tick()
    if m.mem[JIFFIES] % 25 == 0 then
      w:poll(m.mem[JIFFIES] / HZ, function(fn) return 0, fn() end)
    end
  end
end

local function setup_w(m, timeout_s)
  local l = assert(watchdog.layout(btf(m.global), syms(m.global), { config = config }))
  return watchdog.new(m.kern, l, timeout_s)
end

-- A model with scheduler 1 enabled at 0x10000 with its own timeout, and ktstr's watchdog for it.
local function enabled(own_ms, timeout_s, opts)
  local m = model(opts or {})
  local w = setup_w(m, timeout_s)
  m.enable(0x10000, 1, own_ms)
  return m, w
end

-- A worker that is late by up to just under the T/2 of slack the kernel gives a timeout T.
local function jitter(max)
  math.randomseed(7)
  return function() return math.random(0, max) end
end

describe("watchdog.layout", function()
  it("takes the per-scheduler timeout and the interval on 7.1 and later", function()
    local l = watchdog.layout(btf(false), syms(false), { config = config })
    assert.are.same({ HZ, TMO_OFF, hex(IV) }, { l.hz, l.tmo_off, l.iv })
  end)

  it("takes the global timeout before 7.1", function()
    local l = watchdog.layout(btf(true), syms(true), { config = config })
    assert.are.same({ hex(GTMO) }, { l.tmo, l.iv })
  end)

  it("says what is missing", function()
    local s = syms(false)
    s.jiffies = nil
    assert.are.same({ nil, "no jiffies symbol" },
      { watchdog.layout(btf(false), s, { config = config }) })
    assert.are.same({ nil, "no CONFIG_HZ in the kernel's config" },
      { watchdog.layout(btf(false), syms(false), {}) })
    -- a kernel whose scx_sched has no timeout of its own and no global one either
    assert.are.same({ nil, "struct scx_sched has no watchdog_timeout on this kernel, nor a " ..
      "scx_watchdog_timeout symbol" }, { watchdog.layout(btf(true), syms(false), { config = config }) })
  end)
end)

describe("watchdog: lowering a timeout", function()
  it("the model catches the naive write: 3 s at once under a pending 15 s check-in", function()
    local m = model({})
    m.enable(0x10000, 1, 30000)
    m.mem[m.tmo_at()], m.mem[IV] = 750, 62
    for _ = 1, 20 * HZ do m.tick() end
    assert.is_truthy(m.failed)
    assert.is_true(m.failed > 750 and m.failed <= 751)
  end)

  it("takes a 30 s scheduler to 3 s through 16.5 s, with no missed check-in", function()
    local m, w = enabled(30000, 3, { latency = jitter(374) })
    run(m, w, 40)
    assert.is_nil(m.failed)
    assert.are.same({ 750, 62 }, { m.tmo(), m.mem[IV] })
    local r = w:result().runs[1]
    assert.are.same({ 30000, 3000 }, { r.from_ms, r.to_ms })
    assert.are.same({ 16500, 248, 15000 }, { r.steps[1].tmo_ms, r.steps[1].iv_ms,
      r.steps[1].pending_ms })
    -- 3 s waits for the check-in the kernel had queued 15 s out
    assert.is_true(r.at_s - r.seen_s >= 14.8, tostring(r.at_s - r.seen_s))
    assert.are.same({ 3000, 3000, 248 }, { w:result().asked_ms, w:result().want_ms,
      w:result().check_ms })
  end)

  it("takes the fixture's 5 s to 3 s through 4 s", function()
    local m, w = enabled(5000, 3, { latency = jitter(374) })
    run(m, w, 10)
    assert.is_nil(m.failed)
    local r = w:result().runs[1]
    assert.are.same({ 5000, 3000, 4000 }, { r.from_ms, r.to_ms, r.steps[1].tmo_ms })
    assert.is_true(r.at_s - r.seen_s <= 2.6)
  end)

  it("never lets the check-in run out while a late work keeps the lag above the interval", function()
    -- every run 1.2 s late: lowering must follow the lag, not the interval
    local m = model({ latency = function() return 300 end })
    m.lat = 300
    local w = setup_w(m, 3)
    m.enable(0x10000, 1, 5000)
    run(m, w, 15)
    assert.is_nil(m.failed)
  end)

  it("gives a work that is already overdue when first seen T/2 from then", function()
    -- the host looks 3.6 s after enable; the first run comes 1.9 s late (the 5 s covers it)
    local m, w = enabled(5000, 3)
    m.lat = 475
    for _ = 1, 900 do m.tick() end
    run(m, w, 5)
    assert.is_nil(m.failed)
    assert.are.equal(750, m.tmo())
  end)

  it("gets a pre-7.1 global timeout from 30 s to 3 s, each write also the next interval", function()
    local m, w = enabled(30000, 3, { global = true, latency = jitter(374) })
    run(m, w, 90)
    assert.is_nil(m.failed)
    assert.are.equal(750, m.tmo())
    local steps = w:result().runs[1].steps
    assert.is_true(#steps > 2 and #steps < 20, tostring(#steps))
    for i = 2, #steps do assert.is_true(steps[i].tmo_ms < steps[i - 1].tmo_ms) end
  end)

  it("once 3 s is in, a stalled work fails the check-in 3 s after its last run", function()
    local m, w = enabled(5000, 3)
    run(m, w, 5)
    assert.are.equal(750, m.tmo())
    m.stalled = true
    run(m, w, 5)
    assert.are.equal(751, m.failed)
  end)
end)

describe("watchdog: other cases", function()
  it("raises a shorter timeout at once and lowers the interval", function()
    local m, w = enabled(2000, 3)
    run(m, w, 1)
    assert.are.same({ 750, 62 }, { m.tmo(), m.mem[IV] })
    assert.are.equal(1, #w:result().runs[1].steps)
  end)

  it("keeps an equal timeout and only shortens the interval", function()
    local m, w = enabled(3000, 3)
    run(m, w, 5)
    local r = w:result().runs[1]
    assert.are.same({ 750, 62, 3000 }, { m.tmo(), m.mem[IV], r.from_ms })
    assert.is_nil(r.to_ms)
    assert.matches("^watchdog: 3000ms kept %(ktstr: watchdog_timeout_s = 3s, checked every " ..
      "248ms%)$", watchdog.format(w:result())[1])
  end)

  it("caps a timeout above the kernel's 30 s", function()
    local m, w = enabled(5000, 60)
    run(m, w, 1)
    assert.are.equal(30 * HZ, m.tmo())
    assert.matches("watchdog_timeout_s = 60s, the kernel's most is 30s",
      watchdog.format(w:result())[1], 1, true)
  end)

  it("treats a restart at the same address as a new scheduler", function()
    local m, w = enabled(5000, 3)
    run(m, w, 4)
    m.disable()
    m.enable(0x10000, 2, 5000)
    run(m, w, 4)
    local runs = w:result().runs
    assert.are.equal(2, #runs)
    assert.are.same({ 5000, 3000, 5000, 3000 }, { runs[1].from_ms, runs[1].to_ms,
      runs[2].from_ms, runs[2].to_ms })
  end)

  it("leaves a scheduler that is not enabled alone", function()
    local m, w = enabled(30000, 3)
    m.mem[STATE] = 0 -- SCX_ENABLING
    run(m, w, 1)
    assert.are.same({ 7500, {} }, { m.tmo(), w:result().runs })
  end)

  it("records a refused write and writes nothing more", function()
    local m, w = enabled(30000, 3)
    m.kern.cas = function(_, a) return false, m.mem[num(a)] + 1 end
    run(m, w, 1)
    local r = w:result().runs[1]
    assert.are.same({ 7500, 3750 }, { m.tmo(), m.mem[IV] })
    assert.matches("^interval: found 3751, not 3750", r.error)
    assert.matches("; 3000ms not reached: interval: found 3751, not 3750",
      watchdog.format(w:result())[1], 1, true)
  end)
end)

describe("watchdog.format", function()
  it("shows the way down and when the test's timeout took over", function()
    assert.are.same({ "watchdog: 30000ms -> 3000ms at +15.3s via 16500ms (ktstr: " ..
      "watchdog_timeout_s = 3s, checked every 248ms)" }, watchdog.format({
      asked_ms = 3000, want_ms = 3000, check_ms = 248, runs = { { from_ms = 30000,
        to_ms = 3000, at_s = 15.3, steps = { { tmo_ms = 16500, pending_ms = 15000 },
          { tmo_ms = 3000, pending_ms = 248 } } } } }))
  end)

  it("says when the test's timeout was not reached", function()
    assert.are.same({ "watchdog: 30000ms -> 16500ms at +0.9s (ktstr: watchdog_timeout_s = " ..
      "3s, checked every 248ms); 3000ms not reached: the check the kernel had queued " ..
      "15000ms out did not run while the scheduler was up" }, watchdog.format({
      asked_ms = 3000, want_ms = 3000, check_ms = 248, runs = { { from_ms = 30000,
        to_ms = 16500, at_s = 0.9, steps = { { tmo_ms = 16500, pending_ms = 15000 } } } } }))
  end)

  it("says why it is off", function()
    assert.are.same({ "watchdog: not set by ktstr: no jiffies symbol" },
      watchdog.format({ off = "no jiffies symbol" }))
  end)
end)
