-- BPF maps read from a fake guest RAM file laid out with the real 7.3 offsets: decoding,
-- and corrupt structures that must end in an error, never a crash or a hang.
local core = require("ktstr.core")
local kernel = require("ktstr.host.kernel")

local PO = 0xffff888000000000 -- page_offset_base: the direct map
local RAM_SIZE = 0x100000
local XA_ZERO_ENTRY = 0x406 -- xa_mk_internal(257): reserved, not a node
local NULLS_END = 1 -- an hlist_nulls end marker: bit 0 set

local function va(pa) return PO + pa end
local function hex(v) return ("0x%x"):format(v) end

local vmlinux, off, dir

-- Offsets the fixture writes at, all from the real BTF.
local function offsets(b)
  local function m(s, path) return (assert(b:member(s, path))) end
  return {
    xa_head = m("idr", "idr_rt.xa_head"), shift = m("xa_node", "shift"),
    slots = m("xa_node", "slots"), id = m("bpf_map", "id"), name = m("bpf_map", "name"),
    type = m("bpf_map", "map_type"), key_size = m("bpf_map", "key_size"),
    value_size = m("bpf_map", "value_size"), max_entries = m("bpf_map", "max_entries"),
    flags = m("bpf_map", "map_flags"), btf = m("bpf_map", "btf"),
    key_type = m("bpf_map", "btf_key_type_id"), value_type = m("bpf_map", "btf_value_type_id"),
    array_map = m("bpf_array", "map"), array_value = m("bpf_array", "value"),
    pptrs = m("bpf_array", "pptrs"), htab_map = m("bpf_htab", "map"),
    buckets = m("bpf_htab", "buckets"), n_buckets = m("bpf_htab", "n_buckets"),
    bucket = b:size("bucket"), first = m("bucket", "head.first"),
    hash_node = m("htab_elem", "hash_node"), key = m("htab_elem", "key"),
    next = m("hlist_nulls_node", "next"), btf_data = m("btf", "data"),
    btf_data_size = m("btf", "data_size"),
  }
end

