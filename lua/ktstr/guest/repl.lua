-- The guest side of `ktstr repl`: the agent's relay and the evaluator process that runs the chunks.
--
-- The agent (PID 1) cannot run chunks itself: a chunk that blocks in C
-- could not be interrupted, and one that crashes would take init, and the
-- guest, with it. So chunks run in a long-lived child (the evaluator:
-- `ktstr lua`, its state living across chunks and across attaches); the
-- agent relays frames between the host and it over a unix socket, turns
-- the host's interrupt into SIGINT, and SIGKILLs it when asked twice.
local core = require("ktstr.core")
local chunk = require("ktstr.chunk")
local protocol = require("ktstr.protocol")
local scenario = require("ktstr.guest.scenario")
local sched = require("ktstr.guest.sched")

local M = {}

M.SOCKET = "/tmp/ktstr-repl.sock"
local SIGINT, SIGKILL = 2, 9

-- Agent side ------------------------------------------------------------------------------------

-- The evaluator of this guest, kept between relays (a detach leaves it running).
local ev

local function describe(st)
  if not st then return "did not exit" end
  if st.signal then return ("was killed by signal %d"):format(st.signal) end
  return ("exited with status %d"):format(st.code or -1)
end

-- Ends the evaluator: its workers and scheduler die with it (parent-death
-- signals); the cgroups it left are removed.
local function kill_evaluator()
  if not ev then return "not running" end
  local e = ev
  ev = nil
  if e.p then
    e.p:kill(SIGKILL)
    local st = e.p:wait(5)
    e.p:close()
    e.status = describe(st)
  end
  if e.conn then e.conn:close() end
  if e.lst then e.lst:close() end
  core.cgroup_remove_all()
  return e.status
end

-- Starts an evaluator for the host's {t = "repl"} request; returns it or nil, message.
local function start_evaluator(msg)
  local lst, err = core.unix_listen(M.SOCKET)
  if not lst then return nil, err end
  local e = { lst = lst }
  ev = e
  -- its own process group is not wanted: SIGINT must reach it alone, not its workers
  e.p, err = core.spawn({ core.exe(), "lua", "-e", "require('ktstr.guest.repl').evaluator()" },
    { new_pgrp = false })
  if not e.p then
    kill_evaluator()
    return nil, err
  end
  e.conn, err = lst:accept(10)
  if not e.conn then
    kill_evaluator()
    return nil, "evaluator did not connect: " .. err
  end
  e.conn:send(protocol.encode({ t = "init", topo = msg.topo, sched = msg.sched,
    attach = msg.attach, duration_s = msg.duration_s }))
  local raw
  raw, err = e.conn:recv(30)
  local hello, perr = protocol.decode(raw)
  if not hello or hello.t ~= "evaluator_ready" then
    kill_evaluator()
    return nil, "evaluator did not start: " .. tostring(err or perr or raw)
  end
  e.note = hello.note
  return e
end

