-- luacheck settings: Lua 5.4, 100 columns; main.c hands the Lua dir over as package.ktstr_lua_dir.
std = "lua54"
max_line_length = 100
read_globals = { package = { fields = { "ktstr_lua_dir" }, other_fields = true } }
-- specs quote whole messages: long lines are the point there
files["spec/"] = { std = "+busted", max_line_length = false }
-- deliberately broken test scripts for the bad-input specs
exclude_files = { "spec/vm/scripts/syntax_error.lua" }
