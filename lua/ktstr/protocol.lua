-- The host<->guest protocol: every message with its fields; the one encoder and decoder of frames.
local cjson = require("cjson")
local fault = require("ktstr.fault")
local verdict = require("ktstr.verdict")
local cpuset = require("ktstr.cpuset")

local M = {}

--[[
A frame carries one JSON object whose `t` names its message. Fields are
declared by type: "string", "number" (finite), "integer" (lua-cjson decodes
every number as a float: one that holds an integer becomes one, any other
is refused), "boolean", "table"; a trailing "?" makes a field optional
(JSON null counts as absent). A table spec { "table", fields = {...} }
checks the named fields of an object, { "table", each = spec } every value
of an array or map, { "string", enum = SET } a string that is a key of SET,
{ "string", valid = fn } a string fn(s) accepts (true, or nil and why).
Fields not listed pass unchecked, except that no number anywhere in a frame
may be NaN or infinite.
]]

local function opt(spec)
  if type(spec) == "string" then return spec .. "?" end
  local c = {}
  for k, v in pairs(spec) do c[k] = v end
  c[1] = spec[1] .. "?"
  return c
end

local TOPO = { "table", fields = { numa_nodes = "integer", llcs = "integer", cores = "integer",
  threads = "integer" } }

-- scheduler.wire(plan): what the guest needs to run the scheduler.
local SCHED_PLAN = { "table", fields = { name = "string", ops_name = "string?",
  argv = { "table", each = "string" }, source = "string?", enable_timeout_s = "number?" } }

-- agent.facts(): the topology as the guest kernel sees it, and where its image sits.
local FACTS = { "table", fields = {
  release = "string",
  cpus = { "table", each = { "table", fields = { cpu = "integer", llc = "string?",
    siblings = "string?", core_id = "integer?", die_id = "integer?", package_id = "integer?" } } },
  nodes = { "table", each = "string" },
  uptime_s = "number?",
  sched_ext = "string?",
  kernel = { "table?", fields = { code_phys = "string?", syms = { "table?", each = "string" },
    syms_error = "string?" } },
  -- the scratch disk (guest/disk.lua), when the host attached one, or why it is not there
  disk = { "table?", fields = { dev = "string?", size = "integer?", scheduler = "string?",
    error = "string?" } },
} }

-- How a process ended (core's p:wait).
local PROC_EXIT = { "table", fields = { code = "integer?", signal = "integer?" } }

-- A cpulist the host parses: checked where it arrives, not where a check trips on it.
local function cpulist(s)
  local cpus, err = cpuset.parse(s)
  if not cpus then return nil, err end
  return true
end

-- One worker's report (core's ws:reports()).
local WORKER = { "table", fields = {
  index = "integer", group = "integer", member = "integer", pid = "integer", work = "string",
  state = "string", work_units = "integer", iterations = "integer", wall_ns = "integer",
  cpu_ns = "integer", run_delay_ns = "integer?", slices = "integer?", vcsw = "integer",
  ivcsw = "integer", max_gap_ns = "integer", max_gap_cpu = "integer", max_gap_at_ns = "integer",
  start_s = "number", migrations = "integer", cpus = { "table", each = "integer" },
  wake = { "table?", fields = { count = "integer", mean_ns = "integer", p50_ns = "integer",
    p90_ns = "integer", p99_ns = "integer", max_ns = "integer", samples = "integer" } },
  -- the work type's own figures by name (schbench's latency percentiles)
  metrics = { "table?", each = "number" },
  exit = { "table?", fields = { code = "integer?", killed = "boolean?", signal = "integer?",
    core = "boolean?", lost = "boolean?", by_stop = "boolean?", by_op = "boolean?" } },
  error = "string?",
} }

-- One run of the scheduler (guest/sched.lua's report, or a start that failed).
local SCHED_RUN = { "table", fields = {
  name = "string", ops = "string?", enabled_after_s = "number?",
  failure = { "table?", fields = { kind = { "string", enum = fault.SCHED }, msg = "string",
    at_s = "number?", log = "string?", load_log = "string?", bad_input = "boolean?" } },
  exit = opt(PROC_EXIT), killed_at_stop = "boolean?", log = "string?", kernel = "string?",
} }

-- One payload's run (guest/payload.lua's result): how it ended, its metrics, its output's tails.
local PAYLOAD = { "table", fields = {
  name = "string", step = "string?", parser = "string?", argv = { "table", each = "string" },
  cpus = { "string?", valid = cpulist }, exit = opt(PROC_EXIT), by_op = "boolean?",
  timed_out = "boolean?", started_s = "number", ended_s = "number?",
  metrics = { "table?", each = "number" }, parse_error = "string?",
  stdout_tail = "string?", stderr_tail = "string?",
} }

