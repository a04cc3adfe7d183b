-- Script mistakes a verdict must never hide: each is bad input naming its line; the last test still runs.
local ktstr = require("ktstr")

local function spinner() return ktstr.cgroup("spin"):workers(1) end

ktstr.test{
  name = "returns_nothing",
  duration_s = 1,
  run = function(ctx)
    ctx:execute_defs{ spinner() }
  end,
}

ktstr.test{
  name = "raises_a_table",
  duration_s = 1,
  run = function()
    error({ code = 1 })
  end,
}

ktstr.test{
  name = "llc_that_is_not_there",
  duration_s = 1,
  run = function(ctx)
    return ctx:execute_defs{ spinner():cpuset(ktstr.cpuset.llc(3)) }
  end,
}

ktstr.test{
  name = "exits_in_run",
  duration_s = 1,
  run = function()
    os.exit(0)
  end,
}

ktstr.test{
  name = "exits_in_post_vm",
  duration_s = 1,
  defs = { spinner() },
  post_vm = function()
    os.exit(0)
  end,
}

ktstr.test{
  name = "still_runs",
  duration_s = 1,
  not_starved = true,
  defs = { spinner() },
}
