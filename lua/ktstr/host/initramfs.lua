-- The guest image: a cached base cpio (ktstr, busybox, Lua, libraries) and a small per-run one.
--
-- The base is keyed by a hash of every entry's destination and its source's
-- contents and permission bits, and written once to <cache_dir>/<hash>.cpio
-- (through a temporary name, so concurrent runs are safe), its size and
-- content hash recorded beside it in <hash>.json first: a base that does not
-- match them (cut short, overwritten) is named and built again, not booted. Each run writes
-- its own files to a second archive and `out` is the two concatenated: the
-- kernel unpacks concatenated newc archives, the later entry winning. Both
-- stay uncompressed: unpacking needs no decompressor, which is faster under
-- emulation.
local core = require("ktstr.core")

local M = {}

-- Part of the hash: bump it when the layout rules below change.
local LAYOUT = "ktstr-initramfs-2"
-- lua-cjson's C module, at its Debian path (the guest's package.cpath finds it there).
local CJSON = "/usr/lib/x86_64-linux-gnu/lua/5.4/cjson.so"
-- Mount points and homes that guest init expects.
local GUEST_DIRS = { "proc", "sys", "dev", "tmp", "run", "etc", "root" }
-- The host's loader cache: the guest's ld.so then also finds libraries that
-- came from ld.so.conf directories outside its built-in ones.
local LD_CACHE = "/etc/ld.so.cache"

-- Caller bugs travel as this, so that build() can raise them at the caller's line.
local Bug = {}

local function check(cond, msg)
  if not cond then error(setmetatable({ msg = "initramfs.build: " .. msg }, Bug), 0) end
end

