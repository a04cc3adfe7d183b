-- ktstr.host.kconfig and ktstr.host.kbuild without a build: fragment merge, the check after olddefconfig, cache keys.
local kconfig = require("ktstr.host.kconfig")
local kbuild = require("ktstr.host.kbuild")
local kernel = require("ktstr.host.kernel")

local q = kernel.sh_quote
local sh = require("support.run").sh

local function write(path, data)
  assert(os.execute("mkdir -p " .. q(path:match("^(.*)/"))))
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  f:close()
end

local BASE = table.concat({
  "#", "# Automatically generated file; DO NOT EDIT.", "#",
  "CONFIG_CC_VERSION_TEXT=\"gcc (Debian 12.2.0-14) 12.2.0\"",
  "CONFIG_BPF=y",
  "# CONFIG_BPF_JIT is not set",
  "CONFIG_HZ=250",
  "CONFIG_NR_CPUS=64",
}, "\n") .. "\n"

describe("ktstr.host.kconfig", function()
  it("sets each option where its line is, appends the rest, keeps every other line", function()
    local out = kconfig.merge(BASE, { { "BPF_JIT", "y" }, { "HZ", "1000" },
      { "SCHED_CLASS_EXT", "y" }, { "NR_CPUS", "n" } })
    assert.are.equal(table.concat({
      "#", "# Automatically generated file; DO NOT EDIT.", "#",
      "CONFIG_CC_VERSION_TEXT=\"gcc (Debian 12.2.0-14) 12.2.0\"",
      "CONFIG_BPF=y",
      "CONFIG_BPF_JIT=y",
      "CONFIG_HZ=1000",
      "# CONFIG_NR_CPUS is not set",
      "CONFIG_SCHED_CLASS_EXT=y",
    }, "\n") .. "\n", out)
    -- merging again changes nothing; an empty base gets the fragment alone
    assert.are.equal(out, kconfig.merge(out, { { "BPF_JIT", "y" }, { "HZ", "1000" },
      { "SCHED_CLASS_EXT", "y" }, { "NR_CPUS", "n" } }))
    assert.are.equal("CONFIG_A=y\n# CONFIG_B is not set\n",
      kconfig.merge("", { { "A", "y" }, { "B", "n" } }))
  end)

  it("parses set, unset and string options", function()
    local opts, order = kconfig.parse(BASE)
    assert.are.same({ "CC_VERSION_TEXT", "BPF", "BPF_JIT", "HZ", "NR_CPUS" }, order)
    assert.are.equal("n", opts.BPF_JIT)
    assert.are.equal("\"gcc (Debian 12.2.0-14) 12.2.0\"", opts.CC_VERSION_TEXT)
  end)

  it("passes a config that kept every required option", function()
    local merged = kconfig.merge(BASE, kconfig.FRAGMENT)
    assert.is_true(kconfig.check(merged, kconfig.FRAGMENT))
  end)

  it("names each required option olddefconfig dropped or changed, and why it is needed", function()
    -- what olddefconfig does when a dependency is missing: the line goes, or turns "not set"
    local merged = kconfig.merge(BASE, kconfig.FRAGMENT)
    local dropped = merged:gsub("CONFIG_SCHED_CLASS_EXT=y\n", "")
        :gsub("CONFIG_DEBUG_INFO_BTF=y", "# CONFIG_DEBUG_INFO_BTF is not set")
    local ok, err = kconfig.check(dropped, kconfig.FRAGMENT)
    assert.is_nil(ok)
    assert.matches("2 required options did not stick after olddefconfig", err, 1, true)
    assert.matches("CONFIG_SCHED_CLASS_EXT=n, absent (wanted y: the scheduler under test)",
      err, 1, true)
    assert.matches("CONFIG_DEBUG_INFO_BTF=n (wanted y", err, 1, true)
    local one, err1 = kconfig.check("CONFIG_HZ=250\n", { { "HZ", "1000", "ticks" } })
    assert.is_nil(one)
    assert.matches("1 required option did not stick", err1, 1, true)
    assert.matches("CONFIG_HZ=250 (wanted 1000: ticks)", err1, 1, true)
  end)

  it("blames the caller for a malformed fragment", function()
    assert.has_error(function() kconfig.merge("", { { "lower", "y" } }) end)
    assert.has_error(function() kconfig.merge("", { { "A", "y\nCONFIG_B=y" } }) end)
    assert.has_error(function() kconfig.check(nil, {}) end)
  end)

  it("requires what ktstr's guest needs", function()
    local want = {}
    for _, o in ipairs(kconfig.FRAGMENT) do want[o[1]] = o[2] end
    for _, name in ipairs({ "SCHED_CLASS_EXT", "BPF_SYSCALL", "BPF_JIT", "DEBUG_INFO_BTF",
        "KALLSYMS_ALL", "CPUSETS", "MEMCG", "CGROUP_PIDS", "BLK_CGROUP", "SCHED_MC",
        "SCHED_SMT", "NUMA", "SCHEDSTATS", "VIRTIO_PCI", "VIRTIO_CONSOLE", "DEVTMPFS",
        "BLK_DEV_INITRD", "PVH" }) do
      assert.are.equal("y", want[name], name)
    end
  end)
end)

