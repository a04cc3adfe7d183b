-- BTF rendering: raw bytes of a BPF map key or value turned into plain Lua values.
--
-- The BTF object is anything with b:type(id) -> {kind =, ...} and
-- b:find(name, kind) -> id (the C binding in src/l_btf.c, or a fake in the
-- specs). Values are little-endian (x86_64 guests). Every read is bounds
-- checked: a short buffer raises naming the type and the offset rather than
-- rendering garbage a check would then trust.
local V = require("ktstr.validate")

local M = {}

local PTR_SIZE = 8
-- typedef -> const -> volatile -> ... chains are short; a longer one is a loop
local MAX_HOPS = 32

local MODIFIER = { typedef = true, volatile = true, const = true, restrict = true, type_tag = true,
  var = true }

-- Internal failures carry no position; render() re-raises them at the caller.
local function fail(fmt, ...)
  error({ msg = fmt:format(...) }, 0)
end

local function get(b, id)
  local t = id ~= 0 and b:type(id)
  if not t then fail("no BTF type with id %s", tostring(id)) end
  return t
end

local function describe(t)
  local name = t.name ~= nil and t.name ~= "" and t.name or nil
  if t.kind == "struct" or t.kind == "union" or t.kind == "enum" or t.kind == "enum64" then
    return ("%s %s (id %d)"):format(t.kind, name or "<anon>", t.id)
  end
  return ("%s (%s, id %d)"):format(name or "<anon>", t.kind, t.id)
end

-- The type behind typedefs, modifiers and vars.
local function resolve(b, id)
  local t = get(b, id)
  for _ = 1, MAX_HOPS do
    if not MODIFIER[t.kind] then return t end
    t = get(b, t.type)
  end
  fail("%s: more than %d typedef/modifier hops (a loop in the BTF?)", describe(t), MAX_HOPS)
end

local function sizeof(b, id)
  local t = resolve(b, id)
  if t.kind == "ptr" then return PTR_SIZE end
  if t.kind == "array" then return t.nelems * sizeof(b, t.elem) end
  if t.size then return t.size end
  fail("%s has no size", describe(t))
end

local function at(path, key)
  if type(key) == "number" then return ("%s[%d]"):format(path, key) end
  return path == "" and key or path .. "." .. key
end

