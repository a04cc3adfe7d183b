-- scripts/layers.lua on small fake trees: each planted violation named at its line, a clean tree silent.
local core = require("ktstr.core")

local ROOT = debug.getinfo(1, "S").source:match("^@(.*)spec/unit/[^/]+$")
ROOT = ROOT == "" and "." or ROOT:gsub("/$", "")

local function write(dir, files)
  for path, text in pairs(files) do
    assert(core.mkdir_p((dir .. "/" .. path):match("^(.*)/")))
    local f = assert(io.open(dir .. "/" .. path, "w"))
    f:write(text)
    f:close()
  end
end

-- Runs the checker on dir: exit code, stdout lines.
local function layers(dir)
  local p = io.popen(("'%s' lua '%s/scripts/layers.lua' '%s' 2>/dev/null"):format(core.exe(), ROOT,
    dir))
  local out = {}
  for line in p:lines() do out[#out + 1] = line end
  local _, _, code = p:close()
  return code, out
end

-- A tree that keeps every rule: what each bad case below breaks one line of.
local CLEAN = {
  ["lua/ktstr/init.lua"] = 'local V = require("ktstr.validate")\nreturn { V = V }\n',
  ["lua/ktstr/validate.lua"] = "return {}\n",
  ["lua/ktstr/guest/x.lua"] = '-- require("ktstr.host.x") in a comment is no require\n' ..
    'local V = require("ktstr.validate")\nlocal M = {}\n' ..
    'function M.run()\n  return require("ktstr.guest.y")\nend\nreturn M\n',
  ["lua/ktstr/guest/y.lua"] = 'local s = "--topo" .. "x"\nreturn { s = s }\n',
  ["lua/ktstr/host/x.lua"] = 'local core = require("ktstr.core")\nlocal x = require("ktstr")\n' ..
    "return { core = core, x = x }\n",
  ["src/base/chan.h"] = "int chan_send(void);\n",
  ["src/base/chan.c"] = '#include <errno.h>\n#include "chan.h"\n',
  ["src/guest/worker.c"] = '#include "src/base/chan.h"\n',
  ["src/bind/lk.h"] = "#include <lua.h>\n#include <lauxlib.h>\n",
  ["src/bind/l_chan.c"] = '#include "lk.h"\n#include "src/base/chan.h"\n',
  ["vmm/qemu.h"] = "int qemu_start(void);\n",
  ["vmm/qemu.c"] = '#include "vmm/qemu.h"\n#include "src/base/chan.h"\n',
}

local function tree(changes)
  local dir = assert(core.mkdtemp("/tmp/ktstr-spec-layers-"))
  local files = {}
  for k, v in pairs(CLEAN) do files[k] = v end
  for k, v in pairs(changes or {}) do files[k] = v end
  write(dir, files)
  return dir
end

describe("scripts/layers.lua", function()
  local dirs = {}
  after_each(function()
    for _, d in ipairs(dirs) do core.rm_rf(d) end
    dirs = {}
  end)
  local function run(changes)
    local dir = tree(changes)
    dirs[#dirs + 1] = dir
    return layers(dir)
  end

  it("prints nothing and exits 0 on a clean tree, the new C layout included", function()
    local code, out = run()
    assert.are.same({}, out)
    assert.are.equal(0, code)
  end)

  it("names each planted violation by file and line and exits 1", function()
    local code, out = run({
      -- guest code reaching for host code, lazily
      ["lua/ktstr/guest/x.lua"] = "local M = {}\nfunction M.run()\n" ..
        '  return require("ktstr.host.x")\nend\nreturn M\n',
      -- a vocabulary module loading the guest side
      ["lua/ktstr/bad.lua"] = 'local V = require("ktstr.validate")\n' ..
        'local y = pcall(require, "ktstr.guest.y")\nreturn { V = V, y = y }\n',
      -- plumbing including the VM side
      ["src/base/chan.c"] = '#include <errno.h>\n#include "chan.h"\n#include "vmm/qemu.h"\n',
      -- a relative climb instead of the path from the root
      ["src/guest/worker.c"] = '#include "../base/chan.h"\n',
    })
    assert.are.equal(1, code)
    assert.are.same({
      "lua/ktstr/guest/x.lua:3: requires ktstr.host.x, guest code never loads host code " ..
        "(the guest's image does not carry host/)",
      "lua/ktstr/bad.lua:2: requires ktstr.guest.y, the vocabulary and what both sides share " ..
        "load neither host/ nor guest/",
      "src/base/chan.c:3: includes vmm/qemu.h, plumbing knows no Lua, no host and no guest",
      "src/guest/worker.c:1: includes ../base/chan.h, a path from the root shows where it " ..
        "reaches",
    }, out)
  end)

  it("finds assignments into another module, require cycles, missing modules, lua.h outside " ..
    "src/bind", function()
    local code, out = run({
      ["lua/ktstr/host/x.lua"] = 'local core = require("ktstr.core")\n' ..
        'local y = require("ktstr.host.y")\ncore.sleep = core.sleep_interruptible\n' ..
        'local n = require("ktstr.nope")\nreturn { y = y, n = n }\n',
      ["lua/ktstr/host/y.lua"] = "local M = {}\nfunction M.f()\n" ..
        '  return require("ktstr.host.x")\nend\nreturn M\n',
      ["vmm/qemu.c"] = '#include "vmm/qemu.h"\n#include "src/bind/lk.h"\n',
    })
    assert.are.equal(1, code)
    assert.are.same({
      "lua/ktstr/host/x.lua:4: requires ktstr.nope, no such module under lua/ (moved or renamed?)",
      "lua/ktstr/host/x.lua:3: assigns core.sleep (core is ktstr.core), a module owns its " ..
        "table: pass what the other needs (a parameter, a link table)",
      "lua/ktstr/host/x.lua:2: requires ktstr.host.y, in the cycle ktstr.host.x <-> " ..
        "ktstr.host.y, the one that runs the other passes what it needs",
      "lua/ktstr/host/y.lua:3: requires ktstr.host.x, in the cycle ktstr.host.x <-> " ..
        "ktstr.host.y, the one that runs the other passes what it needs",
      "vmm/qemu.c:2: includes src/bind/lk.h, the host's VM side and image builder know " ..
        "neither the guest runtime nor Lua",
      "vmm/qemu.c:2: includes src/bind/lk.h -> lua.h, only the bindings speak Lua",
    }, out)
  end)

  it("holds the old flat C layout to the rules too: lua.h outside src/bind/ is named", function()
    local dir = tree()
    dirs[#dirs + 1] = dir
    core.rm_rf(dir .. "/src")
    write(dir, { ["src/lk.h"] = "#include <lua.h>\n", ["src/core.c"] = '#include "lk.h"\n' })
    local code, out = layers(dir)
    assert.are.equal(1, code)
    assert.are.same({
      "src/core.c:1: includes src/lk.h -> lua.h, only the bindings speak Lua",
      "src/lk.h:1: includes lua.h, only the bindings speak Lua",
    }, out)
  end)
end)
