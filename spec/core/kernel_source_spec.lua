-- The kernel source and the scheduler corpus for real: linux-source-7.3 cached
-- beside the guest kernel (the version the kernel was built from), subtrees
-- unpacked on demand, and tools/sched_ext built once (make check ran `make scx`
-- first, so this spec sees cache hits; a cold cache builds here, about 30 s).
local core = require("ktstr.core")
local kernel = require("ktstr.host.kernel")

local q = kernel.sh_quote
local KTSTR = "./build/ktstr"
local sh = require("support.run").sh

local function kernel_version(k)
  local f = assert(io.open(k.metadata))
  local meta = require("cjson").decode(f:read("a"))
  f:close()
  return meta.packages["linux-binary-" .. k.release]
end

describe("ktstr kernel source and scx (7.3)", function()
  local bin

  setup(function()
    local out, ok = sh(KTSTR .. " kernel scx 7.3 2>&1")
    assert(ok, "ktstr kernel scx 7.3 failed:\n" .. out)
    bin = out:match("([^\n]+)\n$")
  end)

  it("keeps the source package the cached kernel was built from", function()
    local k = assert(kernel.resolve("7.3"))
    local e = assert(kernel.source_fetch("7.3"))
    assert.are.equal("linux-source-7.3", e.package)
    assert.are.equal(kernel_version(k), e.version)
    assert.are.equal(kernel.cache_dir() .. "/sources/" .. e.version:gsub(":", "_"), e.dir)
    assert.are.equal(e.dir .. "/linux-source-7.3.tar.xz", e.tarball)
  end)

  it("unpacks only the paths asked for", function()
    local e = assert(kernel.source_fetch("7.3"))
    local dir = assert(core.mkdtemp("/tmp/ktstr-src-"))
    local ok, err = kernel.source_unpack(e, dir, { "tools/sched_ext/scx_pair.h" })
    local listing = sh("cd " .. q(dir) .. " && find . -type f")
    core.rm_rf(dir)
    assert.is_true(ok, err)
    assert.are.equal("./tools/sched_ext/scx_pair.h\n", listing)
    ok, err = kernel.source_unpack({ tarball = "/nonexistent.tar.xz", top = "linux-source-7.3" },
      "/tmp", { "tools" })
    assert.is_nil(ok)
    assert.matches("^unpacking /nonexistent%.tar%.xz: .*No such file", err)
  end)

  it("builds the kernel's tools/sched_ext schedulers once, then reuses them", function()
    assert.matches("^" .. kernel.cache_dir():gsub("%p", "%%%0") .. "/scx/[^/]+/bin$", bin)
    for _, name in ipairs({ "scx_cpu0", "scx_pair", "scx_qmap", "scx_sdt", "scx_userland" }) do
      local f = assert(io.open(bin .. "/" .. name, "rb"), name)
      assert.are.equal("\127ELF", f:read(4))
      f:close()
    end
    local t0 = core.now()
    local out, ok = sh(KTSTR .. " kernel scx 7.3 2>&1")
    assert.is_true(ok, out)
    assert.are.equal("ktstr kernel: scx: cached " .. bin .. "\n" .. bin .. "\n", out)
    assert.is_true(core.now() - t0 < 1, "a cache hit takes well under a second")
    local f = assert(io.open(bin .. "/../build.log"))
    assert.matches("scx_qmap", f:read("a"), 1, true)
    f:close()
  end)
end)
