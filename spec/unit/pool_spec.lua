-- ktstr.host.pool: child processes side by side within a count and a CPU budget.
local core = require("ktstr.core")
local pool = require("ktstr.host.pool")

-- A job that records when it ran: prints its name, sleeps, prints again.
local function job(name, cost, sleep_s, code)
  return { name = name, cost = cost, argv = { "/bin/sh", "-c",
    ("echo start %s; sleep %s; echo end %s; echo err %s >&2; exit %d"):format(name, sleep_s,
      name, name, code or 0) } }
end

local function run(jobs, opts)
  local log = { done = {}, waited = {}, max_used = 0, running = 0, max_running = 0 }
  local used = 0
  opts.on_start = function(j)
    used = used + j.cost
    log.running = log.running + 1
    log.max_used = math.max(log.max_used, used)
    log.max_running = math.max(log.max_running, log.running)
  end
  opts.on_wait = function(j) log.waited[#log.waited + 1] = j.name end
  opts.on_done = function(j, r)
    used = used - j.cost
    log.running = log.running - 1
    log.done[#log.done + 1] = { name = j.name, r = r }
  end
  local t0 = core.now()
  local rc = pool.run(jobs, opts)
  log.wall = core.now() - t0
  return rc, log
end

describe("pool.run", function()
  it("runs jobs side by side and hands each its own output whole, with its status", function()
    local rc, log = run({ job("a", 1, 0.3), job("b", 1, 0.3, 1), job("c", 1, 0.3) },
      { jobs = 3, budget = 4 })
    assert.is_nil(rc)
    assert.are.equal(3, #log.done)
    assert.are.equal(3, log.max_running)
    assert.is_true(log.wall < 0.8, "wall " .. log.wall)
    for _, d in ipairs(log.done) do
      assert.are.equal(("start %s\nend %s\n"):format(d.name, d.name), d.r.out)
      assert.are.equal(("err %s\n"):format(d.name), d.r.err)
      assert.are.equal(d.name == "b" and 1 or 0, d.r.status.code)
      assert.is_true(d.r.time_s >= 0.25)
    end
  end)

  it("keeps the summed cost within the budget, and says which job waits for room", function()
    local _, log = run({ job("big1", 2, 0.2), job("big2", 2, 0.2), job("small", 1, 0.2) },
      { jobs = 4, budget = 3 })
    assert.are.equal(3, log.max_used)
    assert.are.same({ "big2" }, log.waited)
    -- the small one started beside big1 instead of waiting behind big2
    assert.are.equal("big2", log.done[3].name)
  end)

  it("runs a job larger than the whole budget alone", function()
    local _, log = run({ job("huge", 8, 0.1), job("x", 1, 0.1) }, { jobs = 2, budget = 2 })
    assert.are.equal(1, log.max_running)
    assert.are.equal(2, #log.done)
  end)

  it("with one job at a time, runs them in order", function()
    local _, log = run({ job("1", 1, 0), job("2", 1, 0), job("3", 1, 0) }, { jobs = 1 })
    assert.are.same({ "1", "2", "3" }, { log.done[1].name, log.done[2].name, log.done[3].name })
    assert.are.equal(1, log.max_running)
  end)

  it("reports a job whose program cannot start as failed, and goes on", function()
    local _, log = run({ { name = "nope", cost = 1, argv = { "/nonexistent/ktstr" } },
      job("after", 1, 0) }, { jobs = 1 })
    assert.are.equal(2, #log.done)
    assert.are_not.equal(0, log.done[1].r.status.code)
  end)
end)
