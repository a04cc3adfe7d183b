-- snapshot: map and var lookup (truncated names, ambiguity, not-found messages), entries and per-CPU narrowing, series patterns, post_vm helpers.
local snapshot = require("ktstr.host.snapshot")

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

local function global_map(name, value)
  return { name = name, type = "array", key_size = 4, value_size = 64, max_entries = 1,
    entries = { { key = 0, value = value } } }
end

local function raw(extra)
  local r = { name = "after", t = 2.5, cpus = { { cpu = 0, nr_running = 1 } }, maps = {
    global_map("ktstr_sc.bss", { stats = { dispatched = 120, enqueued = 125 }, nr = 3, hist = { 1, 2, 3 } }),
    global_map("ktstr_sc.data", { nr = 4, knob = 7 }),
    global_map("ktstr_sc.rodata", { slice_ns = 20000000 }),
    { name = "task_ctx", type = "hash", key_size = 4, value_size = 8, max_entries = 64, entries = {
      { key = 100, value = { pid = 100, runs = 5 } }, { key = 200, value = { pid = 200, runs = 9 } },
      { key = 300, value = { pid = 300, runs = 1 } } } },
    { name = "pcpu_stats", type = "percpu_array", key_size = 4, value_size = 8, max_entries = 1, entries = {
      { key = 0, value = { { busy = 1 }, { busy = 7 } } } } },
    { name = "ktstr_sched_tas", type = "hash", key_size = 4, value_size = 8, max_entries = 8, entries = {} },
  } }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

describe("snap:map", function()
  local snap = snapshot.new(raw())

  it("finds a map by exact name", function()
    assert.equal("task_ctx", snap:map("task_ctx").name)
    assert.equal(3, snap:map("task_ctx"):len())
  end)

  it("finds a map by its section suffix, with or without the dot", function()
    assert.equal("ktstr_sc.bss", snap:map("bss").name)
    assert.equal("ktstr_sc.rodata", snap:map(".rodata").name)
  end)

  it("finds a map by the full name the kernel truncated", function()
    assert.equal("ktstr_sc.bss", snap:map("ktstr_sched.bss").name)
    assert.equal("ktstr_sched_tas", snap:map("ktstr_sched_task_map").name)
  end)

  it("names the missing map, a close match and the maps there are", function()
    assert.matches("no map 'task_ctxx' in snapshot 'after' %(did you mean 'task_ctx'%? maps: ktstr_sc.bss, " ..
      "ktstr_sc.data, ktstr_sc.rodata, task_ctx, pcpu_stats, ktstr_sched_tas%)$", err_of(snap.map, snap, "task_ctxx"))
  end)

  it("refuses an ambiguous suffix, listing the candidates", function()
    local two = snapshot.new({ name = "s", maps = { global_map("a.bss", {}), global_map("b.bss", {}) } })
    assert.matches("snapshot 's': map name 'bss' is ambiguous: a.bss, b.bss$", err_of(two.map, two, "bss"))
  end)

  it("mentions the capture's own error", function()
    local s = snapshot.new({ name = "half", error = "rendezvous timeout", maps = {} })
    assert.matches("no map 'x' in snapshot 'half' %(capture error: rendezvous timeout%) %(maps: none%)$",
      err_of(s.map, s, "x"))
  end)
end)

describe("snap:var", function()
  local snap = snapshot.new(raw())

  it("reads globals from .bss, .data and .rodata, with dotted paths and 0-based indexes", function()
    assert.equal(120, snap:var("stats.dispatched"))
    assert.same({ dispatched = 120, enqueued = 125 }, snap:var("stats"))
    assert.equal(2, snap:var("hist[1]"))
    assert.equal(7, snap:var("knob"))
    assert.equal(20000000, snap:var("slice_ns"))
  end)

  it("refuses a var defined in two sections", function()
    assert.matches("snapshot 'after': var 'nr' is ambiguous: it is in ktstr_sc.bss and ktstr_sc.data; read one " ..
      "with snap:map%(name%):get%(path%)$", err_of(snap.var, snap, "nr"))
  end)

  it("names the missing var and the vars there are", function()
    assert.matches("no var 'knobs' in snapshot 'after' %(did you mean 'knob'%? vars: hist, knob, nr, slice_ns, " ..
      "stats%)$", err_of(snap.var, snap, "knobs"))
  end)

  it("names the missing field and the fields there are", function()
    assert.matches("no field 'dispatchd' in snapshot 'after': var stats %(did you mean 'dispatched'%? fields: " ..
      "dispatched, enqueued%)$", err_of(snap.var, snap, "stats.dispatchd"))
  end)

  it("refuses indexes out of range and fields of non-structs", function()
    assert.matches("snapshot 'after': var hist: index %[3%] out of range %(3 elements%)$", err_of(snap.var, snap, "hist[3]"))
    assert.matches("snapshot 'after': var stats.dispatched is number 120, not a struct: no field 'x'$",
      err_of(snap.var, snap, "stats.dispatched.x"))
    assert.matches("snapshot 'after': var stats is a struct, not an array: cannot take %[0%]$",
      err_of(snap.var, snap, "stats[0]"))
  end)

  it("refuses malformed paths", function()
    assert.matches("snap:var: bad path 'stats..x'", err_of(snap.var, snap, "stats..x"))
    assert.matches("snap:var: bad path 'stats.'", err_of(snap.var, snap, "stats."))
    assert.matches("snap:var: bad path ''", err_of(snap.var, snap, ""))
  end)

  it("blames the caller's line", function()
    assert.matches("^spec/unit/snapshot_spec.lua:%d+: ", err_of(function() return snap:var("nope") end))
  end)

  it("says when there are no global sections", function()
    local s = snapshot.new({ name = "bare", maps = { { name = "m", entries = {} } } })
    assert.matches("snapshot 'bare' has no .bss, .data or .rodata map %(maps: m%)$", err_of(s.var, s, "x"))
  end)
end)

