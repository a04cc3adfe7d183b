-- A short passing test for ktstr script --hold: the guest stays up for ktstr repl --attach.
local ktstr = require("ktstr")

ktstr.test{
  name = "repl_hold",
  llcs = 1, cores = 2,
  duration_s = 1,
  defs = { ktstr.cgroup("spin"):workers(1) },
}
