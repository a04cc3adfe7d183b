-- Zero to ktstr, step 3: two cgroups of tight CPU spinners sharing every CPU (no checks yet).
local ktstr = require("ktstr")

ktstr.test{
  name = "step3_two_cgroups",
  llcs = 1, cores = 2, threads = 1,
  duration_s = 3,
  defs = {
    ktstr.cgroup("background_spinner")
      :workers(2)
      :work(ktstr.work.spin_wait()),
    ktstr.cgroup("phased_worker")
      :workers(2)
      :work(ktstr.work.spin_wait()),
  },
}
