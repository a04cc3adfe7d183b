-- ktstr.payload{...}: the declaration, its program found on the host, bad input at the script's line.
local core = require("ktstr.core")
local ktstr = require("ktstr")
local cgroupdef = require("ktstr.cgroupdef")
local payload = require("ktstr.payload")
local test = require("ktstr.test")

-- src run as the test script tests/x.lua: script returns ok, error; script_err the error
local script, script_err = require("support.script").run, require("support.script").err

describe("ktstr.payload", function()
  after_each(test.reset)

  it("is a cgroup of its own: found on PATH, packed to /bin/NAME, its options in the def", function()
    local b = ktstr.payload{ name = "stress", argv = { "stress-ng", "--cpu", 1, "--timeout", "3s" },
      metrics = "stress_ng", checks = { bogo_ops_per_s = { min = 100 } },
      cpuset = ktstr.cpuset.exact("0"), nice = 5, timeout_s = "20s" }
    assert.are.equal("ktstr.payload('stress')", tostring(b))
    local def = cgroupdef.unwrap(b:cpu_weight(200), "x")
    assert.are.equal(5, def.nice)
    assert.are.equal(200, def.cpu_weight)
    assert.are.equal("exact", def.cpuset.kind)
    assert.is_nil(def.work)
    assert.is_nil(def.workers)
    local p = def.payload
    assert.are.same({ "stress-ng", "--cpu", "1", "--timeout", "3s" }, p.argv)
    assert.are.equal("/bin/stress-ng", p.exec)
    assert.matches("/stress%-ng$", p.binary)
    assert.are.equal("stress_ng", p.metrics)
    assert.are.same({ bogo_ops_per_s = { min = 100 } }, p.checks)
    assert.are.equal(20, p.timeout_s)
  end)

  it("takes a function for metrics, and checks on any name it may give", function()
    local fn = function() return {} end
    local def = cgroupdef.unwrap(ktstr.payload{ name = "t", argv = { "true" }, metrics = fn,
      checks = { ["my.rate"] = { max = 3 } } }, "x")
    assert.are.equal(fn, def.payload.fn)
    assert.are.same({ ["my.rate"] = { max = 3 } }, def.payload.checks)
  end)

  it("keeps an absolute path where the guest runs it", function()
    local def = cgroupdef.unwrap(ktstr.payload{ name = "t", argv = { "/bin/sh", "-c", ":" } }, "x")
    assert.are.equal("/bin/sh", def.payload.exec)
  end)

  it("goes wherever a cgroup does: defs, steps, the backdrop, add_cgroup, and payloads", function()
    assert.is_true(script([[
local p = ktstr.payload{ name = "p", argv = { "true" } }
ktstr.test{ name = "d", defs = { p } }
ktstr.test{ name = "s", steps = { ktstr.step{ setup = { ktstr.cgroup("w"), p }, hold = ktstr.hold.full } } }
ktstr.test{ name = "b", backdrop = ktstr.backdrop{ p }, steps = { ktstr.step{ hold = ktstr.hold.full } } }
ktstr.test{ name = "o", steps = { ktstr.step{ ops = { ktstr.op.add_cgroup(p) }, hold = ktstr.hold.full } } }
ktstr.test{ name = "r", payloads = { p }, run = function() return ktstr.pass() end }
]]))
    for _, t in ipairs(test.registry()) do
      local found = payload.declared(t)
      assert.are.equal(1, #found, t.name)
      assert.are.equal("p", found[1].name)
      assert.are.same({ { src = found[1].payload.binary, dst = "/bin/true" } }, payload.files({ t }))
    end
    assert.are.equal("p", payload.by_name(test.registry()[1], "p#2").name)
    assert.is_nil(payload.by_name(test.registry()[1], "q"))
  end)

  it("packs a program once, and names two payloads that put different ones in one place",
    function()
      local t = { steps = { { setup = {
        { name = "a", payload = { exec = "/bin/x", binary = "/usr/bin/x" } },
        { name = "b", payload = { exec = "/bin/x", binary = "/usr/bin/x" } } }, ops = {} } } }
      assert.are.same({ { src = "/usr/bin/x", dst = "/bin/x" } }, payload.files({ t, t }))
      t.steps[1].setup[2] = { name = "b", source = "tests/x.lua:4",
        payload = { exec = "/bin/x", binary = "/opt/x" } }
      local files, err = payload.files({ t })
      assert.is_nil(files)
      assert.are.equal("tests/x.lua:4: payload 'b': /bin/x would be /opt/x, but another payload " ..
        "packs /usr/bin/x there", err)
    end)

  it("refuses bad input at the script's line", function()
    local cases = {
      { 'ktstr.payload{ name = "p", argv = { "ktstr-no-such-program" } }',
        "tests/x.lua:2: ktstr.payload 'p': 'ktstr-no-such-program' not found on PATH" },
      { 'ktstr.payload{ name = "p", argv = { "/nonexistent/prog" } }',
        "tests/x.lua:2: ktstr.payload 'p': /nonexistent/prog does not exist" },
      { 'ktstr.payload{ name = "p", argv = { "./prog" } }',
        "tests/x.lua:2: ktstr.payload 'p': './prog' is a relative path" },
      { 'ktstr.payload{ name = "p", argv = { "/etc/hostname" } }',
        "tests/x.lua:2: ktstr.payload 'p': /etc/hostname is not an ELF program" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, wrokers = 2 }',
        "tests/x.lua:2: ktstr.payload: unknown key 'wrokers' (valid: argv, checks, cpuset, " ..
        "metrics, name, nice, timeout_s)" },
      { 'ktstr.payload{ name = "p", argv = {} }',
        "tests/x.lua:2: ktstr.payload 'p': argv: expected the command line {program, arg, ...}" },
      { 'ktstr.payload{ name = "p", argv = { "true", {} } }',
        "tests/x.lua:2: ktstr.payload 'p': argv[2]: expected a string" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, metrics = "stressng" }',
        "tests/x.lua:2: ktstr.payload 'p': metrics: unknown parser 'stressng' (did you mean " ..
        "'stress_ng'?), or a function(stdout, stderr)" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, metrics = "stress_ng",\n' ..
        '  checks = { bogo_ops_per_sec = { min = 1 } } }',
        "tests/x.lua:2: ktstr.payload 'p': checks: the stress_ng parser gives no metric " ..
        "'bogo_ops_per_sec' (did you mean 'bogo_ops_per_s'?)" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, metrics = "stress_ng",\n' ..
        '  checks = { ["cpu.bogo_op"] = { min = 1 } } }',
        "did you mean 'cpu.bogo_ops'?" },
      { 'ktstr.payload{ name = "p", argv = { "true", "bench", "pipe" }, metrics = "perf_sched_pipe",\n' ..
        '  checks = { iops = { min = 1 } } }',
        "the perf_sched_pipe parser gives no metric 'iops' (it gives ops_per_s, total_s, " ..
        "usecs_per_op)" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, metrics = "fio",\n' ..
        '  checks = { ["job.foo"] = { min = 1 } } }',
        "the fio parser gives no metric 'job.foo' (it gives ctx_switches" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, checks = { x = { min = 1 } } }',
        "checks: the payload has no metrics to check" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, metrics = "fio",\n' ..
        '  checks = { read_iops = { min = 5, max = 1 } } }',
        "checks.read_iops: min 5 is above max 1" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, metrics = "fio",\n' ..
        '  checks = { read_iops = { least = 5 } } }',
        "checks.read_iops: unknown key 'least' (valid: max, min)" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, metrics = "fio",\n' ..
        '  checks = { read_iops = {} } }',
        "checks.read_iops: give min, max or both" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, metrics = "fio",\n' ..
        '  checks = { read_iops = { min = "many" } } }',
        "checks.read_iops: min: expected a number" },
      { 'ktstr.payload{ name = "p", argv = { "true", "--output-format=normal" }, metrics = "fio" }',
        "ktstr.payload 'p': argv: --output-format=normal: the fio parser reads " ..
        "--output-format=json" },
      { 'ktstr.payload{ name = "p", argv = { "true", "bench", "sched", "pipe" },\n' ..
        '  metrics = "perf_sched_messaging" }',
        "argv: the perf_sched_messaging parser reads `perf bench sched messaging`; argv does " ..
        "not run it" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, nice = 20 }',
        "tests/x.lua:2: payload 'p': nice: expected an integer in -20..19, got 20" },
      { 'ktstr.payload{ name = "p", argv = { "true" }, timeout_s = 0 }',
        "ktstr.payload 'p': timeout_s: expected a duration > 0" },
      { 'ktstr.payload{ name = "p", argv = { "true" } }:workers(2)',
        "tests/x.lua:2: payload 'p': workers does not apply: a payload's cgroup runs its " ..
        "program, not workers" },
      { 'ktstr.payload{ name = "p", argv = { "true" } }:work(ktstr.work.spin_wait())',
        "payload 'p': work does not apply" },
      { 'ktstr.test{ name = "t", payloads = { ktstr.cgroup("c") }, run = function() end }',
        "tests/x.lua:2: ktstr.test 't': payloads[1]: expected ktstr.payload{...}" },
    }
    for _, c in ipairs(cases) do
      local err = script_err(c[1])
      assert(err:find(c[2], 1, true), ("%s\n  gave: %s\n  want: %s"):format(c[1], err, c[2]))
    end
  end)
