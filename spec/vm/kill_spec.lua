-- A user who kills: SIGKILL leaves a run dir the next start reclaims (not a live one), SIGINT anywhere exits 130.
local core = require("ktstr.core")
local guest = require("support.guest")
local run = require("support.run")

local DIR = "spec/vm/scripts/"

-- A scratch dir with a private run dir base in it.
local function scratch()
  local dir = assert(core.mkdtemp("/tmp/ktstr-kill-spec-"))
  assert(core.mkdir_p(dir .. "/run"))
  return dir, dir .. "/run"
end

--[[
Starts `ktstr ARGS` in the background with its run dirs under runs, stdout
and stderr to dir/out and dir/err; stdin from opts.stdin (a path) or
/dev/null. The process is ktstr itself (the shell execs it).
]]
local function start(dir, runs, args, opts)
  opts = opts or {}
  local q = {}
  for i, a in ipairs(args) do q[i] = run.sh_quote(a) end
  local cmd = ("KTSTR_RUN_DIR=%s KTSTR_SIDECAR_DIR=%s exec %s %s <%s >%s 2>%s/err"):format(
    run.sh_quote(runs), run.sh_quote(dir .. "/side"), run.sh_quote(run.exe), table.concat(q, " "),
    run.sh_quote(opts.stdin or "/dev/null"), run.sh_quote(opts.stdout or dir .. "/out"),
    run.sh_quote(dir))
  return assert(core.spawn({ "sh", "-c", cmd }, { new_pgrp = false }))
end

