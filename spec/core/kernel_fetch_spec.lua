-- ktstr kernel fetch for real: Debian's 7.3 kernel lands in the cache, bootable
-- by PVH and carrying BTF. The first run downloads about 17 MB; later runs
-- reuse the cache.
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

  it("reuses the cached entry on a second fetch", function()
    local t0 = os.time()
    local out, ok = sh(KTSTR .. " kernel fetch 7.3 2>&1")
    assert.is_true(ok)
    assert.matches("cached " .. k.dir, out, 1, true)
    assert.is_true(os.time() - t0 <= 1)
  end)
end)
