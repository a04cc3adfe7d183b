-- The built-in payload parsers (ktstr.metrics) on output recorded from the real programs.
local metrics = require("ktstr.metrics")

local FIX = "spec/unit/fixtures/payload/"

local function fixture(name)
  local f = assert(io.open(FIX .. name))
  local s = f:read("a")
  f:close()
  return s
end

-- Every value the parser gave is a name it declares (a run-wide one or ITEM.name).
local function all_declared(parser, m)
  for k in pairs(m) do
    local def = metrics.defines(parser, k)
    assert(def, "undeclared metric " .. k)
    assert(k:match(metrics.NAME), "bad metric name " .. k)
  end
end

describe("metrics.stress_ng", function()
  local P = metrics.stress_ng

  it("reads one stressor's --yaml metrics, run-wide and per stressor", function()
    local m = assert(P.parse("", "", { yaml = fixture("stress_ng_cpu.yaml") }))
    assert.are.equal(1995, m.bogo_ops)
    assert.are.equal(996.530390, m.bogo_ops_per_s)
    assert.are.equal(1599.352242, m.bogo_ops_per_cpu_s)
    assert.are.equal(2.001946, m.wall_s)
    assert.are.equal(1995, m["cpu.bogo_ops"])
    assert.are.equal(62.308375, m["cpu.cpu_usage_pct"])
    assert.are.equal(6508, m["cpu.max_rss_kib"])
    all_declared(P, m)
  end)

  it("sums two stressors' rates, keeps each one's and its extras", function()
    local m = assert(P.parse("", "", { yaml = fixture("stress_ng_cpu_pipe.yaml") }))
    assert.are.equal(723 + 757073, m.bogo_ops)
    assert.is_true(math.abs(m.bogo_ops_per_s - (360.967968 + 378455.517833)) < 1e-6)
    assert.are.equal(2.002948, m.wall_s)  -- the longest
    assert.are.equal(360.967968, m["cpu.bogo_ops_per_s"])
    assert.are.equal(378455.517833, m["pipe.bogo_ops_per_s"])
    assert.are.equal(185.018736, m["pipe.mb_per_sec_pipe_write_rate"])
    all_declared(P, m)
  end)

  it("says why when there is no yaml or no metrics list in it", function()
    assert.are.same({ nil, "it wrote no --yaml file" }, { P.parse("", "", {}) })
    local head = fixture("stress_ng_cpu.yaml"):match("^(.-)\nmetrics:")
    assert.are.same({ nil, "its --yaml file has no metrics: list" },
      { P.parse("", "", { yaml = head }) })
  end)

  it("adds --yaml FILE and --metrics-brief unless argv has them", function()
    local argv, files = P.argv({ "/bin/stress-ng", "--cpu", "1" }, "/tmp/p/s")
    assert.are.same({ "/bin/stress-ng", "--cpu", "1", "--yaml", "/tmp/p/s.yaml",
      "--metrics-brief" }, argv)
    assert.are.same({ yaml = "/tmp/p/s.yaml" }, files)
    argv, files = P.argv({ "stress-ng", "--metrics", "--yaml=/x.yaml" }, "/tmp/p/s")
    assert.are.same({ "stress-ng", "--metrics", "--yaml=/x.yaml" }, argv)
    assert.are.same({ yaml = "/x.yaml" }, files)
    argv, files = P.argv({ "stress-ng", "-Y", "/y.yaml" }, "/tmp/p/s")
    assert.are.same({ yaml = "/y.yaml" }, files)
    assert.are.equal("--metrics-brief", argv[#argv])
  end)
end)

describe("metrics.fio", function()
  local P = metrics.fio

  it("reads a randrw job's JSON report", function()
    local m = assert(P.parse(fixture("fio_randrw.json"), ""))
    assert.are.equal(10882.558721, m.read_iops)
    assert.are.equal(43530, m.read_bw_kib_s)
    assert.are.equal(21776, m.read_ios)
    assert.is_true(math.abs(m.read_lat_mean_us - 57.270875092) < 1e-9)
    assert.is_number(m.read_clat_p99_us)
    assert.is_number(m.write_iops)
    assert.are.equal(m.read_iops, m["randrw.read_iops"])
    all_declared(P, m)
  end)

  it("sums two jobs, weighs latency by its samples, leaves latency out where there was no I/O",
    function()
      local m = assert(P.parse(fixture("fio_two_jobs.json"), ""))
      assert.are.equal(122841.158841, m.read_iops)
      assert.are.equal(155493.506494, m.write_iops)
      assert.are.equal(0, m["reader.write_iops"])
      assert.is_nil(m["reader.write_lat_mean_us"])
      assert.is_number(m["writer.write_lat_mean_us"])
      assert.are.equal(m["writer.write_lat_mean_us"], m.write_lat_mean_us)
      assert.are.equal(3127 + 2209, m.ctx_switches)
      all_declared(P, m)
    end)

  it("skips notes fio prints before its report, and says when there is none", function()
    local m = assert(P.parse("note: both iodepth >= 1 and synchronous I/O engine\n" ..
      fixture("fio_randrw.json"), ""))
    assert.are.equal(10882.558721, m.read_iops)
    assert.are.same({ nil, "no fio JSON report (with jobs) on its stdout" },
      { P.parse("fio: pid=0, err=1\n", "") })
    assert.are.same({ nil, "no fio JSON report (with jobs) on its stdout" },
      { P.parse('{"jobs": []}', "") })
  end)

  it("asks for JSON and refuses argv that would not give it", function()
    assert.are.same({ "fio", "--name=x", "--output-format=json" },
      (P.argv({ "fio", "--name=x" })))
    assert.is_nil(P.check({ "fio", "--output-format=json+" }))
    assert.matches("reads %-%-output%-format=json", P.check({ "fio", "--output-format=terse" }))
    assert.matches("a file", P.check({ "fio", "--output=/tmp/r" }))
  end)
end)

describe("metrics.perf_sched_*", function()
  it("reads perf bench sched messaging (processes and threads)", function()
    local P = metrics.perf_sched_messaging
    assert.are.same({ total_s = 0.142 }, P.parse(fixture("perf_sched_messaging.txt"), ""))
    assert.are.same({ total_s = 0.016 }, P.parse(fixture("perf_sched_messaging_threads.txt"), ""))
  end)

  it("reads perf bench sched pipe", function()
    assert.are.same({ total_s = 0.107, usecs_per_op = 5.36835, ops_per_s = 186276 },
      metrics.perf_sched_pipe.parse(fixture("perf_sched_pipe.txt"), ""))
  end)

  it("says when there is no Total time line, and refuses argv for another benchmark", function()
    assert.are.same({ nil, "no 'Total time:' line on its stdout" },
      { metrics.perf_sched_pipe.parse("# Running 'sched/pipe' benchmark:\n", "") })
    assert.is_nil(metrics.perf_sched_pipe.check({ "perf", "bench", "sched", "pipe", "-l", "10" }))
    assert.matches("does not run it",
      metrics.perf_sched_pipe.check({ "perf", "bench", "sched", "messaging" }))
    assert.matches("default format",
      metrics.perf_sched_pipe.check({ "perf", "bench", "--format=simple", "sched", "pipe" }))
  end)
end)

describe("metrics.defines", function()
  it("knows run-wide names, per-item names, and an open parser's extras", function()
    assert.are.same({ better = "higher" }, metrics.defines(metrics.stress_ng, "bogo_ops_per_s"))
    assert.are.same({ better = "higher" }, metrics.defines(metrics.stress_ng, "cpu.bogo_ops"))
    assert.are.same({ better = false }, metrics.defines(metrics.stress_ng, "cpu.wall_s"))
    assert.is_true(metrics.defines(metrics.stress_ng, "pipe.mb_per_sec_pipe_write_rate").open)
    assert.are.same({ better = "lower" }, metrics.defines(metrics.fio, "job1.read_clat_p99_us"))
    assert.is_nil(metrics.defines(metrics.fio, "job1.extra"))
    assert.is_nil(metrics.defines(metrics.perf_sched_pipe, "x.total_s"))
    assert.is_nil(metrics.defines(metrics.stress_ng, "bogo_ops_per_sec"))
  end)
end)
