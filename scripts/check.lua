-- make check: runs every busted suite through ktstr's own Lua, then sums them up.
local core = require("ktstr.core")

local exe = assert(core.exe())
-- spec/guest runs inside one 1n2l2c1t guest, with busted packed in beside it
-- and a scratch disk for the IO work types.
local GUEST_ARGS = { "vm", "--topo", "1n2l2c1t", "--timeout", "900", "--disk", "64M",
  "-i", "spec:/spec",
  "-i", "/usr/bin/busted:/usr/bin/busted",
  "-i", "/usr/share/lua/5.4:/usr/share/lua/5.4",
  "-i", "/usr/lib/x86_64-linux-gnu/lua/5.4:/usr/lib/x86_64-linux-gnu/lua/5.4",
  "--", "ktstr", "lua", "/usr/bin/busted", "--lpath=/spec/?.lua", "--pattern=_spec",
  "-o", "TAP", "/spec/guest" }
-- tests/ runs through spec/vm/tutorial_spec.lua, which asserts each verdict
-- spec/pkg: the rock (luarocks make), make install/uninstall, the man page, completion
local SUITES = { "lint", "layers", "spec/unit", "spec/core", "spec/pkg", "fuzz", "spec/guest",
  "spec/vm" }
-- seconds each libFuzzer target runs in the fuzz suite (make fuzz runs them longer)
local FUZZ_SECONDS = 5
local total = { passed = 0, failed = 0, skipped = 0 }

local function sh_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function has_specs(dir)
  local p = io.popen("ls " .. sh_quote(dir) .. " 2>/dev/null | grep -c '" ..
    (dir == "tests" and "[.]lua$" or "_spec[.]lua$") .. "'")
  local n = tonumber(p:read("a")) or 0
  p:close()
  return n > 0
end

local function suite_cmd(dir)
  if dir == "lint" then
    -- one TAP line per Lua file: no globals, no unused values (.luacheckrc)
    return "luacheck --formatter TAP lua scripts bench tests spec 2>&1"
  end
  if dir == "layers" then
    -- one TAP line per layering rule (scripts/layers.lua), violations as comments
    return ("%s lua scripts/layers.lua --tap 2>&1"):format(sh_quote(exe))
  end
  if dir == "fuzz" then
    -- one TAP line per libFuzzer target (scripts/fuzz.lua); a skip says why
    return ("%s lua scripts/fuzz.lua --tap %d 2>&1"):format(sh_quote(exe), FUZZ_SECONDS)
  end
  if dir == "tests" then
    return ("%s script tests/*.lua 2>&1"):format(sh_quote(exe))
  end
  if dir:match("^spec/guest") then
    local q = {}
    for i, a in ipairs(GUEST_ARGS) do q[i] = sh_quote(a) end
    q[#q] = sh_quote("/" .. dir)  -- one guest spec file, or all of them
    return ("%s %s 2>&1"):format(sh_quote(exe), table.concat(q, " "))
  end
  return ("%s lua /usr/bin/busted --pattern=_spec -o TAP %s 2>&1")
    :format(sh_quote(exe), sh_quote(dir))
end

local function run_suite(dir)
  local t0 = core.now()
  local counts = { passed = 0, failed = 0, skipped = 0 }
  local cmd = suite_cmd(dir)
  local p = io.popen(cmd)
  for line in p:lines() do
    if line:match("^SKIP ") then
      counts.skipped = counts.skipped + 1
    elseif line:match("^PASS ") then
      counts.passed = counts.passed + 1
    elseif line:match("^FAIL ") or line:match("^INCONCLUSIVE ") or line:match("^ERROR ") then
      counts.failed = counts.failed + 1
    elseif line:match("^ok %d+ %- # SKIP") then
      counts.skipped = counts.skipped + 1
    elseif line:match("^ok %d+") then
      counts.passed = counts.passed + 1
    elseif line:match("^not ok %d+") then
      counts.failed = counts.failed + 1
    end
    -- a suite's own summary must not pass for the closing line of make check
    if line:match("^%d+ passed, %d+ failed") then line = "# " .. line end
    -- a pass is counted, a skip shown too: its reason is what to act on
    if not line:match("^ok %d+") or line:match("^ok %d+ %- # SKIP") or os.getenv("V") then
      print(line)
    end
  end
  local ok, _, code = p:close()
  if not ok and counts.failed == 0 then
    print(("# %s: busted exited %s without a failing test: counted as a failure")
      :format(dir, tostring(code)))
    counts.failed = 1
  end
  print(("# %s: %d passed, %d failed, %d skipped (%.1fs)"):format(dir, counts.passed,
    counts.failed, counts.skipped, core.now() - t0))
  for k, v in pairs(counts) do total[k] = total[k] + v end
end

-- `scripts/check.lua [DIR | FILE]` runs one suite or one spec file.
local only = ...
for _, dir in ipairs(only and { only } or SUITES) do
  local named = dir == "lint" or dir == "layers" or dir == "fuzz"
  if named or dir:match("_spec%.lua$") or has_specs(dir) then
    run_suite(dir)
  end
end
local line = ("%d passed, %d failed"):format(total.passed, total.failed)
if total.skipped > 0 then line = line .. (", %d skipped"):format(total.skipped) end
print(line)
return total.failed > 0 and 1 or 0
