-- A post_vm that never returns: Ctrl-C there is an interruption, not a verdict.
local ktstr = require("ktstr")

ktstr.test{
  name = "post_vm_loops",
  duration_s = 1,
  defs = { ktstr.cgroup("spin"):workers(1) },
  post_vm = function()
    -- tells the spec that post_vm is running
    local f = assert(io.open(os.getenv("KTSTR_SPEC_MARK"), "w"))
    f:close()
    while true do end
  end,
}
