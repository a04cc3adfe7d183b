-- A payload in the guest: its program started in its cgroup, its end awaited, its output parsed.
local core = require("ktstr.core")
local fault = require("ktstr.fault")
local metrics = require("ktstr.metrics")

local M = {}

-- Where payloads write their output (the guest's /tmp is RAM).
M.DIR = "/tmp/ktstr-payload"
-- How much of each stream's end the result carries.
M.TAIL = 4096
-- How long a payload may run (from its start), beyond duration_s, without a timeout_s of its own.
M.GRACE_S = 30
-- How long a metrics function may take.
M.FN_TIMEOUT_S = 10

local P = {}
P.__index = P

local function slurp(path)
  local f = path and io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- The last n bytes of s, from a line's start when one begins inside them.
local function tail(s, n)
  if not s or #s <= n then return s end
  local t = s:sub(-n)
  return t:match("\n(.*)$") or t
end

--[[
start(def, cg, opts) -> payload: runs def.payload's program (at its guest
path, with what its parser adds) in cgroup cg with def's nice, stdout and
stderr into files. opts: name (the result's key, "stress#2" for a second
run), step (its label), t0 (the run's start), duration_s (the test's).
A program the guest cannot start is the environment's failure.
]]
function M.start(def, cg, opts)
  local p = def.payload
  local ok, err = core.mkdir_p(M.DIR)
  if not ok then fault.raise("env", ("payload '%s': %s"):format(def.name, err)) end
  local base = ("%s/%s"):format(M.DIR, opts.name:gsub("#", "."))
  local argv = table.move(p.argv, 1, #p.argv, 1, {})
  argv[1] = p.exec
  local files = {}
  local parser = p.metrics and metrics.PARSERS[p.metrics]
  if parser then argv, files = parser.argv(argv, base) end
  for _, f in pairs(files) do os.remove(f) end
  local out, errf = base .. ".out", base .. ".err"
  os.remove(out)
  os.remove(errf)
  local proc, serr = core.spawn(argv, { output = out, stderr = errf, cgroup = cg:path(),
    nice = def.nice })
  if not proc then fault.raise("env", ("payload '%s': %s"):format(def.name, serr)) end
  local now = core.now()
  return setmetatable({ def = def, name = opts.name, step = opts.step, t0 = opts.t0,
    proc = proc, argv = argv, files = files, out = out, err = errf, started = now,
    deadline = now + (p.timeout_s or (opts.duration_s or 0) + M.GRACE_S) }, P)
end

-- Whether the program has ended; notes when it did.
function P:poll()
  if not self.exit then
    local st = self.proc:wait(0)
    if st then self.exit, self.ended = st, core.now() end
  end
  return self.exit ~= nil
end

-- Calls the script's metrics function, bounded in time; what it gets wrong is the script's.
local function call_fn(self, stdout, stderr)
  local fn = self.def.payload.fn
  local info = debug.getinfo(fn, "S")
  local where = ("%s:%d: payload '%s': metrics function"):format(info.short_src,
    info.linedefined, self.def.name)
  local deadline = core.now() + M.FN_TIMEOUT_S
  debug.sethook(function()
    if core.now() > deadline then
      debug.sethook()
      error(("still running after %gs: it must return"):format(M.FN_TIMEOUT_S), 0)
    end
  end, "", 10000)
  local ok, m = pcall(fn, stdout, stderr)
  debug.sethook()
  if not ok then fault.raise("script", ("%s: %s"):format(where, tostring(m))) end
  if type(m) ~= "table" then
    fault.raise("script", ("%s returned %s; it must return a table {name = number}")
      :format(where, type(m)))
  end
  for k, v in pairs(m) do
    if type(k) ~= "string" or not k:match(metrics.NAME) then
      fault.raise("script", ("%s: metric name %s: expected letters, digits, _ . -")
        :format(where, tostring(k)))
    end
    if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
      fault.raise("script", ("%s: metric %s = %s: expected a finite number")
        :format(where, k, tostring(v)))
    end
  end
  return m
end

-- The metrics of a clean run: the parser's (nil and why when it finds none), or the function's.
local function parse(self, stdout, stderr)
  local p = self.def.payload
  if p.fn then
    local m = call_fn(self, stdout, stderr)
    if next(m) == nil then return nil, "its metrics function returned an empty table" end
    return m
  end
  local contents = {}
  for k, path in pairs(self.files) do contents[k] = slurp(path) end
  local ok, m, why = pcall(metrics.PARSERS[p.metrics].parse, stdout, stderr, contents)
  if not ok then fault.raise("internal", ("the %s parser failed: %s"):format(p.metrics, m)) end
  if not m then return nil, ("the %s parser found none: %s"):format(p.metrics, why) end
  return m
end

--[[
finish(how, sleep): ends the payload. how "end" (its cgroup's step or
scenario is over): it may run on until its deadline, waiting with
sleep(s) (which watches the scheduler), then is killed (timed out);
"op" (remove_cgroup, stop_cgroup): killed now, not judged; "teardown"
(the run was cut short): killed now, its output not parsed. Parses a
clean run's output (exit 0).
]]
function P:finish(how, sleep)
  if self.done then return end
  if how == "end" then
    while not self:poll() and core.now() < self.deadline do
      sleep(math.min(0.1, self.deadline - core.now()))
    end
  end
  if not self:poll() then
    self.proc:close()  -- SIGTERM to its process group, SIGKILL after 1 s; reaped
    self.exit, self.ended = self.proc:wait(0), core.now()
    if how == "op" then self.by_op = true elseif how == "end" then self.timed_out = true end
  end
  self.done = true
  local stdout, stderr = slurp(self.out) or "", slurp(self.err) or ""
  self.stdout_tail, self.stderr_tail = tail(stdout, M.TAIL), tail(stderr, M.TAIL)
  local clean = self.exit and self.exit.code == 0 and not self.timed_out
  if clean and how ~= "teardown" and (self.def.payload.fn or self.def.payload.metrics) then
    self.metrics, self.parse_error = parse(self, stdout, stderr)
  end
end

-- What the host judges of it (protocol's PAYLOAD).
function P:result(cpus)
  return { name = self.name, step = self.step, parser = self.def.payload.metrics or
    (self.def.payload.fn and "function") or nil, argv = self.argv, cpus = cpus,
    exit = self.exit, by_op = self.by_op, timed_out = self.timed_out,
    started_s = self.started - self.t0, ended_s = self.ended and self.ended - self.t0,
    metrics = self.metrics, parse_error = self.parse_error,
    stdout_tail = self.stdout_tail, stderr_tail = self.stderr_tail }
end

return M
