-- os.exit while the script loads: bad input, never a silent success.
local ktstr = require("ktstr")

ktstr.test{ name = "never_runs", duration_s = 1, defs = { ktstr.cgroup("a") } }
os.exit(0)
