-- ktstr.core.qemu_argv and vm_start (vmm/qemu.c): the one QEMU command line, the probe's included; the console log.
local core = require("ktstr.core")

-- argv[1] of a qemu_argv call made in a ktstr whose environment sets KTSTR_QEMU to qemu.
local function binary_under(qemu, call)
  local p = io.popen(("env KTSTR_QEMU=%s '%s' lua -e 'print(require(\"ktstr.core\").qemu_argv(%s)[1])'")
    :format(qemu, assert(core.exe()), call))
  local out = p:read("l")
  p:close()
  return out
end

local MAIN = '{ kernel = "k", initrd = "i", chan = "c", qmp = "q", kvm = false }'
local PROBE = '{ probe = true, kernel = "k", kvm = true }'

describe("core.qemu_argv", function()
  it("runs $KTSTR_QEMU for guests and for the KVM probe alike, unless qemu= names one", function()
    assert.equal("/opt/q/qemu", binary_under("/opt/q/qemu", MAIN))
    assert.equal("/opt/q/qemu", binary_under("/opt/q/qemu", PROBE))
    assert.equal("mine", binary_under("/opt/q/qemu",
      '{ probe = true, kernel = "k", kvm = true, qemu = "mine" }'))
    assert.equal("qemu-system-x86_64", binary_under("''", PROBE))
  end)

  it("gives the probe the guest's machine and the kernel alone", function()
    local probe = core.qemu_argv({ probe = true, kernel = "/k", kvm = true, qemu = "q" })
    local guest = core.qemu_argv({ kernel = "/k", initrd = "/i", chan = "/c", qmp = "/m", kvm = true,
      qemu = "q" })
    local cut = 0
    for i, a in ipairs(probe) do
      if a ~= guest[i] then break end
      cut = i
    end
    assert.same({ "-accel", "kvm", "-cpu", "host" }, { probe[4], probe[5], probe[6], probe[7] })
    assert.same({ "-smp", "1", "-m", "256M", "-kernel", "/k", "-append",
      "console=ttyS0 panic=-1 tsc=reliable" }, { table.unpack(probe, cut + 1) })
    assert.is_nil(table.concat(probe, " "):find("initrd", 1, true))
  end)

  it("attaches the scratch disk only when given one, by serial, a comma in its path doubled", function()
    local base = { kernel = "/k", initrd = "/i", chan = "/c", qmp = "/m", kvm = false, qemu = "q" }
    local plain = table.concat(core.qemu_argv(base), " ")
    assert.is_nil(plain:find("virtio-blk", 1, true))
    assert.is_nil(plain:find("-drive", 1, true))
    base.disk = "/run/a,b/disk.img"
    local argv = core.qemu_argv(base)
    local at
    for i, a in ipairs(argv) do
      if a == "-drive" then at = i end
    end
    assert.same({ "-drive", "file=/run/a,,b/disk.img,if=none,id=scratch,format=raw,cache=unsafe," ..
      "werror=report,rerror=report",
      "-device", "virtio-blk-pci,drive=scratch,num-queues=1,serial=ktstr-scratch" },
      { table.unpack(argv, at, at + 3) })
  end)

  it("requires the initrd and sockets of a guest, not of the probe", function()
    assert.has_error(function() core.qemu_argv({ kernel = "/k" }) end,
      "qemu_argv: kernel, initrd, chan and qmp are required")
    assert.is_table(core.qemu_argv({ probe = true, kernel = "/k" }))
  end)

  it("keeps the console log to 64 MiB, however much the guest writes, and the tail to the end", function()
    local dir = assert(core.mkdtemp("/tmp/ktstr-qemu-spec-"))
    -- a "QEMU" that writes 70 MiB to its console, then a last line
    local vm = assert(core.vm_start({ argv = { "sh", "-c",
      "head -c 73400320 /dev/zero | tr '\\0' x; echo; echo the end" },
      chan = dir .. "/chan.sock", qmp = dir .. "/qmp.sock", console_log = dir .. "/console.log" }))
    assert.are.equal(0, assert(vm:wait(30)).code)
    local f = assert(io.open(dir .. "/console.log"))
    local size = f:seek("end")
    f:seek("set", 64 << 20)
    local rest = f:read("a")
    f:close()
    assert.are.equal("\n[ktstr: the console log stops here, at 64 MiB]\n", rest)
    assert.are.equal((64 << 20) + #rest, size)
    assert.matches("x\nthe end\n$", vm:console_tail(100))
    vm:close()
    core.rm_rf(dir)
  end)
end)
