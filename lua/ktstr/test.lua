-- ktstr.test{...}: validates a test's declaration and registers it for the runner.
local V = require("ktstr.validate")
local thresholds = require("ktstr.thresholds")
local cgroupdef = require("ktstr.cgroupdef")
local step = require("ktstr.step")
local work = require("ktstr.work")

local M = {}

-- Topology keys and their defaults (llcs counts all nodes' LLCs; cores per LLC, threads per core).
local TOPOLOGY = { { "numa_nodes", 1 }, { "llcs", 1 }, { "cores", 2 }, { "threads", 1 } }

local KEYS = { name = true, memory_mib = true, scheduler = true, extra_sched_args = true,
  duration_s = true, watchdog_timeout_s = true, defs = true, steps = true, backdrop = true,
  run = true, post_vm = true, num_snapshots = true, expect_err = true, kaslr = true,
  expect_scx_bpf_error_contains = true, expect_scx_bpf_error_matches = true, payloads = true,
  disk = true }
for _, t in ipairs(TOPOLOGY) do KEYS[t[1]] = true end
for k in pairs(thresholds.KEYS) do KEYS[k] = true end

-- Spellings readers bring from the Rust ktstr.
local RENAMED = { not_stuck = "not_starved" }

local registry, by_name = {}, {}

local function seconds(v, w, default)
  if v == nil then return default end
  local s = V.duration(v, w)
  if s <= 0 then V.raise("%s: expected a duration > 0, got %s", w, tostring(v)) end
  return s
end

-- The body: declarative defs or steps (checked here, on the host, against
-- the topology), or run = function(ctx) for anything else.
local function body(t, test, w)
  local n = (t.defs and 1 or 0) + (t.steps and 1 or 0) + (t.run and 1 or 0)
  if n > 1 then V.raise("%s: give one of defs, steps or run", w) end
  if t.backdrop ~= nil and not t.steps then V.raise("%s: backdrop goes with steps", w) end
  if t.defs then
    local defs = {}
    for i, b in ipairs(V.list(t.defs, w .. ": defs")) do
      defs[i] = cgroupdef.unwrap(b, ("%s: defs[%d]"):format(w, i))
    end
    test.steps = { { setup = defs, ops = {}, hold = step.hold_api.full, source = test.source } }
  elseif t.steps then
    for i, s in ipairs(V.list(t.steps, w .. ": steps")) do
      if not step.is(s) then
        V.raise("%s: steps[%d]: expected ktstr.step{...}, got %s", w, i, tostring(s))
      end
    end
    test.steps = t.steps
    if t.backdrop ~= nil and (type(t.backdrop) ~= "table" or not t.backdrop.backdrop) then
      V.raise("%s: backdrop: expected ktstr.backdrop{...}, got %s", w, tostring(t.backdrop))
    end
    test.backdrop = t.backdrop
  elseif t.run ~= nil then
    if type(t.run) ~= "function" then
      V.raise("%s: run: expected a function(ctx), got %s", w, tostring(t.run))
    end
    test.run = t.run
  end
  if test.steps then step.check(test.steps, test.backdrop, test, test.scheduler ~= nil) end
  -- the payloads a run(ctx) body starts: declared here so that they are packed
  if t.payloads ~= nil then
    test.payloads = {}
    for i, b in ipairs(V.list(t.payloads, w .. ": payloads")) do
      local def = cgroupdef.unwrap(b, ("%s: payloads[%d]"):format(w, i))
      if not def.payload then
        V.raise("%s: payloads[%d]: expected ktstr.payload{...}, got %s", w, i, tostring(b))
      end
      test.payloads[i] = def
    end
  end
end

-- The scratch disk: its size when a test does not say (a sparse file, so
-- only what the IO writes takes room), and the sizes it may have: room for
-- io_sync_write's 64 KiB stripes at least, whole 4 KiB blocks (the IO
-- types' unit), and no more than a run dir should hold.
M.DISK_DEFAULT = 256 << 20
M.DISK_MIN = 1 << 20
M.DISK_MAX = 64 << 30

-- Whether defs or steps do IO on the disk, or weigh it (io_weight).
local function wants_disk(test)
  local found = false
  step.each_def(test, function(def, w)
    w = w or def.work
    if (w and work.DISK[w.type]) or (def and def.io_weight) then found = true end
  end)
  return found
end

-- A disk size: true (DISK_DEFAULT), bytes or "256M": bytes | nil, why.
function M.disk_size(v)
  if v == true then return M.DISK_DEFAULT end
  if v == false then
    return nil, "expected true or a size (\"256M\"), got false (a test without IO has no disk)"
  end
  local n, why = cgroupdef.parse_bytes(v)
  if not n then return nil, why end
  if n < M.DISK_MIN or n > M.DISK_MAX then
    return nil, ("expected a size from 1M to 64G, got %s"):format(tostring(v))
  end
  if n % 4096 ~= 0 then
    return nil, ("expected whole 4 KiB blocks (the IO work types' unit), got %s (%d bytes)")
      :format(tostring(v), n)
  end
  return n
end

-- disk = true | size: a scratch disk of that size; without the key, one of
-- DISK_DEFAULT when defs or steps use it.
local function disk(t, test, w)
  if t.disk == nil then
    test.disk = wants_disk(test) and M.DISK_DEFAULT or nil
    return
  end
  local n, why = M.disk_size(t.disk)
  if not n then V.raise("%s: disk: %s", w, why) end
  test.disk = n
end

-- SCX_WATCHDOG_MAX_TIMEOUT: the kernel refuses a longer timeout_ms.
M.WATCHDOG_MAX_S = 30

-- The shape and memory the VMM would refuse (CPU count, memory per node),
-- refused here, before any boot. Outside the ktstr binary the VMM checks.
local has_core, core = pcall(require, "ktstr.core")

local function topology_fits(test, w)
  if not has_core then return end
  local fits, err = core.topo_validate({ numa_nodes = test.numa_nodes, llcs = test.llcs,
    cores = test.cores, threads = test.threads, memory_mib = test.memory_mib })
  if not fits then V.raise("%s: %s", w, err) end
end

-- A negative test: the scheduler must fail, and with these words if given.
local function expectations(t, test, w)
  if t.expect_err ~= nil then test.expect_err = V.boolean(t.expect_err, w .. ": expect_err") end
  for _, k in ipairs({ "expect_scx_bpf_error_contains", "expect_scx_bpf_error_matches" }) do
    local v = t[k]
    if v ~= nil then
      if type(v) ~= "string" or v == "" then
        V.raise("%s: %s: expected a non-empty string, got %s", w, k, tostring(v))
      end
      if not test.expect_err then V.raise("%s: %s goes with expect_err = true", w, k) end
      test[k] = v
    end
  end
  local pat = test.expect_scx_bpf_error_matches
  if pat then
    local ok, hit = pcall(string.find, "", pat)
    if not ok then
      V.raise("%s: expect_scx_bpf_error_matches: bad Lua pattern %q: %s", w, pat,
        tostring(hit):gsub("^.-:%d+: ", ""))
    end
    if hit then
      V.raise("%s: expect_scx_bpf_error_matches: %q matches an empty error, so it checks nothing",
        w, pat)
    end
  end
  if test.expect_err and not test.scheduler then
    V.raise("%s: expect_err needs a scheduler (under EEVDF nothing can fail as expected)", w)
  end
end

-- ktstr.test{name =, ...} -> the test, registered in declaration order.
function M.new(t)
  local w = "ktstr.test"
  V.record(t, w, "{name = ..., ...}", KEYS, RENAMED)
  local name = V.name(t.name, w .. ": name")
  w = ("ktstr.test '%s'"):format(name)
  local test = { name = name, source = V.where() }
  for _, k in ipairs(TOPOLOGY) do
    test[k[1]] = t[k[1]] == nil and k[2] or V.integer(t[k[1]], w .. ": " .. k[1], 1)
  end
  if test.llcs % test.numa_nodes ~= 0 then
    V.raise("%s: llcs (%d) must be a multiple of numa_nodes (%d)", w, test.llcs, test.numa_nodes)
  end
  test.memory_mib = t.memory_mib and V.integer(t.memory_mib, w .. ": memory_mib", 1)
  -- the guest kernel's KASLR, on unless a test needs fixed addresses
  test.kaslr = t.kaslr == nil or V.boolean(t.kaslr, w .. ": kaslr")
  topology_fits(test, w)
  local sched = t.scheduler
  if sched ~= nil and (type(sched) ~= "table" or type(sched.name) ~= "string") then
    V.raise("%s: scheduler: expected a scheduler table with a name, got %s", w, tostring(sched))
  end
  test.scheduler = t.scheduler
  test.extra_sched_args = V.list(t.extra_sched_args or {}, w .. ": extra_sched_args")
  for _, a in ipairs(test.extra_sched_args) do
    if type(a) ~= "string" then
      V.raise("%s: extra_sched_args: expected strings, got %s", w, tostring(a))
    end
  end
  if #test.extra_sched_args > 0 and not test.scheduler then
    V.raise("%s: extra_sched_args needs a scheduler (the test runs under EEVDF)", w)
  end
  test.duration_s = seconds(t.duration_s, w .. ": duration_s", 12)
  test.watchdog_timeout_s = seconds(t.watchdog_timeout_s, w .. ": watchdog_timeout_s", 5)
  if test.watchdog_timeout_s > M.WATCHDOG_MAX_S then
    V.raise("%s: watchdog_timeout_s: the kernel's sched_ext watchdog takes at most %d s, got %s",
      w, M.WATCHDOG_MAX_S, tostring(t.watchdog_timeout_s))
  end
  for k, check in pairs(thresholds.KEYS) do
    if t[k] ~= nil then test[k] = check(t[k], w .. ": " .. k) end
  end
  body(t, test, w)
  disk(t, test, w)
  if t.post_vm ~= nil and type(t.post_vm) ~= "function" then
    V.raise("%s: post_vm: expected a function(result), got %s", w, tostring(t.post_vm))
  end
  test.post_vm = t.post_vm
  expectations(t, test, w)
  -- the Rust ktstr keeps at most 64 periodic captures
  test.num_snapshots = t.num_snapshots and V.integer(t.num_snapshots, w .. ": num_snapshots", 0, 64)
  if by_name[name] then
    V.raise("ktstr.test: duplicate test name '%s' (first declared at %s)", name,
      by_name[name].source)
  end
  registry[#registry + 1], by_name[name] = test, test
  return test
end

-- The tests declared so far, in declaration order.
function M.registry()
  return table.move(registry, 1, #registry, 1, {})
end

function M.reset()
  registry, by_name = {}, {}
end

return M
