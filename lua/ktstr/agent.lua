-- The guest agent: serves the host's requests over the channel (placeholder until chan lands).
local M = {}
function M.main() return 0 end
return M