end)

describe("payload.find", function()
  local dir
  before_each(function() dir = assert(core.mkdtemp("/tmp/ktstr-payload-")) end)
  after_each(function() core.rm_rf(dir) end)

  local function put(name, from)
    assert(os.execute(("cp %s %s/%s"):format(from, dir, name)))
  end

  it("packs the newest NAME_VERSION program a wrapper script stands for (Debian's old perf)",
    function()
      local f = assert(io.open(dir .. "/perf", "w"))
      f:write('#!/bin/sh\nexec "perf_$version" "$@"\n')
      f:close()
      put("perf_5.10", "/bin/true")
      put("perf_6.1", "/bin/true")
      put("perf_6.1.bak", "/bin/true")
      put("perf_7.0", "/etc/hostname")  -- not an ELF: not a candidate
      assert.are.same({ host = dir .. "/perf", binary = dir .. "/perf_6.1", exec = "/bin/perf" },
        payload.find("perf", dir))
      assert.are.same({ host = dir .. "/perf", binary = dir .. "/perf_6.1", exec = dir .. "/perf" },
        payload.find(dir .. "/perf"))
    end)

  it("refuses a script that wraps no program", function()
    local f = assert(io.open(dir .. "/tool", "w"))
    f:write("#!/bin/sh\necho hi\n")
    f:close()
    local found, why = payload.find("tool", dir)
    assert.is_nil(found)
    assert.matches("tool is a script, not a program", why)
  end)

  it("takes the first PATH directory that has it, skipping directories", function()
    assert(core.mkdir_p(dir .. "/a/prog"))
    assert(core.mkdir_p(dir .. "/b"))
    assert(os.execute(("cp /bin/true %s/b/prog"):format(dir)))
    assert.are.same({ host = dir .. "/b/prog", binary = dir .. "/b/prog", exec = "/bin/prog" },
      payload.find("prog", dir .. "/a:" .. dir .. "/b"))
  end)
end)
