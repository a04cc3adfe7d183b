-- Zero to ktstr, step 1: the skeleton, an empty body that passes unconditionally.
local ktstr = require("ktstr")

ktstr.test{
  name = "step1_skeleton",
  llcs = 1, cores = 2, threads = 1,
  duration_s = 3,
  run = function(ctx)
    local _ = ctx
    return ktstr.pass()
  end,
}
