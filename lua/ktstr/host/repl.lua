-- `ktstr repl`: the host's prompt and its sessions (its own guest or a held one).
local core = require("ktstr.core")
local chunk = require("ktstr.chunk")
local argparse = require("ktstr.host.argparse")
local fault = require("ktstr.fault")
local protocol = require("ktstr.protocol")
local show = require("ktstr.show")

local M = {}

local HELP = [[
Each chunk runs in the guest, in one environment that lives across chunks:
  ktstr     the test vocabulary (ktstr.cgroup, ktstr.op, ktstr.work, ...)
  core      ktstr.core in the guest (cgroups, workers, sleep, ...)
  ctx       the executor: ctx:op(ktstr.op.add_cgroup(ktstr.cgroup("a"):workers(2))),
            ctx:sleep(1), ctx:stats(), ctx:execute_defs{...}, ctx.topo,
            ctx:attach_scheduler() / ctx:detach_scheduler() (with --scheduler)
  sched     sched_ext's state: sched.state(), sched.ops(), sched.kernel_log()
  print     prints here
Globals persist (x = 1); locals end with their chunk. An expression prints its value.
:host CHUNK   runs CHUNK on the host: ktstr.snapshot(name), ktstr.monitor_samples(n),
              ktstr.facts, guest (the VM handle), obs (the observer)
:help         this text
:quit         power the guest off and leave (Ctrl-D too; when attached, Ctrl-D detaches)
:detach       when attached to a held guest: leave it running
Ctrl-C stops the running chunk (twice: kills the guest's evaluator, losing its state).
]]

-- Sessions ---------------------------------------------------------------------------------------
--
-- What the prompt talks to: eval(id, chunk), host(id, chunk, interrupted),
-- interrupt(force), poll(timeout) -> message | nil (nothing yet) | nil,
-- failure (the guest is gone). A Session owns the guest (ktstr repl, or the
-- holder of ktstr script --hold); a Remote reaches a held guest through its
-- holder's socket.

local Session = {}
Session.__index = Session

-- The host chunk's environment: ktstr with the host's extras over the vocabulary.
local function host_env(self, out)
  local api = { facts = self.h.facts }
  function api.snapshot(name)
    local snap, err = self.obs:capture(name or "repl")
    if not snap then error("ktstr.snapshot: " .. err, 2) end
    return require("ktstr.host.snapshot").new(snap)
  end
  function api.monitor_samples(n)
    if self.obs.off then error("ktstr.monitor_samples: the monitor is off: " .. self.obs.off, 2) end
    local list = self.obs.samples
    return table.move(list, math.max(1, #list - (n or 10) + 1), #list, 1, {})
  end
  local ktstr = setmetatable({}, { __index = function(_, k)
    if api[k] ~= nil then return api[k] end
    return require("ktstr")[k]
  end })
  return chunk.environment({ ktstr = ktstr, core = core, guest = self.h, obs = self.obs }, out)
end

--[[
info: name (shown), sched (the guest's plan: name, ops_name, argv), attach
(start it with the session), duration_s (ctx.duration_s). A host chunk's
output goes to session.on_out(msg) as it comes, when set; else to poll.
]]
function M.session(h, obs, info)
  local self = setmetatable({ h = h, obs = obs, info = info or {}, queue = {} }, Session)
  self.env = host_env(self, function(s)
    local msg = { t = "repl_out", id = self.host_id, data = s }
    if self.on_out then self.on_out(msg) else self.queue[#self.queue + 1] = msg end
  end)
  return self
end

-- Starts (or, after a detach, rejoins) the guest's evaluator; returns its hello or nil, failure.
function Session:start()
  local t = self.h.topo
  local ok, f = self.h:send({ t = "repl", duration_s = self.info.duration_s or 5,
    topo = { numa_nodes = t.numa_nodes, llcs = t.llcs, cores = t.cores, threads = t.threads },
    sched = self.info.sched, attach = self.info.attach })
  if not ok then return nil, f end
  while true do
    local msg, err = self.obs:recv(60)
    if not msg then return nil, err end
    if msg.t == "repl_ready" then
      if msg.error then
        return nil, fault.failure("agent", "the guest's evaluator did not start: " .. msg.error)
      end
      return msg
    end
  end
end

function Session:alive()
  local st, _, code = self.h.qvm:wait(0)
  return not st and code == "ETIMEDOUT"
end

function Session:poll(timeout)
  if #self.queue > 0 then return table.remove(self.queue, 1) end
  local msg, f = self.obs:recv(timeout)
  if msg then return msg end
  -- a timeout reads the console, where a kernel warning looks like a panic
  if f.kind == "timeout" or (f.kind == "panic" and self:alive()) then return nil end
  return nil, f
end

function Session:eval(id, src)
  return self.h:send({ t = "repl_eval", id = id, chunk = src })
end

function Session:interrupt(force)
  return self.h:send({ t = "repl_interrupt", force = force or nil })
end

-- Runs a chunk here; interrupted() is asked every few thousand instructions.
function Session:host(id, src, interrupted)
  self.host_id = id
  local f, err = chunk.compile(src, self.env, "=host")
  local ok, text = false, err
  if f then
    debug.sethook(function()
      if interrupted() then error("interrupted", 2) end
    end, "", 10000)
    ok, text = chunk.call(f)
    debug.sethook()
  end
  self.queue[#self.queue + 1] = { t = "repl_result", id = id, ok = ok,
    text = ok and text or nil, err = not ok and text or nil }
  return true
end

local Remote = {}
Remote.__index = Remote

function Remote:send(m)
  local ok, err = self.conn:send(protocol.encode(m))
  if not ok then return nil, fault.failure("gone", "the holding ktstr went away: " .. err) end
  return true
end

function Remote:eval(id, src) return self:send({ t = "repl_eval", id = id, chunk = src }) end
function Remote:host(id, src) return self:send({ t = "repl_host", id = id, chunk = src }) end
function Remote:interrupt(force)
  return self:send({ t = "repl_interrupt", force = force or nil })
end

function Remote:poll(timeout)
  local raw, err, code = self.conn:recv(timeout)
  if not raw then
    if code == "ETIMEDOUT" or code == "EINTR" then return nil end
    return nil, fault.failure("gone", "the holding ktstr went away: " .. err)
  end
  local msg, perr = protocol.decode(raw)
  if not msg then
    io.stderr:write("ktstr repl: ignored a malformed message from the holder: ", perr, "\n")
  end
  return msg
end

-- Leaves the held guest (quit: powers it off first, and waits until it is).
function Remote:close(quit)
  if self:send({ t = quit and "repl_quit" or "repl_detach" }) then
    local deadline = core.now() + 30
    while core.now() < deadline do
      local msg, f = self:poll(0.5)
      if f or (msg and msg.t == "repl_bye") then break end
    end
  end
  self.conn:close()
end

-- The prompt ------------------------------------------------------------------------------------

local Ui = {}
Ui.__index = Ui

-- The next line: a string, nil at the end of input, false after Ctrl-C at a
-- terminal (a fresh prompt); piped, nil, "interrupted" once a signal came
-- while we waited (that ends the session: nobody is there to type again).
function Ui:read_line(prompt)
  if self.tty then return core.readline(prompt) end
  local buf = self.inbuf or ""
  while not buf:find("\n", 1, true) do
    local data = core.stdin_read()
    if data == false then
      self.inbuf = buf
      return nil, "interrupted"
    end
    if not data then
      -- the last line may lack its newline, as io.read("l") would return it
      self.inbuf = ""
      if buf == "" then return nil end
      return buf
    end
    buf = buf .. data
  end
  local line, rest = buf:match("^([^\n]*)\n(.*)$")
  self.inbuf = rest
  return line
end

-- What the guest wrote reaches the terminal through show.text: no escape sequence acts on it.
function Ui:error(msg)
  io.stderr:write(show.text(msg), "\n")
  io.stderr:flush()
  self.failed = true
end

--[[
One chunk: lines until they compile (an incomplete chunk asks for more, as
lua.c does), a :command, nil at the end of input, false after Ctrl-C.
Returns text, kind ("guest", "host" or "meta"); nil, "interrupted" when a
signal ended a piped session's wait.
]]
function Ui:read_chunk()
  local buf, kind, whole
  while true do
    local line, why = self:read_line(buf and ">> " or "> ")
    if line == false then
      io.stdout:write("\n")
      return false
    end
    if why then return nil, why end
    if line == nil then
      -- an unfinished chunk at the end of input: compiling it says what is missing
      return buf, kind
    end
    if buf then
      buf, whole = buf .. "\n" .. line, whole .. "\n" .. line
    else
      local cmd, rest = line:match("^%s*:(%a+)%s*(.-)%s*$")
      if cmd == "host" and rest ~= "" then
        buf, kind, whole = rest, "host", line
      elseif cmd then
        if self.tty then core.history_add(line) end
        return line, "meta"
      elseif line:match("%S") then
        buf, kind, whole = line, "guest", line
      end
    end
    if buf then
      local _, _, incomplete = chunk.compile(buf)
      if not incomplete then
        if self.tty then core.history_add(whole) end
        return buf, kind
      end
    end
  end
end

function Ui:show(msg)
  if msg.ok then
    if msg.text and msg.text ~= "" then io.stdout:write(show.text(msg.text), "\n") end
    io.stdout:flush()
  else
    self:error(msg.err or "error")
  end
end

-- Sends a chunk and waits for its result, passing Ctrl-C on as an interrupt.
function Ui:run(kind, src)
  self.next_id = self.next_id + 1
  local id, b = self.next_id, self.b
  local ok, f
  if kind == "host" then
    local seen = core.sigint_count()
    ok, f = b:host(id, src, function() return core.sigint_count() ~= seen end)
  else
    ok, f = b:eval(id, src)
  end
  if not ok then return "dead", f end
  local seen, stops = core.sigint_count(), 0
  while true do
    local msg, err = b:poll(0.1)
    if core.sigint_count() ~= seen then
      seen, stops = core.sigint_count(), stops + 1
      b:interrupt(stops > 1)
      if stops == 1 and self.tty then
        io.stderr:write("(interrupting; Ctrl-C again kills the guest's evaluator)\n")
      end
    end
    if msg then
      if msg.t == "repl_out" then
        local out = msg.fd == "stderr" and io.stderr or io.stdout
        out:write(show.text(msg.data))
        out:flush()
      elseif msg.t == "repl_result" and msg.id == id then
        return self:show(msg)
      elseif msg.t == "repl_dead" then
        return "dead", fault.failure("dead", msg.msg)
      end
    elseif err then
      return "dead", err
    end
  end
end

function Ui:meta(line)
  local cmd = line:match("^%s*:(%a+)")
  if cmd == "quit" or cmd == "q" or cmd == "exit" then return "quit" end
  if cmd == "detach" and self.attached then return "detach" end
  if cmd == "help" then
    io.stdout:write(HELP)
    io.stdout:flush()
  elseif cmd == "host" then
    self:error(":host needs a chunk: :host ktstr.snapshot('now')")
  elseif cmd == "detach" then
    self:error(":detach: this prompt owns its guest (:quit powers it off)")
  else
    self:error(("unknown command ':%s' (:help lists them)"):format(cmd))
  end
end

-- Reads and runs chunks until the input ends; returns how: "eof", "quit", "detach", "dead", f.
function Ui:loop()
  while true do
    local src, kind = self:read_chunk()
    if src == nil and kind == "interrupted" then
      return "dead", fault.failure("interrupted", "interrupted while waiting for input")
    end
    if src == nil then return "eof" end
    if src then
      local how, f
      if kind == "meta" then
        how = self:meta(src)
      else
        local fn, err = chunk.compile(src)
        if fn then
          how, f = self:run(kind, src)
        else
          self:error(err)
        end
      end
      if how then return how, f end
    end
  end
end

local function history_path()
  return require("ktstr.host.kernel").cache_dir() .. "/repl_history"
end

--[[
Runs the prompt over backend b until the input ends, :quit, :detach or the
guest dies; returns the exit code: 1 when the guest died, or when a chunk
failed in a piped session; else 0.
]]
function M.interact(b, opts)
  local ui = setmetatable({ b = b, tty = core.isatty(0), failed = false, next_id = 0,
    attached = opts.attached }, Ui)
  local hist = ui.tty and history_path()
  if hist then core.history_load(hist) end
  local how, f = ui:loop()
  if hist then
    core.mkdir_p(hist:match("^(.*)/"))
    core.history_save(hist)
  end
  if how == "dead" then
    if f.kind == "interrupted" then return fault.EXIT.interrupted end
    if f.kind == "gone" or f.kind == "dead" then
      io.stderr:write("ktstr repl: ", show.text(f.msg), "\n")
    else
      f.msg = "the guest died under the prompt: " .. f.msg
      io.stderr:write(require("ktstr.host.vm").format_failure(f))
    end
    return 1
  end
  if opts.attached then b:close(how == "quit") end
  return (ui.failed and not ui.tty) and 1 or 0
end


-- Holding a guest (ktstr script --hold) ---------------------------------------------------------

local function encode_to(conn, m)
  return conn:send(protocol.encode(m))
end

--[[
Keeps a guest that ran a test up for `ktstr repl --attach ID`: listens on
repl.sock in its run dir, serves one attached prompt at a time (others are
turned away), keeps the observer sampling and answering. Returns on Ctrl-C,
when the prompt says :quit, or when the guest dies; the caller powers it off.
info: as M.session's.
]]
function M.hold(h, obs, info)
  local lst, err = core.unix_listen(h.run_dir .. "/repl.sock")
  if not lst then
    io.stderr:write("ktstr: --hold: ", err, "\n")
    return
  end
  local id = h.run_dir:match("ktstr%-([^/]+)$") or h.run_dir
  io.stdout:flush()
  -- one write: whoever watches for this line must not see half of it
  io.stderr:write(("ktstr: %s: guest held: attach with `ktstr repl --attach %s`; " ..
    "Ctrl-C to stop\n"):format(info.name or "guest", id))
  io.stderr:flush()
  assert(core.sigint_catch(true))
  local stop = core.sigint_count()
  local s = M.session(h, obs, info)
  local started, client, pending = false, nil, {}

  local function drop_client()
    if client then client:close() end
    client, pending = nil, {}
  end
  local function to_client(m)
    if client and not encode_to(client, m) then drop_client() end
  end
  s.on_out = to_client
  -- the next request of the attached prompt: a table, nil (none yet) or false (it left)
  local function from_client(timeout)
    if #pending > 0 then return table.remove(pending, 1) end
    local raw, _, code = client:recv(timeout)
    if not raw then return code ~= "ETIMEDOUT" and code ~= "EINTR" and false or nil end
    local m, perr = protocol.decode(raw)
    if not m then io.stderr:write("ktstr: --hold: ignored a malformed message: ", perr, "\n") end
    return m
  end
  local function interrupted()
    if core.sigint_count() ~= stop then return true end
    local m = client and from_client(0)
    if m and m.t == "repl_interrupt" then return true end
    if m then pending[#pending + 1] = m end
    return false
  end

  while core.sigint_count() == stop do
    local c = lst:accept(0)
    if c and client then
      encode_to(c, { t = "repl_busy", msg = "another prompt is attached to this guest" })
      c:close()
    elseif c then
      client = c
      local hello, f = s:start()
      if not hello then
        to_client({ t = "repl_dead", msg = f.msg })
        break
      end
      to_client({ t = "repl_hello", id = id, name = info.name, topo = core.topo_format(h.topo),
        note = not started and hello.note or nil })
      started = true
    end
    local msg, f = s:poll(client and 0.02 or 0.1)
    if msg then
      to_client(msg)
    elseif f then
      to_client({ t = "repl_dead", msg = "the guest died: " .. f.msg })
      io.stderr:write("ktstr: held guest died: ", show.text(f.msg), "\n")
      break
    end
    local m = client and from_client(0.02)
    if m == false then
      drop_client()
    elseif m then
      if m.t == "repl_eval" then
        s:eval(m.id, m.chunk)
      elseif m.t == "repl_host" then
        s:host(m.id, m.chunk, interrupted)
      elseif m.t == "repl_interrupt" then
        s:interrupt(m.force)
      elseif m.t == "repl_detach" then
        to_client({ t = "repl_bye" })
        drop_client()
      elseif m.t == "repl_quit" then
        -- say bye once the guest is off: the prompt waits for it
        h:shutdown(10)
        to_client({ t = "repl_bye" })
        drop_client()
        break
      end
    end
  end
  drop_client()
  lst:close()
  core.sigint_catch(false)
end

-- The command ------------------------------------------------------------------------------------

local CMD = argparse.command("repl", {
  synopsis = "[options] | ktstr repl --attach ID",
  about = "A Lua prompt whose chunks run in a guest (piped stdin: no prompts, results on\n" ..
    "stdout). Exit: 0; 1 the guest died or a piped chunk failed; 2 bad options.",
  valued = { ["--topo"] = "topo", ["--memory-mib"] = "memory_mib", ["--kernel"] = "kernel",
    ["--scheduler"] = "scheduler", ["--ops-name"] = "ops_name", ["--attach"] = "attach",
    ["--disk"] = "disk" },
  lists = { ["--sched-arg"] = "sched_args" },
  flags = { ["-v"] = "verbose", ["--verbose"] = "verbose", ["--console"] = "console",
    ["--no-restore"] = "no_restore" },
  positional = "reject", reject = "chunks come on stdin",
  doc = {
    { "--topo T", "the guest's topology, e.g. 1n2l2c1t (default 1n1l2c1t)" },
    { "--memory-mib N", "guest memory in MiB (default: the topology's)" },
    { "--kernel K", "a version, a built kernel's key, a vmlinux/bzImage or a kernel tree (built" ..
      " first if need be) (KTSTR_KERNEL)" },
    { "--scheduler S", "start scheduler binary S first and wait for its enable" },
    { "--ops-name N", "with --scheduler: insist on this sched_ext ops name" },
    { "--sched-arg A", "with --scheduler: one more argument (repeatable)" },
    { "--disk SIZE", "attach a scratch disk of SIZE (e.g. 256M) for the IO work types and" ..
      " io_weight" },
    { "--attach ID", "join a guest held by ktstr script --hold" },
    { "--console", "copy the guest console to stderr" },
    { "--no-restore", "boot the guest instead of restoring a saved one (KTSTR_NO_RESTORE=1)" },
    { "-v, --verbose", "boot timings on stderr" },
    { "-h, --help", "this text" },
  },
})
local bad = CMD.bad
M.HELP = CMD.help

function M.parse(args)
  local o, err = CMD.parse(args, { kernel = os.getenv("KTSTR_KERNEL") })
  if not o then return nil, err end
  local okn, nerr = argparse.positive(o, "memory_mib", true)
  if not okn then return nil, bad(nerr) end
  if not o.scheduler and (o.ops_name or #o.sched_args > 0) then
    return nil, bad("--ops-name and --sched-arg go with --scheduler")
  end
  if o.attach and (o.topo or o.memory_mib or o.scheduler or o.console or o.disk) then
    return nil, bad("--attach joins a held guest as it is: no --topo, --memory-mib, --scheduler" ..
      " or --disk")
  end
  if o.disk then
    local n, why = require("ktstr.test").disk_size(o.disk)
    if not n then return nil, bad("--disk: " .. why) end
    o.disk = n
  end
  return o
end

-- --scheduler S: a binary found as ktstr script finds one, or a path; the
-- guest waits for it to enable and reads its ops name from the kernel.
function M.sched_plan(o)
  if not o.scheduler then return nil end
  local scheduler = require("ktstr.scheduler")
  local spec = o.scheduler
  local base = spec:match("([^/]+)$") or spec
  local decl = { name = base:gsub("[^%w_.-]", "_"), ops_name = o.ops_name }
  if spec:find("/", 1, true) then decl.path = spec else decl.binary = spec end
  local ok, s = pcall(scheduler.new, decl)
  if not ok then return nil, tostring(s) end
  local bin, err = scheduler.find_binary(s, assert(core.exe()):match("^(.*)/[^/]+$"))
  if not bin then return nil, err end
  local broken = require("ktstr.host.scx").check(bin)
  if broken then return nil, broken end
  return scheduler.plan(s, bin, { watchdog_timeout_s = 5, extra_sched_args = o.sched_args })
end

-- Connects to a held guest: ID is what the holder printed (a run dir's
-- suffix), or a path to the run dir or its socket. Returns the port or nil,
-- message, exit code (2: no such guest).
function M.connect(id)
  local paths = {}
  if id:find("/", 1, true) then
    paths[1] = id:match("%.sock$") and id or id:gsub("/+$", "") .. "/repl.sock"
  else
    local bases = require("ktstr.host.vm").run_dir_bases()
    for _, b in ipairs(bases) do paths[#paths + 1] = ("%s/ktstr-%s/repl.sock"):format(b, id) end
  end
  local errs = {}
  for _, p in ipairs(paths) do
    local conn, err, code = core.unix_connect(p)
    if conn then return conn end
    -- a socket file nobody listens on: the holder was killed
    if code ~= "ENOENT" then return nil, err, 1 end
    errs[#errs + 1] = p
  end
  return nil, ("no held guest '%s' (no %s)"):format(id, table.concat(errs, ", ")), 2
end

local function attach(o)
  local conn, err, code = M.connect(o.attach)
  if not conn then
    io.stderr:write("ktstr repl: --attach: ", err, "\n")
    return code
  end
  local r = setmetatable({ conn = conn }, Remote)
  local hello, f = r:poll(60)
  if not hello or hello.t ~= "repl_hello" then
    io.stderr:write("ktstr repl: --attach: ", hello and hello.msg or f and f.msg or
      "no answer from the holder", "\n")
    conn:close()
    return 1
  end
  if o.verbose or core.isatty(0) then
    io.stderr:write(("ktstr repl: attached to %s (%s, %s); :help for help, :quit powers it " ..
      "off, Ctrl-D detaches\n"):format(hello.id, hello.name or "guest", hello.topo or "?"))
  end
  if hello.note then io.stderr:write("ktstr repl: ", hello.note, "\n") end
  assert(core.sigint_catch(true))
  local rc = M.interact(r, { attached = true })
  core.sigint_catch(false)
  return rc
end

function M.main(args)
  local o, code = M.parse(args)
  if not o then return code end
  if o.attach then return attach(o) end
  local plan, perr = M.sched_plan(o)
  if perr then
    io.stderr:write("ktstr repl: ", perr, "\n")
    return 2
  end
  local kbuild = require("ktstr.host.kbuild")
  local kernel, kerr, kcode = kbuild.prepare(o.kernel)
  if kerr then
    io.stderr:write("ktstr repl: --kernel ", kerr, "\n")
    return kbuild.exit_code(kcode)
  end
  local vm = require("ktstr.host.vm")
  local h <close>, f = vm.boot({ topo = o.topo, memory_mib = o.memory_mib, kernel = kernel,
    echo_console = o.console, files = plan and plan.files, cmdline = plan and plan.cmdline,
    restore = not o.no_restore, disk = o.disk })
  if not h then
    io.stderr:write(vm.format_failure(f))
    return fault.exit_code(f.kind)
  end
  -- a scheduler started here or by hand gets the default test's watchdog timeout
  local obs = require("ktstr.host.observer").start(h, { watchdog_s = 5 })
  local s = M.session(h, obs, { name = "repl", duration_s = 5, attach = true,
    sched = require("ktstr.scheduler").wire(plan) })
  local hello, serr = s:start()
  if not hello then
    io.stderr:write(vm.format_failure(serr))
    return 1
  end
  if o.verbose or core.isatty(0) then
    local up = h.timings[#h.timings]
    io.stderr:write(("ktstr repl: %s guest (%d CPUs, kernel %s, %s) up in %.1fs; :help for " ..
      "help, Ctrl-D or :quit powers it off\n"):format(core.topo_format(h.topo), h.topo.cpus,
      h.facts.release, h.accel, up and up[2] or 0))
  end
  if hello.note then io.stderr:write("ktstr repl: ", show.text(hello.note), "\n") end
  s.on_out = function(m)
    io.stdout:write(show.text(m.data))
    io.stdout:flush()
  end
  assert(core.sigint_catch(true))
  local rc = M.interact(s, {})
  core.sigint_catch(false)
  -- interrupted: QEMU is killed on the way out, no polite power-off to wait for
  if rc ~= fault.EXIT.interrupted then h:shutdown(10) end
  return rc
end

return M
