-- `ktstr verifier` on the host: options, what a cell prints, the tables across cells, the exit code.
local verifier = require("ktstr.host.verifier")

local function prog(id, name, insns, runs)
  return { id = id, name = name, type = "struct_ops", insns = insns, runs = runs or 0 }
end

local function loaded(total, progs)
  return { status = "ok", ops = "ktstr", enabled_after_s = 0.5, total = total, progs = progs }
end

-- The broken fixture's rejection as guest/verifier hands it over.
local REJECTED = { status = "rejected", processed = 14, msg = "exited with status 1",
  verifier = { prog = "broken_enqueue", at = "broken.bpf.c:44", source = "b->n[p->pid & 0xff]++;",
    complaint = "invalid access to map value, value_size=32 off=2040 size=8",
    category = "Memory Safety: Access outside bounds",
    reason = "The verifier cannot prove offset + access_size <= object_size." } }

local function cell(topo, cpus, scheds)
  return { kernel = "7.3.4", topo = topo, cpus = cpus, scheds = scheds }
end

describe("ktstr verifier options", function()
  local saved, path, seen
  -- luacheck: push ignore 122 (io.stderr is swapped to read what the command said)
  before_each(function()
    saved, path, seen = io.stderr, os.tmpname(), 0
    io.stderr = assert(io.open(path, "w"))
  end)
  after_each(function()
    io.stderr:close()
    io.stderr = saved
    os.remove(path)
  end)

  -- what the command wrote on stderr since the last look
  local function said()
    io.stderr:flush()
    local f = assert(io.open(path))
    local s = f:read("a")
    f:close()
    s, seen = s:sub(seen + 1), #s
    return s
  end
  -- luacheck: pop

  it("answers bad input with exit code 2 naming the argument, before anything boots", function()
    for _, case in ipairs({
      { {}, "no scheduler given" },
      { { "--bogus", "/bin/sh" }, "unknown option '--bogus'" },
      { { "/bin/sh", "-j", "0" }, "--jobs: expected a positive integer, got '0'" },
      { { "/bin/sh", "-j", "99" }, "-j 99: at most" },
      { { "/bin/sh", "--max-cpus", "4" }, "--max-cpus goes with --gauntlet" },
      { { "/bin/sh", "--gauntlet", "--topo", "1n1l2c1t" }, "--gauntlet and --topo exclude" },
      { { "/no/such/scheduler" }, "path /no/such/scheduler does not exist" },
      { { "no-such-scheduler-binary" }, "binary 'no-such-scheduler-binary' not found; looked in" },
      { { "/bin/sh", "--topo", "2x" }, "--topo 2x: topology '2x'" },
      { { "/bin/sh", "--topo", "1n1l1c1t", "--topo", "1n1l0c1t" }, "--topo 1n1l0c1t: " },
    }) do
      local args, words = case[1], case[2]
      local o, code = verifier.parse(args)
      assert.is_nil(o, table.concat(args, " "))
      assert.are.equal(2, code, table.concat(args, " "))
      local err = said()
      assert.matches("^ktstr verifier: [^\n]*" .. words:gsub("%p", "%%%0"), err)
      assert.matches("\nusage: ktstr verifier ", err)
    end
  end)
end)

