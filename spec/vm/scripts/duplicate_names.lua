-- Two tests with one name in one file: the message names both lines.
local ktstr = require("ktstr")

ktstr.test{ name = "twice", duration_s = 3 }

ktstr.test{ name = "twice", duration_s = 3 }
