-- A run(ctx) body that does IO without saying disk = ...: the script's mistake.
local ktstr = require("ktstr")

ktstr.test{
  name = "body_without_disk",
  duration_s = 1,
  run = function(ctx)
    return ctx:execute_defs{ ktstr.cgroup("reader"):work(ktstr.work.io_rand_read()) }
  end,
}
