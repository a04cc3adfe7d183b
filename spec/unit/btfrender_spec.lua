-- btfrender: ints, bitfields, char arrays, nested structs, anonymous unions, enums and datasecs over a fake BTF.
local btfrender = require("ktstr.host.btfrender")

-- A fake BTF with exactly the interface of src/l_btf.c: b:type(id), b:find(name, kind).
local function fake_btf(types)
  local by_id = {}
  for _, t in ipairs(types) do by_id[t.id] = t end
  return {
    type = function(_, id) return by_id[id] end,
    find = function(_, name, kind)
      for _, t in ipairs(types) do
        if t.name == name and (kind == nil or t.kind == kind) then return t.id end
      end
    end,
  }
end

local function m(name, type_id, byte, bits)
  return { name = name, type = type_id, bit_offset = byte and byte * 8 or 0, bitfield_size = bits or 0 }
end

local function bf(name, type_id, bit, bits)
  return { name = name, type = type_id, bit_offset = bit, bitfield_size = bits }
end

local B = fake_btf({
  { id = 1, kind = "int", name = "int", size = 4, bits = 32, signed = true },
  { id = 2, kind = "int", name = "unsigned int", size = 4, bits = 32 },
  { id = 3, kind = "int", name = "long long unsigned int", size = 8, bits = 64 },
  { id = 4, kind = "typedef", name = "u64", type = 3 },
  { id = 5, kind = "int", name = "char", size = 1, bits = 8, signed = true },
  { id = 6, kind = "int", name = "_Bool", size = 1, bits = 8, bool = true },
  { id = 7, kind = "array", elem = 5, nelems = 8 },
  { id = 8, kind = "enum", name = "state", size = 4, values = { { name = "IDLE", value = 0 },
    { name = "RUNNING", value = 1 }, { name = "DEAD", value = 2 } } },
  { id = 9, kind = "struct", name = "inner", size = 8, members = { m("a", 1, 0), m("b", 2, 4) } },
  { id = 10, kind = "union", size = 4, members = { m("as_u32", 2, 0), m("as_i32", 1, 0) } },
  { id = 11, kind = "struct", name = "flags", size = 4, members = { bf("lo", 2, 0, 3),
    bf("mid", 1, 3, 5), bf("st", 8, 8, 2), bf("wide", 2, 10, 20), bf("on", 6, 30, 1) } },
  { id = 12, kind = "array", elem = 2, nelems = 3 },
  { id = 13, kind = "const", type = 4 },
  { id = 14, kind = "volatile", type = 13 },
  { id = 15, kind = "ptr", type = 9 },
  { id = 16, kind = "float", name = "double", size = 8 },
  { id = 17, kind = "struct", name = "ctx", size = 80, members = { m("pid", 1, 0), m("comm", 7, 4),
    m("total", 14, 16), { name = "", type = 10, bit_offset = 24 * 8 }, m("in", 9, 28), m("hist", 12, 36),
    m("state", 8, 48), m("f", 11, 52), m("next", 15, 56), m("load", 16, 64), m("on", 6, 72) } },
  { id = 18, kind = "var", name = "nr_dispatched", type = 4 },
  { id = 19, kind = "var", name = "last_state", type = 8 },
  { id = 20, kind = "datasec", name = ".bss", size = 16, vars = { { type = 18, offset = 0, size = 8 },
    { type = 19, offset = 8, size = 4 } } },
  { id = 21, kind = "fwd", name = "task_struct" },
  { id = 22, kind = "array", elem = 17, nelems = 2 },
})

local FLAGS = 5 | (29 << 3) | (2 << 8) | (0xABCDE << 10) | (1 << 30)

local function ctx_bytes(pid, comm)
  return string.pack("<i4c8I4I8i4i4I4I4I4I4I4I4I8dBxxxxxxx", pid, comm, 0, -1, -2, -7, 9, 10, 11, 12, 2, FLAGS,
    0xffff888012345678, 1.5, 1)
end

local function err_of(f, ...)
  local ok, err = pcall(f, ...)
  assert.is_false(ok)
  return err
end