-- Guest RAM under construction: bytes by physical address.
local function ram()
  local r = { writes = {} }
  function r.put(pa, bytes) r.writes[#r.writes + 1] = { pa, bytes } end
  function r.u64(pa, v) r.put(pa, string.pack("<I8", v)) end
  function r.u32(pa, v) r.put(pa, string.pack("<I4", v)) end
  return r
end

-- Writes the RAM file and opens it as a 2-CPU kernel whose per-CPU areas are 0x8000 apart.
local function open_kernel(r)
  local path = dir .. "/ram0"
  local f = assert(io.open(path, "wb"))
  f:seek("set", RAM_SIZE - 1)
  f:write("\0")
  for _, w in ipairs(r.writes) do
    f:seek("set", w[1])
    f:write(w[2])
  end
  f:close()
  local gm = assert(core.guestmem_open({ path }))
  return assert(core.kernel_open(gm, { page_offset = hex(PO), levels = 4, nr_cpus = 2,
    per_cpu_offset = hex(va(0x90000)) }))
end

-- A bpf_map header at pa (map.va = va(pa)), with fields from t.
local function map(r, pa, t)
  r.u32(pa + off.id, t.id)
  r.put(pa + off.name, t.name .. "\0")
  r.u32(pa + off.type, t.type)
  r.u32(pa + off.key_size, t.key_size)
  r.u32(pa + off.value_size, t.value_size)
  r.u32(pa + off.max_entries, t.max_entries)
  r.u32(pa + off.flags, t.flags or 0)
  r.u64(pa + off.btf, t.btf or 0)
  r.u32(pa + off.key_type, t.key_type or 0)
  r.u32(pa + off.value_type, t.value_type or 0)
end

-- An idr at 0x1000 whose xa_head is one leaf node at 0x2000 holding slots.
local function idr(r, slots)
  r.u64(0x1000 + off.xa_head, va(0x2000) | 2)
  r.put(0x2000 + off.shift, "\0")
  for i, e in pairs(slots) do r.u64(0x2000 + off.slots + 8 * i, e) end
end

-- A hash map at pa with n_buckets buckets at bpa; chains[b] = list of {pa, key, value}.
local function htab(r, pa, t, bpa, n_buckets, chains)
  map(r, pa + off.htab_map, t)
  r.u64(pa + off.buckets, va(bpa))
  r.u32(pa + off.n_buckets, n_buckets)
  for b = 0, n_buckets - 1 do
    local chain, link = chains[b] or {}, bpa + b * off.bucket + off.first
    for _, e in ipairs(chain) do
      r.u64(link, va(e[1] + off.hash_node))
      r.put(e[1] + off.key, e[2])
      r.put(e[1] + off.key + (#e[2] + 7) // 8 * 8, e[3])
      link = e[1] + off.hash_node + off.next
    end
    r.u64(link, NULLS_END | (b << 1))
  end
end

-- One INT type: enough BTF for the map BTF blob round trip.
local INT_BTF = string.pack("<I2BBI4I4I4I4I4", 0xeB9F, 1, 0, 24, 0, 16, 16, 5)
  .. string.pack("<I4I4I4I4", 1, 1 << 24, 4, (1 << 24) | 32) .. "\0int\0"

-- Five maps in slots 7, 9, 11, 12, 13 beside a zero entry and a value entry.
local function fixture()
  local r = ram()
  idr(r, { [1] = XA_ZERO_ENTRY, [3] = 5, [7] = va(0x10000), [9] = va(0x20000),
    [11] = va(0x50000), [12] = va(0x70000), [13] = va(0x80000) })
  r.u64(0x90000, 0)
  r.u64(0x90008, 0x8000)
  -- array: 12-byte values on an 8-byte stride (16)
  map(r, 0x10000 + off.array_map, { id = 7, name = "ktstr_sc.bss", type = 2, key_size = 4,
    value_size = 12, max_entries = 3, flags = 0x400, btf = va(0x40000), value_type = 5 })
  for i, v in ipairs({ "value-zero!!", "value-one!!!", "value-two!!!" }) do
    r.put(0x10000 + off.array_value + 16 * (i - 1), v)
  end
  r.u64(0x40000 + off.btf_data, va(0x41000))
  r.u32(0x40000 + off.btf_data_size, #INT_BTF)
  r.put(0x41000, INT_BTF)
  -- hash: two elements chained in bucket 1
  htab(r, 0x20000, { id = 9, name = "pids", type = 1, key_size = 4, value_size = 8,
    max_entries = 4 }, 0x30000, 4, { [1] = {
      { 0x31000, string.pack("<I4", 42), string.pack("<I8", 4200) },
      { 0x32000, string.pack("<I4", 7), string.pack("<I8", 700) } } })
  -- per-CPU array: cpu1's copy 0x8000 above cpu0's
  map(r, 0x50000 + off.array_map, { id = 11, name = "pcpu", type = 6, key_size = 4,
    value_size = 8, max_entries = 2 })
  for i = 0, 1 do
    r.u64(0x50000 + off.pptrs + 8 * i, va(0x60000 + 0x100 * i))
    for cpu = 0, 1 do r.u64(0x60000 + 0x100 * i + 0x8000 * cpu, 10 * i + cpu) end
  end
  -- per-CPU hash: the value slot holds the __percpu pointer
  htab(r, 0x70000, { id = 12, name = "pcpu_hash", type = 5, key_size = 4, value_size = 4,
    max_entries = 1 }, 0x71000, 1, { [0] = {
      { 0x72000, string.pack("<I4", 5), string.pack("<I8", va(0x73000)) } } })
  r.u32(0x73000, 111)
  r.u32(0x7b000, 222)
  map(r, 0x80000, { id = 13, name = "ktstr_ops", type = 26, key_size = 4, value_size = 64,
    max_entries = 1 })
  return r
end

local function one(r, k)
  return core.bpf_maps(k or open_kernel(r), vmlinux, hex(va(0x1000)))
end

setup(function()
  local k = assert(kernel.resolve("7.3"), "no cached 7.3 kernel: run ktstr kernel fetch 7.3")
  vmlinux = assert(core.btf_load(k.btf))
  off = offsets(vmlinux)
  dir = assert(core.mkdtemp("/tmp/ktstr-bpfmaps-"))
end)

teardown(function()
  vmlinux:close()
  core.rm_rf(dir)
end)

describe("bpf_maps", function()
  it("lists every map in the idr with its header", function()
    local maps = assert(one(fixture()))
    assert.are.equal(5, #maps)
    assert.are.same({ id = 7, name = "ktstr_sc.bss", type = "array", key_size = 4,
      value_size = 12, max_entries = 3, flags = 0x400, va = hex(va(0x10000)),
      btf = hex(va(0x40000)), btf_key_type_id = 0, btf_value_type_id = 5 }, maps[1])
    local names, types = {}, {}
    for i, m in ipairs(maps) do names[i], types[i] = m.name, m.type end
    assert.are.same({ "ktstr_sc.bss", "pids", "pcpu", "pcpu_hash", "ktstr_ops" }, names)
    assert.are.same({ "array", "hash", "percpu_array", "percpu_hash", "struct_ops" }, types)
    assert.is_nil(maps[2].btf)
  end)

  it("walks a two-level xarray", function()
    local r = ram()
    r.u64(0x1000 + off.xa_head, va(0x3000) | 2)
    r.put(0x3000 + off.shift, "\6")
    r.u64(0x3000 + off.slots + 8 * 2, va(0x2000) | 2)
    r.put(0x2000 + off.shift, "\0")
    r.u64(0x2000 + off.slots + 8 * 5, va(0x10000))
    map(r, 0x10000, { id = 133, name = "deep", type = 2, key_size = 4, value_size = 8,
      max_entries = 1 })
    local maps = assert(one(r))
    assert.are.equal(1, #maps)
    assert.are.equal(133, maps[1].id)
  end)

  it("returns an empty list for an empty idr", function()
    assert.are.same({}, assert(one(ram())))
  end)

  it("refuses a node that holds itself", function()
    local r = ram()
    idr(r, { [0] = va(0x2000) | 2 })
    assert.are.same({ nil, "bpf_maps: map_idr " .. hex(va(0x1000))
      .. ": corrupted structure (xa_node shift or bucket count out of range)", "EBADMSG" },
      { one(r) })
    r.put(0x2000 + off.shift, "\6") -- a shift-6 node under itself: no narrower
    assert.are.equal("EBADMSG", select(3, one(r)))
  end)

  it("stops at the node budget when nodes are shared down all eleven levels", function()
    local r = ram()
    r.u64(0x1000 + off.xa_head, va(0x3000) | 2)
    for level = 0, 10 do
      local pa = 0x3000 + 0x1000 * level
      r.put(pa + off.shift, string.char(60 - 6 * level))
      if level < 10 then -- the shift-0 leaf stays empty
        for i = 0, 63 do r.u64(pa + off.slots + 8 * i, va(pa + 0x1000) | 2) end
      end
    end
    local t0 = core.now()
    local ok, err, code = one(r)
    assert.is_nil(ok)
    assert.matches("too many xarray nodes", err)
    assert.are.equal("ELOOP", code)
    assert.is_true(core.now() - t0 < 5)
  end)

  it("names a pointer outside guest RAM", function()
    local r = ram()
    idr(r, { [1] = va(0x40000000) })
    assert.are.same({ nil, "bpf_maps: map_idr " .. hex(va(0x1000))
      .. ": unreadable guest memory (a wild pointer?)", "EFAULT" }, { one(r) })
    r.u64(0x1000 + off.xa_head, va(0x40000000) | 2)
    assert.are.equal("EFAULT", select(3, one(r)))
  end)

  it("names a vmlinux BTF without the map layout", function()
    local k = open_kernel(fixture())
    local b = assert(core.btf_new(INT_BTF))
    assert.are.same({ nil, "bpf_maps: vmlinux BTF: idr.idr_rt.xa_head: no such member",
      "ENOENT" }, { core.bpf_maps(k, b, hex(va(0x1000))) })
    b:close()
  end)
end)

describe("bpf_map_read", function()
  local k, maps

  before_each(function()
    k = open_kernel(fixture())
    maps = assert(core.bpf_maps(k, vmlinux, hex(va(0x1000))))
  end)

  it("reads an array's values in index order", function()
    assert.are.same({ "value-zero!!", "value-one!!!", "value-two!!!" },
      assert(core.bpf_map_read(k, vmlinux, maps[1])))
  end)

  it("reads a hash's elements along the bucket chain", function()
    assert.are.same({
      { key = string.pack("<I4", 42), value = string.pack("<I8", 4200) },
      { key = string.pack("<I4", 7), value = string.pack("<I8", 700) },
    }, assert(core.bpf_map_read(k, vmlinux, maps[2])))
  end)

  it("reads each CPU's copy of a per-CPU array", function()
    local p = string.pack
    assert.are.same({ { p("<I8", 0), p("<I8", 1) }, { p("<I8", 10), p("<I8", 11) } },
      assert(core.bpf_map_read(k, vmlinux, maps[3])))
  end)

  it("reads each CPU's copy of a per-CPU hash value", function()
    assert.are.same({ { key = string.pack("<I4", 5),
      value = { string.pack("<I4", 111), string.pack("<I4", 222) } } },
      assert(core.bpf_map_read(k, vmlinux, maps[4])))
  end)

  it("refuses a map type it cannot read", function()
    assert.are.same({ nil, "bpf_map_read: ktstr_ops: map type struct_ops not supported",
      "ENOTSUP" }, { core.bpf_map_read(k, vmlinux, maps[5]) })
  end)

  it("needs the map's va", function()
    assert.has_error(function() core.bpf_map_read(k, vmlinux, { name = "x" }) end)
  end)

  it("names a map header outside guest RAM", function()
    assert.are.same({ nil, "bpf_map_read: map at " .. hex(va(0x40000000))
      .. ": unreadable guest memory (a wild pointer?)", "EFAULT" },
      { core.bpf_map_read(k, vmlinux, { va = hex(va(0x40000000)) }) })
  end)

  it("returns the map's BTF blob, which btf_new parses", function()
    local blob = assert(core.bpf_map_btf(k, vmlinux, maps[1]))
    assert.are.equal(INT_BTF, blob)
    local b = assert(core.btf_new(blob))
    assert.are.equal("int", b:type(1).name)
    b:close()
    assert.are.same({ nil, "bpf_map_btf: pids: map has no BTF", "ENOENT" },
      { core.bpf_map_btf(k, vmlinux, maps[2]) })
  end)
end)

describe("bpf_map_read on corrupt maps", function()
  local function read_one(r)
    local k = open_kernel(r)
    local maps = assert(core.bpf_maps(k, vmlinux, hex(va(0x1000))))
    return core.bpf_map_read(k, vmlinux, maps[1])
  end

  -- The idr's only map: an empty hash of 4 entries with its buckets at 0x30000.
  local function empty_hash(name, n_buckets)
    local r = ram()
    idr(r, { [1] = va(0x20000) })
    htab(r, 0x20000, { id = 1, name = name, type = 1, key_size = 4, value_size = 8,
      max_entries = 4 }, 0x30000, n_buckets, {})
    return r
  end

  it("refuses 2^31 entries of 1 GiB before reading any", function()
    local r = ram()
    idr(r, { [1] = va(0x10000) })
    map(r, 0x10000, { id = 1, name = "huge", type = 2, key_size = 4, value_size = 1 << 30,
      max_entries = 1 << 31 })
    assert.are.same({ nil, "bpf_map_read: huge: too large to read (max_entries 2147483648, "
      .. "value_size 1073741824)", "E2BIG" }, { read_one(r) })
  end)

  it("stops a bucket chain that cycles", function()
    local r = empty_hash("loop", 4)
    r.u64(0x30000 + off.first, va(0x31000 + off.hash_node))
    r.u64(0x31000 + off.hash_node + off.next, va(0x31000 + off.hash_node))
    assert.are.same({ nil, "bpf_map_read: loop: too many xarray nodes or hash elements "
      .. "(a cycle?)", "ELOOP" }, { read_one(r) })
  end)

  it("refuses a bucket count that is no power of two", function()
    local r = empty_hash("odd", 3)
    assert.are.equal("EBADMSG", select(3, read_one(r)))
  end)

  it("names an element pointer outside guest RAM", function()
    local r = empty_hash("wild", 4)
    r.u64(0x30000 + off.bucket + off.first, va(0x40000000))
    assert.are.same({ nil, "bpf_map_read: wild: unreadable guest memory (a wild pointer?)",
      "EFAULT" }, { read_one(r) })
  end)

  it("refuses a BTF blob over 16 MiB", function()
    local r = ram()
    idr(r, { [1] = va(0x10000) })
    map(r, 0x10000, { id = 1, name = "fat", type = 2, key_size = 4, value_size = 8,
      max_entries = 1, btf = va(0x40000) })
    r.u32(0x40000 + off.btf_data_size, 0xffffffff)
    local k = open_kernel(r)
    local maps = assert(core.bpf_maps(k, vmlinux, hex(va(0x1000))))
    assert.are.same({ nil, "bpf_map_btf: fat: too large to read", "E2BIG" },
      { core.bpf_map_btf(k, vmlinux, maps[1]) })
  end)
end)