describe("ktstr verifier output", function()
  it("lists a loaded scheduler's programs and a rejection's program, line and complaint", function()
    local text = verifier.format_cell(cell("1n1l2c1t", 2, { loaded(116,
      { prog(7, "ktstr_enqueue", 66, 12), prog(8, "ktstr_init", 50, 1) }), REJECTED }),
      { "ktstr-sched", "ktstr-sched-broken" })
    assert.matches("^== 7%.3%.4 1n1l2c1t %(2 CPUs%) ==\n", text)
    assert.matches("\nktstr%-sched: loaded, enabled as 'ktstr' after 0%.50s; 2 programs, 116 insns " ..
      "verified\n", text)
    assert.matches("\n  ktstr_enqueue +struct_ops +66 +12\n", text)
    assert.matches("\nktstr-sched-broken: REJECTED: the verifier rejected broken_enqueue at " ..
      "broken.bpf.c:44 (b->n[p->pid & 0xff]++;): invalid access to map value, value_size=32 " ..
      "off=2040 size=8 [Memory Safety: Access outside bounds]\n", text, 1, true)
    assert.matches("\n  reason: The verifier cannot prove", text, 1, true)
    assert.matches("\n  the verifier processed 14 insns of broken_enqueue before it gave up\n",
      text, 1, true)
  end)

  it("puts each program's count per topology side by side, marking one that differs", function()
    local cells = {
      cell("1n1l2c1t", 2, { loaded(116, { prog(7, "ktstr_enqueue", 66), prog(8, "ktstr_init", 50) }),
        REJECTED }),
      cell("4cpu-2llc-nosmt", 4, { loaded(130, { prog(7, "ktstr_enqueue", 66),
        prog(8, "ktstr_init", 64) }), REJECTED }),
    }
    local text = verifier.format_tables(cells, { "ktstr-sched", "ktstr-sched-broken" })
    assert.matches("ktstr%-sched: verified insns per program\n  program +1n1l2c1t +4cpu%-2llc%-nosmt\n",
      text)
    assert.matches("\n  ktstr_enqueue +66 +66\n", text)
    assert.matches("\n  ktstr_init +50 +64 +<%- differs\n", text)
    assert.matches("\n  total +116 +130\n", text)
    -- the rejected scheduler has no programs to compare
    assert.is_nil(text:find("ktstr-sched-broken: verified", 1, true))
    assert.matches("\n7%.3%.4 +4cpu%-2llc%-nosmt %(4 CPUs%) +OK 130 +REJECTED broken_enqueue\n", text)
    assert.are.equal(1, verifier.exit_code(cells))
  end)

  it("exits 0 when every cell loaded, 2 when one could not be used, 1 for any rejection", function()
    local ok = cell("1n1l2c1t", 2, { loaded(50, { prog(1, "a", 50) }) })
    local gone = { kernel = "7.3.4", topo = "1n1l1c1t", cpus = 1, scheds = {},
      status = "inconclusive", msg = "the guest did not boot, twice" }
    local not_loaded = cell("1n1l2c1t", 2, { { status = "not_loaded", kind = "enable_timeout",
      msg = "still running but not enabled after 15s" } })
    assert.are.equal(0, verifier.exit_code({ ok }))
    assert.are.equal(2, verifier.exit_code({ ok, gone }))
    assert.are.equal(1, verifier.exit_code({ gone, ok, cell("1n1l2c1t", 2, { REJECTED }) }))
    assert.are.equal(1, verifier.exit_code({ not_loaded }))
    assert.matches("\n7%.3%.4 +1n1l1c1t %(1 CPU%) +INCONCLUSIVE\n",
      verifier.format_tables({ ok, gone }, { "s" }))
  end)
end)

describe("the verifier's words on the fixture's broken build", function()
  -- ktstr-sched-broken's output under the 7.3 verifier, as `ktstr vm` captured it
  local LOG = assert(io.open("spec/unit/fixtures/verifier_broken_7.3.log")):read("a")

  it("give the program, the line, the complaint and the whole reason", function()
    local v = require("ktstr.scheduler").verifier(LOG)
    assert.are.same({ "broken_enqueue", "broken.bpf.c:44",
      "invalid access to map value, value_size=32 off=2040 size=8" }, { v.prog, v.at, v.complaint })
    assert.matches("^b%->n%[p%->pid & 0xff%]%+%+;", v.source)
    -- the reason wraps over four lines in the log: all of it, one sentence after another
    assert.matches("^The verifier cannot prove offset %+ access_size <= object_size%. Here, the " ..
      "maximal bound for a memory access is 2048: .* object_size is 32%.$", v.reason)
  end)
end)
