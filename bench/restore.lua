-- Restore vs boot: whole `ktstr vm -- true` restored, booted, and a bare QEMU boot, side by side.
--
--   N=10 build/ktstr lua bench/restore.lua
--
-- Three commands alternate N times so host noise falls on all alike:
--   bare     QEMU boots the same kernel, topology and memory to a busybox
--            /init that powers off at once (no ktstr in the guest at all)
--   boot     ktstr vm --no-restore --topo TOPO -- true
--   restore  ktstr vm --topo TOPO -- true (from a saved guest)
-- and prints each median and its ratio to bare. Then the breakdown of one
-- restored run (ktstr vm -v: copy, spawn, restore, resume, exec, shutdown),
-- the first-time cost (a run that boots and saves, against a boot), and
-- tests/mixed.lua end to end, restored (RUNS of it). Saved guests go to a
-- private directory, removed at the end.
-- bench/lib: what the bench scripts share
package.path = arg[0]:gsub("[^/]*$", "") .. "lib/?.lua;" .. package.path
local stat = require("stat")
local core = require("ktstr.core")

local N = tonumber(os.getenv("N") or "5")
local RUNS = tonumber(os.getenv("RUNS") or "3")
local TOPO = os.getenv("TOPO") or "1n2l2c1t"
local EXE = assert(core.exe())
local SAVED = assert(core.mkdtemp("/tmp/ktstr-bench-saved-"))
local ENV = "KTSTR_SAVED_DIR=" .. SAVED

local q = stat.q


-- Runs a shell command; wall seconds and its output (stdout and stderr).
local function timed(cmd)
  local t0 = core.now()
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = p:read("a")
  local ok = p:close()
  if not ok then error(("failed: %s\n%s"):format(cmd, out)) end
  return core.now() - t0, out
end

local function ktstr_vm(extra)
  return ("%s %s vm --topo %s %s -- true"):format(ENV, q(EXE), TOPO, extra or "")
end

-- The bare boot: ktstr's own QEMU command line for this topology, but a
-- two-file image whose /init powers off, and no channel to wait on.
local function bare_cmd(dir)
  local kernel = assert(require("ktstr.host.kernel").resolve(nil))
  assert(core.cpio_write(dir .. "/bare.cpio", {
    { path = "init", data = "#!/bin/busybox sh\n/bin/busybox poweroff -f\n", mode = "0755" },
    { path = "bin/busybox", src = "/bin/busybox", mode = "0755" },
  }))
  local topo = assert(require("ktstr.host.vm").topology(TOPO))
  local argv = core.qemu_argv({ kernel = kernel.bzimage or kernel.vmlinux,
    initrd = dir .. "/bare.cpio", chan = dir .. "/chan.sock", qmp = dir .. "/qmp.sock",
    kvm = require("ktstr.host.vm").use_kvm(kernel) })
  local words = {}
  local i = 1
  while argv[i] do
    -- no virtio-serial and no QMP socket: nobody listens to them here
    if (argv[i] == "-chardev" and argv[i + 1]:match("^socket")) or
        (argv[i] == "-device" and argv[i + 1]:match("^virt")) or argv[i] == "-mon" then
      i = i + 2
    else
      words[#words + 1] = q(argv[i])
      i = i + 1
    end
  end
  for _, a in ipairs(core.topo_qemu_args(topo, dir)) do words[#words + 1] = q(a) end
  return table.concat(words, " ") .. " </dev/null >/dev/null"
end

local dir = assert(core.mkdtemp("/dev/shm/ktstr-bench-bare-"))
local BARE = bare_cmd(dir)

-- first-time cost: a boot that saves, beside a plain boot
local first_s, first_out = timed(ktstr_vm("-v"))
local plain_s = timed(ktstr_vm("--no-restore"))

local walls = { bare = {}, boot = {}, restore = {} }
local cmds = { bare = BARE, boot = ktstr_vm("--no-restore"), restore = ktstr_vm() }
local ORDER = { "bare", "boot", "restore" }
for _ = 1, N do
  for _, k in ipairs(ORDER) do table.insert(walls[k], (timed(cmds[k]))) end
end
print(("whole runs, topology %s, median of %d, alternating:"):format(TOPO, N))
local base = stat.median(walls.bare)
for _, k in ipairs(ORDER) do
  local m = stat.median(walls[k])
  print(("  %-8s %.2fs  %.2fx bare  (min %.2fs, max %.2fs)"):format(k, m, m / base,
    math.min(table.unpack(walls[k])), math.max(table.unpack(walls[k]))))
end

-- The stages of one `ktstr vm -v` run: "name +delta" lines, then shutdown.
local function stages(out)
  local parts = {}
  for name, d in out:gmatch("ktstr vm: (%S+)%s+%+([%d.]+)s") do
    parts[#parts + 1] = ("%s %.3fs"):format(name, tonumber(d))
  end
  local sd = out:match("ktstr vm: shutdown ([%d.]+)s")
  if sd then parts[#parts + 1] = ("shutdown %.3fs"):format(tonumber(sd)) end
  return table.concat(parts, ", ")
end

local rs, rout = timed(ktstr_vm("-v"))
print(("restored run, %.2fs whole: %s"):format(rs, stages(rout)))
print(("first run (boots and saves), %.2fs whole against %.2fs for a boot: %s"):format(first_s,
  plain_s, stages(first_out)))

local mixed = {}
local sched
timed(("%s %s script tests/mixed.lua"):format(ENV, q(EXE)))  -- saves its guest
for _ = 1, RUNS do
  local s, out = timed(("%s %s script -v tests/mixed.lua"):format(ENV, q(EXE)))
  mixed[#mixed + 1] = s
  sched = out:match("scheduler enabled after ([%d.]+)s") or sched
end
print(("tests/mixed.lua restored, end to end: median %.2fs of %d (scheduler enabled %ss " ..
  "after run_test)"):format(stat.median(mixed), RUNS, sched or "?"))

core.rm_rf(dir)
core.rm_rf(SAVED)
