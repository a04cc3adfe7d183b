-- A disk size no guest gets: refused at its line, nothing booted.
local ktstr = require("ktstr")

ktstr.test{
  name = "bad_disk",
  disk = "100K",
}
