-- `ktstr verifier` against real guests: the fixture's programs and counts, its rejected build.
local run = require("support.run")

-- The program lines of one cell's block: name -> { insns, runs }, in the order printed.
local function programs(block)
  local out, order = {}, {}
  for name, typ, insns, runs in block:gmatch("\n  ([%w_]+) +([%w_ ]-) +(%d+) +(%d+)") do
    out[name] = { type = typ, insns = tonumber(insns), runs = tonumber(runs) }
    order[#order + 1] = name
  end
  return out, order
end

describe("ktstr verifier #vm", function()
  after_each(run.assert_no_leftovers)

  it("loads the fixture on two topologies at once: each program's verified insns, exit 0",
    function()
    local code, out, err = run.ktstr({ "verifier", "ktstr-sched", "-j", "2",
      "--topo", "1n1l1c1t", "--topo", "1n1l2c1t" })
    assert.are.equal(0, code, out .. err)
    local totals = {}
    for _, topo in ipairs({ "1n1l1c1t %(1 CPU%)", "1n1l2c1t %(2 CPUs%)" }) do
      local block = out:match("== [^\n]* " .. topo .. " ==\n(.-)\n[=\n]")
      assert.is_truthy(block, out)
      local n, total = block:match("ktstr%-sched: loaded, enabled as 'ktstr' after [%d.]+s; " ..
        "(%d+) programs, (%d+) insns verified\n")
      assert.is_truthy(n, block)
      local progs, order = programs(block)
      assert.are.equal(tonumber(n), #order, block)
      local sum = 0
      for _, name in ipairs(order) do
        assert.are.equal("struct_ops", progs[name].type, name)
        assert.is_true(progs[name].insns > 0, name)
        sum = sum + progs[name].insns
      end
      assert.are.equal(tonumber(total), sum)
      -- the struct_ops callbacks the fixture registers, under the kernel's 15-character names
      for _, name in ipairs({ "ktstr_enqueue", "ktstr_dispatch", "ktstr_init" }) do
        assert.is_truthy(progs[name], name .. " in\n" .. block)
      end
      -- it dispatched: the dispatch callback ran while it was loaded
      assert.is_true(progs.ktstr_dispatch.runs > 0, block)
      totals[#totals + 1] = total
    end
    assert.matches("\nktstr%-sched: verified insns per program\n  program +1n1l1c1t +1n1l2c1t\n", out)
    assert.matches("\n7%.[^\n]* +1n1l1c1t %(1 CPU%) +OK " .. totals[1] .. "\n", out)
    assert.matches("\n7%.[^\n]* +1n1l2c1t %(2 CPUs%) +OK " .. totals[2] .. "\n", out)
    assert.matches("\n2 cells: 2 loaded every scheduler, 0 rejected one, 0 inconclusive\n$", out)
  end)

  it("fails the fixture's broken build, naming the program, the line and the complaint", function()
    local code, out, err = run.ktstr({ "verifier", "ktstr-sched-broken" })
    assert.are.equal(1, code, out .. err)
    assert.matches("\nktstr%-sched%-broken: REJECTED: the verifier rejected broken_enqueue at " ..
      "broken%.bpf%.c:44 %(b%->n%[p%->pid & 0xff%]%+%+;[^\n]*%): invalid access to map value, " ..
      "value_size=32 off=2040 size=8 %[Memory Safety: Access outside bounds%]\n", out)
    assert.matches("\n  the verifier processed %d+ insns of broken_enqueue before it gave up\n", out)
    assert.matches("\n7%.[^\n]* +1n1l2c1t %(2 CPUs%) +REJECTED broken_enqueue\n", out)
  end)

  it("answers an unknown scheduler and a bad topology with exit 2, naming them", function()
    local code, out, err = run.ktstr({ "verifier", "no-such-scheduler" })
    assert.are.equal(2, code, out .. err)
    assert.matches("^ktstr verifier: scheduler 'no%-such%-scheduler': binary 'no%-such%-scheduler' " ..
      "not found", err)
    code, out, err = run.ktstr({ "verifier", "ktstr-sched", "--topo", "1n1l2c" })
    assert.are.equal(2, code, out .. err)
    assert.matches("^ktstr verifier: %-%-topo 1n1l2c: ", err)
    assert.are.equal("", out)
  end)
end)
