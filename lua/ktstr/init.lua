-- The public ktstr table, require("ktstr"): the vocabulary test scripts are written in.
local V = require("ktstr.validate")
local verdict = require("ktstr.verdict")

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
