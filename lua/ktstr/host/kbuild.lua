-- Built kernels: `ktstr kernel build [SRC]` and `ktstr kernel clean`, keyed by source and config.
--
-- A build configures SRC (a local tree, or Debian's linux-source-X.Y unpacked
-- by kernel.source_tree) from allnoconfig plus kconfig.BASE and FRAGMENT,
-- checks the fragment stuck after olddefconfig, and runs make bzImage out of
-- tree in <cache>/builds/.obj/<tree and config>/ (kept: an edited tree
-- rebuilds incrementally). The entry <cache>/builds/KEY/ holds what a fetched
-- kernel's does (vmlinuz, vmlinux without DWARF, vmlinux.btf, config,
-- metadata.json, plus build.log); it is assembled in a scratch dir and renamed
-- into place, so a failed or killed build never leaves an entry to boot.
-- KEY = <label>-<hash of the source identity and the config recipe>; the
-- identity is the package version, or git HEAD plus a hash of uncommitted
-- changes. A tree that is not in git has no identity: it always runs make.
local core = require("ktstr.core")
local kconfig = require("ktstr.host.kconfig")
local kernel = require("ktstr.host.kernel")
local scx = require("ktstr.host.scx")

local M = {}

-- Part of the config key: bump it when the configuration steps below change.
local RECIPE = "ktstr-kbuild-2 x86_64 allnoconfig"
local TOOLS = { "make", "gcc", "flex", "bison", "bc", "pahole", "objcopy" }
local DEFAULT_SERIES = "7.3"

local sh, q = kernel.sh, kernel.sh_quote

local function say(fmt, ...)
  io.stderr:write("ktstr kernel: build: ", fmt:format(...), "\n")
end

local read_file, write_file, file_size = kernel.read_file, kernel.write_file, kernel.file_size

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function hash(s)
  return assert(core.hash_files({}, s))
end

-- kbuild.config_hash([fragment]) -> hex: what the configuration depends on
-- besides the tree (the recipe and the fragment).
function M.config_hash(fragment)
  return hash(RECIPE .. "\n" .. kconfig.text(kconfig.all(fragment)))
end

-- kbuild.key(source, cfg) -> KEY: source { label, id } (id nil: none), cfg a config_hash.
function M.key(source, cfg)
  if type(source) ~= "table" or type(source.label) ~= "string" then
    error("key: source must be { label =, id = }", 2)
  end
  local label = source.label:gsub("[^%w.+~_-]", "_")
  -- a key never reads as a kernel version
  if not label:match("^%a") then label = "k" .. label end
  return ("%s-%s"):format(label, hash((source.id or "") .. "\n" .. cfg):sub(1, 12))
end

-- Why dir is not a kernel tree ktstr can build, or nil.
function M.tree_problem(dir)
  for _, f in ipairs({ "Makefile", "Kconfig", "arch/x86/Kconfig", "kernel/sched/core.c" }) do
    if not exists(dir .. "/" .. f) then
      return ("%s is not a Linux kernel source tree (no %s in it)"):format(dir, f)
    end
  end
  -- kernel/sched/ext.c until 7.2, kernel/sched/ext/ since
  if not exists(dir .. "/kernel/sched/ext.c") and not exists(dir .. "/kernel/sched/ext/.")
      and not (read_file(dir .. "/kernel/Kconfig.preempt") or "")
        :find("config SCHED_CLASS_EXT", 1, true) then
    return ("%s has no sched_ext (no kernel/sched/ext.c, no SCHED_CLASS_EXT): the tree is"
      .. " older than 6.12"):format(dir)
  end
end

