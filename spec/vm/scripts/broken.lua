-- A script with a misspelled key: ktstr script must name this line and exit 2.
local ktstr = require("ktstr")

ktstr.test{
  name = "typo",
  duraton_s = 3,
}
