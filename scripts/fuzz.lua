-- make fuzz and make check's fuzz suite: builds the libFuzzer targets in fuzz/ and runs each.
--
-- `ktstr lua scripts/fuzz.lua [--tap] [SECONDS]` (default 60): builds them
-- (make fuzz-build), then runs each from its seeds in fuzz/corpus/NAME, the
-- corpus it grows kept in build-fuzz/corpus/NAME, a finding written to
-- build-fuzz/NAME-crash-*. A toolchain without libFuzzer skips, saying why.
local core = require("ktstr.core")
local protocol = require("ktstr.protocol")

local CC = "clang-19"
local FLAGS = "-fsanitize=fuzzer,address,undefined"
local TARGETS = {
  { name = "chan", what = "the frame decoder (src/base/chan.c)" },
  { name = "protocol", what = "message validation (protocol.decode)", dict = true },
}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs cmd under sh; returns ok, its output (stdout and stderr).
local function sh(cmd)
  local p = assert(io.popen("{ " .. cmd .. "\n} 2>&1"))
  local out = p:read("a")
  return p:close() == true, out
end

-- The tree: the parent of the Lua dir ktstr runs.
local ROOT = select(2, sh("cd " .. q(package.ktstr_lua_dir .. "/..") .. " && pwd -P"))
  :match("[^\n]+")
local B = ROOT .. "/build-fuzz"

-- Why libFuzzer cannot be used here, or nil when a fuzzer links.
local function toolchain_missing()
  local ok = sh("command -v " .. CC)
  if not ok then return CC .. " is not installed (run: scripts/install-deps)" end
  assert(core.mkdir_p(B))
  local src, exe = B .. "/probe.c", B .. "/probe"
  local f = assert(io.open(src, "w"))
  f:write("#include <stddef.h>\n#include <stdint.h>\n",
    "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
  f:close()
  local out
  ok, out = sh(("%s %s -o %s %s"):format(CC, FLAGS, q(exe), q(src)))
  os.remove(src)
  os.remove(exe)
  if ok then return nil end
  return ("%s %s does not link (%s); libFuzzer comes with libclang-rt-19-dev: "
    .. "run scripts/install-deps")
    :format(CC, FLAGS, (out:match("[^\n]*cannot find[^\n]*") or out:match("[^\n]+") or "?")
      :gsub("^%s+", ""))
end

-- A libFuzzer dictionary from the protocol's declarations: every message
-- type, field name and enum value, as the JSON tokens they appear in.
local function write_dict(path)
  local seen, lines = {}, {}
  local function add(tok)
    if not seen[tok] then
      seen[tok] = true
      lines[#lines + 1] = ("%q"):format(tok):gsub("\\\n", "\\n")
    end
  end
  local function walk(spec)
    if type(spec) ~= "table" then return end
    for k, v in pairs(spec.fields or {}) do
      add(('"%s":'):format(k))
      walk(v)
    end
    walk(spec.each)
    for v in pairs(spec.enum or {}) do add(('"%s"'):format(v)) end
  end
  for t, m in pairs(protocol.MESSAGES) do
    add(('"t":"%s"'):format(t))
    walk({ fields = m.fields })
  end
  for _, tok in ipairs({ "null", "true", "false", "{}", "[]", "-0", "1e308", "-1e400",
    "9007199254740993", "0.5", '"\\u0000"' }) do add(tok) end
  table.sort(lines)
  local f = assert(io.open(path, "w"))
  f:write(table.concat(lines, "\n"), "\n")
  f:close()
end

local function run(t, seconds)
  local corpus = B .. "/corpus/" .. t.name
  assert(core.mkdir_p(corpus))
  local args = { B .. "/" .. t.name, "-max_total_time=" .. seconds, "-print_final_stats=1",
    "-timeout=10", "-rss_limit_mb=2048", "-artifact_prefix=" .. B .. "/" .. t.name .. "-" }
  if t.dict then
    write_dict(B .. "/" .. t.name .. ".dict")
    args[#args + 1] = "-dict=" .. B .. "/" .. t.name .. ".dict"
  end
  args[#args + 1] = corpus
  args[#args + 1] = ROOT .. "/fuzz/corpus/" .. t.name
  local qa = {}
  for i, a in ipairs(args) do qa[i] = q(a) end
  local t0 = core.now()
  local ok, out = sh(table.concat(qa, " "))
  local runs = out:match("Done (%d+) runs")
  local cov, ft = out:match("DONE%s+cov: (%d+) ft: (%d+)")
  return {
    ok = ok and runs ~= nil, out = out, runs = tonumber(runs), s = core.now() - t0,
    cov = cov, ft = ft, artifact = out:match("Test unit written to (%S+)"),
  }
end

local function main(...)
  local tap, seconds = false, 60
  for _, a in ipairs({ ... }) do
    if a == "--tap" then tap = true else seconds = assert(math.tointeger(tonumber(a)),
      "usage: fuzz.lua [--tap] [SECONDS]") end
  end
  local why = toolchain_missing()
  if why then
    print("# fuzz skipped: " .. why)
    for i, t in ipairs(TARGETS) do print(("ok %d - # SKIP %s: %s"):format(i, t.name, why)) end
    print("1.." .. #TARGETS)
    return 0
  end
  local ok, out = sh(("make -s --no-print-directory -C %s fuzz-build"):format(q(ROOT)))
  if not ok then
    io.write(out)
    for i, t in ipairs(TARGETS) do print(("not ok %d - %s: the build failed"):format(i, t.name)) end
    print("1.." .. #TARGETS)
    return 1
  end
  local failed = 0
  for i, t in ipairs(TARGETS) do
    local r = run(t, seconds)
    local line = ("%s: %s inputs in %.0fs (cov %s, ft %s)"):format(t.name,
      r.runs or "?", r.s, r.cov or "?", r.ft or "?")
    if r.ok then
      print(("# %s, %s"):format(line, t.what))
      print(("ok %d - %s"):format(i, line))
    else
      failed = failed + 1
      local tail = {}
      for l in r.out:gmatch("[^\n]+") do
        tail[#tail + 1] = "# " .. l
        if #tail > 30 then table.remove(tail, 1) end
      end
      print(table.concat(tail, "\n"))
      print(("not ok %d - %s: %s%s"):format(i, t.name, r.artifact and "a finding, kept in " ..
        r.artifact or "the fuzzer failed", r.artifact and
        (" (replay: %s/%s %s)"):format(B, t.name, r.artifact) or ""))
    end
  end
  print("1.." .. #TARGETS)
  if not tap then print(failed == 0 and "fuzz: no finding" or "fuzz: " .. failed .. " failed") end
  return failed == 0 and 0 or 1
end

os.exit(main(...))
