-- The public ktstr table, require("ktstr"): the vocabulary test scripts are written in.
local V = require("ktstr.validate")
local verdict = require("ktstr.verdict")

-- Under another Lua without the rock's C module (only these files on
-- LUA_PATH) scripts still load, but the C side's checks of topologies, work
-- parameters and cpulists are left to the guest: say so, once.
if not pcall(require, "ktstr.core") then
  io.stderr:write("ktstr: ktstr.core not found: topology, work and cpulist checks skipped " ..
    "(luarocks make installs it)\n")
end

return V.strict({
  test = require("ktstr.test").new,
  scheduler = require("ktstr.scheduler").new,
  cgroup = require("ktstr.cgroupdef").new,
  payload = require("ktstr.payload").new,
  work = require("ktstr.work").api,
  phase = require("ktstr.work").phase_api,
  cpuset = require("ktstr.cpuset").api,
  step = require("ktstr.step").new,
  hold = require("ktstr.step").hold_api,
  backdrop = require("ktstr.step").backdrop,
  op = require("ktstr.op").api,
  pass = verdict.pass,
  fail = verdict.fail,
  skip = verdict.skip,
  inconclusive = verdict.inconclusive,
  merge = verdict.merge,
  all_of = verdict.all_of,
  any_of = verdict.any_of,
}, "ktstr", "name")
