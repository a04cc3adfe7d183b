-- Telemetry overhead: a spin_wait-shaped loop with and without checkpoints.
-- `ktstr lua bench/telemetry.lua [--guest]`: --guest reruns it inside a
-- 1n2l2c1t guest (TCG or KVM, whichever `ktstr vm` picks). REPS=, SPINS= tune it.
local core = require("ktstr.core")

local arg1, arg2, arg3 = ...
local REPS = tonumber(arg2 or os.getenv("REPS") or "9")
local SPINS = tonumber(arg3 or os.getenv("SPINS") or "4000000")

-- The fastest run: neighbours (other guests on a shared host) only add time.
local function best(xs)
  return math.min(table.unpack(xs))
end

-- Two views: the wall-clock difference between bare and instrumented runs
-- (interleaved, fastest of REPS), and the time spent inside the checkpoints
-- timed by the TSC around each call, which host noise barely touches.
local function measure(every)
  local bare, tele, inside = {}, {}, {}
  core.telem_bench(SPINS // 4, every, true)   -- warm up
  for i = 1, REPS do
    bare[i] = core.telem_bench(SPINS, every, false)
    local ns, in_ns = core.telem_bench(SPINS, every, true)
    tele[i], inside[i] = ns, in_ns / ns
  end
  local b, t = best(bare), best(tele)
  table.sort(inside)
  local frac = inside[(#inside + 1) // 2]
  local checkpoints = SPINS // every
  return {
    every = every,
    bare_ns_per_spin = b / SPINS,
    wall_pct = (t - b) / b * 100,
    inside_pct = frac / (1 - frac) * 100,
    ns_per_checkpoint = frac * t / checkpoints,
  }
end

-- strace -c over a run of 10^6 checkpoints: startup syscalls only, or one each?
local function count_syscalls()
  if not os.execute("command -v strace >/dev/null 2>&1") then return nil end
  local dir = assert(core.mkdtemp("/tmp/ktstr-bench-"))
  local script = dir .. "/cp.lua"
  local f = assert(io.open(script, "w"))
  f:write('require("ktstr.core").telem_bench(1000000, 1, true)\n')
  f:close()
  local base = dir .. "/base.lua"
  f = assert(io.open(base, "w"))
  f:write('require("ktstr.core").telem_bench(1000000, 1, false)\n')
  f:close()
  local function total(file)
    os.execute(("strace -f -c -o %s/out %s lua %s"):format(dir, core.exe(), file))
    local fh = io.open(dir .. "/out")
    if not fh then return nil end
    local out = fh:read("a")
    fh:close()
    return tonumber(out:match("\n%s*100%.00%s+%S+%s+%S+%s+(%d+)"))
  end
  local with, without = total(script), total(base)
  core.rm_rf(dir)
  if not (with and without) then return nil end
  return with, without
end

local function run_here(where)
  print(("%s: %d spins per run, %d interleaved runs each; spin_wait checkpoints every 1024 spins")
    :format(where, SPINS, REPS))
  for _, every in ipairs({ 1024, 128, 1 }) do
    local m = measure(every)
    print(("  checkpoint every %4d spins (%.1f us): %.1f ns/checkpoint inside, " ..
      "overhead %.3f%% (wall-clock difference %+.2f%%)")
      :format(m.every, m.every * m.bare_ns_per_spin / 1000, m.ns_per_checkpoint,
        m.inside_pct, m.wall_pct))
  end
  local with, without = count_syscalls()
  if with then
    print(("  syscalls (strace -c, whole process): %d with 10^6 checkpoints, %d without")
      :format(with, without))
  else
    print("  syscalls: strace not available here")
  end
end

if arg1 == "--inner" then
  run_here("guest")
  return 0
end
run_here("host")
if arg1 == "--guest" then
  local strace = io.popen("command -v strace"):read("l")
  local argv = { core.exe(), "vm", "--topo", "1n2l2c1t", "-i", "bench:/bench" }
  if strace then
    -- strace and the libraries it needs (the image packs ktstr's closure only)
    local files = { strace }
    local p = io.popen("ldd " .. strace)
    for l in p:lines() do files[#files + 1] = l:match("=> (/%S+)") end
    p:close()
    for _, f in ipairs(files) do
      argv[#argv + 1] = "-i"
      argv[#argv + 1] = f .. ":" .. (f == strace and "/usr/bin/strace" or f)
    end
  end
  for _, a in ipairs({ "--", "ktstr", "lua", "/bench/telemetry.lua", "--inner",
      tostring(REPS), tostring(SPINS) }) do
    argv[#argv + 1] = a
  end
  for i, a in ipairs(argv) do argv[i] = "'" .. a:gsub("'", "'\\''") .. "'" end
  os.execute(table.concat(argv, " "))
end
return 0
