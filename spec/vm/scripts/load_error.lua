-- A Lua error while the script loads (an undefined global): file:line, exit 2, no boot.
local ktstr = require("ktstr")

ktstr.test{
  name = "load_error",
  duration_s = base_duration * 2,  -- luacheck: ignore 113
}
