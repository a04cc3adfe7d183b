-- A payload whose program the host does not have: bad input at its line, nothing boots.
local ktstr = require("ktstr")

ktstr.test{
  name = "payload_missing",
  defs = { ktstr.payload{ name = "nope", argv = { "ktstr-no-such-program", "--fast" } } },
}
