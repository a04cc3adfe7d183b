-- ktstr's kernel config fragment, its merge into a .config, and the check that it stuck.
--
-- `ktstr kernel build` starts from allnoconfig, merges BASE and FRAGMENT in,
-- runs `make olddefconfig` (which drops what a dependency refuses, silently)
-- and then check()s the result: a required option that did not stick is an
-- error naming it, never a kernel that boots without sched_ext.
local M = {}

-- { name, value, why }: value "y", "n" or a literal; what ktstr needs of the guest kernel.
M.FRAGMENT = {
  { "SCHED_CLASS_EXT", "y", "the scheduler under test" },
  { "EXT_GROUP_SCHED", "y", "sched_ext's cgroup ops (cpu.weight, cgroup moves)" },
  { "BPF", "y", "BPF" },
  { "BPF_SYSCALL", "y", "bpf(2), the scheduler's loader" },
  { "BPF_JIT", "y", "sched_ext needs the JIT" },
  { "DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT", "y", "DWARF for pahole to turn into BTF" },
  { "DEBUG_INFO_BTF", "y", "vmlinux BTF: struct_ops, vmlinux.h, the host monitor's layouts" },
  { "KALLSYMS", "y", "symbols the host monitor reads from /proc/kallsyms" },
  { "KALLSYMS_ALL", "y", "data symbols too (runqueues, scx_root)" },
  { "CGROUPS", "y", "cgroup v2" },
  { "CGROUP_SCHED", "y", "the cpu controller" },
  { "FAIR_GROUP_SCHED", "y", "cpu.weight" },
  { "CPUSETS", "y", "the cpuset controller" },
  { "MEMCG", "y", "the memory controller" },
  { "CGROUP_PIDS", "y", "the pids controller" },
  { "BLK_CGROUP", "y", "the io controller" },
  { "SMP", "y", "more than one CPU" },
  { "SCHED_MC", "y", "LLC domains of the declared topology" },
  { "SCHED_SMT", "y", "SMT siblings of the declared topology" },
  { "NUMA", "y", "NUMA nodes of the declared topology" },
  { "ACPI_NUMA", "y", "the nodes from QEMU's SRAT" },
  { "SCHEDSTATS", "y", "ttwu and goidle counts the host monitor reads" },
  { "PVH", "y", "QEMU boots the vmlinux ELF directly" },
  { "PCI", "y", "virtio devices are PCI" },
  { "VIRTIO_MENU", "y", "virtio" },
  { "VIRTIO", "y", "virtio" },
  { "VIRTIO_PCI", "y", "the virtio-serial-pci device" },
  { "VIRTIO_CONSOLE", "y", "the channel's virtserialport" },
  { "SERIAL_8250", "y", "the console on ttyS0" },
  { "SERIAL_8250_CONSOLE", "y", "console=ttyS0" },
  { "DEVTMPFS", "y", "/dev, mounted by init" },
  { "BLK_DEV_INITRD", "y", "the initramfs is the root fs" },
  { "TMPFS", "y", "init mounts tmpfs" },
  { "DEBUG_FS", "y", "init mounts debugfs (sched_ext's dump, sched/debug)" },
  { "PROC_FS", "y", "/proc" },
  { "SYSFS", "y", "/sys" },
}

