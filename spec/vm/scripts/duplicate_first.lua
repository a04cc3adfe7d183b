-- With duplicate_second.lua: one test name declared in two files the runner loads together.
local ktstr = require("ktstr")

ktstr.test{ name = "in_two_files", duration_s = 3 }
