-- BTF through ktstr.core: struct layouts of the cached 7.3 kernel, type descriptions, raw blobs.
local core = require("ktstr.core")
local kernel = require("ktstr.host.kernel")

-- A raw BTF blob: header, the packed types, then the string table.
local function btf_blob(types, strs)
  local t = table.concat(types)
  return string.pack("<I2BBI4I4I4I4I4", 0xeB9F, 1, 0, 24, 0, #t, #t, #strs) .. t .. strs
end

-- info word of a btf_type: vlen, kind, kind flag
local function info(kind, vlen, kflag)
  return (vlen or 0) | (kind << 24) | ((kflag and 1 or 0) << 31)
end

-- int, struct pair { int a; int b:3; }, typedef pair_t, pair_t *, int[4], enum color
local function small_blob()
  local strs, off = { "\0" }, {}
  for _, s in ipairs({ "int", "pair", "a", "b", "pair_t", "color", "RED", "BLUE" }) do
    off[s] = #table.concat(strs)
    strs[#strs + 1] = s .. "\0"
  end
  local types = {
    string.pack("<I4I4I4I4", off.int, info(1), 4, (1 << 24) | 32),
    string.pack("<I4I4I4", off.pair, info(4, 2, true), 8)
      .. string.pack("<I4I4I4", off.a, 1, 0)
      .. string.pack("<I4I4I4", off.b, 1, (3 << 24) | 32),
    string.pack("<I4I4I4", off.pair_t, info(8), 2),
    string.pack("<I4I4I4", 0, info(2), 3),
    string.pack("<I4I4I4I4I4I4", 0, info(3), 0, 1, 1, 4),
    string.pack("<I4I4I4", off.color, info(6, 2, true), 4)
      .. string.pack("<I4i4I4i4", off.RED, 0, off.BLUE, -1),
  }
  return btf_blob(types, table.concat(strs))
end

describe("the vmlinux BTF", function()
  local b

  setup(function()
    local k = assert(kernel.resolve("7.3"), "no cached 7.3 kernel: run ktstr kernel fetch 7.3")
    b = assert(core.btf_load(k.btf))
  end)

  teardown(function()
    b:close()
  end)

  it("gives offset and size of a nested member", function()
    local off, size = b:member("rq", "scx.nr_running")
    assert.is_true(math.type(off) == "integer" and off > 0)
    assert.are.equal(4, size)
    local scx = b:member("rq", "scx")
    local inner = b:member("scx_rq", "nr_running")
    assert.are.equal(scx + inner, off)
  end)

  it("looks through anonymous unions and structs", function()
    local value = b:member("bpf_array", "value")
    assert.are.equal(value, (b:member("bpf_array", "pptrs")))
    assert.is_true(value > (b:member("bpf_array", "aux")))
    assert.are.equal(8 * 64, select(2, b:member("xa_node", "slots")))
  end)

  it("names a missing member, struct or pointer hop", function()
    assert.are.same({ nil, "btf member: rq.scx.nope: no such member", "ENOENT" },
      { b:member("rq", "scx.nope") })
    assert.are.same({ nil, "btf member: no_such_struct.x: no such member", "ENOENT" },
      { b:member("no_such_struct", "x") })
    -- curr is a pointer: the path does not follow it
    assert.are.equal("ENOENT", select(3, b:member("rq", "curr.pid")))
  end)

  it("refuses a bitfield", function()
    assert.are.same({ nil, "btf member: task_struct.sched_reset_on_fork: a bitfield", "EINVAL" },
      { b:member("task_struct", "sched_reset_on_fork") })
  end)

  it("gives struct sizes", function()
    assert.is_true(b:size("rq") > 1000)
    assert.are.equal(8, b:size("hlist_nulls_head"))
    assert.are.same({ nil, "btf size: nope: no such struct", "ENOENT" }, { b:size("nope") })
  end)

  it("finds enumerator values", function()
    assert.are.equal(1, b:enum_value("BPF_MAP_TYPE_HASH"))
    assert.are.equal("ENOENT", select(3, b:enum_value("NO_SUCH_ENUMERATOR")))
  end)

  it("describes a struct with its members", function()
    local id = assert(b:find("bpf_map", "struct"))
    local t = b:type(id)
    assert.are.equal("struct", t.kind)
    assert.are.equal("bpf_map", t.name)
    assert.are.equal(b:size("bpf_map"), t.size)
    local idm
    for _, m in ipairs(t.members) do
      if m.name == "id" then idm = m end
    end
    assert.are.equal(8 * b:member("bpf_map", "id"), idm.bit_offset)
    assert.are.equal(0, idm.bitfield_size)
    local u32 = b:type(b:resolve(idm.type))
    assert.are.same({ kind = "int", bits = 32, signed = false, char = false, bool = false },
      { kind = u32.kind, bits = u32.bits, signed = u32.signed, char = u32.char, bool = u32.bool })
  end)

  it("describes an array and an enum", function()
    local task = b:type(b:find("task_struct", "struct"))
    local comm
    for _, m in ipairs(task.members) do
      if m.name == "comm" then comm = b:type(m.type) end
    end
    assert.are.equal("array", comm.kind)
    assert.are.equal(16, comm.nelems)
    assert.are.equal("char", b:type(comm.elem).name)
    local e = b:type(b:find("bpf_map_type", "enum"))
    assert.are.same({ name = "BPF_MAP_TYPE_HASH", value = 1 }, e.values[2])
  end)

  it("finds nothing for an unknown name and raises on a bad kind or id", function()
    assert.is_nil(b:find("no_such_type_anywhere"))
    assert.has_error(function() b:find("rq", "structure") end)
    assert.has_error(function() b:type(b:count() + 1) end)
    assert.are.same({ id = 0, kind = "void" }, b:type(0))
  end)
end)

describe("BTF objects", function()
  it("parse a raw blob and describe every kind in it", function()
    local b = assert(core.btf_new(small_blob()))
    assert.are.equal(6, b:count())
    assert.are.equal("ktstr.btf (6 types)", tostring(b))
    assert.are.same({ id = 1, kind = "int", name = "int", size = 4, bits = 32, bit_offset = 0,
      signed = true, char = false, bool = false }, b:type(1))
    assert.are.same({ id = 2, kind = "struct", name = "pair", size = 8, members = {
      { name = "a", type = 1, bit_offset = 0, bitfield_size = 0 },
      { name = "b", type = 1, bit_offset = 32, bitfield_size = 3 } } }, b:type(2))
    assert.are.same({ id = 4, kind = "ptr", type = 3 }, b:type(4))
    assert.are.same({ id = 5, kind = "array", elem = 1, index = 1, nelems = 4 }, b:type(5))
    assert.are.equal(2, b:resolve(3))
    assert.are.equal(3, b:find("pair_t", "typedef"))
    assert.are.same({ 0, 4 }, { b:member("pair", "a") })
    assert.are.equal("EINVAL", select(3, b:member("pair", "b")))
    assert.are.equal(-1, b:enum_value("BLUE"))
    assert.are.same({ name = "BLUE", value = -1 }, b:type(6).values[2])
    b:close()
  end)

  it("refuse garbage and a missing file", function()
    assert.are.same({ nil, "btf_new: raw BTF: Invalid argument", "EINVAL" },
      { core.btf_new("garbage") })
    local ok, err, code = core.btf_load("/nonexistent/vmlinux.btf")
    assert.is_nil(ok)
    assert.matches("^btf_load: /nonexistent/vmlinux.btf: ", err)
    assert.are.equal("ENOENT", code)
  end)

  it("close once, idempotently, and refuse use afterwards", function()
    local b = assert(core.btf_new(small_blob()))
    b:close()
    b:close()
    assert.are.equal("ktstr.btf (closed)", tostring(b))
    assert.has_error(function() b:count() end, "btf is closed")
  end)

  it("read a BPF object's BTF with its data sections", function()
    local obj = "build/sched/ktstr_sched.bpf.o"
    local f = io.open(obj)
    if not f then
      pending("no " .. obj .. ": run make sched")
      return
    end
    f:close()
    local b = assert(core.btf_load(obj))
    local bss = b:type(assert(b:find(".bss", "datasec")))
    assert.is_true(#bss.vars > 0)
    assert.are.equal("var", b:type(bss.vars[1].type).kind)
    b:close()
  end)
end)
