-- scx_pair pairs CPUs up: on three CPUs its constraint makes the test a skip, no guest booted.
local ktstr = require("ktstr")

ktstr.test{
  name = "pair_on_three_cpus",
  scheduler = ktstr.scheduler{ name = "scx_pair", binary = "scx_pair",
    constraints = { cpus_multiple_of = 2 } },
  cores = 3,
  duration_s = 3,
  not_starved = true,
  defs = { ktstr.cgroup("spin"):workers(3) },
}