local DETAIL = { "table", fields = { check = "string?", status = { "string", enum = verdict.RANK },
  msg = "string" } }

-- guest/scenario.lua's run(): what the host judges.
local RESULT = { "table", fields = {
  duration_s = "number?",
  cgroups = { "table?", each = { "table", fields = { name = "string", step = "string?",
    cpus = { "string?", valid = cpulist }, work = { "table?", each = "string" },
    workers = { "table", each = WORKER } } } },
  timeline = { "table?", each = { "table", fields = { label = "string", start_s = "number",
    end_s = "number" } } },
  snapshots = { "table?", each = "string" },
  sched = opt(SCHED_RUN),
  sched_runs = { "table?", each = SCHED_RUN },
  -- by name ("stress", "stress#2" when run again)
  payloads = { "table?", each = PAYLOAD },
  -- what a test body returned
  verdict = { "table?", fields = { status = { "string", enum = verdict.RANK },
    details = { "table", each = DETAIL }, stats = "table?" } },
  -- the scheduler failed and the scenario stopped there (result.sched says how)
  sched_failed = "string?",
  -- a failure that ended the run, with whose fault it is
  fault = { "table?", fields = { kind = { "string", enum = fault.KINDS }, msg = "string" } },
  -- the scratch disk: how far its /sys/block/DEV/stat counters moved during the run
  disk = { "table?", fields = { dev = "string", size = "integer?", scheduler = "string?",
    iocost = "boolean?", stat = { "table", each = "integer" } } },
} }

