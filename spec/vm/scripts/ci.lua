-- Two one-second tests for the CI specs: one passes, one fails on purpose.
local ktstr = require("ktstr")

ktstr.test{
  name = "ci_passes", llcs = 1, cores = 1, threads = 1, duration_s = 1,
  run = function() return ktstr.pass() end,
}

ktstr.test{
  name = "ci_fails", llcs = 1, cores = 1, threads = 1, duration_s = 1,
  run = function() return ktstr.fail("planted failure") end,
}

