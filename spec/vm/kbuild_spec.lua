-- ktstr kernel build's configuration on the real linux-source-7.3: a required option olddefconfig refuses is named.
-- The build itself is make check-kernel's (an hour on 2 cores); this stops before make bzImage.
local core = require("ktstr.core")
local kbuild = require("ktstr.host.kbuild")
local kernel = require("ktstr.host.kernel")

describe("ktstr kernel build's config check #vm", function()
  it("names the required option olddefconfig dropped, and leaves no entry", function()
    -- sched_ext depends on BPF_SYSCALL: asking for both y and n is what a
    -- missing dependency looks like after olddefconfig
    local fragment = { { "BPF_SYSCALL", "n", "test" }, { "SCHED_CLASS_EXT", "y", "test" } }
    local key, obj = assert(kbuild.places(nil, fragment))
    local e, err, code = kbuild.build(nil, { fragment = fragment, jobs = 1 })
    core.rm_rf(obj) -- the object dir of this fragment is of no use to anyone
    assert.is_nil(e)
    assert.are.equal("ECONFIG", code)
    -- kconfig.BASE's BPF_EVENTS goes too (it needs BPF_SYSCALL), and more of
    -- it without FRAGMENT's SMP and PCI: each named
    assert.matches("^%d+ required options did not stick after olddefconfig", err)
    assert.matches("CONFIG_BPF_EVENTS=n, absent (wanted y: bpf_printk", err, 1, true)
    assert.matches("CONFIG_SCHED_CLASS_EXT=n, absent (wanted y: test)", err, 1, true)
    assert.is_nil(kernel.sh("test -e " .. kernel.sh_quote(kernel.builds_dir() .. "/" .. key)))
    assert.is_nil((kernel.resolve(key)))
  end)
end)
