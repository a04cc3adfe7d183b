-- make install into a staging DESTDIR: the installed ktstr runs a test from elsewhere; uninstall empties it.
local core = require("ktstr.core")
local run = require("support.run")

local q = run.sh_quote
local PREFIX = "/usr/local"

-- Every file under dir, relative to it, sorted.
local function files(dir)
  local out = run.sh(("cd %s && find . -type f | sort"):format(q(dir)))
  local l = {}
  for f in out:gmatch("%./([^\n]+)") do l[#l + 1] = f end
  return l
end

describe("make install #vm", function()
  local dest, work, bin

  setup(function()
    dest = assert(core.mkdtemp("/tmp/ktstr-dest-"))
    work = assert(core.mkdtemp("/tmp/ktstr-work-"))
    bin = dest .. PREFIX .. "/bin/ktstr"
  end)

  teardown(function()
    core.rm_rf(dest)
    core.rm_rf(work)
  end)

  -- the installed ktstr, run in work with nothing pointing at the checkout
  local function ktstr(args)
    return run.sh(("cd %s && env -u KTSTR_LUA_DIR -u KTSTR_SCHEDULER KTSTR_RUN_DIR=%s " ..
      "KTSTR_SIDECAR_DIR=%s %s %s 2>&1"):format(q(work), q(work .. "/run"), q(work .. "/results"),
      q(bin), args))
  end

  it("puts the binary, its Lua, the fixture scheduler, the man page and completion", function()
    local out, ok = run.sh(("make -s install DESTDIR=%s PREFIX=%s 2>&1"):format(q(dest), PREFIX))
    assert.is_true(ok, out)
    local want = { "lib/ktstr/sched/ktstr-sched", "lib/ktstr/sched/ktstr-sched-broken",
      "bin/ktstr", "share/bash-completion/completions/ktstr", "share/ktstr/manifest",
      "share/man/man1/ktstr.1" }
    for _, f in ipairs(files("lua")) do want[#want + 1] = "share/ktstr/lua/" .. f end
    table.sort(want)
    assert.are.same(want, files(dest .. PREFIX))
    assert.are.equal("usr\n", run.sh("ls -A " .. q(dest)), "install put something outside PREFIX")
  end)

  it("finds its Lua and the fixture from its own path, not the checkout", function()
    assert(core.mkdir_p(work .. "/run"))
    local out, ok = ktstr([[lua -e 'local core = require("ktstr.core")
      print(package.ktstr_lua_dir)
      print(require("ktstr.scheduler").find_binary({ name = "k", binary = "ktstr-sched" },
        core.exe():match("^(.*)/[^/]+$")))']])
    assert.is_true(ok, out)
    assert.are.equal(("%s%s/bin/../share/ktstr/lua\n%s%s/lib/ktstr/sched/ktstr-sched\n")
      :format(dest, PREFIX, dest, PREFIX), out)
  end)

  it("runs tests/step1_skeleton.lua from another directory", function()
    assert(run.sh(("cp tests/step1_skeleton.lua %s/"):format(q(work))))
    local out, ok
    -- on a loaded 2-CPU host a guest may miss its deadline: that says nothing of the install
    for _ = 1, 3 do
      out, ok = ktstr("script step1_skeleton.lua")
      if ok or not out:find("INCONCLUSIVE", 1, true) then break end
    end
    assert.is_true(ok, out)
    assert.matches("PASS step1_skeleton [sched=eevdf] [topo=1n1l2c1t]", out, 1, true)
    assert.matches("1 passed, 0 failed", out, 1, true)
    local procs, dirs = run.leftovers_in(work .. "/run")
    assert.are.equal("", procs, "QEMU left running")
    assert.are.equal("", dirs, "run directories left behind")
  end)

  it("is taken away whole by make uninstall", function()
    local out, ok = run.sh(("make -s uninstall DESTDIR=%s PREFIX=%s 2>&1"):format(q(dest), PREFIX))
    assert.is_true(ok, out)
    assert.are.equal("", run.sh("ls -A " .. q(dest)))
  end)
end)
