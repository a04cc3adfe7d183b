-- Spec helper: runs the ktstr binary as a child and checks that nothing leaked.
local core = require("ktstr.core")
local luassert = require("luassert")

local M = {}

M.exe = luassert(core.exe())

function M.sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs a shell command; returns its stdout, whether it succeeded, its status.
function M.sh(cmd)
  local p = luassert(io.popen(cmd))
  local out = p:read("a")
  local ok, _, status = p:close()
  return out, ok, status
end

-- QEMU processes (build/fake-qemu's too) and run dirs left in a private run dir base.
function M.leftovers_in(base)
  -- the [u] keeps pgrep from matching the shell that runs it
  local procs = M.sh("pgrep -a -f " .. M.sh_quote("qem[u].*" .. base) .. " 2>/dev/null")
  return procs, M.sh("ls -A " .. M.sh_quote(base) .. " 2>/dev/null")
end

M.leftovers = { procs = "", dirs = "" }

-- Runs ktstr with args (and input, when given, as its stdin); returns exit code,
-- stdout, stderr. Its run dirs go to a private KTSTR_RUN_DIR, checked afterwards
-- by assert_no_leftovers.
function M.ktstr(args, env, input)
  local dir = luassert(core.mkdtemp("/tmp/ktstr-spec-"))
  env = env or {}
  env.KTSTR_RUN_DIR = dir .. "/run"
  -- sidecars of spec runs stay out of the tree (a spec may name its own dir)
  env.KTSTR_SIDECAR_DIR = env.KTSTR_SIDECAR_DIR or dir .. "/sidecar"
  luassert(core.mkdir_p(env.KTSTR_RUN_DIR))
  local q = {}
  for _, a in ipairs(args) do q[#q + 1] = M.sh_quote(a) end
  local prefix = ""
  for k, v in pairs(env) do prefix = prefix .. k .. "=" .. M.sh_quote(v) .. " " end
  local cmd = ("%s%s %s >%s/out 2>%s/err"):format(prefix, M.sh_quote(M.exe),
    table.concat(q, " "), dir, dir)
  if input then
    local f = luassert(io.open(dir .. "/in", "w"))
    f:write(input)
    f:close()
    cmd = cmd .. " <" .. dir .. "/in"
  end
  local _, _, code = os.execute(cmd)
  local function slurp(name)
    local f = io.open(dir .. "/" .. name)
    local s = f:read("a")
    f:close()
    return s
  end
  local out, err = slurp("out"), slurp("err")
  M.leftovers.procs, M.leftovers.dirs = M.leftovers_in(env.KTSTR_RUN_DIR)
  core.rm_rf(dir)
  return code, out, err
end

-- Environment causes: the host kept a vCPU waiting, the guest did not come
-- up in time, a guest CPU stopped taking interrupts (TCG loses one rarely).
local HOST_CAUSES = { "the host kept", "guest agent not ready within", "stopped +" }

-- Whether every INCONCLUSIVE line of out has a host cause, and there is one.
local function host_inconclusive(out)
  local n = 0
  for line in out:gmatch("[^\n]+") do
    if line:find("^INCONCLUSIVE ") then
      local host = false
      for _, c in ipairs(HOST_CAUSES) do host = host or line:find(c, 1, true) ~= nil end
      if not host then return false end
      n = n + 1
    end
  end
  return n > 0
end

--[[
Runs ktstr with args (env as M.ktstr's), again (3 runs at most) while it
exits 2 and every inconclusive verdict has a host cause: on a loaded 2-CPU
TCG host that says nothing about the scheduler either way, and the spec is
about what the scheduler did. Any other outcome stands at once.
]]
function M.judged(args, env)
  local code, out, err
  for i = 1, 3 do
    code, out, err = M.ktstr(args, env)
    if not (code == 2 and host_inconclusive(out)) then break end
    io.stderr:write(("# %s: host contention, run %d inconclusive, running again\n"):format(
      table.concat(args, " "), i))
  end
  return code, out, err
end

-- M.judged for `ktstr script file --filter filter`.
function M.script(file, filter, env)
  return M.judged({ "script", file, "--filter", filter }, env)
end

-- Fails when the last M.ktstr run left a QEMU process or a run dir behind.
function M.assert_no_leftovers()
  local l = M.leftovers
  M.leftovers = { procs = "", dirs = "" }
  luassert.are.equal("", l.procs, "QEMU processes left behind")
  luassert.are.equal("", l.dirs, "run directories left behind")
end

return M
