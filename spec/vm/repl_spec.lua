-- ktstr repl end to end: piped sessions in a guest, errors and interrupts, attaching to a held run.
local core = require("ktstr.core")
local guest = require("support.guest")
local run = require("support.run")

-- A private run dir base for one ktstr run, its leftovers checked by run.assert_no_leftovers.
local function scratch()
  local dir = assert(core.mkdtemp("/tmp/ktstr-spec-"))
  assert(core.mkdir_p(dir .. "/run"))
  return dir, dir .. "/run"
end

local function finish(dir, runs)
  run.leftovers.procs, run.leftovers.dirs = run.leftovers_in(runs)
  core.rm_rf(dir)
end

local write = require("support.files").write

-- `ktstr repl ARGS < input`, as a pipeline would run it; returns code, stdout, stderr.
-- runs: the run dir base of a held guest to attach to.
local function repl(args, input, runs)
  local dir, own = scratch()
  runs = runs or own
  write(dir .. "/in", input)
  local q = {}
  for i, a in ipairs(args) do q[i] = run.sh_quote(a) end
  local _, _, code = os.execute(("KTSTR_RUN_DIR=%s %s repl %s <%s/in >%s/out 2>%s/err")
    :format(run.sh_quote(runs), run.sh_quote(run.exe), table.concat(q, " "), dir, dir, dir))
  local out, err = guest.slurp(dir .. "/out"), guest.slurp(dir .. "/err")
  if runs == own then finish(dir, own) else core.rm_rf(dir) end
  return code, out, err
end

