-- ktstr.scheduler: declarations, binary discovery, the guest plan, and failures as root causes.
local scheduler = require("ktstr.scheduler")

describe("ktstr.scheduler", function()
  it("takes a binary name, args, sysctls, kargs and scheduler-level thresholds", function()
    local s = scheduler.new({ name = "ktstr_sched", binary = "ktstr-sched", args = { "--x" },
      sysctls = { ["kernel.sched_rt_runtime_us"] = -1 }, kargs = { "nosmt" },
      checks = { max_spread_pct = 30 } })
    assert.are.equal("ktstr_sched", s.name)
    assert.is_nil(s.ops_name)  -- the kernel's root/ops is read, not guessed
    assert.are.equal(30, s.max_spread_pct)
    assert.are.equal("-1", s.sysctls["kernel.sched_rt_runtime_us"])
  end)

  it("wants exactly one of binary and path", function()
    assert.has_error(function() scheduler.new({ name = "x" }) end,
      "ktstr.scheduler 'x': give one of binary (found on the host) or path")
    assert.has_error(function() scheduler.new({ name = "x", binary = "a", path = "/b" }) end)
  end)

  it("suggests the right key for a Rust spelling", function()
    local ok, err = pcall(scheduler.new, { name = "x", binary = "a", sched_args = {} })
    assert.is_false(ok)
    assert.matches("did you mean 'args'", err, 1, true)
  end)

  it("rejects an unknown check naming the valid ones", function()
    local ok, err = pcall(scheduler.new, { name = "x", binary = "a", checks = { max_sprd = 1 } })
    assert.is_false(ok)
    assert.matches("max_spread_pct", err, 1, true)
  end)

  it("names every place it looked for a missing binary", function()
    local s = scheduler.new({ name = "x", binary = "no-such-sched-binary" })
    local bin, err = scheduler.find_binary(s, "/nonexistent/build")
    assert.is_nil(bin)
    assert.matches("binary 'no-such-sched-binary' not found; looked in: " ..
      "/nonexistent/build/sched/no-such-sched-binary, ", err, 1, true)
  end)

  it("finds the installed fixture beside an installed ktstr (PREFIX/bin/ktstr)", function()
    local prefix = os.tmpname()
    os.remove(prefix)
    assert(os.execute(("mkdir -p '%s/bin' '%s/lib/ktstr/sched' && touch '%s/lib/ktstr/sched/fx'")
      :format(prefix, prefix, prefix)))
    local bin = scheduler.find_binary(scheduler.new({ name = "x", binary = "fx" }), prefix .. "/bin")
    local miss, err = scheduler.find_binary(scheduler.new({ name = "y", binary = "no-such-sched" }),
      prefix .. "/bin")
    os.execute(("rm -rf '%s'"):format(prefix))
    assert.are.equal(prefix .. "/lib/ktstr/sched/fx", bin)
    assert.is_nil(miss)
    -- not bin/sched/ or bin/scx/, which only a build tree has
    assert.matches("looked in: " .. prefix .. "/lib/ktstr/sched/no-such-sched, ", err, 1, true)
    assert.is_nil(err:find(prefix .. "/bin/s", 1, true))
    assert.matches("`ktstr kernel scx` builds the kernel's tools/sched_ext schedulers", err, 1, true)
  end)

  it("finds an explicit path and plans argv and cmdline for the guest", function()
    local s = scheduler.new({ name = "x", path = "/bin/sh", args = { "-a" }, kargs = { "k=1" },
      sysctls = { ["kernel.b"] = "2" }, watchdog_arg = "--watchdog-ms" })
    local bin = assert(scheduler.find_binary(s))
    local plan = scheduler.plan(s, bin, { watchdog_timeout_s = 5, extra_sched_args = { "-z" } })
    assert.are.same({ "/bin/sh", "--watchdog-ms", "5000", "-a", "-z" }, plan.argv)
    assert.are.same({ { src = "/bin/sh", dst = "/bin/sh" } }, plan.files)
    assert.are.equal("k=1 sysctl.kernel.b=2", plan.cmdline)
  end)
end)

