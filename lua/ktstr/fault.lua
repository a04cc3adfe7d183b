-- Failure kinds: whose fault a failure is, its verdict and exit code (host and guest).
local V = require("ktstr.validate")
local show = require("ktstr.show")

local M = {}

--[[
Every kind a failure can carry from where it happened (guest executor,
scheduler runner, host runner) to the verdict, and what the test is then
counted as; "error" is bad input: the test script or its declaration is
wrong, and the scheduler is not judged at all.
]]
M.KINDS = {
  -- the test script's: raised in it, a bad op, os.exit, a declaration the scheduler contradicts
  script = { status = "error" },
  -- the scheduler's: it failed to load, died or was kicked out
  sched = { status = "fail" },
  -- the environment's: a cgroup write refused, a spawn failed
  env = { status = "inconclusive" },
  -- ktstr's own bug
  internal = { status = "inconclusive" },
  -- an op this executor cannot run yet
  unsupported = { status = "inconclusive" },
  -- the user's: SIGINT/SIGTERM while the host judged (post_vm)
  interrupted = { status = "interrupted" },
}

--[[
Why a run ended without a result from the guest, as the host saw it (vm.lua
boots the guest and talks to its agent; the runner and the REPL add a few),
and what the test is then counted as. Every {kind =, msg =} failure of
those is made by M.failure, which knows only these.
]]
M.RUN = {
  -- the topology, kernel or scheduler binary asked for does not exist or does not fit
  bad_input = { status = "error" },
  -- the scheduler's constraints rule out the test's topology
  skip = { status = "skip" },
  -- SIGINT/SIGTERM while the guest booted or ran
  interrupted = { status = "interrupted" },
  -- the guest kernel panicked (or printed a BUG or an Oops) under the scheduler
  panic = { status = "fail" },
  -- the host could not make the run dir or the initramfs, or start QEMU
  setup = { status = "inconclusive" },
  -- the guest died while booting, twice
  boot = { status = "inconclusive" },
  -- the agent was not ready in time
  boot_timeout = { status = "inconclusive" },
  -- QEMU exited before the agent answered
  qemu_exit = { status = "inconclusive" },
  -- no answer in time (from a poll: nothing yet, not a failure)
  timeout = { status = "inconclusive" },
  -- the channel to the agent failed
  channel = { status = "inconclusive" },
  -- the agent sent a message of the wrong shape (ktstr.protocol) or out of turn
  protocol = { status = "inconclusive" },
  -- the agent answered with an error
  agent = { status = "inconclusive" },
  -- `ktstr repl --attach`: the holding ktstr went away
  gone = { status = "inconclusive" },
  -- `ktstr repl`: the guest's evaluator died and cannot be restarted
  dead = { status = "inconclusive" },
}

-- How a scheduler's run can fail (guest/sched.lua); scheduler.judge explains each.
M.SCHED = {
  load_failed = "it could not start, or exited before the kernel enabled it",
  enable_timeout = "it kept running but the kernel did not enable it in time",
  ops_mismatch = "the kernel enabled it under another ops name than it declares (bad input)",
  disabled = "the kernel kicked it out",
  exited = "it exited while the kernel still had it enabled",
}

-- Exit codes by status, worst first: a failure of the scheduler is what CI must see.
M.EXIT = { fail = 1, error = 2, inconclusive = 2, pass = 0, skip = 0, interrupted = 130 }

-- A run failure {kind =, msg =} (M.RUN's kinds only; extra fields go in by hand).
function M.failure(kind, msg)
  if not M.RUN[kind] then error("fault.failure: unknown kind " .. tostring(kind), 2) end
  return { kind = kind, msg = msg }
end

-- What a fault's or a run failure's kind counts as: "fail", "error", "inconclusive", ...
function M.status(kind)
  local k = M.KINDS[kind] or M.RUN[kind]
  if not k then error("fault.status: unknown kind " .. tostring(kind), 2) end
  return k.status
end

-- The exit code of a command that boots one guest and gives no verdict
-- (`ktstr vm`, `ktstr repl`) when kind ended it: bad input 2, an interrupt
-- 130, whatever else stopped it 1.
function M.exit_code(kind)
  local status = M.status(kind)
  if status == "error" or status == "interrupted" then return M.EXIT[status] end
  return M.EXIT.fail
end

local Fault = {}
Fault.__index = Fault
Fault.__tostring = function(f) return f.msg end

-- A failure raised on purpose: error(fault.new("env", "..."), 0).
function M.new(kind, msg)
  assert(M.KINDS[kind], "fault: unknown kind " .. tostring(kind))
  return setmetatable({ kind = kind, msg = msg }, Fault)
end

function M.raise(kind, msg)
  error(M.new(kind, msg), 0)
end

function M.is(v)
  return getmetatable(v) == Fault
end

-- The plain table of a fault that crosses the channel: {kind, msg}.
function M.plain(f)
  return { kind = f.kind, msg = f.msg }
end

--[[
Whose fault a raised value is. ktstr's own failures are faults already; a
message positioned inside ktstr's Lua modules is a bug of ktstr (the
vocabulary blames the script's line for its callers' mistakes); anything
else was raised by the test script, whatever its type.
]]
function M.classify(e)
  if M.is(e) then return e end
  if type(e) ~= "string" then
    return M.new("script", "error raised with a " .. type(e) .. " value: " .. show.value(e))
  end
  local src = e:match("^([^:\n]+):%d+:")
  if src and src:match("lua/ktstr/[%w_/]+%.lua$") then
    return M.new("internal", "ktstr internal error: " .. e)
  end
  return M.new("script", e)
end

--[[
os.exit in a test script would end ktstr (or, in the guest, PID 1) with no
verdict and no record: from here on it raises a script fault naming the
caller's line instead. The runner and the agent never exit through it.
Returns a function that puts the real os.exit back.
]]
function M.guard_exit()
  local real = os.exit
  os.exit = function(code) -- luacheck: ignore 122
    M.raise("script", ("%s: os.exit(%s) called: a test script cannot end ktstr; return a " ..
      "verdict or raise an error"):format(V.where(), code == nil and "" or tostring(code)))
  end
  return function() os.exit = real end -- luacheck: ignore 122
end

-- guarded(main) -> a main that runs main(...) with os.exit guarded, and restores it after.
function M.guarded(main)
  return function(...)
    local restore = M.guard_exit()
    local ok, rc = pcall(main, ...)
    restore()
    if not ok then error(rc, 0) end
    return rc
  end
end

return M
