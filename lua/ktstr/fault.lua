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

-- Exit codes by status, worst first: a failure of the scheduler is what CI must see.
M.EXIT = { fail = 1, error = 2, inconclusive = 2, pass = 0, skip = 0 }

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

return M