-- A failed build or configuration exits 1 (the tree's fault), the rest is bad input (2).
function M.exit_code(code)
  return (code == "EBUILD" or code == "ECONFIG") and 1 or 2
end

--[[
kbuild.prepare(spec) -> spec | KEY, or nil, msg, code when a build failed:
what --kernel should resolve (nil, no --kernel, stays nil: the default
kernel; callers tell failure by msg). A kernel source tree nobody built in place (no vmlinux, no
arch/x86/boot/bzImage) becomes its built kernel's KEY, built first unless
the cache has it; anything else is kernel.resolve's to judge, as given.
]]
function M.prepare(spec)
  if type(spec) ~= "string" or spec == "" or not exists(spec .. "/Makefile") then return spec end
  if M.tree_problem(spec) then return spec end
  if exists(spec .. "/vmlinux") or exists(spec .. "/arch/x86/boot/bzImage") then return spec end
  local e, err, code = M.build(spec)
  if not e then return nil, spec .. ": " .. err, code end
  return e.key
end

-- kbuild.git_identity(dir) -> id | nil: HEAD plus a hash of what differs from
-- it (tracked changes and untracked files, their names and contents); nil
-- when dir is not a git work tree.
function M.git_identity(dir)
  -- dir must be the work tree's top: a tree inside someone's other repo is not git's
  local top = sh("git -C " .. q(dir) .. " rev-parse --show-toplevel 2>/dev/null")
  local real = sh("realpath -e -- " .. q(dir))
  if not top or not real or top:match("^[^\n]*") ~= real:match("^[^\n]*") then return nil end
  local head = sh("git -C " .. q(dir) .. " rev-parse --verify -q HEAD 2>/dev/null")
  head = head and head:match("^(%x+)%s*$")
  if not head then return nil end
  local diff = sh("git -C " .. q(dir) .. " diff --binary HEAD --") or ""
  local untracked = sh("git -C " .. q(dir) .. " ls-files -z --others --exclude-standard") or ""
  local paths = {}
  for name in untracked:gmatch("[^%z]+") do paths[#paths + 1] = dir .. "/" .. name end
  if diff == "" and #paths == 0 then return "git:" .. head end
  local h = assert(core.hash_files(paths, diff .. "\0" .. untracked))
  return ("git:%s+%s"):format(head, h)
end

-- The source to build: { dir, label, id, desc } | nil, msg, code.
local function source(src)
  if src == nil then
    local e, err, code = kernel.source_tree(DEFAULT_SERIES)
    if not e then return nil, err, code end
    return { dir = e.tree, label = e.package .. "-" .. e.version,
      id = "debian:" .. e.package .. "=" .. e.version, desc = e.package .. " " .. e.version }
  end
  local real = sh("realpath -e -- " .. q(src))
  real = real and real:match("^(/[^\n]*)")
  if not real then return nil, src .. ": no such directory", "ENOENT" end
  local why = M.tree_problem(real)
  if why then return nil, why, "EINVAL" end
  local id = M.git_identity(real)
  return { dir = real, label = real:match("([^/]+)$") or "linux", id = id,
    desc = id and real .. " " .. id or real .. " (not git: make decides what changed)" }
end

-- The entry's key and the object dir of source s built with config hash cfg.
local function places(s, cfg)
  local obj = ("%s/.obj/%s-%s"):format(kernel.builds_dir(), s.label:gsub("[^%w.+~_-]", "_"),
    hash(s.dir .. "\n" .. cfg):sub(1, 12))
  return M.key(s, cfg), obj
end

-- kbuild.places([src], [fragment]) -> key, obj dir | nil, msg, code: where a build would go.
function M.places(src, fragment)
  local s, err, code = source(src)
  if not s then return nil, err, code end
  return places(s, M.config_hash(fragment))
end

local function tools()
  local missing = {}
  for _, t in ipairs(TOOLS) do
    if not sh("command -v " .. q(t)) then missing[#missing + 1] = t end
  end
  if #missing > 0 then
    return nil, ("missing %s; run scripts/install-deps"):format(table.concat(missing, ", ")),
      "ENOENT"
  end
  return true
end

-- Runs make in obj with its output appended to log; on a terminal its last
-- line is shown as it goes. Returns true or nil.
local function make(srcdir, obj, log, args)
  local cmd = ("make -C %s O=%s %s"):format(q(srcdir), q(obj), args)
  local rcfile = obj .. "/.ktstr-make-rc"
  os.remove(rcfile)
  if core.isatty(2) then
    os.execute(("{ %s; echo $? > %s; } 2>&1 | tee -a %s | while IFS= read -r l; do"
      .. " printf '\\r\\033[K  %%.100s' \"$l\" >&2; done; printf '\\r\\033[K' >&2")
      :format(cmd, q(rcfile), q(log)))
  else
    os.execute(("{ %s; echo $? > %s; } >> %s 2>&1"):format(cmd, q(rcfile), q(log)))
  end
  return (read_file(rcfile) or ""):match("^0%s") ~= nil
end

local function failed(what, log)
  return nil, ("%s failed; log %s, %s"):format(what, log, scx.excerpt(log)), "EBUILD"
end

-- Configures and builds in obj (under its lock); returns the release.
local function configure_and_make(s, obj, log, jobs, fragment)
  write_file(log, ("# ktstr kernel build of %s, %s\n"):format(s.desc, os.date("!%FT%TZ")))
  if not make(s.dir, obj, log, "ARCH=x86_64 allnoconfig") then
    return failed("make allnoconfig", log)
  end
  fragment = kconfig.all(fragment)
  local merged = kconfig.merge(read_file(obj .. "/.config") or "", fragment)
  assert(write_file(obj .. "/.config", merged))
  if not make(s.dir, obj, log, "ARCH=x86_64 olddefconfig") then
    return failed("make olddefconfig", log)
  end
  local ok, why = kconfig.check(read_file(obj .. "/.config") or "", fragment)
  if not ok then return nil, why, "ECONFIG" end
  say("make -j%d bzImage in %s (log %s)", jobs, obj, log)
  if not make(s.dir, obj, log, ("ARCH=x86_64 -j%d bzImage"):format(jobs)) then
    return failed("make bzImage", log)
  end
  local rel = sh(("make -s -C %s O=%s kernelrelease"):format(q(s.dir), q(obj)))
  return rel and rel:match("^(%S+)") or "unknown"
end

-- Copies the build's products into dst, the entry in the making.
local function assemble(obj, dst, log)
  local cmds = {
    ("cp %s %s"):format(q(obj .. "/arch/x86/boot/bzImage"), q(dst .. "/vmlinuz")),
    -- DWARF is ~90% of vmlinux and nothing reads it; .BTF and .symtab stay
    ("objcopy --strip-debug %s %s"):format(q(obj .. "/vmlinux"), q(dst .. "/vmlinux")),
    -- a BTF-only ELF like Debian's headers ship: what vmlinux.h and the monitor read
    ("objcopy --only-section=.BTF --set-section-flags .BTF=alloc,readonly %s %s")
      :format(q(obj .. "/vmlinux"), q(dst .. "/vmlinux.btf")),
    ("cp %s %s"):format(q(obj .. "/.config"), q(dst .. "/config")),
    ("cp %s %s"):format(q(log), q(dst .. "/build.log")),
  }
  for _, c in ipairs(cmds) do
    local ok, err = sh(c)
    if not ok then return nil, c .. ": " .. err, "EIO" end
  end
  local files = {}
  for _, name in ipairs({ "vmlinuz", "vmlinux", "vmlinux.btf", "config" }) do
    local h, err, code = core.hash_files({ dst .. "/" .. name })
    if not h then return nil, err, code end
    files[name] = { size = file_size(dst .. "/" .. name), hash = h }
  end
  return files
end

--[[
kbuild.build([src], [opts]) -> entry (kernel.built) | nil, msg, code
src: a kernel tree's path, or nil for Debian's linux-source-7.3. opts.jobs:
make -j (default nproc); opts.fragment: the options to require (default
kconfig.FRAGMENT; a spec's refused option). code "EINVAL"/"ENOENT" is bad input (exit 2),
"EBUILD"/"ECONFIG" a failed build or configuration (exit 1).
]]
function M.build(src, opts)
  if src ~= nil and type(src) ~= "string" then error("build: src must be a path or nil", 2) end
  opts = opts or {}
  local s, err, code = source(src)
  if not s then return nil, err, code end
  local ok
  ok, err, code = tools()
  if not ok then return nil, err, code end
  local fragment = opts.fragment or kconfig.FRAGMENT
  local cfg = M.config_hash(fragment)
  local key, obj = places(s, cfg)
  local builds = kernel.builds_dir()
  if s.id then
    local e, why = kernel.built(key)
    if e then
      say("cached %s", e.dir)
      return e
    end
    if why then
      say("%s; building it again", why:match("^(.-); run:"))
      core.rm_rf(builds .. "/" .. key)
    end
  end
  assert(core.mkdir_p(obj))
  -- one build at a time in an object dir: its owner lock, held till we return
  if core.owner_state(obj) == "live" then
    return nil, obj .. " is being built by another ktstr; wait for it", "EBUSY"
  end
  local owner, oerr, ocode = core.owner_claim(obj)
  if not owner then return nil, oerr, ocode end
  local _ <close> = setmetatable({}, { __close = function() owner:release() end })
  local jobs = opts.jobs or tonumber(sh("nproc") or "") or 2
  local log = obj .. "/build.log"
  say("building %s into %s", s.desc, key)
  local t0 = core.now()
  local release
  release, err, code = configure_and_make(s, obj, log, jobs, fragment)
  if not release then return nil, err, code end
  local tmp <close>, serr, scode = kernel.scratch(builds)
  if not tmp then return nil, serr, scode end
  local dst = tmp.path .. "/entry"
  assert(core.mkdir_p(dst))
  local files
  files, err, code = assemble(obj, dst, log)
  if not files then return nil, err, code end
  local meta = {
    key = key, release = release, version = release:match("^%d+%.%d+[.%d]*"),
    source = s.desc, source_id = s.id, tree = s.dir, obj = obj, recipe = RECIPE,
    fragment_hash = cfg, config_hash = assert(core.hash_files({ dst .. "/config" })),
    built = os.date("!%Y-%m-%dT%H:%M:%SZ"), build_s = core.now() - t0, files = files,
  }
  assert(write_file(dst .. "/metadata.json", require("cjson").encode(meta) .. "\n"))
  local final = builds .. "/" .. key
  if not os.rename(dst, final) then
    -- a not-git tree rebuilt, or a broken entry: replace it
    core.rm_rf(final)
    local rok, rerr = os.rename(dst, final)
    if not rok then return nil, "rename to " .. final .. ": " .. tostring(rerr), "EIO" end
  end
  say("built %s (%s) in %.0fs", key, release, meta.build_s)
  return kernel.built(key)
end

local function names_in(dir)
  local out = sh("ls -1A -- " .. q(dir) .. " 2>/dev/null") or ""
  local names = {}
  for n in out:gmatch("[^\n]+") do names[#names + 1] = n end
  return names
end

-- Removes an object dir unless a build is using it (then says so).
local function remove_obj(obj)
  if core.owner_state(obj) == "live" then
    io.stderr:write("ktstr kernel: clean: kept ", obj, ": a build is using it\n")
    return
  end
  core.rm_rf(obj)
end

-- kbuild.clean(key | nil for all) -> true | nil, msg: the entries and their
-- object dirs; a build under way keeps its object dir, scratch dirs are
-- host/reclaim's.
function M.clean(key)
  local builds = kernel.builds_dir()
  if key == nil then
    for _, name in ipairs(names_in(builds)) do
      if name == ".obj" then
        for _, o in ipairs(names_in(builds .. "/.obj")) do remove_obj(builds .. "/.obj/" .. o) end
      elseif name:sub(1, 1) ~= "." then
        core.rm_rf(builds .. "/" .. name)
      end
    end
    return true
  end
  if not key:match("^[%w][%w.+~_-]*$") or not exists(builds .. "/" .. key .. "/.") then
    return nil, "no built kernel " .. key .. " (see: ktstr kernel list)"
  end
  local meta = kernel.read_json(builds .. "/" .. key .. "/metadata.json") or {}
  core.rm_rf(builds .. "/" .. key)
  if type(meta.obj) == "string" and meta.obj:sub(1, #builds + 6) == builds .. "/.obj/" then
    remove_obj(meta.obj)
  end
  return true
end

local function usage_err(msg)
  io.stderr:write("ktstr kernel: ", msg, "\nusage: ktstr kernel build [SRC] [-j N]\n",
    "       ktstr kernel clean KEY|--all\n")
  return 2
end

-- kbuild.main(args) -> exit code; args: "build" ... or "clean" ...
function M.main(args)
  local name = args[1]
  if args[2] == "-h" or args[2] == "--help" then
    io.stdout:write("usage: ktstr kernel build [SRC] [-j N]\n       ktstr kernel clean KEY|--all\n")
    return 0
  end
  if name == "clean" then
    if not args[2] or args[3] then return usage_err("clean: want one KEY or --all") end
    local which = args[2] ~= "--all" and args[2] or nil
    -- the guests saved with a kernel go with it (a fetched kernel's release names only those)
    local saved = require("ktstr.host.restore").clean(which)
    local ok, err = M.clean(which)
    if not ok and saved > 0 then ok = true end
    if not ok then
      io.stderr:write("ktstr kernel: clean: ", err, "\n")
      return 2
    end
    return 0
  end
  local src, jobs
  local i = 2
  while args[i] do
    local a = args[i]
    if a == "-j" or a == "--jobs" then
      jobs = math.tointeger(tonumber(args[i + 1] or ""))
      if not jobs or jobs < 1 then return usage_err("build: -j wants a positive number") end
      i = i + 1
    elseif a:match("^%-j%d+$") then
      jobs = math.tointeger(tonumber(a:sub(3)))
    elseif a:sub(1, 1) == "-" then
      return usage_err("build: unknown option '" .. a .. "'")
    elseif src then
      return usage_err("build: unexpected argument '" .. a .. "'")
    else
      src = a
    end
    i = i + 1
  end
  local e, err, code = M.build(src, { jobs = jobs })
  if not e then
    io.stderr:write("ktstr kernel: build: ", err, "\n")
    return M.exit_code(code)
  end
  io.stdout:write(e.key, "\n")
  return 0
end

return M