--[[
The rest of a guest system, on top of allnoconfig: what a ktstr guest runs
(the agent, workers, busybox, the REPL's unix socket), boots with (ACPI for
QEMU's SRAT and poweroff, MSI, the KVM clock on a KVM host) and no more.
Every driver and subsystem left out is boot time saved under TCG. LZ4:
KASLR boots the bzImage, and its decompressor is the fastest to run.
]]
M.BASE = {
  { "KERNEL_LZ4", "y", "the fastest bzImage to unpack (KASLR boots the bzImage)" },
  { "RELOCATABLE", "y", "KASLR" },
  { "RANDOMIZE_BASE", "y", "KASLR: the kernel image at a random address" },
  { "RANDOMIZE_MEMORY", "y", "KASLR: the direct map at a random address" },
  { "HIGH_RES_TIMERS", "y", "precise sleeps and wake latencies" },
  { "NO_HZ_IDLE", "y", "idle CPUs stop their tick, as on a distribution kernel" },
  { "PRINTK", "y", "the console" },
  { "PRINTK_TIME", "y", "timestamps in the console, as in reports and boot breakdowns" },
  { "TTY", "y", "the console" },
  { "BINFMT_ELF", "y", "programs" },
  { "BINFMT_SCRIPT", "y", "#! scripts" },
  { "MULTIUSER", "y", "uids, for busybox" },
  { "FUTEX", "y", "threads and the work types' futexes" },
  { "EPOLL", "y", "the work types' epoll" },
  { "EVENTFD", "y", "the work types' eventfd" },
  { "TIMERFD", "y", "timerfd" },
  { "SIGNALFD", "y", "signalfd" },
  { "SHMEM", "y", "shared memory and tmpfs" },
  { "POSIX_TIMERS", "y", "clock_nanosleep and timers" },
  { "SYSVIPC", "y", "System V IPC for workloads" },
  { "NET", "y", "sockets" },
  { "UNIX", "y", "the guest REPL's unix socket" },
  { "ACPI", "y", "QEMU's tables: SRAT for NUMA, poweroff" },
  { "PCI_MSI", "y", "virtio interrupts" },
  { "HYPERVISOR_GUEST", "y", "paravirt features on a KVM host" },
  { "PARAVIRT", "y", "paravirt features on a KVM host" },
  { "KVM_GUEST", "y", "the KVM clock on a KVM host" },
  { "DEBUG_KERNEL", "y", "the debug info choice (for BTF)" },
  { "FTRACE", "y", "tracing, for BPF tracepoint and kprobe programs" },
  { "PERF_EVENTS", "y", "perf events, for BPF" },
  { "KPROBES", "y", "kprobes, for BPF" },
  { "KPROBE_EVENTS", "y", "BPF_EVENTS needs it" },
  { "BPF_EVENTS", "y", "bpf_printk and tracing programs of schedulers" },
  { "DEVTMPFS_MOUNT", "n", "init mounts /dev itself" },
  { "BLK_DEV", "y", "block devices: the scratch disk" },
  { "VIRTIO_BLK", "y", "the scratch disk (virtio-blk), built in: no module to load" },
  { "MQ_IOSCHED_DEADLINE", "y", "the scratch disk's IO scheduler" },
  { "BLK_CGROUP_IOCOST", "y", "io.weight (iocost) on the scratch disk" },
  { "NR_CPUS", "512", "topologies up to 512 CPUs (allnoconfig leaves 2)" },
}

-- kconfig.all([fragment]) -> BASE then fragment (default FRAGMENT): what a build sets and checks.
function M.all(fragment)
  local out = table.move(M.BASE, 1, #M.BASE, 1, {})
  return table.move(fragment or M.FRAGMENT, 1, #(fragment or M.FRAGMENT), #out + 1, out)
end

local function check_value(name, value)
  if type(name) ~= "string" or not name:match("^[A-Z0-9_]+$") then
    error("option name must look like SCHED_CLASS_EXT, got " .. tostring(name), 3)
  end
  if type(value) ~= "string" or value:find("[\n]") then
    error(name .. ": value must be a one-line string, got " .. tostring(value), 3)
  end
end

-- kconfig.parse(text) -> { [NAME] = value }, names in order: "n" for "# CONFIG_X is not set".
function M.parse(text)
  if type(text) ~= "string" then error("parse: text must be a string", 2) end
  local opts, order = {}, {}
  for line in text:gmatch("[^\n]+") do
    local name, value = line:match("^CONFIG_([%w_]+)=(.*)$")
    if not name then
      name = line:match("^# CONFIG_([%w_]+) is not set$")
      value = name and "n"
    end
    if name then
      if opts[name] == nil then order[#order + 1] = name end
      opts[name] = value
    end
  end
  return opts, order
end

local function line_of(name, value)
  if value == "n" then return ("# CONFIG_%s is not set"):format(name) end
  return ("CONFIG_%s=%s"):format(name, value)
end

-- kconfig.merge(text, fragment) -> text: the .config text with each option of
-- fragment ({ {name, value}... }) set: its line replaced where it is, else
-- appended; every other line kept as it was.
function M.merge(text, fragment)
  if type(text) ~= "string" then error("merge: text must be a string", 2) end
  if type(fragment) ~= "table" then error("merge: fragment must be a list", 2) end
  local want, done = {}, {}
  for _, o in ipairs(fragment) do
    check_value(o[1], o[2])
    want[o[1]] = o[2]
  end
  local out = {}
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
    local name = line:match("^CONFIG_([%w_]+)=") or line:match("^# CONFIG_([%w_]+) is not set$")
    if name and want[name] ~= nil then
      if not done[name] then out[#out + 1] = line_of(name, want[name]) end
      done[name] = true
    else
      out[#out + 1] = line
    end
  end
  if text == "" then out = {} end
  for _, o in ipairs(fragment) do
    if not done[o[1]] then
      out[#out + 1] = line_of(o[1], o[2])
      done[o[1]] = true
    end
  end
  return table.concat(out, "\n") .. "\n"
end

-- kconfig.check(text, fragment) -> true | nil, msg: whether every option of
-- fragment has its value in the .config text (after olddefconfig); msg names
-- each one that did not stick, with what it became and why ktstr needs it.
function M.check(text, fragment)
  if type(text) ~= "string" then error("check: text must be a string", 2) end
  if type(fragment) ~= "table" then error("check: fragment must be a list", 2) end
  local opts = M.parse(text)
  local bad = {}
  for _, o in ipairs(fragment) do
    local name, value = o[1], o[2]
    check_value(name, value)
    local got = opts[name] or "n"
    if got ~= value then
      bad[#bad + 1] = ("CONFIG_%s=%s (wanted %s%s)"):format(name,
        opts[name] and got or "n, absent", value, o[3] and ": " .. o[3] or "")
    end
  end
  if #bad == 0 then return true end
  return nil, ("%d required option%s did not stick after olddefconfig (a dependency is "
    .. "missing or the tree is too old): %s"):format(#bad, #bad == 1 and "" or "s",
    table.concat(bad, "; "))
end

-- kconfig.text(fragment) -> the fragment as .config lines, for hashing and the entry.
function M.text(fragment)
  local out = {}
  for _, o in ipairs(fragment or M.FRAGMENT) do out[#out + 1] = line_of(o[1], o[2]) end
  return table.concat(out, "\n") .. "\n"
end

return M
