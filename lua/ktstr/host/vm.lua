-- Booting a guest: kernel + initramfs + QEMU, then a handle that talks to its agent.
local cjson = require("cjson")
local core = require("ktstr.core")
local fault = require("ktstr.fault")
local protocol = require("ktstr.protocol")
local restore = require("ktstr.host.restore")
local show = require("ktstr.show")

local M = {}

local Vm = {}
Vm.__index = Vm

-- Where run dirs are made, first choice first: KTSTR_RUN_DIR (specs use it
-- to find leftovers), else RAM (/dev/shm), else TMPDIR or /tmp.
function M.run_dir_bases()
  local env, bases = os.getenv("KTSTR_RUN_DIR"), {}
  if env and env ~= "" then bases[1] = env end
  bases[#bases + 1] = "/dev/shm"
  bases[#bases + 1] = os.getenv("TMPDIR") or "/tmp"
  return bases
end

-- The prefix of a run dir: ktstr-XXXXXX in the first base we can write to.
local function run_dir_base()
  local env = os.getenv("KTSTR_RUN_DIR")
  if env and env ~= "" then return env .. "/ktstr-" end
  local shm = io.open("/dev/shm/.ktstr-probe", "w")
  if shm then
    shm:close()
    os.remove("/dev/shm/.ktstr-probe")
    return "/dev/shm/ktstr-"
  end
  return (os.getenv("TMPDIR") or "/tmp") .. "/ktstr-"
end

-- A boot under TCG takes ~1 s per vCPU on a 2-core host; KVM far less.
function M.ready_timeout(cpus, kvm)
  if kvm then return 10 + cpus end
  return 30 + 5 * cpus
end

-- A kernel that gets as far as looking for its root fs proves KVM runs it.
local function kvm_probe(kern)
  local p = core.spawn(core.qemu_argv({ probe = true, kvm = true,
    kernel = kern.vmlinux or kern.bzimage }), { merge_stderr = true })
  if not p then return false end
  local out, deadline = {}, core.now() + 15
  local works = false
  while core.now() < deadline do
    local which, data = p:read(math.max(0.01, deadline - core.now()))
    if not which then break end
    out[#out + 1] = data
    if table.concat(out):find("Kernel panic", 1, true) then
      works = true
      break
    end
  end
  p:close()
  return works
end

--[[
Whether to use KVM: KTSTR_ACCEL=kvm|tcg decides; else /dev/kvm must open and
a probe boot of this kernel must work (a nested /dev/kvm can open yet fail on
real guests). The probe's answer is kept per host kernel and guest kernel.
]]
function M.use_kvm(kern)
  local env = os.getenv("KTSTR_ACCEL")
  if env == "kvm" or env == "tcg" then return env == "kvm" end
  if not core.kvm_usable() then return false end
  local dir = require("ktstr.host.kernel").cache_dir() .. "/accel"
  local file = ("%s/%s--%s"):format(dir, core.uname().release, kern.release)
  local f = io.open(file)
  if f then
    local v = f:read("l")
    f:close()
    return v == "kvm"
  end
  local works = kvm_probe(kern)
  if not works then
    io.stderr:write("ktstr: /dev/kvm opens but cannot run the guest kernel; using TCG ",
      "(set KTSTR_ACCEL=kvm to force it)\n")
  end
  core.mkdir_p(dir)
  f = io.open(file, "w")
  if f then
    f:write(works and "kvm\n" or "tcg\n")
    f:close()
  end
  return works
end

local PANIC_PATTERNS = { "Kernel panic %- not syncing[^\n]*", "BUG: [^\n]*", "Oops[^\n]*" }

-- What went wrong, judged from the console: a panic names its reason.
function M.diagnose(console)
  for _, pat in ipairs(PANIC_PATTERNS) do
    local line = console:match(pat)
    if line then return "panic", line end
  end
  return nil
end

local function tail_lines(s, n)
  local lines = {}
  for line in s:gmatch("[^\n]*") do lines[#lines + 1] = line end
  while #lines > 0 and lines[#lines] == "" do lines[#lines] = nil end
  local first = math.max(1, #lines - n + 1)
  return table.concat(lines, "\n", first)
end

-- A structured failure: kind (boot_timeout, panic, qemu_exit, interrupted, ...),
-- message, console tail, QEMU's stderr; oops when the kernel Oopsed or hit a BUG.
function Vm:failure(kind, msg)
  fault.failure(kind, msg)  -- a kind nobody listed is our bug
  local console = self.qvm and self.qvm:console_tail(16384) or ""
  local pkind, pline = M.diagnose(console)
  if pkind and kind ~= "interrupted" then
    kind, msg = "panic", ("guest kernel panic: %s"):format(pline)
  end
  -- no /init (a busybox shell instead, or no root at all): the image was cut short
  local hint = ""
  if kind ~= "interrupted" and (console:find("VFS: Unable to mount root fs", 1, true)
      or console:find("Failed to execute /init", 1, true)) then
    local base = self.initramfs and self.initramfs.base
    hint = "; the guest's initramfs did not unpack whole" .. (base and
      (" (its cached base: %s; remove it to have it built again)"):format(base) or "")
  end
  local qerr = self.qvm and self.qvm:qemu_stderr() or ""
  -- how QEMU ended: a crash (a signal) or a guest that reset itself (-no-reboot: exit 0)
  local status = kind == "qemu_exit" and self.qvm and self.qvm:wait(1) or nil
  return {
    qemu_status = status,
    kind = kind,
    msg = msg .. hint,
    hint = hint,
    console = tail_lines(console, 40),
    qemu_stderr = qerr ~= "" and qerr or nil,
    oops = (console:find("Oops", 1, true) or console:find("BUG: ", 1, true)) ~= nil,
  }
end

-- Formats a failure for a terminal: the reason first, then the evidence (the guest's
-- console and words escaped by show.text).
function M.format_failure(f)
  local out = { "ktstr: " .. f.msg }
  if f.qemu_stderr then
    out[#out + 1] = "--- qemu stderr ---\n" .. f.qemu_stderr:gsub("\n+$", "")
  end
  if f.console and f.console ~= "" then out[#out + 1] = "--- console tail ---\n" .. f.console end
  return show.text(table.concat(out, "\n") .. "\n")
end

--[[
What one test's guest may send, set by Vm:limit for the test's run: far
above any honest test, so a guest that floods the channel ends its test
inconclusive before it costs the host its memory. An honest test sends one
phase per step, one workload, one snapshot per capture and one result of a
few MB (4096 workers' reports are about 2 MB).
]]
M.TEST_LIMITS = {
  frames = 10000,       -- of any one message type, but those in per_type
  -- each one pauses the guest and keeps a copy of the scheduler's maps
  per_type = { snapshot = 1000 },
  bytes = 256 << 20,    -- all frames together
}

-- The messages a guest may send (its agent, or the REPL's evaluator through it).
local FROM_GUEST = {}
for t, m in pairs(protocol.MESSAGES) do
  for _, who in ipairs(m.from) do
    if who == "agent" or who == "evaluator" then FROM_GUEST[t] = true end
  end
end

-- Counts what the guest sends from now on against limits (M.TEST_LIMITS); nil: no limit.
function Vm:limit(limits)
  self.limits, self.received = limits, { bytes = 0, frames = {} }
end

-- Whether one more frame of n bytes, of type t when decoded, is within the limits.
function Vm:within_limits(n, t)
  local lim, got = self.limits, self.received
  if not lim then return true end
  got.bytes = got.bytes + n
  if got.bytes > lim.bytes then
    return nil, ("the guest sent more than %d MiB in one test"):format(lim.bytes >> 20)
  end
  if not t then return true end
  got.frames[t] = (got.frames[t] or 0) + 1
  local max = lim.per_type and lim.per_type[t] or lim.frames
  if got.frames[t] > max then
    return nil, ("the guest sent more than %d %s frames in one test"):format(max, t)
  end
  return true
end

function Vm:send(msg)
  local ok, err = self.qvm:send(protocol.encode(msg))
  if not ok then return nil, self:failure("channel", err) end
  return true
end

-- The next message from the agent, decoded, or nil and a failure.
function Vm:recv(timeout, quiet)
  local raw, err, code = self.qvm:recv(timeout)
  if not raw and quiet and code == "ETIMEDOUT" then
    return nil, fault.failure("timeout")  -- a poll, not a failure: no console to collect
  end
  if not raw then
    if code == "ECHILD" then
      return nil, self:failure("qemu_exit", "guest stopped before answering (QEMU exited)")
    elseif code == "EINTR" then
      return nil, self:failure("interrupted", "interrupted")
    elseif code == "ETIMEDOUT" then
      return nil, self:failure("timeout", ("no answer from the guest within %gs"):format(timeout))
    elseif code == "EBADMSG" then
      return nil, self:failure("protocol", "malformed frame from guest: " ..
        tostring(err):gsub("^recv: ", ""))
    end
    return nil, self:failure("channel", err)
  end
  local within, lerr = self:within_limits(#raw)
  if not within then return nil, self:failure("protocol", lerr) end
  local msg, perr = protocol.decode(raw)
  if not msg then return nil, self:failure("protocol", "malformed message from guest: " .. perr) end
  if not FROM_GUEST[msg.t] then
    return nil, self:failure("protocol", ("the guest sent '%s', a message only the host sends")
      :format(msg.t))
  end
  within, lerr = self:within_limits(0, msg.t)
  if not within then return nil, self:failure("protocol", lerr) end
  return msg
end

-- Runs argv in the guest; on_output(fd, data) sees its output as it comes.
function Vm:exec(argv, on_output, timeout)
  self.next_id = self.next_id + 1
  local id = self.next_id
  local ok, f = self:send({ t = "exec", id = id, argv = argv })
  if not ok then return nil, f end
  local deadline = timeout and core.now() + timeout
  while true do
    local left = deadline and math.max(0, deadline - core.now())
    local msg, err = self:recv(left)
    if not msg then
      if err.kind == "timeout" then
        err.msg = ("command did not finish within %gs: %s"):format(timeout, table.concat(argv, " "))
      end
      return nil, err
    end
    if msg.t == "out" and msg.id == id then
      if on_output then on_output(msg.fd, msg.data) end
    elseif msg.t == "exit" and msg.id == id then
      return { code = msg.code, signal = msg.signal }
    elseif msg.t == "error" then
      return nil, self:failure("agent", "guest agent: " .. msg.msg)
    end
  end
end

-- Runs a QMP command given as a table; returns the decoded "return" value.
function Vm:qmp(cmd, timeout)
  local raw, err = self.qvm:qmp(cjson.encode(cmd), timeout)
  if not raw then return nil, err end
  local reply, jerr = protocol.json(raw)
  if type(reply) ~= "table" then
    return nil, ("qmp %s: %s"):format(cmd.execute, jerr or "reply is not an object")
  end
  if reply.error then
    return nil, ("qmp %s: %s"):format(cmd.execute, type(reply.error) == "table" and
      reply.error.desc or "error")
  end
  return reply["return"]
end

-- The host threads that run each vCPU, in vCPU order.
function Vm:vcpu_threads()
  local cpus, err = self:qmp({ execute = "query-cpus-fast" })
  if not cpus then return nil, err end
  local tids = {}
  for _, c in ipairs(cpus) do
    tids[math.tointeger(c["cpu-index"]) + 1] = math.tointeger(c["thread-id"])
  end
  return tids
end

-- Guest RAM, mapped read-only from the per-node files QEMU shares with us;
-- opts.writable = true opens them for k:cas.
function Vm:guestmem(opts)
  local paths = {}
  for i = 0, self.topo.numa_nodes - 1 do
    paths[#paths + 1] = ("%s/ram%d"):format(self.run_dir, i)
  end
  return core.guestmem_open(paths, opts)
end

-- Asks the agent to power off and waits for QEMU to exit.
function Vm:shutdown(timeout)
  if self:send({ t = "poweroff" }) then
    local st = self.qvm:wait(timeout or 10)
    if st then return st end
  end
  self.qvm:kill()
  return nil
end

-- Stops QEMU and removes the run dir (--keep: says where it stays). The
-- claim goes last: until then no other ktstr takes the dir for a dead run's.
function Vm:close()
  if self.qvm then
    self.qvm:close()
    self.qvm = nil
  end
  if self.run_dir and self.keep then
    io.stderr:write("ktstr: kept the run directory ", self.run_dir, "\n")
  elseif self.run_dir then
    core.rm_rf(self.run_dir)
  end
  self.run_dir = nil
  if self.owner then
    self.owner:release()
    self.owner = nil
  end
end
Vm.__close = Vm.close
Vm.__gc = Vm.close

local function stamp(t, name, t0)
  t[#t + 1] = { name, core.now() - t0 }
end

--[[
The guest's image; mods (the scratch disk's driver modules) go in this run's
part only. late (a path): the files that differ per test stay out of the
image and are packed there instead, for after a restore (Vm:resume):
opts.run_files always, opts.files (scheduler, payloads) when files_late.
]]
local function pack(opts, kern, run_dir, mods, late, files_late)
  local initramfs = require("ktstr.host.initramfs")
  -- another Lua (the rock) has no ktstr binary to be the guest's /init
  local exe, why = core.exe()
  if not exe then return nil, why end
  local run_files = late and {} or
    table.move(opts.run_files or {}, 1, #(opts.run_files or {}), 1, {})
  if mods and #mods > 0 then
    local names = {}
    for i, m in ipairs(mods) do
      names[i] = m.name .. ".ko"
      run_files[#run_files + 1] = { src = m.path, dst = M.GUEST_MODULES .. "/" .. names[i] }
    end
    run_files[#run_files + 1] = { data = table.concat(names, "\n") .. "\n",
      dst = M.GUEST_MODULES .. "/load" }
  end
  return initramfs.build({
    ktstr = "/proc/self/exe",  -- the running binary, even if rebuilt meanwhile
    lua_dir = package.ktstr_lua_dir,
    kernel_config = kern.config,
    release = kern.release,
    files = not (late and files_late) and opts.files or nil,
    run_files = run_files,
    out = run_dir .. "/initrd.cpio",
    late = late and { files = files_late and opts.files or nil, run_files = opts.run_files,
      out = late } or nil,
  })
end

-- Where the guest looks for the modules to load (guest/disk.lua's MODULES_DIR).
M.GUEST_MODULES = "/lib/modules/ktstr"

--[[
The scratch disk's backing file: size bytes, sparse (only what the guest
writes takes room), in the run dir, so it goes with it, on every path.
]]
local function make_disk(path, size)
  local f, err = io.open(path, "wb")
  local ok = f and f:seek("set", size - 1) and f:write("\0")
  if f then
    local cok, cerr = f:close()
    ok, err = ok and cok, err or cerr
  end
  if not ok then return nil, ("scratch disk %s: %s"):format(path, tostring(err)) end
  return true
end

--[[
Whether a boot failure can go away by itself. Two are known under TCG: the
kernel's rare Oops while booting (an int3 in patched kernel text), seen as
a guest that died before its agent came up with an Oops (or a BUG) in its
console; and QEMU ending without a word of its own (QEMU's errors start
"qemu-system-ARCH: ") by a crash (a signal) or because the guest reset
itself (a triple fault, which -no-reboot turns into exit 0). A kernel QEMU
refuses, a QEMU that exits non-zero, an image that does not unpack or a
guest that just never answers fails the same way again.
]]
function M.transient(f)
  if f.kind == "qemu_exit" then
    local st = f.qemu_status
    return st ~= nil and (st.signal ~= nil or st.code == 0) and
      not (f.qemu_stderr or ""):find("qemu%-system%-[%w_]+: ")
  end
  return f.kind == "panic" and f.oops == true
end

--[[
Boots a guest and waits for its agent. opts: topo (string or table), memory_mib,
kernel (spec for kernel.resolve), kaslr (false boots nokaslr), disk (bytes:
a scratch disk of that size, its driver loaded; nil: none), echo_console,
keep, files, run_files, ready_timeout, label (names the guest in the retry notice),
restore (false: boot even when a saved guest would do, host/restore). Returns a handle
or nil, failure ({kind=, msg=, console=, qemu_stderr=}). Bad input
(topology, kernel) is kind "bad_input". A boot that failed transiently
(M.transient) is tried once more; a second such failure is kind "boot".
]]
function M.boot(opts)
  local h, f = M.boot_once(opts)
  if h or not M.transient(f) then return h, f end
  io.stderr:write(show.text(("ktstr: %s%s while booting; booting again\n"):format(
    opts.label and opts.label .. ": " or "", f.msg)))
  h, f = M.boot_once(opts)
  if not h and M.transient(f) then
    f.kind, f.msg = "boot", "the guest did not boot, twice: " .. f.msg
  end
  return h, f
end

-- Starts QEMU on argv; nil, or a failure.
local function spawn(self, argv, opts)
  local qvm, serr = core.vm_start({ argv = argv, chan = self.run_dir .. "/chan.sock",
    qmp = self.run_dir .. "/qmp.sock", console_log = self.run_dir .. "/console.log",
    echo = opts.echo_console })
  if not qvm then
    return fault.failure("setup", serr .. " (is QEMU installed? run: make deps)")
  end
  self.qvm = qvm
end

-- Waits for a booting guest's agent to say ready; the message, or nil and a failure.
local function await_boot(self, limit)
  local msg, rerr = self:recv(limit)
  if msg and msg.t == "ready" then return msg end
  local f = rerr or self:failure("protocol", "expected a ready message, got " .. tostring(msg.t))
  if f.kind == "timeout" then
    f.kind, f.msg = "boot_timeout", ("guest agent not ready within %gs%s"):format(limit,
      f.hint or "")
  elseif f.kind == "qemu_exit" then
    -- QEMU's own last word says why (a kernel it cannot load, a bad option)
    local last = f.qemu_stderr and f.qemu_stderr:match("([^\n]*%S[^\n]*)\n*$")
    f.msg = "guest stopped during boot (QEMU exited)" .. (last and ": " .. last or "")
  end
  return nil, f
end

-- What a restored guest's files travel in: base64 makes a frame 4/3 of this.
local FILES_CHUNK = 8 << 20
-- Scheduler and payload files past this go in the image instead (pack).
M.LATE_MAX = 24 << 20

--[[
A guest at ready that has none of this run's files yet (restored, or booted
to be saved): sends them (the late cpio) and the host's wall clock, and
waits for the fresh ready. Returns it, or nil and a failure.
]]
function Vm:resume(late, limit)
  local img = self.initramfs
  -- an empty late part (ktstr vm with no -i) is not worth the guest's unpacking
  local f = late and img.late and img.late.entries > 0 and io.open(late, "rb")
  while f do
    local chunk = f:read(FILES_CHUNK)
    if not chunk then break end
    local ok, fl = self:send({ t = "files", data = core.b64encode(chunk) })
    if not ok then
      f:close()
      return nil, fl
    end
  end
  if f then f:close() end
  local ok, fl = self:send({ t = "resume", wall = core.wall_clock() })
  if not ok then return nil, fl end
  local msg, err = self:recv(limit)
  if not msg then return nil, err end
  if msg.t == "error" then return nil, self:failure("agent", "guest agent: " .. msg.msg) end
  if msg.t ~= "ready" then
    return nil, self:failure("protocol", "expected ready after resume, got " .. msg.t)
  end
  return msg
end

-- Drops a guest that did not restore, so the run dir can boot one.
function Vm:discard_guest()
  if self.qvm then
    self.qvm:close()
    self.qvm = nil
  end
  for _, name in ipairs(restore.ram_files(self.argv, self.run_dir)) do
    os.remove(self.run_dir .. "/" .. name)
  end
end

--[[
Restores the saved guest into this run dir: RAM files copied in, QEMU
started with -incoming, the state loaded, the run's files sent. Returns the
ready message, or nil, why and the failure when the guest was reached.
]]
function Vm:restore(saved, late, limit)
  local t0 = self.t0
  local ok, err = restore.copy_ram(saved, self.run_dir)
  if not ok then return nil, err end
  stamp(self.timings, "copy", t0)
  local argv = table.move(self.argv, 1, #self.argv, 1, {})
  argv[#argv + 1], argv[#argv + 2] = "-incoming", "defer"
  local f = spawn(self, argv, self.opts)
  if f then return nil, f.msg end
  stamp(self.timings, "spawn", t0)
  ok, err = restore.incoming(self, saved)
  if not ok then
    -- QEMU says why it could not load the state on its stderr, and exits
    local last = (self.qvm:qemu_stderr() or ""):match("([^\n]*%S[^\n]*)\n*$")
    return nil, last and ("%s; %s"):format(err, last) or err
  end
  stamp(self.timings, "restore", t0)
  local msg, rf = self:resume(late, limit)
  if not msg then return nil, rf.msg, rf end
  return msg
end

-- Takes the ready message's facts: topology, disk, where the kernel sits. nil or a failure.
function Vm:take_facts(msg, disk)
  self.facts = msg.facts
  local df = msg.facts.disk
  if disk and not (df and df.dev) then
    return fault.failure("setup", "the guest has no scratch disk: " ..
      (df and df.error or "the guest found no disk with its serial"))
  end
  local kf = msg.facts.kernel
  self.ksyms = require("ktstr.host.kmem").boot_symbols(self.kernel, self.cached_syms,
    kf and kf.syms)
end

function M.boot_once(opts)
  local t0 = core.now()
  local timings = {}
  local topo, err = M.topology(opts.topo or "1n1l2c1t", opts.memory_mib)
  if not topo then return nil, fault.failure("bad_input", err) end
  local kernel = require("ktstr.host.kernel")
  local kern, kerr = kernel.resolve(opts.kernel)
  if not kern then return nil, fault.failure("bad_input", kerr) end
  local mods
  if opts.disk then
    mods, kerr = kernel.modules(kern, { "virtio_blk" })
    if not mods then return nil, fault.failure("setup", "scratch disk: " .. kerr) end
  end
  stamp(timings, "kernel", t0)

  local run_dir, derr = core.mkdtemp(run_dir_base())
  if not run_dir then return nil, fault.failure("setup", derr) end
  -- the dir names its owner: if we die, the next ktstr start reclaims it (host/reclaim)
  local owner, oerr = core.owner_claim(run_dir, opts.keep)
  if not owner then
    core.rm_rf(run_dir)
    return nil, fault.failure("setup", oerr)
  end
  local self = setmetatable({ run_dir = run_dir, owner = owner, keep = opts.keep, next_id = 0,
    topo = topo, kernel = kern, timings = timings, t0 = t0, opts = opts }, Vm)

  local disk = opts.disk and run_dir .. "/disk.img"
  local late = restore.wanted(opts.restore) and run_dir .. "/late.cpio" or nil
  local img, perr = pack(opts, kern, run_dir, mods, late, true)
  if img and img.late and img.late.size > M.LATE_MAX then
    -- the channel moves ~12 MB/s under TCG: big programs go in the image (cached), and the
    -- saved guest is then theirs alone
    img, perr = pack(opts, kern, run_dir, mods, late, false)
  end
  if img and disk then
    local ok, merr = make_disk(disk, opts.disk)
    if not ok then img, perr = nil, merr end
  end
  if not img then
    self:close()
    return nil, fault.failure("setup", perr)
  end
  self.initramfs = img
  stamp(timings, "initramfs", t0)

  local kvm = M.use_kvm(kern)
  self.accel = kvm and "kvm" or "tcg"
  local gk = require("ktstr.host.kmem")
  self.cached_syms = gk.cached_symbols(kern)
  local cmdline = (opts.cmdline and opts.cmdline .. " " or "") ..
    gk.cmdline_request(self.cached_syms)
  -- KASLR happens in the bzImage's decompressor: the PVH entry of a bare vmlinux skips it
  if opts.kaslr == false then cmdline = cmdline .. " nokaslr" end
  local kpath = opts.kaslr == false and kern.vmlinux or kern.bzimage or kern.vmlinux
  local argv = core.qemu_argv({
    qemu = opts.qemu, kernel = kpath, initrd = img.path,
    chan = run_dir .. "/chan.sock", qmp = run_dir .. "/qmp.sock", kvm = kvm,
    cmdline = cmdline, disk = disk,
  })
  for _, a in ipairs(core.topo_qemu_args(topo, run_dir)) do argv[#argv + 1] = a end
  self.argv = argv

  local limit = opts.ready_timeout or M.ready_timeout(topo.cpus, kvm)
  local mod_paths = {}
  for i, m in ipairs(mods or {}) do mod_paths[i] = m.path end
  local key = late and restore.key({ argv = argv, run_dir = run_dir, kernel = kpath,
    image = img.hash, files = mod_paths, disk = opts.disk })
  local saved = key and restore.find(key)
  local msg, f
  if saved then
    -- a restored guest answers at once; its files move at ~12 MB/s under TCG
    local rlimit = math.min(limit, 10 + (img.late and img.late.size or 0) / (4 << 20))
    local why
    msg, why, f = self:restore(saved, late, rlimit)
    if msg then
      self.restored = key
    elseif (f and f.kind == "interrupted") or core.signal_pending() then
      self:close()
      return nil, f or fault.failure("interrupted", "interrupted")
    else
      self:discard_guest()
      restore.failed(saved, why)
      saved = restore.find(key)
    end
  end
  if not msg then
    f = spawn(self, argv, opts)
    if not f then
      stamp(timings, "spawn", t0)
      msg, f = await_boot(self, limit)
    end
    if msg and late then
      stamp(timings, "boot", t0)
      if key and not saved then
        local ok, serr = restore.save(self, key, { kernel = kern.release, kernel_path = kpath,
          topo = opts.topo, memory_mib = topo.memory_mib, accel = self.accel })
        if not ok then
          io.stderr:write("ktstr: saving the booted guest for later runs failed: ",
            tostring(serr), "; this run goes on\n")
        end
        stamp(timings, "save", t0)
      end
      msg, f = self:resume(late, limit)
    end
  end
  if not msg then
    self:close()
    return nil, f
  end
  f = self:take_facts(msg, disk)
  if f then
    self:close()
    return nil, f
  end
  stamp(timings, "ready", t0)
  return self
end

-- Parses and validates a topology given as "1n2l2c1t" or a table.
function M.topology(spec, memory_mib)
  local t, err
  if type(spec) == "string" then
    t, err = core.topo_parse(spec)
    if not t then return nil, err end
  else
    t = spec
  end
  if memory_mib then t.memory_mib = memory_mib end
  return core.topo_validate(t)
end

return M
