-- Detection bench: how often each injected bug is caught, and how often clean schedulers fail.
--
-- Every knob of the fixture scheduler (stall, crash, starve, unfair,
-- degrade) runs under two workload shapes that no spec uses, N times; the
-- clean fixture, EEVDF and the kernel's own tools/sched_ext schedulers
-- (make scx) run under the same shapes N times. A bug run counts as caught
-- when its verdict is FAIL; a clean run that is not PASS counts as a false
-- failure (INCONCLUSIVE is counted apart: the host, not the scheduler).
--   N=3 build/ktstr lua bench/zoo.lua       ZOO_ONLY=starve to run one row
local core = require("ktstr.core")
local cjson = require("cjson")

local N = tonumber(os.getenv("N") or "3")
local ONLY = os.getenv("ZOO_ONLY")

-- Both shapes have two CPU-bound cgroups the knobs name (favored, victim)
-- beside work that sleeps or yields by design, all sharing the four CPUs,
-- with more runnable work than CPUs so a scheduler's choices show.
local SHAPES = {
  wakeful = [[
    ktstr.cgroup("favored"):workers(3):work(ktstr.work.spin_wait()),
    ktstr.cgroup("victim"):workers(3):work(ktstr.work.spin_wait()),
    ktstr.cgroup("sleepers"):workers(3):work(ktstr.work.sequence(ktstr.phase.spin("30ms"),
      ktstr.phase.sleep("5ms"))),]],
  churny = [[
    ktstr.cgroup("favored"):workers(2):work(ktstr.work.cache_pressure{ size_kib = 256 }),
    ktstr.cgroup("victim"):workers(2):work(ktstr.work.alu_hot()),
    ktstr.cgroup("yielders"):workers(2):work(ktstr.work.yield_heavy()),
    ktstr.cgroup("pairs"):workers(2):work(ktstr.work.futex_ping_pong()),]],
}

-- name -> fixture args and test keys; the starve knob holds the victim a
-- fifth of the watchdog (4 s of 20 s), past not_starved's 3 s gap gate.
local BUGS = {
  stall = { args = '"--stall-after", "1"', keys = "duration_s = 8, watchdog_timeout_s = 3" },
  crash = { args = '"--crash-after", "1"', keys = "duration_s = 5" },
  starve = { args = '"--starve", "victim"', keys = "duration_s = 14, watchdog_timeout_s = 20" },
  unfair = { args = '"--unfair", "favored"', keys = "duration_s = 6" },
  degrade = { args = '"--degrade", "0.8", "--degrade-period-ms", "5000"',
    keys = "duration_s = 8, watchdog_timeout_s = 20" },
}

-- Clean schedulers: the fixture, EEVDF (nil) and the kernel's examples as users declare them.
local CLEAN = {
  fixture = 'ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched" }',
  eevdf = "nil",
  scx_simple = 'ktstr.scheduler{ name = "scx_simple", binary = "scx_simple" }',
  scx_central = 'ktstr.scheduler{ name = "scx_central", binary = "scx_central" }',
  scx_flatcg = 'ktstr.scheduler{ name = "scx_flatcg", binary = "scx_flatcg" }',
  scx_cpu0 = 'ktstr.scheduler{ name = "scx_cpu0", binary = "scx_cpu0" }',
  scx_pair = 'ktstr.scheduler{ name = "scx_pair", binary = "scx_pair", enable_timeout_s = 60 }',
  scx_sdt = 'ktstr.scheduler{ name = "scx_sdt", binary = "scx_sdt" }',
  scx_userland = 'ktstr.scheduler{ name = "scx_userland", binary = "scx_userland" }',
}

-- The checks every row runs: what a scheduler developer would turn on.
local CHECKS = "not_starved = true, max_cgroup_spread_pct = 25"

local function sorted(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local function script()
  local out = { 'local ktstr = require("ktstr")',
    'local function fixture(...) return ktstr.scheduler{ name = "ktstr_sched", ' ..
      'binary = "ktstr-sched", watchdog_arg = "--watchdog-ms", args = { ... } } end' }
  local rows = {}
  local function test(name, sched, keys, shape)
    if ONLY and not name:find(ONLY, 1, true) then return end
    rows[#rows + 1] = name
    out[#out + 1] = ("ktstr.test{ name = %q, scheduler = %s, llcs = 2, cores = 2, %s, %s, " ..
      "defs = {\n%s\n} }"):format(name, sched, keys, CHECKS, SHAPES[shape])
  end
  for _, bug in ipairs(sorted(BUGS)) do
    for _, shape in ipairs(sorted(SHAPES)) do
      test(("bug.%s.%s"):format(bug, shape), ("fixture(%s)"):format(BUGS[bug].args),
        BUGS[bug].keys, shape)
    end
  end
  for _, name in ipairs(sorted(CLEAN)) do
    for _, shape in ipairs(sorted(SHAPES)) do
      test(("clean.%s.%s"):format(name, shape), CLEAN[name], "duration_s = 6", shape)
    end
  end
  return table.concat(out, "\n") .. "\n", rows
end

local dir = assert(core.mkdtemp("/tmp/ktstr-zoo-"))
local file = dir .. "/zoo.lua"
local src, rows = script()
local f = assert(io.open(file, "w"))
f:write(src)
f:close()

-- name -> { pass =, fail =, inconclusive =, error =, skip =, first = {msg -> count} }
local tally = {}
for _, r in ipairs(rows) do
  tally[r] = { pass = 0, fail = 0, inconclusive = 0, error = 0, skip = 0, why = {} }
end
local t0 = core.now()
for i = 1, N do
  local cmd = ("KTSTR_SIDECAR_DIR=%s/side %s script %s --json 2>%s/json >%s/out.%d"):format(dir,
    core.exe(), file, dir, dir, i)
  os.execute(cmd)
  for line in io.lines(dir .. "/json") do
    local ok, rec = pcall(cjson.decode, line)
    if ok and type(rec) == "table" and tally[rec.test] then
      local t = tally[rec.test]
      t[rec.status] = (t[rec.status] or 0) + 1
      local d = rec.details and rec.details[1]
      if d and rec.status ~= "pass" then
        local why = (d.check .. ": " .. d.msg:match("^[^\n]*")):sub(1, 90)
        t.why[why] = (t.why[why] or 0) + 1
      end
    end
  end
  io.stderr:write(("zoo: round %d of %d done (%.0fs)\n"):format(i, N, core.now() - t0))
end

local function reasons(t)
  local list = {}
  for why, n in pairs(t.why) do list[#list + 1] = ("%dx %s"):format(n, why) end
  table.sort(list)
  return table.concat(list, "; ")
end

print(("zoo: %d rounds, 1n2l2c1t, checks: %s (%.0fs)"):format(N, CHECKS, core.now() - t0))
print(("%-28s %-8s %-8s %s"):format("bug (fixture knob).shape", "caught", "inconcl", "how"))
for _, r in ipairs(rows) do
  local t = tally[r]
  if r:match("^bug%.") then
    print(("%-28s %d/%-6d %d/%-6d %s"):format(r:sub(5), t.fail, N, t.inconclusive, N, reasons(t)))
  end
end
print(("%-28s %-8s %-8s %s"):format("clean scheduler.shape", "false", "inconcl", "why"))
for _, r in ipairs(rows) do
  local t = tally[r]
  if r:match("^clean%.") then
    print(("%-28s %d/%-6d %d/%-6d %s"):format(r:sub(7), t.fail + t.error, N, t.inconclusive, N,
      reasons(t)))
  end
end
core.rm_rf(dir)