describe("SnapshotMap", function()
  local snap = snapshot.new(raw())
  local tasks = snap:map("task_ctx")

  it("indexes entries from 0 and walks paths in them", function()
    local e = tasks:at(1)
    assert.equal(200, e.key)
    assert.equal(9, e:get("runs"))
    assert.same({ pid = 200, runs = 9 }, e.value)
    assert.matches("snapshot 'after': map 'task_ctx': index 3 out of range %(3 entries%)$", err_of(tasks.at, tasks, 3))
  end)

  it("finds, filters and picks the maximum by value", function()
    assert.equal(300, tasks:find(function(v) return v.runs < 2 end).key)
    assert.is_nil(tasks:find(function(v) return v.runs > 100 end))
    local busy = tasks:filter(function(v) return v.runs >= 5 end)
    assert.equal(2, busy:len())
    assert.equal(200, busy:at(1).key)
    assert.equal(200, tasks:max_by(function(v) return v.runs end).key)
    assert.is_nil(tasks:filter(function() return false end):max_by(function(v) return v.runs end))
  end)

  it("reads a single-entry map with :get", function()
    assert.equal(125, snap:map("bss"):get("stats.enqueued"))
    assert.matches("map 'task_ctx' has 3 entries: pick one with :at%(i%) or :find%(pred%) before :get$",
      err_of(tasks.get, tasks, "runs"))
  end)

  it("narrows per-CPU values with :cpu(n)", function()
    local pcpu = snap:map("pcpu_stats")
    assert.equal(7, pcpu:cpu(1):at(0):get("busy"))
    assert.equal(1, pcpu:cpu(0):get("busy"))
    assert.same({ { busy = 1 }, { busy = 7 } }, pcpu:at(0).value)
  end)

  it("refuses a per-CPU read that was not narrowed, or a CPU out of range", function()
    local pcpu = snap:map("pcpu_stats")
    local e = pcpu:at(0)
    assert.matches("snapshot 'after': map 'pcpu_stats' is per%-CPU: narrow it with map:cpu%(n%) before :get%('busy'%)$",
      err_of(e.get, e, "busy"))
    assert.matches("map 'pcpu_stats': cpu 2 out of range for key 0 %(2 CPUs%)$", err_of(pcpu.cpu, pcpu, 2))
    assert.matches("map 'task_ctx' is not a per%-CPU map %(type hash%)$", err_of(tasks.cpu, tasks, 0))
    local one = pcpu:cpu(0)
    assert.matches("map 'pcpu_stats' cpu 0: already narrowed to one CPU$", err_of(one.cpu, one, 1))
  end)
end)

-- periodic_000.. at the given times, stats.dispatched = values[i] (false: the var is missing).
local function snaps(values, times)
  local list = {}
  for i, v in ipairs(values) do
    local vars = v == false and { other = 1 } or { stats = { dispatched = v, enqueued = v * 2 } }
    list[i] = { name = ("periodic_%03d"):format(i - 1), t = times and times[i] or i, maps = {
      global_map("ktstr_sc.bss", vars) } }
  end
  return list
end

local function field(values, times)
  return snapshot.series(snaps(values, times)):var("stats.dispatched")
end

