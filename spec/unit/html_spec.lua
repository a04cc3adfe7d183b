-- html and svg: the --html page and its plots, on recorded runs and on hostile names.
local cjson = require("cjson")
local html = require("ktstr.host.html")
local markup = require("support.markup")
local svg = require("ktstr.host.svg")

--[[
Recorded runs (spec/unit/fixtures/html/*.json): `ktstr script` on the
real guest, each run's test, verdict and result as the runner judged
them, trimmed (monitor samples keep cpu, nr_running, scx_nr_running,
dsq_depth and clock; snapshots their name, time and why; the console its
tail; the scheduler its log) plus its case (name, time, text report).
mixed_workloads: tests/mixed.lua, PASS (4 CPUs, 2 cgroups of 2, the
after_workload snapshot). fixture_stall: spec/vm/scripts/sched_knobs.lua,
the fixture with --stall-after 1, FAIL (4 stuck CPUs, the kernel's error
exit, the failure dump). fixture_ops: the same file, detach, attach and
restart ops, PASS.
]]
local function fixture(name)
  local f = assert(io.open("spec/unit/fixtures/html/" .. name .. ".json"))
  local d = cjson.decode(f:read("a"))
  f:close()
  return d
end

local function case_of(d)
  local e = html.entry(d.test, d.verdict, d.result)
  local cause = d.verdict.details[1]
  return { name = d.case.name, status = d.verdict.status, time = d.case.time,
    message = cause and cause.msg, output = d.case.output, html = e }
end

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

describe("svg", function()
  it("writes numbers short, attributes escaped and sorted, empty elements closed", function()
    assert.are.equal("1.5", svg.num(1.5))
    assert.are.equal("2", svg.num(2.0001))
    assert.are.equal("0", svg.num(-0.001))
    assert.are.equal("120", svg.num(120))
    assert.are.equal('<rect a="1" b="&lt;x&gt; &amp; &quot;y&quot;"/>',
      svg.el("rect", { b = '<x> & "y"', a = 1 }))
    assert.are.equal("<g>x</g>", svg.el("g", nil, "x"))
  end)

  it("shades 0 as empty and darkens to the scale's top, floored", function()
    local nr = svg.SCALES.nr
    assert.are.equal(svg.EMPTY, svg.shade(nr, 0, 10))
    assert.are.equal(nr.from, svg.shade(nr, 1, 10))
    assert.are.equal(nr.to, svg.shade(nr, 10, 10))
    assert.are.equal(nr.to, svg.shade(nr, 50, 10))
    -- a run that never had more than one task: 1 stays light, the floor is the top
    assert.are.equal(nr.from, svg.shade(nr, 1, 1))
    assert.are_not.equal(nr.to, svg.shade(nr, 2, 2))
  end)

  it("puts ticks on round steps within the span", function()
    local t, step = svg.ticks(0, 5.6, 10)
    assert.are.equal(1, step)
    assert.are.same({ 0, 1, 2, 3, 4, 5 }, t)
    t, step = svg.ticks(0.3, 0.9, 10)
    assert.are.equal(0.1, step)
    assert.are.equal(7, #t)
  end)

  it("cuts long labels with an ellipsis, whole UTF-8 characters only", function()
    assert.are.equal("short", svg.fit("short", 120))
    local cut = svg.fit(("é"):rep(40), 60)
    -- 60px at 6px a character: nine and the ellipsis
    assert.are.equal(10, utf8.len(cut))
    assert.matches("…$", cut)
  end)

  describe("timeline", function()
    local p = { t0 = 0, t1 = 4,
      phases = { { label = "setup", from_t = 0, to_t = 1 }, { label = "Step[0]", from_t = 1, to_t = 4 } },
      markers = { { t = 1, class = "sched", label = "scheduler attached" },
        { t = 3, class = "snapshot", label = "snapshot s", why = "asked" } },
      heat = { t = { 0, 1, 2, 3 }, t_end = 4, cpus = {
        { cpu = 0, nr = { 0, 1, 1, 2 }, dsq = { 0, 0, 3, 0 } },
        { cpu = 1, nr = { 0, 1, -1, 1 }, dsq = { 0, 0, -1, 0 } },
        { cpu = 2, nr = { 1, 1, 1, 1 }, dsq = { 0, 0, 0, 0 } } } },
      stuck = { { cpu = 2, from_t = 2, to_t = 3 } },
      gaps = { { label = "spin 10", ms = 12.5, from_t = 2.5, to_t = 2.5125, cpu = 0 },
        { label = "spin 11", ms = 3 } } }
    local s = svg.timeline(p)

    it("draws a strip per CPU for each of nr_running and DSQ depth", function()
      assert.are.equal(3, count(s, '<g class="strip nr">'))
      assert.are.equal(3, count(s, '<g class="strip dsq">'))
    end)

    it("merges equal neighbours into one cell and leaves a missing CPU's cell out", function()
      local cpu1 = s:match('<g class="strip nr"><text[^>]*>cpu1</text>(.-)</g>')
      -- 0, then 1 (missing), then 1 again: three cells
      assert.are.equal(3, count(cpu1, "<rect "))
      local cpu2 = s:match('<g class="strip nr"><text[^>]*>cpu2</text>(.-)</g>')
      assert.are.equal(1, count(cpu2, "<rect "))
      assert.matches("cpu2 %+0%.0s%.%.%+4%.0s nr_running 1", cpu2)
    end)

    it("marks phases, events, stuck CPUs and each worker's gap", function()
      assert.are.equal(2, count(s, '<g class="phase">'))
      assert.are.equal(1, count(s, '<g class="marker sched">'))
      assert.are.equal(1, count(s, '<g class="marker snapshot">'))
      assert.matches("snapshot s %(%+3%.00s%): asked", s)
      assert.are.equal(1, count(s, '<rect class="stuck"'))
      assert.are.equal(2, count(s, '<g class="gaplane">'))
      assert.are.equal(1, count(s, '<rect class="gap"'))
      assert.matches("12%.5ms", s)
      assert.matches("3%.0ms %(not placed: no guest clock%)", s)
    end)

    it("places time left to right on the plot", function()
      local x0 = tonumber(s:match('<g class="marker sched"><title>[^<]*</title><line x1="([%d.]+)"'))
      local x1 = tonumber(s:match('<g class="marker snapshot"><title>[^<]*</title><line x1="([%d.]+)"'))
      assert.is_true(x0 < x1)
      -- t = 1 and t = 3 of 0..4: a quarter and three quarters of the way
      assert.is_near((x1 - x0) * 2, 960 - 150 - 16, 1)
    end)

    it("says why there is no heat when the monitor was off", function()
      local off = svg.timeline({ t0 = 0, t1 = 1, monitor_off = "no kernel symbols" })
      assert.matches("no monitor samples: no kernel symbols", off)
      assert.are.equal(0, count(off, "strip"))
    end)
  end)

  it("draws a bar per row, grouped, each as long as its value against its group's largest",
    function()
      local s = svg.bars({ unit = "units/s", rows = {
        { label = "a 1", group = "a", value = 100 }, { label = "a 2", group = "a", value = 50 },
        { label = "b 3", group = "b", value = 2 } } })
      assert.are.equal(3, count(s, '<rect class="bar"'))
      assert.are.equal(2, count(s, '<g class="bargroup">'))
      local w = {}
      for width in s:gmatch('<rect class="bar" fill="[^"]+" height="14" width="([%d.]+)"') do
        w[#w + 1] = tonumber(width)
      end
      assert.are.equal(3, #w)
      assert.is_near(w[1] / 2, w[2], 0.01)
      -- b's only bar is its own largest
      assert.are.equal(w[1], w[3])
    end)
end)

describe("html.heat", function()
  local function sample(t, nr, dsq)
    local cpus = {}
    for i, n in ipairs(nr) do cpus[i] = { cpu = i - 1, nr_running = n, dsq_depth = dsq[i] or 0 } end
    return { t = t, cpus = cpus }
  end

  it("keeps one cell per sample and a period for the last", function()
    local h = html.heat({ sample(0, { 1, 0 }, {}), sample(0.1, { 2, 0 }, { 1 }),
      sample(0.2, { 1, 1 }, {}) })
    assert.are.same({ 0, 0.1, 0.2 }, h.t)
    assert.is_near(0.3, h.t_end, 1e-9)
    assert.are.same({ 1, 2, 1 }, h.cpus[1].nr)
    assert.are.same({ 0, 1, 0 }, h.cpus[1].dsq)
    assert.are.same({ 0, 0, 1 }, h.cpus[2].nr)
  end)

  it("bins a long run, each bin its deepest value, so a spike stays", function()
    local samples = {}
    for i = 1, 1000 do samples[i] = sample(i / 10, { i == 500 and 9 or 1 }, {}) end
    local h = html.heat(samples)
    assert.is_true(#h.t <= html.MAX_CELLS)
    assert.are.equal(334, #h.t)
    local deepest = 0
    for _, v in ipairs(h.cpus[1].nr) do deepest = math.max(deepest, v) end
    assert.are.equal(9, deepest)
  end)

  it("gives many CPUs fewer cells each: MAX_HEAT over all of them", function()
    local samples, nr = {}, {}
    for c = 1, 64 do nr[c] = c % 3 end
    for i = 1, 1200 do samples[i] = sample(i / 10, nr, {}) end
    local h = html.heat(samples)
    assert.are.equal(64, #h.cpus)
    assert.is_true(#h.t * 64 <= html.MAX_HEAT, #h.t)
    assert.are.equal(100, #h.t)
  end)

  it("drops the samples the monitor does not judge and marks a CPU a sample lacks", function()
    local h = html.heat({ sample(0, { 1, 1 }, {}), sample(0.1, { 1 }, { 50000 }),
      sample(0.2, { 1 }, {}) })
    assert.are.same({ 0, 0.2 }, h.t)
    assert.are.same({ 1, -1 }, h.cpus[2].nr)
    assert.is_nil(html.heat({}))
  end)
end)

describe("html.plot on recorded runs", function()
  it("mixed_workloads: 4 CPUs, the steps, the snapshot, a placed gap per worker", function()
    local d = fixture("mixed_workloads")
    local p = html.plot(d.result)
    assert.are.equal(4, #p.heat.cpus)
    assert.are.equal(59, #p.heat.t)
    local labels = {}
    for i, ph in ipairs(p.phases) do labels[i] = ph.label end
    assert.are.same({ "setup", "Step[0]", "Step[1]" }, labels)
    local kinds = {}
    for _, mk in ipairs(p.markers) do kinds[mk.label] = mk.class end
    assert.are.equal("snapshot", kinds["snapshot after_workload"])
    assert.are.equal("sched", kinds["scheduler attached"])
    assert.are.equal(4, #p.gaps)
    for _, g in ipairs(p.gaps) do
      assert.is_truthy(g.from_t, g.label)
      -- inside the run, where the workers ran (Step[0])
      assert.is_true(g.from_t >= p.phases[2].from_t - 0.5 and g.to_t <= p.t1, g.label)
    end
    assert.are.equal(0, #p.stuck)
  end)

  it("fixture_stall: the stuck CPUs, the kernel's error exit, the failure dump", function()
    local p = html.plot(fixture("fixture_stall").result)
    assert.are.equal(4, #p.stuck)
    local by = {}
    for _, mk in ipairs(p.markers) do by[mk.class] = (by[mk.class] or 0) + 1 end
    assert.are.equal(4, by.stuck)
    -- the error exit the samples saw and the failure dump
    assert.are.equal(2, by.error)
    local prev = -1
    for _, mk in ipairs(p.markers) do
      assert.is_true(mk.t >= prev)
      prev = mk.t
    end
  end)

  it("fixture_ops: each attach and detach of the scheduler", function()
    local p = html.plot(fixture("fixture_ops").result)
    local n = { attached = 0, detached = 0 }
    for _, mk in ipairs(p.markers) do
      local what = mk.label:match("^scheduler (%a+)$")
      if n[what] then n[what] = n[what] + 1 end
    end
    -- attach at start, detach, attach, restart (detach and attach), the stop at the end
    assert.are.same({ attached = 3, detached = 3 }, n)
    assert.are.equal(5, #p.phases)
  end)
end)

describe("html.render", function()
  local names = { "mixed_workloads", "fixture_stall", "fixture_ops" }
  local cases = {}
  for i, name in ipairs(names) do cases[i] = case_of(fixture(name)) end
  local page = html.render({ cases = cases, counts = { passed = 2, failed = 1 }, time = 41.5,
    run = { id = "20250101T000000Z-1", commit = "abc1234", host = { uname = "Linux", cpus = 2 } },
    argv = { "tests/mixed.lua", "--html", "out.html" } })
  local r = markup.check(page)

  it("is well-formed as XML and as HTML", function()
    markup.assert_well_formed(r)
  end)

  it("needs nothing from the network and runs no script", function()
    for _, ref in ipairs(r.refs) do
      assert.is_truthy(ref == "http://www.w3.org/2000/svg" or ref:match("^#t%d+$"), ref)
    end
    for _, tag in ipairs(r.tags) do
      assert.is_falsy(({ script = 1, link = 1, img = 1, iframe = 1, object = 1 })[tag], tag)
    end
    assert.is_nil(page:find("<script", 1, true))
  end)

  it("opens with the summary: one row per run, verdicts, the counts", function()
    assert.are.equal(3, r.summary_rows)
    assert.matches("2 passed, 1 failed", r.text)
    assert.matches('<a href="#t2">fixture_stall</a></td><td><span class="badge fail">FAIL</span>',
      page, 1, true)
  end)

  it("gives each run a section with its plots: strips per CPU, bars per worker, markers", function()
    assert.are.equal(3, #r.sections)
    for i, s in ipairs(r.sections) do
      local e = cases[i].html
      assert.are.equal("t" .. i, s.id)
      assert.are.equal("test " .. cases[i].status, s.class)
      assert.are.equal(1, s.timeline)
      assert.are.equal(#e.plot.heat.cpus, s.nr)
      assert.are.equal(#e.plot.heat.cpus, s.dsq)
      assert.are.equal(#e.plot.markers, #s.markers)
      assert.are.equal(#e.plot.phases, s.phase)
      assert.are.equal(#e.plot.gaps, s.gaplane)
      assert.are.equal(#e.bars, s.bar)
      assert.are.equal(#e.plot.stuck, s.stuck)
    end
    assert.are.equal(4, r.sections[1].nr)
    assert.are.equal(4, r.sections[1].bar)
    assert.are.equal(2, r.sections[1].bargroup)
    assert.are.equal(4, r.sections[2].stuck)
  end)

  it("shows the verdict, the root cause, BUG SUMMARY, details, stats, monitor, text report",
    function()
      local stall = r.sections[2]
      assert.matches("^FAIL fixture_stall %[sched=ktstr_sched ops=ktstr%] %[topo=1n2l2c1t%]",
        stall.h2)
      assert.matches("BUG SUMMARY: scheduler 'ktstr_sched' was kicked out by the kernel", stall.text)
      assert.matches("watchdog stall", stall.text)
      assert.matches("per%-cgroup stats", stall.text)
      assert.matches("1155ms", stall.text)
      assert.matches("verdict: rq clock stuck on cpu2", stall.text)
      assert.matches("replay: ktstr script spec/vm/scripts/sched_knobs.lua", stall.text)
      assert.matches("kernel 7.3.4+deb13-amd64 · tcg · the guest ran the test 2.8s", stall.text, 1,
        true)
      assert.matches("^PASS mixed_workloads", r.sections[1].h2)
      assert.matches("verdict: monitor OK", r.sections[1].text)
    end)

  it("draws the same page from an entry that went through JSON (a -j worker's)", function()
    local again = {}
    for i, c in ipairs(cases) do
      again[i] = cjson.decode(cjson.encode(c))
    end
    local page2 = html.render({ cases = again, counts = { passed = 2, failed = 1 }, time = 41.5,
      run = { id = "20250101T000000Z-1", commit = "abc1234", host = { uname = "Linux", cpus = 2 } },
      argv = { "tests/mixed.lua", "--html", "out.html" } })
    assert.are.equal(page, page2)
  end)

  it("is small: a few kB a test", function()
    assert.is_true(#page < 3 * 40000, #page)
  end)
end)

describe("html escaping", function()
  local evil = "<script>alert(1)</script>"
  local d = fixture("mixed_workloads")
  d.test.name = evil
  d.result.cgroups[1].name = '<img src=x onerror="alert(2)">'
  d.result.monitor.phases[2].label = "</svg><script>alert(3)</script>"
  d.result.snapshots = { ["a\"b'<c>"] = { t = 1, why = "&amp; <b>" } }
  d.verdict = { status = "fail", details = { { check = "run", status = "fail",
    msg = "guest said <b>hi</b> & \27[31mred\27[0m \255" } }, stats = d.verdict.stats }
  local c = case_of(d)
  c.name, c.output = evil, "FAIL " .. evil .. "\n"
  local page = html.render({ cases = { c, { name = "</td><script>", status = "inconclusive",
    time = 1, message = "ktstr failed on the host: <x>" } }, counts = { failed = 1, inconclusive = 1 },
    argv = { "--filter", "<i>" } })
  local r = markup.check(page)

  it("keeps names, messages and labels from the guest or the user as text", function()
    markup.assert_well_formed(r)
    for _, tag in ipairs(r.tags) do
      assert.is_falsy(({ script = 1, img = 1, b = 1, i = 1, x = 1 })[tag], tag)
    end
    assert.is_nil(page:find("<script", 1, true))
    -- and the text reads as written
    assert.matches(evil, r.text, 1, true)
    assert.matches('<img src=x onerror="alert(2)">', r.text, 1, true)
    assert.matches("</svg><script>alert(3)</script>", r.text, 1, true)
    assert.matches("a\"b'<c>", r.text, 1, true)
    assert.matches("guest said <b>hi</b> &", r.text, 1, true)
    assert.matches("</td><script>", r.text, 1, true)
  end)

  it("shows control bytes and bytes that are not UTF-8 as \\xNN", function()
    assert.is_nil(page:find("\27", 1, true))
    assert.is_not_nil(utf8.len(page))
    assert.matches("\\x1b[31mred", r.text, 1, true)
    assert.matches("\\xff", r.text, 1, true)
  end)

  it("gives a run without an entry (ktstr failed on the host) its row and section", function()
    assert.are.equal(2, r.summary_rows)
    assert.are.equal(2, #r.sections)
    assert.matches("ktstr failed on the host: <x>", r.sections[2].text, 1, true)
    assert.are.equal(0, r.sections[2].timeline)
  end)
end)

describe("html.entry", function()
  it("leaves the guest's side out of bad input, as the text report does", function()
    local d = fixture("mixed_workloads")
    local e = html.entry(d.test, { status = "error", details = { { check = "input",
      status = "error", msg = "tests/x.lua:3: no such scheduler" } } }, d.result)
    assert.is_nil(e.plot)
    assert.is_nil(e.stats)
    assert.are.equal("tests/x.lua:3: no such scheduler", e.cause)
  end)

  it("says the plots were not drawn when building them failed", function()
    local page = html.render({ cases = { { name = "t", status = "pass", time = 1,
      html = { title = "t", status = "pass", error = "boom" } } }, counts = { passed = 1 } })
    assert.matches("plots not drawn: boom", page, 1, true)
  end)

  it("draws at most MAX_WORKERS workers and counts the rest", function()
    local d = fixture("mixed_workloads")
    local ws = d.result.cgroups[1].workers
    for i = #ws + 1, html.MAX_WORKERS + 10 do
      ws[i] = { pid = 1000 + i, work_units = i, wall_ns = 1e9, cpu_ns = 1e9, max_gap_ns = 1e6,
        start_s = ws[1].start_s, max_gap_at_ns = 1e9, max_gap_cpu = 0, cpus = { 0 } }
    end
    local e = html.entry(d.test, d.verdict, d.result)
    assert.are.equal(html.MAX_WORKERS, #e.bars)
    assert.are.equal(html.MAX_WORKERS, #e.plot.gaps)
    -- 74 in the first cgroup, 2 in the second
    assert.are.equal(12, e.workers_left)
    local page = html.render({ cases = { { name = "t", status = "pass", time = 1, html = e } },
      counts = { passed = 1 } })
    assert.matches("... and 12 more workers not drawn", page, 1, true)
  end)

  it("caps a check's details and counts the rest", function()
    local details = {}
    for i = 1, html.MAX_DETAILS + 7 do
      details[i] = { check = "max_gap_ms", status = "fail", msg = "tid " .. i }
    end
    local e = html.entry({ name = "t", llcs = 1, cores = 1, threads = 1, numa_nodes = 1 },
      { status = "fail", details = details }, nil)
    assert.are.equal(html.MAX_DETAILS + 1, #e.details)
    assert.are.equal("... and 7 more", e.details[#e.details].msg)
  end)
end)
