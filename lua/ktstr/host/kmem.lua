-- The guest kernel seen from the host: symbols, BTF layouts, the monitor sampler and map walks.
local core = require("ktstr.core")
local cjson = require("cjson")

local M = {}

-- What the monitor, snapshots and the watchdog need; the guest looks them up once
-- per kernel. Names a kernel may lack are optional (OPTIONAL); a cache records
-- the names asked for, so a list that grows asks the guest again.
M.SYMBOLS = { "runqueues", "__per_cpu_offset", "page_offset_base", "init_top_pgt", "_text",
  "map_idr", "prog_idr", "scx_root", "linux_banner", "jiffies", "scx_enable_state_var",
  "scx_watchdog_timestamp", "scx_watchdog_interval", "scx_watchdog_timeout" }
M.OPTIONAL = { scx_root = true, scx_enable_state_var = true,
  scx_watchdog_timestamp = true, scx_watchdog_interval = true, scx_watchdog_timeout = true }

local START_KERNEL_MAP = 0xffffffff80000000

-- The sched_ext event counters, under the names ktstr reports them by.
M.EVENTS = {
  { "select_cpu_fallback", "SCX_EV_SELECT_CPU_FALLBACK" },
  { "dispatch_local_dsq_offline", "SCX_EV_DISPATCH_LOCAL_DSQ_OFFLINE" },
  { "dispatch_keep_last", "SCX_EV_DISPATCH_KEEP_LAST" },
  { "enq_skip_exiting", "SCX_EV_ENQ_SKIP_EXITING" },
  { "enq_skip_migration_disabled", "SCX_EV_ENQ_SKIP_MIGRATION_DISABLED" },
  { "reenq_immed", "SCX_EV_REENQ_IMMED" },
  { "reenq_repeat", "SCX_EV_REENQ_REPEAT" },
  { "refill_slice_dfl", "SCX_EV_REFILL_SLICE_DFL" },
  { "bypass_duration", "SCX_EV_BYPASS_DURATION" },
  { "bypass_dispatch", "SCX_EV_BYPASS_DISPATCH" },
  { "bypass_activate", "SCX_EV_BYPASS_ACTIVATE" },
  { "insert_not_owned", "SCX_EV_INSERT_NOT_OWNED" },
}

local IMAGE_SIZE = 0x40000000  -- KERNEL_IMAGE_SIZE with KASLR: the image lies in this GiB

--[[
KASLR moves the kernel image at every boot, by one slide for all its
symbols; per-CPU symbols of a zero-based per-CPU area (kernels before
6.15) stay put. So a kernel file's symbols are kept as one boot saw them,
_text among them, and each boot's guest reports its own _text (the first
lines of /proc/kallsyms: cheap) to slide them by. page_offset_base and
the physical load address are read per boot (M.open).
]]
local function syms_cache_file(kern)
  local path = kern.vmlinux or kern.bzimage
  local st = path and io.open(path)
  local size = st and st:seek("end") or 0
  if st then st:close() end
  local dir = require("ktstr.host.kernel").cache_dir()
  return ("%s/ksyms/%s-%d.json"):format(dir, kern.release, size)
end

-- A build tree's System.map has what the guest would look up, at the
-- addresses it was linked for (same format as kallsyms).
local function system_map_symbols(kern)
  if not kern.system_map then return nil end
  local syms = core.kallsyms(M.SYMBOLS, kern.system_map)
  return syms and syms._text and syms or nil
end

function M.cached_symbols(kern)
  local from_map = system_map_symbols(kern)
  if from_map then return from_map end
  local syms = require("ktstr.host.kernel").read_json(syms_cache_file(kern))
  if not syms then return nil end
  -- a cache from a ktstr that asked for fewer symbols: ask the guest again
  local asked = {}
  for _, name in ipairs(type(syms._asked) == "table" and syms._asked or {}) do
    asked[name] = true
  end
  for _, name in ipairs(M.SYMBOLS) do
    if not asked[name] or not M.OPTIONAL[name] and not syms[name] then return nil end
  end
  syms._asked = nil
  return syms
end

-- Keeps syms, the addresses the guest found for M.SYMBOLS, for this kernel file.
function M.save_symbols(kern, syms)
  local file = syms_cache_file(kern)
  core.mkdir_p(file:match("^(.*)/"))
  local f = io.open(file .. ".tmp", "w")
  if not f then return end
  local rec = { _asked = M.SYMBOLS }
  for k, v in pairs(syms) do rec[k] = v end
  f:write(cjson.encode(rec))
  f:close()
  os.rename(file .. ".tmp", file)
