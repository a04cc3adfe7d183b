-- make bench: runs every bench/*.lua except this one and prints their numbers.
local p = io.popen("ls bench/*.lua")
local exe = require("ktstr.core").exe()
for file in p:lines() do
  if not file:match("/run%.lua$") then
    print("== " .. file)
    os.execute(("%s lua %s"):format(exe, file))
  end
end
p:close()
