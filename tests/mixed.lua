-- The tutorial's test (Zero to ktstr, steps 7 and 10): a spinner and a
-- spin/yield phased worker on separate LLCs, judged for fairness, throughput
-- parity and cpuset isolation under the fixture sched_ext scheduler (step 2),
-- then a snapshot of the scheduler's BPF state after the workload.
local ktstr = require("ktstr")

local KTSTR_SCHED = ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched" }

ktstr.test{
  name = "mixed_workloads",
  scheduler = KTSTR_SCHED,
  llcs = 2, cores = 2, threads = 1,
  duration_s = 5,
  isolation = true,
  not_starved = true,
  max_spread_pct = 20.0,
  max_throughput_cv = 0.5,
  min_work_rate = 1.0,
  steps = {
    ktstr.step{
      setup = {
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
      hold = ktstr.hold.full,
    },
    -- Step 10: ops fire before a step's setup, so the snapshot gets its own
    -- step, after the workload's hold: the scheduler's state once it is done.
    ktstr.step{ ops = { ktstr.op.capture_snapshot("after_workload") }, hold = ktstr.hold.fixed(0) },
  },
  post_vm = function(result)
    local snap = result:snapshot("after_workload")
    if snap:var("nr_dispatched") == 0 then
      return ktstr.fail("the scheduler dispatched nothing, says its .bss")
    end
  end,
}
