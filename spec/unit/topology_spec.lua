-- Topology names, limits, QEMU options and expected guest cpulists (ktstr.core topo_*).
local core = require("ktstr.core")

local FORM = "expected <N>n<L>l<C>c<T>t, e.g. 1n2l2c1t"

local function shape(s)
  return assert(core.topo_validate(assert(core.topo_parse(s))))
end

-- The arguments that follow each occurrence of flag, in order.
local function values_of(argv, flag)
  local out = {}
  for i = 1, #argv - 1 do
    if argv[i] == flag then out[#out + 1] = argv[i + 1] end
  end
  return out
end

describe("topo_parse", function()
  it("reads the four counts of a full name", function()
    assert.same({ numa_nodes = 2, llcs = 4, cores = 3, threads = 2, cpus = 24 },
      core.topo_parse("2n4l3c2t"))
  end)

  it("reads multi-digit counts", function()
    local t = core.topo_parse("1n16l4c1t")
    assert.equal(16, t.llcs)
    assert.equal(64, t.cpus)
  end)

  it("takes the name without a NUMA count as one node", function()
    assert.same({ numa_nodes = 1, llcs = 2, cores = 2, threads = 1, cpus = 4 },
      core.topo_parse("2l2c1t"))
  end)

  it("leaves memory_mib unset, meaning the default", function()
    assert.is_nil(core.topo_parse("1n2l2c1t").memory_mib)
  end)

  it("checks only the syntax, so zero counts parse", function()
    assert.equal(0, core.topo_parse("1n0l2c1t").llcs)
  end)

  for _, bad in ipairs({ "1n2x2c1t", "", "1n2l2c", "1n2l2c1t ", " 1n2l2c1t", "1n2l2c1tx",
                         "n2l2c1t", "1n-2l2c1t", "2n2n2l2c1t", "1n2l2t1c", "1N2L2C1T",
                         "1n99999999999l2c1t" }) do
    it(("rejects '%s', naming it and the expected form"):format(bad), function()
      local t, err, code = core.topo_parse(bad)
      assert.is_nil(t)
      assert.equal(("topology '%s': %s"):format(bad, FORM), err)
      assert.equal("EINVAL", code)
    end)
  end

  it("raises when the argument is not a string", function()
    assert.has_error(function() core.topo_parse({}) end)
  end)
end)

describe("topo_format", function()
  it("round-trips every name topo_parse reads", function()
    for _, s in ipairs({ "1n1l1c1t", "1n2l2c1t", "2n2l2c1t", "1n1l2c2t", "4n8l2c2t", "3n6l3c1t" }) do
      assert.equal(s, core.topo_format(core.topo_parse(s)))
    end
  end)

  it("always prints the NUMA count", function()
    assert.equal("1n2l2c1t", core.topo_format(core.topo_parse("2l2c1t")))
  end)

  it("defaults numa_nodes to 1 in a table", function()
    assert.equal("1n3l2c1t", core.topo_format({ llcs = 3, cores = 2, threads = 1 }))
  end)
end)

describe("topo_validate", function()
  local function fails(t, want)
    local ok, err, code = core.topo_validate(t)
    assert.is_nil(ok)
    assert.equal(want, err)
    assert.equal("EINVAL", code)
  end

  it("returns a copy with the default memory filled in", function()
    local t = { llcs = 2, cores = 2, threads = 1 }
    local v = core.topo_validate(t)
    assert.same({ numa_nodes = 1, llcs = 2, cores = 2, threads = 1, cpus = 4,
                  memory_mib = 1024 + 64 * 4 }, v)
    assert.is_nil(t.memory_mib)
  end)

  it("rounds the default memory up to equal 2 MiB units per node", function()
    -- 1024 + 3 * 64 = 1216, next multiple of 3 * 2 MiB is 1218
    assert.equal(1218, shape("3n3l1c1t").memory_mib)
  end)

  it("keeps an explicit memory size", function()
    local t = core.topo_parse("2n2l2c1t")
    t.memory_mib = 512
    assert.equal(512, core.topo_validate(t).memory_mib)
  end)

  it("accepts the largest shapes", function()
    assert.is_table(core.topo_validate(core.topo_parse("1n16l4c1t")))
    assert.is_table(core.topo_validate(core.topo_parse("4n8l2c4t")))
    assert.is_table(core.topo_validate(core.topo_parse("64n64l1c1t")))
  end)

  it("names a zero count and its value", function()
    fails(core.topo_parse("1n0l2c1t"), "topology 1n0l2c1t: llcs must be >= 1 (got 0)")
    fails(core.topo_parse("0n2l2c1t"), "topology 0n2l2c1t: numa_nodes must be >= 1 (got 0)")
    fails(core.topo_parse("1n2l0c1t"), "topology 1n2l0c1t: cores must be >= 1 (got 0)")
    fails(core.topo_parse("1n2l2c0t"), "topology 1n2l2c0t: threads must be >= 1 (got 0)")
  end)

  it("allows at most 4 threads per core", function()
    fails(core.topo_parse("1n1l2c5t"), "topology 1n1l2c5t: threads must be <= 4 (got 5)")
  end)

  it("wants the LLCs split evenly across NUMA nodes", function()
    fails(core.topo_parse("2n3l2c1t"),
      "topology 2n3l2c1t: llcs (3) must be a multiple of numa_nodes (2)")
  end)

  it("refuses more than 64 vCPUs and says why", function()
    local ok, err = core.topo_validate(core.topo_parse("1n2l64c1t"))
    assert.is_nil(ok)
    assert.truthy(err:find("topology 1n2l64c1t: 128 vCPUs, at most 64 (TCG", 1, true), err)
  end)

  it("refuses too little memory", function()
    local t = core.topo_parse("1n1l2c1t")
    t.memory_mib = 128
    fails(t, "topology 1n1l2c1t: memory_mib must be >= 256 (got 128)")
  end)

  it("refuses memory that does not split into whole 2 MiB units per node", function()
    local t = core.topo_parse("3n3l1c1t")
    t.memory_mib = 1000
    fails(t, "topology 3n3l1c1t: memory_mib (1000) must split into 3 NUMA nodes"
      .. " of whole 2 MiB units: use a multiple of 6")
  end)

  it("refuses NUMA nodes with under 64 MiB each", function()
    local t = core.topo_parse("8n8l1c1t")
    t.memory_mib = 256
    fails(t, "topology 8n8l1c1t: memory_mib (256) gives each of 8 NUMA nodes 32 MiB;"
      .. " each needs >= 64")
  end)

  it("refuses memory sizes that look like a unit slip", function()
    local t = core.topo_parse("1n1l1c1t")
    t.memory_mib = 1048576
    fails(t, "topology 1n1l1c1t: memory_mib must be <= 65536 (got 1048576)")
  end)

  it("raises on caller bugs: missing, non-integer or negative fields", function()
    assert.has_error(function() core.topo_validate({ cores = 1, threads = 1 }) end)
    assert.has_error(function() core.topo_validate({ llcs = 1.5, cores = 1, threads = 1 }) end)
    assert.has_error(function() core.topo_validate({ llcs = "2", cores = 1, threads = 1 }) end)
    assert.has_error(function() core.topo_validate({ llcs = -1, cores = 1, threads = 1 }) end)
    assert.has_error(function() core.topo_validate("1n2l2c1t") end)
  end)
end)

describe("topo_qemu_args", function()
  local dir = "/dev/shm/ktstr-run"

  it("gives 1n1l2c1t an Intel CPU, one die and one RAM file as machine memory", function()
    assert.same({
      "-smp", "2,sockets=1,dies=1,cores=2,threads=1",
      "-m", "1152M",
      "-object", "memory-backend-file,id=ram0,size=1152M,mem-path=" .. dir .. "/ram0,share=on",
      "-machine", "memory-backend=ram0",
    }, core.topo_qemu_args(shape("1n1l2c1t"), dir))
  end)

  it("makes each LLC of 1n2l2c1t a die of one socket", function()
    local argv = core.topo_qemu_args(shape("1n2l2c1t"), dir)
    assert.same({ "4,sockets=1,dies=2,cores=2,threads=1" }, values_of(argv, "-smp"))
    assert.same({ "1280M" }, values_of(argv, "-m"))
    assert.same({ "memory-backend-file,id=ram0,size=1280M,mem-path=" .. dir .. "/ram0,share=on" },
      values_of(argv, "-object"))
    assert.same({ "memory-backend=ram0" }, values_of(argv, "-machine"))
    assert.same({}, values_of(argv, "-numa"))
  end)

  it("makes each NUMA node of 2n2l2c1t a socket with its own RAM file", function()
    local t = core.topo_parse("2n2l2c1t")
    t.memory_mib = 2048
    assert.same({
      "-smp", "4,sockets=2,dies=1,cores=2,threads=1",
      "-m", "2048M",
      "-object", "memory-backend-file,id=ram0,size=1024M,mem-path=" .. dir .. "/ram0,share=on",
      "-object", "memory-backend-file,id=ram1,size=1024M,mem-path=" .. dir .. "/ram1,share=on",
      "-numa", "node,nodeid=0,cpus=0-1,memdev=ram0",
      "-numa", "node,nodeid=1,cpus=2-3,memdev=ram1",
      "-numa", "dist,src=0,dst=1,val=20",
    }, core.topo_qemu_args(t, dir))
  end)

  it("gives 1n1l2c2t two threads per core", function()
    local argv = core.topo_qemu_args(shape("1n1l2c2t"), dir)
    assert.same({ "4,sockets=1,dies=1,cores=2,threads=2" }, values_of(argv, "-smp"))
  end)

  it("sets one distance per node pair and names single-CPU nodes plainly", function()
    local argv = core.topo_qemu_args(shape("3n3l1c1t"), dir)
    assert.same({
      "node,nodeid=0,cpus=0,memdev=ram0",
      "node,nodeid=1,cpus=1,memdev=ram1",
      "node,nodeid=2,cpus=2,memdev=ram2",
      "dist,src=0,dst=1,val=20",
      "dist,src=0,dst=2,val=20",
      "dist,src=1,dst=2,val=20",
    }, values_of(argv, "-numa"))
    assert.same({ "3,sockets=3,dies=1,cores=1,threads=1" }, values_of(argv, "-smp"))
    assert.same({ "1218M" }, values_of(argv, "-m"))
    assert.equal("memory-backend-file,id=ram2,size=406M,mem-path=" .. dir .. "/ram2,share=on",
      values_of(argv, "-object")[3])
  end)

  it("fills in the default memory itself", function()
    local argv = core.topo_qemu_args({ llcs = 1, cores = 2, threads = 1 }, dir)
    assert.same({ "1152M" }, values_of(argv, "-m"))
  end)

  it("doubles commas in the RAM directory, as QEMU's option syntax needs", function()
    local argv = core.topo_qemu_args(shape("1n1l1c1t"), "/tmp/a,b")
    assert.equal("memory-backend-file,id=ram0,size=1088M,mem-path=/tmp/a,,b/ram0,share=on",
      values_of(argv, "-object")[1])
  end)

  it("fails like topo_validate on an invalid topology", function()
    local argv, err, code = core.topo_qemu_args(core.topo_parse("2n3l2c1t"), dir)
    assert.is_nil(argv)
    assert.equal("topology 2n3l2c1t: llcs (3) must be a multiple of numa_nodes (2)", err)
    assert.equal("EINVAL", code)
  end)

  it("raises on a missing or empty RAM directory", function()
    assert.has_error(function() core.topo_qemu_args(shape("1n1l1c1t")) end)
    assert.has_error(function() core.topo_qemu_args(shape("1n1l1c1t"), "") end)
  end)
end)

describe("topo_expected", function()
  it("gives 1n2l2c1t one L3 per pair of CPUs", function()
    local e = core.topo_expected(shape("1n2l2c1t"))
    assert.equal("0-1,0-1,2-3,2-3", table.concat(e.llc_lists, ","))
    assert.equal("0,1,2,3", table.concat(e.sibling_lists, ","))
    assert.same({ "0-3" }, e.node_lists)
  end)

  it("gives 2n2l2c1t one node per LLC", function()
    local e = core.topo_expected(shape("2n2l2c1t"))
    assert.same({ "0-1", "2-3" }, e.node_lists)
    assert.equal("0-1,0-1,2-3,2-3", table.concat(e.llc_lists, ","))
  end)

  it("gives 1n1l2c2t adjacent CPUs as thread siblings", function()
    local e = core.topo_expected(shape("1n1l2c2t"))
    assert.equal("0-1,0-1,2-3,2-3", table.concat(e.sibling_lists, ","))
    assert.equal("0-3,0-3,0-3,0-3", table.concat(e.llc_lists, ","))
  end)

  it("numbers threads, then cores, then LLCs, then nodes", function()
    local e = core.topo_expected(shape("2n4l2c2t"))
    assert.equal(16, #e.llc_lists)
    assert.equal("8-11", e.llc_lists[9 + 1])
    assert.equal("14-15", e.sibling_lists[15 + 1])
    assert.same({ "0-7", "8-15" }, e.node_lists)
  end)

  it("prints a single CPU without a range", function()
    local e = core.topo_expected(shape("3n3l1c1t"))
    assert.same({ "0", "1", "2" }, e.llc_lists)
    assert.same({ "0", "1", "2" }, e.node_lists)
  end)

  it("fails like topo_validate on an invalid topology", function()
    local e, err = core.topo_expected(core.topo_parse("1n0l2c1t"))
    assert.is_nil(e)
    assert.equal("topology 1n0l2c1t: llcs must be >= 1 (got 0)", err)
  end)
end)
