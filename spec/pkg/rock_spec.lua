-- The rock: `luarocks make` into a private tree, then the system lua5.4 and busted load and validate scripts.
local core = require("ktstr.core")
local run = require("support.run")

local q = run.sh_quote
local ROOT = assert(run.sh("pwd -P"):match("^(.-)\n"))

local function write(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end

-- The deliberately bad scripts: a misspelt key (any Lua sees it), a topology only the C side refuses.
local TYPO = [[
local ktstr = require("ktstr")

ktstr.test{
  name = "typo",
  duraton_s = 3,
}
]]
local HUGE = [[
local ktstr = require("ktstr")
ktstr.test{ name = "huge", numa_nodes = 8, llcs = 64, cores = 64, threads = 2 }
]]

-- A user's own busted spec, validating scripts as the ktstr binary would load them.
local USER_SPEC = [[
local registry = require("ktstr.test")

describe("my ktstr scripts", function()
  before_each(registry.reset)

  it("declare the tests I expect", function()
    dofile(ROOT .. "/tests/mixed.lua")
    assert.are.equal("mixed_workloads", registry.registry()[1].name)
  end)

  it("refuse a topology ktstr would refuse, at its line", function()
    assert.has_error(function() dofile("huge.lua") end)
    local ok, err = pcall(dofile, "huge.lua")
    assert.matches("^huge%.lua:2: ktstr%.test 'huge': topology 8n64l64c2t", err)
  end)
end)
]]

describe("the rock", function()
  local dir, tree, env

  setup(function()
    dir = assert(core.mkdtemp("/tmp/ktstr-rock-"))
    tree = dir .. "/tree"
    write(dir .. "/typo.lua", TYPO)
    write(dir .. "/huge.lua", HUGE)
    write(dir .. "/user_spec.lua", "local ROOT = " .. ("%q"):format(ROOT) .. "\n" .. USER_SPEC)
  end)

  teardown(function()
    if dir then core.rm_rf(dir) end
  end)

  -- lua5.4 (or busted under it) run in dir, seeing the tree and the system's modules only
  local function lua(args)
    return run.sh(("cd %s && KTSTR_SIDECAR_DIR=results KTSTR_RUN_DIR=%s %s lua5.4 %s 2>&1")
      :format(q(dir), q(dir), env, args))
  end

  it("builds with luarocks make into a private tree", function()
    assert.are_not.equal("", run.sh("command -v luarocks"),
      "luarocks is not installed (scripts/install-deps installs it)")
    local out, ok = run.sh(("luarocks --lua-version 5.4 make --tree %s rockspec/ktstr-dev-1.rockspec 2>&1")
      :format(q(tree)))
    assert.is_true(ok, out)
    assert.matches("ktstr dev%-1 is now installed in", out)
    local path = run.sh(("luarocks --lua-version 5.4 --tree %s path --lr-path"):format(q(tree)))
    local cpath = run.sh(("luarocks --lua-version 5.4 --tree %s path --lr-cpath"):format(q(tree)))
    -- the tree first, then the system's (busted, cjson), never the checkout
    env = ("LUA_PATH=%s LUA_CPATH=%s"):format(q(path:gsub("\n", "") .. ";;"),
      q(cpath:gsub("\n", "") .. ";;"))
  end)

  it("gives the system lua5.4 ktstr and ktstr.core from the tree", function()
    local out, ok = lua([[-e 'local core = require("ktstr.core"); require("ktstr")
      print(package.searchpath("ktstr", package.path))
      print(package.searchpath("ktstr.core", package.cpath))
      print(core.version())
      print(core.topo_format(core.topo_parse("1n2l2c1t")))
      print(core.exe())']])
    assert.is_true(ok, out)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(tree .. "/share/lua/5.4/ktstr/init.lua", lines[1])
    assert.are.equal(tree .. "/lib/lua/5.4/ktstr/core.so", lines[2])
    -- the release (the revision is the tree's when each was last built)
    assert.are.equal(core.version(), lines[3]:match("^(%S+)\t"))
    assert.are.equal("1n2l2c1t", lines[4])
    -- outside the binary there is no ktstr to name: nil and why, not the interpreter
    assert.matches("^nil\texe: ktstr%.core is a module of /%S+lua5%.4 here, not the ktstr binary",
      lines[5])
  end)

  it("validates a good script and names a bad one's file:line", function()
    local out, ok = lua(q("-e") .. " " .. q(("dofile(%q); print(#require('ktstr.test').registry())")
      :format(ROOT .. "/tests/mixed.lua")))
    assert.is_true(ok, out)
    assert.are.equal("1\n", out)
    out, ok = lua("typo.lua")
    assert.is_not_true(ok)
    assert.matches("typo%.lua:3: ktstr%.test: unknown key 'duraton_s' %(did you mean 'duration_s'%?%)",
      out)
    -- the C side's check: only a lua5.4 that loaded the rock's ktstr.core refuses this one
    out, ok = lua("huge.lua")
    assert.is_not_true(ok)
    assert.matches("huge%.lua:2: ktstr%.test 'huge': topology 8n64l64c2t: 8192 vCPUs, at most", out)
  end)

  it("says which checks it skips when ktstr.core is missing", function()
    local out, ok = run.sh(("cd %s && LUA_PATH=%s LUA_CPATH='/nonexistent/?.so' lua5.4 huge.lua 2>&1"):format(q(dir),
      q(tree .. "/share/lua/5.4/?.lua;" .. tree .. "/share/lua/5.4/?/init.lua;;")))
    assert.is_true(ok, out)
    assert.matches("ktstr.core not found: topology, work and cpulist checks skipped", out, 1, true)
  end)

  it("runs a user's busted spec under the system lua5.4", function()
    local out, ok = lua("/usr/bin/busted -o TAP user_spec.lua")
    assert.is_true(ok, out)
    assert.matches("ok 1 %- my ktstr scripts declare the tests I expect", out)
    assert.matches("ok 2 %- my ktstr scripts refuse a topology", out)
    assert.matches("1..2", out, 1, true)
  end)

  it("boots nothing: the host side names the ktstr binary it lacks", function()
    local out, _, code = lua(("-e 'os.exit(require(\"ktstr.host.runner\").main({ %q }))'")
      :format(ROOT .. "/tests/step1_skeleton.lua"))
    assert.matches("\nINCONCLUSIVE step1_skeleton %[[^\n]*: exe: ktstr%.core is a module of %S+ " ..
      "here, not the ktstr binary", "\n" .. out)
    assert.matches("0 passed, 0 failed, 1 inconclusive", out, 1, true)
    assert.are.equal(2, code)
    assert.are.equal("", run.sh("ls " .. q(dir) .. " | grep '^ktstr-'"), "a run dir left behind")
  end)

  it("is removed whole by luarocks remove", function()
    local out, ok = run.sh(("luarocks --lua-version 5.4 remove --tree %s ktstr 2>&1"):format(q(tree)))
    assert.is_true(ok, out)
    assert.are.equal("", run.sh(("find %s -type f ! -name manifest"):format(q(tree))))
  end)
end)
