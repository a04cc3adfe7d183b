-- `ktstr script`: loads test scripts on the host, runs each test in its own guest, judges it.
local argparse = require("ktstr.host.argparse")
local checks = require("ktstr.host.checks")
local cjson = require("cjson")
local constraints = require("ktstr.constraints")
local core = require("ktstr.core")
local fault = require("ktstr.fault")
local html = require("ktstr.host.html")
local junit = require("ktstr.host.junit")
local observer = require("ktstr.host.observer")
local partition = require("ktstr.host.partition")
local payload = require("ktstr.payload")
local pool = require("ktstr.host.pool")
local progress = require("ktstr.host.progress")
local report = require("ktstr.host.report")
local scheduler = require("ktstr.scheduler")
local show = require("ktstr.show")
local sidecar = require("ktstr.host.sidecar")
local verdict = require("ktstr.verdict")
local vm = require("ktstr.host.vm")

local M = {}

local CMD = argparse.command("script", {
  synopsis = "FILE... [options]",
  about = "Loads the test scripts on the host, then runs each test in its own guest and judges\n" ..
    "it. Exit: 0 all passed, 1 a test failed, 2 an error or inconclusive, 130 interrupted.",
  valued = { ["--filter"] = "filter", ["--exact"] = "exact", ["--max-cpus"] = "max_cpus",
    ["-j"] = "jobs", ["--jobs"] = "jobs",
    ["--cpu-budget"] = "cpu_budget", ["--partition"] = "partition", ["--repeat"] = "repeat",
    ["--junit"] = "junit", ["--html"] = "html", ["--worker"] = "worker" },
  flags = { ["--list"] = "list", ["--json"] = "json", ["--keep"] = "keep", ["--hold"] = "hold",
    ["-v"] = "verbose", ["--verbose"] = "verbose", ["--gauntlet"] = "gauntlet",
    ["--tap"] = "tap", ["--no-restore"] = "no_restore" },
  lists = { ["--kernel"] = "kernels" },
  positional = "collect", collect = "files",
  doc = {
    { "--filter PAT", "run the tests whose name contains PAT" },
    { "--exact NAME", "run the test named NAME (a gauntlet variant's full name too)" },
    { "--partition I/N", "only slice I of N of the selected tests (hash:I/N: by name)" },
    { "--repeat N", "run each test N times, each run its own record" },
    { "-j, --jobs N", "run N guests at once (default 1)" },
    { "--cpu-budget N", "with -j: the vCPUs running guests may sum to (default: host CPUs)" },
    { "--junit FILE", "write JUnit XML: one testcase per test run" },
    { "--html FILE", "write one HTML page for the run: verdicts, details, stats and plots" },
    { "--tap", "print TAP lines (ok / not ok per test run) after the summary" },
    { "--list", "print each test's name, scheduler, topology, duration; boot nothing" },
    { "--kernel K", "a version, a built key, a vmlinux/bzImage or a kernel tree (built first" ..
      " if need be); again: each test once per kernel (KTSTR_KERNEL, a comma list)" },
    { "--json", "also write each test's record on stderr" },
    { "--keep", "keep each test's run directory" },
    { "--no-restore", "boot each guest instead of restoring a saved one (KTSTR_NO_RESTORE=1)" },
    { "--hold", "keep each guest up after its verdict, for ktstr repl --attach" },
    { "--gauntlet", "run each test on every topology preset it fits" },
    { "--max-cpus N", "with --gauntlet: the largest preset (default 8 under TCG)" },
    { "-v, --verbose", "accelerator, boot stages, scheduler start on stderr" },
    { "--worker SPEC", "internal: how -j runs one test in a child ktstr" },
    { "-h, --help", "this text" },
  },
})
local bad = CMD.bad
M.HELP = CMD.help

