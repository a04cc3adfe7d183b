-- ktstr.validate: errors at the script's line, "did you mean", strict tables.
local V = require("ktstr.validate")

-- Runs src as if it were the test script tests/x.lua; returns its error.
local function err_of(src)
  local ok, err = pcall(assert(load(src, "@tests/x.lua")))
  assert.is_false(ok)
  return err
end

describe("validate.suggest", function()
  local keys = { "duration_s", "watchdog_timeout_s", "workers", "llcs", "cores" }

  it("finds a dropped letter, an extra letter and a transposition", function()
    assert.equal("duration_s", V.suggest("duraton_s", keys))
    assert.equal("llcs", V.suggest("lllcs", keys))
    assert.equal("workers", V.suggest("wrokers", keys))
  end)

  it("falls back to a candidate the name starts", function()
    assert.equal("burst_duration", V.suggest("burst", { "burst_duration", "sleep_duration" }))
  end)

  it("suggests nothing for a name far from every candidate", function()
    assert.is_nil(V.suggest("frobnicate", keys))
    assert.is_nil(V.suggest(42, keys))
  end)

  it("maps a renamed spelling to today's name", function()
    assert.equal("not_starved", V.suggest("not_stuck", keys, { not_stuck = "not_starved" }))
  end)
end)

describe("validate.unknown", function()
  it("says did you mean when a candidate is close", function()
    assert.equal("unknown key 'coers' (did you mean 'cores'?)", V.unknown("key", "coers", { "cores", "llcs" }))
  end)

  it("lists the valid names otherwise", function()
    assert.equal("unknown op 'zap' (valid: a, b)", V.unknown("op", "zap", { "a", "b" }))
  end)
end)

describe("validation errors", function()
  it("name the script's file and line, however deep the check runs", function()
    local err = err_of('local k = require("ktstr")\n\nk.cgroup("a"):workers(-1)')
    assert.equal("tests/x.lua:3: cgroup 'a': workers: expected an integer in 0..4096, got -1", err)
  end)

  it("name the line a chain of methods starts on (Lua's line for every call in it)", function()
    local err = err_of('local k = require("ktstr")\nlocal c = k.cgroup("a")\n  :workers(2)\n  :nice(40)')
    assert.equal("tests/x.lua:2: cgroup 'a': nice: expected an integer in -20..19, got 40", err)
  end)

  it("where() names the calling line", function()
    local f = assert(load("local V = ...\nlocal w = V.where()\nreturn w", "@tests/x.lua"))
    assert.equal("tests/x.lua:2", f(V))
  end)
end)

describe("validate.strict", function()
  it("raises with did you mean for a missing name", function()
    local t = V.strict({ spin_wait = 1 }, "ktstr.work", "work type")
    assert.equal(1, t.spin_wait)
    assert.equal("tests/x.lua:2: ktstr.work: unknown work type 'spinwait' (did you mean 'spin_wait'?)",
      select(2, pcall(assert(load("local t = ...\nreturn t.spinwait", "@tests/x.lua")), t)))
  end)
end)

describe("validate.integer and validate.number", function()
  it("accept integral floats as integers", function()
    assert.equal(2, V.integer(2.0, "n", 0))
    assert.equal("integer", math.type(V.integer(2.0, "n", 0)))
  end)

  it("reject strings, fractions, NaN and infinities", function()
    assert.has_error(function() V.integer("2", "n", 0) end)
    assert.has_error(function() V.integer(2.5, "n", 0) end)
    assert.has_error(function() V.number(0 / 0, "x", 0) end)
    assert.has_error(function() V.number(math.huge, "x", 0) end)
  end)

  it("honour exclusive lower bounds", function()
    assert.has_error(function() V.number(0, "x", 0, nil, true) end)
    assert.equal(0, V.number(0, "x", 0))
  end)
end)
