-- Two tests for spec/vm/hostile_spec.lua: the fake guest lies in the first and answers the second honestly.
local ktstr = require("ktstr")

ktstr.test{
  name = "lied_to",
  duration_s = 1,
  run = function() return ktstr.pass() end,
}

ktstr.test{
  name = "told_the_truth",
  duration_s = 1,
  run = function() return ktstr.pass() end,
}
