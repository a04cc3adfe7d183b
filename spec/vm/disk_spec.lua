-- The scratch disk: IO work on a real virtio-blk disk, io_weight, no disk without IO, cleanup.
local core = require("ktstr.core")
local guest = require("support.guest")
local run = require("support.run")
local vm = require("ktstr.host.vm")

local SCRIPT = "spec/vm/scripts/disk.lua"

describe("the scratch disk #vm", function()
  after_each(run.assert_no_leftovers)

  it("runs each IO work type on it, and its stat counters move with them", function()
    local code, out = run.script(SCRIPT, "disk_io_types")
    assert.are.equal(0, code, out)
    assert.matches("PASS disk_io_types", out, 1, true)
  end)

  it("comes to a run(ctx) body that says disk = \"64M\"", function()
    local code, out = run.script(SCRIPT, "disk_run_body")
    assert.are.equal(0, code, out)
    assert.matches("PASS disk_run_body", out, 1, true)
  end)

  it("is split by io_weight (400 reads at least twice 100's), and evenly without it", function()
    local code, out = run.script(SCRIPT, "io_weight_")
    assert.are.equal(0, code, out)
    assert.matches("PASS io_weight_splits_the_disk", out, 1, true)
    assert.matches("PASS io_weight_equal", out, 1, true)
  end)

  it("is not there for a test without IO", function()
    local code, out = run.script(SCRIPT, "no_disk")
    assert.are.equal(0, code, out)
    assert.matches("PASS no_disk", out, 1, true)
  end)

  it("is the script's error when a run(ctx) body does IO without asking for it", function()
    local code, out = run.ktstr({ "script", "spec/vm/scripts/disk_missing.lua" })
    assert.are.equal(2, code, out)
    assert.matches("ERROR body_without_disk .*: spec/vm/scripts/disk_missing.lua:8: cgroup " ..
      "'reader': io_rand_read does its IO on the scratch disk, and this guest has none", out)
    assert.matches('disk = "256M"', out, 1, true)
  end)

  it("refuses a bad size at load, naming its line, booting nothing", function()
    local code, out, err = run.ktstr({ "script", "spec/vm/scripts/disk_bad.lua" })
    assert.are.equal(2, code, out)
    assert.matches("spec/vm/scripts/disk_bad.lua:4: ktstr.test 'bad_disk': disk: expected a " ..
      "size from 1M to 64G, got 100K", err, 1, true)
  end)
end)

describe("a guest booted without a disk #vm", function()
  local h

  setup(function()
    local f
    h, f = vm.boot({ topo = "1n1l2c1t" })
    assert(h, f and vm.format_failure(f))
  end)

  teardown(function()
    if h then
      h:shutdown(10)
      h:close()
    end
  end)

  it("has no virtio-blk device on QEMU's command line, and no block device", function()
    local argv = table.concat(h.argv, " ")
    assert.is_nil(argv:find("virtio-blk", 1, true), argv)
    assert.is_nil(argv:find("-drive", 1, true), argv)
    assert.is_nil(h.facts.disk)
    local out = {}
    local st = assert(h:exec({ "ls", "/sys/block" }, function(_, d) out[#out + 1] = d end, 30))
    assert.are.equal(0, st.code)
    assert.are.equal("", table.concat(out))
  end)
end)

describe("the disk file #vm", function()
  it("lives in the run dir and goes with it on SIGINT", function()
    local dir = assert(core.mkdtemp("/tmp/ktstr-disk-spec-"))
    local runs = dir .. "/run"
    assert(core.mkdir_p(runs))
    finally(function() core.rm_rf(dir) end)
    local p = assert(core.spawn({ "env", "KTSTR_RUN_DIR=" .. runs, run.exe, "vm", "--disk", "64M",
      "--", "sleep", "60" }, { new_pgrp = false }))
    -- made before QEMU starts, the size asked for
    local img = guest.eventually(function()
      local name = run.sh("ls " .. run.sh_quote(runs) .. " 2>/dev/null"):match("[^\n]+")
      local path = name and runs .. "/" .. name .. "/disk.img"
      local f = path and io.open(path)
      if f then f:close() end
      return f and path
    end, 30)
    assert.is_string(img, "no disk.img in the run dir")
    local f = assert(io.open(img, "rb"))
    local size = f:seek("end")
    f:close()
    assert.are.equal(64 << 20, size)
    -- sparse: next to nothing of it takes room
    local blocks = tonumber((run.sh("stat -c %b " .. run.sh_quote(img))))
    assert.is_true(blocks * 512 < (1 << 20), "disk.img takes " .. blocks * 512 .. " bytes")
    assert.is_truthy(guest.eventually(function()
      return run.leftovers_in(runs) ~= ""
    end, 30), "QEMU did not start")
    core.sleep(1)
    assert(p:kill(2))
    local st = assert(p:wait(30))
    p:close()
    local procs, dirs = run.leftovers_in(runs)
    assert.are.equal(130, st.code)
    assert.are.equal("", procs)
    assert.are.equal("", dirs)
    assert.is_nil(io.open(img))
  end)

  it("goes with the run dir after a run", function()
    local code, out, err = run.ktstr({ "vm", "--disk", "8M", "--", "sh", "-c",
      "cat /sys/block/vda/size; head -c 4096 /dev/vda | wc -c" })
    assert.are.equal(0, code, err)
    assert.are.equal("16384\n4096\n", out)
    run.assert_no_leftovers()
  end)
end)
