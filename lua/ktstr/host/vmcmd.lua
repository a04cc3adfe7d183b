-- `ktstr vm`: boot a guest with a topology, run one command there, pass its status on.
local argparse = require("ktstr.host.argparse")
local core = require("ktstr.core")
local fault = require("ktstr.fault")
local vm = require("ktstr.host.vm")

local M = {}

local CMD = argparse.command("vm", {
  synopsis = "[options] -- CMD [ARGS...]",
  about = "Boots a guest, runs CMD there (busybox applets and ktstr are on PATH), streams its\n" ..
    "output and exits with its status (1 when the guest fails, 2 bad input, 130 interrupted).",
  valued = { ["--topo"] = "topo", ["--memory-mib"] = "memory_mib", ["--kernel"] = "kernel",
    ["--timeout"] = "timeout", ["--disk"] = "disk" },
  lists = { ["-i"] = "include", ["--include"] = "include", ["--append"] = "append" },
  flags = { ["-v"] = "verbose", ["--verbose"] = "verbose", ["--console"] = "console",
    ["--keep"] = "keep", ["--no-kaslr"] = "no_kaslr", ["--no-restore"] = "no_restore" },
  positional = "stop",
  doc = {
    { "--topo T", "the guest's topology, e.g. 1n2l2c1t (default 1n1l2c1t)" },
    { "--memory-mib N", "guest memory in MiB (default: the topology's)" },
    { "--kernel K", "a version, a built kernel's key, a vmlinux/bzImage or a kernel tree (built" ..
      " first if need be) (KTSTR_KERNEL)" },
    { "--timeout S", "give up on CMD after S seconds" },
    { "-i, --include SRC[:DST]", "pack a file or directory (default /include-files/NAME)" },
    { "--append ARGS", "add ARGS to the kernel command line (e.g. initcall_debug)" },
    { "--no-kaslr", "boot the kernel at its link address (KASLR is on by default)" },
    { "--disk SIZE", "attach a scratch disk of SIZE (e.g. 256M) as the virtio-blk device with" ..
      " serial ktstr-scratch" },
    { "--console", "copy the guest console to stderr" },
    { "--keep", "keep the run directory" },
    { "--no-restore", "boot the guest instead of restoring a saved one (KTSTR_NO_RESTORE=1)" },
    { "-v, --verbose", "boot timings on stderr" },
    { "-h, --help", "this text" },
  },
})
local bad = CMD.bad
M.HELP = CMD.help

-- Returns opts, cmd argv; or nil, exit code after printing the problem.
function M.parse(args)
  local o, i = CMD.parse(args, { kernel = os.getenv("KTSTR_KERNEL") })
  if not o then return nil, i end
  for _, k in ipairs({ "memory_mib", "timeout" }) do
    local okn, err = argparse.positive(o, k, k == "memory_mib")
    if not okn then return nil, bad(err) end
  end
  if o.disk then
    local n, why = require("ktstr.test").disk_size(o.disk)
    if not n then return nil, bad("--disk: " .. why) end
    o.disk = n
  end
  local cmd = table.move(args, i, #args, 1, {})
  if #cmd == 0 then return nil, bad("no command given (put it after --)") end
  return o, cmd
end

-- SRC[:DST] -> run_files entries; a directory brings everything under it.
function M.include_files(specs)
  local files = {}
  for _, spec in ipairs(specs) do
    local src, dst = spec:match("^([^:]+):(.+)$")
    src = src or spec
    dst = dst or "/include-files/" .. src:gsub("/+$", ""):match("([^/]+)$")
    local d = io.open(src .. "/.")
    local list = d and core.list_files(src)
    if d then d:close() end
    if list then
      for _, rel in ipairs(list) do
        files[#files + 1] = { src = src .. "/" .. rel, dst = dst .. "/" .. rel }
      end
    elseif core.hash_files({ src }) then
      files[#files + 1] = { src = src, dst = dst }
    else
      return nil, ("--include %s: no such file or directory"):format(src)
    end
  end
  return files
end

local function print_timings(h)
  local prev = 0
  for _, t in ipairs(h.timings) do
    io.stderr:write(("ktstr vm: %-10s +%.3fs (at %.3fs)\n"):format(t[1], t[2] - prev, t[2]))
    prev = t[2]
  end
  if h.facts and h.facts.uptime_s then
    io.stderr:write(("ktstr vm: guest uptime at ready %.3fs, %d cpus, kernel %s\n")
      :format(h.facts.uptime_s, #h.facts.cpus, h.facts.release))
  end
end

local function status_code(st)
  if st.code then return st.code end
  return 128 + (st.signal or 0)
end

function M.main(args)
  local o, cmd = M.parse(args)
  if not o then return cmd end
  local kbuild = require("ktstr.host.kbuild")
  local kernel, kerr, kcode = kbuild.prepare(o.kernel)
  if kerr then
    io.stderr:write("ktstr vm: --kernel ", kerr, "\n")
    return kbuild.exit_code(kcode)
  end
  o.kernel = kernel
  local files, ierr = M.include_files(o.include)
  if not files then
    io.stderr:write("ktstr vm: ", ierr, "\n")
    return 2
  end
  local h <close>, f = vm.boot({ topo = o.topo, memory_mib = o.memory_mib, kernel = o.kernel,
    echo_console = o.console, keep = o.keep, run_files = files, kaslr = not o.no_kaslr,
    restore = not o.no_restore,
    disk = o.disk,
    cmdline = #o.append > 0 and table.concat(o.append, " ") or nil })
  if not h then
    io.stderr:write(vm.format_failure(f))
    return fault.exit_code(f.kind)
  end
  if o.verbose then print_timings(h) end
  local st, err = h:exec(cmd, function(fd, data)
    local out = fd == "stderr" and io.stderr or io.stdout
    out:write(data)
    out:flush()
  end, o.timeout)
  if not st then
    io.stderr:write(vm.format_failure(err))
    return fault.exit_code(err.kind)
  end
  local t = core.now()
  h:shutdown(10)
  if o.verbose then
    io.stderr:write(("ktstr vm: shutdown %.3fs\n"):format(core.now() - t))
  end
  return status_code(st)
end

return M
