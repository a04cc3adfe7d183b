-- ktstr script -j: the whole tests/ suite with -j 1 and with -j 2, wall time and false failures.
-- Runs are interleaved (j1, j2, j1, j2, ...) so host load hits both alike; N pairs (default 1).
-- A false failure is any test that did not pass: every test in tests/ passes on a clean run.
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

-- One whole-suite run: wall seconds and the summary line.
local function suite(jobs)
  local q = {}
  for i, f in ipairs(scripts()) do q[i] = sh_quote(f) end
  local dir = assert(core.mkdtemp("/tmp/ktstr-bench-jobs-"))
  local cmd = ("KTSTR_SIDECAR_DIR=%s %s script %s -j %d 2>/dev/null"):format(dir,
    sh_quote(core.exe()), table.concat(q, " "), jobs)
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

print(("jobs: tests/ (%d scripts) with -j 1 and -j 2, %d pair(s)"):format(#scripts(), N))
local sums = { [1] = 0, [2] = 0 }
for i = 1, N do
  for _, j in ipairs({ 1, 2 }) do
    local wall, summary, bad = suite(j)
    sums[j] = sums[j] + wall
    print(("  pair %d -j %d: %.1fs  %s%s"):format(i, j, wall, summary,
      #bad > 0 and "  not passed: " .. table.concat(bad, ", ") or ""))
  end
end
print(("jobs: mean wall -j 1 %.1fs, -j 2 %.1fs, ratio %.2f"):format(sums[1] / N, sums[2] / N,
  sums[2] / sums[1]))