end

-- The kernel command line word that makes the agent look symbols up: all of
-- them without a cache, else only _text, this boot's slide.
function M.cmdline_request(cached)
  return "ktstr.kallsyms=" .. (cached and "_text" or table.concat(M.SYMBOLS, ","))
end

local function parse_addr(s)
  return type(s) == "string" and s:match("^0x%x+$") and math.tointeger(tonumber(s:sub(3), 16))
end

-- syms with every kernel image address moved by slide bytes.
function M.slide(syms, slide)
  local out = {}
  for name, s in pairs(syms) do
    local v = parse_addr(s)
    if v and math.ult(v - START_KERNEL_MAP, IMAGE_SIZE) then s = ("0x%x"):format(v + slide) end
    out[name] = s
  end
  return out
end

--[[
This boot's symbols: cached (cached_symbols, or nil) slid to the _text the
guest reported in found (its kallsyms answer), or, without a cache, found
itself, kept for the next boot. nil when the guest reported nothing usable.
]]
function M.boot_symbols(kern, cached, found)
  found = type(found) == "table" and found or {}
  if not cached then
    if not next(found) then return nil end
    M.save_symbols(kern, found)
    return found
  end
  local now, was = parse_addr(found._text), parse_addr(cached._text)
  if not now or not was then return nil end
  return M.slide(cached, now - was)
end

-- "0xffffffff81000000" as an integer; what the guest claims is checked, not trusted.
local function addr(s, what)
  local v = type(s) == "string" and s:match("^0x%x+$") and math.tointeger(tonumber(s:sub(3), 16))
  if not v then error(("%s is not an address: %q"):format(what, tostring(s):sub(1, 40)), 0) end
  return v
end
local function hex(n) return ("0x%x"):format(n) end

local function need(tbl, key, what)
  local v = tbl[key]
  if not v then error(("%s: missing %s"):format(what, key), 0) end
  return v
end

local GK = {}
GK.__index = GK

