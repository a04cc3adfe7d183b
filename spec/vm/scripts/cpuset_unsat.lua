-- LLC 2 on a 2-LLC topology: the message names the cgroup's line and says why.
local ktstr = require("ktstr")

ktstr.test{
  name = "cpuset_unsat",
  llcs = 2, cores = 2,
  duration_s = 3,
  defs = {
    ktstr.cgroup("background_spinner")
      :workers(2)
      :cpuset(ktstr.cpuset.llc(2)),
  },
}