local function is_elf(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local magic = f:read(4)
  f:close()
  return magic == "\127ELF"
end

-- The image under construction, by destination. Explicit entries come first
-- and must agree when repeated; a derived one (library, applet link) yields.
local function image()
  local by_path, list = {}, {}
  local img = {}

  function img.put(e, derived)
    e.path = e.path:gsub("^/+", "")
    local old = by_path[e.path]
    if not old then
      by_path[e.path] = e
      list[#list + 1] = e
      return
    end
    check(derived or (old.src == e.src and old.data == e.data and
      old.symlink == e.symlink and old.mode == e.mode),
      ("two different entries for /%s (%s and %s)"):format(e.path,
        old.src or old.symlink or "data", e.src or e.symlink or "data"))
  end

  function img.has(path) return by_path[path:gsub("^/+", "")] ~= nil end

  function img.sorted()
    table.sort(list, function(a, b) return a.path < b.path end)
    return list
  end

  return img
end

-- run_files and files entries: { src = path | data = string, dst = path [, mode] }.
local function check_files(list, name, allow_data)
  check(list == nil or type(list) == "table", name .. " must be a table")
  for i, f in ipairs(list or {}) do
    local where = ("%s[%d]"):format(name, i)
    check(type(f) == "table", where .. " must be a table")
    check(type(f.dst) == "string" and f.dst ~= "", where .. ".dst must be a path")
    if allow_data and f.data ~= nil then
      check(type(f.data) == "string", where .. ".data must be a string")
      check(f.src == nil, where .. " has both src and data")
    else
      check(type(f.src) == "string", where .. ".src must be a path")
    end
    check(f.mode == nil or math.type(f.mode) == "integer" or type(f.mode) == "string",
      where .. ".mode must be an integer or an octal string")
  end
  return list or {}
end

local function check_opts(o)
  check(type(o) == "table", "options must be a table")
  check(type(o.out) == "string", "out must be a path")
  check(o.late == nil or type(o.late) == "table" and type(o.late.out) == "string",
    "late must be a table with out, a path")
  for _, k in ipairs({ "cache_dir", "ktstr", "lua_dir", "busybox", "kernel_config", "release" }) do
    check(o[k] == nil or type(o[k]) == "string", k .. " must be a string")
  end
  check(not o.kernel_config or o.release,
    "kernel_config needs release (it goes to /boot/config-<release>)")
  local lua_dir = o.lua_dir or package.ktstr_lua_dir
  check(lua_dir, "lua_dir must be given outside ktstr")
  return {
    cache_dir = o.cache_dir or require("ktstr.host.kernel").cache_dir() .. "/initramfs",
    ktstr = o.ktstr or assert(core.exe()),
    lua_dir = lua_dir,
    busybox = o.busybox or "/bin/busybox",
    kernel_config = o.kernel_config,
    release = o.release,
    files = check_files(o.files, "files", false),
    run_files = check_files(o.run_files, "run_files", true),
    out = o.out,
    late = o.late and {
      files = check_files(o.late.files, "late.files", false),
      run_files = check_files(o.late.run_files, "late.run_files", true),
      out = o.late.out,
    },
  }
end

--[[
The Lua modules the guest carries (m relative to lua_dir): the top level
(the vocabulary and what both sides share, `ktstr lua` among it) and
guest/, never host/: a guest that reaches for host code fails loudly.
]]
function M.guest_module(m)
  return m:match("^ktstr/[^/]+%.lua$") ~= nil or m:match("^ktstr/guest/.+%.lua$") ~= nil
end

-- Every base entry but the busybox applet links, which only a miss needs.
local function base_entries(o)
  local img = image()
  local put = img.put
  put({ path = "init", src = o.ktstr })
  put({ path = "bin/ktstr", symlink = "/init" })
  put({ path = "bin/busybox", src = o.busybox })
  for _, d in ipairs(GUEST_DIRS) do put({ path = d, dir = true }) end
  local mods, err, code = core.list_files(o.lua_dir, ".lua")
  if not mods then return nil, err, code end
  for _, m in ipairs(mods) do
    if M.guest_module(m) then put({ path = "lua/" .. m, src = o.lua_dir .. "/" .. m }) end
  end
  put({ path = CJSON, src = CJSON })
  local cache = io.open(LD_CACHE, "rb")
  if cache then
    cache:close()
    put({ path = LD_CACHE, src = LD_CACHE })
  end
  if o.kernel_config then
    put({ path = "boot/config-" .. o.release, src = o.kernel_config })
  end
  for _, f in ipairs(o.files) do put({ path = f.dst, src = f.src, mode = f.mode }) end

  local elves = {}
  for _, e in ipairs(img.sorted()) do
    if e.src and is_elf(e.src) then elves[#elves + 1] = e.src end
  end
  local libs, lerr, lcode = core.elf_closure(elves)
  if not libs then return nil, lerr, lcode end
  for _, l in ipairs(libs) do put({ path = l, src = l }, true) end
  return img
end

-- The key: destinations, kinds and modes in the seed, source contents hashed in order.
local function base_hash(entries)
  local seed, srcs = { LAYOUT }, {}
  for _, e in ipairs(entries) do
    seed[#seed + 1] = ("%s\0%s\0%s"):format(e.path,
      e.dir and "dir" or e.symlink and "symlink:" .. e.symlink or
      e.data and "data:" .. e.data or "file", e.mode or "")
    if e.src then srcs[#srcs + 1] = e.src end
  end
  return core.hash_files(srcs, table.concat(seed, "\n"))
end

-- One link per applet where `busybox --list-full` puts it ("usr/bin/awk").
local function add_applets(img, busybox)
  local p = io.popen("'" .. busybox:gsub("'", "'\\''") .. "' --list-full")
  local list = p:read("a")
  local ok, _, status = p:close()
  if not ok then
    return nil, ("initramfs: %s --list-full: exit %s"):format(busybox, status), "EIO"
  end
  for applet in list:gmatch("[^\n]+") do
    img.put({ path = applet, symlink = "/bin/busybox" }, true)
  end
  return true
end

-- What <hash>.json records of a base: its size and content hash.
local function base_record(path)
  local hash, err, code = core.hash_files({ path })
  if not hash then return nil, err, code end
  local f = assert(io.open(path, "rb"))
  local size = f:seek("end")
  f:close()
  return { size = size, hash = hash }
end

-- Why the cached base at path cannot be used, or nil; "absent" when it is
-- not there, "unrecorded" when an older ktstr wrote it without a record.
local function base_broken(path, record_path)
  local f = io.open(path, "rb")
  if not f then return "absent" end
  local size = f:seek("end")
  f:close()
  local rec = require("ktstr.host.kernel").read_json(record_path)
  if not rec then return "unrecorded" end
  if size ~= rec.size then
    return ("%d bytes, %s when written"):format(size, math.tointeger(rec.size) or rec.size)
  end
  local now = base_record(path)
  if not now or now.hash ~= rec.hash then
    return ("its contents changed since it was written (hash %s, %s then)")
      :format(now and now.hash or "unreadable", tostring(rec.hash))
  end
end

-- Writes the base under a name of its own, records it, then renames it into
-- place: a base under its final name always has its record.
local function write_base(img, o, path, record_path)
  local ok, err, code = core.mkdir_p(o.cache_dir)
  if ok then ok, err, code = add_applets(img, o.busybox) end
  local tmp = ("%s.%d.new"):format(path, core.getpid())
  if ok then ok, err, code = core.cpio_write(tmp, img.sorted()) end
  local rec
  if ok then rec, err, code = base_record(tmp) end
  if rec then
    local rtmp = record_path .. ".new" .. core.getpid()
    local f
    f, err, code = io.open(rtmp, "wb")
    ok = f and f:write(require("cjson").encode(rec), "\n") and f:close()
        and os.rename(rtmp, record_path) and os.rename(tmp, path)
    if f and not ok then err, code = "writing " .. record_path .. " failed", "EIO" end
    os.remove(rtmp)
  else
    ok = false
  end
  os.remove(tmp)
  return ok, err, code
end

local function write_run(o, path)
  local entries = {}
  for _, f in ipairs(o.run_files) do
    entries[#entries + 1] = { path = f.dst, src = f.src, data = f.data, mode = f.mode }
  end
  return core.cpio_write(path, entries)
end

--[[
The late part: what a guest restored from a saved one gets after the
restore instead of in its image (late.files with the libraries the base
lacks, and late.run_files), as one cpio at late.out. Returns its size.
]]
local function write_late(img, late)
  local entries, elves = {}, {}
  for _, f in ipairs(late.files) do
    entries[#entries + 1] = { path = f.dst, src = f.src, mode = f.mode }
    if is_elf(f.src) then elves[#elves + 1] = f.src end
  end
  local libs, err, code = core.elf_closure(elves)
  if not libs then return nil, err, code end
  for _, l in ipairs(libs) do
    if not img.has(l) then entries[#entries + 1] = { path = l, src = l } end
  end
  for _, f in ipairs(late.run_files) do
    entries[#entries + 1] = { path = f.dst, src = f.src, data = f.data, mode = f.mode }
  end
  local ok, werr, wcode = core.cpio_write(late.out, entries)
  if not ok then return nil, werr, wcode end
  local f = assert(io.open(late.out, "rb"))
  local size = f:seek("end")
  f:close()
  return size, #entries
end

local function build(opts)
  local t0 = core.now()
  local o = check_opts(opts)
  local img, err, code = base_entries(o)
  if not img then return nil, err, code end
  local hash, herr, hcode = base_hash(img.sorted())
  if not hash then return nil, herr, hcode end

  local base = ("%s/%s.cpio"):format(o.cache_dir, hash)
  local record = ("%s/%s.json"):format(o.cache_dir, hash)
  local why = base_broken(base, record)
  local hit = why == nil
  if not hit then
    if why ~= "absent" and why ~= "unrecorded" then
      io.stderr:write(("ktstr: initramfs cache %s is broken: %s; building it again\n")
        :format(base, why))
    end
    local ok, werr, wcode = write_base(img, o, base, record)
    if not ok then return nil, werr, wcode end
  end

  local run = o.out .. ".run"
  local ok, rerr, rcode = write_run(o, run)
  if ok then ok, rerr, rcode = core.file_concat(o.out, { base, run }) end
  os.remove(run)
  if not ok then return nil, rerr, rcode end
  local late
  if o.late then
    local size, n, lcode = write_late(img, o.late)
    if not size then return nil, n, lcode end
    late = { path = o.late.out, size = size, entries = n }
  end
  return { path = o.out, cache_hit = hit, base = base, hash = hash, late = late,
           pack_ms = (core.now() - t0) * 1e3 }
end

--[[
initramfs.build{ out = path, cache_dir =, ktstr =, lua_dir =, busybox =,
kernel_config =, release =, files = {{src=, dst= [, mode=]}...},
run_files = {{src= | data=, dst= [, mode=]}...},
late = { files =, run_files =, out = path } }
-> { path = out, cache_hit = bool, base = cache path, hash = hex, pack_ms = ms,
     late = { path =, size =, entries = } when asked } | nil, msg, code
Defaults: cache_dir = <kernel.cache_dir()>/initramfs, ktstr = the running
binary, lua_dir = the Lua tree it runs, busybox = /bin/busybox. ktstr becomes
/init (and /bin/ktstr), lua_dir's guest modules (M.guest_module) go under /lua, kernel_config to
/boot/config-<release>. Libraries of every ELF file in the base come along,
at the paths where ld.so finds them. Modes are integers or octal strings.
late: files for after a restore (host/restore), kept out of the image: its
files with the libraries the base does not carry, and its run_files, in a
cpio of their own.
]]
function M.build(opts)
  local ok, res, err, code = pcall(build, opts)
  if ok then return res, err, code end
  if getmetatable(res) == Bug then error(res.msg, 2) end
  error(res, 0)
end

return M
