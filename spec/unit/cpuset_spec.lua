-- ktstr.cpuset: the specs and their resolution against a topology.
local cpuset = require("ktstr.cpuset")
local C = cpuset.api

local function topo(n, l, c, t) return { numa_nodes = n, llcs = l, cores = c, threads = t } end
local T1n2l2c1t, T2n2l2c1t, T1n1l2c2t = topo(1, 2, 2, 1), topo(2, 2, 2, 1), topo(1, 1, 2, 2)

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

describe("cpuset constructors", function()
  it("return plain tables", function()
    assert.same({ kind = "llc", index = 0 }, C.llc(0))
    assert.same({ kind = "numa", index = 1 }, C.numa(1))
    assert.same({ kind = "range", lo = 0, hi = 0.5 }, C.range(0, 0.5))
    assert.same({ kind = "disjoint" }, C.disjoint())
    assert.same({ kind = "disjoint", index = 1, of = 3 }, C.disjoint(1, 3))
    assert.same({ kind = "overlap", frac = 0.5 }, C.overlap(0.5))
    assert.same({ kind = "exact", cpus = { 0, 1, 4 } }, C.exact("0-1,4"))
    assert.same({ kind = "exact", cpus = { 1, 3 } }, C.exact({ 3, 1, 3 }))
  end)

  it("reject bad indexes, fractions and cpulists, naming the value", function()
    assert.matches("ktstr.cpuset.llc: expected an integer >= 0, got %-1$", err_of(C.llc, -1))
    assert.matches("exact%(%) takes CPU numbers%): expected a number >= 0 and <= 1, got 3$", err_of(C.range, 0, 3))
    assert.matches("ktstr.cpuset.range: lo %(0.5%) must be below hi %(0.5%)$", err_of(C.range, 0.5, 0.5))
    assert.matches("ktstr.cpuset.disjoint: index: expected an integer in 0..1, got 2$", err_of(C.disjoint, 2, 2))
    assert.matches("ktstr.cpuset.overlap: frac: expected a number > 0 and <= 1, got 0$", err_of(C.overlap, 0))
    assert.matches([[bad cpulist '3%-1': expected CPU numbers and ranges like "0%-1,4"$]], err_of(C.exact, "3-1"))
    assert.matches("bad cpulist ''", err_of(C.exact, {}))
  end)

  it("name the kind for an unknown constructor", function()
    assert.matches("ktstr.cpuset: unknown cpuset kind 'lcc' %(did you mean 'llc'%?%)$",
      err_of(function() return C.lcc end))
  end)
end)

describe("cpuset.parse and cpuset.format", function()
  it("round-trip cpulists, merging runs", function()
    assert.same({ 0, 1, 2, 5 }, cpuset.parse("0-2,5"))
    assert.equal("0-2,5", cpuset.format({ 0, 1, 2, 5 }))
    assert.equal("3", cpuset.format({ 3 }))
    assert.equal("0-1,3-4", cpuset.format(cpuset.parse("4,3,1,0")))
  end)
end)

