-- A string where :workers wants an integer: the message names the method and the value.
local ktstr = require("ktstr")

ktstr.test{
  name = "wrong_type",
  duration_s = 3,
  defs = { ktstr.cgroup("spin"):workers("two") },
}
