-- A scheduler the verifier rejects, and one whose binary does not exist.
local ktstr = require("ktstr")

ktstr.test{ name = "verifier_rejects",
  scheduler = ktstr.scheduler{ name = "broken", binary = "ktstr-sched-broken", ops_name = "ktstr" },
  duration_s = 2, defs = { ktstr.cgroup("a"):workers(1) } }

ktstr.test{ name = "missing_binary",
  scheduler = ktstr.scheduler{ name = "ghost", binary = "no-such-scheduler-binary" },
  duration_s = 2, defs = { ktstr.cgroup("a"):workers(1) } }
