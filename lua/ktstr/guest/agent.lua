-- The guest agent: PID 1's Lua side; reports the guest's facts, then serves the host.
local core = require("ktstr.core")
local disk = require("ktstr.guest.disk")
local fault = require("ktstr.fault")
local protocol = require("ktstr.protocol")
local registry = require("ktstr.test")
local repl = require("ktstr.guest.repl")
local scenario = require("ktstr.guest.scenario")

local M = {}

M.PORT = "org.ktstr.0"

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return (s:gsub("%s+$", ""))
end

-- "0-2,5" -> {0, 1, 2, 5}; {} for a missing file or a list the kernel would not print
function M.parse_cpulist(s)
  return core.cpulist_parse(s or "") or {}
end

-- What the host needs to read this kernel's memory: where the image sits in
-- RAM and, when asked on the command line (no cached copy on the host), the
-- addresses of a few symbols. Reading /proc/kallsyms costs ~0.7 s under TCG.
function M.kernel_facts(symbols)
  local iomem = read_file("/proc/iomem") or ""
  local code = iomem:match("(%x+)%-%x+ : Kernel code")
  local k = { code_phys = code and ("0x" .. code) }
  if symbols then
    local syms, err = core.kallsyms(symbols)
    k.syms, k.syms_error = syms, err
  end
  return k
end