-- Kernel specs naming one kernel twice (7.3 and 7.3.4) run it once: its records would collide.
local function distinct_kernels(specs)
  if #specs < 2 then return specs end
  local out, seen = {}, {}
  for _, spec in ipairs(specs) do
    local k = require("ktstr.host.kernel").resolve(spec)
    -- the same files, however named (a built kernel may share Debian's release)
    local id = k and (k.vmlinux or k.bzimage or k.dir) or spec
    if seen[id] then
      io.stderr:write(("ktstr script: --kernel %s is the kernel %s names: run once\n")
        :format(spec, seen[id]))
    else
      seen[id], out[#out + 1] = spec, spec
    end
  end
  return out
end

function M.parse(args)
  local o, i = CMD.parse(args)
  if not o then return nil, i end
  -- --kernel A --kernel B, else KTSTR_KERNEL's comma list: each test once per kernel
  if #o.kernels == 0 then
    for k in (os.getenv("KTSTR_KERNEL") or ""):gmatch("[^,%s]+") do
      o.kernels[#o.kernels + 1] = k
    end
  end
  o.kernels = distinct_kernels(o.kernels)
  o.kernel = o.kernels[1]
  for _, k in ipairs({ "max_cpus", "jobs", "cpu_budget", "repeat" }) do
    local okn, nerr = argparse.positive(o, k, true)
    if not okn then return nil, bad(nerr) end
  end
  if o.max_cpus and not o.gauntlet then return nil, bad("--max-cpus goes with --gauntlet") end
  if o.jobs and o.jobs > pool.MAX_JOBS then
    return nil, bad(("-j %d: at most %d guests at once"):format(o.jobs, pool.MAX_JOBS))
  end
  if o.hold and (o.jobs or 1) > 1 then return nil, bad("--hold goes with -j 1") end
  if o.partition then
    local p, perr = partition.parse(o.partition)
    if not p then return nil, bad(perr) end
    o.partition = p
  end
  if o.worker then
    local ok, w = pcall(cjson.decode, o.worker)
    if not ok or type(w) ~= "table" or type(w.name) ~= "string" then
      return nil, bad("--worker: not a worker spec (it is how -j runs one test)")
    end
    o.worker, o.exact = w, w.name
  end
  -- after "--", everything is a script, even "-x.lua"
  table.move(args, i, #args, #o.files + 1, o.files)
  if #o.files == 0 then return nil, bad("no test script given") end
  return o
end

-- Loads each script as the guest will: the tests it registers, in order, and the
-- tests of each file (the guest loads them all, so it needs every one's payloads).
function M.load(files)
  local registry = require("ktstr.test")
  local out, first, by_file = {}, {}, {}
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
    -- Ctrl-C in a script that loops while it loads is the user's, not the script's error
    if not ok and core.signal_pending() then error(lerr, 0) end
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
    by_file[file] = registry.registry()
  end
  return out, by_file
end

local function topo_of(t)
  return { numa_nodes = t.numa_nodes, llcs = t.llcs, cores = t.cores, threads = t.threads,
    memory_mib = t.memory_mib }
end

local function basename(path) return path:match("([^/]+)$") end

-- The scheduler's binary and how the guest runs it; a missing binary is bad input.
local function sched_plan(t)
  if not t.scheduler then return nil end
  local build_dir = assert(core.exe()):match("^(.*)/[^/]+$")
  local bin, err = scheduler.find_binary(t.scheduler, build_dir)
  if not bin then return nil, fault.failure("bad_input", t.scheduler.source .. ": " .. err) end
  -- a damaged cached build is the environment's, not the scheduler's, fault
  local broken = require("ktstr.host.scx").check(bin)
  if broken then return nil, fault.failure("setup", broken) end
  return scheduler.plan(t.scheduler, bin, t)
end

-- Boots the test's guest, runs it there; returns the result the checks judge.
-- held(result, h, obs, info), when given, runs before the guest powers off.
local function run_in_guest(item, o, held)
  local t = item.test
  local script = "/scripts/" .. basename(item.file)
  local plan, perr = sched_plan(t)
  if perr then return nil, perr end
  -- the scheduler's binary and the payloads' programs, each with its libraries
  local files, ferr = payload.files(o.by_file and o.by_file[item.file] or { t })
  if not files then return nil, fault.failure("bad_input", ferr) end
  table.move(plan and plan.files or {}, 1, plan and #plan.files or 0, #files + 1, files)
  local h <close>, f = vm.boot({ topo = topo_of(t), kernel = item.kernel or o.kernel,
    keep = o.keep, kaslr = t.kaslr, disk = t.disk, restore = not o.no_restore,
    files = files, cmdline = plan and plan.cmdline, label = t.name,
    run_files = { { src = item.file, dst = script } } })
  if not h then return nil, f end
  o.progress:set(t.name .. ": running")
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
  -- where this boot's kernel image landed (KASLR): "0xffffffff..."
  result.kernel_text = h.ksyms and h.ksyms._text
  result.console = h.qvm:console_tail(16384)
  result.timings = h.timings
  if o.verbose then
    o.progress:clear()
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
    { console = f.console, qemu_stderr = f.qemu_stderr }
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
  -- a guest CPU that stopped, or a scratch disk the host failed, explains failures and a
  -- watchdog stall, not a scheduler's error
  local stopped = v.status == "fail" and not item.test.expect_err and
    (checks.cpu_stopped(result) or checks.disk_failed(result))
  if stopped and (not result.bug or result.bug:find("watchdog stall", 1, true)) then
    result.bug = nil
    return checks.not_judged(v, stopped)
  end
  v = checks.expect(item.test, v, result.bug, scheduler.error_text(result))
  if v.status == "pass" and v.details[1] then result.bug = nil end
  return v
end

-- The root cause a report opens with: its first line after the test's title.
function M.root_cause(text)
  local first = text:match("^[^\n]*")
  return first:match("^%u+ .-%]: (.*)$") or first
end

-- A test run's name in JUnit and TAP: NAME, @KERNEL when a run has several, #K for a repeat.
function M.case_name(item)
  local name = item.test.name
  if item.test.kernel_label then name = name .. "@" .. item.test.kernel_label end
  return item.rep and ("%s#%d"):format(name, item.rep.index) or name
end

-- The page's view of one run (--html): a failure to draw it costs the page its plots, not the
-- test its verdict.
local function html_entry(test, v, result)
  local ok, e = pcall(html.entry, test, v, result)
  if ok then return e end
  if core.signal_pending() then error(e, 0) end
  return { title = test.name, status = v.status, error = tostring(e) }
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
  local text = v.status == "pass" and report.pass_line(item.test, core.now() - t0, result) .. "\n"
    or report.format(item.test, v, result, { file = item.file })
  -- counted once formatted: a report that fails to format is counted as ktstr's failure
  counts[COUNTER[v.status]] = counts[COUNTER[v.status]] + 1
  o.progress:clear()
  o.progress:done_one()
  io.stdout:write(text)
  o.cases[#o.cases + 1] = { name = M.case_name(item), status = v.status,
    time = core.now() - t0, message = M.root_cause(text), output = text,
    html = (o.html or o.worker and o.worker.html) and html_entry(item.test, v, result) or nil }
  local line, path, err = o.sidecars:write(item.test, v, result, item.rep)
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
  -- an interrupt raised in Lua (post_vm, a check) ends the run like one during the
  -- boot; anything else raised is ktstr's own failure on this test: the others go on
  local where
  local function catch(e)
    where = debug.traceback(tostring(fault.is(e) and e.msg or e), 2)
    return e
  end
  local function raised(e)
    if fault.is(e) and e.kind == "interrupted" or core.signal_pending() then
      return 128 + (core.signal_pending() or 2)
    end
    -- the report itself may be what failed: one plain line, no report
    local msg = "ktstr failed on the host: " .. (fault.is(e) and e.msg or tostring(e))
    io.stderr:write(show.text(("ktstr script: %s: %s\n"):format(item.test.name, where)))
    local text = show.text(("INCONCLUSIVE %s: %s\n"):format(M.case_name(item), msg))
    counts.inconclusive = counts.inconclusive + 1
    o.progress:clear()
    o.progress:done_one()
    io.stdout:write(text)
    o.cases[#o.cases + 1] = { name = M.case_name(item), status = "inconclusive",
      time = core.now() - t0, message = msg, output = text }
  end
  local ok, result, f = xpcall(run_in_guest, catch, item, o, held)
  if not ok then return raised(result) end
  if reported then return rc end
  local rok, rrc = xpcall(report_one, catch, item, o, counts, t0, result, f)
  if not rok then return raised(rrc) end
  return rrc
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

-- --exact, --filter: the tests a run selects; nil, message when none is left.
local function select_items(items, o)
  if not (o.exact or o.filter) then return items end
  local kept = {}
  for _, it in ipairs(items) do
    local name = it.test.name
    if o.exact and name == o.exact or not o.exact and name:find(o.filter, 1, true) then
      kept[#kept + 1] = it
    end
  end
  if #kept == 0 then
    local how = o.exact and ("--exact '%s'"):format(o.exact)
      or ("--filter '%s'"):format(o.filter)
    return nil, ("%s matches no test in %s"):format(how, table.concat(o.files, ", "))
  end
  return kept
end

-- --repeat N: each test N times in a row, each run knowing its index.
local function repeat_items(items, n)
  local out = {}
  for _, it in ipairs(items) do
    for k = 1, n do
      out[#out + 1] = { file = it.file, test = it.test, rep = { index = k, of = n } }
    end
  end
  return out
end

-- Several kernels: each test once per kernel, its title and records naming it.
local function kernel_items(items, kernels)
  local out = {}
  for _, it in ipairs(items) do
    for _, k in ipairs(kernels) do
      local t = {}
      for key, v in pairs(it.test) do t[key] = v end
      t.kernel_label = k
      out[#out + 1] = { file = it.file, test = t, kernel = k }
    end
  end
  return out
end

-- What the selection, the kernels, the partition and the repeats leave to run.
local function plan_items(o)
  local items, by_file = M.load(o.files)
  if not items then return nil, by_file end
  o.by_file = by_file
  local err
  if o.gauntlet then items = gauntlet_items(items, o) end
  items, err = select_items(items, o)
  if not items then return nil, err end
  if #o.kernels > 1 and not o.worker then items = kernel_items(items, o.kernels) end
  if o.partition then
    items = partition.slice(items, o.partition, function(it) return it.test.name end)
  end
  if o.worker and o.worker.kernel_label then
    items = kernel_items(items, { o.worker.kernel_label })
  end
  if o.worker and o.worker.rep then
    items[1].rep = o.worker.rep
  elseif o["repeat"] and o["repeat"] > 1 then
    items = repeat_items(items, o["repeat"])
  end
  return items
end

local function vcpus(t) return t.llcs * t.cores * t.threads end

-- One test run in a child ktstr: the argv that runs exactly it, writing its case to path.
local function worker_argv(it, o, path)
  local spec = cjson.encode({ name = it.test.name, rep = it.rep, run_id = o.sidecars.id,
    cases = path, kernel_label = it.test.kernel_label, html = o.html and true or nil })
  local argv = { assert(core.exe()), "script", it.file, "--worker", spec }
  local kernel = it.kernel or o.kernel
  if kernel then table.move({ "--kernel", kernel }, 1, 2, #argv + 1, argv) end
  if o.gauntlet then argv[#argv + 1] = "--gauntlet" end
  if o.max_cpus then table.move({ "--max-cpus", tostring(o.max_cpus) }, 1, 2, #argv + 1, argv) end
  for _, flag in ipairs({ "keep", "json", "verbose", "no_restore" }) do
    if o[flag] then argv[#argv + 1] = "--" .. flag:gsub("_", "-") end
  end
  return argv
end

-- The case a worker wrote, or one that says why it wrote none.
local function worker_case(it, r, path)
  local f = io.open(path)
  local line = f and f:read("l")
  if f then f:close() end
  os.remove(path)
  local ok, c = pcall(cjson.decode, line or "")
  if ok and type(c) == "table" and COUNTER[c.status] then
    c.output = r.out
    return c
  end
  local msg = ("INCONCLUSIVE %s: its ktstr worker ended (%s) without a verdict")
    :format(M.case_name(it), pool.ended(r.status))
  return { name = M.case_name(it), status = "inconclusive", time = r.time_s, message = msg,
    output = r.out .. msg .. "\n" }
end

--[[
-j N: each test run in its own child ktstr, N at once within the CPU
budget. Each test's lines (stdout, then stderr) print together when it
ends; the children share this run's id, so their records are one run.
]]
local function run_parallel(items, o, counts)
  local budget = o.cpu_budget or pool.host_cpus()
  local dir <close> = pool.scratch("/tmp/ktstr-cases-")
  local jobs = {}
  for n, it in ipairs(items) do
    local path = ("%s/%d.json"):format(dir.path, n)
    jobs[n] = { it = it, path = path, cost = vcpus(it.test), argv = worker_argv(it, o, path) }
  end
  local rc = pool.run(jobs, { jobs = o.jobs, budget = budget,
    on_wait = function(j, used)
      o.progress:clear()
      io.stderr:write(("ktstr script: %s waits for room: %d vCPUs, %d of %d in use " ..
        "(--cpu-budget)\n"):format(M.case_name(j.it), j.cost, used, budget))
    end,
    on_tick = function(running)
      if #running == 0 then return end
      local names = {}
      for k, j in ipairs(running) do names[k] = M.case_name(j.it) end
      o.progress:set(("%d running: %s"):format(#running, table.concat(names, ", ")))
    end,
    on_done = function(j, r)
      o.progress:clear()
      o.progress:done_one()
      local c = worker_case(j.it, r, j.path)
      counts[COUNTER[c.status]] = counts[COUNTER[c.status]] + 1
      o.cases[#o.cases + 1] = c
      io.stdout:write(c.output)
      io.stderr:write(r.err)
      io.stdout:flush()
    end })
  return rc
end

-- --html FILE: the page, written aside and renamed (whole or absent); 2 when it cannot be.
local function write_html(o, t0, counts)
  local tmp = ("%s.tmp-%d"):format(o.html, core.getpid())
  local ok, err = pcall(function()
    local page = html.render({ cases = o.cases, counts = counts, time = core.now() - t0,
      run = o.sidecars, argv = o.argv })
    local f, oerr = io.open(tmp, "w")
    if not f then
      error(("cannot write %s (%s)"):format(o.html, oerr:match(": ([^:]+)$") or oerr), 0)
    end
    local w, werr = f:write(page)
    f:close()
    if not w then error(werr, 0) end
    local r, rerr = os.rename(tmp, o.html)
    if not r then error(rerr, 0) end
  end)
  if ok then return nil end
  os.remove(tmp)
  if core.signal_pending() then error(err, 0) end
  io.stderr:write("ktstr script: --html: ", tostring(err), "\n")
  return 2
end

-- --junit, --tap, --html, and a worker's case line: what CI and people read.
local function write_results(o, t0, counts)
  if o.worker then
    local f = assert(io.open(o.worker.cases, "w"))
    local c = o.cases[1]
    if c then
      local case = { name = c.name, status = c.status, time = c.time, message = c.message,
        html = c.html }
      local ok, line = pcall(cjson.encode, case)
      -- the page's data is not worth the verdict: without it, the case still goes
      if not ok then
        case.html = { title = c.name, status = c.status, error = tostring(line) }
        line = cjson.encode(case)
      end
      f:write(line, "\n")
    end
    f:close()
  end
  if o.tap then io.stdout:write(junit.tap(o.cases)) end
  if o.junit then
    local f, err = io.open(o.junit, "w")
    if not f then
      io.stderr:write("ktstr script: --junit: ", err, "\n")
      return 2
    end
    f:write(junit.render({ name = "ktstr", time = core.now() - t0, cases = o.cases }))
    f:close()
  end
  if o.html and not o.worker then return write_html(o, t0, counts) end
end

-- Each --kernel naming an unbuilt source tree becomes its built kernel (built now if need be).
local function prepare_kernels(o)
  local kbuild = require("ktstr.host.kbuild")
  for i, spec in ipairs(o.kernels) do
    local k, err, code = kbuild.prepare(spec)
    if err then
      io.stderr:write("ktstr script: --kernel ", err, "\n")
      return kbuild.exit_code(code)
    end
    o.kernels[i] = k
  end
  o.kernel = o.kernels[1]
end

local function main(args)
  local t0 = core.now()
  local o, code = M.parse(args)
  if not o then return code end
  o.argv = args
  if not o.list and not o.worker then
    code = prepare_kernels(o)
    if code then return code end
  end
  local items, err = plan_items(o)
  if not items then
    io.stderr:write("ktstr script: ", err, "\n")
    return 2
  end
  if o.list then
    for _, it in ipairs(items) do
      print(("%s  %s  %s  %gs"):format(M.case_name(it), report.scheduler_name(it.test),
        require("ktstr.cpuset").topo_name(it.test), it.test.duration_s))
    end
    return 0
  end
  local counts = { passed = 0, failed = 0, skipped = 0, inconclusive = 0, errors = 0 }
  o.cases = {}
  -- a worker's output is its parent's to show: it draws nothing
  local tty
  if o.worker then tty = false end
  o.progress = progress.new(#items, tty)
  o.sidecars = sidecar.start(o.worker and o.worker.run_id)
  for _, spec in ipairs(#o.kernels > 0 and o.kernels or { false }) do
    local kern = require("ktstr.host.kernel").resolve(spec or nil)
    if kern then o.sidecars:claim(kern.release) end
  end
  if (o.jobs or 1) > 1 then
    local rc = run_parallel(items, o, counts)
    if rc then return rc end
  else
    for _, it in ipairs(items) do
      o.progress:set(M.case_name(it) .. ": booting")
      local rc = run_one(it, o, counts)
      -- a signal the report window swallowed (a pcall) still ends the run
      rc = rc or core.signal_pending() and 128 + core.signal_pending()
      if rc then
        o.progress:clear()
        return rc
      end
    end
  end
  o.progress:clear()
  if not o.worker then print(report.summary(counts)) end
  return write_results(o, t0, counts) or M.exit_code(counts)
end

-- scripts loaded here must not end ktstr: os.exit is the script's error
M.main = fault.guarded(main)

return M
