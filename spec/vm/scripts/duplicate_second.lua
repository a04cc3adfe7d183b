-- With duplicate_first.lua: declares its test name again; each file alone is valid.
local ktstr = require("ktstr")

ktstr.test{ name = "in_two_files", duration_s = 3 }
