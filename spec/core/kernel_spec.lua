-- Kernel virtual addresses in a fake guest RAM file: direct map, kernel image and the
-- page-table walk (4K pages, 2 MiB and 1 GiB leaves, 4 and 5 levels, holes).
local core = require("ktstr.core")

local PO = 0xffff888000000000 -- page_offset_base with 4 levels
local PO_5L = 0xff11000000000000 -- and with 5
local START_MAP = 0xffffffff80000000 -- __START_KERNEL_map
local VMALLOC = 0xffffc90000000000
local RAM_SIZE = 0x800000
local P, PSE, NX = 0x3, 0x80, 1 << 63 -- present+rw, huge leaf, no-execute

local function hex(v) return ("0x%x"):format(v) end
local function idx(va, level) return (va >> (12 + 9 * (level - 1))) & 511 end

local dir, path

-- Page tables at 0x1000 (PGD), 0x2000 (PUD), 0x3000 (PMD), 0x4000 (PT) for VMALLOC,
-- plus a PML5 at 0x8000 above the PGD; data pages at 0x5000, 0x7000 and 0x400000.
local function tables()
  local w = {}
  local function u64(pa, v) w[#w + 1] = { pa, string.pack("<I8", v) } end
  u64(0x8000 + 8 * idx(VMALLOC, 5), 0x1000 | P)
  u64(0x1000 + 8 * idx(VMALLOC, 4), 0x2000 | P)
  u64(0x2000 + 8 * idx(VMALLOC, 3), 0x3000 | P)
  u64(0x2000 + 8 * (idx(VMALLOC, 3) + 1), 0x40000000 | P | PSE) -- 1 GiB leaf
  u64(0x3000 + 8 * 0, 0x4000 | P)
  u64(0x3000 + 8 * 1, 0x400000 | P | PSE) -- 2 MiB leaf
  u64(0x4000 + 8 * 1, 0x5000 | P)
  -- PT slot 2 stays empty; slot 3 has an address but no present bit
  u64(0x4000 + 8 * 3, 0x6000)
  u64(0x4000 + 8 * 4, 0x5000 | P | NX)
  u64(0x4000 + 8 * 5, 0x7000 | P) -- followed by 0x5000 at slot 6
  u64(0x4000 + 8 * 6, 0x5000 | P)
  w[#w + 1] = { 0x5000, "hello from a 4K page" }
  w[#w + 1] = { 0x7ffc, "tail" }
  w[#w + 1] = { 0x401234, "inside a 2 MiB page" }
  return w
end

local function open(addrs)
  local gm = assert(core.guestmem_open({ path }))
  local t = { page_offset = hex(PO), levels = 4, nr_cpus = 1 }
  for k, v in pairs(addrs or {}) do t[k] = v end
  return assert(core.kernel_open(gm, t))
end

setup(function()
  dir = assert(core.mkdtemp("/tmp/ktstr-kernel-"))
  path = dir .. "/ram0"
  local f = assert(io.open(path, "wb"))
  f:seek("set", RAM_SIZE - 1)
  f:write("\0")
  for _, w in ipairs(tables()) do
    f:seek("set", w[1])
    f:write(w[2])
  end
  f:close()
end)

teardown(function()
  core.rm_rf(dir)
end)

describe("kernel address translation without page tables", function()
  it("maps the direct map and the kernel image linearly", function()
    local k = open({ phys_base = "0x200000" })
    assert.are.equal(0x1234, k:xlate(hex(PO + 0x1234)))
    assert.are.equal(0x201000, k:xlate(hex(START_MAP + 0x1000)))
    assert.are.equal("hello", k:read(hex(PO + 0x5000), 5))
  end)

  it("refuses vmalloc and user addresses", function()
    local k = open()
    assert.are.equal("EFAULT", select(3, k:xlate(hex(VMALLOC + 0x1000))))
    assert.are.equal("EFAULT", select(3, k:xlate("0x5000")))
  end)

  it("names a read past the end of RAM", function()
    assert.are.same({ nil, "kernel read: " .. hex(PO + RAM_SIZE - 4) .. ": Bad address",
      "EFAULT" }, { open():read(hex(PO + RAM_SIZE - 4), 8) })
  end)
end)

describe("the 4-level page-table walk", function()
  local k

  before_each(function()
    k = open({ pgd = hex(START_MAP + 0x1000) })
  end)

  it("follows a 4K PTE", function()
    assert.are.equal(0x5010, k:xlate(hex(VMALLOC + 0x1010)))
    assert.are.equal("hello from a 4K page", k:read(hex(VMALLOC + 0x1000), 20))
  end)

  it("stops at a 2 MiB PMD leaf", function()
    assert.are.equal(0x401234, k:xlate(hex(VMALLOC + 0x201234)))
    assert.are.equal("inside a 2 MiB page", k:read(hex(VMALLOC + 0x201234), 19))
  end)

  it("stops at a 1 GiB PUD leaf", function()
    assert.are.equal(0x40012345, k:xlate(hex(VMALLOC + 0x40012345)))
    -- mapped, but beyond this guest's RAM
    assert.are.equal("EFAULT", select(3, k:read(hex(VMALLOC + 0x40012345), 1)))
  end)

  it("ignores the NX bit in the physical address", function()
    assert.are.equal(0x5000, k:xlate(hex(VMALLOC + 0x4000)))
  end)

  it("refuses empty and non-present entries", function()
    assert.are.same({ nil, "kernel read: " .. hex(VMALLOC + 0x2000) .. ": Bad address",
      "EFAULT" }, { k:xlate(hex(VMALLOC + 0x2000)) })
    assert.are.equal("EFAULT", select(3, k:xlate(hex(VMALLOC + 0x3000))))
    assert.are.equal("EFAULT", select(3, k:xlate(hex(VMALLOC + 0x400000))))
  end)

  it("translates each page of a read that crosses pages", function()
    assert.are.equal("tailhell", k:read(hex(VMALLOC + 0x5ffc), 8))
  end)

  it("fails a read that runs from a mapped into an unmapped page", function()
    local ok, err, code = k:read(hex(VMALLOC + 0x1ff8), 16)
    assert.is_nil(ok)
    assert.matches("^kernel read: " .. hex(VMALLOC + 0x1ff8), err)
    assert.are.equal("EFAULT", code)
  end)

  it("refuses non-canonical addresses instead of aliasing them", function()
    assert.are.equal("EFAULT", select(3, k:xlate(hex((VMALLOC + 0x1000) & ~(0x7fff << 48)))))
  end)
end)

describe("the 5-level page-table walk", function()
  it("takes one more level from the PML5", function()
    local k = open({ page_offset = hex(PO_5L), levels = 5, pgd = hex(START_MAP + 0x8000) })
    assert.are.equal(0x5010, k:xlate(hex(VMALLOC + 0x1010)))
    assert.are.equal(0x401234, k:xlate(hex(VMALLOC + 0x201234)))
    assert.are.equal("EFAULT", select(3, k:xlate(hex(VMALLOC + 0x2000))))
  end)
end)

describe("the word CAS", function()
  local function rw(addrs)
    local gm = assert(core.guestmem_open({ path }, { writable = true }))
    local t = { page_offset = hex(PO), levels = 4, nr_cpus = 1 }
    for k, v in pairs(addrs or {}) do t[k] = v end
    return assert(core.kernel_open(gm, t)), gm
  end

  local function file_u64(pa)
    local f = assert(io.open(path, "rb"))
    f:seek("set", pa)
    local v = string.unpack("<i8", f:read(8))
    f:close()
    return v
  end

  it("swaps an aligned u64 that holds the expected value, in the RAM file itself", function()
    local k = rw()
    assert.is_true(k:cas(hex(PO + 0x6100), 8, 0, 0x1122334455667788))
    assert.are.equal(0x1122334455667788, k:u64(hex(PO + 0x6100)))
    assert.are.equal(0x1122334455667788, file_u64(0x6100))
    -- all 64 bits, the sign bit too
    assert.is_true(k:cas(hex(PO + 0x6100), 8, 0x1122334455667788, -2))
    assert.are.equal(-2, file_u64(0x6100))
  end)

  it("refuses when the word holds something else, and says what", function()
    local k = rw()
    assert.is_true(k:cas(hex(PO + 0x6108), 8, 0, 5))
    assert.are.same({ false, 5 }, { k:cas(hex(PO + 0x6108), 8, 4, 9) })
    assert.are.equal(5, file_u64(0x6108))
  end)

  it("swaps an aligned u32 and leaves its neighbour alone", function()
    local k = rw()
    assert.is_true(k:cas(hex(PO + 0x6110), 8, 0, 0x7777777700000000))
    assert.is_true(k:cas(hex(PO + 0x6110), 4, 0, 0xfffffffe))
    assert.are.equal(0xfffffffe, k:u32(hex(PO + 0x6110)))
    assert.are.equal(0x77777777, k:u32(hex(PO + 0x6114)))
    assert.are.same({ false, 0xfffffffe }, { k:cas(hex(PO + 0x6110), 4, 1, 2) })
  end)

  it("writes where the page-table walk leads", function()
    local k = rw({ pgd = hex(START_MAP + 0x1000) })
    -- VMALLOC + 0x5000 is PT slot 5: guest-physical page 0x7000
    assert.is_true(k:cas(hex(VMALLOC + 0x5100), 8, 0, 42))
    assert.are.equal(42, file_u64(0x7100))
  end)

  it("takes the last word of RAM and nothing past it", function()
    local k = rw()
    assert.is_true(k:cas(hex(PO + RAM_SIZE - 8), 8, 0, 1))
    assert.are.same({ nil, "kernel write: " .. hex(PO + RAM_SIZE) .. ": Bad address", "EFAULT" },
      { k:cas(hex(PO + RAM_SIZE), 8, 0, 1) })
  end)

  it("refuses unmapped, non-present and user addresses", function()
    local k = rw({ pgd = hex(START_MAP + 0x1000) })
    assert.are.equal("EFAULT", select(3, k:cas(hex(VMALLOC + 0x2000), 8, 0, 1)))
    assert.are.equal("EFAULT", select(3, k:cas(hex(VMALLOC + 0x3000), 8, 0, 1)))
    assert.are.equal("EFAULT", select(3, k:cas("0x6100", 8, 0, 1)))
  end)

  it("refuses to write through a read-only guestmem", function()
    local k = open()
    assert.are.same({ nil, "kernel write: " .. hex(PO + 0x6118) .. ": Operation not permitted",
      "EPERM" }, { k:cas(hex(PO + 0x6118), 8, 0, 1) })
    assert.are.equal(0, file_u64(0x6118))
  end)

  it("raises on a bad size, a misaligned address or a value too wide", function()
    local k = rw()
    assert.has_error(function() k:cas(hex(PO + 0x6120), 2, 0, 1) end)
    assert.has_error(function() k:cas(hex(PO + 0x6124), 8, 0, 1) end)
    assert.has_error(function() k:cas(hex(PO + 0x6122), 4, 0, 1) end)
    assert.has_error(function() k:cas(hex(PO + 0x6120), 4, 0, 0x100000000) end)
    assert.has_error(function() k:cas(hex(PO + 0x6120), 4, -1, 1) end)
    -- a word across a page boundary cannot be aligned: the check above is the page check
    assert.has_error(function() k:cas(hex(PO + 0x6ffc), 8, 0, 1) end)
    assert.are.equal(0, file_u64(0x6120))
  end)
end)
