-- A missing comma: ktstr script must name this file and line 6 and exit 2 without booting.
local ktstr = require("ktstr")

ktstr.test{
  name = "syntax_error"
  duration_s = 3,
}
