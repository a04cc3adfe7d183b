-- ktstr script --html: the page of a real run, of -j with repeats, and as a browser draws it.
local core = require("ktstr.core")
local markup = require("support.markup")
local run = require("support.run")
local slurp = require("support.guest").slurp
local svg = require("ktstr.host.svg")

-- The first browser on PATH that draws a page headless, or nil.
local function chromium()
  for _, name in ipairs({ "chromium", "chromium-browser", "google-chrome", "google-chrome-stable" }) do
    local path = run.sh("command -v " .. name .. " 2>/dev/null"):match("^(%S+)")
    if path then return path end
  end
end

describe("ktstr script --html #vm", function()
  after_each(run.assert_no_leftovers)
  local dir = assert(core.mkdtemp("/tmp/ktstr-html-"))
  local mixed = dir .. "/mixed.html"
  teardown(function() core.rm_rf(dir) end)

  it("writes tests/mixed.lua's page: the summary, the verdict, the plots", function()
    local code, out, err = run.judged({ "script", "tests/mixed.lua", "--html", mixed })
    assert.are.equal(0, code, out .. err)
    local page = assert(slurp(mixed), "no page written")
    local r = markup.check(page)
    markup.assert_well_formed(r)
    assert.are.equal(1, r.summary_rows)
    assert.matches("1 passed, 0 failed", r.text)
    local s = r.sections[1]
    assert.are.equal("test pass", s.class)
    assert.matches("^PASS mixed_workloads %[sched=ktstr_sched[^%]]*%] %[topo=1n2l2c1t%]", s.h2)
    -- 1n2l2c1t: four CPUs, a strip each for nr_running and for the DSQ depth
    assert.are.equal(1, s.timeline)
    assert.are.equal(4, s.nr)
    assert.are.equal(4, s.dsq)
    -- two cgroups of two workers: a gap lane and a bar each, gaps placed on the clock
    assert.are.equal(4, s.gaplane)
    assert.are.equal(4, s.gap)
    assert.are.equal(4, s.bar)
    assert.are.equal(2, s.bargroup)
    -- setup and the two steps; the scheduler attached and the after_workload snapshot
    assert.is_true(s.phase >= 3, s.phase)
    local classes = {}
    for _, c in ipairs(s.markers) do classes[c] = true end
    assert.is_true(classes.sched and classes.snapshot, table.concat(s.markers, " "))
    assert.matches("snapshot after_workload", s.text)
    assert.matches("samples=%d+ max_imbalance=", s.text)
    assert.matches("background_spinner", s.text)
  end)

  it("-j 2 --repeat 2: every run in the page, each with its plots from its worker", function()
    local page_path = dir .. "/ci.html"
    local code, out, err = run.ktstr({ "script", "spec/vm/scripts/ci.lua", "-j", "2",
      "--repeat", "2", "--html", page_path })
    assert.are.equal(1, code, out .. err)
    local r = markup.check(assert(slurp(page_path), "no page written"))
    markup.assert_well_formed(r)
    assert.are.equal(4, r.summary_rows)
    assert.matches("2 passed, 2 failed", r.text)
    local seen = {}
    for _, s in ipairs(r.sections) do
      local name = s.h2:match("%((ci_%a+#%d), [%d.]+s%)$")
      assert.is_truthy(name, s.h2)
      seen[name] = true
      assert.are.equal(1, s.timeline, name)
      assert.are.equal(1, s.nr, name)
      if name:match("^ci_fails") then
        assert.are.equal("test fail", s.class)
        assert.matches("planted failure", s.text)
      else
        assert.are.equal("test pass", s.class)
      end
    end
    assert.are.same({ ["ci_passes#1"] = true, ["ci_passes#2"] = true, ["ci_fails#1"] = true,
      ["ci_fails#2"] = true }, seen)
  end)

  it("a run that boots nothing has its page too; a page that cannot be written exits 2", function()
    local page_path = dir .. "/skip.html"
    local code, out, err = run.ktstr({ "script", "spec/vm/scripts/corpus_skip.lua", "--html",
      page_path })
    assert.are.equal(0, code, out .. err)
    local r = markup.check(assert(slurp(page_path), "no page written"))
    markup.assert_well_formed(r)
    assert.are.equal(1, r.summary_rows)
    assert.are.equal("test skip", r.sections[1].class)
    assert.matches("needs a multiple of 2 CPUs", r.sections[1].text)
    assert.are.equal(0, r.sections[1].timeline)
    code, out, err = run.ktstr({ "script", "spec/vm/scripts/corpus_skip.lua", "--html",
      dir .. "/no/such/dir/skip.html" })
    assert.are.equal(2, code, out .. err)
    assert.are.equal("ktstr script: --html: cannot write " .. dir ..
      "/no/such/dir/skip.html (No such file or directory)\n", err)
  end)

  it("is drawn by headless Chromium: the page, its strips and bars", function()
    local browser = chromium()
    if not browser then
      pending("no chromium on PATH (chromium, chromium-browser, google-chrome): the page is " ..
        "not drawn here; apt-get install chromium to draw it")
      return
    end
    assert.is_truthy(slurp(mixed), "no page: the mixed run above wrote none")
    local png, profile = dir .. "/mixed.png", dir .. "/profile"
    local flags = ("--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir=%s")
      :format(profile)
    local _, ok = run.sh(("%s %s --window-size=1040,900 --screenshot=%s file://%s >/dev/null 2>&1")
      :format(browser, flags, png, mixed))
    assert.is_true(ok, "chromium --screenshot failed")
    -- the page's own colours, as drawn: the badge, the empty and the one-task cells
    local r = markup.png(png, { "#2e8b57", svg.EMPTY, svg.SCALES.nr.from, "#ffffff" })
    assert.are.equal(1040, r.width)
    assert.are.equal(900, r.height)
    assert.is_true(r.counts["#2e8b57"] > 100, "no PASS badge drawn")
    assert.is_true(r.counts[svg.EMPTY] > 1000, "no empty heat cells drawn")
    assert.is_true(r.counts[svg.SCALES.nr.from] > 1000, "no nr_running 1 cells drawn")
    assert.is_true(r.counts["#ffffff"] < 1040 * 900 * 0.95, "the page is blank")
    -- the DOM as the browser's HTML parser built it: the same strips and bars
    local dom = run.sh(("%s %s --dump-dom file://%s 2>/dev/null"):format(browser, flags, mixed))
    local function n(pat)
      local k = 0
      for _ in dom:gmatch(pat) do k = k + 1 end
      return k
    end
    assert.are.equal(4, n('<g class="strip nr">'))
    assert.are.equal(4, n('<g class="strip dsq">'))
    assert.are.equal(4, n('<rect class="bar"'))
    assert.are.equal(0, n("<script"))
  end)
end)
