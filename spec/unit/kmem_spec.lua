-- ktstr.host.kmem without a guest: KASLR's slide over cached symbols, and a kernel whose BTF lacks a field.
local core = require("ktstr.core")
local gk = require("ktstr.host.kmem")
local kernel = require("ktstr.host.kernel")

-- A raw BTF blob: header, the packed types, then the string table.
local function btf_blob(types, strs)
  local t = table.concat(types)
  return string.pack("<I2BBI4I4I4I4I4", 0xeB9F, 1, 0, 24, 0, #t, #t, #strs) .. t .. strs
end

-- int; struct scx_sched { int exit_kind; int exit_info; }: a kernel without scx_sched.pcpu
local function old_sched_btf()
  local strs = "\0int\0scx_sched\0exit_kind\0exit_info\0"
  local int = string.pack("<I4I4I4I4", 1, 1 << 24, 4, 32)
  local sched = string.pack("<I4I4I4", 5, (4 << 24) | 2, 8) ..
      string.pack("<I4I4I4", 15, 1, 0) .. string.pack("<I4I4I4", 25, 1, 32)
  return assert(core.btf_new(btf_blob({ int, sched }, strs)))
end

local function raises(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok)
  return err
end

describe("kernel symbols under KASLR", function()
  local tmp

  before_each(function()
    tmp = assert(core.mkdtemp("/tmp/ktstr-kmem-spec-XXXXXX"))
    kernel.set_cache_dir(tmp)
  end)

  after_each(function()
    kernel.set_cache_dir(nil)
    core.rm_rf(tmp)
  end)

  it("asks the guest for every symbol without a cache, else for _text alone", function()
    assert.are.equal("ktstr.kallsyms=" .. table.concat(gk.SYMBOLS, ","), gk.cmdline_request(nil))
    assert.are.equal("ktstr.kallsyms=_text", gk.cmdline_request({ _text = "0xffffffff81000000" }))
  end)

  it("slides kernel image addresses, not zero-based per-CPU ones", function()
    local syms = { _text = "0xffffffff81000000", jiffies = "0xffffffff82c05000",
      runqueues = "0x2c580", init_top_pgt = "0xffffffff82a0a000" }
    assert.are.same({ _text = "0xffffffff9c400000", jiffies = "0xffffffff9e005000",
      runqueues = "0x2c580", init_top_pgt = "0xffffffff9de0a000" },
      gk.slide(syms, 0x1b400000))
    assert.are.same(syms, gk.slide(syms, 0))
  end)

  it("keeps one boot's symbols and slides them to the next boot's _text", function()
    local k = { release = "7.9.9-kaslr" }
    local first = {}
    for _, name in ipairs(gk.SYMBOLS) do
      if not gk.OPTIONAL[name] then first[name] = "0xffffffff90000000" end
    end
    first._text, first.runqueues = "0xffffffff8f000000", "0xffffffff91000000"
    -- the first boot: no cache, the guest's answer is kept and used as is
    assert.are.same(first, gk.boot_symbols(k, nil, first))
    local cached = assert(gk.cached_symbols(k))
    assert.are.same(first, cached)
    -- the next boot landed 0x200000 lower: everything in the image moves with _text
    local now = gk.boot_symbols(k, cached, { _text = "0xffffffff8ee00000" })
    assert.are.equal("0xffffffff8ee00000", now._text)
    assert.are.equal("0xffffffff90e00000", now.runqueues)
    assert.are.equal("0xffffffff8fe00000", now.jiffies)
    -- a guest that reported no _text gives no symbols (the monitor is off), never stale ones
    assert.is_nil(gk.boot_symbols(k, cached, {}))
    assert.is_nil(gk.boot_symbols(k, cached, { _text = "junk" }))
    assert.is_nil(gk.boot_symbols(k, nil, {}))
  end)
end)

describe("a kernel whose BTF lacks a field", function()
  it("names the struct and the field in one line", function()
    local b = old_sched_btf()
    assert.are.equal(4, gk.member(b, "scx_sched", "exit_info"))
    assert.are.equal("struct scx_sched has no pcpu on this kernel",
      raises(function() gk.member(b, "scx_sched", "pcpu") end))
    assert.are.equal("struct scx_sched_pcpu is not in this kernel's BTF",
      raises(function() gk.member(b, "scx_sched_pcpu", "event_stats") end))
  end)

  it("turns the monitor off with that line, and the report says so on a pass", function()
    -- rq as the sampler wants it; scx_sched from the old kernel's BTF
    local b = old_sched_btf()
    local rq = { nr_running = 4, clock = 8, ["scx.nr_running"] = 16, ["scx.flags"] = 20,
      ["scx.local_dsq.nr"] = 24 }
    local fake = {
      member = function(_, struct, path)
        if struct == "rq" then return rq[path], rq[path] or "no such member" end
        return b:member(struct, path)
      end,
      size = function(_, struct) return struct == "rq" and 64 or b:size(struct) end,
    }
    assert.are.equal(16, gk.monitor_layout(fake, {}).rq_scx_nr_running)
    local why = raises(function() gk.monitor_layout(fake, { scx_root = "0xffffffff82000000" }) end)
    assert.are.equal("struct scx_sched has no pcpu on this kernel", why)
    local report = require("ktstr.host.report")
    local test = { name = "t", numa_nodes = 1, llcs = 1, cores = 2, threads = 1 }
    assert.are.equal("PASS t [sched=eevdf] [topo=1n1l2c1t] (1.0s)\n" ..
      "monitor off: struct scx_sched has no pcpu on this kernel",
      report.pass_line(test, 1, { monitor = { off = why } }))
    assert.are.equal("PASS t [sched=eevdf] [topo=1n1l2c1t] (1.0s)",
      report.pass_line(test, 1, { monitor = {} }))
  end)
end)
