-- Owner locks (src/base/owner.c): a dir or temporary file is live while its maker runs, reclaimed once it is dead.
local core = require("ktstr.core")

local EXE = assert(core.exe())

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--[[
A ktstr process that runs chunk (ktstr.core is `core`, ARG the argument)
and then waits to be killed; returns the process once it printed "ready".
env: a leading "env", "K=V"... argv.
]]
local function holder(chunk, arg, env)
  local argv = table.move(env or {}, 1, #(env or {}), 1, {})
  for _, a in ipairs({ EXE, "lua", "-e", "core = require('ktstr.core'); ARG = " ..
    ("%q"):format(arg) .. "; " .. chunk .. "; print('ready'); io.stdout:flush(); core.sleep(60)" }) do
    argv[#argv + 1] = a
  end
  local p = assert(core.spawn(argv))
  local out = ""
  local deadline = core.now() + 10
  while not out:find("ready", 1, true) and core.now() < deadline do
    local which, data = p:read(1)
    if which == "stdout" then out = out .. data elseif not which and not data then break end
  end
  assert(out:find("ready", 1, true), "holder did not start: " .. out)
  return p, out
end

-- Kills p with SIGKILL and reaps it: nothing of it runs any more.
local function kill9(p)
  assert(p:kill(9))
  assert(p:wait(10))
  p:close()
end

-- Whether pid runs (a zombie waiting for its new parent to reap it does not).
local function alive(pid)
  local f = io.open(("/proc/%d/stat"):format(pid))
  if not f then return false end
  local st = f:read("a"):match("%) (%a)")
  f:close()
  return st ~= "Z"
end

describe("owner locks", function()
  local base
  before_each(function() base = assert(core.mkdtemp("/tmp/ktstr-owner-spec-")) end)
  after_each(function() core.rm_rf(base) end)

  it("judges a dir by its lock: live while its owner runs, dead once it is SIGKILLed", function()
    local dir = base .. "/ktstr-a"
    assert(core.mkdir_p(dir))
    assert.equal("none", (core.owner_state(dir)))
    local p = holder("OWNER = assert(core.owner_claim(ARG))", dir)
    local pid = p:pid()
    assert.same({ "live", pid }, { core.owner_state(dir) })
    assert.same({}, core.owner_reclaim(base .. "/ktstr-*", 0))
    kill9(p)
    assert.same({ "dead", pid }, { core.owner_state(dir) })
    -- a dead owner's dir goes, whatever it holds
    local f = assert(io.open(dir .. "/ram0", "w"))
    f:write("x")
    f:close()
    assert.same({ { path = dir, pid = pid } }, core.owner_reclaim(base .. "/ktstr-*", 0))
    assert.is_nil(io.open(dir .. "/ram0"))
  end)

  it("leaves our own live claim, kept dirs and dirs nobody claimed", function()
    local mine, kept, plain = base .. "/ktstr-mine", base .. "/ktstr-kept", base .. "/ktstr-plain"
    for _, d in ipairs({ mine, kept, plain }) do assert(core.mkdir_p(d .. "/sub")) end
    local o = assert(core.owner_claim(mine))
    -- judging our own dir opens and closes its owner file: an flock survives that
    assert.equal("live", (core.owner_state(mine)))
    assert.equal("live", (core.owner_state(mine)))
    local k = assert(core.owner_claim(kept, true))
    k:release()
    assert.equal("kept", (core.owner_state(kept)))
    assert.same({}, core.owner_reclaim(base .. "/ktstr-*", 0))
    o:release()
    assert.equal("dead", (core.owner_state(mine)))
    local gone = core.owner_reclaim(base .. "/ktstr-*", 0)
    assert.same({ { path = mine, pid = core.getpid() } }, gone)
    assert.equal("kept", (core.owner_state(kept)))
    assert.equal("none", (core.owner_state(plain)))
  end)

  it("reclaims an empty unclaimed dir and an unlocked temporary file only once they are old", function()
    local empty, file = base .. "/ktstr-empty", base .. "/x.cpio.ABCDEF"
    assert(core.mkdir_p(empty))
    local f = assert(io.open(file, "w"))
    f:write("partial")
    f:close()
    assert.same({}, core.owner_reclaim(base .. "/ktstr-*", 60))
    assert.same({}, core.owner_reclaim(base .. "/*.cpio.??????", 60))
    assert(os.execute("touch -d '2 minutes ago' " .. sh_quote(empty) .. " " .. sh_quote(file)))
    assert.equal(1, #core.owner_reclaim(base .. "/ktstr-*", 60))
    assert.equal(1, #core.owner_reclaim(base .. "/*.cpio.??????", 60))
    assert.is_nil(io.open(file))
  end)

  it("leaves a temporary file its live writer holds locked, however old", function()
    local file = base .. "/y.cpio.ABCDEF"
    local f = assert(io.open(file, "w"))
    f:close()
    assert(os.execute("touch -d '2 minutes ago' " .. sh_quote(file)))
    -- flock(1) takes the lock cpio_write takes on its temporary file
    local w = assert(core.spawn({ "flock", file, "sleep", "60" }))
    local deadline = core.now() + 5
    while core.owner_state(file) ~= "live" and core.now() < deadline do core.sleep(0.02) end
    assert.equal("live", (core.owner_state(file)))
    assert.same({}, core.owner_reclaim(base .. "/*.cpio.??????", 60))
    kill9(w)
    assert.equal("dead", (core.owner_state(file)))
    assert.equal(1, #core.owner_reclaim(base .. "/*.cpio.??????", 60))
  end)

  it("kills a child with its SIGKILLed parent (PR_SET_PDEATHSIG): nothing keeps running", function()
    local p, out = holder("S = assert(core.spawn({ 'sleep', '60' })); print('child', S:pid())")
    local child = assert(tonumber(out:match("child\t(%d+)")))
    assert.is_true(alive(child))
    kill9(p)
    local deadline = core.now() + 5
    while alive(child) and core.now() < deadline do core.sleep(0.05) end
    assert.is_false(alive(child))
  end)

  it("the next ktstr start reclaims a killed fetch's scratch dir and run dir, not a live one's", function()
    local cache, runs = base .. "/cache", base .. "/runs"
    assert(core.mkdir_p(runs))
    local env = { "env", "KTSTR_CACHE_DIR=" .. cache, "KTSTR_RUN_DIR=" .. runs }
    -- what kernel.scratch and vm.boot make: claimed dirs, with a partial download and guest RAM
    local chunk = "T = require('ktstr.host.kernel').scratch(); " ..
      "R = assert(core.mkdtemp(os.getenv('KTSTR_RUN_DIR') .. '/ktstr-')); " ..
      "O = assert(core.owner_claim(R)); " ..
      "io.open(T.path .. '/partial.deb', 'w'):write('x'); io.open(R .. '/ram0', 'w'):write('x')"
    local dead, live = holder(chunk, "", env), holder(chunk, "", env)
    kill9(dead)
    local function count()
      local f = assert(io.popen(("ls -d %s/kernels/.fetch-* %s/ktstr-* 2>/dev/null | wc -l")
        :format(sh_quote(cache), sh_quote(runs))))
      local n = tonumber(f:read("a"))
      f:close()
      return n
    end
    assert.equal(4, count())
    local out = assert(io.popen(("%s %s kernel list 2>&1"):format(table.concat(env, " "),
      sh_quote(EXE)))):read("a")
    assert.equal(2, count(), out)
    kill9(live)
    assert(io.popen(("%s %s kernel list 2>&1"):format(table.concat(env, " "), sh_quote(EXE)))):read("a")
    assert.equal(0, count())
  end)
end)
