-- The ktstr library for your own Lua 5.4 (`luarocks --lua-version 5.4 make` in the checkout):
-- ktstr.core as a C module built from the binary's sources, and the Lua modules.
rockspec_format = "3.0"
package = "ktstr"
version = "dev-1"
-- `luarocks make` builds the checkout it runs in and never fetches this; the
-- project publishes no archive yet, so there is nothing for `luarocks build` to get.
source = {
  url = ".",
}
description = {
  summary = "Test harness for Linux sched_ext schedulers: the test vocabulary and ktstr.core",
  detailed = [[
require("ktstr") loads and validates ktstr test scripts (ktstr.test{} and the
rest of the vocabulary, with the C side's checks of topologies, work types and
cpulists) in your own lua5.4 or busted. Booting guests takes the ktstr binary
(make install), which this rock does not install.]],
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  -- the Makefile knows the sources, their flags and the libraries (pkg-config)
  type = "make",
  build_target = "rock",
  build_variables = {
    CFLAGS = "$(CFLAGS)",
    LUA_INCDIR = "$(LUA_INCDIR)",
  },
  install_target = "rock-install",
  install_variables = {
    LIBDIR = "$(LIBDIR)",
    LUADIR = "$(LUADIR)",
  },
}