describe("a failed scheduler as the root cause", function()
  local function judged(sched) return scheduler.judge({ sched = sched }) end

  it("is nothing when the scheduler ran and stopped cleanly", function()
    assert.is_nil(judged({ name = "s", exit = { code = 0 } }))
    assert.is_nil(scheduler.judge({}))
  end)

  it("reports a load failure with the verifier's line", function()
    local bug = judged({ name = "s", failure = { kind = "load_failed",
      msg = "exited with status 1 before it was enabled" },
      log = "libbpf: prog 'enqueue': BPF program load failed: Permission denied\n" ..
        "libbpf: prog 'enqueue': -- BEGIN PROG LOAD LOG --\n0: R1=ctx() R10=fp0\n" ..
        "invalid access to map value, value_size=8 off=64 size=8\n" ..
        "libbpf: prog 'enqueue': -- END PROG LOAD LOG --\nlibbpf: failed to load object 'x'\n" })
    assert.are.equal("scheduler 's' failed to load: the verifier rejected enqueue: invalid access to " ..
      "map value, value_size=8 off=64 size=8; exited with status 1 before it was enabled", bug)
  end)

  -- A real rejection: scx_qmap from linux-source-7.3 under the 7.3 verifier, as ktstr captured it.
  local QMAP = assert(io.open("spec/unit/fixtures/verifier_qmap_7.3.log")):read("a")

  it("reads a 7.x verifier log: program, source line, statement, complaint, category", function()
    local v = scheduler.verifier(QMAP)
    assert.same({ prog = "qmap_dequeue", at = "scx_qmap.bpf.c:336", source = "taskc->q_prev = NULL;",
      complaint = "R7 invalid mem access 'scalar'", category = "Register Type Safety: Invalid dereference",
      reason = "R7 is an integer scalar here, not a pointer to memory." },
      { prog = v.prog, at = v.at, source = v.source, complaint = v.complaint, category = v.category,
        reason = v.reason })
    assert.matches("^Preserve a pointer%-valued register", v.suggestion)
    local bug = judged({ name = "scx_qmap", failure = { kind = "load_failed", load_log = QMAP,
      msg = "exited with status 2 before it was enabled" }, log = "[SCX_BUG] scx_qmap.c:410" })
    assert.are.equal("scheduler 'scx_qmap' failed to load: the verifier rejected qmap_dequeue at " ..
      "scx_qmap.bpf.c:336 (taskc->q_prev = NULL;): R7 invalid mem access 'scalar' [Register Type " ..
      "Safety: Invalid dereference]; exited with status 2 before it was enabled", bug)
  end)

  it("reads the older layout: the trace ends with the complaint, its last source comment places it",
    function()
    -- the same log as kernels before 7.x print it: no explanation after the complaint
    local old = QMAP:gsub("\nVerification failed:.-\n(processed )", "\n%1")
    assert.is_nil(old:find("Source context", 1, true))
    local v = scheduler.verifier(old)
    assert.same({ "qmap_dequeue", "scx_qmap.bpf.c:336", "R7 invalid mem access 'scalar'" },
      { v.prog, v.at, v.complaint })
    assert.is_nil(v.category)
  end)

  it("reports the kernel's reason and the scheduler's message when kicked out", function()
    local bug = judged({ name = "s", failure = { kind = "disabled",
      msg = "disabled by the kernel after 2.1s; the scheduler exited with status 1" },
      kernel = 'sched_ext: BPF scheduler "ktstr" disabled (runtime error)\n' ..
        "sched_ext: ktstr: ktstr: injected crash after 1 s\n   scx_bpf_error_bstr+0x6d/0x90" })
    assert.are.equal("scheduler 's' was kicked out by the kernel (runtime error: ktstr: " ..
      "injected crash after 1 s); disabled by the kernel after 2.1s; the scheduler exited " ..
      "with status 1", bug)
  end)

  it("calls a watchdog kick a stall", function()
    local bug = judged({ name = "s", failure = { kind = "disabled", msg = "m" },
      kernel = "sched_ext: ktstr: watchdog timeout 2000ms <= rescue overload threshold\n" ..
        'sched_ext: BPF scheduler "ktstr" disabled (runnable task stall)\n' ..
        "sched_ext: ktstr: watchdog failed to check in for 2.004s\n   scx_vexit+0x6d/0xa0" })
    assert.are.equal("scheduler 's' was kicked out by the kernel (watchdog stall: runnable " ..
      "task stall: watchdog failed to check in for 2.004s); m", bug)
  end)

  it("tells a crash from a non-zero exit", function()
    assert.matches("^scheduler 's' crashed: ", judged({ name = "s", exit = { signal = 11 },
      failure = { kind = "exited", msg = "killed by SIGSEGV after 1.0s while still enabled" } }))
    assert.matches("^scheduler 's' exited early: ", judged({ name = "s", exit = { code = 3 },
      failure = { kind = "exited", msg = "exited with status 3 after 1.0s while still enabled" } }))
  end)
end)
