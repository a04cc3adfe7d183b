-- Zero to ktstr, step 5: the phased worker, a spin 100 ms / yield 20 ms sequence on LLC 1.
local ktstr = require("ktstr")

ktstr.test{
  name = "step5_phased_worker",
  llcs = 2, cores = 2, threads = 1,
  duration_s = 3,
  defs = {
    -- Persistent CPU pressure on LLC 0 for the whole run.
    ktstr.cgroup("background_spinner")
      :workers(2)
      :work(ktstr.work.spin_wait())
      :cpuset(ktstr.cpuset.llc(0)),
    -- Spin 100 ms, yield for 20 ms, loop: wake-after-yield placement on LLC 1.
    ktstr.cgroup("phased_worker")
      :workers(2)
      :work(ktstr.work.sequence(ktstr.phase.spin("100ms"), ktstr.phase.yield("20ms")))
      :cpuset(ktstr.cpuset.llc(1)),
  },
}
