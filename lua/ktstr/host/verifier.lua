-- `ktstr verifier`: each scheduler loaded on each kernel x topology, its BPF programs' verdicts.
local argparse = require("ktstr.host.argparse")
local cjson = require("cjson")
local core = require("ktstr.core")
local cpuset = require("ktstr.cpuset")
local fault = require("ktstr.fault")
local gauntlet = require("ktstr.host.gauntlet")
local kernel = require("ktstr.host.kernel")
local observer = require("ktstr.host.observer")
local pool = require("ktstr.host.pool")
local protocol = require("ktstr.protocol")
local scheduler = require("ktstr.scheduler")
local vm = require("ktstr.host.vm")

local M = {}

M.DEFAULT_TOPO = "1n1l2c1t"
M.DISPATCH_S = 1    -- how long each scheduler runs before its programs are read again
M.HOLD_S = 1        -- how long the guest waits after that for the host to read
M.EXEC_MARGIN_S = 45  -- the guest's side beyond the enable timeout: dispatch, hold, stop
-- The guest's side, run in the guest as a program through the agent's exec
-- (the guest image carries guest/ under /lua; the host loads none of it).
M.GUEST_MAIN = "/lua/ktstr/guest/verifier.lua"

local CMD = argparse.command("verifier", {
  synopsis = "SCHEDULER... [options]",
  about = "Loads each scheduler (a binary name found as `ktstr script` finds one, or a\n" ..
    "path) in a guest per kernel and topology, lets it dispatch for a moment, and reports\n" ..
    "each of its BPF programs: name (as the kernel keeps it, 15 characters), type, the\n" ..
    "instructions the verifier processed, runs. A rejection names the program, the source\n" ..
    "line and the verifier's complaint. Exit: 0 every cell loaded every scheduler, 1 one was\n" ..
    "rejected or did not load, 2 bad input or a guest that could not be used, 130 interrupted.",
  valued = { ["--max-cpus"] = "max_cpus", ["-j"] = "jobs", ["--jobs"] = "jobs",
    ["--cell"] = "cell" },
  lists = { ["--kernel"] = "kernels", ["--topo"] = "topos", ["--sched-arg"] = "sched_args" },
  flags = { ["--gauntlet"] = "gauntlet" },
  positional = "collect", collect = "scheds",
  doc = {
    { "--kernel K", "a version, a built key, a vmlinux/bzImage or a kernel tree (built first if" ..
      " need be); repeatable" },
    { "--topo T", "1n2l2c1t or a gauntlet preset; repeatable (default " .. M.DEFAULT_TOPO .. ")" },
    { "--gauntlet", "every gauntlet preset up to --max-cpus instead of --topo" },
    { "--max-cpus N", "with --gauntlet: the largest preset (default 8 under TCG)" },
    { "-j, --jobs N", "run N cells (guests) at once, their vCPUs within the host CPUs" },
    { "--sched-arg A", "append A to every scheduler's command line; repeatable" },
    { "--cell FILE", "internal: how -j runs one cell in a child ktstr" },
    { "-h, --help", "this text" },
  },
})
local bad = CMD.bad
M.HELP = CMD.help

-- The kernel's program types a scheduler loads; others print as their number.
local PROG_TYPES = { [2] = "kprobe", [5] = "tracepoint", [17] = "raw_tp", [26] = "tracing",
  [27] = "struct_ops", [29] = "lsm", [31] = "syscall" }

local function prog_type(n)
  return PROG_TYPES[n] or ("type %d"):format(n)
end

local function preset(name)
  for _, p in ipairs(gauntlet.PRESETS) do
    if p[1] == name then return p end
  end
end

local function preset_topo(p)
  return { label = p[1], numa_nodes = p[2], llcs = p[3], cores = p[4], threads = p[5] }
end

-- --topo T: a preset's name or a topology string; the validated table with a label.
local function topology(spec)
  local p = preset(spec)
  local t, err = vm.topology(p and preset_topo(p) or spec)
  if not t then return nil, ("--topo %s: %s"):format(spec, err) end
  t.label = p and p[1] or cpuset.topo_name(t)
  return t
end

