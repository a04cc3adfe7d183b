-- scx_qmap, declared as a user would: the 7.3 verifier rejects its qmap_dequeue program.
local ktstr = require("ktstr")

ktstr.test{
  name = "qmap_rejected",
  scheduler = ktstr.scheduler{ name = "scx_qmap", binary = "scx_qmap" },
  llcs = 2, cores = 2,
  duration_s = 3,
  not_starved = true,
  defs = {
    ktstr.cgroup("spin"):workers(2),
    ktstr.cgroup("wakers"):workers(2):work(ktstr.work.bursty{}),
  },
}
