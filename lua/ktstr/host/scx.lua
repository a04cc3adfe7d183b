-- The scheduler corpus: the kernel's own tools/sched_ext schedulers, built once per guest kernel.
--
-- Built from Debian's linux-source-X.Y (kernel.source_fetch: the version the
-- cached guest kernel was built from) against that kernel's BTF, into
-- <cache>/scx/<source version>-<hash>/bin (scx_cpu0, scx_pair, scx_qmap, ...);
-- the hash covers the BTF, the compiler and this recipe. Only the subtrees the
-- build reads are unpacked; the entry is built in a scratch dir and renamed
-- into place, so it is complete or absent. `make scx` links it as build/scx/,
-- where scheduler discovery looks. metadata.json records each binary's size
-- and hash: a damaged entry is built again by scx.build, and a binary taken
-- from one is checked before it goes into a guest (scx.check).
local cjson = require("cjson")
local core = require("ktstr.core")
local kernel = require("ktstr.host.kernel")

local M = {}

-- Part of the key: bump it when the build below changes.
local RECIPE = "ktstr-scx-1"
local CLANG = "clang-19"
-- What `make -C tools/sched_ext` reads outside tools/sched_ext: libbpf (built
-- statically in-tree), the tools headers and build glue, the uapi headers
-- behind them, and the script that generates libbpf's helper definitions.
M.PATHS = { "tools/sched_ext", "tools/lib/bpf", "tools/include", "tools/build",
  "tools/scripts", "tools/arch/x86/include", "arch/x86/include/uapi", "scripts/bpf_doc.py" }
local TOOLS = { CLANG, "bpftool", "make", "gcc", "python3", "xz" }
local LOG_ERRORS, LOG_TAIL = 12, 12

local sh, q = kernel.sh, kernel.sh_quote

local function say(fmt, ...)
  io.stderr:write("ktstr kernel: scx: ", fmt:format(...), "\n")
end

local function scx_dir()
  return kernel.cache_dir() .. "/scx"
end

local file_size = kernel.size

-- Why a binary of an entry (meta: its metadata) differs from what the build
-- recorded, or nil; entries built before records were kept pass.
local function changed(meta, name)
  local path = meta.bin .. "/" .. name
  local size = file_size(path)
  if not size then return ("bin/%s is missing"):format(name) end
  local r = type(meta.files) == "table" and meta.files[name]
  if type(r) ~= "table" then return nil end
  if size ~= r.size then
    return ("bin/%s is %d bytes, %s when built"):format(name, size,
      math.tointeger(r.size) or r.size)
  end
  if core.hash_files({ path }) ~= r.hash then
    return ("bin/%s has changed since it was built"):format(name)
  end
end

-- The entry in dir: its metadata, with bin and log paths; nil unless complete,
-- then nil and why when a binary is not what the build left.
local function entry(dir)
  local meta = kernel.read_json(dir .. "/metadata.json")
  if not meta or type(meta.schedulers) ~= "table" then return nil end
  meta.dir, meta.bin, meta.log = dir, dir .. "/bin", dir .. "/build.log"
  for _, name in ipairs(meta.schedulers) do
    local why = changed(meta, name)
    if why then return nil, why end
  end
  return meta
end

--[[
scx.check(bin) -> nil | why: whether a scheduler binary found in a built
entry (build/scx/NAME links into one) is what the build left, with the
command that repairs it; nil for binaries from anywhere else.
]]
function M.check(bin)
  local dir, name = bin:match("^(.*)/([^/]+)$")
  local meta = dir and kernel.read_json(dir .. "/../metadata.json")
  if not meta or meta.recipe == nil or type(meta.files) ~= "table" then return nil end
  meta.bin = dir
  local why = changed(meta, name)
  if why then
    return ("%s: the scx build cache's %s; run: ktstr kernel scx %s (make scx)")
      :format(bin, why, (tostring(meta.kernel):match("^%d+%.%d+") or ""))
  end
end

