-- `ktstr verifier` in the guest: loads one scheduler, lets it dispatch, says when to read.
local cjson = require("cjson")
local core = require("ktstr.core")
local sched = require("ktstr.guest.sched")
local scheduler = require("ktstr.scheduler")

local M = {}

-- One JSON object a line on stdout: the host reads the programs from guest
-- memory when a line arrives, while the scheduler is still loaded.
local function emit(msg)
  io.stdout:write(cjson.encode(msg), "\n")
  io.stdout:flush()
end

-- The BPF programs the process holds open (fdinfo's prog_id): the loader's own.
local function held_progs(pid)
  local dir = ("/proc/%d/fdinfo"):format(pid)
  local ids = {}
  for _, fd in ipairs(core.list_files(dir) or {}) do
    local f = io.open(dir .. "/" .. fd)
    local s = f and f:read("a")
    if f then f:close() end
    local id = s and s:match("\nprog_id:%s*(%d+)")
    if id then ids[#ids + 1] = math.tointeger(tonumber(id)) end
  end
  table.sort(ids)
  return ids
end

-- "processed N insns" closes the verifier's log of the program it rejected.
local function processed(log)
  local n
  for m in (log or ""):gmatch("\nprocessed (%d+) insns") do n = m end
  return n and math.tointeger(tonumber(n))
end

--[[
main(spec_json): spec = { name, argv, ops_name?, enable_timeout_s?,
dispatch_s, hold_s }. Starts the scheduler as a test would (waiting for its
own enable), then emits, one JSON line each:
  { t = "enabled", after_s, ops, held = {prog ids} }   the host reads now
  { t = "ran", failure?, held }                        after dispatch_s
  { t = "stopped", exit }                              after hold_s
or, when it never enabled, { t = "failed", failure = {kind, msg}, verifier
= scheduler.verifier's table or nil, processed, log }.
]]
function M.main(spec_json)
  if type(spec_json) ~= "string" then
    error("usage: ktstr lua /lua/ktstr/guest/verifier.lua SPEC (ktstr verifier runs it)", 0)
  end
  local spec = cjson.decode(spec_json)
  local s, f = sched.start(spec)
  if not s then
    local load_log = f.load_log or f.log
    emit({ t = "failed", failure = { kind = f.kind, msg = f.msg },
      verifier = scheduler.verifier(load_log), processed = processed(load_log), log = f.log })
    return
  end
  local pid = s.p:pid()
  emit({ t = "enabled", after_s = s.enabled_after_s, ops = s.ops, held = held_progs(pid) })
  core.sleep(spec.dispatch_s)
  local failure = s:check()
  emit({ t = "ran", failure = failure and { kind = failure.kind, msg = failure.msg },
    held = not failure and held_progs(pid) or nil })
  -- the host pauses the guest to read when "ran" arrives: this covers the way there
  if not failure then core.sleep(spec.hold_s) end
  local st = s:stop()
  emit({ t = "stopped", exit = sched.describe_exit(st), killed = s.killed or nil,
    log = failure and s:log_tail(20) or nil })
end

-- Required, ... is the module's name; run by the host through the agent's exec
-- as `ktstr lua /lua/ktstr/guest/verifier.lua SPEC`, it is the spec.
local first = ...
if first ~= "ktstr.guest.verifier" then M.main(first) end

return M
