-- Tests whose verdicts the runner must report faithfully.
local ktstr = require("ktstr")

-- Spinners cannot reach a billion work units per CPU-second: fails on the floor.
ktstr.test{
  name = "rate_floor_unreachable",
  llcs = 1, cores = 2,
  duration_s = 2,
  min_work_rate = 1e9,
  defs = { ktstr.cgroup("spin"):workers(2):work(ktstr.work.spin_wait()) },
}

-- A run body that inspects the live cgroup and passes only if it sees its workers.
ktstr.test{
  name = "run_body_sees_workers",
  llcs = 1, cores = 2,
  duration_s = 2,
  not_starved = true,
  run = function(ctx)
    local v = ctx:execute_steps{
      ktstr.step{ setup = { ktstr.cgroup("busy"):workers(2) }, hold = ktstr.hold.fixed("1s") },
      ktstr.step{ ops = { ktstr.op.add_cgroup(ktstr.cgroup("late"):workers(1)) },
        hold = ktstr.hold.fixed("1s") },
    }
    return v
  end,
  post_vm = function(result)
    local names = {}
    for _, c in ipairs(result.cgroups) do names[#names + 1] = c.name end
    table.sort(names)
    if table.concat(names, ",") ~= "busy,late" then
      return ktstr.fail("cgroups seen: " .. table.concat(names, ","))
    end
    return ktstr.pass()
  end,
}