describe("btfrender.render", function()
  it("renders ints by their encoding: signed, unsigned, u64 as its bit pattern, bool", function()
    assert.equal(-1, btfrender.render(B, 1, string.pack("<i4", -1)))
    assert.equal(4294967295, btfrender.render(B, 2, string.pack("<I4", 0xffffffff)))
    assert.equal(-1, btfrender.render(B, 4, string.rep("\xff", 8)))
    assert.equal(math.mininteger, btfrender.render(B, 4, string.pack("<I8", math.mininteger)))
    assert.is_true(btfrender.render(B, 6, "\1"))
    assert.is_false(btfrender.render(B, 6, "\0"))
  end)

  it("reads at the byte offset given", function()
    assert.equal(7, btfrender.render(B, 1, "\0\0\0\0\7\0\0\0", 4))
  end)

  it("turns char arrays into strings up to the NUL", function()
    assert.equal("abc", btfrender.render(B, 7, "abc\0xyz\0"))
    assert.equal("abcdefgh", btfrender.render(B, 7, "abcdefgh"))
    assert.equal("", btfrender.render(B, 7, string.rep("\0", 8)))
  end)

  it("turns other arrays into lists", function()
    assert.same({ 10, 11, 12 }, btfrender.render(B, 12, string.pack("<I4I4I4", 10, 11, 12)))
  end)

  it("extracts bitfields, signed and unsigned, across bytes", function()
    local v, enums = btfrender.render(B, 11, string.pack("<I4", FLAGS))
    assert.same({ lo = 5, mid = -3, st = 2, wide = 0xABCDE, on = true }, v)
    assert.same({ st = "DEAD" }, enums)
  end)

  it("renders a struct with nested struct, flattened anonymous union, typedefs, pointer and float", function()
    local v, enums = btfrender.render(B, 17, ctx_bytes(42, "worker\0\0"))
    assert.same({
      pid = 42, comm = "worker", total = -1, as_u32 = 4294967294, as_i32 = -2,
      ["in"] = { a = -7, b = 9 }, hist = { 10, 11, 12 }, state = 2,
      f = { lo = 5, mid = -3, st = 2, wide = 0xABCDE, on = true },
      next = 0xffff888012345678, load = 1.5, on = true,
    }, v)
    assert.same({ state = "DEAD", ["f.st"] = "DEAD" }, enums)
  end)

  it("names enum values by path inside arrays", function()
    local two = ctx_bytes(1, "a\0\0\0\0\0\0\0") .. ctx_bytes(2, "b\0\0\0\0\0\0\0")
    local v, enums = btfrender.render(B, 22, two)
    assert.same({ 1, 2 }, { v[1].pid, v[2].pid })
    assert.same({ ["[0].state"] = "DEAD", ["[0].f.st"] = "DEAD", ["[1].state"] = "DEAD",
      ["[1].f.st"] = "DEAD" }, enums)
  end)

  it("renders a datasec as var name -> value", function()
    local v, enums = btfrender.render(B, 20, string.pack("<I8I4I4", 120, 1, 0))
    assert.same({ nr_dispatched = 120, last_state = 1 }, v)
    assert.same({ last_state = "RUNNING" }, enums)
  end)

  it("raises naming the type and offset when the bytes are short", function()
    assert.matches("btfrender.render: struct ctx %(id 17%) at offset 0 needs 80 bytes, have 40$",
      err_of(btfrender.render, B, 17, string.rep("\0", 40)))
    assert.matches("btfrender.render: long long unsigned int %(int, id 3%) at offset 4 needs 8 bytes, have 8$",
      err_of(btfrender.render, B, 4, string.rep("\0", 8), 4))
    assert.matches("btfrender.render: %.bss %(datasec, id 20%) at offset 0 needs 16 bytes, have 4$",
      err_of(btfrender.render, B, 20, string.rep("\0", 4)))
  end)

  it("blames the caller's line", function()
    assert.matches("^spec/unit/btfrender_spec.lua:%d+: ", err_of(function()
      return btfrender.render(B, 17, "")
    end))
  end)

  it("refuses types without a layout and unknown ids", function()
    assert.matches("task_struct %(fwd, id 21%) cannot be rendered", err_of(btfrender.render, B, 21, ""))
    assert.matches("no BTF type with id 99", err_of(btfrender.render, B, 99, ""))
  end)

  it("checks its arguments", function()
    assert.matches("expected a BTF object", err_of(btfrender.render, {}, 1, ""))
    assert.matches("expected the bytes as a string, got nil", err_of(btfrender.render, B, 1, nil))
  end)
end)

describe("btfrender.sizeof and enum_name", function()
  it("sizes through typedefs, modifiers, arrays and pointers", function()
    assert.equal(8, btfrender.sizeof(B, 14))
    assert.equal(8, btfrender.sizeof(B, 7))
    assert.equal(12, btfrender.sizeof(B, 12))
    assert.equal(8, btfrender.sizeof(B, 15))
    assert.equal(160, btfrender.sizeof(B, 22))
  end)

  it("names enumerators, nil for unknown values", function()
    assert.equal("RUNNING", btfrender.enum_name(B, B:find("state", "enum"), 1))
    assert.is_nil(btfrender.enum_name(B, 8, 7))
    assert.matches("int %(int, id 1%) is not an enum", err_of(btfrender.enum_name, B, 1, 0))
  end)
end)
