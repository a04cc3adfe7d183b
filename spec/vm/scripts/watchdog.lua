-- The test's watchdog_timeout_s reaches the kernel for a scheduler declared without watchdog_arg.
local ktstr = require("ktstr")

-- No watchdog_arg: the fixture keeps its own timeout (--watchdog-ms, 5000 by default).
local function fixture(args)
  return ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched", ops_name = "ktstr",
    args = args }
end

local function spinners()
  return {
    ktstr.cgroup("a"):workers(2):cpuset(ktstr.cpuset.llc(0)),
    ktstr.cgroup("b"):workers(2):cpuset(ktstr.cpuset.llc(1)),
  }
end

--[[
The fixture's stall stops every sched_ext task, the kworker of the kernel's
watchdog too: the kernel sees it in scx_tick ("failed to check in"), on
the next tick after the timeout. A guest whose CPUs all idle ticks seldom
(seconds apart under a loaded TCG host), so an RT spinner, which sched_ext
does not schedule, keeps one CPU ticking: the kick then comes on time.
]]
local function stalling()
  local defs = spinners()
  defs[#defs + 1] = ktstr.cgroup("ticker"):workers(1):sched_policy("fifo", 1)
    :cpuset(ktstr.cpuset.exact({ 3 }))
  return defs
end

-- Own timeout 5 s, the test's 3 s, a stall after 4 s (once 3 s is in: the
-- kernel's first check-in comes 2.5 s after enable): caught 3 s after the
-- last check-in.
ktstr.test{ name = "watchdog_stall", scheduler = fixture({ "--stall-after", "4" }),
  llcs = 2, cores = 2, duration_s = 12, watchdog_timeout_s = 3, defs = stalling() }

-- Own timeout 30 s: the kernel's first check-in comes 15 s after enable, so
-- 3 s can only take effect then; a healthy scheduler must pass across it.
ktstr.test{ name = "watchdog_long_clean", scheduler = fixture({ "--watchdog-ms", "30000" }),
  llcs = 2, cores = 2, duration_s = 20, watchdog_timeout_s = 3, not_starved = true,
  defs = spinners() }

-- Own timeout 30 s and a stall after 1 s, before that first check-in: the
-- timeout stays at the 16.5 s ktstr could safely set (the pending 15 s plus
-- 1.5 s), still well under the scheduler's own 30 s.
ktstr.test{ name = "watchdog_long_stall",
  scheduler = fixture({ "--watchdog-ms", "30000", "--stall-after", "1" }),
  llcs = 2, cores = 2, duration_s = 30, watchdog_timeout_s = 3, defs = stalling() }

-- Each scheduler run gets it: the first attach, the one after a detach, a
-- restart; each holds past the fixture's first check-in (2.5 s after enable).
ktstr.test{ name = "watchdog_ops", scheduler = fixture(), llcs = 2, cores = 2, duration_s = 16,
  watchdog_timeout_s = 3,
  steps = {
    ktstr.step{ setup = { ktstr.cgroup("a"):workers(2) }, hold = ktstr.hold.fixed("5s") },
    ktstr.step{ ops = { ktstr.op.detach_scheduler() }, hold = ktstr.hold.fixed("1s") },
    ktstr.step{ ops = { ktstr.op.attach_scheduler() }, hold = ktstr.hold.fixed("5s") },
    ktstr.step{ ops = { ktstr.op.restart_scheduler() }, hold = ktstr.hold.fixed("5s") },
  },
}