-- The host's messages while relaying; returns "stop" (power off), "leave" or nil.
local function from_host(raw, send)
  local msg, perr = protocol.decode(raw)
  if not msg then
    send({ t = "error", msg = "bad request: " .. perr })
  elseif msg.t == "poweroff" then
    kill_evaluator()
    return "stop"
  elseif msg.t == "repl" then
    -- a new prompt on the same session (the holder's next attach)
    send({ t = "repl_ready", fresh = false })
  elseif msg.t == "repl_detach" then
    send({ t = "repl_detached" })
    return "leave"
  elseif msg.t == "repl_interrupt" then
    if not ev or not ev.current then return nil end
    if not msg.force then
      ev.p:kill(SIGINT)
      return nil
    end
    local id = ev.current
    local status = kill_evaluator()
    send({ t = "repl_result", id = id, ok = false, err = ("interrupted: the evaluator %s; " ..
      "its variables, cgroups, workers and scheduler are gone (the next chunk starts afresh)")
      :format(status) })
  elseif msg.t == "repl_eval" or msg.t == "snapshot_done" then
    if msg.t == "repl_eval" then ev.current = msg.id end
    ev.conn:send(raw)
  else
    send({ t = "error", id = msg.id, msg = ("the REPL is running: '%s' is not served now")
      :format(tostring(msg.t)) })
  end
end

--[[
Serves {t = "repl", topo =, sched =, attach =, duration_s =} for the agent: starts the
evaluator unless one is running, then relays until the host detaches or
powers off. Returns "stop" for a power-off, as an agent handler does.
]]
function M.relay(msg, send, port)
  local fresh = not ev
  if fresh then
    local e, err = start_evaluator(msg)
    if not e then
      send({ t = "repl_ready", error = err })
      return
    end
  end
  send({ t = "repl_ready", fresh = fresh, note = fresh and ev.note or nil })
  while true do
    if not ev then
      -- killed on request, or it died: the next chunk gets a fresh one
      local e, err = start_evaluator(msg)
      if not e then
        send({ t = "repl_dead", msg = "cannot restart the evaluator: " .. err })
        return
      end
    end
    local ready, perr, code = core.poll({ port, ev.conn, ev.p })
    if not ready and code ~= "EINTR" then error("repl relay: " .. perr, 0) end
    -- output before results: what a chunk's commands wrote precedes its value
    table.sort(ready or {}, function(a, b) return (a == 3 and 0 or a) < (b == 3 and 0 or b) end)
    for _, i in ipairs(ready or {}) do
      if i == 1 then
        local raw, err, rcode = port:recv(0)
        if raw then
          local r = from_host(raw, send)
          if r == "stop" then return "stop" end
          if r == "leave" then return end
        elseif rcode ~= "ETIMEDOUT" then
          error("repl relay: " .. err, 0)
        end
      elseif ev and i == 2 then
        local raw, _, rcode = ev.conn:recv(0)
        if raw then
          local m, derr = protocol.decode(raw)
          if not m then
            send({ t = "error", msg = "the REPL evaluator sent a malformed message: " .. derr })
          else
            if m.t == "repl_result" and m.id == ev.current then ev.current = nil end
            port:send(raw)
          end
        elseif rcode ~= "ETIMEDOUT" then
          local id = ev.current
          local status = kill_evaluator()
          send({ t = "repl_result", id = id, ok = false, err = ("the evaluator %s; its " ..
            "variables, cgroups and workers are gone (the next chunk starts afresh)")
            :format(status) })
        end
      elseif ev and i == 3 then
        -- what the chunk's commands wrote (os.execute, io.write), as it comes
        local which, data = ev.p:read(0)
        while which do
          send({ t = "repl_out", id = ev.current, fd = which, data = data })
          which, data = ev.p:read(0)
        end
      end
    end
  end
end

-- Evaluator side --------------------------------------------------------------------------------

-- The live workers' reports, per cgroup the session created (and not removed).
local function stats(ctx)
  local out = {}
  for name, inst in pairs(ctx.live) do
    local workers = {}
    for _, r in ipairs(inst.reports or {}) do workers[#workers + 1] = r end
    for _, ws in ipairs(inst.sets) do
      for _, r in ipairs(ws:reports()) do workers[#workers + 1] = r end
    end
    out[name] = { cpus = inst.cpus or ctx.all_cpus, workers = workers }
  end
  return out
end

local function connect()
  local deadline = core.now() + 5
  while true do
    local conn, err = core.unix_connect(M.SOCKET)
    if conn then return conn end
    if core.now() > deadline then error("repl evaluator: " .. err, 0) end
    core.sleep(0.01)
  end
end

-- The next frame from the agent, decoded; nil when the agent is gone.
local function next_msg(conn, timeout)
  while true do
    local raw, err, code = conn:recv(timeout)
    if raw then
      local msg = protocol.decode(raw)
      if msg then return msg end
    elseif code ~= "EINTR" then
      return nil, err, code
    end
  end
end

-- Runs as `ktstr lua -e "require('ktstr.guest.repl').evaluator()"` in the guest.
function M.evaluator()
  local conn = connect()
  local send = function(m) return conn:send(protocol.encode(m)) end
  local init = assert(next_msg(conn, 30), "repl evaluator: no init from the agent")
  local current
  -- SIGINT stops the running chunk instead of this process (armed around each chunk)
  assert(core.sigint_catch(true))
  io.stdout:setvbuf("line")

  --[[
  ctx:op(capture_snapshot) and the executor's phases reach the host through
  us; a chunk sleeping in C must wake for the interrupt, so ctx:sleep, the
  scheduler's waits and the chunk's own core.sleep sleep interruptibly.
  ]]
  local next_call = 0
  local link = { notify = send, sleep = core.sleep_interruptible }
  function link.call(m, timeout)
    next_call = next_call + 1
    m.call = next_call
    send(m)
    while true do
      local reply, err = next_msg(conn, timeout or 60)
      if not reply then return nil, "waiting for the host: " .. err end
      if reply.call == m.call then
        if reply.error then return nil, reply.error end
        return reply
      end
    end
  end

  local topo = init.topo
  local plan = init.sched
  local test = { name = "repl", duration_s = init.duration_s or 5, watchdog_timeout_s = 5,
    extra_sched_args = {}, scheduler = plan and { name = plan.name } or nil,
    numa_nodes = topo.numa_nodes, llcs = topo.llcs, cores = topo.cores, threads = topo.threads }
  local ctx = scenario.new(test, topo, plan, link)
  -- an instance field, not a Ctx method: the REPL's view, not the executor's
  ctx.stats = stats
  local env = chunk.environment({ ktstr = require("ktstr"), ctx = ctx, sched = sched,
    core = setmetatable({ sleep = link.sleep }, { __index = core }) },
    function(s) send({ t = "repl_out", id = current, data = s }) end)

  local note
  if plan and init.attach then
    local ok, err = pcall(ctx.attach_scheduler, ctx)
    if ok then
      note = ("scheduler %s attached (enabled after %.2fs)"):format(plan.name,
        ctx.sched.enabled_after_s or 0)
    else
      local run = ctx.sched_runs[#ctx.sched_runs]
      note = ("scheduler %s did not attach: %s%s"):format(plan.name,
        type(err) == "table" and err.msg or tostring(err),
        run and run.log and run.log ~= "" and "\n--- scheduler log ---\n" .. run.log or "")
    end
  end
  send({ t = "evaluator_ready", note = note })

  while true do
    local msg = next_msg(conn)
    if not msg then break end
    if msg.t == "repl_eval" then
      current = msg.id
      local f, err = chunk.compile(msg.chunk, env)
      local ok, text
      if f then
        core.sigint_arm(true)
        ok, text = chunk.call(f)
        -- disarming is a call too, where a late stop can fire: keep it protected
        while not pcall(core.sigint_arm, false) do end
      else
        ok, text = false, err
      end
      io.stdout:flush()
      send({ t = "repl_result", id = msg.id, ok = ok, text = ok and text or nil,
        err = not ok and text or nil })
      current = nil
    end
  end
  ctx:teardown()
  return 0
end

return M
