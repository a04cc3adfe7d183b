-- Saved guests: one guest booted to agent-ready and saved, restored for each run instead of a boot.
--
-- A saved guest is <dir>/<key>/: `state` (QEMU's device and CPU state, from
-- `migrate` to a file with x-ignore-shared, so guest RAM stays out of it),
-- `ram<i>` (the RAM files of the guest's memory backends, holes kept) and
-- meta.json (what it was saved from, the sizes, the state's hash). A run
-- restores one by copying the RAM files into its own run dir (the host
-- monitor reads them there, as after a boot), starting QEMU with the same
-- command line and `-incoming defer`, and loading the state. The key hashes
-- everything that shapes the booted guest: QEMU's command line with the run
-- dir taken out (machine, accelerator, CPU model, topology, memory, kernel
-- command line, devices), the contents of the QEMU binary, the kernel and
-- the image, and the scratch disk's size. A new key is saved on first use.
local cjson = require("cjson")
local core = require("ktstr.core")
local kernel = require("ktstr.host.kernel")

local M = {}

-- Part of the key: bump it when what a saved guest holds changes.
local LAYOUT = "ktstr-saved-1"
-- Saved guests past this many bytes together lose the least recently used.
M.MAX_BYTES = 4 << 30
-- A saved guest that failed to restore this many times is saved again.
M.MAX_FAILURES = 2

-- Whether runs restore saved guests: on unless asked (--no-restore, KTSTR_NO_RESTORE=1).
function M.wanted(opt)
  if opt == false then return false end
  local env = os.getenv("KTSTR_NO_RESTORE")
  return env == nil or env == "" or env == "0"
end

local dir_override

-- restore.set_dir(dir|nil): overrides the environment (specs); nil resets.
function M.set_dir(dir) dir_override = dir end

-- Where saved guests live: KTSTR_SAVED_DIR, else <cache>/saved.
function M.dir()
  if dir_override then return dir_override end
  local env = os.getenv("KTSTR_SAVED_DIR")
  if env and env ~= "" then return env end
  return kernel.cache_dir() .. "/saved"
end

local read_json, write_file, file_size = kernel.read_json, kernel.write_file, kernel.size

-- The QEMU binary argv[1] names, as PATH finds it.
local function find_binary(prog)
  if prog:find("/", 1, true) then return prog end
  for d in (os.getenv("PATH") or "/usr/bin:/bin"):gmatch("[^:]+") do
    local p = d .. "/" .. prog
    if file_size(p) then return p end
  end
  return prog
end

--[[
key{ argv =, run_dir =, kernel =, image =, files =, disk = bytes|nil } -> hex | nil, err.
argv is the guest's QEMU command line; the run dir in it is left out, so
two runs of one guest agree. image: the image base's hash (initramfs.build
hashed its sources already); files: what the image carries beside its base
(the scratch disk's modules). The files' contents are hashed, not their dates.
]]
function M.key(o)
  local words = { LAYOUT, "disk=" .. tostring(o.disk or "none"), "image=" .. o.image }
  for _, a in ipairs(o.argv) do
    words[#words + 1] = (a:gsub(o.run_dir:gsub("%p", "%%%0"), "<run>"))
  end
  local paths = { find_binary(o.argv[1]), o.kernel }
  table.move(o.files or {}, 1, #(o.files or {}), #paths + 1, paths)
  return core.hash_files(paths, table.concat(words, "\0"))
end

-- The RAM files of a guest's command line: mem-path=<run_dir>/<name> (vmm/topology).
function M.ram_files(argv, run_dir)
  local names, prefix = {}, "mem-path=" .. run_dir .. "/"
  for _, a in ipairs(argv) do
    local i = a:find(prefix, 1, true)
    if i then names[#names + 1] = a:sub(i + #prefix):match("^[^,]+") end
  end
  return names
end

-- Why the saved guest in dir cannot be restored, or nil and its meta.
local function damage(dir)
  local meta = read_json(dir .. "/meta.json")
  if not meta then return "its meta.json is missing or unreadable" end
  local size = file_size(dir .. "/state")
  if size ~= meta.state_size then
    return ("its state is %s bytes, %s when saved"):format(size or "missing",
      tostring(meta.state_size))
  end
  local hash = core.hash_files({ dir .. "/state" })
  if hash ~= meta.state_hash then
    return ("its state changed since it was saved (hash %s, %s then)"):format(
      tostring(hash), tostring(meta.state_hash))
  end
  for _, r in ipairs(meta.ram or {}) do
    local n = file_size(dir .. "/" .. r.name)
    if n ~= r.size then
      return ("its %s is %s bytes, %s when saved"):format(r.name, n or "missing",
        tostring(r.size))
    end
  end
  return nil, meta
end

local function read_line(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local line = f:read("l")
  f:close()
  return line
end

local function notice(msg)
  io.stderr:write("ktstr: ", msg, "\n")
end

--[[
find(key) -> { dir =, meta = } | nil. A damaged saved guest (meta, state or
RAM files not as saved) is named, removed and reported absent, so the boot
that follows saves it again.
]]
function M.find(key)
  local dir = M.dir() .. "/" .. key
  if not file_size(dir .. "/meta.json") then return nil end
  local why, meta = damage(dir)
  if why then
    notice(("saved guest %s is damaged: %s; booting, and saving it again"):format(key, why))
    core.rm_rf(dir)
    return nil
  end
  write_file(dir .. "/used", tostring(core.wall_clock()))
  return { dir = dir, meta = meta, key = key }
end

--[[
failed(saved, why): a restore that did not work. The run boots instead (one
line says so); the M.MAX_FAILURES-th failure removes the saved guest, so
the next boot saves it again.
]]
function M.failed(saved, why)
  local path = saved.dir .. "/failures"
  local n = (tonumber(read_line(path) or "") or 0) + 1
  if n >= M.MAX_FAILURES then
    core.rm_rf(saved.dir)
    notice(("restoring the saved guest %s failed (%s); booting, and saving it again")
      :format(saved.key, why))
    return
  end
  write_file(path, tostring(n))
  notice(("restoring the saved guest %s failed (%s); booting"):format(saved.key, why))
end

-- Polls query-migrate until it completes; nil, why when it fails or takes over timeout s.
local function migrated(h, timeout)
  local deadline = core.now() + timeout
  while true do
    local r, err = h:qmp({ execute = "query-migrate" }, math.max(1, timeout))
    if not r then return nil, err end
    if r.status == "completed" then return true end
    if r.status == "failed" or r.status == "cancelled" then
      return nil, "migration " .. r.status .. (r["error-desc"] and ": " .. r["error-desc"] or "")
    end
    if core.now() > deadline then
      return nil, ("migration not done within %gs (%s)"):format(timeout, tostring(r.status))
    end
    core.sleep(0.005)
  end
end

local IGNORE_SHARED = { execute = "migrate-set-capabilities", arguments = {
  capabilities = { { capability = "x-ignore-shared", state = true } } } }

-- Every saved guest: { dir, key, bytes, used } (used: when last restored or saved).
local function list()
  local root, out = M.dir(), {}
  local p = io.popen("ls -1A -- '" .. root:gsub("'", "'\\''") .. "' 2>/dev/null")
  for name in p:read("a"):gmatch("[^\n]+") do
    -- a save its ktstr did not finish (killed): nobody else will remove it
    local pid = name:match("^%.new%-%x+%-(%d+)$")
    local live = pid and io.open("/proc/" .. pid .. "/stat")
    if live then live:close() elseif pid then core.rm_rf(root .. "/" .. name) end
    local meta = name:sub(1, 1) ~= "." and read_json(root .. "/" .. name .. "/meta.json")
    if meta then
      local used = tonumber(read_line(root .. "/" .. name .. "/used") or "")
      out[#out + 1] = { dir = root .. "/" .. name, key = name, meta = meta,
        bytes = meta.bytes or 0, used = used or meta.saved_at or 0 }
    end
  end
  p:close()
  return out
end
M.list = list

-- Keeps the saved guests within M.MAX_BYTES (KTSTR_SAVED_MAX_MB), least recently used out first.
local function evict(keep)
  local max = tonumber(os.getenv("KTSTR_SAVED_MAX_MB") or "")
  max = max and max * (1 << 20) or M.MAX_BYTES
  local all, total = list(), 0
  table.sort(all, function(a, b) return a.used > b.used end)
  for _, s in ipairs(all) do
    total = total + s.bytes
    if total > max and s.key ~= keep then core.rm_rf(s.dir) end
  end
end

--[[
save(h, key, info): saves the guest h (at agent-ready, nothing of a test in
it yet) as key, then lets it run on. info: what meta.json records about
it (kernel, topology). Returns true or nil, why (the guest runs on either way).
]]
function M.save(h, key, info)
  local t0 = core.now()
  local root = M.dir()
  local ok, err = core.mkdir_p(root)
  local tmp = ("%s/.new-%s-%d"):format(root, key, core.getpid())
  if ok then
    core.rm_rf(tmp)
    ok, err = core.mkdir_p(tmp)
  end
  -- stopped first: the RAM files then hold what the state describes
  if ok then ok, err = h:qmp({ execute = "stop" }) end
  if ok then ok, err = h:qmp(IGNORE_SHARED) end
  if ok then
    ok, err = h:qmp({ execute = "migrate", arguments = { uri = "file:" .. tmp .. "/state" } })
  end
  if ok then ok, err = migrated(h, 30) end
  local ram, bytes = {}, 0
  if ok then
    for _, name in ipairs(M.ram_files(h.argv, h.run_dir)) do
      local n, cerr = core.copy_sparse(h.run_dir .. "/" .. name, tmp .. "/" .. name)
      if not n then
        ok, err = nil, cerr
        break
      end
      ram[#ram + 1] = { name = name, size = file_size(tmp .. "/" .. name) }
      bytes = bytes + n
    end
  end
  local cok, cerr = h:qmp({ execute = "cont" })
  if ok and not cok then ok, err = nil, cerr end
  if ok then
    local meta = { key = key, layout = LAYOUT, saved_at = core.wall_clock(), ram = ram,
      state_size = file_size(tmp .. "/state"), state_hash = core.hash_files({ tmp .. "/state" }),
      bytes = bytes + (file_size(tmp .. "/state") or 0), save_s = core.now() - t0 }
    for k, v in pairs(info or {}) do meta[k] = v end
    ok, err = write_file(tmp .. "/meta.json", cjson.encode(meta) .. "\n")
    -- another run may have saved the same guest meanwhile: theirs stays
    if ok and not os.rename(tmp, root .. "/" .. key) then core.rm_rf(tmp) end
  end
  if not ok then core.rm_rf(tmp) end
  if ok then evict(key) end
  return ok, err
end

--[[
incoming(h, saved): h's QEMU was started with -incoming defer; loads the
saved state (the RAM files are already in h's run dir) and runs the guest.
]]
function M.incoming(h, saved)
  local ok, err = h:qmp(IGNORE_SHARED)
  if ok then
    ok, err = h:qmp({ execute = "migrate-incoming", arguments = {
      uri = "file:" .. saved.dir .. "/state" } })
  end
  if ok then ok, err = migrated(h, 30) end
  -- saved stopped (see save): the loaded guest waits for cont
  if ok then ok, err = h:qmp({ execute = "cont" }) end
  return ok, err
end

-- Copies a saved guest's RAM files into run_dir; nil, why when one cannot be.
function M.copy_ram(saved, run_dir)
  for _, r in ipairs(saved.meta.ram or {}) do
    local n, err = core.copy_sparse(saved.dir .. "/" .. r.name, run_dir .. "/" .. r.name)
    if not n then return nil, err end
  end
  return true
end

--[[
clean(release | nil): removes the saved guests of a kernel (by its release
or built KEY), or all of them. Returns how many it removed.
]]
function M.clean(which)
  local n = 0
  for _, s in ipairs(list()) do
    if which == nil or s.meta.kernel == which or
        (s.meta.kernel_path or ""):find("/" .. which .. "/", 1, true) then
      core.rm_rf(s.dir)
      n = n + 1
    end
  end
  if which == nil then core.rm_rf(M.dir()) end
  return n
end

return M
