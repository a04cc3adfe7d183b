-- Boots that cannot work: QEMU's own word shown and no second boot; broken cache entries named with their repair.
local core = require("ktstr.core")
local kernel = require("ktstr.host.kernel")
local run = require("support.run")

local q = run.sh_quote
local QEMU_SAYS = "qemu-system-x86_64: Error while loading elf kernel"

-- The cached kernel the specs use; its files are only ever read or hard-linked.
local real = assert(kernel.resolve("7.3"), "no cached 7.3 kernel: run ktstr kernel fetch 7.3")
local tmp

-- A kernel cache of our own holding the real entry: its files hard-linked
-- (never written), those that `broken` names copied and cut to that size
-- (false: removed). Returns the cache dir and the entry's dir.
local function cache_copy(broken)
  local cache = tmp .. "/cache"
  local dir = cache .. "/kernels/" .. real.release
  assert(core.mkdir_p(dir))
  for _, name in ipairs({ "vmlinuz", "vmlinux", "vmlinux.btf", "config", "metadata.json" }) do
    local src, size = real.dir .. "/" .. name, broken and broken[name]
    if size == nil then
      assert(os.execute(("ln %s %s"):format(q(src), q(dir .. "/" .. name))))
    elseif size then
      assert(os.execute(("head -c %d %s > %s"):format(size, q(src), q(dir .. "/" .. name))))
    end
  end
  return cache, dir
end

-- A script with one test that passes if it runs.
local function passing_script()
  local path = tmp .. "/boots.lua"
  local f = assert(io.open(path, "w"))
  f:write('local ktstr = require("ktstr")\n',
    'ktstr.test{ name = "boots", duration_s = 1, run = function() return ktstr.pass() end }\n')
  f:close()
  return path
end

describe("a boot that cannot work #vm", function()
  before_each(function()
    tmp = assert(core.mkdtemp("/tmp/ktstr-spec-boot-"))
  end)

  after_each(function()
    core.rm_rf(tmp)
    run.assert_no_leftovers()
  end)

  it("shows QEMU's message for a cut vmlinux, in ktstr vm and ktstr script, and boots once", function()
    -- cut after the release banner (so it resolves), before the data segment QEMU loads
    local vmlinux = tmp .. "/k/vmlinux"
    assert(core.mkdir_p(tmp .. "/k"))
    assert(os.execute(("head -c %d %s > %s"):format(32 << 20, q(real.vmlinux), q(vmlinux))))
    local t0 = core.now()
    local code, out, err = run.ktstr({ "vm", "--kernel", vmlinux, "--", "true" })
    assert.are_not.equal(0, code)
    assert.are.equal("", out)
    assert.matches("^ktstr: guest stopped during boot %(QEMU exited%): " .. QEMU_SAYS:gsub("%p", "%%%0")
      .. "\n%-%-%- qemu stderr %-%-%-\n" .. QEMU_SAYS:gsub("%p", "%%%0") .. "\n", err)
    assert.is_nil(err:find("booting again", 1, true))

    code, out, err = run.ktstr({ "script", passing_script(), "--kernel", vmlinux })
    assert.are.equal(2, code, out)
    assert.matches("^INCONCLUSIVE boots [^\n]*: guest stopped during boot %(QEMU exited%): "
      .. QEMU_SAYS:gsub("%p", "%%%0") .. "\n", out)
    assert.matches("\n--- qemu stderr ---\n" .. QEMU_SAYS .. "\n", out, 1, true)
    assert.is_nil(err:find("booting again", 1, true))
    -- two refusals by QEMU take well under a second each; a boot retried would show here too
    assert.is_true(core.now() - t0 < 20, ("took %.1fs"):format(core.now() - t0))
  end)

  it("names a kernel cache entry without config, or with its vmlinux cut, and its repair", function()
    local cases = {
      { { config = false }, "missing config" },
      { { vmlinux = 32 << 20 }, "vmlinux is not a whole ELF file (its section table is cut off)" },
    }
    for _, c in ipairs(cases) do
      local cache, dir = cache_copy(c[1])
      local code, _, err = run.ktstr({ "vm", "--", "true" }, { KTSTR_CACHE_DIR = cache })
      assert.are.equal(2, code, err)
      assert.are.equal(("ktstr: kernel cache entry %s is unusable: %s; run: ktstr kernel fetch %s\n")
        :format(dir, c[2], real.release), err)
      core.rm_rf(cache)
    end
  end)

  it("builds a cut cached initramfs again, naming it, and boots", function()
    local cache = cache_copy()
    local env = { KTSTR_CACHE_DIR = cache }
    local code, _, err = run.ktstr({ "vm", "--", "true" }, env)
    assert.are.equal(0, code, err)
    local bases = assert(core.list_files(cache .. "/initramfs", ".cpio"))
    assert.are.equal(1, #bases)
    local base = cache .. "/initramfs/" .. bases[1]
    assert(os.execute("truncate -s 300000 " .. q(base)))
    code, _, err = run.ktstr({ "vm", "--", "true" }, env)
    assert.are.equal(0, code, err)
    assert.matches(("ktstr: initramfs cache %s is broken: 300000 bytes, %%d+ when written; " ..
      "building it again\n"):format(base:gsub("%p", "%%%0")), err)
  end)

  it("names the initramfs when the guest kernel finds no /init in it", function()
    -- an image cut short after the cache's check passed it (its record forged to match)
    local cache = cache_copy()
    local env = { KTSTR_CACHE_DIR = cache }
    assert.are.equal(0, (run.ktstr({ "vm", "--", "true" }, env)))
    local base = cache .. "/initramfs/" .. assert(core.list_files(cache .. "/initramfs", ".cpio"))[1]
    assert(os.execute("truncate -s 300000 " .. q(base)))
    local f = assert(io.open((base:gsub("%.cpio$", ".json")), "w"))
    f:write(require("cjson").encode({ size = 300000, hash = core.hash_files({ base }) }))
    f:close()
    local code, _, err = run.ktstr({ "vm", "--", "true" }, env)
    assert.are_not.equal(0, code)
    assert.matches("the guest's initramfs did not unpack whole (its cached base: " .. base ..
      "; remove it to have it built again)", err, 1, true)
    assert.is_nil(err:find("booting again", 1, true))
  end)
end)