--[[
The byte offset of struct's member path in this kernel's BTF, or raises
the one line the report prints for a kernel that lacks it ("struct
scx_sched has no pcpu on this kernel").
]]
function M.member(btf, struct, path)
  local o, err = btf:member(struct, path)
  if o then return o end
  if not btf:size(struct) then
    error(("struct %s is not in this kernel's BTF"):format(struct), 0)
  end
  if tostring(err):match("a bitfield$") then
    error(("struct %s: %s is a bitfield on this kernel"):format(struct, path), 0)
  end
  error(("struct %s has no %s on this kernel"):format(struct, path), 0)
end

-- Offsets of each field the sampler reads, from the kernel's own BTF.
function M.monitor_layout(btf, syms)
  local function off(struct, path) return M.member(btf, struct, path) end
  local layout = {
    runqueues = syms.runqueues, scx_root = syms.scx_root,
    rq_nr_running = off("rq", "nr_running"), rq_clock = off("rq", "clock"),
    rq_scx_nr_running = off("rq", "scx.nr_running"), rq_scx_flags = off("rq", "scx.flags"),
    rq_scx_dsq_nr = off("rq", "scx.local_dsq.nr"), events = {},
    -- schedstat: ttwu and goidle count only with schedstats=enable (ktstr's cmdline)
    rq_nr_switches = btf:member("rq", "nr_switches"),
    rq_run_delay = btf:member("rq", "rq_sched_info.run_delay"),
    rq_pcount = btf:member("rq", "rq_sched_info.pcount"),
    rq_ttwu_count = btf:member("rq", "ttwu_count"),
    rq_sched_goidle = btf:member("rq", "sched_goidle"),
  }
  if syms.scx_root then
    layout.sch_pcpu = off("scx_sched", "pcpu")
    layout.sch_exit_kind = off("scx_sched", "exit_kind")
    layout.sch_exit_info = off("scx_sched", "exit_info")
    layout.ei_kind = off("scx_exit_info", "kind")
    layout.pcpu_events = off("scx_sched_pcpu", "event_stats")
    for _, e in ipairs(M.EVENTS) do
      local o = btf:member("scx_event_stats", e[2])
      if o then layout.events[#layout.events + 1] = { name = e[1], off = o } end
    end
  end
  return layout
end

--[[
Opens the guest's kernel for reading from the host. h: a booted Vm (its facts
carry kernel.code_phys and the symbols); btf_path: the kernel's BTF; opts.writable
lets gk.kern:cas write guest RAM. Returns a handle or nil, message (the monitor
is then off for this run).
]]
function M.open(h, btf_path, syms, opts)
  local k = h.facts and h.facts.kernel or {}
  local ok, self = pcall(function()
    if not btf_path then error("no BTF for this kernel", 0) end
    local text = addr(need(syms, "_text", "kernel symbols"), "kernel symbol _text")
    local phys_base = addr(need(k, "code_phys", "guest facts"), "guest facts: code_phys") -
      (text - START_KERNEL_MAP)
    local gm = assert(h:guestmem({ writable = opts and opts.writable }))
    -- page_offset_base is a variable in the image: read it before the direct map is known
    local boot = assert(core.kernel_open(gm, { page_offset = "0x0", phys_base = hex(phys_base),
      levels = 4, nr_cpus = 1 }))
    local page_offset = assert(boot:u64(need(syms, "page_offset_base", "kernel symbols")))
    local banner = assert(boot:read(need(syms, "linux_banner", "kernel symbols"), 14))
    if banner ~= "Linux version " then
      error("kernel symbols do not match the running kernel (stale cache?)", 0)
    end
    local kern = assert(core.kernel_open(gm, { page_offset = hex(page_offset),
      phys_base = hex(phys_base), pgd = need(syms, "init_top_pgt", "kernel symbols"),
      -- 5-level paging moves the direct map below the 4-level kernel half
      levels = page_offset < 0 and page_offset >= -0x800000000000 and 4 or 5,
      per_cpu_offset = need(syms, "__per_cpu_offset", "kernel symbols"),
      nr_cpus = #h.facts.cpus }))
    local btf = assert(core.btf_load(btf_path))
    local mon = assert(core.monitor_new(kern, M.monitor_layout(btf, syms)))
    return setmetatable({ h = h, gm = gm, kern = kern, btf = btf, mon = mon, syms = syms,
      vcpus = h:vcpu_threads(), qemu_pid = h.qvm:pid() }, GK)
  end)
  if not ok then return nil, tostring(self) end
  return self
end

-- One monitor sample: per-CPU state from guest RAM plus each vCPU thread's host schedstat.
function GK:sample()
  local s, err = self.mon:sample()
  if not s then return nil, err end
  for i, c in ipairs(s.cpus) do
    local tid = self.vcpus and self.vcpus[i]
    if tid then
      local run, delay = core.schedstat(self.qemu_pid, tid)
      if run then c.vcpu = { run_ns = run, delay_ns = delay } end
    end
  end
  return s
end

-- The loaded BPF programs with their run counts (kernel.bpf_stats_enabled, set at boot).
function GK:progs()
  if not self.syms.prog_idr then return nil, "no prog_idr symbol" end
  return core.bpf_progs(self.kern, self.btf, self.syms.prog_idr)
end

-- Map types whose values a snapshot copies; others (struct_ops, storage, rings) are listed only.
local READABLE = { array = true, percpu_array = true, hash = true, lru_hash = true,
  percpu_hash = true, lru_percpu_hash = true }

--[[
Copies every readable BPF map's bytes: the part of a snapshot that must
happen while the guest is paused. BTF (load_btfs) and rendering come after
resuming: a loaded BTF never changes.
]]
function GK:read_maps()
  local maps, err = core.bpf_maps(self.kern, self.btf, need(self.syms, "map_idr", "kernel symbols"))
  if not maps then return nil, err end
  local out = {}
  for _, m in ipairs(maps) do
    local e = { info = m }
    if READABLE[m.type] and m.btf then
      e.values, e.error = core.bpf_map_read(self.kern, self.btf, m)
    end
    out[#out + 1] = e
  end
  return out
end

-- Each copied map's BTF blob, read once per BTF object and map id (a restarted
-- scheduler may reuse an address).
function GK:load_btfs(raw)
  self.blobs = self.blobs or {}
  for _, e in ipairs(raw) do
    local m = e.info
    if e.values then
      local key = ("%s/%d"):format(m.btf, m.id)
      local blob = self.blobs[key]
      if not blob then
        blob, e.error = core.bpf_map_btf(self.kern, self.btf, m)
        self.blobs[key] = blob
      end
      e.blob = blob
    end
  end
end

return M
