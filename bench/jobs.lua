-- ktstr script -j: the whole tests/ suite with -j 1, -j 2, and -j 2 past the CPU budget: wall
-- time and the tests that did not pass (throughput_gate fails by design: the tutorial's failing
-- gate). Configurations are interleaved so host load hits each alike; N rounds (default 1).
local core = require("ktstr.core")

local N = tonumber(os.getenv("N") or "1")

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function scripts()
  local p = assert(io.popen("ls tests/*.lua"))
  local out = {}
  for f in p:lines() do out[#out + 1] = f end
  p:close()
  return out
end

local CONFIGS = { { "-j", "1" }, { "-j", "2" }, { "-j", "2", "--cpu-budget", "4" } }

-- One whole-suite run: wall seconds and the summary line.
local function suite(args)
  local q = {}
  for i, f in ipairs(scripts()) do q[i] = sh_quote(f) end
  local dir = assert(core.mkdtemp("/tmp/ktstr-bench-jobs-"))
  local cmd = ("KTSTR_SIDECAR_DIR=%s %s script %s %s 2>/dev/null"):format(dir,
    sh_quote(core.exe()), table.concat(q, " "), table.concat(args, " "))
  local t0 = core.now()
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  p:close()
  core.rm_rf(dir)
  local summary = out:match("(%d+ passed, %d+ failed[^\n]*)\n") or "no summary"
  local bad = {}
  for status, name in out:gmatch("\n(%u+) (%S+) %[") do
    if status ~= "PASS" then bad[#bad + 1] = status .. " " .. name end
  end
  if out:match("^(%u+) (%S+) %[") and not out:match("^PASS") then
    bad[#bad + 1] = out:match("^(%u+ %S+)")
  end
  return core.now() - t0, summary, bad
end

print(("jobs: tests/ (%d scripts), %d round(s)"):format(#scripts(), N))
local sums = {}
for i = 1, N do
  for k, args in ipairs(CONFIGS) do
    local wall, summary, bad = suite(args)
    sums[k] = (sums[k] or 0) + wall
    print(("  round %d %-22s %.1fs  %s%s"):format(i, table.concat(args, " "), wall, summary,
      #bad > 0 and "  not passed: " .. table.concat(bad, ", ") or ""))
  end
end
for k, args in ipairs(CONFIGS) do
  print(("jobs: %-22s mean wall %.1fs (%.2fx of -j 1)"):format(table.concat(args, " "),
    sums[k] / N, sums[k] / sums[1]))
end
