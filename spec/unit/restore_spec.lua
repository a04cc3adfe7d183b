-- host/restore: keys, finding, failing, saving, evicting and cleaning saved guests (QMP faked).
local cjson = require("cjson")
local core = require("ktstr.core")
local restore = require("ktstr.host.restore")

-- slurp: nil for a file that is not there (what a removed saved guest leaves)
local slurp, spit = require("support.files").read_if, require("support.files").write

-- A Vm stand-in: QMP answers from a script, RAM files in its run dir.
local function fake_vm(run_dir, answers)
  local h = { run_dir = run_dir, calls = {},
    argv = { "/bin/true", "-object",
      "memory-backend-file,id=ram0,size=64M,mem-path=" .. run_dir .. "/ram0,share=on",
      "-object", "memory-backend-file,id=ram1,size=64M,mem-path=" .. run_dir .. "/ram1,share=on" } }
  function h:qmp(cmd)
    self.calls[#self.calls + 1] = cmd.execute
    local a = answers[cmd.execute]
    if type(a) == "function" then return a(cmd) end
    if a == nil then return {} end
    return table.unpack(a)
  end
  return h
end

local function ram(path, fill)
  local f = assert(io.open(path, "wb"))
  f:write(fill)
  f:seek("set", (64 << 20) - 1)
  f:write("\0")
  f:close()
end

describe("host/restore", function()
  local dir, saved_dir, run_dir, stderr, real_stderr

  before_each(function()
    dir = assert(core.mkdtemp("/dev/shm/ktstr-restore-spec-"))
    saved_dir, run_dir = dir .. "/saved", dir .. "/run"
    assert(core.mkdir_p(run_dir))
    restore.set_dir(saved_dir)
    stderr, real_stderr = {}, io.stderr
    -- luacheck: ignore
    io.stderr = { write = function(_, ...) stderr[#stderr + 1] = table.concat({ ... }) end }
  end)

  after_each(function()
    io.stderr = real_stderr  -- luacheck: ignore
    restore.set_dir(nil)
    core.rm_rf(dir)
  end)

  local function save_one(key, info)
    ram(run_dir .. "/ram0", "node0")
    ram(run_dir .. "/ram1", "node1")
    local h = fake_vm(run_dir, {
      migrate = function(cmd)
        spit(cmd.arguments.uri:match("^file:(.*)$"), "device state")
        return {}
      end,
      ["query-migrate"] = { { status = "completed" } },
    })
    local ok, err = restore.save(h, key, info or { kernel = "7.3.4+deb13-amd64",
      kernel_path = "/cache/kernels/7.3.4+deb13-amd64/vmlinuz" })
    return ok, err, h
  end

  it("keys a guest by its command line without the run dir, the files' contents and the disk", function()
    local k, mod = dir .. "/kernel", dir .. "/virtio_blk.ko"
    spit(k, "kernel one")
    spit(mod, "module one")
    local function key(rd, extra, disk, image)
      return restore.key({ argv = { "/bin/true", "-smp", extra or "2", "-object",
        "mem-path=" .. rd .. "/ram0" }, run_dir = rd, kernel = k, image = image or "00ff",
        files = { mod }, disk = disk })
    end
    local a = key("/dev/shm/ktstr-AAAAAA")
    assert.matches("^%x+$", a)
    assert.are.equal(a, key("/dev/shm/ktstr-BBBBBB"))
    assert.are_not.equal(a, key("/dev/shm/ktstr-AAAAAA", "4"))
    assert.are_not.equal(a, key("/dev/shm/ktstr-AAAAAA", nil, 256 << 20))
    assert.are_not.equal(a, key("/dev/shm/ktstr-AAAAAA", nil, nil, "00fe"))
    spit(mod, "module two")
    local b = key("/dev/shm/ktstr-AAAAAA")
    assert.are_not.equal(a, b)
    spit(k, "kernel two")
    assert.are_not.equal(b, key("/dev/shm/ktstr-AAAAAA"))
  end)

  it("finds the RAM files in a command line", function()
    assert.are.same({ "ram0", "ram1" }, restore.ram_files(fake_vm(run_dir, {}).argv, run_dir))
  end)

  it("saves a stopped guest: state, RAM files with their holes, meta; then lets it run", function()
    assert.is_true(save_one("k1"))
    local _, _, h = save_one("k1")  -- the same key again: the first stays
    assert.are.same({ "stop", "migrate-set-capabilities", "migrate", "query-migrate", "cont" },
      h.calls)
    local meta = cjson.decode(slurp(saved_dir .. "/k1/meta.json"))
    assert.are.equal("k1", meta.key)
    assert.are.equal(12, meta.state_size)
    assert.are.same({ { name = "ram0", size = 64 << 20 }, { name = "ram1", size = 64 << 20 } },
      meta.ram)
    assert.is_true(meta.bytes < 1 << 20)
    assert.are.equal("node0", slurp(saved_dir .. "/k1/ram0"):sub(1, 5))
    local s = restore.find("k1")
    assert.are.equal(saved_dir .. "/k1", s.dir)
    -- restoring copies them into a run dir
    local rd = dir .. "/run2"
    assert(core.mkdir_p(rd))
    assert.is_true(restore.copy_ram(s, rd))
    assert.are.equal(slurp(saved_dir .. "/k1/ram1"), slurp(rd .. "/ram1"))
    assert.is_nil(slurp(saved_dir .. "/.new-k1-" .. core.getpid() .. "/meta.json"))
  end)

  it("keeps nothing when the migration fails, and the guest runs on", function()
    local h = fake_vm(run_dir, { ["query-migrate"] = { { status = "failed",
      ["error-desc"] = "disk full" } } })
    ram(run_dir .. "/ram0", "x")
    ram(run_dir .. "/ram1", "y")
    local ok, err = restore.save(h, "k2", {})
    assert.is_nil(ok)
    assert.matches("migration failed: disk full", err, 1, true)
    assert.are.equal("cont", h.calls[#h.calls])
    assert.are.same({}, restore.list())
  end)

  it("removes a damaged saved guest and reports it absent", function()
    save_one("k3")
    spit(saved_dir .. "/k3/state", "device stat!")
    assert.is_nil(restore.find("k3"))
    assert.matches("saved guest k3 is damaged: its state changed", table.concat(stderr), 1, true)
    assert.is_nil(slurp(saved_dir .. "/k3/meta.json"))
    save_one("k4")
    os.remove(saved_dir .. "/k4/ram1")
    assert.is_nil(restore.find("k4"))
    assert.matches("its ram1 is missing bytes", table.concat(stderr), 1, true)
    assert.is_nil(restore.find("absent"))
  end)

  it("keeps a saved guest after one failed restore and drops it after the second", function()
    save_one("k5")
    local s = restore.find("k5")
    restore.failed(s, "no answer")
    assert.matches("restoring the saved guest k5 failed (no answer); booting\n",
      table.concat(stderr), 1, true)
    assert.is_truthy(restore.find("k5"))
    restore.failed(s, "no answer")
    assert.matches("booting, and saving it again", stderr[#stderr], 1, true)
    assert.is_nil(restore.find("k5"))
  end)

  it("evicts the least recently used past its room, never the one just saved", function()
    local old = restore.MAX_BYTES
    save_one("old")
    spit(saved_dir .. "/old/used", "1")
    save_one("mid")
    spit(saved_dir .. "/mid/used", "2")
    local per = restore.list()[1].bytes
    restore.MAX_BYTES = per * 2 + 1
    save_one("new")
    restore.MAX_BYTES = old
    local keys = {}
    for _, s in ipairs(restore.list()) do keys[#keys + 1] = s.key end
    table.sort(keys)
    assert.are.same({ "mid", "new" }, keys)
  end)

  it("cleans a kernel's saved guests by release or built key, or all", function()
    save_one("a", { kernel = "7.3.4+deb13-amd64" })
    save_one("b", { kernel = "7.3.4", kernel_path = "/c/builds/linux-7.3-abc/vmlinuz" })
    save_one("c", { kernel = "6.12" })
    assert.are.equal(1, restore.clean("7.3.4+deb13-amd64"))
    assert.are.equal(1, restore.clean("linux-7.3-abc"))
    assert.are.equal(0, restore.clean("nothing"))
    assert.are.equal(1, #restore.list())
    assert.are.equal(1, restore.clean(nil))
    assert.is_nil(slurp(saved_dir .. "/c/meta.json"))
  end)

  it("removes what a killed save left, never a save under way", function()
    local dead, live = saved_dir .. "/.new-abc-999999999", saved_dir .. "/.new-abc-" .. core.getpid()
    assert(core.mkdir_p(dead))
    assert(core.mkdir_p(live))
    assert.are.same({}, restore.list())
    assert.is_nil(io.open(dead .. "/."))
    assert.is_truthy(io.open(live .. "/."))
  end)

  it("is on unless asked off", function()
    assert.is_false(restore.wanted(false))
    assert.is_equal(os.getenv("KTSTR_NO_RESTORE") == nil, restore.wanted(nil))
  end)
end)
