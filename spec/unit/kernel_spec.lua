-- ktstr.host.kernel without the network: resolving paths, build trees and a fake cache.
local kernel = require("ktstr.host.kernel")

local q = kernel.sh_quote
local KTSTR = "./build/ktstr"

local sh = require("support.run").sh

local function write(path, data)
  assert(os.execute("mkdir -p " .. q(path:match("^(.*)/"))))
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  f:close()
end

-- An ELF64 whose section table (a null section, .shstrtab, then names) lies
-- after body: what the cache's shape check reads.
local function fake_elf(body, names)
  local strtab, offs = "\0.shstrtab\0", {}
  for i, n in ipairs(names or {}) do
    offs[i] = #strtab
    strtab = strtab .. n .. "\0"
  end
  local stroff = 64 + #body
  local shoff = stroff + #strtab
  local shdrs = ("\0"):rep(64) .. string.pack("<I4I4I8I8I8I8", 1, 3, 0, 0, stroff, #strtab)
      .. ("\0"):rep(24)
  for _, off in ipairs(offs) do
    shdrs = shdrs .. string.pack("<I4I4I8I8I8I8", off, 1, 0, 0, 0, 0) .. ("\0"):rep(24)
  end
  local hdr = "\x7fELF\2\1\1" .. ("\0"):rep(0x28 - 7) .. string.pack("<I8", shoff)
      .. ("\0"):rep(0x3a - 0x30) .. string.pack("<I2I2I2", 64, 2 + #offs, 1)
  return hdr .. body .. strtab .. shdrs
end

-- Enough of a vmlinux for resolve(): an ELF with a banner.
local function fake_vmlinux(release)
  return fake_elf("junk\0Linux version " .. release .. " (me@host) (gcc) #1 SMP\0")
end

-- Enough of a bzImage: one setup sector (0x1f1) and no payload, "HdrS" at
-- 0x202 and the kernel_version pointer at 0x20e, counted from 0x200, to
-- "<release> (me@host) #1".
local function fake_bzimage(release)
  local s = ("\0"):rep(0x1f1) .. "\1" .. ("\0"):rep(0x202 - 0x1f2) .. "HdrS"
      .. ("\0"):rep(0x20e - 0x206) .. string.pack("<I2", 0x100)
  s = s .. ("\0"):rep(0x300 - #s) .. release .. " (me@host) #1\0"
  return s .. ("\0"):rep(0x400 - #s)
end

local function fake_entry(cache, release, skip)
  local dir = cache .. "/kernels/" .. release
  local files = {
    vmlinuz = fake_bzimage(release), vmlinux = fake_vmlinux(release),
    ["vmlinux.btf"] = fake_elf("btf", { ".BTF" }), config = "CONFIG_SCHED_CLASS_EXT=y\n",
    ["metadata.json"] = "{}\n",
  }
  for name, data in pairs(files) do
    if name ~= skip then write(dir .. "/" .. name, data) end
  end
  return dir
end

describe("ktstr.host.kernel", function()
  local tmp, cache

  before_each(function()
    tmp = sh("mktemp -d"):match("[^\n]+")
    cache = tmp .. "/cache"
    kernel.set_cache_dir(cache)
  end)

  after_each(function()
    kernel.set_cache_dir(nil)
    os.execute("rm -rf -- " .. q(tmp))
  end)

  it("sh_quote survives the shell, quotes included", function()
    local s = "it's a $HOME `x` \"y\" \\ z"
    assert.are.equal(s, sh("printf %s " .. q(s)))
  end)

  it("resolves a vmlinux path to its banner's release and the config beside it", function()
    write(tmp .. "/k/vmlinux", fake_vmlinux("7.9.9-test"))
    write(tmp .. "/k/config", "CONFIG_X=y\n")
    local k = assert(kernel.resolve(tmp .. "/k/vmlinux"))
    assert.are.equal("7.9.9-test", k.release)
    assert.are.equal(tmp .. "/k/vmlinux", k.vmlinux)
    assert.are.equal(tmp .. "/k/config", k.config)
    assert.is_nil(k.bzimage)
    assert.is_nil(k.btf) -- the fake ELF has no .BTF section
  end)

  it("reads one option of a kernel's config", function()
    write(tmp .. "/k/vmlinux", fake_vmlinux("7.9.9-test"))
    write(tmp .. "/k/config", "# CONFIG_HZ_100 is not set\nCONFIG_HZ_250=y\nCONFIG_HZ=250\n")
    local k = assert(kernel.resolve(tmp .. "/k/vmlinux"))
    assert.are.same({ "250", "y" }, { kernel.config_value(k, "CONFIG_HZ"),
      kernel.config_value(k, "CONFIG_HZ_250") })
    assert.is_nil(kernel.config_value(k, "CONFIG_HZ_100"))
    assert.is_nil(kernel.config_value({ release = "x" }, "CONFIG_HZ"))
  end)

  it("keeps the guest's symbols per kernel and asks again when ktstr needs more", function()
    local gk = require("ktstr.host.kmem")
    write(tmp .. "/k/vmlinux", fake_vmlinux("7.9.9-test"))
    local k = assert(kernel.resolve(tmp .. "/k/vmlinux"))
    assert.is_nil(gk.cached_symbols(k))
    local syms = {}
    for _, name in ipairs(gk.SYMBOLS) do
      if not gk.OPTIONAL[name] then syms[name] = "0xffffffff81000000" end
    end
    gk.save_symbols(k, syms)
    -- the optional ones the guest did not have are not asked for again
    assert.are.same(syms, gk.cached_symbols(k))
    local saved = gk.SYMBOLS
    gk.SYMBOLS = { table.unpack(saved) }
    gk.SYMBOLS[#gk.SYMBOLS + 1] = "scx_something_new"
    gk.OPTIONAL.scx_something_new = true
    local ok, err = pcall(function() assert.is_nil(gk.cached_symbols(k)) end)
    gk.SYMBOLS, gk.OPTIONAL.scx_something_new = saved, nil
    assert(ok, err)
    -- a cache from before the list of names asked for was kept: asked again
    write(cache .. "/ksyms/7.9.9-test-" .. #fake_vmlinux("7.9.9-test") .. ".json",
      require("cjson").encode(syms))
    assert.is_nil(gk.cached_symbols(k))
  end)

  it("resolves a built kernel by its key, checked like a fetched one", function()
    local dir = fake_entry(cache, "7.9.7-built")
    local key = "linux-source-7.9-7.9.7-1-0123456789ab"
    sh(("mkdir -p %s && mv %s %s"):format(q(cache .. "/builds"), q(dir),
      q(cache .. "/builds/" .. key)))
    write(cache .. "/builds/" .. key .. "/metadata.json", '{"release":"7.9.7-built"}\n')
    local k = assert(kernel.resolve(key))
    assert.are.equal("7.9.7-built", k.release)
    assert.are.equal(key, k.key)
    assert.are.equal(cache .. "/builds/" .. key .. "/vmlinux.btf", k.btf)
    -- a scratch dir beside it is nobody's kernel; a missing file names the repair
    sh("mkdir -p " .. q(cache .. "/builds/.fetch-abcdef"))
    assert.is_nil((kernel.built(".fetch-abcdef")))
    os.remove(cache .. "/builds/" .. key .. "/vmlinux")
    local none, err = kernel.resolve(key)
    assert.is_nil(none)
    assert.matches("built kernel .* is unusable: missing vmlinux; run: ktstr kernel clean "
      .. key:gsub("%p", "%%%0"), err)
  end)

  it("resolves a build tree to its vmlinux, bzImage and .config", function()
    local tree = tmp .. "/linux"
    write(tree .. "/vmlinux", fake_vmlinux("7.9.8-tree"))
    write(tree .. "/arch/x86/boot/bzImage", fake_bzimage("7.9.8-tree"))
    write(tree .. "/.config", "CONFIG_X=y\n")
    for _, spec in ipairs({ tree, tree .. "/arch/x86/boot/bzImage" }) do
      local k = assert(kernel.resolve(spec))
      assert.are.equal("7.9.8-tree", k.release)
      assert.are.equal(tree .. "/vmlinux", k.vmlinux)
      assert.are.equal(tree .. "/arch/x86/boot/bzImage", k.bzimage)
      assert.are.equal(tree .. "/.config", k.config)
    end
  end)

  it("rejects a file that is no kernel, and a missing path", function()
    write(tmp .. "/notes.txt", "hello\n")
    local k, err, code = kernel.resolve(tmp .. "/notes.txt")
    assert.is_nil(k)
    assert.matches("neither a vmlinux ELF nor a bzImage", err, 1, true)
    assert.are.equal("EINVAL", code)
    k, err, code = kernel.resolve(tmp .. "/nope")
    assert.is_nil(k)
    assert.matches(tmp .. "/nope: no such file", err, 1, true)
    assert.are.equal("ENOENT", code)
  end)

  it("needs no module where the virtio-blk driver is built in, and names a kernel without it", function()
    local dir = fake_entry(cache, "7.9.4+deb13-amd64")
    local k = assert(kernel.resolve("7.9.4"))
    assert.are.same({ nil, "kernel 7.9.4+deb13-amd64 has no virtio-blk driver (CONFIG_VIRTIO_BLK" ..
      " is not set)" }, { kernel.modules(k, { "virtio_blk" }) })
    write(dir .. "/config", "CONFIG_SCHED_CLASS_EXT=y\nCONFIG_VIRTIO_BLK=y\n")
    assert.are.same({}, kernel.modules(k, { "virtio_blk" }))
    assert.has_error(function() kernel.modules(k, { "ext4" }) end, "modules: unknown module 'ext4'")
  end)

  it("gives a fetched entry's checked virtio_blk.ko, and names a damaged one with its repair", function()
    local rel = "7.9.5+deb13-amd64"
    local dir = fake_entry(cache, rel)
    write(dir .. "/config", "CONFIG_SCHED_CLASS_EXT=y\nCONFIG_VIRTIO_BLK=m\n")
    local ko = dir .. "/modules/virtio_blk.ko"
    write(ko, fake_elf("vermagic=" .. rel, { ".modinfo" }))
    local f = assert(io.open(ko, "rb"))
    local size = f:seek("end")
    f:close()
    write(dir .. "/modules/metadata.json", require("cjson").encode({ files = {
      ["virtio_blk.ko"] = { size = size, hash = require("ktstr.core").hash_files({ ko }) } } }))
    local k = assert(kernel.resolve(rel))
    assert.are.same({ { name = "virtio_blk", path = ko } }, kernel.modules(k, { "virtio_blk" }))
    -- cut short: fetched again from linux-modules-<release>, which apt has not heard of here
    write(ko, "\127ELF")
    local none, err = kernel.modules(k, { "virtio_blk" })
    assert.is_nil(none)
    assert.matches("kernel cache entry " .. dir:gsub("%p", "%%%0") .. " has no usable " ..
      "virtio_blk.ko %(apt%-get download: .*%); run: ktstr kernel fetch " .. rel:gsub("%p", "%%%0"), err)
  end)

  it("packs no module of a built kernel, and a build tree's own", function()
    local dir = fake_entry(cache, "7.9.7-built")
    local key = "linux-source-7.9-7.9.7-1-0123456789ab"
    sh(("mkdir -p %s && mv %s %s"):format(q(cache .. "/builds"), q(dir),
      q(cache .. "/builds/" .. key)))
    write(cache .. "/builds/" .. key .. "/config", "CONFIG_VIRTIO_BLK=m\n")
    local none, err = kernel.modules(assert(kernel.resolve(key)), { "virtio_blk" })
    assert.is_nil(none)
    assert.are.equal("built kernel " .. key .. " builds the virtio-blk driver as a module " ..
      "(CONFIG_VIRTIO_BLK=m), and ktstr packs no modules of built kernels; build it again " ..
      "(ktstr's kernel config builds it in)", err)
    local tree = tmp .. "/linux"
    write(tree .. "/vmlinux", fake_vmlinux("7.9.8-tree"))
    write(tree .. "/.config", "CONFIG_VIRTIO_BLK=m\n")
    local k = assert(kernel.resolve(tree))
    none, err = kernel.modules(k, { "virtio_blk" })
    assert.is_nil(none)
    assert.matches("drivers/block/virtio_blk.ko is not there: run make modules", err, 1, true)
    write(tree .. "/drivers/block/virtio_blk.ko", fake_elf("m"))
    assert.are.same({ { name = "virtio_blk", path = tree .. "/drivers/block/virtio_blk.ko" } },
      kernel.modules(k, { "virtio_blk" }))
  end)

  it("tells how to fetch a version that is not cached", function()
    local k, err, code = kernel.resolve("7.2")
    assert.is_nil(k)
    assert.are.equal("no cached kernel matches '7.2'; run: ktstr kernel fetch 7.2", err)
    assert.are.equal("ENOENT", code)
  end)

  it("tells how to fill an empty cache when no kernel is named", function()
    if os.getenv("KTSTR_KERNEL") then return end -- it would name one
    local k, err = kernel.resolve()
    assert.is_nil(k)
    assert.are.equal("no kernel in the cache; run: ktstr kernel fetch", err)
  end)

  it("finds cached kernels by version prefix, version or release, newest first", function()
    fake_entry(cache, "7.9.2+deb13-amd64")
    local dir = fake_entry(cache, "7.9.10+deb13-amd64")
    for _, spec in ipairs({ "7.9", "7.9.10", "7.9.10+deb13-amd64" }) do
      local k = assert(kernel.resolve(spec))
      assert.are.equal("7.9.10+deb13-amd64", k.release)
      assert.are.equal(dir, k.dir)
      assert.are.equal(dir .. "/vmlinux", k.vmlinux)
      assert.are.equal(dir .. "/vmlinuz", k.bzimage)
      assert.are.equal(dir .. "/vmlinux.btf", k.btf)
      assert.are.equal(dir .. "/config", k.config)
    end
    assert.are.equal("7.9.2+deb13-amd64", kernel.resolve("7.9.2").release)
    assert.is_nil(kernel.resolve("7.9.1"))
    if not os.getenv("KTSTR_KERNEL") then
      assert.are.equal("7.9.10+deb13-amd64", kernel.resolve().release)
    end
  end)

  it("skips incomplete entries and `kernel list` marks them", function()
    fake_entry(cache, "7.9.3+deb13-amd64", "vmlinux")
    fake_entry(cache, "7.9.1+deb13-amd64")
    assert.are.equal("7.9.1+deb13-amd64", kernel.resolve("7.9").release)
    local out, ok = sh(("KTSTR_CACHE_DIR=%s %s kernel list"):format(q(cache), KTSTR))
    assert.is_true(ok)
    local first, second = out:match("^([^\n]*)\n([^\n]*)\n$")
    assert.matches("^7%.9%.3%+deb13%-amd64 .*INCOMPLETE: missing vmlinux$", first)
    assert.matches("^7%.9%.1%+deb13%-amd64 .* MiB  " .. cache:gsub("%p", "%%%0") .. "/kernels/7%.9%.1%+deb13%-amd64$", second)
  end)

  it("names an unusable entry and the command that repairs it when no other fits", function()
    local dir = fake_entry(cache, "7.9.3+deb13-amd64", "config")
    local want = "kernel cache entry " .. dir .. " is unusable: missing config; " ..
      "run: ktstr kernel fetch 7.9.3+deb13-amd64"
    assert.are.same({ nil, want, "ENOENT" }, { kernel.resolve("7.9") })
    if not os.getenv("KTSTR_KERNEL") then
      assert.are.same({ nil, want, "ENOENT" }, { kernel.resolve() })
    end
  end)

  it("refuses an entry whose vmlinux, vmlinuz or BTF is cut short, naming the file", function()
    local cases = {
      { "vmlinux", 100, "vmlinux is not a whole ELF file (its section table is cut off)" },
      { "vmlinux.btf", 150, "vmlinux.btf is not a whole ELF file (its section table is cut off)" },
      { "vmlinuz", 0x300, "vmlinuz is 768 bytes, shorter than the 1024 its header announces" },
      { "config", 0, "config has no CONFIG_ option" },
    }
    for i, c in ipairs(cases) do
      local rel = ("7.9.%d+deb13-amd64"):format(i)
      local dir = fake_entry(cache, rel)
      assert(os.execute(("truncate -s %d %s"):format(c[2], q(dir .. "/" .. c[1]))))
      assert.are.same({ nil, ("kernel cache entry %s is unusable: %s; run: ktstr kernel fetch %s")
        :format(dir, c[3], rel), "ENOENT" }, { kernel.resolve(rel) })
    end
  end)

  it("checks an entry against the sizes and hashes its fetch recorded", function()
    local core = require("ktstr.core")
    local rel = "7.9.5+deb13-amd64"
    local dir = fake_entry(cache, rel)
    local files = {}
    for _, name in ipairs({ "vmlinuz", "vmlinux", "vmlinux.btf", "config" }) do
      local f = assert(io.open(dir .. "/" .. name, "rb"))
      files[name] = { size = f:seek("end"), hash = assert(core.hash_files({ dir .. "/" .. name })) }
      f:close()
    end
    write(dir .. "/metadata.json", require("cjson").encode({ release = rel, files = files }))
    assert.are.equal(dir, assert(kernel.resolve(rel)).dir)
    -- the same size, other bytes: the hash sees it (in a process that has not hashed it yet)
    write(dir .. "/config", "CONFIG_SCHED_CLASS_EXT=n\n")
    local out, ok = sh(("KTSTR_CACHE_DIR=%s %s kernel path %s 2>&1"):format(q(cache), KTSTR, rel))
    assert.is_falsy(ok)
    assert.matches("config has changed since it was fetched (hash ", out, 1, true)
    -- a size that differs is seen at every use
    write(dir .. "/config", "CONFIG_SCHED_CLASS_EXT=y\nCONFIG_X=y\n")
    assert.are.equal(("kernel cache entry %s is unusable: config is 36 bytes, 25 when fetched; " ..
      "run: ktstr kernel fetch %s"):format(dir, rel), select(2, kernel.resolve(rel)))
    out = sh(("KTSTR_CACHE_DIR=%s %s kernel list"):format(q(cache), KTSTR))
    assert.matches("BROKEN: config is 36 bytes, 25 when fetched (run: ktstr kernel fetch " .. rel
      .. ")", out, 1, true)
  end)

  it("finds the cache without HOME under the home the user database gives", function()
    local env = "env -u HOME -u KTSTR_CACHE_DIR -u XDG_CACHE_HOME " .. KTSTR
    local home = sh("getent passwd \"$(id -u)\" | cut -d: -f6"):match("[^\n]+")
    assert.are.equal(home .. "/.cache/ktstr\n",
      sh(env .. " lua -e " .. q("print(require('ktstr.host.kernel').cache_dir())") .. " 2>&1"))
    local out = sh(env .. " kernel path 6.99 2>&1")
    assert.are.equal("ktstr kernel: path: no cached kernel matches '6.99'; " ..
      "run: ktstr kernel fetch 6.99\n", out)
  end)

  it("`kernel path` prints the directory or the file a flag names", function()
    local dir = fake_entry(cache, "7.9.4+deb13-amd64")
    local cmd = ("KTSTR_CACHE_DIR=%s %s kernel path 7.9 "):format(q(cache), KTSTR)
    assert.are.equal(dir .. "\n", sh(cmd))
    assert.are.equal(dir .. "/vmlinux\n", sh(cmd .. "--vmlinux"))
    assert.are.equal(dir .. "/vmlinuz\n", sh(cmd .. "--bzimage"))
    assert.are.equal(dir .. "/vmlinux.btf\n", sh(cmd .. "--btf"))
    assert.are.equal(dir .. "/config\n", sh(cmd .. "--config"))
  end)

  it("answers bad input with exit code 2 and a message naming it", function()
    local cases = {
      { "kernel frob", "unknown subcommand 'frob'" },
      { "kernel path", "path: missing VERSION" },
      { "kernel path 7.3 --kernel", "path: unknown option '--kernel'" },
      { "kernel fetch --force", "fetch: unknown option '--force'" },
      { "kernel fetch latest", "fetch: bad VERSION 'latest'" },
      { "kernel list extra", "list: unexpected argument 'extra'" },
      { "kernel source --all", "source: unknown option '--all'" },
      { "kernel source 7.3 7.4", "source: unexpected argument '7.4'" },
      { "kernel scx newest", "scx: bad VERSION 'newest'" },
    }
    for _, c in ipairs(cases) do
      local out, _, status = sh(("KTSTR_CACHE_DIR=%s %s %s 2>&1"):format(q(cache), KTSTR, c[1]))
      assert.are.equal(2, status, c[1])
      assert.matches(c[2], out, 1, true)
    end
  end)

  it("reuses the cached source of the cached kernel's Debian version, without apt", function()
    local kdir = fake_entry(cache, "7.9.4+deb13-amd64")
    write(kdir .. "/metadata.json", '{"packages":{"linux-binary-7.9.4+deb13-amd64":"7.9.4-1"}}')
    local function source(version, extra)
      local dir = cache .. "/sources/" .. version
      write(dir .. "/linux-source-7.9.tar.xz", "xz")
      write(dir .. "/metadata.json", ('{"package":"linux-source-7.9","version":"%s",' ..
        '"series":"7.9","top":"linux-source-7.9","tarball":"linux-source-7.9.tar.xz"%s}')
        :format(version, extra or ""))
      return dir
    end
    local own = source("7.9.4-1")
    source("7.9.6-1")
    local e = assert(kernel.source_fetch("7.9"))
    assert.are.same({ own, own .. "/linux-source-7.9.tar.xz", own .. "/linux-source-7.9" },
      { e.dir, e.tarball, e.tree })
    assert.are.equal(own, assert(kernel.source_fetch("7.9.4+deb13-amd64")).dir)
    -- no kernel of that version: the newest source it names
    assert.are.equal(cache .. "/sources/7.9.6-1", assert(kernel.source_fetch("7.9.6")).dir)
    -- a tarball that is not the size its fetch recorded does not count (it would win the tie)
    local cut = source("7.9.6-0", ',"size":3')
    local said, stderr = {}, io.stderr
    io.stderr = { write = function(_, ...) said[#said + 1] = table.concat({ ... }) end } -- luacheck: ignore 122
    local ok, e2 = pcall(kernel.source_fetch, "7.9.6")
    io.stderr = stderr -- luacheck: ignore 122
    assert.are.equal(cache .. "/sources/7.9.6-1", assert(ok and e2, e2).dir)
    assert.are.same({ "ktstr kernel: " .. cut .. "/linux-source-7.9.tar.xz is 2 bytes, 3 when " ..
      "fetched: it does not count\n" }, said)
    source("7.9.6-0", ',"size":2')
    assert.are.equal(cache .. "/sources/7.9.6-0", assert(kernel.source_fetch("7.9.6")).dir)
    -- taken when apt no longer had the kernel's own version
    os.execute("rm -rf -- " .. q(own))
    local newer = source("7.9.5-1", ',"instead_of":"7.9.4-1"')
    assert.are.equal(newer, assert(kernel.source_fetch("7.9")).dir)
    assert.has_error(function() kernel.source_fetch("latest") end,
      "source_fetch: version must look like 7.3, 7.3.4 or 7.3.4+deb13-amd64, got latest")
  end)

  it("raises on a spec that is not a string", function()
    assert.has_error(function() kernel.resolve(42) end,
      "resolve: spec must be a string or nil, got number")
  end)
end)