describe("ktstr.host.kbuild keys", function()
  local tmp

  before_each(function()
    tmp = sh("mktemp -d"):match("[^\n]+")
  end)

  after_each(function()
    os.execute("rm -rf -- " .. q(tmp))
  end)

  it("keys a build by its source and its config", function()
    local cfg = kbuild.config_hash()
    local deb = { label = "linux-source-7.3-7.3.4-1~bpo13+1", id = "debian:linux-source-7.3=7.3.4-1~bpo13+1" }
    local k = kbuild.key(deb, cfg)
    assert.matches("^linux%-source%-7%.3%-7%.3%.4%-1~bpo13%+1%-%x+$", k)
    assert.are.equal(k, kbuild.key(deb, kbuild.config_hash()))
    -- another package version, another fragment: another key
    assert.are_not.equal(k, kbuild.key({ label = deb.label, id = deb.id .. "x" }, cfg))
    local frag = { table.unpack(kconfig.FRAGMENT) }
    frag[#frag + 1] = { "HZ_1000", "y" }
    assert.are_not.equal(cfg, kbuild.config_hash(frag))
    assert.are_not.equal(k, kbuild.key(deb, kbuild.config_hash(frag)))
    -- a label the cache dir cannot carry is made safe, and never starts a version
    assert.matches("^k[%w._+~-]*%-%x+$", kbuild.key({ label = "7 tree/x", id = "a" }, cfg))
  end)

  it("identifies a git tree by HEAD and a hash of its uncommitted changes", function()
    local git = "git -C " .. q(tmp) .. " -c user.name=t -c user.email=t@t "
    sh(git .. "init -q && printf 'a\\n' > " .. q(tmp .. "/f") .. " && " .. git
      .. "add f && " .. git .. "commit -qm one")
    local head = sh(git .. "rev-parse HEAD"):match("%x+")
    assert.are.equal("git:" .. head, kbuild.git_identity(tmp))
    write(tmp .. "/f", "b\n")
    local edited = kbuild.git_identity(tmp)
    assert.matches("^git:" .. head .. "%+%x+$", edited)
    write(tmp .. "/f", "c\n")
    local edited2 = kbuild.git_identity(tmp)
    assert.are_not.equal(edited, edited2)
    write(tmp .. "/f", "a\n")
    write(tmp .. "/new.c", "int x;\n")
    local untracked = kbuild.git_identity(tmp)
    assert.matches("^git:" .. head .. "%+%x+$", untracked)
    write(tmp .. "/new.c", "int y;\n")
    assert.are_not.equal(untracked, kbuild.git_identity(tmp))
    os.remove(tmp .. "/new.c")
    assert.are.equal("git:" .. head, kbuild.git_identity(tmp))
    assert.is_nil(kbuild.git_identity(tmp .. "/.git/objects"))
  end)

  it("refuses what is not a kernel tree, and a tree without sched_ext", function()
    assert.matches("is not a Linux kernel source tree %(no Makefile in it%)",
      kbuild.tree_problem(tmp))
    for _, f in ipairs({ "Makefile", "Kconfig", "arch/x86/Kconfig", "kernel/sched/core.c",
        "kernel/Kconfig.preempt" }) do
      write(tmp .. "/" .. f, "\n")
    end
    assert.matches("has no sched_ext", kbuild.tree_problem(tmp))
    write(tmp .. "/kernel/sched/ext.c", "\n")
    assert.is_nil(kbuild.tree_problem(tmp))
    os.remove(tmp .. "/kernel/sched/ext.c")
    write(tmp .. "/kernel/sched/ext/core.c", "\n") -- 7.3 moved it into a directory
    assert.is_nil(kbuild.tree_problem(tmp))
  end)

  it("exits 1 on a failed make, with the log's errors and tail, and leaves no entry", function()
    local tree = tmp .. "/tree"
    for _, f in ipairs({ "Kconfig", "arch/x86/Kconfig", "kernel/sched/core.c",
        "kernel/sched/ext.c" }) do
      write(tree .. "/" .. f, "\n")
    end
    -- a tree whose configuration works and whose compile does not
    write(tree .. "/Makefile", table.concat({
      "allnoconfig:", "\t@echo '# fake' > $(O)/.config",
      "olddefconfig:", "\t@true",
      "bzImage:", "\t@echo '  CC      kernel/sched/ext.o'; echo 'ext.c:1:1: error: boom'; exit 1",
    }, "\n") .. "\n")
    local out, _, code = sh(("KTSTR_CACHE_DIR=%s ./build/ktstr kernel build %s -j 1 2>&1")
      :format(q(tmp .. "/cache"), q(tree)))
    assert.are.equal(1, code, out)
    assert.matches("make bzImage failed; log " .. tmp:gsub("%p", "%%%0") .. "/cache/builds/%.obj/", out)
    assert.matches("its errors:\next.c:1:1: error: boom", out, 1, true)
    assert.matches("its tail:\n", out, 1, true)
    -- only the object dir (kept for the next, incremental try); no entry, no scratch
    assert.are.equal(".obj\n", sh("ls -A " .. q(tmp .. "/cache/builds")))
    -- --kernel naming the unbuilt tree builds it first: the same failure, before any boot
    for _, cmd in ipairs({ "vm --kernel %s -- true", "script tests/step1_skeleton.lua --kernel %s",
        "repl --kernel %s" }) do
      out, _, code = sh(("KTSTR_CACHE_DIR=%s ./build/ktstr %s 2>&1 </dev/null"):format(
        q(tmp .. "/cache"), cmd:format(q(tree))))
      assert.are.equal(1, code, cmd .. ": " .. out)
      assert.matches(": %-%-kernel " .. tree:gsub("%p", "%%%0") .. ": make bzImage failed", out)
    end
  end)

  it("cleans entries and idle object dirs, never a build under way's", function()
    local core = require("ktstr.core")
    local b = tmp .. "/builds"
    for _, d in ipairs({ "k1", "k2", ".obj/idle", ".obj/busy", ".fetch-abcdef" }) do
      sh("mkdir -p " .. q(b .. "/" .. d))
    end
    write(b .. "/k2/metadata.json", ('{"obj":"%s/.obj/idle"}'):format(b))
    local owner = assert(core.owner_claim(b .. "/.obj/busy"))
    kernel.set_cache_dir(tmp)
    local ok, err = pcall(function()
      assert.is_nil((kbuild.clean("k3")))
      assert.is_true(kbuild.clean("k2"))
      assert.are.equal(".fetch-abcdef\n.obj\nk1\n", sh("ls -A " .. q(b)))
      assert.are.equal("busy\n", sh("ls -A " .. q(b .. "/.obj")))
      assert.is_true(kbuild.clean())
      assert.are.equal(".fetch-abcdef\n.obj\n", sh("ls -A " .. q(b)))
      assert.are.equal("busy\n", sh("ls -A " .. q(b .. "/.obj")))
    end)
    owner:release()
    kernel.set_cache_dir(nil)
    assert(ok, err)
  end)

  it("exits 2 naming why for a source that is no kernel tree", function()
    local out, _, code = sh("./build/ktstr kernel build " .. q(tmp) .. " 2>&1")
    assert.are.equal(2, code)
    assert.matches("is not a Linux kernel source tree", out)
  end)
end)
