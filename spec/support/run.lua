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

-- Runs ktstr with args; returns exit code, stdout, stderr.
function M.ktstr(args, env)
  local dir = luassert(core.mkdtemp("/tmp/ktstr-spec-"))
  local q = {}
  for _, a in ipairs(args) do q[#q + 1] = M.sh_quote(a) end
  local prefix = ""
  for k, v in pairs(env or {}) do prefix = prefix .. k .. "=" .. M.sh_quote(v) .. " " end
  local cmd = ("%s%s %s >%s/out 2>%s/err"):format(prefix, M.sh_quote(M.exe),
    table.concat(q, " "), dir, dir)
  local _, _, code = os.execute(cmd)
  local function slurp(name)
    local f = io.open(dir .. "/" .. name)
    local s = f:read("a")
    f:close()
    return s
  end
  local out, err = slurp("out"), slurp("err")
  core.rm_rf(dir)
  return code, out, err
end

local function lines_of(cmd)
  local p = io.popen(cmd)
  local out = {}
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  return out
end

-- QEMU processes and run dirs that exist right now.
function M.leftovers()
  local procs = lines_of("pgrep -a -f '^qemu-system' 2>/dev/null")
  local dirs = lines_of("ls -d /dev/shm/ktstr-* /tmp/ktstr-[!s]* 2>/dev/null")
  return procs, dirs
end

function M.assert_no_leftovers()
  local procs, dirs = M.leftovers()
  luassert.are.same({}, procs, "QEMU processes left behind")
  luassert.are.same({}, dirs, "run directories left behind")
end

return M
