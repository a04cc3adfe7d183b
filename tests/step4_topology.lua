-- Zero to ktstr, step 4: two LLCs of two cores, each cgroup confined to its own LLC.
local ktstr = require("ktstr")

ktstr.test{
  name = "step4_topology",
  llcs = 2, cores = 2, threads = 1,
  duration_s = 3,
  defs = {
    ktstr.cgroup("background_spinner")
      :workers(2)
      :work(ktstr.work.spin_wait())
      :cpuset(ktstr.cpuset.llc(0)),
    ktstr.cgroup("phased_worker")
      :workers(2)
      :work(ktstr.work.spin_wait())
      :cpuset(ktstr.cpuset.llc(1)),
  },
}
