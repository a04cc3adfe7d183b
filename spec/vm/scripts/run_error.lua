-- A Lua error inside run(ctx), in the guest: the test fails and the report names line 9.
local ktstr = require("ktstr")

ktstr.test{
  name = "run_raises",
  duration_s = 3,
  run = function(ctx)
    local missing = ctx.no_such_field
    return missing.verdict
  end,
}
