-- The guest kernel cache: fetches Debian kernels and resolves kernel specs to files.
--
-- A cache entry is ${KTSTR_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/ktstr}/kernels/<release>/
-- holding vmlinuz (bzImage), vmlinux (the ELF inside it, for PVH boot),
-- vmlinux.btf (the headers package's BTF-only ELF), config and metadata.json,
-- and modules/ (the few drivers a guest may need that Debian builds as
-- modules, decompressed, with their own metadata.json; see M.MODULES).
-- Entries are built in a scratch dir beside them and renamed into place, so an
-- entry either is complete or is reported as incomplete by `kernel list`.
-- metadata.json records each file's size and hash at fetch time; an entry is
-- checked against them before use (and against its files' own structure), so
-- a damaged one is named with the command that repairs it instead of booting.
local argparse = require("ktstr.host.argparse")
local cjson = require("cjson")
local core = require("ktstr.core")

local M = {}

local DEFAULT_VERSION = "7.3"
local ZSTD_MAGIC = "\x28\xb5\x2f\xfd"
local EISDIR = 21
-- Debian splits a kernel into linux-binary (vmlinuz), linux-base (config,
-- System.map stub), linux-headers (the BTF-only vmlinux) and linux-modules
-- (of which an entry keeps only M.MODULES).
local PACKAGES = { "linux-binary-", "linux-base-", "linux-headers-", "linux-modules-" }
-- The files of a complete entry, by resolve() field.
local FIELDS = { "bzimage", "vmlinux", "btf", "config", "metadata" }
local FILES = {
  bzimage = "vmlinuz", vmlinux = "vmlinux", btf = "vmlinux.btf",
  config = "config", metadata = "metadata.json",
}
-- A version or release: "7.3", "7.3.4", "7.3.4+deb13-amd64".
local VERSION_PAT = "^%d+%.%d+[%w%.%+~%-]*$"

-- Helpers: shell, files, ELF.

local function sh_quote(s)
  return "'" .. (tostring(s):gsub("'", [['\'']])) .. "'"
end
M.sh_quote = sh_quote -- for specs and other modules that build shell commands

-- Runs cmd under sh; returns its output (stdout and stderr), or nil, output,
-- exit status.
local function sh(cmd)
  local p = assert(io.popen("{ " .. cmd .. "\n} 2>&1"))
  local out = p:read("a")
  local ok, _, status = p:close()
  if ok then return out end
  return nil, (out:gsub("%s+$", "")), status
end
M.sh = sh

local function say(fmt, ...)
  io.stderr:write("ktstr kernel: ", fmt:format(...), "\n")
end

local function read_file(path, len)
  local f, err, code = io.open(path, "rb")
  if not f then return nil, err, code end
  local data = f:read(len or "a")
  f:close()
  return data or ""
end

local function write_file(path, data)
  local f, err, code = io.open(path, "wb")
  if not f then return nil, err, code end
  local ok, werr, wcode = f:write(data)
  f:close()
  if not ok then return nil, path .. ": " .. werr, wcode end
  return true
end

-- "file", "dir", or nil when path does not exist.
local function path_kind(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local _, _, code = f:read(0)
  f:close()
  return code == EISDIR and "dir" or "file"
end

local function first_file(dir, names)
  for _, name in ipairs(names) do
    if path_kind(dir .. "/" .. name) == "file" then return dir .. "/" .. name end
  end
end

-- A file's size in bytes, or nil when it cannot be opened.
function M.size(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local size = f:seek("end")
  f:close()
  return size
end

-- The cache's sums and records count a missing file as empty.
local function file_size(path) return M.size(path) or 0 end

-- For the modules that build on the cache (host/kbuild).
M.read_file, M.write_file, M.file_size = read_file, write_file, file_size

local function list_dir(dir)
  local names = {}
  local p = assert(io.popen("ls -1A -- " .. sh_quote(dir) .. " 2>/dev/null"))
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  return names
end

-- Section names of an ELF64 file as a set, or nil when path is not an ELF64
-- whose section table lies inside the file (a truncated one, say).
local function elf_sections(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local hdr = f:read(64) or ""
  if #hdr < 64 or hdr:sub(1, 5) ~= "\x7fELF\2" then f:close() return nil end
  local shoff = string.unpack("<I8", hdr, 0x29)
  local entsize, shnum, strndx = string.unpack("<I2I2I2", hdr, 0x3b)
  local size = f:seek("end")
  if shnum == 0 or strndx >= shnum or entsize < 64
      or shoff + shnum * entsize > size then
    f:close()
    return nil
  end
  f:seek("set", shoff)
  local tab = f:read(shnum * entsize)
  local stroff, strsize = string.unpack("<I8I8", tab, strndx * entsize + 0x19)
  f:seek("set", stroff)
  local strtab = f:read(strsize) or ""
  f:close()
  local names = {}
  for i = 0, shnum - 1 do
    names[strtab:match("^[^%z]*", string.unpack("<I4", tab, i * entsize + 1) + 1)] = true
  end
  return names
end

-- The release a bzImage announces: the setup header's kernel_version field
-- (0x20e) points at a string, counted from 0x200.
local function bzimage_release(path)
  local head = read_file(path, 0x10000) or ""
  if #head < 0x210 or head:sub(0x203, 0x206) ~= "HdrS" then return nil end
  return head:match("^([^%s%z]+)", string.unpack("<I2", head, 0x20f) + 0x200 + 1)
end

-- The release in the "Linux version X " banner of a vmlinux, read in chunks.
local function elf_release(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local tail = ""
  for chunk in f:lines(1 << 20) do
    local buf = tail .. chunk
    local rel = buf:match("Linux version (%d[^%s%z]*) ")
    if rel then f:close() return rel end
    tail = buf:sub(-256)
  end
  f:close()
end

-- Versions: "7.3.4+deb13-amd64" has the upstream version "7.3.4".

local function upstream(release)
  return release:match("^%d+%.%d+%.%d+") or release:match("^%d+%.%d+")
end

local function is_version(s)
  return s:match(VERSION_PAT) ~= nil
end

-- Whether release is what spec names: the release itself, its version, or a
-- prefix of its version ("7.3" names 7.3.x).
local function matches(release, spec)
  local v = upstream(release)
  return release == spec or v == spec
      or (v ~= nil and v:sub(1, #spec + 1) == spec .. ".")
end

-- Sort order: newest version first, then by name.
local function newer(a, b)
  local ka, kb = {}, {}
  for n in (upstream(a) or ""):gmatch("%d+") do ka[#ka + 1] = tonumber(n) end
  for n in (upstream(b) or ""):gmatch("%d+") do kb[#kb + 1] = tonumber(n) end
  for i = 1, math.max(#ka, #kb) do
    local x, y = ka[i] or -1, kb[i] or -1
    if x ~= y then return x > y end
  end
  return a < b
end

-- The cache.

local cache_override

-- kernel.set_cache_dir(dir|nil): overrides the environment (tests); nil resets.
function M.set_cache_dir(dir)
  if dir ~= nil and type(dir) ~= "string" then
    error("set_cache_dir: dir must be a string or nil", 2)
  end
  cache_override = dir
end

local default_dir

-- The cache without HOME (a service, `env -i`): under the home the user
-- database gives this process's user (getent asks NSS, not only
-- /etc/passwd), else a per-user dir under /tmp; worked out once.
local function homeless_cache_dir()
  if not default_dir then
    local uid = (read_file("/proc/self/status") or ""):match("\nUid:%s*(%d+)") or "0"
    local out = sh("getent passwd " .. uid)
    local home = out and out:match("^[^:]*:[^:]*:[^:]*:[^:]*:[^:]*:(/[^:\n]*):")
    if home and path_kind(home) == "dir" then
      default_dir = home .. "/.cache/ktstr"
    else
      default_dir = ("%s/ktstr-cache-%s"):format(os.getenv("TMPDIR") or "/tmp", uid)
    end
  end
  return default_dir
end

-- kernel.cache_dir() -> path; read from the environment at each call. With
-- none of KTSTR_CACHE_DIR, XDG_CACHE_HOME and HOME set: homeless_cache_dir.
function M.cache_dir()
  local function env(name)
    local v = os.getenv(name)
    return v ~= "" and v or nil
  end
  local home = env("HOME")
  return cache_override or env("KTSTR_CACHE_DIR")
      or (env("XDG_CACHE_HOME") and env("XDG_CACHE_HOME") .. "/ktstr")
      or (home and home .. "/.cache/ktstr")
      or homeless_cache_dir()
end

local function kernels_dir()
  return M.cache_dir() .. "/kernels"
end

-- Built kernels (`ktstr kernel build`, host/kbuild): <cache>/builds/KEY/,
-- the same files as a fetched entry.
local function builds_dir()
  return M.cache_dir() .. "/builds"
end
M.builds_dir = builds_dir

-- The entry of a release (resolve() fields) and the list of its missing
-- files; dir: a built entry's, else the release's under kernels/.
local function entry(release, dir)
  dir = dir or kernels_dir() .. "/" .. release
  local e, missing = { release = release, dir = dir }, {}
  for _, k in ipairs(FIELDS) do
    e[k] = dir .. "/" .. FILES[k]
    if path_kind(e[k]) ~= "file" then missing[#missing + 1] = FILES[k] end
  end
  return e, missing
end

-- The files whose size and hash metadata.json records, by resolve() field.
local RECORDED = { "bzimage", "vmlinux", "btf", "config" }

-- { [file name] = { size =, hash = } } of the files in dir, for metadata.json.
local function record_files(dir)
  local files = {}
  for _, k in ipairs(RECORDED) do
    local path = dir .. "/" .. FILES[k]
    local hash, err, code = core.hash_files({ path })
    if not hash then return nil, err, code end
    files[FILES[k]] = { size = file_size(path), hash = hash }
  end
  return files
end

-- What a file of each kind must look like whatever was recorded: the cheap
-- structural checks that catch a truncated file in an entry fetched before
-- metadata.json recorded sizes. Each returns a reason or nil.
local CUT = "is not a whole ELF file (its section table is cut off)"
local SHAPE = {
  vmlinux = function(path)
    if not elf_sections(path) then return CUT end
  end,
  btf = function(path)
    local sections = elf_sections(path)
    if not sections then return CUT end
    if not sections[".BTF"] then return "has no .BTF section" end
  end,
  bzimage = function(path)
    local head = read_file(path, 0x250) or ""
    if #head < 0x250 or head:sub(0x203, 0x206) ~= "HdrS" then return "is not a bzImage" end
    -- setup sectors (0 means 4) plus the boot sector, then syssize paragraphs
    local setup = head:byte(0x1f2)
    local want = ((setup == 0 and 4 or setup) + 1) * 512
        + string.unpack("<I4", head, 0x1f5) * 16
    local size = file_size(path)
    if size < want then
      return ("is %d bytes, shorter than the %d its header announces"):format(size, want)
    end
  end,
  config = function(path)
    if not (read_file(path, 4096) or ""):find("CONFIG_", 1, true) then
      return "has no CONFIG_ option"
    end
  end,
}

-- Entries whose recorded hashes matched, by dir: hashing reads ~85 MB, so
-- once per process (sizes and shapes are checked at every use).
local hashed = {}

-- Why a complete entry cannot be used (a file's size or hash differs from
-- what the fetch recorded, or its shape is wrong), or nil when it can.
local function broken(e)
  local meta = M.read_json(e.metadata)
  if not meta then return "metadata.json is not a JSON object" end
  local rec = type(meta.files) == "table" and meta.files or {}
  for _, k in ipairs(RECORDED) do
    local name, r = FILES[k], rec[FILES[k]]
    if type(r) == "table" and math.tointeger(r.size) and file_size(e[k]) ~= r.size then
      return ("%s is %d bytes, %d when fetched"):format(name, file_size(e[k]), r.size)
    end
    local why = SHAPE[k](e[k])
    if why then return name .. " " .. why end
  end
  if not hashed[e.dir] then
    for _, k in ipairs(RECORDED) do
      local r = rec[FILES[k]]
      if type(r) == "table" and type(r.hash) == "string" then
        local hash = core.hash_files({ e[k] })
        if hash ~= r.hash then
          return ("%s has changed since it was fetched (hash %s, %s then)")
            :format(FILES[k], tostring(hash), r.hash)
        end
      end
    end
    hashed[e.dir] = true
  end
end

-- Why an entry cannot be used, or nil: files missing, or broken.
local function unusable(e, missing)
  if #missing > 0 then return "missing " .. table.concat(missing, ", ") end
  return broken(e)
end

-- What to tell about an unusable entry: which, why, and the repair.
local function repair_msg(e, why)
  if e.key then
    return ("built kernel %s is unusable: %s; run: ktstr kernel clean %s, then build it again")
      :format(e.dir, why, e.key)
  end
  return ("kernel cache entry %s is unusable: %s; run: ktstr kernel fetch %s")
    :format(e.dir, why, e.release)
end

-- Cached releases, complete or not, newest first; scratch dirs start with ".".
local function cached_releases()
  local rels = {}
  for _, name in ipairs(list_dir(kernels_dir())) do
    if name:sub(1, 1) ~= "." then rels[#rels + 1] = name end
  end
  table.sort(rels, newer)
  return rels
end

-- The newest usable entry that spec names (any when spec is nil); else nil
-- and, when an entry spec names is unusable, what to tell about the newest.
local function find_cached(spec)
  local bad
  for _, rel in ipairs(cached_releases()) do
    if spec == nil or matches(rel, spec) then
      local e, missing = entry(rel)
      local why = unusable(e, missing)
      if not why then return e end
      bad = bad or repair_msg(e, why)
    end
  end
  return nil, bad
end

-- Keys of built entries, by name; scratch and object dirs start with ".".
local function built_keys()
  local keys = {}
  for _, name in ipairs(list_dir(builds_dir())) do
    if name:sub(1, 1) ~= "." then keys[#keys + 1] = name end
  end
  table.sort(keys)
  return keys
end

-- kernel.built(key) -> entry (resolve() fields, key, meta) | nil, why:
-- a built kernel, checked like a fetched one; nil, nil when there is none.
function M.built(key)
  if type(key) ~= "string" or not key:match("^[%w][%w.+~_-]*$") then return nil end
  local dir = builds_dir() .. "/" .. key
  if path_kind(dir) ~= "dir" then return nil end
  local meta = M.read_json(dir .. "/metadata.json")
  local e, missing = entry(meta and meta.release or key, dir)
  e.key, e.meta = key, meta
  local why = unusable(e, missing)
  if why then return nil, repair_msg(e, why) end
  return e
end

-- Resolving specs.

-- A kernel from its parts; the ones not given are looked for in dir. The
-- release comes from the file named by the caller, else the bzImage's header.
local function assemble(dir, vmlinux, bzimage, named)
  vmlinux = vmlinux or first_file(dir, { "vmlinux" })
  bzimage = bzimage or first_file(dir, { "arch/x86/boot/bzImage", "vmlinuz", "bzImage" })
  named = named or bzimage or vmlinux
  if not named then
    return nil, dir .. ": no vmlinux, arch/x86/boot/bzImage or vmlinuz in it", "ENOENT"
  end
  local release = named == bzimage and bzimage_release(bzimage) or elf_release(named)
  if not release then
    return nil, named .. ": no kernel release found in it", "EINVAL"
  end
  local btf = first_file(dir, { "vmlinux.btf" })
  if not btf and vmlinux then
    local sections = elf_sections(vmlinux)
    btf = sections and sections[".BTF"] and vmlinux or nil
  end
  return {
    release = release, dir = dir, vmlinux = vmlinux, bzimage = bzimage,
    btf = btf, config = first_file(dir, { "config", ".config" }),
    system_map = first_file(dir, { "System.map" }),
  }
end

local function from_file(path)
  local head = read_file(path, 0x210) or ""
  local dir = path:match("^(.*)/[^/]*$") or "."
  if head:sub(1, 4) == "\x7fELF" then return assemble(dir, path, nil, path) end
  if head:sub(0x203, 0x206) == "HdrS" then
    local tree = path:match("^(.*)/arch/x86/boot/bzImage$")
    return assemble(tree or dir, nil, path, path)
  end
  return nil, path .. ": neither a vmlinux ELF nor a bzImage", "EINVAL"
end

-- kernel.config_value(kern, "CONFIG_HZ") -> "250" | nil: one option of a resolved kernel's
-- config (nil when it has no config file, or the option is not set).
function M.config_value(kern, name)
  local text = kern and kern.config and read_file(kern.config)
  return text and ("\n" .. text):match("\n" .. name:gsub("%p", "%%%0") .. "=([^\n]*)") or nil
end

-- kernel.resolve(spec) -> { release, dir, vmlinux, bzimage, btf, config, system_map }
--   | nil, msg, code
-- spec: nil (KTSTR_KERNEL, else the newest cached kernel), a cached version or
-- release, a vmlinux or bzImage path, or a kernel build tree. Fields a spec
-- cannot supply (btf, config, vmlinux for a bare bzImage) are nil.
function M.resolve(spec)
  if spec ~= nil and type(spec) ~= "string" then
    error("resolve: spec must be a string or nil, got " .. type(spec), 2)
  end
  if spec == nil or spec == "" then
    local env = os.getenv("KTSTR_KERNEL")
    if env and env ~= "" then
      local k, err, code = M.resolve(env)
      if not k then return nil, "KTSTR_KERNEL=" .. env .. ": " .. err, code end
      return k
    end
    local e, bad = find_cached(nil)
    if e then return e end
    return nil, bad or "no kernel in the cache; run: ktstr kernel fetch", "ENOENT"
  end
  local b, bwhy = M.built(spec)
  if b then return b end
  if bwhy then return nil, bwhy, "EINVAL" end
  if is_version(spec) then
    local e, bad = find_cached(spec)
    if e then return e end
    return nil, bad or ("no cached kernel matches '%s'; run: ktstr kernel fetch %s")
      :format(spec, spec), "ENOENT"
  end
  local kind = path_kind(spec)
  if kind == "dir" then return assemble(spec, nil, nil) end
  if kind == "file" then return from_file(spec) end
  return nil, spec .. ": no such file or directory, and not a kernel version", "ENOENT"
end

-- Fetching.

-- Plain-flavour Debian releases in the apt lists that version names, newest
-- first. `apt-cache` reads local lists only, but takes about 1 s here.
local function apt_releases(version)
  local out, err = sh("apt-cache pkgnames linux-binary-")
  if not out then return nil, "apt-cache pkgnames: " .. err end
  local all, hits = {}, {}
  for name in out:gmatch("[^\n]+") do
    -- "7.3.4+deb13-amd64", not -cloud-amd64, -rt-amd64 or linux-binary-unsigned-*
    local rel = name:match("^linux%-binary%-(%d[^%-]*%-amd64)$")
    if rel then
      all[#all + 1] = rel
      if matches(rel, version) then hits[#hits + 1] = rel end
    end
  end
  table.sort(all, newer)
  table.sort(hits, newer)
  return hits, all
end

-- A scratch dir under parent (the kernels dir), removed when it goes out of
-- scope: entries are built there and renamed into place. It names its owner,
-- so what a killed fetch or build left is reclaimed by the next ktstr start.
local function scratch(parent)
  parent = parent or kernels_dir()
  local ok, err, code = core.mkdir_p(parent)
  local path = ok and core.mkdtemp(parent .. "/.fetch-")
  if not path then return nil, "mkdir " .. parent .. ": " .. tostring(err), code or "EIO" end
  local owner, oerr, ocode = core.owner_claim(path)
  if not owner then
    core.rm_rf(path)
    return nil, oerr, ocode
  end
  return setmetatable({ path = path, owner = owner }, {
    __close = function(s)
      core.rm_rf(s.path)
      s.owner:release()
    end,
  })
end
M.scratch = scratch

local function package_names(release)
  local names = {}
  for i, p in ipairs(PACKAGES) do names[i] = p .. release end
  return names
end

-- Where an entry's files are inside the packages, by resolve() field.
local function members(release)
  return {
    bzimage = "./usr/lib/modules/" .. release .. "/vmlinuz",
    config = "./usr/lib/modules/" .. release .. "/config",
    btf = "./usr/src/linux-headers-" .. release .. "/vmlinux",
  }
end

--[[
The drivers a guest may need that a distribution builds as modules, by
name: where they sit under /usr/lib/modules/<release>/ (compressed or not),
the option that builds them and what they are. An entry keeps them
decompressed in modules/, beside modules/metadata.json (each file's size
and hash, checked at each use); the guest loads them with finit_module, so
it needs neither kmod nor a decompressor. virtio_blk drives the scratch
disk (host/vm) and needs nothing but the virtio core, built in.
]]
M.MODULES = {
  virtio_blk = { path = "kernel/drivers/block/virtio_blk.ko", option = "CONFIG_VIRTIO_BLK",
    what = "virtio-blk driver" },
}
local DECOMPRESS = { { "", nil }, { ".xz", "xz -dc" }, { ".zst", "zstd -dcq" },
  { ".gz", "gzip -dc" } }

-- The members of the modules package that M.MODULES may be, each compression.
local function module_members(release)
  local out = {}
  for _, m in pairs(M.MODULES) do
    for _, d in ipairs(DECOMPRESS) do
      out[#out + 1] = ("./usr/lib/modules/%s/%s%s"):format(release, m.path, d[1])
    end
  end
  return out
end

-- Downloads the packages names into tmp and unpacks the members wanted into
-- tmp/x; returns { [package] = version }.
local function download(tmp, names, wanted)
  local quoted, members_q = {}, {}
  for i, name in ipairs(names) do quoted[i] = sh_quote(name) end
  for i, m in ipairs(wanted) do members_q[i] = sh_quote(m) end
  say("downloading %s", table.concat(names, " "))
  local out, err = sh(("cd %s && apt-get download -q %s && mkdir x")
    :format(sh_quote(tmp), table.concat(quoted, " ")))
  if not out then return nil, "apt-get download: " .. err, "EIO" end
  local versions = {}
  for _, deb in ipairs(list_dir(tmp)) do
    if deb:match("%.deb$") then
      local path = sh_quote(tmp .. "/" .. deb)
      -- Only the members: the headers package alone holds 7,000 files. tar
      -- exits 2 on the ones a package lacks; the callers check for them.
      os.execute(("dpkg-deb --fsys-tarfile %s | tar -xf - -C %s %s 2>/dev/null")
        :format(path, sh_quote(tmp .. "/x"), table.concat(members_q, " ")))
      out, err = sh("dpkg-deb -f " .. path .. " Package Version")
      if not out then return nil, "dpkg-deb -f " .. deb .. ": " .. err, "EIO" end
      versions[out:match("Package: (%S+)")] = out:match("Version: (%S+)")
      os.remove(tmp .. "/" .. deb)
    end
  end
  return versions
end

-- The names of M.MODULES that the kernel whose config is at path builds as modules.
local function modular(config)
  local names = {}
  for name, m in pairs(M.MODULES) do
    if M.config_value({ config = config }, m.option) == "m" then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

-- Builds dst (a new dir) from the modules download() unpacked under x: each
-- of M.MODULES that config builds as a module, decompressed, and
-- metadata.json recording them.
local function keep_modules(x, release, config, dst, version)
  local ok, err, code = core.mkdir_p(dst)
  if not ok then return nil, err, code end
  local files = {}
  for _, name in ipairs(modular(config)) do
    local m = M.MODULES[name]
    local src, how
    for _, d in ipairs(DECOMPRESS) do
      local p = ("%s/usr/lib/modules/%s/%s%s"):format(x, release, m.path, d[1])
      if path_kind(p) == "file" then src, how = p, d[2] break end
    end
    if not src then
      return nil, ("%s (%s) is not in linux-modules-%s"):format(m.path, name, release), "ENOENT"
    end
    local out = ("%s/%s.ko"):format(dst, name)
    if how then
      local _, derr = sh(("%s %s > %s"):format(how, sh_quote(src), sh_quote(out)))
      if derr then return nil, ("%s %s: %s"):format(how, src, derr), "EIO" end
    elseif not os.rename(src, out) then
      return nil, "rename " .. src .. " failed", "EIO"
    end
    if not elf_sections(out) then return nil, out .. " " .. "is not a whole ELF file", "EINVAL" end
    local hash
    hash, err, code = core.hash_files({ out })
    if not hash then return nil, err, code end
    files[name .. ".ko"] = { size = file_size(out), hash = hash }
  end
  return write_file(dst .. "/metadata.json", cjson.encode({ release = release,
    package = "linux-modules-" .. release, version = version, files = files,
    fetched = os.date("!%Y-%m-%dT%H:%M:%SZ") }) .. "\n")
end

-- Decompresses the ELF inside a bzImage: the payload is a zstd frame, found
-- by its magic (the first hit may be a false one). zstd exits non-zero on the
-- data after the frame, so the output is judged instead: a whole ELF whose
-- size is the one the build appended to the payload (setup header 0x24c
-- holds the payload length; its last 4 bytes, the decompressed size).
local function extract_vmlinux(bzimage, out)
  local data, err, code = read_file(bzimage)
  if not data then return nil, err, code end
  local ok, zerr = sh("zstd --version")
  if not ok then return nil, "zstd: " .. zerr, "ENOENT" end
  local len = #data >= 0x250 and string.unpack("<I4", data, 0x24d) or 0
  local at = data:find(ZSTD_MAGIC, 1, true)
  while at do
    os.execute(("{ tail -c +%d %s | zstd -dcq > %s; } 2>/dev/null")
      :format(at, sh_quote(bzimage), sh_quote(out)))
    local size = file_size(out)
    if elf_sections(out) and len >= 4 and at + len - 1 <= #data
        and string.unpack("<I4", data, at + len - 4) == size then
      return true
    end
    at = data:find(ZSTD_MAGIC, at + 1, true)
  end
  return nil, bzimage .. ": no zstd-compressed ELF of the announced size in it", "EINVAL"
end

-- Builds the entry of release in tmp/entry.
local function build_entry(tmp, release)
  local wanted = module_members(release)
  for _, m in pairs(members(release)) do wanted[#wanted + 1] = m end
  local versions, err, code = download(tmp, package_names(release), wanted)
  if not versions then return nil, err, code end
  local dst = tmp .. "/entry"
  assert(os.execute("mkdir " .. sh_quote(dst)))
  for k, m in pairs(members(release)) do
    if not os.rename(tmp .. "/x/" .. m, dst .. "/" .. FILES[k]) then
      return nil, ("%s is in none of %s"):format(m:sub(2),
        table.concat(package_names(release), ", ")), "ENOENT"
    end
  end
  local ok
  ok, err, code = keep_modules(tmp .. "/x", release, dst .. "/config", dst .. "/modules",
    versions["linux-modules-" .. release])
  if not ok then return nil, err, code end
  say("extracting vmlinux from vmlinuz")
  ok, err, code = extract_vmlinux(dst .. "/vmlinuz", dst .. "/vmlinux")
  if not ok then return nil, err, code end
  local files
  files, err, code = record_files(dst)
  if not files then return nil, err, code end
  local meta = {
    release = release, version = upstream(release), packages = versions,
    fetched = os.date("!%Y-%m-%dT%H:%M:%SZ"), source = "debian", files = files,
  }
  return write_file(dst .. "/metadata.json", cjson.encode(meta) .. "\n")
end

-- Renames tmp/entry to the release's entry, replacing an unusable one.
local function install(tmp, release)
  local e = entry(release)
  if os.rename(tmp .. "/entry", e.dir) then return e end
  hashed[e.dir] = nil
  if not unusable(entry(release)) then return e end -- a concurrent fetch got there first
  os.execute("rm -rf -- " .. sh_quote(e.dir))
  local ok, err, code = os.rename(tmp .. "/entry", e.dir)
  if not ok then return nil, err, code end
  return e
end

-- The modules of a fetched entry, checked: { [name] = path } of those its
-- config builds as modules | nil, why | nil, nil when it has no modules/
-- (fetched by a ktstr that kept none).
local function entry_modules(e)
  local dir = e.dir .. "/modules"
  local names = modular(e.config)
  if #names == 0 then return {} end
  if path_kind(dir) ~= "dir" then return nil end
  local meta = M.read_json(dir .. "/metadata.json")
  local rec = meta and type(meta.files) == "table" and meta.files
  if not rec then return nil, "modules/metadata.json is not a JSON object with files" end
  local out = {}
  for _, name in ipairs(names) do
    local file, r = name .. ".ko", rec[name .. ".ko"]
    local path = dir .. "/" .. file
    if type(r) ~= "table" then return nil, "modules/ has no " .. file end
    if file_size(path) ~= r.size then
      return nil, ("modules/%s is %d bytes, %s when fetched"):format(file, file_size(path),
        tostring(r.size))
    end
    local hash = core.hash_files({ path })
    if hash ~= r.hash then
      return nil, ("modules/%s has changed since it was fetched (hash %s, %s then)")
        :format(file, tostring(hash), tostring(r.hash))
    end
    out[name] = path
  end
  return out
end

--[[
Gives a fetched entry the modules/ it lacks (an entry fetched by a ktstr
that kept none) or replaces a damaged one: downloads linux-modules-<release>
alone and renames the new modules/ into the entry, which stays usable for
everything else meanwhile. Returns entry_modules' answer.
]]
local function add_modules(e)
  local tmp <close>, err, code = scratch()
  if not tmp then return nil, err, code end
  local pkg = "linux-modules-" .. e.release
  local versions
  versions, err, code = download(tmp.path, { pkg }, module_members(e.release))
  if not versions then return nil, err, code end
  local ok
  ok, err, code = keep_modules(tmp.path .. "/x", e.release, e.config, tmp.path .. "/modules",
    versions[pkg])
  if not ok then return nil, err, code end
  local dir = e.dir .. "/modules"
  if not os.rename(tmp.path .. "/modules", dir) then
    -- a concurrent run got there first, or a damaged one is in the way
    local mods = entry_modules(e)
    if mods then return mods end
    os.execute("rm -rf -- " .. sh_quote(dir))
    ok, err, code = os.rename(tmp.path .. "/modules", dir)
    if not ok then return nil, err, code end
  end
  say("stored %s", dir)
  return entry_modules(e)
end

--[[
kernel.modules(kern, names) -> { {name =, path =}, ... } in names' order | nil, msg
The module files of M.MODULES names that a guest of kern must load: none
for what kern builds in (or when its config is unknown); for what it builds
as a module, the fetched entry's copy (fetched now into an entry that lacks
it), or a build tree's own .ko. A kernel without the driver at all, or a
built kernel that made it a module, is named with what to do.
]]
function M.modules(kern, names)
  local out, e = {}, kern.dir and entry(kern.release) or {}
  local fetched = kern.dir ~= nil and not kern.key and kern.dir == e.dir
  local mods
  for _, name in ipairs(names) do
    local m = M.MODULES[name] or error("modules: unknown module '" .. tostring(name) .. "'", 2)
    local v = kern.config and M.config_value(kern, m.option)
    local rebuild = kern.key and "; build it again (ktstr's kernel config builds it in)" or ""
    if kern.config and v ~= "y" and v ~= "m" then
      return nil, ("kernel %s has no %s (%s is not set)%s"):format(kern.key or kern.release,
        m.what, m.option, rebuild)
    end
    if v == "m" then
      local path
      if fetched then
        local why
        if not mods then mods, why = entry_modules(e) end
        if not mods then
          if why then
            say("%s: %s; fetching them again", e.dir, why)
          else
            say("%s has no modules/ (fetched by an older ktstr): fetching %s's", e.dir, name)
          end
          mods, why = add_modules(e)
          if not mods then
            return nil, ("kernel cache entry %s has no usable %s (%s); run: ktstr kernel fetch %s")
              :format(e.dir, name .. ".ko", why, e.release)
          end
        end
        path = mods[name]
      elseif kern.key then
        return nil, ("built kernel %s builds the %s as a module (%s=m), and ktstr packs no " ..
          "modules of built kernels%s"):format(kern.key, m.what, m.option, rebuild)
      else
        -- a build tree keeps its .ko beside the source
        path = kern.dir .. "/" .. m.path:gsub("^kernel/", "")
        if path_kind(path) ~= "file" then
          return nil, ("kernel %s builds the %s as a module (%s=m) and %s is not there: run make" ..
            " modules in the tree, or build it in"):format(kern.dir, m.what, m.option, path)
        end
      end
      out[#out + 1] = { name = name, path = path }
    end
  end
  return out
end

-- kernel.fetch([version]) -> entry | nil, msg, code
-- A complete cached entry that version names is reused without asking apt,
-- so "7.3" stays on a cached 7.3.x; name "7.3.5" to move on. One without
-- modules/ (or with a damaged one) gets them.
function M.fetch(version)
  version = version or DEFAULT_VERSION
  if type(version) ~= "string" or not is_version(version) then
    error("fetch: version must look like 7.3, 7.3.4 or 7.3.4+deb13-amd64, got "
      .. tostring(version), 2)
  end
  local e, bad = find_cached(version)
  if e then
    local mods, why = entry_modules(e)
    if not mods then
      say("%s: %s; fetching its modules", e.dir, why or "no modules/ (fetched by an older ktstr)")
      mods, why = add_modules(e)
      if not mods then return nil, why, "EIO" end
    end
    say("cached %s", e.dir)
    return e
  end
  if bad then say("%s; fetching it again", bad:match("^(.-); run:")) end
  local hits, all = apt_releases(version)
  if not hits then return nil, all, "EIO" end
  local release = hits[1]
  if not release then
    return nil, ("no Debian kernel linux-binary-<release> matching '%s' (plain -amd64"
      .. " flavour) in the apt lists (newest: %s); run apt-get update or pick another version")
      :format(version, all[1] or "none"), "ENOENT"
  end
  local tmp <close>, err, code = scratch()
  if not tmp then return nil, err, code end
  local ok
  ok, err, code = build_entry(tmp.path, release)
  if not ok then return nil, err, code end
  e, err, code = install(tmp.path, release)
  if e then say("stored %s", e.dir) end
  return e, err, code
end

-- The kernel source: Debian's linux-source-X.Y package. Its tarball is kept
-- as <cache>/sources/<Debian version>/linux-source-X.Y.tar.xz with
-- metadata.json, and unpacked on demand: a few subtrees into a caller's dir
-- (the tools/sched_ext build), or the whole tree beside the tarball
-- (`ktstr kernel source`). The version follows the cached kernel of the same
-- series, so the source is the one the guest kernel was built from.

local function sources_dir()
  return M.cache_dir() .. "/sources"
end

-- A JSON file's table (a cache entry's metadata), or nil when absent or not JSON.
function M.read_json(path)
  local ok, v = pcall(cjson.decode, read_file(path) or "")
  return ok and type(v) == "table" and v or nil
end

-- A source entry by its directory name; nil unless complete.
local function source_entry(name)
  local dir = sources_dir() .. "/" .. name
  local meta = M.read_json(dir .. "/metadata.json")
  if not meta or type(meta.tarball) ~= "string" then return nil end
  local e = { dir = dir, package = meta.package, version = meta.version, series = meta.series,
    top = meta.top, tarball = dir .. "/" .. meta.tarball, instead_of = meta.instead_of }
  if path_kind(e.tarball) ~= "file" then return nil end
  local size = math.tointeger(meta.size)
  if size and file_size(e.tarball) ~= size then
    say("%s is %d bytes, %d when fetched: it does not count", e.tarball, file_size(e.tarball), size)
    return nil
  end
  e.tree = dir .. "/" .. e.top
  return e
end

-- The Debian version of the cached kernel that version names, if any.
local function kernel_package_version(version)
  local e = find_cached(version)
  if not e then return nil end
  local meta = M.read_json(e.metadata)
  return meta and type(meta.packages) == "table" and meta.packages["linux-binary-" .. e.release]
    or nil
end

-- Downloads linux-source-series (version want, else the apt candidate) into
-- tmp and builds the entry in tmp/entry; returns its metadata.
local function source_download(tmp, series, want)
  local pkg = "linux-source-" .. series
  say("downloading %s%s", pkg, want and " " .. want or "")
  local cmd = "cd " .. sh_quote(tmp) .. " && apt-get download -q "
  local out, err = sh(cmd .. sh_quote(want and pkg .. "=" .. want or pkg))
  local instead_of
  if not out and want then
    -- backports keep the newest version only: take it rather than nothing
    say("%s %s is not in the apt lists; taking the newest", pkg, want)
    out, err = sh(cmd .. sh_quote(pkg))
    instead_of = want
  end
  if not out then return nil, "apt-get download " .. pkg .. ": " .. err, "EIO" end
  local deb
  for _, name in ipairs(list_dir(tmp)) do
    if name:match("%.deb$") then deb = tmp .. "/" .. name end
  end
  if not deb then return nil, "apt-get download " .. pkg .. ": no .deb", "EIO" end
  out, err = sh("dpkg-deb -f " .. sh_quote(deb) .. " Version")  -- one field: the bare value
  if not out then return nil, "dpkg-deb -f " .. deb .. ": " .. err, "EIO" end
  local meta = { package = pkg, version = out:match("%S+"), series = series,
    top = pkg, tarball = pkg .. ".tar.xz", fetched = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    instead_of = instead_of }
  local member = "./usr/src/" .. meta.tarball
  out, err = sh(("mkdir %s && dpkg-deb --fsys-tarfile %s | tar -xf - -O %s > %s")
    :format(sh_quote(tmp .. "/entry"), sh_quote(deb), sh_quote(member),
      sh_quote(tmp .. "/entry/" .. meta.tarball)))
  if not out or file_size(tmp .. "/entry/" .. meta.tarball) == 0 then
    return nil, ("%s: no %s in it%s"):format(deb, member, err and ": " .. err or ""), "ENOENT"
  end
  os.remove(deb)
  meta.size = file_size(tmp .. "/entry/" .. meta.tarball)
  local ok, werr, wcode = write_file(tmp .. "/entry/metadata.json", cjson.encode(meta) .. "\n")
  if not ok then return nil, werr, wcode end
  return meta
end

local function dir_name(version)
  return (version:gsub("[^%w.+~-]", "_"))
end

-- kernel.source_fetch([version]) -> { package, version, series, top, dir,
--   tarball, tree } | nil, msg, code
-- The source package of the kernel version names (default 7.3): the Debian
-- version of the cached kernel it names, else the newest in the apt lists.
-- A cached tarball is reused without asking apt. tree is where the whole
-- tree is, once source_tree has unpacked it.
function M.source_fetch(version)
  version = version or DEFAULT_VERSION
  local series = type(version) == "string" and is_version(version) and version:match("^%d+%.%d+")
  if not series then
    error("source_fetch: version must look like 7.3, 7.3.4 or 7.3.4+deb13-amd64, got "
      .. tostring(version), 2)
  end
  local want = kernel_package_version(version)
  -- the kernel's own version (or what was taken when apt no longer had it),
  -- else the newest that version names
  local function fits(e)
    if want then return e.version == want or e.instead_of == want end
    return matches(e.version:match("^[^-]+"), version:match("^[^+-]+"))
  end
  local best
  for _, name in ipairs(list_dir(sources_dir())) do
    local e = name:sub(1, 1) ~= "." and source_entry(name)
    if e and e.series == series and fits(e) and (not best or newer(e.version, best.version)) then
      best = e
    end
  end
  if best then return best end
  local tmp <close>, err, code = scratch(sources_dir())
  if not tmp then return nil, err, code end
  local meta
  meta, err, code = source_download(tmp.path, series, want)
  if not meta then return nil, err, code end
  if not want and not fits(meta) then
    return nil, ("%s %s does not match '%s'"):format(meta.package, meta.version, version), "ENOENT"
  end
  local name = dir_name(meta.version)
  if not os.rename(tmp.path .. "/entry", sources_dir() .. "/" .. name) and
      not source_entry(name) then
    os.execute("rm -rf -- " .. sh_quote(sources_dir() .. "/" .. name))
    local ok, rerr, rcode = os.rename(tmp.path .. "/entry", sources_dir() .. "/" .. name)
    if not ok then return nil, rerr, rcode end
  end
  local e = source_entry(name)
  say("stored %s", e.tarball)
  return e
end

-- kernel.source_unpack(src, dst, paths) -> true | nil, msg, code
-- Unpacks the tree's paths ("tools/sched_ext", "scripts/bpf_doc.py"; nil:
-- all of it) from src (source_fetch) into the existing dir dst, as
-- dst/tools/sched_ext...; xz decompresses on every core.
function M.source_unpack(src, dst, paths)
  local names = {}
  for i, p in ipairs(paths or {}) do names[i] = sh_quote(src.top .. "/" .. p) end
  local out, err = sh(("tar -x -I 'xz -T0' -f %s -C %s --strip-components=1 %s")
    :format(sh_quote(src.tarball), sh_quote(dst), table.concat(names, " ")))
  if not out then return nil, ("unpacking %s: %s"):format(src.tarball, err), "EIO" end
  return true
end

-- kernel.source_tree([version]) -> the entry (source_fetch), its whole tree
-- unpacked at entry.tree | nil, msg, code
function M.source_tree(version)
  local e, err, code = M.source_fetch(version)
  if not e then return nil, err, code end
  if path_kind(e.tree) == "dir" then return e end
  local tmp <close>, serr, scode = scratch(e.dir)
  if not tmp then return nil, serr, scode end
  say("unpacking %s", e.tarball)
  local ok
  ok, err, code = M.source_unpack(e, tmp.path)
  if not ok then return nil, err, code end
  -- a concurrent unpack that got there first is as good; the tree is not scratch
  os.remove(tmp.path .. "/.owner")
  if not os.rename(tmp.path, e.tree) and path_kind(e.tree) ~= "dir" then
    return nil, "rename to " .. e.tree .. " failed", "EIO"
  end
  return e
end

-- The command line: ktstr kernel fetch|list|path|source|scx.

local USAGE = [[
usage: ktstr kernel fetch [VERSION]   download Debian's kernel VERSION (default 7.3) into the cache
       ktstr kernel build [SRC] [-j N]
                                      configure and build a kernel for ktstr from the tree SRC
                                      (default Debian's linux-source-7.3); print its key
       ktstr kernel clean KEY|--all   remove a built kernel (or all of them)
       ktstr kernel list              list cached kernels, fetched and built
       ktstr kernel path VERSION [--vmlinux|--bzimage|--btf|--config]
                                      print a cached kernel's directory or file
       ktstr kernel source [VERSION]  fetch and unpack the kernel's source (Debian's
                                      linux-source-X.Y); print the tree's path
       ktstr kernel scx [VERSION]     build the kernel source's tools/sched_ext schedulers
                                      against the kernel's BTF; print their directory
]]

local PATH_FLAGS = {
  ["--vmlinux"] = "vmlinux", ["--bzimage"] = "bzimage",
  ["--btf"] = "btf", ["--config"] = "config",
}

local bad = argparse.complainer("kernel", USAGE)

local function fail(msg)
  io.stderr:write("ktstr kernel: ", msg, "\n")
  return 1
end

-- fetch, source and scx: [VERSION], a kernel version (default 7.3); the result's path on stdout.
local function one_version(name, args)
  local v = args[1]
  if v and v:sub(1, 1) == "-" then return nil, bad(name .. ": unknown option '" .. v .. "'") end
  if args[2] then return nil, bad(name .. ": unexpected argument '" .. args[2] .. "'") end
  if v and not is_version(v) then
    return nil, bad(name .. ": bad VERSION '" .. v .. "' (want e.g. 7.3 or 7.3.4)")
  end
  return v or DEFAULT_VERSION
end

-- A subcommand taking [VERSION]: run(version) -> entry | nil, err; prints entry[field].
local function versioned(name, run, field)
  return function(args)
    local v, rc = one_version(name, args)
    if not v then return rc end
    local e, err = run(v)
    if not e then return fail(name .. ": " .. err) end
    io.stdout:write(e[field], "\n")
    return 0
  end
end

local function cmd_list(args)
  if args[1] then return bad("list: unexpected argument '" .. args[1] .. "'") end
  local rels = cached_releases()
  if #rels == 0 and #built_keys() == 0 then
    io.stderr:write("no kernel in the cache (", kernels_dir(), "); run: ktstr kernel fetch\n")
  end
  for _, rel in ipairs(rels) do
    local e, missing = entry(rel)
    local size = 0
    for _, k in ipairs(FIELDS) do size = size + file_size(e[k]) end
    local why = #missing == 0 and broken(e)
    local mark = #missing > 0 and "  INCOMPLETE: missing " .. table.concat(missing, ", ")
        or why and ("  BROKEN: %s (run: ktstr kernel fetch %s)"):format(why, rel) or ""
    io.stdout:write(("%-24s %8.1f MiB  %s%s\n"):format(rel, size / 2 ^ 20, e.dir, mark))
  end
  for _, key in ipairs(built_keys()) do
    local e, missing = entry(key, builds_dir() .. "/" .. key)
    local meta = M.read_json(e.metadata) or {}
    local size = 0
    for _, k in ipairs(FIELDS) do size = size + file_size(e[k]) end
    local why = #missing == 0 and broken(e)
    local mark = #missing > 0 and "  INCOMPLETE: missing " .. table.concat(missing, ", ")
        or why and ("  BROKEN: %s (run: ktstr kernel clean %s)"):format(why, key) or ""
    io.stdout:write(("%-24s %8.1f MiB  built %s from %s, config %s, %s%s\n"):format(key,
      size / 2 ^ 20, tostring(meta.release), tostring(meta.source), tostring(meta.config_hash),
      tostring(meta.built), mark))
  end
  return 0
end

local function cmd_path(args)
  local spec, field
  for _, a in ipairs(args) do
    if a:sub(1, 1) == "-" then
      if not PATH_FLAGS[a] then return bad("path: unknown option '" .. a .. "'") end
      field = PATH_FLAGS[a]
    elseif spec then
      return bad("path: unexpected argument '" .. a .. "'")
    else
      spec = a
    end
  end
  if not spec then return bad("path: missing VERSION") end
  local k, err = M.resolve(spec)
  if not k then return fail("path: " .. err) end
  if not k[field or "dir"] then return fail(("path: %s has no %s file"):format(spec, field)) end
  io.stdout:write(k[field or "dir"], "\n")
  return 0
end

local commands = {
  fetch = versioned("fetch", M.fetch, "release"), list = cmd_list, path = cmd_path,
  source = versioned("source", M.source_tree, "tree"),
}

--[[
kernel.main(args, builds) -> exit code; args are the words after "ktstr
kernel". builds: `ktstr kernel NAME [VERSION]` builders of the modules that
build on this one, NAME = function(version) -> entry (its bin printed) | nil, err;
the CLI passes scx.build as scx.
]]
function M.main(args, builds)
  local name = args[1]
  if name == "-h" or name == "--help" or name == "help" then
    io.stdout:write(USAGE)
    return 0
  end
  if not name then return bad("missing subcommand") end
  local cmd = commands[name] or builds and builds[name] and versioned(name, builds[name], "bin")
  if not cmd then
    return bad("unknown subcommand '" .. name
      .. "' (want fetch, build, clean, list, path, source or scx)")
  end
  return cmd(table.move(args, 2, #args, 1, {}))
end

return M
