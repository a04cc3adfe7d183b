-- `ktstr script`: loads test scripts on the host, runs each test in its own guest, judges it.
local argparse = require("ktstr.host.argparse")
local checks = require("ktstr.host.checks")
local constraints = require("ktstr.constraints")
local core = require("ktstr.core")
local fault = require("ktstr.fault")
local observer = require("ktstr.host.observer")
local report = require("ktstr.host.report")
local scheduler = require("ktstr.scheduler")
local sidecar = require("ktstr.host.sidecar")
local verdict = require("ktstr.verdict")
local vm = require("ktstr.host.vm")

local M = {}

local USAGE = "usage: ktstr script FILE... [--filter PAT] [--list] [--kernel K] [--json] " ..
  "[--keep] [--hold] [--gauntlet [--max-cpus N]] [-v]\n"

local bad = argparse.complainer("script", USAGE)

local OPTIONS = {
  valued = { ["--filter"] = "filter", ["--kernel"] = "kernel", ["--max-cpus"] = "max_cpus" },
  flags = { ["--list"] = "list", ["--json"] = "json", ["--keep"] = "keep", ["--hold"] = "hold",
    ["-v"] = "verbose", ["--verbose"] = "verbose", ["--gauntlet"] = "gauntlet" },
  positional = "collect", collect = "files",
}