--[[
Every message, by its `t`. from: who sends it. host: the ktstr that owns the
guest (ktstr script, vm, repl; also the holder of a --hold guest); agent:
the guest's PID 1; evaluator: the guest's REPL process, whose frames the
agent relays; prompt: `ktstr repl --attach`, talking to the holder.
]]
M.MESSAGES = {
  -- the host asks, the agent does ---------------------------------------------------------------
  run_test = { from = { "host" }, doc = "run one test of a script the initramfs carries",
    fields = { id = "integer", script = "string", test = "string", topo = opt(TOPO),
      sched = opt(SCHED_PLAN) } },
  exec = { from = { "host" }, doc = "run argv, streaming out then exit",
    fields = { id = "integer", argv = { "table", each = "string" } } },
  facts = { from = { "host", "agent" }, doc = "the host asks (no facts), the agent answers",
    fields = { id = "integer?", facts = opt(FACTS) } },
  repl = { from = { "host" }, doc = "start (or rejoin) the REPL evaluator and relay to it",
    fields = { duration_s = "number", topo = TOPO, sched = opt(SCHED_PLAN),
      attach = "boolean?" } },
  poweroff = { from = { "host" }, doc = "power the guest off", fields = {} },
  files = { from = { "host" },
    doc = "a restored guest's per-run files: a piece of a newc cpio, base64 (resume unpacks it)",
    fields = { data = "string" } },
  resume = { from = { "host" },
    doc = "a guest restored from a saved one: unpack the files, set the clock, answer ready",
    fields = { wall = "number" } },
  snapshot_done = { from = { "host" }, doc = "answers snapshot (relayed to the evaluator)",
    fields = { call = "integer", error = "string?" } },
  -- the agent tells or answers ------------------------------------------------------------------
  ready = { from = { "agent" }, doc = "the agent is up", fields = { facts = FACTS } },
  result = { from = { "agent" }, doc = "answers run_test",
    fields = { id = "integer", result = RESULT } },
  out = { from = { "agent" }, doc = "output of an exec'd command",
    fields = { id = "integer", fd = "string", data = "string" } },
  exit = { from = { "agent" }, doc = "an exec'd command ended",
    fields = { id = "integer", code = "integer?", signal = "integer?" } },
  error = { from = { "agent" }, doc = "a request the agent cannot serve",
    fields = { id = "integer?", msg = "string" } },
  phase = { from = { "agent", "evaluator" }, doc = "a step began (the monitor labels samples)",
    fields = { label = "string", at_s = "number", guest_now = "number" } },
  workload = { from = { "agent", "evaluator" }, doc = "the workload began (periodic snapshots)",
    fields = { duration_s = "number", at_s = "number", guest_now = "number" } },
  snapshot = { from = { "agent", "evaluator" },
    doc = "capture the BPF maps (the guest waits for snapshot_done)",
    fields = { call = "integer", name = "string", why = "string?", at_s = "number?" } },
  -- the REPL: host <-> agent <-> evaluator ------------------------------------------------------
  init = { from = { "agent" }, doc = "to a new evaluator: what it runs on",
    fields = { topo = TOPO, sched = opt(SCHED_PLAN), attach = "boolean?",
      duration_s = "number?" } },
  evaluator_ready = { from = { "evaluator" }, doc = "answers init",
    fields = { note = "string?" } },
  repl_ready = { from = { "agent" },
    doc = "answers repl: the evaluator runs (or error says why not)",
    fields = { fresh = "boolean?", note = "string?", error = "string?" } },
  repl_eval = { from = { "host", "prompt" }, doc = "run a chunk in the guest",
    fields = { id = "integer", chunk = "string" } },
  repl_interrupt = { from = { "host", "prompt" }, doc = "stop the running chunk (force: kill)",
    fields = { force = "boolean?" } },
  repl_result = { from = { "evaluator", "agent", "host" }, doc = "a chunk ended",
    fields = { id = "integer?", ok = "boolean", text = "string?", err = "string?" } },
  repl_out = { from = { "evaluator", "agent", "host" }, doc = "what a chunk printed or wrote",
    fields = { id = "integer?", fd = "string?", data = "string" } },
  repl_dead = { from = { "agent", "host" }, doc = "the evaluator is gone for good",
    fields = { msg = "string" } },
  repl_detach = { from = { "prompt", "host" }, doc = "leave the guest running", fields = {} },
  repl_detached = { from = { "agent" }, doc = "answers repl_detach", fields = {} },
  -- the REPL: prompt <-> holder (ktstr repl --attach, ktstr script --hold) ----------------------
  repl_hello = { from = { "host" }, doc = "the holder greets an attached prompt",
    fields = { id = "string", name = "string?", topo = "string", note = "string?" } },
  repl_busy = { from = { "host" }, doc = "another prompt is attached",
    fields = { msg = "string" } },
  repl_host = { from = { "prompt" }, doc = "run a chunk on the holder",
    fields = { id = "integer", chunk = "string" } },
  repl_quit = { from = { "prompt" }, doc = "power the held guest off", fields = {} },
  repl_bye = { from = { "host" }, doc = "answers repl_detach and repl_quit", fields = {} },
}

-- Checking ---------------------------------------------------------------------------------------

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