local function wanted_symbols()
  local list = (read_file("/proc/cmdline") or ""):match("ktstr%.kallsyms=(%S+)")
  if not list then return nil end
  local out = {}
  for name in list:gmatch("[^,]+") do out[#out + 1] = name end
  return out
end

-- The topology as this kernel sees it, for the host to compare with what it asked for.
function M.facts()
  local sys = "/sys/devices/system"
  local cpus = {}
  for _, cpu in ipairs(M.parse_cpulist(read_file(sys .. "/cpu/online"))) do
    local d = ("%s/cpu/cpu%d"):format(sys, cpu)
    cpus[#cpus + 1] = {
      cpu = cpu,
      llc = read_file(d .. "/cache/index3/shared_cpu_list"),
      siblings = read_file(d .. "/topology/thread_siblings_list"),
      core_id = tonumber(read_file(d .. "/topology/core_id")),
      die_id = tonumber(read_file(d .. "/topology/die_id")),
      package_id = tonumber(read_file(d .. "/topology/physical_package_id")),
    }
  end
  local nodes = {}
  for n = 0, 63 do
    local list = read_file(("%s/node/node%d/cpulist"):format(sys, n))
    if not list then break end
    nodes[#nodes + 1] = list
  end
  local uptime = read_file("/proc/uptime")
  return {
    release = core.uname().release,
    cpus = cpus,
    nodes = nodes,
    uptime_s = uptime and tonumber(uptime:match("^(%S+)")),
    sched_ext = read_file("/sys/kernel/sched_ext/state"),
    kernel = M.kernel_facts(wanted_symbols()),
    disk = M.disk,
  }
end

local function sender(port)
  return function(msg)
    local ok, err = port:send(protocol.encode(msg))
    if not ok then error("agent: " .. err, 0) end
  end
end

-- Set while the agent serves the host; scenarios reach the host through these.
local link

-- Tells the host something (phase changes); no answer expected.
function M.notify(msg)
  if link then link.send(msg) end
end

--[[
Asks the host to do something while the guest waits (a snapshot pauses
every vCPU, this one included). Returns the answer, or nil and a message.
]]
function M.host_call(msg, timeout)
  if not link then return nil, "no host is listening (not run by the agent)" end
  link.next_id = link.next_id + 1
  msg.call = link.next_id
  link.send(msg)
  while true do
    local raw, err = link.port:recv(timeout or 60)
    if not raw then return nil, "waiting for the host: " .. err end
    local reply = protocol.decode(raw)
    if reply and reply.call == msg.call then
      if reply.error then return nil, reply.error end
      return reply
    end
  end
end

local handlers = {}

-- Runs argv, streaming its output as it comes, then its exit status.
function handlers.exec(msg, send)
  local p, err = core.spawn(msg.argv)
  if not p then
    send({ t = "out", id = msg.id, fd = "stderr", data = err .. "\n" })
    send({ t = "exit", id = msg.id, code = 127 })
    return
  end
  -- Ends when the command exits: children it left in the background may hold
  -- its output open forever, so after the exit only what is already there is read.
  local st
  while true do
    local which, data, code = p:read(st and 0.05 or 0.2)
    if which then
      send({ t = "out", id = msg.id, fd = which, data = data })
    elseif code == "ETIMEDOUT" then
      if st then break end
      st = p:wait(0)
    else
      if data then send({ t = "out", id = msg.id, fd = "stderr", data = data .. "\n" }) end
      break
    end
  end
  st = st or p:wait()
  p:close()
  send({ t = "exit", id = msg.id, code = st.code, signal = st.signal })
end

function handlers.facts(msg, send)
  send({ t = "facts", id = msg.id, facts = M.facts() })
end

-- Loads the script as the host did (text only) and runs one of its tests.
local function run_test(msg)
  registry.reset()
  local chunk, lerr = loadfile(msg.script, "t")
  local ok, err = chunk ~= nil, lerr
  if chunk then ok, err = pcall(chunk) end
  if not ok then
    local f = fault.classify(err)
    f.msg = "loading " .. msg.script .. " in the guest: " .. f.msg
    return { fault = fault.plain(f) }
  end
  for _, t in ipairs(registry.registry()) do
    if t.name == msg.test then
      -- a gauntlet variant runs the test on another topology than it declares
      return scenario.run(t, msg.topo or t, msg.sched,
        { call = M.host_call, notify = M.notify, sleep = core.sleep })
    end
  end
  return { fault = { kind = "internal",
    msg = ("no test '%s' in %s in the guest"):format(msg.test, msg.script) } }
end

function handlers.run_test(msg, send)
  local ok, result = xpcall(run_test, debug.traceback, msg)
  if not ok then
    result = { fault = { kind = "internal", msg = "ktstr internal error: " .. tostring(result) } }
  end
  local reply = { t = "result", id = msg.id, result = result }
  local fits, err = protocol.check(reply)
  if not fits then
    reply.result = { fault = { kind = "internal", msg = "ktstr internal error: " .. err } }
  end
  send(reply)
end

-- `ktstr repl`: relays between the host and the guest's evaluator until the host leaves.
function handlers.repl(msg, send)
  return repl.relay(msg, send, link.port)
end

-- A restored guest's per-run files arrive in pieces of one cpio, unpacked on resume.
local FILES = "/tmp/.ktstr-files.cpio"

function handlers.files(msg, send)
  local data = core.b64decode(msg.data)
  local f = data and io.open(FILES, "ab")
  local ok = f and f:write(data)
  if f then ok = f:close() and ok end
  if not ok then send({ t = "error", msg = "files: cannot keep them in " .. FILES }) end
end

local S_IFMT, S_IFDIR, S_IFREG = 0xf000, 0x4000, 0x8000

local function align4(off) return (off + 3) & ~3 end

-- One file of the archive written out: its directories, its bytes, its mode.
local function put_file(path, mode, body)
  local dir = path:match("^(.*)/[^/]*$")
  if dir and dir ~= "" then
    local ok, err = core.mkdir_p(dir)
    if not ok then return nil, err end
  end
  os.remove(path)
  local f, err = io.open(path, "wb")
  local ok = f and f:write(body)
  if f then ok = f:close() and ok end
  if not ok then return nil, path .. ": " .. tostring(err or "write failed") end
  return core.chmod(path, mode & 0xfff)
end

--[[
Unpacks the newc cpio the host's initramfs.build wrote (directories and
regular files; it writes no others into a late part) under root (default
/). In-process: an exec of busybox cpio costs ~0.2 s in a guest TCG has
just restored. Returns true, or nil and why.
]]
function M.unpack(data, root)
  local off = 0
  while true do
    local hdr = data:sub(off + 1, off + 110)
    if #hdr < 110 or hdr:sub(1, 6) ~= "070701" then
      return nil, ("not a newc cpio at byte %d"):format(off)
    end
    local function field(i) return tonumber(hdr:sub(7 + 8 * i, 14 + 8 * i), 16) end
    local mode, size, namesize = field(1), field(6), field(11)
    if not (mode and size and namesize and namesize > 0) then
      return nil, ("a bad cpio header at byte %d"):format(off)
    end
    local name = data:sub(off + 111, off + 109 + namesize)
    off = align4(off + 110 + namesize)
    if name == "TRAILER!!!" then return true end
    local path, kind = (root or "") .. "/" .. name:gsub("^/+", ""), mode & S_IFMT
    local ok, err
    if kind == S_IFDIR then
      ok, err = core.mkdir_p(path, mode & 0xfff)
    elseif kind == S_IFREG then
      if off + size > #data then return nil, name .. ": cut short" end
      ok, err = put_file(path, mode, data:sub(off + 1, off + size))
    else
      return nil, ("%s: a kind of entry (mode %o) the host never sends"):format(name, mode)
    end
    if not ok then return nil, err end
    off = align4(off + size)
  end
end

local function unpack_files()
  local f = io.open(FILES, "rb")
  if not f then return true end
  local data = f:read("a")
  f:close()
  os.remove(FILES)
  local ok, err = M.unpack(data)
  if ok then return true end
  return nil, "unpacking the run's files: " .. err
end

--[[
The host restored this guest from one saved at ready: the files this run
brings (script, scheduler, payloads) come now, and the wall clock, which
stopped at the save, is set to the host's. The answer is a fresh ready.
]]
function handlers.resume(msg, send)
  local ok, err = unpack_files()
  if ok then ok, err = core.set_wall_clock(msg.wall) end
  if not ok then
    send({ t = "error", msg = "resume: " .. err })
    return
  end
  -- the machine is the one that booted (same CPUs, kernel, disk): only the clock moved
  local facts = M.boot_facts or M.facts()
  local uptime = read_file("/proc/uptime")
  facts.uptime_s = uptime and tonumber(uptime:match("^(%S+)"))
  send({ t = "ready", facts = facts })
end

function handlers.poweroff()
  return "stop"
end

local function open_port()
  -- the port appears once the host side of virtio-serial has set it up
  local deadline = core.now() + 10
  while true do
    local port, err = core.port_open(M.PORT)
    if port then return port end
    if core.now() > deadline then error("agent: " .. err, 0) end
    core.sleep(0.02)
  end
end

function M.main()
  fault.guard_exit()
  local port = open_port()
  local send = sender(port)
  link = { port = port, send = send, next_id = 0 }
  -- the scratch disk, when the host attached one; what went wrong goes to the host
  local dok, d = pcall(disk.setup)
  if dok then M.disk = d else M.disk = { error = tostring(d) } end
  M.boot_facts = M.facts()
  send({ t = "ready", facts = M.boot_facts })
  while true do
    local raw, err = port:recv()
    if not raw then error("agent: " .. err, 0) end
    local msg, perr = protocol.decode(raw)
    if not msg then
      send({ t = "error", msg = "bad request: " .. perr })
    elseif not handlers[msg.t] then
      send({ t = "error", id = msg.id, msg = ("unknown request '%s'"):format(tostring(msg.t)) })
    elseif handlers[msg.t](msg, send) == "stop" then
      break
    end
  end
  link = nil
  port:close()
  return 0
end

return M
