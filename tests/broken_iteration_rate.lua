-- Zero to ktstr, step 9, "break it on purpose": step 7 plus a floor no guest can meet; must FAIL.
local ktstr = require("ktstr")

ktstr.test{
  name = "throughput_gate",
  llcs = 2, cores = 2, threads = 1,
  duration_s = 3,
  isolation = true,
  not_starved = true,
  max_spread_pct = 20.0,
  max_throughput_cv = 0.5,
  min_work_rate = 1.0,
  min_iteration_rate = 50000000.0,  -- deliberately impossible
  defs = {
    ktstr.cgroup("background_spinner")
      :workers(2)
      :work(ktstr.work.spin_wait())
      :cpuset(ktstr.cpuset.llc(0)),
    ktstr.cgroup("phased_worker")
      :workers(2)
      :work(ktstr.work.sequence(ktstr.phase.spin("100ms"), ktstr.phase.yield("20ms")))
      :cpuset(ktstr.cpuset.llc(1)),
  },
}
