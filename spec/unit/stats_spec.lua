-- ktstr stats on recorded sidecars: the metrics a record yields, list, show, and compare's verdicts
-- (fixtures: spec/unit/fixtures/stats, runs of spec/vm/scripts/stats_*.lua under TCG: base and
-- noise are the clean fixture, throttled is the fixture with --degrade 0.5).
local cjson = require("cjson")
local core = require("ktstr.core")
local run = require("support.run")
local stats = require("ktstr.host.stats")

local FIX = "spec/unit/fixtures/stats"
local BASE, NOISE, THROTTLED = FIX .. "/base", FIX .. "/noise", FIX .. "/throttled"

-- compare(base, new) -> regressed, the text, unjudged | nil, message
local function compare(base, new, opts)
  local out = {}
  local regressed, unjudged = stats.compare(type(base) == "table" and base or { base },
    type(new) == "table" and new or { new }, opts or {}, out)
  if not regressed then return nil, unjudged end
  return regressed, table.concat(out, "\n"), unjudged
end

local function records(dir)
  return assert(stats.load(dir))
end

-- Writes records into a fresh directory as a run would; returns the directory.
local tmp = {}
local function write_run(recs)
  local dir = assert(core.mkdtemp("/tmp/ktstr-stats-spec-"))
  tmp[#tmp + 1] = dir
  for i, r in ipairs(recs) do
    r._path, r._dir = nil, nil
    local f = assert(io.open(("%s/%s-r%d.ktstr.json"):format(dir, r.test, i), "w"))
    f:write(cjson.encode(r), "\n")
    f:close()
  end
  return dir
end

local function first(dir)
  return records(dir)[1]._path
end

-- Each base record with fn applied: a planted change on recorded data.
local function planted(fn)
  local recs = records(BASE)
  for i, r in ipairs(recs) do fn(r, i) end
  return write_run(recs)
end

local function cgroup(r, name)
  for i, c in ipairs(r.stats.cgroups) do
    if c.name == name then return c, r.cgroup_times[i] end
  end
end

describe("ktstr stats", function()
  teardown(function()
    for _, d in ipairs(tmp) do core.rm_rf(d) end
  end)

  it("derives rates, shares and the monitor's figures from a record", function()
    local r = records(BASE)[1]
    local v = stats.metrics(r)
    local c, t = cgroup(r, "spin")
    local per_worker_s = t.wall_s / t.workers
    assert.are.equal(c.work_units / per_worker_s, v["spin: work/s"])
    assert.are.equal(c.work_units / per_worker_s * r.host_dilation, v["spin: work/s adj"])
    assert.are.equal(100 * (t.wall_s - t.cpu_s) / t.wall_s, v["spin: off-cpu %"])
    assert.are.equal(100 * t.run_delay_s / (t.run_delay_s + t.cpu_s), v["spin: run delay %"])
    assert.are.equal(c.gap_ms, v["spin: max gap ms"])
    assert.is_nil(v["spin: p99 wake us"])  -- spinners never block
    local _, bt = cgroup(r, "bursty")
    assert.are.equal(bt.wake_p99_us, v["bursty: p99 wake us"])
    assert.are.equal(r.monitor.schedstat.run_delay_ns / 1e6 / r.monitor.span_s,
      v["monitor: run delay ms/s"])
    assert.are.equal(r.monitor.avg_imbalance, v["monitor: avg imbalance"])
  end)

  it("leaves out what a record does not hold: no cgroup times, no rates or shares", function()
    local r = records(BASE)[1]
    r.cgroup_times, r.host_dilation = nil, nil
    local v = stats.metrics(r)
    assert.is_nil(v["spin: work/s"])
    assert.is_nil(v["spin: off-cpu %"])
    assert.is_number(v["spin: max gap ms"])
    assert.is_nil(v["host: dilation"])
  end)

  it("does not flag a noise-only difference: other clean runs, 3 a side and 1 a side", function()
    local regressed, out = compare(BASE, NOISE)
    assert.are.equal(0, regressed, out)
    assert.matches("\nOK stats_pair: no significant regression", out)
    assert.matches("\n0 of 1 tests regressed$", out)
    -- each record is a sample: three repeats in one directory, three run directories
    assert.matches("\n  spin: run delay %%%s+3 [^\n]+\n", out)
    for _, b in ipairs(records(BASE)) do
      for _, n in ipairs(records(NOISE)) do
        regressed, out = compare(b._path, n._path)
        assert.are.equal(0, regressed, out)
      end
    end
  end)

  it("flags the throttled scheduler, with p-values, 3 a side and 1 a side", function()
    local regressed, out = compare(BASE, THROTTLED)
    assert.are.equal(1, regressed, out)
    assert.matches("note: variants differ", out, 1, true)
    assert.is_nil(out:find("accelerators differ", 1, true))
    local line = out:match("\n(REGRESSED stats_pair: [^\n]*)")
    assert.truthy(line, out)
    for _, m in ipairs({ "spin: run delay %%", "spin: off%-cpu %%", "spin: work/s adj",
      "bursty: run delay %%", "monitor: run delay ms/s" }) do
      assert.matches(m .. " [+-][%d.]+%% %(p[=<][%d.]+%)", line)
    end
    assert.matches("\n  spin: run delay %%[^\n]+WORSE\n", out)
    assert.matches("\n1 of 1 tests regressed$", out)
    for _, b in ipairs(records(BASE)) do
      for _, n in ipairs(records(THROTTLED)) do
        regressed, out = compare(b._path, n._path)
        assert.are.equal(1, regressed, out)
        assert.matches("%(one sample a side: beyond twice the floor%)\n", out)
      end
    end
  end)

  it("flags a planted 40% drop of one cgroup's work rate, and only that", function()
    local dir = planted(function(r)
      local c = cgroup(r, "spin")
      c.work_units, c.iterations = math.floor(c.work_units * 0.6), math.floor(c.iterations * 0.6)
    end)
    local regressed, out = compare(BASE, dir)
    assert.are.equal(1, regressed, out)
    assert.matches("\nREGRESSED stats_pair: spin: work/s adj %-40.0%% %(p=[%d.]+%); " ..
      "spin: iter/s adj %-40.0%% %(p=[%d.]+%)\n", out)
  end)

  it("does not flag a planted change inside the floor, however consistent", function()
    -- every new run 10% slower and 3 points more run delay: significant, but noise-sized
    local dir = planted(function(r)
      local c, t = cgroup(r, "spin")
      c.work_units, c.iterations = math.floor(c.work_units * 0.9), math.floor(c.iterations * 0.9)
      t.run_delay_s = t.run_delay_s + 0.03 * (t.run_delay_s + t.cpu_s)
    end)
    local regressed, out = compare(BASE, dir)
    assert.are.equal(0, regressed, out)
  end)

  it("judges tails (p99, max) only with two samples a side", function()
    local def
    for _, d in ipairs(stats.CGROUP_METRICS) do
      if d.key == "max gap ms" then def = d end
    end
    assert.is_nil(stats.judge(def, { 40 }, { 900 }).verdict)
    assert.are.equal("worse", stats.judge(def, { 40, 42, 41 }, { 900, 905, 910 }).verdict)
  end)

  it("judges by direction, floor and p-value", function()
    local higher = { better = "higher", rel = 0.1, abs = 0 }
    local row = stats.judge(higher, { 100, 102, 98 }, { 80, 79, 81 })
    assert.are.equal("worse", row.verdict)
    assert.are.equal(-20, row.delta)
    assert.is_true(row.p < 0.05)
    assert.are.equal("better", stats.judge(higher, { 80, 79, 81 }, { 100, 102, 98 }).verdict)
    -- significant but inside the floor
    assert.is_nil(stats.judge(higher, { 100, 100.5, 99.5 }, { 95, 95.5, 94.5 }).verdict)
    -- beyond the floor but not significant
    assert.is_nil(stats.judge(higher, { 100, 150, 50 }, { 70, 20, 120 }).verdict)
    -- one sample a side: twice the floor
    assert.is_nil(stats.judge(higher, { 100 }, { 85 }).verdict)
    assert.are.equal("worse", stats.judge(higher, { 100 }, { 79 }).verdict)
    -- shown, never judged
    assert.is_nil(stats.judge({}, { 1, 1 }, { 9, 9 }).verdict)
    -- from zero: no percentage, the absolute floor decides
    row = stats.judge({ better = "lower", rel = 1, abs = 0.5 }, { 0, 0 }, { 1, 1 })
    assert.is_nil(row.delta)
    assert.are.equal("worse", row.verdict)
  end)

  it("flags a test that passed in every base record and fails in a new one", function()
    local recs = records(NOISE)
    recs[2].status = "fail"
    recs[2].details = { { check = "not_starved", status = "fail", msg = "starved" } }
    local regressed, out = compare(BASE, write_run(recs))
    assert.are.equal(1, regressed, out)
    assert.matches("\nREGRESSED stats_pair: verdict: 1 of 3 new records fail\n", out)
  end)

  it("notes runs under different accelerators", function()
    local recs = records(NOISE)
    for _, r in ipairs(recs) do r.accel = "kvm" end
    local _, out = compare(BASE, write_run(recs))
    assert.matches("note: accelerators differ (base tcg, new kvm)", out, 1, true)
  end)

  it("leaves inconclusive records out of the samples", function()
    local recs = records(THROTTLED)
    for _, r in ipairs(recs) do r.status = "inconclusive" end
    local regressed, out = compare(BASE, write_run(recs))
    assert.are.equal(0, regressed, out)
    assert.matches("base 3 pass, new 3 inconclusive", out, 1, true)
    assert.matches("no judged record (pass or fail) on the new side", out, 1, true)
    assert.matches("\nUNJUDGED stats_pair: no pass or fail record on the new side\n" ..
      "0 of 1 tests regressed, 1 not judged$", out)
    -- nothing worse, and nothing judged: exit 2, not a pass
    local code = run.sh(("%s stats compare %s %s >/dev/null 2>&1; echo $?"):format(
      run.sh_quote(run.exe), BASE, write_run(recs)))
    assert.are.equal("2\n", code)
  end)

  it("refuses sides without a test in common, a missing directory or one without records", function()
    local other = records(NOISE)
    for _, r in ipairs(other) do r.test = "another" end
    local dir = write_run(other)
    local regressed, err = compare(BASE, dir)
    assert.is_nil(regressed)
    assert.are.equal(("no test in common between %s (stats_pair) and %s (another)"):format(BASE,
      dir), err)
    regressed, err = compare(BASE, "/nonexistent/run")
    assert.is_nil(regressed)
    assert.are.equal("/nonexistent/run: No such file or directory", err)
    local empty = assert(core.mkdtemp("/tmp/ktstr-stats-spec-"))
    tmp[#tmp + 1] = empty
    regressed, err = compare(empty, BASE)
    assert.is_nil(regressed)
    assert.are.equal(empty .. ": no sidecar records", err)
  end)

  it("lists the runs under a directory", function()
    local out = assert(stats.list(FIX, {}))
    assert.matches("^RUN%s+KERNEL%s+COMMIT%s+DATE%s+RUNS%s+TESTS%s+RECORDS%s+VERDICTS$", out[1])
    assert.are.equal(6, #out)  -- base, noise/run1..3, throttled
    local text = table.concat(out, "\n")
    assert.matches("\n" .. BASE .. "%s+7%.3%.4%+deb13%-amd64%s+%x+%s+2026%-12%-06T[%d:]+Z%s+3%s+1%s+3%s+3 pass",
      text)
    assert.matches("\n" .. NOISE .. "/run2%s", text)
  end)

  it("shows a run: one value per metric, or n, mean and stdev over repeats", function()
    local out = table.concat(assert(stats.show(first(NOISE), {})), "\n")
    assert.matches("^stats_pair %[sched=ktstr_sched%] %[topo=1n2l2c1t%]: 1 pass %(1 record%)\n" ..
      "  metric%s+value%s+better\n", out)
    assert.matches("\n  spin: run delay %%%s+[%d.]+%s+lower\n", out)
    out = table.concat(assert(stats.show(BASE, {})), "\n")
    assert.matches("^stats_pair [^\n]*: 3 pass %(3 records%)\n  metric%s+n%s+mean%s+stdev", out)
  end)

  it("exits 0, 1 and 2 from the command line, naming a bad argument", function()
    local exe = run.sh_quote(run.exe)
    local function ktstr(args)
      local out, _, code = run.sh(("%s stats %s 2>&1"):format(exe, args))
      return code, out
    end
    local code, out = ktstr(("compare %s %s"):format(BASE, NOISE))
    assert.are.equal(0, code, out)
    code, out = ktstr(("compare %s %s"):format(BASE, THROTTLED))
    assert.are.equal(1, code, out)
    code, out = ktstr(("compare --base %s --new %s --new %s"):format(first(BASE), first(NOISE),
      first(THROTTLED)))
    assert.are.equal(1, code, out)
    code, out = ktstr(("compare %s /nonexistent/run"):format(BASE))
    assert.are.equal(2, code, out)
    assert.are.equal("ktstr stats compare: /nonexistent/run: No such file or directory\n", out)
    code, out = ktstr(("compare %s"):format(BASE))
    assert.are.equal(2, code, out)
    assert.matches("^ktstr stats: compare takes BASE and NEW, got 1 operand\nusage:", out)
    code, out = ktstr(("compare %s %s --alpha 2"):format(BASE, NOISE))
    assert.are.equal(2, code, out)
    assert.matches("^ktstr stats: %-%-alpha: expected a probability between 0 and 1, got '2'", out)
    code, out = ktstr("frobnicate")
    assert.are.equal(2, code, out)
    assert.matches("^ktstr stats: unknown stats command 'frobnicate' %(list, show or compare%)\n" ..
      "usage: ktstr stats", out)
    code, out = ktstr("--bogus")
    assert.are.equal(2, code, out)
    assert.matches("^ktstr stats: unknown option '%-%-bogus'\nusage: ktstr stats", out)
    code, out = ktstr("--help")
    assert.are.equal(0, code, out)
    assert.matches("^usage: ktstr stats list", out)
    code, out = ktstr("list " .. FIX)
    assert.are.equal(0, code, out)
    code, out = ktstr("show /nonexistent/run")
    assert.are.equal(2, code, out)
    assert.are.equal("ktstr stats show: /nonexistent/run: No such file or directory\n", out)
  end)
end)