function M.parse(args)
  local o, i = argparse.parse(args, OPTIONS, { kernel = os.getenv("KTSTR_KERNEL") })
  if not o then return nil, bad(i) end
  local okn, nerr = argparse.positive(o, "max_cpus", true)
  if not okn then return nil, bad(nerr) end
  if o.max_cpus and not o.gauntlet then return nil, bad("--max-cpus goes with --gauntlet") end
  -- after "--", everything is a script, even "-x.lua"
  table.move(args, i, #args, #o.files + 1, o.files)
  if #o.files == 0 then return nil, bad("no test script given") end
  return o
end

-- Loads each script as the guest will: the tests it registers, in order.
function M.load(files)
  local registry = require("ktstr.test")
  local out, first = {}, {}
  for _, file in ipairs(files) do
    registry.reset()
    -- text only: precompiled chunks can crash the Lua VM
    local f, err = loadfile(file, "t")
    if not f then
      if err:find("binary chunk", 1, true) then
        err = file .. ": precompiled Lua is not a test script (ktstr loads scripts as text)"
      end
      return nil, err
    end
    local ok, lerr = pcall(f)
    if not ok then return nil, fault.classify(lerr).msg end
    for _, t in ipairs(registry.registry()) do
      -- each guest loads one script, but names must be unique across all of them
      if first[t.name] then
        return nil, ("%s: ktstr.test: duplicate test name '%s' (first declared at %s)")
          :format(t.source, t.name, first[t.name])
      end
      first[t.name] = t.source
      out[#out + 1] = { file = file, test = t }
    end
  end
  return out
end

local function topo_of(t)
  return { numa_nodes = t.numa_nodes, llcs = t.llcs, cores = t.cores, threads = t.threads,
    memory_mib = t.memory_mib }
end

local function basename(path) return path:match("([^/]+)$") end

-- The scheduler's binary and how the guest runs it; a missing binary is bad input.
local function sched_plan(t)
  if not t.scheduler then return nil end
  local build_dir = core.exe():match("^(.*)/[^/]+$")
  local bin, err = scheduler.find_binary(t.scheduler, build_dir)
  if not bin then return nil, fault.failure("bad_input", t.scheduler.source .. ": " .. err) end
  return scheduler.plan(t.scheduler, bin, t)
end

-- Boots the test's guest, runs it there; returns the result the checks judge.
-- held(result, h, obs, info), when given, runs before the guest powers off.
local function run_in_guest(item, o, held)
  local t = item.test
  local script = "/scripts/" .. basename(item.file)
  local plan, perr = sched_plan(t)
  if perr then return nil, perr end
  local h <close>, f = vm.boot({ topo = topo_of(t), kernel = o.kernel, keep = o.keep,
    files = plan and plan.files, cmdline = plan and plan.cmdline, label = t.name,
    run_files = { { src = item.file, dst = script } } })
  if not h then return nil, f end
  local result
  local obs = observer.start(h, { num_snapshots = t.num_snapshots,
    watchdog_s = t.scheduler and t.watchdog_timeout_s })
  h:limit(vm.TEST_LIMITS)
  local ok, serr = h:send({ t = "run_test", id = 1, script = script, test = t.base_name or t.name,
    topo = t.preset and { numa_nodes = t.numa_nodes, llcs = t.llcs, cores = t.cores,
      threads = t.threads },
    sched = scheduler.wire(plan) })
  if ok then
    -- the body holds for duration_s; setup, teardown and TCG slowness get the margin,
    -- counted from run_test: a guest that trickles frames does not push it back
    local limit = t.duration_s * 2 + 60
    local deadline = core.now() + limit
    local msg, err
    repeat
      msg, err = obs:recv(math.max(0, deadline - core.now()))
    until not msg or msg.t == "result"
    if msg then result = msg.result else serr = err end
    if err and err.kind == "timeout" then
      err.msg = ("no result from the guest within %gs"):format(limit)
    end
  end
  h:limit(nil)  -- the test is over: a --hold REPL may print what it likes
  if not result then return nil, serr end
  result.monitor = obs:result()
  -- the guest listed the names it asked for; the host holds the captures
  result.snapshots, result.monitor.snapshots = result.monitor.snapshots, nil
  if result.fault then
    -- the guest ran the script as /scripts/NAME: name it as the user wrote it
    -- (only where the guest path starts a path: the host's own paths stay)
    result.fault.msg = (" " .. result.fault.msg):gsub("([^%w_.%-/])" .. script:gsub("%p", "%%%0"),
      "%1" .. item.file:gsub("%%", "%%%%")):sub(2)
  end
  result.accel = h.accel
  result.kernel = h.kernel.release
  result.console = h.qvm:console_tail(16384)
  result.timings = h.timings
  if o.verbose then
    local parts = {}
    for _, st in ipairs(h.timings) do parts[#parts + 1] = ("%s %.2fs"):format(st[1], st[2]) end
    local s = result.sched
    io.stderr:write(("ktstr script: %s: %s accel, boot: %s%s, ran %.2fs\n"):format(t.name,
      h.accel, table.concat(parts, ", "),
      s and s.enabled_after_s and (", scheduler enabled after %.2fs"):format(s.enabled_after_s)
        or "", result.duration_s or 0))
  end
  if held then
    held(result, h, obs, { name = t.name, duration_s = t.duration_s,
      sched = scheduler.wire(plan) })
  end
  h:shutdown(10)
  return result
end

-- A guest that failed before judging: a panic fails, the rest is inconclusive (fault.RUN).
local function guest_failure(f)
  local status = fault.status(f.kind)
  return { status = status, details = { { check = "guest", status = status, msg = f.msg } } },
    { console = f.console }
end

local COUNTER = { pass = "passed", fail = "failed", skip = "skipped",
  inconclusive = "inconclusive", error = "errors" }

-- The whole run's exit code: fault.EXIT of the worst status counted (verdict.RANK).
function M.exit_code(counts)
  local worst = "pass"
  for status, counter in pairs(COUNTER) do
    if counts[counter] > 0 and verdict.RANK[status] > verdict.RANK[worst] then worst = status end
  end
  return fault.EXIT[worst]
end

-- The verdict of one run: the checks, the scheduler's failure as root
-- cause (bad input when its declaration was wrong), then expect_err.
local function judge(item, result)
  local v = checks.evaluate(item.test, result)
  if v.status == "error" then return v end
  result.bug = scheduler.judge(result)
  if result.bug then v = verdict.merge(verdict.fail(result.bug, "scheduler"), v) end
  v = checks.expect(item.test, v, result.bug, scheduler.error_text(result))
  if v.status == "pass" and v.details[1] then result.bug = nil end
  return v
end

-- Judges one run and prints its verdict; returns an exit code that ends the whole run, or nil.
local function report_one(item, o, counts, t0, result, f)
  local v
  local status = not result and fault.status(f.kind)
  if result then
    v = judge(item, result)
  elseif status == "interrupted" then
    return fault.EXIT.interrupted
  elseif status == "error" then
    v, result = { status = "error", details = { { check = "input", status = "error",
      msg = f.msg } } }, {}
  elseif status == "skip" then
    v = verdict.skip(f.msg, "constraints")
  else
    v, result = guest_failure(f)
  end
  counts[COUNTER[v.status]] = counts[COUNTER[v.status]] + 1
  if v.status == "pass" then
    print(report.pass_line(item.test, core.now() - t0))
  else
    io.stdout:write(report.format(item.test, v, result, { file = item.file }))
  end
  local line, path, err = o.sidecars:write(item.test, v, result)
  if not path then io.stderr:write("ktstr script: sidecar not written: ", tostring(err), "\n") end
  if o.json then io.stderr:write(line, "\n") end
end

local function run_one(item, o, counts)
  local t0 = core.now()
  -- a topology its scheduler cannot run on is not a test of the scheduler
  local why = constraints.test_unmet(item.test)
  if why then return report_one(item, o, counts, t0, nil, fault.failure("skip", why)) end
  local rc, reported
  -- --hold: the verdict is on screen while the guest stays up
  local held = o.hold and function(result, h, obs, info)
    rc, reported = report_one(item, o, counts, t0, result), true
    require("ktstr.host.repl").hold(h, obs, info)
  end
  local ok, result, f = pcall(run_in_guest, item, o, held)
  if not ok then
    -- an interrupt raised in Lua (post_vm, a check) ends the run like one during the boot
    local e = result
    if fault.is(e) and e.kind == "interrupted" or core.signal_pending() then
      return 128 + (core.signal_pending() or 2)
    end
    error(e, 0)
  end
  if reported then return rc end
  return report_one(item, o, counts, t0, result, f)
end

-- --gauntlet: each test once per preset topology it fits, up to max_cpus CPUs.
local function gauntlet_items(items, o)
  local gauntlet = require("ktstr.host.gauntlet")
  local max = o.max_cpus or gauntlet.default_max_cpus(vm.use_kvm(require("ktstr.host.kernel")
    .resolve(o.kernel) or {}))
  local out = {}
  for _, it in ipairs(items) do
    local variants, skipped = gauntlet.variants(it.test, max)
    for _, v in ipairs(variants) do out[#out + 1] = { file = it.file, test = v } end
    if o.verbose then
      for _, sk in ipairs(skipped) do
        io.stderr:write(("ktstr script: gauntlet/%s/%s left out: %s\n"):format(it.test.name,
          sk.preset, sk.why))
      end
    end
  end
  return out
end

local function main(args)
  local o, code = M.parse(args)
  if not o then return code end
  local items, err = M.load(o.files)
  if not items then
    io.stderr:write("ktstr script: ", err, "\n")
    return 2
  end
  if o.gauntlet then items = gauntlet_items(items, o) end
  if o.filter then
    local kept = {}
    for _, it in ipairs(items) do
      if it.test.name:find(o.filter, 1, true) then kept[#kept + 1] = it end
    end
    items = kept
    if #items == 0 then
      io.stderr:write(("ktstr script: --filter '%s' matches no test in %s\n"):format(o.filter,
        table.concat(o.files, ", ")))
      return 2
    end
  end
  if o.list then
    for _, it in ipairs(items) do
      print(("%s  %s  %s  %gs"):format(it.test.name, report.scheduler_name(it.test),
        require("ktstr.cpuset").topo_name(it.test), it.test.duration_s))
    end
    return 0
  end
  local counts = { passed = 0, failed = 0, skipped = 0, inconclusive = 0, errors = 0 }
  o.sidecars = sidecar.start()
  for _, it in ipairs(items) do
    local rc = run_one(it, o, counts)
    if rc then return rc end
  end
  print(report.summary(counts))
  return M.exit_code(counts)
end

function M.main(args)
  local restore = fault.guard_exit()
  local ok, rc = pcall(main, args)
  restore()
  if not ok then error(rc, 0) end
  return rc
end

return M
