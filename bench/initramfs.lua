-- Packing time of the guest image: a cache miss (empty cache dir) and a hit, median of 5.
-- bench/lib: what the bench scripts share
package.path = arg[0]:gsub("[^/]*$", "") .. "lib/?.lua;" .. package.path
local stat = require("stat")
local core = require("ktstr.core")
local initramfs = require("ktstr.host.initramfs")

local RUNS = 5
local dir = assert(core.mkdtemp("/tmp/ktstr-bench-initramfs-"))

-- A fresh out each time, as in a fresh run directory.
local function build(cache_dir, n)
  return assert(initramfs.build({
    cache_dir = cache_dir,
    run_files = { { data = "bench\n", dst = "/etc/ktstr-bench" } },
    out = ("%s/initrd-%d.cpio"):format(dir, n),
  }))
end

local miss, hit = {}, {}
for i = 1, RUNS do
  local img = build(("%s/cache-%d"):format(dir, i), i)
  assert(not img.cache_hit)
  miss[#miss + 1] = img.pack_ms
end
for i = 1, RUNS do
  local img = build(dir .. "/cache-1", RUNS + i)
  assert(img.cache_hit)
  hit[#hit + 1] = img.pack_ms
end
local f = assert(io.open(dir .. "/initrd-1.cpio", "rb"))
local size = f:seek("end")
f:close()
core.rm_rf(dir)

print(("initramfs image: %.1f MiB uncompressed"):format(size / 1048576))
print(("pack, cache miss: median %.1f ms of %d (min %.1f, max %.1f)")
  :format(stat.median(miss), RUNS, math.min(table.unpack(miss)), math.max(table.unpack(miss))))
print(("pack, cache hit:  median %.1f ms of %d (min %.1f, max %.1f)")
  :format(stat.median(hit), RUNS, math.min(table.unpack(hit)), math.max(table.unpack(hit))))