describe("cpuset.resolve", function()
  it("maps each LLC of 1n2l2c1t to its two cores", function()
    assert.equal("0-1", cpuset.resolve(C.llc(0), T1n2l2c1t))
    assert.equal("2-3", cpuset.resolve(C.llc(1), T1n2l2c1t))
    assert.equal("0-3", cpuset.resolve(C.numa(0), T1n2l2c1t))
  end)

  it("maps each node of 2n2l2c1t to its LLC", function()
    assert.equal("0-1", cpuset.resolve(C.numa(0), T2n2l2c1t))
    assert.equal("2-3", cpuset.resolve(C.numa(1), T2n2l2c1t))
    assert.equal("2-3", cpuset.resolve(C.llc(1), T2n2l2c1t))
  end)

  it("keeps SMT siblings of 1n1l2c2t in one LLC", function()
    assert.equal("0-3", cpuset.resolve(C.llc(0), T1n1l2c2t))
    assert.equal("0-3", cpuset.resolve(C.numa(0), T1n1l2c2t))
  end)

  it("names the LLC and node counts for an index out of range", function()
    assert.same({ nil, "llc(2) out of range: the topology has 2 LLCs (0-1)" },
      { cpuset.resolve(C.llc(2), T1n2l2c1t) })
    assert.same({ nil, "llc(1) out of range: the topology has 1 LLC (0)" },
      { cpuset.resolve(C.llc(1), T1n1l2c2t) })
    assert.same({ nil, "numa(2) out of range: the topology has 2 NUMA nodes (0-1)" },
      { cpuset.resolve(C.numa(2), T2n2l2c1t) })
  end)

  it("leaves the last CPU to the root cgroup when splitting more than 2 CPUs", function()
    assert.equal("0", cpuset.resolve(C.disjoint(), T1n2l2c1t, 0, 2))
    assert.equal("1-2", cpuset.resolve(C.disjoint(), T1n2l2c1t, 1, 2))
    assert.equal("0-2", cpuset.resolve(C.range(0, 1), T1n1l2c2t))
    assert.equal("0", cpuset.resolve(C.range(0, 1), topo(1, 1, 1, 1)))
  end)

  it("takes the position from the cgroup unless the spec has its own", function()
    assert.equal("1-2", cpuset.resolve(C.disjoint(1, 2), T1n2l2c1t, 0, 5))
    assert.same({ nil, "disjoint() needs the cgroup's position: give it (index, of) here" },
      { cpuset.resolve(C.disjoint(), T1n2l2c1t) })
  end)

  it("counts the usable CPUs when there are too many partitions", function()
    assert.same({ nil, "not enough usable CPUs (3) for 4 partitions" },
      { cpuset.resolve(C.disjoint(), T1n2l2c1t, 0, 4) })
  end)

  it("grows overlap partitions into their neighbours", function()
    local t = topo(1, 1, 9, 1)  -- 8 usable CPUs, 4 per half
    assert.equal("0-5", cpuset.resolve(C.overlap(0.5), t, 0, 2))
    assert.equal("2-7", cpuset.resolve(C.overlap(0.5), t, 1, 2))
  end)

  it("slices ranges of the usable CPUs, at least one CPU each", function()
    local t = topo(1, 1, 9, 1)
    assert.equal("0-3", cpuset.resolve(C.range(0, 0.5), t))
    assert.equal("4-7", cpuset.resolve(C.range(0.5, 1), t))
    assert.equal("7", cpuset.resolve(C.range(0.99, 1), t))
  end)

  it("checks exact CPUs against the CPU count", function()
    assert.equal("0-1,3", cpuset.resolve(C.exact("0-1,3"), T1n2l2c1t))
    assert.same({ nil, "exact(1,5): cpu 5 out of range: the topology has 4 CPUs (0-3)" },
      { cpuset.resolve(C.exact({ 5, 1 }), T1n2l2c1t) })
  end)

  it("names topologies as 1n2l2c1t", function()
    assert.equal("2n2l2c1t", cpuset.topo_name(T2n2l2c1t))
  end)
end)

describe("cpuset.intent", function()
  local T2 = { numa_nodes = 1, llcs = 2, cores = 2, threads = 1 }  -- LLC0 = 0-1, LLC1 = 2-3
  local SMT = { numa_nodes = 1, llcs = 1, cores = 2, threads = 2 }  -- cores {0,1} {2,3}

  it("single_cpu pins worker i to the i-th allowed CPU, round robin", function()
    assert.same({ "1", "2", "3", "1" }, cpuset.intent("single_cpu", T2, { 1, 2, 3 }, 4))
  end)

  it("llc_aligned gives each worker the allowed CPUs of its CPU's LLC", function()
    assert.same({ "1", "2-3", "2-3" }, cpuset.intent("llc_aligned", T2, { 1, 2, 3 }, 3))
  end)

  it("cross_cgroup reaches every CPU of the guest", function()
    assert.same({ "0-3", "0-3" }, cpuset.intent("cross_cgroup", T2, { 0 }, 2))
  end)

  it("smt_sibling_pair puts workers 2k and 2k+1 on one core's two threads", function()
    assert.same({ "0", "1", "2", "3", "0" }, cpuset.intent("smt_sibling_pair", SMT, { 0, 1, 2, 3 }, 5))
    assert.same({ "2", "3" }, cpuset.intent("smt_sibling_pair", SMT, { 1, 2, 3 }, 2))
  end)

  it("refuses what cannot be placed", function()
    local _, err = cpuset.intent("smt_sibling_pair", T2, { 0, 1 }, 2)
    assert.matches("needs SMT: the topology has threads = 1", err)
    _, err = cpuset.intent("smt_sibling_pair", SMT, { 0, 2 }, 2)
    assert.matches("no whole core", err)
    _, err = cpuset.intent("single_cpu", T2, {}, 1)
    assert.matches("no CPUs", err)
  end)
end)