local function need(t, size, bytes, off, path)
  if off < 0 or off + size > #bytes then
    fail("%s%s at offset %d needs %d bytes, have %d", path ~= "" and path .. ": " or "",
      describe(t), off, size, #bytes)
  end
end

-- value as a two's-complement number of `bits` bits
local function sign_extend(v, bits)
  if bits < 64 and v & (1 << (bits - 1)) ~= 0 then return v - (1 << bits) end
  return v
end

local function hex(bytes, off, size)
  local out = {}
  for i = off + size, off + 1, -1 do out[#out + 1] = ("%02x"):format(bytes:byte(i)) end
  return "0x" .. table.concat(out)
end

local function enum_name(t, v)
  local mask = t.size >= 8 and -1 or (1 << (t.size * 8)) - 1
  for _, e in ipairs(t.values or {}) do
    if (e.value ~ v) & mask == 0 then return e.name end
  end
end

-- ints, bools, enums and pointers share this: `bits` below the full width
-- (the int encoding's nr_bits) are masked and sign-extended.
local function scalar(t, v, bits, path, enums)
  if bits < 64 then v = v & ((1 << bits) - 1) end
  if t.signed then v = sign_extend(v, bits) end
  if t.bool then return v ~= 0 end
  if t.kind == "enum" or t.kind == "enum64" then enums[path] = enum_name(t, v) end
  return v
end

local render

local function render_int(t, bytes, off, path, enums)
  need(t, t.size, bytes, off, path)
  if t.size > 8 then return hex(bytes, off, t.size) end  -- __int128: no Lua integer holds it
  local v = string.unpack("<I" .. t.size, bytes, off + 1)
  return scalar(t, v, math.min(t.bits or t.size * 8, t.size * 8), path, enums)
end

-- Reads nbits starting bit_off bits into the byte at base (0-based),
-- least significant bit first, as the x86_64 ABI lays out bitfields.
local function read_bits(bytes, base, bit_off, nbits)
  local v, got, pos = 0, 0, bit_off
  while got < nbits do
    local byte = bytes:byte(base + pos // 8 + 1)
    local shift = pos % 8
    local take = math.min(8 - shift, nbits - got)
    v = v | (((byte >> shift) & ((1 << take) - 1)) << got)
    got, pos = got + take, pos + take
  end
  return v
end

local function render_bitfield(b, m, bytes, off, path, enums)
  local t = resolve(b, m.type)
  if t.kind ~= "int" and t.kind ~= "enum" and t.kind ~= "enum64" then
    fail("%s: bitfield of %s", path, describe(t))
  end
  local nbits = m.bitfield_size and m.bitfield_size > 0 and m.bitfield_size or t.bits
  local first = off + m.bit_offset // 8
  need(t, (m.bit_offset % 8 + nbits + 7) // 8, bytes, first, path)
  return scalar(t, read_bits(bytes, first, m.bit_offset % 8, nbits), nbits, path, enums)
end

local function is_char(b, id)
  local t = resolve(b, id)
  return t.kind == "int" and t.size == 1 and (t.char or t.name == "char")
end

local function render_array(b, t, bytes, off, path, enums)
  local esize = sizeof(b, t.elem)
  need(t, esize * t.nelems, bytes, off, path)
  if is_char(b, t.elem) then
    local s = bytes:sub(off + 1, off + t.nelems)
    return s:match("^[^%z]*")
  end
  local out = {}
  for i = 0, t.nelems - 1 do
    out[i + 1] = render(b, t.elem, bytes, off + i * esize, at(path, i), enums)
  end
  return out
end

-- Members of anonymous structs and unions land in `into`, the parent's table,
-- as C lets code name them.
local function render_members(b, t, bytes, off, path, enums, into)
  for _, m in ipairs(t.members or {}) do
    local anon = m.name == nil or m.name == ""
    local mt = resolve(b, m.type)
    if anon and (mt.kind == "struct" or mt.kind == "union") then
      need(mt, mt.size, bytes, off + m.bit_offset // 8, path)
      render_members(b, mt, bytes, off + m.bit_offset // 8, path, enums, into)
    elseif not anon then
      local p = at(path, m.name)
      if (m.bitfield_size or 0) > 0 or m.bit_offset % 8 ~= 0 then
        into[m.name] = render_bitfield(b, m, bytes, off, p, enums)
      else
        into[m.name] = render(b, m.type, bytes, off + m.bit_offset // 8, p, enums)
      end
    end
    -- an unnamed non-aggregate member is padding (int :3): nothing to show
  end
  return into
end

local function render_datasec(b, t, bytes, off, path, enums)
  need(t, t.size, bytes, off, path)
  local out = {}
  for _, v in ipairs(t.vars or {}) do
    local var = get(b, v.type)
    local name = var.name or ("<var %d>"):format(var.id)
    local vt = { id = var.id, kind = "var", name = name }
    need(vt, v.size, bytes, off + v.offset, at(path, name))
    out[name] = render(b, v.type, bytes, off + v.offset, at(path, name), enums)
  end
  return out
end

function render(b, id, bytes, off, path, enums)
  local t = resolve(b, id)
  local k = t.kind
  if k == "int" or k == "enum" or k == "enum64" then
    return render_int(t, bytes, off, path, enums)
  end
  if k == "ptr" then
    need(t, PTR_SIZE, bytes, off, path)
    return (string.unpack("<I8", bytes, off + 1))
  end
  if k == "float" then
    need(t, t.size, bytes, off, path)
    if t.size == 4 then return (string.unpack("<f", bytes, off + 1)) end
    if t.size == 8 then return (string.unpack("<d", bytes, off + 1)) end
    return hex(bytes, off, t.size)  -- long double: no Lua number holds it exactly
  end
  if k == "array" then return render_array(b, t, bytes, off, path, enums) end
  if k == "struct" or k == "union" then
    need(t, t.size, bytes, off, path)
    return render_members(b, t, bytes, off, path, enums, {})
  end
  if k == "datasec" then return render_datasec(b, t, bytes, off, path, enums) end
  fail("%s%s cannot be rendered (no layout)", path ~= "" and path .. ": " or "", describe(t))
end

local function check_btf(b, what)
  local ok, method = pcall(function() return b.type end)
  if not ok or type(method) ~= "function" then
    V.raise("%s: expected a BTF object (with :type(id)), got %s", what, tostring(b))
  end
end

-- Runs fn(...) and re-raises a rendering failure at the caller's line.
local function call(what, fn, ...)
  local ok, v = pcall(fn, ...)
  if ok then return v end
  if type(v) == "table" then V.raise("%s: %s", what, v.msg) end
  error(v, 0)
end

-- render(b, type_id, bytes [, offset = 0]) -> value, enums
-- value: integers (u64 as its 64-bit pattern), booleans, numbers, strings
-- (char arrays up to the NUL), lists (arrays), tables by member name
-- (structs, unions, datasecs by var name); pointers are addresses.
-- enums: path -> enumerator name for every enum value rendered, the path
-- spelled as snapshot paths are ("stats.state", "slots[2].kind"; "" for
-- the root).
function M.render(b, type_id, bytes, offset)
  check_btf(b, "btfrender.render")
  V.integer(type_id, "btfrender.render: type id", 1)
  if type(bytes) ~= "string" then
    V.raise("btfrender.render: expected the bytes as a string, got %s", tostring(bytes))
  end
  offset = offset == nil and 0 or V.integer(offset, "btfrender.render: offset", 0)
  local enums = {}
  return call("btfrender.render", render, b, type_id, bytes, offset, "", enums), enums
end

-- sizeof(b, type_id) -> bytes the type occupies (typedefs followed).
function M.sizeof(b, type_id)
  check_btf(b, "btfrender.sizeof")
  return call("btfrender.sizeof", sizeof, b, type_id)
end

-- enum_name(b, type_id, value) -> the enumerator's name, or nil.
function M.enum_name(b, type_id, value)
  check_btf(b, "btfrender.enum_name")
  local t = call("btfrender.enum_name", resolve, b, type_id)
  if t.kind ~= "enum" and t.kind ~= "enum64" then
    V.raise("btfrender.enum_name: %s is not an enum", describe(t))
  end
  return enum_name(t, value)
end

return M
