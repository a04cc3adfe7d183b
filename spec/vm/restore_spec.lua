-- Saved guests on real guests: restored runs judge as booted ones; damage, failures and opting out boot.
local cjson = require("cjson")
local core = require("ktstr.core")
local run = require("support.run")

local SCRIPT = "spec/vm/scripts/watched.lua"

-- How the last guest came up, from -v's boot stages: "restored", "saved" or "booted".
local function how(err, name)
  -- ktstr vm prints a line per stage, ktstr script one line of them
  local line = err:find("ktstr vm: ", 1, true) and err:gsub("ktstr vm: ", "")
    or err:match((name or "") .. "[^\n]*boot: ([^\n]*)")
  assert.is_truthy(line, err)
  if line:find("restore ", 1, true) then return "restored" end
  if line:find("save ", 1, true) then return "saved" end
  return "booted"
end

-- The saved guests in dir: their keys.
local function saved_keys(dir)
  local out = run.sh("ls -1 " .. run.sh_quote(dir) .. " 2>/dev/null")
  local keys = {}
  for k in out:gmatch("[^\n]+") do keys[#keys + 1] = k end
  return keys
end

local slurp, spit = require("support.files").read, require("support.files").write

describe("saved guests #vm", function()
  local dir, env

  before_each(function()
    dir = assert(core.mkdtemp("/tmp/ktstr-saved-spec-"))
    env = { KTSTR_SAVED_DIR = dir }
  end)

  after_each(function()
    core.rm_rf(dir)
    run.assert_no_leftovers()
  end)

  local function script(file, filter, extra, more_env)
    local args = { "script", file, "-v" }
    if filter then table.move({ "--filter", filter }, 1, 2, #args + 1, args) end
    table.move(extra or {}, 1, #(extra or {}), #args + 1, args)
    local e = {}
    for k, v in pairs(env) do e[k] = v end
    for k, v in pairs(more_env or {}) do e[k] = v end
    return run.judged(args, e)
  end

  -- The verdict lines, their measured numbers (rates, pids, times) left out:
  -- "FAIL t [..]: worker 119 rate 2664.4/s below floor 5.0/s" -> "FAIL t [..]: worker # rate #/s ...".
  local function verdicts(out)
    local v = {}
    for line in out:gmatch("[^\n]+") do
      if line:match("^%u+ ") then v[#v + 1] = (line:gsub("%d+%.?%d*", "#")) end
    end
    return v
  end

  it("gives a restored run the verdicts a booted one gets", function()
    for _, file in ipairs({ "tests/mixed.lua", "tests/broken_iteration_rate.lua" }) do
      local bcode, bout, berr = script(file, nil, { "--no-restore" })
      assert.are.equal("booted", how(berr), berr)
      local scode, sout, serr = script(file)
      assert.are.equal("saved", how(serr), serr)
      local rcode, rout, rerr = script(file)
      assert.are.equal("restored", how(rerr), rerr)
      assert.are.equal(bcode, scode, sout)
      assert.are.equal(bcode, rcode, rout)
      assert.are.same(verdicts(bout), verdicts(rout))
      assert.are.same(verdicts(bout), verdicts(sout))
    end
    assert.are.equal(2, #saved_keys(dir))
  end)

  it("samples and snapshots a restored guest; two restore one saved guest at once", function()
    local code, out, err = script(SCRIPT, "restore_a")
    assert.are.equal(0, code, out .. err)
    assert.are.equal("saved", how(err), err)
    local text = out:match("restore_a: text (0x%x+) samples %d+ nr_dispatched %d+\n")
    assert.is_truthy(text, out)
    -- one vCPU each: both fit the host's two CPUs at once
    code, out, err = script(SCRIPT, "restore_", { "-j", "2" })
    assert.are.equal(0, code, out .. err)
    -- both ran at once: neither waited for the other's CPU
    assert.is_nil(err:find("waits for room", 1, true), err)
    for _, name in ipairs({ "restore_a", "restore_b" }) do
      assert.are.equal("restored", how(err, name), err)
      -- the saved boot chose the kernel's address (KASLR) for every restore of it
      assert.are.equal(text, out:match(name .. ": text (0x%x+) samples %d+ nr_dispatched %d+\n"),
        out)
    end
    assert.are.equal(1, #saved_keys(dir))
  end)

  it("boots and saves again when the saved state was damaged", function()
    local code, out, err = script(SCRIPT, "restore_a")
    assert.are.equal(0, code, out .. err)
    local key = saved_keys(dir)[1]
    local state = dir .. "/" .. key .. "/state"
    local s = slurp(state)
    spit(state, s:sub(1, 4096) .. ("\255"):rep(64) .. s:sub(4161))
    code, out, err = script(SCRIPT, "restore_a")
    assert.are.equal(0, code, out .. err)
    assert.matches("saved guest " .. key .. " is damaged: its state changed since it was saved",
      err, 1, true)
    assert.are.equal("saved", how(err), err)
    code, out, err = script(SCRIPT, "restore_a")
    assert.are.equal(0, code, out .. err)
    assert.are.equal("restored", how(err), err)
  end)

  it("boots when a restore fails, and saves again after the second failure", function()
    local code, out, err = script(SCRIPT, "restore_a")
    assert.are.equal(0, code, out .. err)
    local key = saved_keys(dir)[1]
    local sdir = dir .. "/" .. key
    -- a state QEMU cannot load, recorded as saved: only the restore itself can tell
    spit(sdir .. "/state", ("not a migration stream\n"):rep(100))
    local meta = cjson.decode(slurp(sdir .. "/meta.json"))
    meta.state_size = #("not a migration stream\n"):rep(100)
    meta.state_hash = core.hash_files({ sdir .. "/state" })
    spit(sdir .. "/meta.json", cjson.encode(meta))
    for i = 1, 2 do
      code, out, err = script(SCRIPT, "restore_a")
      assert.are.equal(0, code, out .. err)
      assert.matches("restoring the saved guest " .. key .. " failed %(.+%); booting", err)
      if i == 1 then
        assert.are.equal("booted", how(err), err)
        assert.are.equal("1", slurp(sdir .. "/failures"))
      else
        assert.matches("booting, and saving it again", err, 1, true)
        assert.are.equal("saved", how(err), err)
      end
    end
    code, out, err = script(SCRIPT, "restore_a")
    assert.are.equal(0, code, out .. err)
    assert.are.equal("restored", how(err), err)
  end)

  it("boots with --no-restore or KTSTR_NO_RESTORE=1, and ktstr vm restores too", function()
    local code, out, err = script(SCRIPT, "restore_a")
    assert.are.equal(0, code, out .. err)
    code, out, err = script(SCRIPT, "restore_a", { "--no-restore" })
    assert.are.equal(0, code, out .. err)
    assert.are.equal("booted", how(err), err)
    code, out, err = script(SCRIPT, "restore_a", nil, { KTSTR_NO_RESTORE = "1" })
    assert.are.equal(0, code, out .. err)
    assert.are.equal("booted", how(err), err)
    -- ktstr vm: its first run saves, its second restores and still gets its files
    spit(dir .. "/hello", "hello from the host\n")
    for _, want in ipairs({ "saved", "restored" }) do
      local vcode, vout, verr = run.ktstr({ "vm", "-v", "--topo", "1n1l1c1t", "-i",
        dir .. "/hello:/hello", "--", "cat", "/hello" }, env)
      assert.are.equal(0, vcode, vout .. verr)
      assert.are.equal("hello from the host\n", vout)
      assert.are.equal(want, how(verr), verr)
    end
  end)
end)
