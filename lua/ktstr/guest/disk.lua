-- The scratch disk in the guest: its driver loaded, the device found, its counters, iocost on it.
local core = require("ktstr.core")

local M = {}

-- The host packs the driver modules a disk needs here, and `load` lists them in load order.
M.MODULES_DIR = "/lib/modules/ktstr"
-- virtio_blk probes the device as it loads; the node may lag behind a little.
local FIND_S = 5

local function read_file(path)
  local f = io.open(path, "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function write_file(path, s)
  local f, err = io.open(path, "w")
  if not f then return nil, err end
  local ok, werr = f:write(s)
  local cok, cerr = f:close()
  if not ok or not cok then return nil, path .. ": " .. tostring(werr or cerr) end
  return true
end

--[[
Loads the modules the host packed (none without a disk) and finds the disk
by its serial. Returns nil when the guest has no disk, else { dev = "vda",
size = bytes, scheduler = "mq-deadline" }, or raises naming what failed (a
module the kernel refused, a disk that never appeared): the host asked for
a disk and must hear why there is none. Enables the io controller at the
cgroup root, for io.weight.
]]
function M.setup()
  local list = read_file(M.MODULES_DIR .. "/load")
  for name in (list or ""):gmatch("%S+") do
    local path = M.MODULES_DIR .. "/" .. name
    local ok, err, code = core.module_load(path)
    if not ok and code ~= "EEXIST" then error("scratch disk: " .. err, 0) end
  end
  local dev = core.disk_find()
  local deadline = core.now() + FIND_S
  while not dev and list and core.now() < deadline do
    core.sleep(0.01)
    dev = core.disk_find()
  end
  if not dev then
    if list then
      error(("scratch disk: no block device with serial ktstr-scratch after loading %s")
        :format(list:gsub("%s+", " "):gsub(" $", "")), 0)
    end
    return nil
  end
  local ok, err = write_file("/sys/fs/cgroup/cgroup.subtree_control", "+io")
  if not ok then error("scratch disk: enabling the io controller: " .. err, 0) end
  return M.info(dev)
end

-- What the host and the result say about the disk dev.
function M.info(dev)
  local q = "/sys/block/" .. dev
  local sectors = tonumber((read_file(q .. "/size") or ""):match("%d+"))
  local sched = (read_file(q .. "/queue/scheduler") or ""):match("%[(.-)%]")
  return { dev = dev, size = sectors and sectors * 512, scheduler = sched }
end

--[[
iocost (blk-iocost, the io controller's io.weight) on the disk, so that
io.weight splits it. iocost charges each IO a cost from a device model and
lets each cgroup spend, per period, its weight's share of the device; QoS
bounds how far it may scale the whole (vrate). ktstr pins vrate at 100%
(min = max = 100, no latency targets) under a fixed linear model, so the
disk's capacity is the model's, a little under what a TCG guest's virtio
disk does, and the weights decide who gets it whatever the host's load.
]]
M.IOCOST_MODEL = "ctrl=user model=linear rbps=2147483647 rseqiops=%d rrandiops=%d " ..
  "wbps=2147483647 wseqiops=%d wrandiops=%d"
M.IOCOST_IOPS = 200
M.IOCOST_QOS = "enable=1 ctrl=user rpct=0 wpct=0 min=100 max=100"

-- Turns iocost on for dev (its model and QoS at the cgroup root) unless
-- something already did (a test body that set its own); true | nil, err.
function M.iocost(dev)
  local majmin = (read_file("/sys/block/" .. dev .. "/dev") or ""):match("%d+:%d+")
  if not majmin then return nil, "no /sys/block/" .. dev .. "/dev" end
  local qos = read_file("/sys/fs/cgroup/io.cost.qos")
  if not qos then
    return nil, "no /sys/fs/cgroup/io.cost.qos: the kernel has no iocost (CONFIG_BLK_CGROUP_IOCOST)"
  end
  if qos:find(majmin .. " enable=1", 1, true) then return true end
  local n = M.IOCOST_IOPS
  local ok, err = write_file("/sys/fs/cgroup/io.cost.model", majmin .. " " ..
    M.IOCOST_MODEL:format(n, n, n, n))
  if ok then ok, err = write_file("/sys/fs/cgroup/io.cost.qos", majmin .. " " .. M.IOCOST_QOS) end
  if not ok then return nil, "iocost on " .. dev .. ": " .. err end
  return true
end

-- /sys/block/<dev>/stat's fields (Documentation/block/stat.rst), by name.
local STAT = { "reads", "reads_merged", "read_sectors", "read_ticks_ms", "writes",
  "writes_merged", "write_sectors", "write_ticks_ms", "in_flight", "io_ticks_ms",
  "queue_ticks_ms", "discards", "discards_merged", "discard_sectors", "discard_ticks_ms",
  "flushes", "flush_ticks_ms" }

-- The disk's counters now: { reads =, writes =, flushes =, ... } | nil.
function M.stat(dev)
  local s = read_file("/sys/block/" .. dev .. "/stat")
  if not s then return nil end
  local out, i = {}, 0
  for n in s:gmatch("%d+") do
    i = i + 1
    if STAT[i] then out[STAT[i]] = math.tointeger(tonumber(n)) end
  end
  return out
end

-- How far each counter of stat moved from before to after (in_flight: as after).
function M.delta(before, after)
  local out = {}
  for k, v in pairs(after) do
    out[k] = k == "in_flight" and v or v - (before[k] or 0)
  end
  return out
end

return M
