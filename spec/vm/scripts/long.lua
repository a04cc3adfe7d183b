-- A test that runs long enough to be killed in the middle of it.
local ktstr = require("ktstr")

ktstr.test{
  name = "long",
  llcs = 1, cores = 2,
  duration_s = 30,
  defs = { ktstr.cgroup("spin"):workers(1) },
}