-- Full paths of the build tools; a missing one names the package script.
local function tools()
  local found, missing = {}, {}
  for _, t in ipairs(TOOLS) do
    local out = sh("command -v " .. q(t))
    local path = out and out:match("^(/%S+)")
    if path then found[t] = path else missing[#missing + 1] = t end
  end
  if #missing > 0 then
    return nil, ("missing %s; run scripts/install-deps"):format(table.concat(missing, ", ")),
      "ENOENT"
  end
  return found
end

-- What a failed build's log shows: its first error lines (under -j the
-- failing job's lines are not the last ones), then its tail.
local function excerpt(path)
  local errors, last = {}, {}
  local f = io.open(path, "rb")
  if not f then return "" end
  for l in f:lines() do
    if #errors < LOG_ERRORS and (l:find("rror") or l:find("***", 1, true)
        or l:find("fatal", 1, true) or l:find("undefined reference", 1, true)) then
      errors[#errors + 1] = l
    end
    last[#last + 1] = l
    if #last > LOG_TAIL then table.remove(last, 1) end
  end
  f:close()
  return ("its errors:\n%s\nits tail:\n%s"):format(table.concat(errors, "\n"),
    table.concat(last, "\n"))
end
M.excerpt = excerpt -- a kernel build's log too (host/kbuild)

-- Builds into tmp/entry; on failure the log is kept at fail_log.
local function build_entry(tmp, src, k, paths, fail_log)
  local t0 = core.now()
  local tree, out = tmp .. "/src", tmp .. "/out"
  assert(core.mkdir_p(tree) and core.mkdir_p(out) and core.mkdir_p(tmp .. "/entry"))
  local ok, err, code = kernel.source_unpack(src, tree, M.PATHS)
  if not ok then return nil, err, code end
  local log = tmp .. "/entry/build.log"
  local jobs = tonumber(sh("nproc") or "") or 2
  ok = sh(("make -C %s -j%d O=%s CLANG=%s BPFTOOL=%s VMLINUX_BTF=%s all > %s 2>&1")
    :format(q(tree .. "/tools/sched_ext"), jobs, q(out), q(paths[CLANG]), q(paths.bpftool),
      q(k.btf), q(log)))
  if not ok then
    os.execute(("cp %s %s"):format(q(log), q(fail_log)))
    return nil, ("make -C tools/sched_ext failed; log %s, %s"):format(fail_log, excerpt(log)),
      "EIO"
  end
  local names = {}
  local p = assert(io.popen("ls -1 " .. q(out .. "/build/bin")))
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  if #names == 0 then return nil, "make -C tools/sched_ext built no scheduler; log " .. log end
  ok, err = sh(("mv %s %s"):format(q(out .. "/build/bin"), q(tmp .. "/entry/bin")))
  if not ok then return nil, "mv: " .. err, "EIO" end
  local files = {}
  for _, name in ipairs(names) do
    local path = tmp .. "/entry/bin/" .. name
    local hash, herr, hcode = core.hash_files({ path })
    if not hash then return nil, herr, hcode end
    files[name] = { size = file_size(path), hash = hash }
  end
  return { source = { package = src.package, version = src.version },
    kernel = k.release, btf = k.btf, schedulers = names, files = files, recipe = RECIPE,
    built = os.date("!%Y-%m-%dT%H:%M:%SZ"), build_s = core.now() - t0 }
end

-- scx.build([version]) -> entry { dir, bin, log, schedulers, source, kernel }
--   | nil, msg, code
-- The corpus for the cached kernel version names (default 7.3; fetched if
-- need be). A built entry is reused without unpacking or asking apt.
function M.build(version)
  version = version or "7.3"
  local k = kernel.resolve(version)
  if not k or not k.btf then
    local err, code
    k, err, code = kernel.fetch(version)
    if not k then return nil, err, code end
  end
  local paths, err, code = tools()
  if not paths then return nil, err, code end
  local cc = sh(q(paths[CLANG]) .. " --version") or ""
  local src
  src, err, code = kernel.source_fetch(k.release)
  if not src then return nil, err, code end
  local hash
  hash, err, code = core.hash_files({ k.btf }, table.concat({ RECIPE, src.version,
    cc:match("[^\n]*"), table.concat(M.PATHS, " ") }, "\n"))
  if not hash then return nil, err, code end
  local name = ("%s-%s"):format((src.version:gsub("[^%w.+~-]", "_")), hash)
  local dir = scx_dir() .. "/" .. name
  local e, why = entry(dir)
  if e then
    say("cached %s", e.bin)
    return e
  end
  if why then
    say("%s is broken: %s; building it again", dir, why)
    os.execute("rm -rf -- " .. q(dir))
  end
  say("building tools/sched_ext of %s %s against %s's BTF", src.package, src.version, k.release)
  local tmp <close>, serr, scode = kernel.scratch(scx_dir())
  if not tmp then return nil, serr, scode end
  local meta
  meta, err, code = build_entry(tmp.path, src, k, paths, scx_dir() .. "/" .. name .. ".failed.log")
  if not meta then return nil, err, code end
  local f = assert(io.open(tmp.path .. "/entry/metadata.json", "wb"))
  f:write(cjson.encode(meta), "\n")
  f:close()
  -- a concurrent build that got there first is as good
  if not os.rename(tmp.path .. "/entry", dir) and not entry(dir) then
    return nil, "rename to " .. dir .. " failed", "EIO"
  end
  os.remove(scx_dir() .. "/" .. name .. ".failed.log")
  e = entry(dir)
  say("built %s in %.1fs", table.concat(e.schedulers, " "), meta.build_s)
  return e
end

return M