-- The run dirs in runs, by name.
local function run_dirs(runs)
  local out = run.sh("ls -A " .. run.sh_quote(runs) .. " 2>/dev/null")
  local dirs = {}
  for name in out:gmatch("[^\n]+") do dirs[#dirs + 1] = name end
  return dirs
end

-- QEMU processes that run a guest out of runs.
local function qemus(runs)
  return (run.leftovers_in(runs))
end

local function qemu_count(runs)
  local n = 0
  for _ in qemus(runs):gmatch("[^\n]+") do n = n + 1 end
  return n
end

-- Waits until the guest of a run under runs is up (its QEMU runs); the run dir's name.
local function wait_booted(runs, p, dir)
  local up = guest.eventually(function()
    if not guest.alive(p:pid()) then return "exited" end
    return qemus(runs) ~= "" and #run_dirs(runs) == 1 and "up"
  end, 90)
  assert.are.equal("up", up, guest.slurp(dir .. "/err"))
  return run_dirs(runs)[1]
end

-- A start of ktstr that boots nothing (kernel list) with runs as its run dir base.
local function another_start(runs)
  local out, ok = run.sh(("KTSTR_RUN_DIR=%s %s kernel list 2>&1"):format(run.sh_quote(runs),
    run.sh_quote(run.exe)))
  assert(ok, out)
end

-- SIGKILLs ktstr while its guest runs; the run dir stays (nothing could remove it), QEMU goes.
local function kill_booted_in(dir, runs, args, opts)
  local p = start(dir, runs, args, opts)
  local name = wait_booted(runs, p, dir)
  local t0 = core.now()
  assert(p:kill(9))
  assert(p:wait(10))
  p:close()
  -- QEMU dies with its parent (PR_SET_PDEATHSIG), the run dir is left for the next start
  assert.is_truthy(guest.eventually(function() return qemus(runs) == "" end, 10),
    "QEMU outlived the ktstr that started it")
  io.stderr:write(("# ktstr %s: QEMU gone %.2fs after SIGKILL\n"):format(args[1], core.now() - t0))
  assert.are.same({ name }, run_dirs(runs))
  assert.are.equal("dead", (core.owner_state(runs .. "/" .. name)))
  another_start(runs)
  assert.are.same({}, run_dirs(runs))
end

-- (busted keeps one finally per test: the caller's may be taken)
local function kill_booted(args, opts)
  local dir, runs = scratch()
  local ok, err = pcall(kill_booted_in, dir, runs, args, opts)
  core.rm_rf(dir)
  if not ok then error(err, 0) end
end

describe("a user who kills #vm", function()
  it("SIGKILL of ktstr script: QEMU dies with it, the next start reclaims its run dir", function()
    kill_booted({ "script", DIR .. "long.lua" })
  end)

  it("SIGKILL of ktstr vm, beside a live run: only the dead run's dir is reclaimed", function()
    local dir, runs = scratch()
    local live = start(dir, runs, { "vm", "--", "sleep", "120" }, { stdout = dir .. "/live" })
    local name = wait_booted(runs, live, dir)
    finally(function()
      live:close()
      core.rm_rf(dir)
    end)
    -- a second run beside it, killed
    local dir2 = assert(core.mkdtemp("/tmp/ktstr-kill-spec-"))
    local p = start(dir2, runs, { "vm", "--", "sleep", "120" })
    assert.is_truthy(guest.eventually(function() return #run_dirs(runs) == 2 end, 60))
    assert.is_truthy(guest.eventually(function() return qemu_count(runs) == 2 end, 60),
      "the second guest did not start")
    assert(p:kill(9))
    assert(p:wait(10))
    p:close()
    core.rm_rf(dir2)
    assert.is_truthy(guest.eventually(function() return qemu_count(runs) == 1 end, 10),
      "the killed run's QEMU outlived it")
    assert.are.equal(2, #run_dirs(runs))
    another_start(runs)
    assert.are.same({ name }, run_dirs(runs))
    assert.are.equal("live", (core.owner_state(runs .. "/" .. name)))
    -- the live run goes on and still cleans up after itself on Ctrl-C
    assert(live:kill(2))
    local st = assert(live:wait(30))
    assert.are.equal(130, st.code)
    assert.are.same({}, run_dirs(runs))
    assert.are.equal("", qemus(runs))
  end)

  it("SIGKILL of ktstr repl: QEMU dies with it, the next start reclaims its run dir", function()
    local dir = assert(core.mkdtemp("/tmp/ktstr-kill-spec-"))
    local fifo = dir .. "/in"
    assert(os.execute("mkfifo " .. run.sh_quote(fifo)))
    -- held open for writing (r+ does not block): the prompt waits for input
    local w = assert(io.open(fifo, "r+"))
    finally(function()
      w:close()
      core.rm_rf(dir)
    end)
    kill_booted({ "repl" }, { stdin = fifo })
  end)

  it("--keep says where it kept the run dir, and no start reclaims it", function()
    local dir, runs = scratch()
    local out = run.sh(("KTSTR_RUN_DIR=%s %s vm --keep -- true 2>&1; echo $?"):format(
      run.sh_quote(runs), run.sh_quote(run.exe)))
    local kept = run_dirs(runs)
    another_start(runs)
    local after = run_dirs(runs)
    core.rm_rf(dir)
    assert.are.equal(1, #kept, out)
    assert.matches("ktstr: kept the run directory " .. runs .. "/" .. kept[1] .. "\n", out, 1, true)
    assert.matches("\n0\n$", out)
    assert.are.same(kept, after)
  end)
end)

describe("Ctrl-C at any point #vm", function()
  it("ends a piped ktstr repl waiting for input with 130 in seconds, nothing left", function()
    local dir, runs = scratch()
    local fifo = dir .. "/in"
    assert(os.execute("mkfifo " .. run.sh_quote(fifo)))
    local w = assert(io.open(fifo, "r+"))
    w:setvbuf("no")
    finally(function()
      w:close()
      core.rm_rf(dir)
    end)
    local p = start(dir, runs, { "repl" }, { stdin = fifo })
    -- a chunk's answer proves the prompt is up and back to waiting
    w:write("print('up')\n")
    assert.is_truthy(guest.eventually(function()
      return (guest.slurp(dir .. "/out") or ""):find("up\n", 1, true)
    end, 90), guest.slurp(dir .. "/err"))
    core.sleep(0.3)
    local t0 = core.now()
    assert(p:kill(2))
    local st = p:wait(20)
    local took = core.now() - t0
    p:close()
    io.stderr:write(("# piped repl: exit %s %.2fs after SIGINT\n"):format(st and st.code, took))
    assert.is_truthy(st, "still waiting for input after SIGINT")
    assert.are.equal(130, st.code)
    assert.is_true(took < 5)
    assert.are.same({}, run_dirs(runs))
    assert.are.equal("", qemus(runs))
  end)

  it("ends a script that loops while it loads with 130, not as the script's error", function()
    local dir = assert(core.mkdtemp("/tmp/ktstr-kill-spec-"))
    local f = assert(io.open(dir .. "/loop.lua", "w"))
    f:write("local ktstr = require('ktstr')\nwhile true do end\n")
    f:close()
    local p = start(dir, dir, { "script", dir .. "/loop.lua" })
    core.sleep(0.5)
    assert(p:kill(2))
    local st = assert(p:wait(10))
    p:close()
    local err = guest.slurp(dir .. "/err")
    core.rm_rf(dir)
    assert.are.equal(130, st.code, err)
    assert.matches("^ktstr: interrupted by Interrupt\n$", err)
  end)
end)