describe("ktstr repl #vm", function()
  after_each(run.assert_no_leftovers)

  it("explores a 1n2l2c1t guest from piped chunks: topology, a cgroup, spinners, stats", function()
    local code, out, err = repl({ "--topo", "1n2l2c1t" }, table.concat({
      "ctx.topo",
      "ctx:op(ktstr.op.add_cgroup(ktstr.cgroup('spin'):workers(0)))",
      "ctx:op(ktstr.op.spawn('spin', 2, ktstr.work.spin_wait()))",
      "ctx:sleep(1)",
      "s = ctx:stats().spin",
      "#s.workers, s.workers[1].work_units > 0 and s.workers[2].work_units > 0, s.cpus",
      "ctx:op(ktstr.op.remove_cgroup('spin'))",
      "next(ctx:stats()) == nil, core.cgroup_open('spin') == nil",
      "for i = 1, 2 do",
      "  print('line', i)",
      "end",
      ":host #ktstr.facts.cpus",
    }, "\n") .. "\n")
    assert.are.equal(0, code, err)
    assert.are.equal(table.concat({
      "{ cores = 2, llcs = 2, numa_nodes = 1, threads = 1 }",
      "2\ttrue\t0-3",
      "true\ttrue",
      "line\t1",
      "line\t2",
      "4",
    }, "\n") .. "\n", out)
  end)

  it("gives --disk's scratch disk to IO work, and without it names the option", function()
    local chunks = table.concat({
      "ctx:op(ktstr.op.add_cgroup(ktstr.cgroup('io'):workers(0)))",
      "ctx:op(ktstr.op.spawn('io', 1, ktstr.work.io_rand_read()))",
      "ctx:sleep(1)",
      "ctx:stats().io.workers[1].work_units > 0",
    }, "\n") .. "\n"
    local code, out, err = repl({ "--topo", "1n1l1c1t", "--disk", "64M" }, chunks)
    assert.are.equal(0, code, err)
    assert.are.equal("true\n", out)
    code, out, err = repl({ "--topo", "1n1l1c1t" }, chunks)
    assert.are.equal(1, code, out .. err)
    assert.matches("io_rand_read does its IO on the scratch disk, and this guest has none", err,
      1, true)
    assert.matches("ktstr repl: --disk SIZE", err, 1, true)
    local bcode, _, berr = repl({ "--disk", "1k" }, "")
    assert.are.equal(2, bcode)
    assert.matches("ktstr repl: --disk: expected bytes > 0", berr, 1, true)
  end)

  it("reports errors, survives an interrupt, and exits 1 when the guest dies", function()
    local dir, runs = scratch()
    local fifo = dir .. "/in"
    assert(os.execute("mkfifo " .. run.sh_quote(fifo)))
    local p = assert(core.spawn({ "sh", "-c", ("KTSTR_RUN_DIR=%s exec %s repl <%s >%s/out 2>%s/err")
      :format(run.sh_quote(runs), run.sh_quote(run.exe), fifo, dir, dir) }, { new_pgrp = false }))
    local w = assert(io.open(fifo, "w"))
    w:setvbuf("no")
    w:write("error('boom')\n", "x = = 1\n", "ctx:op(ktstr.op.remove_cgroup('nope'))\n",
      "print('spinning'); while true do end\n")
    assert.truthy(guest.eventually(function()
      return (guest.slurp(dir .. "/out") or ""):find("spinning", 1, true)
    end, 60), "the loop never started")
    core.sleep(0.3)
    assert(p:kill(2))
    -- the guest crashes last: nothing is written after it (no reader, SIGPIPE)
    w:write("print('still here')\n",
      "f = io.open('/proc/sysrq-trigger', 'w'); f:write('c'); f:close()\n")
    w:close()
    local st = assert(p:wait(60))
    p:close()
    local out, err = guest.slurp(dir .. "/out"), guest.slurp(dir .. "/err")
    finish(dir, runs)
    assert.are.equal(1, st.code, err)
    assert.are.equal("spinning\nstill here\n", out)
    assert.matches("^stdin:1: boom\nstack traceback:\n\tstdin:1: in main chunk\n", err)
    assert.matches("\nstdin:1: unexpected symbol near '='\n", err, 1, true)
    assert.matches("\nstdin:1: no cgroup 'nope' is running\n", err, 1, true)
    assert.matches("\ninterrupted\nstack traceback:\n\tstdin:1: in main chunk\n", err, 1, true)
    assert.matches("ktstr: the guest died under the prompt: guest kernel panic: Kernel panic - " ..
      "not syncing: sysrq triggered crash", err, 1, true)
  end)

  it("attaches to a guest held by ktstr script --hold, detaches, and quits", function()
    local dir, runs = scratch()
    local p = assert(core.spawn({ "sh", "-c",
      ("KTSTR_RUN_DIR=%s KTSTR_SIDECAR_DIR=%s exec %s script %s --hold"):format(run.sh_quote(runs),
        run.sh_quote(dir .. "/sidecar"), run.sh_quote(run.exe), "spec/vm/scripts/repl_hold.lua") }))
    finally(function()
      -- a failed assertion must not leave the holder (and its guest) running
      p:close()
      core.rm_rf(dir)
    end)
    local out, err, id = "", "", nil
    local deadline = core.now() + 90
    while not id and core.now() < deadline do
      local which, data = p:read(1)
      if not which and not data then break end
      if which == "stdout" then out = out .. data elseif which == "stderr" then err = err .. data end
      id = err:match("guest held: attach with `ktstr repl %-%-attach (%S+)`; Ctrl%-C to stop\n")
    end
    assert(id, out .. err)
    assert.matches("^PASS repl_hold %[sched=eevdf%] %[topo=1n1l2c1t%]", out)
    -- end of input detaches: the guest and its globals stay
    local code, aout, aerr = repl({ "--attach", id }, "ctx.topo.cores\nx = 7\n", runs)
    assert.are.equal(0, code, aerr)
    assert.are.equal("2\n", aout)
    code, aout, aerr = repl({ "--attach", id }, "x * 6\n:host ktstr.facts.release ~= nil\n" ..
      ":quit\n", runs)
    assert.are.equal(0, code, aerr)
    assert.are.equal("42\ntrue\n", aout)
    local st = assert(p:wait(30), "the holder did not exit after :quit")
    run.leftovers.procs, run.leftovers.dirs = run.leftovers_in(runs)
    assert.are.equal(0, st.code)
  end)
end)
