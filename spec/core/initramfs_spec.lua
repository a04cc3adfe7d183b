-- The initramfs builder: cpio writer, library closure, content hash, cached images.
local core = require("ktstr.core")
local initramfs = require("ktstr.host.initramfs")

local KTSTR = assert(core.exe())
local LUA_DIR = package.ktstr_lua_dir
local QEMU = "/usr/bin/qemu-system-x86_64"

local function q(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  local ok, _, code = p:close()
  assert(ok, ("%s: exit %s\n%s"):format(cmd, code, out))
  return out
end

local function lines(s)
  local t = {}
  for l in s:gmatch("[^\n]+") do t[#t + 1] = l end
  return t
end

local slurp, spit = require("support.files").read, require("support.files").write

local function set(list)
  local s = {}
  for _, v in ipairs(list) do s[v] = true end
  return s
end

local function ldd(bin)
  local libs = {}
  for _, l in ipairs(lines(sh("ldd " .. q(bin)))) do
    local p = l:match("=> (/%S+)") or l:match("^%s+(/%S+)")
    if p then libs[#libs + 1] = p end
  end
  return libs
end

local tmp

before_each(function()
  tmp = assert(core.mkdtemp("/tmp/ktstr-spec-initramfs-"))
end)

after_each(function()
  core.rm_rf(tmp)
end)

describe("cpio writer", function()
  it("round-trips files, data, dirs and symlinks through cpio -t and cpio -idm", function()
    local archive = tmp .. "/a.cpio"
    assert(core.cpio_write(archive, {
      { path = "/bin/busybox", src = "/bin/busybox" },
      { path = "bin/sh", symlink = "busybox" },
      { path = "etc/motd", data = "hello\n", mode = "0600" },
      { path = "tmp", dir = true, mode = tonumber("1777", 8) },
      { path = "empty", data = "" },
      { path = "lua/ktstr/init.lua", src = LUA_DIR .. "/ktstr/init.lua", mode = "0444" },
    }))
    assert.are.same({ "bin", "bin/busybox", "bin/sh", "etc", "etc/motd", "tmp", "empty",
      "lua", "lua/ktstr", "lua/ktstr/init.lua" }, lines(sh("cpio -t --quiet < " .. q(archive))))

    local x = tmp .. "/x"
    sh(("mkdir %s && cd %s && cpio -idm --quiet < %s"):format(q(x), q(x), q(archive)))
    assert.are.equal(slurp("/bin/busybox"), slurp(x .. "/bin/busybox"))
    assert.are.equal("hello\n", slurp(x .. "/etc/motd"))
    assert.are.equal("", slurp(x .. "/empty"))
    assert.are.equal(slurp(LUA_DIR .. "/ktstr/init.lua"), slurp(x .. "/lua/ktstr/init.lua"))
    local function stat(p) return sh("stat -c '%a %F %Y' " .. q(x .. "/" .. p)) end
    assert.are.equal("755 regular file 0\n", stat("bin/busybox"))
    assert.are.equal("600 regular file 0\n", stat("etc/motd"))
    assert.are.equal("444 regular file 0\n", stat("lua/ktstr/init.lua"))
    assert.are.equal("1777 directory 0\n", stat("tmp"))
    assert.are.equal("busybox\n", sh("readlink " .. q(x .. "/bin/sh")))
  end)

  it("gives byte-identical archives for identical inputs", function()
    local entries = { { path = "a/b/c", data = "x" }, { path = "d", src = KTSTR } }
    assert(core.cpio_write(tmp .. "/1.cpio", entries))
    assert(core.cpio_write(tmp .. "/2.cpio", entries))
    assert.are.equal(slurp(tmp .. "/1.cpio"), slurp(tmp .. "/2.cpio"))
    assert.are.equal(0, #slurp(tmp .. "/1.cpio") % 512)
  end)

  it("returns nil, message and code naming a source that is missing, and leaves no file", function()
    local ok, err, code = core.cpio_write(tmp .. "/a.cpio", {
      { path = "x", data = "1" }, { path = "y", src = tmp .. "/nope" } })
    assert.is_nil(ok)
    assert.are.equal("cpio_write: " .. tmp .. "/nope: No such file or directory", err)
    assert.are.equal("ENOENT", code)
    assert.are.same({}, lines(sh("ls -A " .. q(tmp))))
  end)

  it("raises naming the entry and field of a caller bug", function()
    local out = tmp .. "/a.cpio"
    assert.has_error(function() core.cpio_write(out, { { data = "x" } }) end,
      "entries[1].path must be a string")
    assert.has_error(function()
      core.cpio_write(out, { { path = "a", data = "" }, { path = "b" } })
    end,
      "entries[2] needs one of src, data, dir, symlink")
    assert.has_error(function() core.cpio_write(out, { { path = "a", src = "x", data = "y" } }) end,
      "entries[1] has both src and data")
    assert.has_error(function() core.cpio_write(out, { { path = "a", data = "", mode = "9" } }) end,
      "entries[1].mode must be an octal string or an integer in 0..0o7777")
  end)
end)

describe("library closure", function()
  it("holds exactly what ldd lists for dynamic binaries, interpreter and libc included", function()
    for _, bin in ipairs({ KTSTR, QEMU }) do
      local libs = assert(core.elf_closure({ bin }))
      assert.are.same(set(ldd(bin)), set(libs))
      assert.is_true(set(libs)["/lib64/ld-linux-x86-64.so.2"])
      assert.is_true(set(libs)["/lib/x86_64-linux-gnu/libc.so.6"])
    end
  end)

  it("merges several binaries without duplicates", function()
    local libs = assert(core.elf_closure({ KTSTR, QEMU, KTSTR }))
    local all = set(ldd(KTSTR))
    for p in pairs(set(ldd(QEMU))) do all[p] = true end
    assert.are.same(all, set(libs))
    local n = 0
    for _ in pairs(all) do n = n + 1 end
    assert.are.equal(n, #libs)
  end)

  it("is empty for a static binary", function()
    assert.are.same({}, assert(core.elf_closure({ "/bin/busybox" })))
  end)

  it("names a missing library and the binary that needs it", function()
    local bin = tmp .. "/needs-missing"
    local patched, n = slurp(KTSTR):gsub("liblua5%.4%.so%.0", "libluaX.Y.so.0")
    assert.is_true(n > 0)
    spit(bin, patched)
    local ok, err, code = core.elf_closure({ bin })
    assert.is_nil(ok)
    assert.are.equal("elf_closure: libluaX.Y.so.0 needed by " .. bin ..
      ": No such file or directory", err)
    assert.are.equal("ENOENT", code)
  end)

  it("refuses a file that is not ELF", function()
    local ok, err, code = core.elf_closure({ LUA_DIR .. "/ktstr/init.lua" })
    assert.is_nil(ok)
    assert.are.equal("elf_closure: " .. LUA_DIR .. "/ktstr/init.lua: Exec format error", err)
    assert.are.equal("ENOEXEC", code)
  end)
end)

describe("content hash", function()
  it("follows contents and seed, not file names", function()
    spit(tmp .. "/a", "same")
    spit(tmp .. "/b", "same")
    spit(tmp .. "/c", "other")
    local h = assert(core.hash_files({ tmp .. "/a" }, "seed"))
    assert.matches("^%x+$", h)
    assert.are.equal(16, #h)
    assert.are.equal(h, core.hash_files({ tmp .. "/b" }, "seed"))
    assert.are_not.equal(h, core.hash_files({ tmp .. "/c" }, "seed"))
    assert.are_not.equal(h, core.hash_files({ tmp .. "/a" }, "seeD"))
    assert.are_not.equal(core.hash_files({ tmp .. "/a", tmp .. "/c" }),
      core.hash_files({ tmp .. "/c", tmp .. "/a" }))
  end)
end)

describe("initramfs.build", function()
  local function opts(run_data)
    spit(tmp .. "/config", "CONFIG_SCHED_CLASS_EXT=y\n")
    return {
      cache_dir = tmp .. "/cache", ktstr = KTSTR, lua_dir = LUA_DIR,
      kernel_config = tmp .. "/config", release = "7.3.4+test",
      run_files = { { data = run_data, dst = "/etc/ktstr-run" } },
      out = tmp .. "/initrd.cpio",
    }
  end

  it("reuses the cached base on a second build with the same inputs", function()
    local first = assert(initramfs.build(opts("one")))
    assert.is_false(first.cache_hit)
    assert.are.equal(tmp .. "/cache/" .. first.hash .. ".cpio", first.base)
    local second = assert(initramfs.build(opts("one")))
    assert.is_true(second.cache_hit)
    assert.are.equal(first.hash, second.hash)
    assert.are.same({ first.hash .. ".cpio", first.hash .. ".json" },
      lines(sh("ls " .. q(tmp .. "/cache"))))
  end)

  it("builds a cached base again, naming it, when it no longer matches its record", function()
    local first = assert(initramfs.build(opts("one")))
    local size = #slurp(first.base)
    local said = {}
    local stderr = io.stderr
    for _, damage in ipairs({ "truncate -s 4096 ", "printf x | dd conv=notrunc status=none of=" }) do
      assert(os.execute(damage .. q(first.base)))
      -- luacheck: ignore 122 (the notice is caught here, where it would go)
      io.stderr = { write = function(_, ...) said[#said + 1] = table.concat({ ... }) end }
      local ok, again = pcall(initramfs.build, opts("one"))
      io.stderr = stderr -- luacheck: ignore 122
      assert(ok, again)
      assert.is_false(assert(again).cache_hit)
      assert.are.equal(size, #slurp(first.base))
      assert.is_true(assert(initramfs.build(opts("one"))).cache_hit)
    end
    assert.are.same({
      ("ktstr: initramfs cache %s is broken: 4096 bytes, %d when written; building it again\n")
        :format(first.base, size),
      ("ktstr: initramfs cache %s is broken: its contents changed since it was written"):format(
        first.base),
    }, { said[1], (said[2]:match("^[^(]*"):gsub(" $", "")) })
  end)

  it("keeps the hash when only a run file changes, and rebuilds when a base file does", function()
    local first = assert(initramfs.build(opts("one")))
    local second = assert(initramfs.build(opts("two")))
    assert.is_true(second.cache_hit)
    assert.are.equal(first.hash, second.hash)
    local o = opts("two")
    spit(o.kernel_config, "CONFIG_SCHED_CLASS_EXT=m\n")
    local third = assert(initramfs.build(o))
    assert.is_false(third.cache_hit)
    assert.are_not.equal(first.hash, third.hash)
  end)

  it("packs init, busybox and its applets, Lua modules, libraries and the run file", function()
    local img = assert(initramfs.build(opts("payload")))
    local base_size = #slurp(img.base)
    local base = set(lines(sh("cpio -t --quiet < " .. q(img.path))))
    for _, p in ipairs({ "init", "bin/ktstr", "bin/busybox", "bin/sh", "sbin/ip",
      "lua/ktstr/init.lua", "lua/ktstr/fault.lua", "lua/ktstr/guest/agent.lua",
      "lua/ktstr/interp.lua", "boot/config-7.3.4+test",
      "usr/lib/x86_64-linux-gnu/lua/5.4/cjson.so", "lib64/ld-linux-x86-64.so.2",
      "lib/x86_64-linux-gnu/libc.so.6", "proc", "sys", "dev", "tmp", "run", "root" }) do
      assert.is_true(base[p], p)
    end
    -- cpio stops at the first trailer: the run archive starts where the base ends
    local run = tmp .. "/run.cpio"
    sh(("tail -c +%d %s > %s"):format(base_size + 1, q(img.path), q(run)))
    assert.are.same({ "etc", "etc/ktstr-run" }, lines(sh("cpio -t --quiet < " .. q(run))))
    sh(("cd %s && cpio -id --quiet etc/ktstr-run < %s"):format(q(tmp), q(run)))
    assert.are.equal("payload", slurp(tmp .. "/etc/ktstr-run"))
  end)

  it("carries the top level and guest/ of the Lua tree, not host/, and hashes the set", function()
    local dir = tmp .. "/lua"
    sh(("cp -r %s %s"):format(q(LUA_DIR), q(dir)))
    local o = opts("x")
    o.lua_dir = dir
    local first = assert(initramfs.build(o))
    local base = set(lines(sh("cpio -t --quiet < " .. q(first.base))))
    assert.is_true(base["lua/ktstr/guest/scenario.lua"])
    assert.is_true(base["lua/ktstr/chunk.lua"])
    for _, p in ipairs({ "lua/ktstr/host/runner.lua", "lua/ktstr/host/checks.lua",
      "lua/ktstr/host/repl.lua", "lua/ktstr/host/initramfs.lua", "lua/ktstr/host/cli.lua" }) do
      assert.is_nil(base[p], p)
    end
    -- a host module the guest does not carry leaves the image as it was
    spit(dir .. "/ktstr/host/extra.lua", "return {}\n")
    local second = assert(initramfs.build(o))
    assert.is_true(second.cache_hit)
    assert.are.equal(first.hash, second.hash)
    -- a new guest module is a new image, even before any packed file changes
    spit(dir .. "/ktstr/guest/extra.lua", "return {}\n")
    local third = assert(initramfs.build(o))
    assert.is_false(third.cache_hit)
    assert.are_not.equal(first.hash, third.hash)
  end)

  it("raises at the caller on a conflict and returns nil, msg, code for a missing file", function()
    local o = opts("x")
    o.files = { { src = "/bin/true", dst = "/init" } }
    assert.error_matches(function() initramfs.build(o) end,
      "^initramfs.build: two different entries for /init %(")
    o.files = { { src = tmp .. "/nope", dst = "/opt/nope" } }
    local ok, err, code = initramfs.build(o)
    assert.is_nil(ok)
    assert.are.equal("hash_files: " .. tmp .. "/nope: No such file or directory", err)
    assert.are.equal("ENOENT", code)
  end)
end)
