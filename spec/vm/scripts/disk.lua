-- The scratch disk: each IO work type makes progress there, its counters move,
-- io_weight splits it, and a test without IO has no disk.
local ktstr = require("ktstr")

-- Work units of a cgroup's workers, summed, by cgroup name.
local function units(result)
  local out = {}
  for _, cg in ipairs(result.cgroups) do
    local n = 0
    for _, w in ipairs(cg.workers) do n = n + w.work_units end
    out[cg.name] = n
  end
  return out
end

ktstr.test{
  name = "disk_io_types",
  duration_s = 4,
  defs = {
    ktstr.cgroup("sync_write"):work(ktstr.work.io_sync_write()),
    ktstr.cgroup("rand_read"):work(ktstr.work.io_rand_read()),
    ktstr.cgroup("convoy"):work(ktstr.work.io_convoy()),
  },
  post_vm = function(result)
    local u, d = units(result), result.disk
    for _, name in ipairs({ "sync_write", "rand_read", "convoy" }) do
      assert(u[name] > 0, name .. " made no progress")
    end
    assert(d and d.dev == "vda", "no scratch disk in the result")
    assert(d.size == 256 << 20, "the disk is not the default 256 MiB: " .. tostring(d.size))
    assert(d.scheduler == "mq-deadline", "the disk's scheduler is " .. tostring(d.scheduler))
    local s = d.stat
    -- every O_DIRECT read is a request of its own, or merged into one when two
    -- workers happen to read neighbouring blocks at once
    assert(s.reads + s.reads_merged >= u.rand_read + u.convoy,
      ("%d reads (%d merged) on the disk, %d done by the workers"):format(s.reads,
        s.reads_merged, u.rand_read + u.convoy))
    assert(s.read_sectors >= 8 * (u.rand_read + u.convoy), "reads of less than 4 KiB")
    -- convoy's O_DIRECT writes and sync_write's 16 blocks a unit reach the disk
    assert(s.write_sectors >= 8 * (u.convoy + 16 * u.sync_write),
      ("%d sectors written, the workers wrote %d"):format(s.write_sectors,
        8 * (u.convoy + 16 * u.sync_write)))
    -- fdatasync: a cache flush per sync_write unit, and per 16 convoy pairs
    assert(s.flushes >= u.sync_write, ("%d flushes for %d fdatasyncs"):format(s.flushes,
      u.sync_write))
  end,
}

-- A run(ctx) body's cgroups are not known at load: it asks for the disk.
ktstr.test{
  name = "disk_run_body",
  duration_s = 3,
  disk = "64M",
  run = function(ctx)
    return ctx:execute_defs{ ktstr.cgroup("reader"):workers(2):work(ktstr.work.io_rand_read()) }
  end,
  post_vm = function(result)
    assert(result.disk and result.disk.size == 64 << 20, "no 64 MiB disk")
    assert(units(result).reader > 0, "the readers made no progress")
    local s = result.disk.stat
    assert(s.reads + s.reads_merged >= units(result).reader,
      ("%d reads (%d merged) reached the disk, the readers did %d"):format(s.reads,
        s.reads_merged, units(result).reader))
  end,
}

--[[
io_weight: iocost gives the disk a fixed capacity (200 IOPS under ktstr's
model) and splits it by weight, so 400 against 100 reads about 4 times as
much (3.3 to 3.9 measured); equal weights read alike (0.98).
]]
local function weighted(name, lo, hi, check)
  ktstr.test{
    name = name,
    duration_s = 6,
    defs = {
      ktstr.cgroup("lo"):workers(2):work(ktstr.work.io_rand_read()):io_weight(lo),
      ktstr.cgroup("hi"):workers(2):work(ktstr.work.io_rand_read()):io_weight(hi),
    },
    post_vm = function(result)
      local u = units(result)
      assert(result.disk.iocost, "iocost is not on for the disk")
      assert(u.lo > 0, "the weight-" .. lo .. " cgroup read nothing")
      return check(u.hi / u.lo, u)
    end,
  }
end

weighted("io_weight_splits_the_disk", 100, 400, function(ratio, u)
  if ratio < 2 then
    return ktstr.fail(("io.weight 400 read %d, io.weight 100 read %d: %.2fx, not >= 2x")
      :format(u.hi, u.lo, ratio))
  end
end)

weighted("io_weight_equal", 100, 100, function(ratio, u)
  if ratio < 0.5 or ratio > 2 then
    return ktstr.fail(("equal weights read %d and %d: %.2fx apart"):format(u.hi, u.lo, ratio))
  end
end)

ktstr.test{
  name = "no_disk",
  duration_s = 1,
  defs = { ktstr.cgroup("spin") },
  post_vm = function(result)
    assert(result.disk == nil, "a test without IO got a disk")
  end,
}
