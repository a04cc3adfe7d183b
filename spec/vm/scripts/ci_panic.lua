-- A test that kills its own guest: a panic, for -j runs going on beside it.
local ktstr = require("ktstr")

ktstr.test{
  name = "ci_panics", llcs = 1, cores = 1, threads = 1, duration_s = 1,
  run = function()
    local f = assert(io.open("/proc/sysrq-trigger", "w"))
    f:write("c")
    f:close()
    return ktstr.pass()
  end,
}
