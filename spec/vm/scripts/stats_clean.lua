-- ktstr stats' end-to-end pair, clean side: the fixture scheduler as it is (stats_throttled.lua
-- declares the same test under a scheduler that refuses to dispatch half of every 100 ms).
local ktstr = require("ktstr")

ktstr.test{ name = "stats_pair", llcs = 2, cores = 2, duration_s = 4,
  scheduler = ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched", ops_name = "ktstr" },
  defs = {
    ktstr.cgroup("spin"):workers(2):cpuset(ktstr.cpuset.llc(0)),
    ktstr.cgroup("bursty"):workers(2):cpuset(ktstr.cpuset.llc(1))
      :work(ktstr.work.bursty({ burst_duration = "5ms", sleep_duration = "5ms" })),
  } }
