-- ktstr.scheduler{...}: declares a sched_ext scheduler under test and finds its binary.
local V = require("ktstr.validate")
local thresholds = require("ktstr.thresholds")
local constraints = require("ktstr.constraints")

local M = {}

local KEYS = { name = true, binary = true, path = true, args = true, sysctls = true,
  kargs = true, config_file = true, ops_name = true, watchdog_arg = true, checks = true,
  constraints = true, enable_timeout_s = true }

local RENAMED = { sched_args = "args", binary_path = "path" }

local function strings(v, what)
  for i, s in ipairs(V.list(v or {}, what)) do
    if type(s) ~= "string" then
      V.raise("%s[%d]: expected a string, got %s", what, i, tostring(s))
    end
  end
  return v or {}
end

--[[
ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched" | path = "/abs/x",
  args = {...}, sysctls = { ["kernel.x"] = "v" }, kargs = {...}, config_file = "f",
  ops_name = "ktstr" (optional: when given, the ops name the kernel must
    show in /sys/kernel/sched_ext/root/ops; a different one is an error),
  watchdog_arg = "--watchdog-ms" (how to hand it the test's watchdog timeout),
  checks = { max_spread_pct = 30, ... },
  constraints = { min_cpus = 2, cpus_multiple_of = 2, ... } (the topologies it runs on),
  enable_timeout_s = 15 (how long it may take to load and enable) }
]]
function M.new(t)
  local w = "ktstr.scheduler"
  V.record(t, w, "{name = ..., binary = ...}", KEYS, RENAMED)
  local name = V.name(t.name, w .. ": name")
  w = ("ktstr.scheduler '%s'"):format(name)
  if (t.binary == nil) == (t.path == nil) then
    V.raise("%s: give one of binary (found on the host) or path", w)
  end
  for _, k in ipairs({ "binary", "path", "config_file", "ops_name", "watchdog_arg" }) do
    if t[k] ~= nil and (type(t[k]) ~= "string" or t[k] == "") then
      V.raise("%s: %s: expected a non-empty string, got %s", w, k, tostring(t[k]))
    end
  end
  local s = { name = name, binary = t.binary, path = t.path, source = V.where(),
    args = strings(t.args, w .. ": args"), kargs = strings(t.kargs, w .. ": kargs"),
    config_file = t.config_file, ops_name = t.ops_name, watchdog_arg = t.watchdog_arg,
    sysctls = {} }
  if t.constraints ~= nil then
    s.constraints = constraints.check(t.constraints, w .. ": constraints")
  end
  if t.enable_timeout_s ~= nil then
    local what = w .. ": enable_timeout_s"
    s.enable_timeout_s = V.number(V.duration(t.enable_timeout_s, what), what, 0, nil, true)
  end
  for k, v in pairs(t.sysctls or {}) do
    if type(k) ~= "string" or not k:match("^[%w_.]+$") or type(v) ~= "string" and
        type(v) ~= "number" then
      V.raise("%s: sysctls: expected { [\"kernel.name\"] = value }, got %s = %s", w,
        tostring(k), tostring(v))
    end
    s.sysctls[k] = tostring(v)
  end
  -- scheduler-level thresholds sit between the defaults and the test's
  for k, v in pairs(t.checks or {}) do
    local check = thresholds.KEYS[k]
    if not check then
      V.raise("%s: checks: %s", w, V.unknown("check", k, V.sorted(thresholds.KEYS)))
    end
    s[k] = check(v, w .. ": checks." .. k)
  end
  return s
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The binary for s: its path, KTSTR_SCHEDULER, the schedulers beside ktstr
-- (build_dir is ktstr's: the fixture in build/sched/, the kernel's
-- tools/sched_ext schedulers in build/scx/ once `make scx` ran; installed,
-- PREFIX/bin/ktstr, the fixture in PREFIX/lib/ktstr/sched/), then PATH.
-- A miss names every place looked.
function M.find_binary(s, build_dir)
  if s.path then
    if exists(s.path) then return s.path end
    return nil, ("scheduler '%s': path %s does not exist"):format(s.name, s.path)
  end
  local looked = {}
  local env = os.getenv("KTSTR_SCHEDULER")
  if env and env ~= "" then
    if exists(env) then return env end
    looked[#looked + 1] = "KTSTR_SCHEDULER=" .. env
  end
  local cand, hint = {}, ""
  local prefix = build_dir and build_dir:match("^(.*)/bin$")
  if prefix and exists(prefix .. "/lib/ktstr/sched") then
    cand[#cand + 1] = prefix .. "/lib/ktstr/sched/" .. s.binary
    hint = "; `ktstr kernel scx` builds the kernel's tools/sched_ext schedulers and prints " ..
      "their directory (add it to PATH)"
  elseif build_dir then
    cand[#cand + 1] = build_dir .. "/sched/" .. s.binary
    cand[#cand + 1] = build_dir .. "/scx/" .. s.binary
    if not exists(build_dir .. "/scx") then
      hint = ("; %s/scx/ holds the kernel's tools/sched_ext schedulers once `make scx` ran")
        :format(build_dir)
    end
  end
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    cand[#cand + 1] = dir .. "/" .. s.binary
  end
  local seen = {}
  for _, c in ipairs(cand) do
    if exists(c) then return c end
    if not seen[c] then looked[#looked + 1], seen[c] = c, true end
  end
  return nil, ("scheduler '%s': binary '%s' not found; looked in: %s%s"):format(s.name, s.binary,
    table.concat(looked, ", "), hint)
end

-- What the guest runs: argv (binary at /bin/<name>, config, args, the test's
-- extra args) and the kernel command line words (kargs, sysctls).
function M.plan(s, binary, test)
  local guest_bin = "/bin/" .. binary:match("([^/]+)$")
  local argv = { guest_bin }
  local files = { { src = binary, dst = guest_bin } }
  if s.config_file then
    local dst = "/include-files/" .. s.config_file:match("([^/]+)$")
    files[#files + 1] = { src = s.config_file, dst = dst }
    argv[#argv + 1] = "--config"
    argv[#argv + 1] = dst
  end
  if s.watchdog_arg then
    argv[#argv + 1] = s.watchdog_arg
    argv[#argv + 1] = tostring(math.floor(test.watchdog_timeout_s * 1000))
  end
  table.move(s.args, 1, #s.args, #argv + 1, argv)
  table.move(test.extra_sched_args, 1, #test.extra_sched_args, #argv + 1, argv)
  local cmdline = {}
  for _, k in ipairs(s.kargs) do cmdline[#cmdline + 1] = k end
  local keys = V.sorted(s.sysctls)
  for _, k in ipairs(keys) do cmdline[#cmdline + 1] = ("sysctl.%s=%s"):format(k, s.sysctls[k]) end
  return { name = s.name, ops_name = s.ops_name, source = s.source, argv = argv, files = files,
    cmdline = table.concat(cmdline, " "), enable_timeout_s = s.enable_timeout_s }
end

-- What of a plan the guest needs to run the scheduler (it crosses the channel).
function M.wire(plan)
  return plan and { name = plan.name, ops_name = plan.ops_name, argv = plan.argv,
    source = plan.source, enable_timeout_s = plan.enable_timeout_s }
end

-- The kernel's reason and the scheduler's message: the "disabled (reason)"
-- line of dmesg and the "sched_ext: <ops>: <message>" line after it.
local function kernel_reason(kernel)
  local reason, message
  for l in (kernel or ""):gmatch("[^\n]+") do
    local r = l:match('BPF scheduler "[^"]*" disabled %(([^)]*)%)')
    if r then
      reason, message = r, nil
    elseif reason and not message then
      message = l:match("sched_ext: [%w_]+: (.+)$")
    end
  end
  return reason, message
end

--[[
What the verifier said about the program it rejected, from libbpf's load
log (the scheduler's stderr), in either layout: the older one ends the
instruction trace with the complaint ("R7 invalid mem access 'scalar'");
7.x adds "Verification failed: <category>", "Reason:", "At: prog @
file:line:col" with a "Source context" whose ">>>" line is the statement,
and a "Suggestion:". Returns { prog, complaint, category, reason, at,
source, suggestion } (fields the log did not have are nil), or nil.
]]
function M.verifier(log)
  local v, inside, after_insn, block, last_src = {}, false, false, nil, nil
  local function fill(k, val) if val and val ~= "" and not v[k] then v[k] = val end end
  for l in (log or ""):gmatch("[^\n]*") do
    local prog = l:match("^libbpf: prog '([^']+)': BPF program load failed") or
      l:match("^libbpf: prog '([^']+)': failed to load")
    if prog then v.prog = prog end
    if l:find("BEGIN PROG LOAD LOG", 1, true) then
      inside, after_insn, block = true, false, nil
    elseif l:find("END PROG LOAD LOG", 1, true) then
      inside = false
    elseif inside then
      local cat = l:match("^Verification failed: (.+)$")
      if cat then
        v.category, block, after_insn = cat, nil, false
      elseif l:match("^Reason:%s*$") or l:match("^At:%s*$") or l:match("^Suggestion:%s*$") or
          l:match("^Causal path:%s*$") then
        block = l:match("^(%a[%a ]*):")
      elseif block == "Reason" and l:match("^%s+%S") then
        -- a reason wraps over several lines: one sentence, not its first line
        v.reason = (v.reason and v.reason .. " " or "") .. l:match("^%s+(.-)%s*$")
      elseif block == "At" then
        fill("at", l:match("^%s+[%w_]+ @ ([^%s:]+:%d+)"))
        fill("source", l:match("^%s+>>>%s+%d+ |%s*(.-)%s*$"))
      elseif block == "Suggestion" and l:match("^%s+%S") then
        v.suggestion = (v.suggestion and v.suggestion .. " " or "") .. l:match("^%s+(.-)%s*$")
      elseif not block then
        if l:match("^%d+: ") then
          after_insn = true
        elseif l:match("^; .* @ [^%s:]+:%d+$") then
          last_src = l:match(" @ ([^%s:]+:%d+)$")
        elseif after_insn and l ~= "" and not l:match("^;") then
          v.complaint, v.trace_at, after_insn = l, last_src, false
        end
      end
    end
  end
  if not (v.complaint or v.category) then return nil end
  v.at = v.at or v.trace_at
  v.trace_at = nil
  return v
end

-- One line of it: program, place, statement, complaint, why.
function M.verifier_line(v)
  local out = ("the verifier rejected %s"):format(v.prog or "a program")
  if v.at then out = out .. " at " .. v.at end
  if v.source then out = out .. (" (%s)"):format(v.source) end
  out = out .. ": " .. (v.complaint or v.category)
  if v.category and v.complaint then out = out .. (" [%s]"):format(v.category) end
  return out
end

-- What the scheduler's failure said (the scx_bpf_error text the kernel logged,
-- else the kernel's reason), for expect_scx_bpf_error_*; nil if it did not fail.
function M.error_text(result)
  local s = result.sched
  if not s or not s.failure then return nil end
  local reason, message = kernel_reason(s.kernel)
  return message or reason or s.failure.msg
end

-- A failed scheduler as a verdict's root cause: "BUG SUMMARY: ..." text, or nil.
function M.judge(result)
  local s = result.sched
  if not s or not s.failure then return nil end
  local f = s.failure
  local who = ("scheduler '%s'"):format(s.name)
  if f.kind == "load_failed" or f.kind == "enable_timeout" then
    local v = M.verifier(f.load_log or s.log)
    if v then return ("%s failed to load: %s; %s"):format(who, M.verifier_line(v), f.msg) end
    return ("%s failed to load: %s"):format(who, f.msg)
  end
  local reason, message = kernel_reason(s.kernel)
  if f.kind == "disabled" then
    local what = reason or "no reason in the kernel log"
    if what:find("stall", 1, true) then what = "watchdog stall: " .. what end
    if message then what = what .. ": " .. message end
    return ("%s was kicked out by the kernel (%s); %s"):format(who, what, f.msg)
  end
  local crashed = s.exit and s.exit.signal
  return ("%s %s: %s"):format(who, crashed and "crashed" or "exited early", f.msg)
end

return M
