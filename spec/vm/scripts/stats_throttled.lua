-- ktstr stats' end-to-end pair, throttled side: stats_clean.lua's test under the fixture with
-- --degrade 0.5 (no dispatch for the first 50 ms of every 100 ms), which no default gate fails.
local ktstr = require("ktstr")

ktstr.test{ name = "stats_pair", llcs = 2, cores = 2, duration_s = 4,
  scheduler = ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched", ops_name = "ktstr",
    args = { "--degrade", "0.5" } },
  defs = {
    ktstr.cgroup("spin"):workers(2):cpuset(ktstr.cpuset.llc(0)),
    ktstr.cgroup("bursty"):workers(2):cpuset(ktstr.cpuset.llc(1))
      :work(ktstr.work.bursty({ burst_duration = "5ms", sleep_duration = "5ms" })),
  } }