local function msg(v)
  assert.equal(1, #v.details)
  return v.details[1].msg
end

describe("series", function()
  it("orders snapshots by time and projects values with their times", function()
    local list = snaps({ 1, 2, 3 }, { 3.0, 1.0, 2.0 })
    local f = snapshot.series(list):var("stats.dispatched")
    assert.same({ 2, 3, 1 }, f.values)
    assert.same({ 1.0, 2.0, 3.0 }, f.times)
    assert.same({ "periodic_001", "periodic_002", "periodic_000" }, f.names)
  end)

  it("projects with a function and a label", function()
    local s = snapshot.series(snaps({ 1, 2 }))
    local f = s:field("enq", function(snap) return snap:var("stats.enqueued") end)
    assert.equal("enq", f.label)
    assert.same({ 2, 4 }, f.values)
    assert.equal("field", s:field(function() return 1 end).label)
  end)

  it("records projection errors per snapshot without the caller's position", function()
    local f = field({ 1, false, 3 })
    assert.same({ 1, 3 }, f.values)
    assert.equal(1, #f.errors)
    assert.equal("periodic_001", f.errors[1].name)
    assert.matches("^no var 'stats' in snapshot 'periodic_001'", f.errors[1].msg)
  end)
end)

describe("temporal patterns", function()
  local T = { 1.0, 2.1, 3.0, 4.0 }

  it("nondecreasing passes on equal and rising samples and fails on a drop", function()
    assert.same({ status = "pass", details = {} }, field({ 10, 20, 20, 30 }, T):nondecreasing())
    local v = field({ 100, 120, 80, 90 }, T):nondecreasing()
    assert.equal("fail", v.status)
    assert.equal("nondecreasing", v.details[1].check)
    assert.equal("stats.dispatched decreased from 120 to 80 between periodic_001 (+2.1s) and periodic_002 (+3.0s)",
      msg(v))
    assert.equal("stats.dispatched decreased from 120 to 80 between periodic_001 (+2.1s) and periodic_002 (+3.0s) " ..
      "(and 1 more)", msg(field({ 100, 120, 80, 70 }, T):nondecreasing()))
  end)

  it("strictly_increasing passes on rising samples and fails on a repeat", function()
    assert.equal("pass", field({ 10, 20, 30, 40 }, T):strictly_increasing().status)
    assert.equal("stats.dispatched did not increase: 20 then 20 between periodic_001 (+2.1s) and periodic_002 (+3.0s)",
      msg(field({ 10, 20, 20, 30 }, T):strictly_increasing()))
  end)

  it("rate_within judges the change per ms between samples", function()
    local t = { 1.0, 2.0, 3.0 }
    assert.equal("pass", field({ 0, 1000, 2000 }, t):rate_within(0.5, 2).status)
    assert.equal("stats.dispatched rate 4/ms outside [0.5, 2]/ms between periodic_001 (+2.0s) and periodic_002 " ..
      "(+3.0s) (1000 to 5000)", msg(field({ 0, 1000, 5000 }, t):rate_within(0.5, 2)))
    assert.equal("stats.dispatched: no two samples apart in time: rate undefined",
      msg(field({ 1, 2 }, { 1.0, 1.0 }):rate_within(0, 1)))
  end)

  it("steady_within ignores the warmup and bounds the deviation from the mean", function()
    assert.equal("pass", field({ 0, 100, 105, 95 }, { 1, 2, 3, 4 }):steady_within(1500, 0.1).status)
    assert.equal("stats.dispatched not steady after 1500ms: 130 at periodic_002 (+3.0s) is 30.0% off the mean 100 " ..
      "(tolerance 10.0%)", msg(field({ 0, 100, 130, 70 }, { 1, 2, 3, 4 }):steady_within(1500, 0.1)))
    local v = field({ 0, 100, 130, 70 }, { 1, 2, 3, 4 }):steady_within(3500, 0.1)
    assert.equal("inconclusive", v.status)
    assert.equal("stats.dispatched: 1 sample after the 3500ms warmup, need 2", msg(v))
  end)

  it("converges_to wants 3 consecutive samples in band by the deadline", function()
    assert.equal("pass", field({ 50, 98, 101, 103 }, { 1, 2, 3, 4 }):converges_to(100, 5, 4500).status)
    assert.equal("stats.dispatched did not converge to 100 ± 5 by the 5000ms deadline: longest run in band 2 of 3 " ..
      "samples; last 99 at periodic_004 (+5.0s)",
      msg(field({ 50, 98, 120, 101, 99, 100 }, { 1, 2, 3, 4, 5, 6 }):converges_to(100, 5, 5000)))
    local v = field({ 98, 99, 100 }, { 1, 2, 3 }):converges_to(100, 5, 2500)
    assert.equal("inconclusive", v.status)
    assert.equal("stats.dispatched: 2 samples by the 2500ms deadline, need 3", msg(v))
  end)

  it("always_true holds at every sample and is strict about unreadable ones", function()
    assert.equal("pass", field({ 1, 2, 3 }):always_true(function(x) return x > 0 end).status)
    assert.equal("stats.dispatched: predicate false at periodic_001 (+2.0s) (value 2) (2 of 3 samples)",
      msg(field({ 1, 2, 3 }):always_true(function(x) return x < 2 end)))
    local v = field({ 1, false, 3 }):always_true(function() return true end)
    assert.equal("fail", v.status)
    assert.matches("^stats.dispatched: could not read at periodic_001 %(%+2.0s%): no var 'stats'", msg(v))
  end)

  it("ratio_within compares two fields sample by sample", function()
    local s = snapshot.series(snaps({ 10, 20, 30 }))
    local d, e = s:var("stats.dispatched"), s:var("stats.enqueued")
    assert.equal("pass", e:ratio_within(d, 1.5, 2.5).status)
    assert.equal("stats.dispatched / stats.enqueued = 0.5 outside [0.9, 1.1] at periodic_000 (+1.0s) (10 / 20) " ..
      "(and 2 more)", msg(d:ratio_within(e, 0.9, 1.1)))
    local zero = snapshot.series(snaps({ 0, 0 })):var("stats.enqueued")
    assert.equal("inconclusive", d:ratio_within(zero, 0, 1).status)
  end)

  it("at_least and at_most bound every sample", function()
    local f = field({ 5, 7, 9 })
    assert.equal("pass", f:at_least(5).status)
    assert.equal("pass", f:at_most(9).status)
    assert.equal("stats.dispatched = 5 below 6 at periodic_000 (+1.0s) (1 of 3 samples)", msg(f:at_least(6)))
    assert.equal("stats.dispatched = 9 above 8 at periodic_002 (+3.0s) (1 of 3 samples)", msg(f:at_most(8)))
  end)

  it("is inconclusive with fewer than 2 samples, never a pass", function()
    local none = field({})
    for _, v in ipairs({ none:nondecreasing(), none:strictly_increasing(), none:rate_within(0, 1) }) do
      assert.equal("inconclusive", v.status)
      assert.equal("stats.dispatched: no samples, need 2", msg(v))
    end
    for _, v in ipairs({ none:at_least(0), none:at_most(0), none:always_true(function() return true end) }) do
      assert.equal("inconclusive", v.status)
      assert.equal("stats.dispatched: no samples, need 1", msg(v))
    end
    local v = field({ 1, false }):nondecreasing()
    assert.equal("inconclusive", v.status)
    assert.equal("stats.dispatched: 1 sample, need 2; 1 sample skipped (periodic_001: no var 'stats' in snapshot " ..
      "'periodic_001' (vars: other))", msg(v))
  end)

  it("notes skipped samples on a pass", function()
    local v = field({ 1, false, 3, 4 }):nondecreasing()
    assert.equal("pass", v.status)
    assert.equal("stats.dispatched: 1 sample skipped (periodic_001: no var 'stats' in snapshot 'periodic_001' " ..
      "(vars: other))", msg(v))
  end)

  it("skips values that are not numbers in numeric patterns", function()
    local s = snapshot.series(snaps({ 1, 2, 3 }))
    local f = s:field("flag", function(snap) return snap.name == "periodic_001" and true or snap.t end)
    local v = f:nondecreasing()
    assert.equal("pass", v.status)
    assert.equal("flag: 1 sample skipped (periodic_001: not a number (true))", msg(v))
  end)

  it("checks pattern arguments at the caller's line", function()
    local f = field({ 1, 2 })
    assert.matches("^spec/unit/snapshot_spec.lua:%d+: rate_within: hi: expected a number >= 5",
      err_of(function() return f:rate_within(5, 1) end))
    assert.matches("ratio_within: expected another series field", err_of(f.ratio_within, f, 3, 0, 1))
  end)
end)

describe("snapshot.result_api", function()
  local function result()
    local list = snaps({ 3, 1 }, { 2.0, 1.0 })
    table.insert(list, 1, raw())
    return snapshot.result_api({ duration_s = 5, snapshots = list })
  end

  it("finds a captured snapshot by name", function()
    local r = result()
    assert.equal(120, r:snapshot("after"):var("stats.dispatched"))
  end)

  it("names the snapshots there are when one is missing", function()
    local r = result()
    assert.matches("no snapshot 'aftr' %(did you mean 'after'%? snapshots: periodic_001, periodic_000, after%)$",
      err_of(r.snapshot, r, "aftr"))
    local empty = snapshot.result_api({})
    assert.matches("no snapshot 'after': none were captured", err_of(empty.snapshot, empty, "after"))
  end)

  it("gives the periodic snapshots as a series in time order", function()
    local s = result():periodic()
    assert.equal(2, s:len())
    assert.same({ 1, 3 }, s:var("stats.dispatched").values)
  end)

  it("leaves the result plain data", function()
    local r = result()
    assert.is_nil(rawget(r, "snapshot"))
    local keys = {}
    for k in pairs(r) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.same({ "duration_s", "snapshots" }, keys)
  end)
end)
