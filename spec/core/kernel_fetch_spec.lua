-- ktstr kernel fetch for real: Debian's 7.3 kernel lands in the cache, bootable
-- by PVH and carrying BTF and the scratch disk's driver module. The first run
-- downloads about 125 MB (the modules package is 107 MB); later runs reuse the cache.
local kernel = require("ktstr.host.kernel")

local q = kernel.sh_quote
local KTSTR = "./build/ktstr"

local sh = require("support.run").sh

describe("ktstr kernel fetch 7.3", function()
  local k

  setup(function()
    local out, ok = sh(KTSTR .. " kernel fetch 7.3 2>&1")
    assert(ok, "ktstr kernel fetch 7.3 failed:\n" .. out)
    k = assert(kernel.resolve("7.3"))
    assert.are.equal(k.release, out:match("([^\n]+)\n$")) -- stdout's line comes last
  end)

  it("stores a 7.3 release in the cache", function()
    assert.matches("^7%.3%.%d+%+deb%d+%-amd64$", k.release)
    assert.are.equal(kernel.cache_dir() .. "/kernels/" .. k.release, k.dir)
  end)

  it("extracts a vmlinux ELF with the PVH entry note and a .BTF section", function()
    local notes = sh("readelf -n " .. q(k.vmlinux))
    -- XEN_ELFNOTE_PHYS32_ENTRY is type 18; binutils may or may not name it
    local pvh = notes:match("Xen%s+0x%x+%s+Unknown note type: %(0x00000012%)")
        or notes:match("Xen%s+0x%x+%s+[%w_]*PHYS32")
    assert.truthy(pvh, "no Xen PHYS32_ENTRY note in " .. k.vmlinux)
    assert.matches(" %.BTF ", (sh("readelf -S -W " .. q(k.vmlinux))))
  end)

  it("keeps the headers package's BTF-only vmlinux", function()
    assert.are.equal(k.dir .. "/vmlinux.btf", k.btf)
    assert.matches(" %.BTF ", (sh("readelf -S -W " .. q(k.btf))))
  end)

  it("has a config with sched_ext built in", function()
    local f = assert(io.open(k.config))
    local config = f:read("a")
    f:close()
    assert.truthy(config:find("\nCONFIG_SCHED_CLASS_EXT=y\n", 1, true))
  end)

  it("resolves its bzImage and vmlinux files to the same release", function()
    assert.are.equal(k.release, kernel.resolve(k.bzimage).release)
    assert.are.equal(k.release, kernel.resolve(k.vmlinux).release)
  end)

  it("prints the vmlinux path for `kernel path 7.3 --vmlinux`", function()
    assert.are.equal(k.vmlinux .. "\n", sh(KTSTR .. " kernel path 7.3 --vmlinux"))
  end)

  it("keeps the scratch disk's driver, decompressed and recorded: virtio_blk.ko of this release", function()
    local mods = assert(kernel.modules(k, { "virtio_blk" }))
    assert.are.same({ { name = "virtio_blk", path = k.dir .. "/modules/virtio_blk.ko" } }, mods)
    local modinfo = sh("objcopy -O binary --only-section=.modinfo " .. q(mods[1].path) ..
      " /dev/stdout | tr '\\0' '\\n'")
    assert.matches("\nvermagic=" .. k.release:gsub("%p", "%%%0") .. " ", "\n" .. modinfo)
    assert.matches("\nname=virtio_blk\n", "\n" .. modinfo)
    assert.matches("\ndepends=\n", "\n" .. modinfo)  -- nothing else to pack
    local meta = assert(kernel.read_json(k.dir .. "/modules/metadata.json"))
    assert.are.equal("linux-modules-" .. k.release, meta.package)
    assert.is_table(meta.files["virtio_blk.ko"])
  end)

  it("gives an entry fetched by an older ktstr (no modules/) its modules on the next fetch", function()
    local tmp = sh("mktemp -d"):match("[^\n]+")
    local old = tmp .. "/kernels/" .. k.release
    -- the entry's files by link: the modules package is all that is downloaded
    sh(("mkdir -p %s && for f in vmlinuz vmlinux vmlinux.btf config metadata.json; do " ..
      "ln -s %s/$f %s/$f; done"):format(q(old), q(k.dir), q(old)))
    local out, ok = sh(("KTSTR_CACHE_DIR=%s %s kernel fetch %s 2>&1"):format(q(tmp), KTSTR,
      q(k.release)))
    local same = sh(("cmp %s/modules/virtio_blk.ko %s/modules/virtio_blk.ko && echo same")
      :format(q(old), q(k.dir)))
    os.execute("rm -rf -- " .. q(tmp))
    assert.is_true(ok, out)
    assert.matches("no modules/ (fetched by an older ktstr); fetching its modules", out, 1, true)
    assert.matches("downloading linux-modules-" .. k.release, out, 1, true)
    assert.are.equal("same\n", same)
  end)

  it("reuses the cached entry on a second fetch", function()
    local t0 = os.time()
    local out, ok = sh(KTSTR .. " kernel fetch 7.3 2>&1")
    assert.is_true(ok)
    assert.matches("cached " .. k.dir, out, 1, true)
    assert.is_true(os.time() - t0 <= 1)
  end)
end)