-- SCHEDULER: a path when it has a slash, else a binary name; its declaration and binary.
local function find_sched(arg, sched_args)
  local base = arg:match("([^/]+)$") or arg
  local decl = { name = arg, args = sched_args, kargs = {}, sysctls = {} }
  if arg:find("/", 1, true) then decl.path = arg else decl.binary = base end
  local build_dir = assert(core.exe()):match("^(.*)/[^/]+$")
  local bin, err = scheduler.find_binary(decl, build_dir)
  if not bin then return nil, err end
  return { label = arg, decl = decl, bin = bin }
end

--[[
parse(args) -> o | nil, exit code. o.scheds: { {label, decl, bin} },
o.kernels: { {spec, kern} } (spec nil: the default), o.topos: validated
topologies with labels, o.jobs, o.cell. Everything that could be wrong is
found here, naming the argument, before any guest boots.
]]
function M.parse(args)
  local o, i = CMD.parse(args)
  if not o then return nil, i end
  table.move(args, i, #args, #o.scheds + 1, o.scheds)
  for _, k in ipairs({ "max_cpus", "jobs" }) do
    local ok, err = argparse.positive(o, k, true)
    if not ok then return nil, bad(err) end
  end
  if #o.scheds == 0 then return nil, bad("no scheduler given") end
  if o.max_cpus and not o.gauntlet then return nil, bad("--max-cpus goes with --gauntlet") end
  if o.gauntlet and #o.topos > 0 then
    return nil, bad("--gauntlet and --topo exclude each other")
  end
  if o.jobs and o.jobs > pool.MAX_JOBS then
    return nil, bad(("-j %d: at most %d guests at once"):format(o.jobs, pool.MAX_JOBS))
  end
  local scheds = {}
  for _, arg in ipairs(o.scheds) do
    local s, err = find_sched(arg, o.sched_args)
    if not s then return nil, bad(err) end
    scheds[#scheds + 1] = s
  end
  o.scheds = scheds
  -- topologies before kernels: a typo costs no kernel lookup
  -- the same topology or kernel named twice (7.3 and 7.3.4) is one cell, not two
  local topos, seen = {}, {}
  for _, spec in ipairs(o.topos) do
    local t, err = topology(spec)
    if not t then return nil, bad(err) end
    if not seen[t.label] then topos[#topos + 1], seen[t.label] = t, true end
  end
  local kernels = {}
  for _, spec in ipairs(#o.kernels > 0 and o.kernels or { false }) do
    local built, berr = require("ktstr.host.kbuild").prepare(spec or nil)
    if berr then return nil, bad("--kernel " .. berr) end
    local kern, err = kernel.resolve(built)
    if not kern then
      return nil, bad(spec and ("--kernel %s: %s"):format(spec, err) or err)
    end
    local key = "kernel " .. (kern.vmlinux or kern.bzimage or kern.release)
    if not seen[key] then
      kernels[#kernels + 1], seen[key] = { spec = spec or nil, kern = kern }, true
    end
  end
  o.kernels = kernels
  if o.gauntlet then
    local max = o.max_cpus or gauntlet.default_max_cpus(vm.use_kvm(kernels[1].kern))
    for _, p in ipairs(gauntlet.PRESETS) do
      if p[3] * p[4] * p[5] <= max then topos[#topos + 1] = assert(topology(p[1])) end
    end
    if #topos == 0 then return nil, bad(("--max-cpus %d: no preset is that small"):format(max)) end
  elseif #topos == 0 then
    topos[1] = assert(topology(M.DEFAULT_TOPO))
  end
  o.topos = topos
  if o.cell and (#kernels > 1 or #topos > 1) then
    return nil, bad("--cell runs one kernel and one topology")
  end
  return o
end

-- What the guest runs for each scheduler; two binaries of one name get their own places.
local function plans(scheds)
  local out, files, used = {}, {}, {}
  for i, s in ipairs(scheds) do
    local plan = scheduler.plan(s.decl, s.bin, { extra_sched_args = {} })
    local dst = plan.files[1].dst
    if used[dst] then
      dst = ("/bin/verifier-%d/%s"):format(i, dst:match("([^/]+)$"))
      plan.files[1].dst, plan.argv[1] = dst, dst
    end
    used[dst] = true
    table.move(plan.files, 1, #plan.files, #files + 1, files)
    out[i] = plan
  end
  return out, files
end

-- The programs in the guest's prog_idr, read with every vCPU stopped.
local function read_progs(obs)
  local pause, progs, err = obs:paused(function() return obs.gk:progs() end)
  if not pause then return nil, progs end
  if not progs then return nil, "reading the guest's BPF programs: " .. tostring(err) end
  return progs
end

--[[
One scheduler in a booted guest: the programs before, then its start in
the guest (guest/verifier), the programs read again at each line it prints
while the scheduler is loaded. The scheduler's programs are those that were
not there before, narrowed to the ones its process holds open when it holds
any. Returns { status = "ok" | "rejected" | "not_loaded" | "inconclusive", ... }.
]]
local function run_sched(h, obs, plan)
  local r = { status = "inconclusive" }
  local before, err = read_progs(obs)
  if not before then
    r.msg = err
    return r
  end
  local was = {}
  for _, p in ipairs(before) do was[p.id] = true end
  local seen, held, events, buf, errout, read_err = {}, {}, {}, "", {}, nil
  local function look()
    local progs, rerr = read_progs(obs)
    if not progs then read_err = rerr return end
    for _, p in ipairs(progs) do seen[p.id] = p end
  end
  local function line(l)
    local msg, perr = protocol.json(l)
    if type(msg) ~= "table" or type(msg.t) ~= "string" then
      errout[#errout + 1] = ("not a line of guest/verifier (%s): %s\n"):format(perr or "no t", l)
      return
    end
    events[msg.t] = msg
    if msg.t == "enabled" or msg.t == "ran" then
      look()
      for _, id in ipairs(type(msg.held) == "table" and msg.held or {}) do
        id = math.tointeger(id)
        if id then held[id] = true end
      end
    end
  end
  local spec = cjson.encode({ name = plan.name, argv = plan.argv,
    enable_timeout_s = plan.enable_timeout_s, dispatch_s = M.DISPATCH_S, hold_s = M.HOLD_S })
  local st, xerr = h:exec({ "ktstr", "lua", M.GUEST_MAIN, spec }, function(fd, data)
    if fd ~= "stdout" then
      errout[#errout + 1] = data
      return
    end
    buf = buf .. data
    for l in buf:gmatch("([^\n]*)\n") do line(l) end
    buf = buf:match("[^\n]*$")
  end, (plan.enable_timeout_s or 15) + M.EXEC_MARGIN_S)
  if not st then return nil, xerr end
  local failed, enabled, ran = events.failed, events.enabled, events.ran
  if failed then
    local ff = type(failed.failure) == "table" and failed.failure or {}
    r.verifier = type(failed.verifier) == "table" and failed.verifier or nil
    r.processed, r.msg, r.kind, r.log = failed.processed, ff.msg, ff.kind, failed.log
    r.status = r.verifier and "rejected" or "not_loaded"
    return r
  end
  if not enabled then
    r.msg = ("the guest's side ended (%s) before the scheduler was enabled: %s"):format(
      st.code and "exit " .. st.code or "signal " .. tostring(st.signal),
      table.concat(errout):sub(-2000))
    return r
  end
  r.enabled_after_s, r.ops = enabled.after_s, enabled.ops
  if ran and ran.failure then r.note = ran.failure.msg end
  if events.stopped and events.stopped.log then r.log = events.stopped.log end
  local narrow = next(held) ~= nil
  local progs, total = {}, 0
  for id, p in pairs(seen) do
    if not was[id] and (not narrow or held[id]) then
      progs[#progs + 1] = { id = id, name = p.name, type = prog_type(p.type),
        insns = p.verified_insns, runs = p.cnt }
      total = total + p.verified_insns
    end
  end
  table.sort(progs, function(a, b) return a.id < b.id end)
  r.progs, r.total = progs, total
  if #progs == 0 then
    r.msg = read_err or "none of its BPF programs was found in guest memory"
    return r
  end
  r.status = "ok"
  return r
end

-- Runs plans ps[from..] in one guest, results into out.scheds. Returns the
-- index it stopped at (#ps + 1 when done), the failure that stopped it and
-- whether that was the boot.
local function run_guest(cell, ps, files, from, out)
  local h <close>, f = vm.boot({ topo = cell.topo, kernel = cell.kernel.spec, files = files,
    label = ("verifier %s %s"):format(out.kernel, out.topo) })
  if not h then return from, f, true end
  local obs = observer.start(h, {})
  if not obs.gk then
    h:shutdown(10)
    return from, { kind = "setup", msg = "cannot read guest memory: " .. tostring(obs.off) }, true
  end
  for i = from, #ps do
    local r, xerr = run_sched(h, obs, ps[i])
    if not r then return i, xerr end
    out.scheds[i] = r
  end
  h:shutdown(10)
  return #ps + 1
end

--[[
One cell: a guest of cell.topo on cell.kernel, every scheduler loaded in
turn. Returns { kernel, topo, cpus, scheds = {result per scheduler} }, with
status "inconclusive" and msg when no guest could be used; nil, failure
when interrupted. A guest kernel that panics while a scheduler loads is
booted again once (TCG has rare panics of its own when the kernel patches
its text, as enabling sched_ext does); a second panic is the scheduler's.
]]
local function run_cell(o, cell)
  local out = { kernel = cell.kernel.kern.release, topo = cell.topo.label, cpus = cell.topo.cpus,
    scheds = {} }
  local ps, files = plans(o.scheds)
  local i, f, at_boot = run_guest(cell, ps, files, 1, out)
  if f and f.kind == "panic" then
    io.stderr:write(("ktstr verifier: %s %s: %s while %s loaded; booting again\n")
      :format(out.kernel, out.topo, f.msg, o.scheds[i].label))
    i, f, at_boot = run_guest(cell, ps, files, i, out)
  end
  if not f then return out end
  if f.kind == "interrupted" then return nil, f end
  if at_boot and i == 1 then
    out.status, out.msg = "inconclusive", f.msg
    return out
  end
  for k = i, #ps do
    out.scheds[k] = k == i and f.kind == "panic" and
      { status = "panic", msg = f.msg, log = f.console } or
      { status = "inconclusive", msg = f.msg }
  end
  return out
end

local STATUS_RANK = { ok = 0, inconclusive = 1, not_loaded = 2, rejected = 2, panic = 2 }

-- A cell's worst outcome: "ok", "inconclusive" or "rejected" (not_loaded and panic count as one).
local function cell_status(c)
  local worst = c.status == "inconclusive" and "inconclusive" or "ok"
  for _, r in ipairs(c.scheds) do
    if STATUS_RANK[r.status] > STATUS_RANK[worst] then worst = r.status end
  end
  return STATUS_RANK[worst] == 2 and "rejected" or worst
end

-- The run's exit code: 1 when a cell rejected a scheduler, else 2 when one
-- was inconclusive, else 0.
function M.exit_code(cells)
  local inconclusive = false
  for _, c in ipairs(cells) do
    local st = cell_status(c)
    if st == "rejected" then return fault.EXIT.fail end
    inconclusive = inconclusive or st == "inconclusive"
  end
  return inconclusive and fault.EXIT.inconclusive or fault.EXIT.pass
end

local function cpus(c)
  return ("%s (%d CPU%s)"):format(c.topo, c.cpus, c.cpus == 1 and "" or "s")
end

local function cell_title(c)
  return c.kernel .. " " .. cpus(c)
end

-- What a cell printed as it ended: per scheduler, its programs or its rejection.
function M.format_cell(c, labels)
  local out = { ("== %s =="):format(cell_title(c)) }
  if c.status == "inconclusive" then
    out[#out + 1] = "INCONCLUSIVE: " .. c.msg
  end
  for i, r in ipairs(c.scheds) do
    local who = labels[i]
    if r.status == "ok" then
      out[#out + 1] = ("%s: loaded, enabled as '%s' after %.2fs; %d programs, %d insns verified")
        :format(who, r.ops or "?", r.enabled_after_s or 0, #r.progs, r.total)
      out[#out + 1] = ("  %-16s %-11s %8s %8s"):format("program", "type", "insns", "runs")
      for _, p in ipairs(r.progs) do
        out[#out + 1] = ("  %-16s %-11s %8d %8d"):format(p.name, p.type, p.insns, p.runs)
      end
      if r.note then out[#out + 1] = "  then: " .. r.note end
    elseif r.status == "rejected" then
      out[#out + 1] = ("%s: REJECTED: %s"):format(who, scheduler.verifier_line(r.verifier))
      if r.verifier.reason then out[#out + 1] = "  reason: " .. r.verifier.reason end
      if r.verifier.suggestion then out[#out + 1] = "  suggestion: " .. r.verifier.suggestion end
      if r.processed then
        out[#out + 1] = ("  the verifier processed %d insns of %s before it gave up")
          :format(r.processed, r.verifier.prog or "the program")
      end
    elseif r.status == "not_loaded" then
      out[#out + 1] = ("%s: NOT LOADED (%s): %s"):format(who, r.kind, r.msg)
    elseif r.status == "panic" then
      out[#out + 1] = ("%s: PANIC while it loaded, twice: %s"):format(who, r.msg)
    else
      out[#out + 1] = ("%s: INCONCLUSIVE: %s"):format(who, r.msg)
    end
    if r.status ~= "ok" and r.status ~= "rejected" and r.log and r.log ~= "" then
      out[#out + 1] = r.status == "panic" and "  --- console tail ---" or "  --- scheduler log ---"
      for l in r.log:gmatch("[^\n]+") do out[#out + 1] = "  " .. l end
    end
  end
  return table.concat(out, "\n") .. "\n"
end

local function word(r)
  if not r then return "-" end
  if r.status == "ok" then return ("OK %d%s"):format(r.total, r.note and ", then failed" or "") end
  if r.status == "rejected" then return "REJECTED " .. (r.verifier.prog or "?") end
  if r.status == "not_loaded" then return "NOT LOADED" end
  if r.status == "panic" then return "PANIC" end
  return "INCONCLUSIVE"
end

-- Left-aligned columns, each as wide as its widest cell.
local function columns(rows)
  local width = {}
  for _, row in ipairs(rows) do
    for k, v in ipairs(row) do width[k] = math.max(width[k] or 0, #v) end
  end
  local out = {}
  for _, row in ipairs(rows) do
    local parts = {}
    for k, v in ipairs(row) do
      parts[k] = k < #row and v .. (" "):rep(width[k] - #v) or v
    end
    out[#out + 1] = table.concat(parts, "  ")
  end
  return table.concat(out, "\n") .. "\n"
end

-- A cell's column head: what tells it from the others (the topology, the kernel or both).
local function cell_name(cells, c)
  local kernels, topos = {}, {}
  for _, x in ipairs(cells) do kernels[x.kernel], topos[x.topo] = true, true end
  local one_kernel, one_topo = next(kernels, next(kernels)) == nil, next(topos, next(topos)) == nil
  if one_kernel and not one_topo then return c.topo end
  if one_topo and not one_kernel then return c.kernel end
  return c.kernel .. " " .. c.topo
end

-- One scheduler's programs (column i of the cells) side by side, or nil when
-- it loaded in fewer than two cells; a count that differs between cells is marked.
local function program_matrix(cells, i, who)
  local names, order, any = {}, {}, 0
  for _, c in ipairs(cells) do
    local r = c.scheds[i]
    if r and r.status == "ok" then
      any = any + 1
      for _, p in ipairs(r.progs) do
        if not names[p.name] then names[p.name], order[#order + 1] = true, p.name end
      end
    end
  end
  if any < 2 then return nil end
  local head = { "  program" }
  for _, c in ipairs(cells) do head[#head + 1] = cell_name(cells, c) end
  local rows = { head }
  for _, name in ipairs(order) do
    local row, first, differs = { "  " .. name }, nil, false
    for _, c in ipairs(cells) do
      local r, n = c.scheds[i], nil
      for _, p in ipairs(r and r.progs or {}) do
        if p.name == name then n = (n or 0) + p.insns end
      end
      row[#row + 1] = n and ("%d"):format(n) or "-"
      if n and first and n ~= first then differs = true end
      first = first or n
    end
    if differs then row[#row + 1] = "<- differs" end
    rows[#rows + 1] = row
  end
  local total = { "  total" }
  for _, c in ipairs(cells) do
    local r = c.scheds[i]
    total[#total + 1] = r and r.status == "ok" and ("%d"):format(r.total) or "-"
  end
  rows[#rows + 1] = total
  return who .. ": verified insns per program\n" .. columns(rows)
end

--[[
The tables after every cell: each scheduler's program counts side by side
when there is more than one cell, then one row per cell with each
scheduler's word: OK and its total, REJECTED and the program, NOT LOADED,
PANIC or INCONCLUSIVE.
]]
function M.format_tables(cells, labels)
  local out = {}
  for i, who in ipairs(labels) do out[#out + 1] = program_matrix(cells, i, who) end
  local rows = { { "kernel", "topology" } }
  for _, who in ipairs(labels) do rows[1][#rows[1] + 1] = who end
  for _, c in ipairs(cells) do
    local row = { c.kernel, cpus(c) }
    for i = 1, #labels do
      row[#row + 1] = c.status == "inconclusive" and "INCONCLUSIVE" or word(c.scheds[i])
    end
    rows[#rows + 1] = row
  end
  out[#out + 1] = columns(rows)
  return table.concat(out, "\n")
end

local function cells_of(o)
  local cells = {}
  for _, k in ipairs(o.kernels) do
    for _, t in ipairs(o.topos) do cells[#cells + 1] = { kernel = k, topo = t } end
  end
  return cells
end

-- One cell in a child ktstr: the argv that runs exactly it, its result written to path.
local function child_argv(o, cell, path)
  local argv = { assert(core.exe()), "verifier", "--topo", cell.topo.label, "--cell", path }
  if cell.kernel.spec then table.move({ "--kernel", cell.kernel.spec }, 1, 2, #argv + 1, argv) end
  for _, a in ipairs(o.sched_args) do
    table.move({ "--sched-arg", a }, 1, 2, #argv + 1, argv)
  end
  argv[#argv + 1] = "--"
  for _, s in ipairs(o.scheds) do argv[#argv + 1] = s.label end
  return argv
end

local function read_cell(path)
  local f = io.open(path)
  local s = f and f:read("a")
  if f then f:close() end
  os.remove(path)
  local ok, c = pcall(cjson.decode, s or "")
  return ok and type(c) == "table" and type(c.scheds) == "table" and c or nil
end

-- -j N: each cell in a child ktstr, N at once within the host's CPUs; each prints whole.
local function run_parallel(o, cells, results, labels)
  local budget = pool.host_cpus()
  local dir <close> = pool.scratch("/tmp/ktstr-verifier-")
  local jobs = {}
  for n, cell in ipairs(cells) do
    local path = ("%s/%d.json"):format(dir.path, n)
    jobs[n] = { n = n, cell = cell, path = path, cost = cell.topo.cpus,
      argv = child_argv(o, cell, path) }
  end
  local rc = pool.run(jobs, { jobs = o.jobs, budget = budget,
    on_wait = function(j, used)
      io.stderr:write(("ktstr verifier: %s %s waits for room: %d vCPUs, %d of %d in use\n")
        :format(j.cell.kernel.kern.release, j.cell.topo.label, j.cost, used, budget))
    end,
    on_done = function(j, r)
      local c = read_cell(j.path)
      if not c then
        local st = pool.ended(r.status)
        c = { kernel = j.cell.kernel.kern.release, topo = j.cell.topo.label,
          cpus = j.cell.topo.cpus, scheds = {}, status = "inconclusive",
          msg = ("its ktstr child ended (%s) without a result: %s"):format(st, r.err:sub(-2000)) }
        r.out = M.format_cell(c, labels)
      end
      results[j.n] = c
      io.stdout:write(r.out)
      io.stderr:write(r.err)
      io.stdout:flush()
    end })
  return rc
end

local function main(args)
  local o, code = M.parse(args)
  if not o then return code end
  local labels = {}
  for i, s in ipairs(o.scheds) do labels[i] = s.label end
  local cells, results = cells_of(o), {}
  if (o.jobs or 1) > 1 and #cells > 1 then
    local rc = run_parallel(o, cells, results, labels)
    if rc then return rc end
  else
    for n, cell in ipairs(cells) do
      local c, f = run_cell(o, cell)
      if not c then
        io.stderr:write("ktstr verifier: ", f.msg, "\n")
        return 128 + (core.signal_pending() or 2)
      end
      results[n] = c
      io.stdout:write(M.format_cell(c, labels))
      io.stdout:flush()
    end
  end
  if o.cell then
    local f = assert(io.open(o.cell, "w"))
    f:write(cjson.encode(results[1]), "\n")
    f:close()
    return M.exit_code(results)
  end
  io.stdout:write("\n", M.format_tables(results, labels))
  local n = { ok = 0, rejected = 0, inconclusive = 0 }
  for _, c in ipairs(results) do n[cell_status(c)] = n[cell_status(c)] + 1 end
  print(("%d cell%s: %d loaded every scheduler, %d rejected one, %d inconclusive")
    :format(#results, #results == 1 and "" or "s", n.ok, n.rejected, n.inconclusive))
  return M.exit_code(results)
end

-- scripts loaded here must not end ktstr: os.exit is the script's error
M.main = fault.guarded(main)

return M