local function show(v)
  if v == cjson.null then return "null" end
  if type(v) == "string" then return ("%q"):format(#v > 40 and v:sub(1, 40) .. "..." or v) end
  -- lua-cjson decodes 5 as 5.0: say 5, as the guest wrote it
  if type(v) == "number" then return math.tointeger(v) and ("%d"):format(v) or tostring(v) end
  if type(v) == "boolean" then return tostring(v) end
  return "a " .. type(v)
end

local function key_path(path, k)
  if math.type(k) == "integer" then return ("%s[%d]"):format(path, k) end
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then
    return path == "" and k or path .. "." .. k
  end
  return ("%s[%s]"):format(path, show(k))
end

-- A wrong field: raised as a table so the message's name can go first.
local function wrong(path, fmt, ...)
  error({ path = path, what = fmt:format(...) }, 0)
end

local function base(spec)
  return ((type(spec) == "string" and spec or spec[1]):gsub("%?$", ""))
end

local function optional(spec)
  return (type(spec) == "string" and spec or spec[1]):sub(-1) == "?"
end

--[[
Checks value v against spec at path; returns the value to keep (an integer
for an integral float when convert is set). Absent (nil or null) is the
caller's to judge.
]]
local function check(v, spec, path, convert)
  local want = base(spec)
  if want == "integer" then
    local i = type(v) == "number" and math.tointeger(v)
    if not i then wrong(path, "must be an integer, not %s", show(v)) end
    return convert and i or v
  end
  if type(v) ~= want then wrong(path, "must be a %s, not %s", want, show(v)) end
  if want == "number" and not finite(v) then
    wrong(path, "must be a finite number, not %s", show(v))
  end
  if type(spec) == "string" then return v end
  if spec.enum and spec.enum[v] == nil then wrong(path, "has an unknown value %s", show(v)) end
  if spec.valid then
    local ok, why = spec.valid(v)
    if not ok then wrong(path, "is refused: %s", why) end
  end
  for k, fs in pairs(spec.fields or {}) do
    local fv = v[k]
    if fv == nil or fv == cjson.null then
      if not optional(fs) then wrong(key_path(path, k), "is missing") end
      if convert then v[k] = nil end
    else
      local nv = check(fv, fs, key_path(path, k), convert)
      if convert then v[k] = nv end
    end
  end
  if spec.each then
    for k, ev in pairs(v) do
      local nv = check(ev, spec.each, key_path(path, k), convert)
      if convert then v[k] = nv end
    end
  end
  return v
end

-- No NaN or infinity anywhere in what was decoded, declared or not.
local function all_finite(v, path)
  if type(v) == "number" then
    if not finite(v) then wrong(path, "must be a finite number, not %s", show(v)) end
  elseif type(v) == "table" then
    for k, e in pairs(v) do all_finite(e, key_path(path, k)) end
  end
end

-- Raises a one-line error naming the message type and the field.
local function check_message(msg, convert)
  if type(msg) ~= "table" then error("expected a JSON object, got " .. show(msg), 0) end
  local t = msg.t
  if type(t) ~= "string" then error("a message without a type: t is " .. show(t), 0) end
  local m = M.MESSAGES[t]
  if not m then error(("unknown message type %s"):format(show(t)), 0) end
  local ok, err = pcall(function()
    check(msg, { "table", fields = m.fields }, "", convert)
    if convert then all_finite(msg, "") end
  end)
  if ok then return msg end
  if type(err) ~= "table" then error(err, 0) end
  error(("message '%s': field '%s' %s"):format(t, err.path, err.what), 0)
end

-- Checks a message table against its declaration; returns true, or nil and why.
function M.check(msg)
  local ok, err = pcall(check_message, msg, false)
  if not ok then return nil, err end
  return true
end

-- Frames ----------------------------------------------------------------------------------------

-- Our own instance: NaN, Infinity and hex are not JSON here, whatever else sets cjson's options.
local json = cjson.new()
json.decode_invalid_numbers(false)

-- A message as a frame's payload; a message of the wrong shape is the caller's bug.
function M.encode(msg)
  local ok, err = pcall(check_message, msg, false)
  if not ok then error("protocol.encode: " .. err, 2) end
  return json.encode(msg)
end

--[[
Why raw is not JSON, naming the message type and the last field before the
fault when raw shows them (cjson names only the character): NaN, Infinity
and hex numbers are refused here, where they arrive.
]]
function M.not_json(raw, err)
  err = tostring(err)
  local at = math.tointeger(tonumber(err:match("at character (%d+)"))) or #raw
  local head = raw:sub(1, at)
  local t = head:match('^%s*{%s*"t"%s*:%s*"([%w_]+)"') or head:match('[{,]%s*"t"%s*:%s*"([%w_]+)"')
  local field
  for k in head:gmatch('"([%w_]+)"%s*:') do field = k end
  local where = t and ("message '%s': "):format(t) or ""
  if field and field ~= "t" then where = where .. ("field '%s': "):format(field) end
  return where .. "not JSON: " .. err
end

--[[
A frame's payload as a message, checked against its declaration (integers
made integers), or nil and a message naming the message type and the field.
Never raises, whatever raw holds.
]]
function M.decode(raw)
  if type(raw) ~= "string" then return nil, "not a frame: " .. show(raw) end
  local ok, msg = pcall(json.decode, raw)
  if not ok then return nil, M.not_json(raw, msg) end
  local cok, err = pcall(check_message, msg, true)
  if not cok then return nil, err end
  return msg
end

-- JSON that is not one of our frames (QMP's replies): decoded under the same number rules.
function M.json(raw)
  local ok, v = pcall(json.decode, raw or "")
  if not ok then return nil, "not JSON: " .. tostring(v) end
  return v
end

return M
