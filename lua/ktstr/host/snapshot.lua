-- Snapshots of a guest's BPF maps (host): lookups by map, var and path; series and temporal checks.
--
-- A captured snapshot is plain data (it crosses the channel and lands in
-- the sidecar as JSON):
--   { name =, t = seconds into the workload, error = msg | nil,
--     cpus = { per-CPU monitor sample at capture time },
--     maps = { { name =, type =, key_size =, value_size =, max_entries =,
--                entries = { { key =, value = rendered (per-CPU maps: a
--                list with one value per CPU) }, ... } }, ... } }
-- This module reads it the way ktstr's Snapshot API does. Indexes are
-- 0-based throughout (map:at(0), map:cpu(0), "slots[0]"), as in C and Rust.
local V = require("ktstr.validate")
local verdict = require("ktstr.verdict")

local M = {}

local Snap, Map, Entry, Series, Field = {}, {}, {}, {}, {}
Snap.__index, Map.__index, Entry.__index, Series.__index, Field.__index = Snap, Map, Entry, Series,
  Field

-- Sections libbpf turns into single-entry array maps of global variables.
local GLOBAL_SECTIONS = { bss = true, data = true, rodata = true }
-- The kernel keeps BPF_OBJ_NAME_LEN - 1 characters of a map's name.
local NAME_MAX = 15

local function show(v)
  return type(v) == "string" and ("'%s'"):format(v) or tostring(v)
end

local function num(v)
  if math.type(v) == "integer" then return tostring(v) end
  return type(v) == "number" and ("%.6g"):format(v) or tostring(v)
end

local function keys_of(t)
  local out = {}
  for k in pairs(t) do
    if type(k) == "string" then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

-- "no field 'dispatchd' in stats (did you mean 'dispatched'? fields: a, b)"
local function missing(noun, name, where, names)
  local s = V.suggest(name, names)
  local hint = s and ("did you mean '%s'? "):format(s) or ""
  local list = #names > 0 and table.concat(names, ", ") or "none"
  return ("no %s %s%s (%s%ss: %s)"):format(noun, show(name), where, hint, noun, list)
end

-- "stats.hist[2].pid" -> { "stats", "hist", 2, "pid" }
local function parse_path(path, what)
  local s = type(path) == "string" and path or ""
  local parts, pos = {}, 1
  while pos <= #s do
    local name, e = s:match("^([%a_][%w_]*)()", pos)
    local index
    if not name then index, e = s:match("^%[(%d+)%]()", pos) end
    if not (name or index) then break end
    parts[#parts + 1], pos = name or math.tointeger(tonumber(index)), e
    local c = s:sub(pos, pos)
    if c == "." and pos < #s then
      pos = pos + 1
    elseif c ~= "[" then
      break
    end
  end
  if #parts == 0 or pos <= #s then
    V.raise("%s: bad path %s (names and [index] joined by '.', e.g. 'stats.dispatched' or " ..
      "'slots[2].pid')", what, show(path))
  end
  return parts
end

local function spell(parts, n)
  local s = ""
  for i = 1, n do
    local p = parts[i]
    s = type(p) == "number" and ("%s[%d]"):format(s, p) or (s == "" and p or s .. "." .. p)
  end
  return s
end

local function is_list(t)
  return type(t) == "table" and (#t > 0 or next(t) == nil)
end

local function kind(v)
  if type(v) == "table" then return is_list(v) and ("an array of %d"):format(#v) or "a struct" end
  return ("%s %s"):format(type(v), show(v))
end

-- Follows parts[from..] into v; messages name the place as what, then
-- sep and the path so far.
local function walk(v, parts, from, what, sep)
  for i = from, #parts do
    local p, here = parts[i], spell(parts, i - 1)
    local where = here == "" and what or what .. sep .. here
    if type(p) == "number" then
      if not is_list(v) then
        V.raise("%s is %s, not an array: cannot take [%d]", where, kind(v), p)
      end
      if p >= #v then
        V.raise("%s: index [%d] out of range (%d elements)", where, p, #v)
      end
      v = v[p + 1]
    else
      if type(v) ~= "table" or #v > 0 then
        V.raise("%s is %s, not a struct: no field '%s'", where, kind(v), p)
      end
      if v[p] == nil then V.raise("%s", missing("field", p, " in " .. where, keys_of(v))) end
      v = v[p]
    end
  end
  return v
end

-- get(value, path [, what]) -> the value at path inside a rendered value.
function M.get(value, path, what)
  return walk(value, parse_path(path, "snapshot.get"), 1, what or "value", ": ")
end

---------------------------------------------------------------- snapshots

-- new(raw) -> snap: snap.name, snap.t, snap.cpus, snap.error, snap.raw.
function M.new(raw)
  if getmetatable(raw) == Snap then return raw end
  if type(raw) ~= "table" or type(raw.name) ~= "string" then
    V.raise("snapshot.new: expected a captured snapshot {name =, maps = {...}}, got %s", show(raw))
  end
  if raw.t ~= nil then V.number(raw.t, "snapshot.new: " .. raw.name .. ": t") end
  return setmetatable({ name = raw.name, t = raw.t, cpus = raw.cpus, error = raw.error, raw = raw },
    Snap)
end

function Snap:__tostring()
  return ("snapshot %s%s"):format(self.name, self.t and (" (+%.1fs)"):format(self.t) or "")
end

function Snap:map_names()
  local out = {}
  for i, m in ipairs(self.raw.maps or {}) do out[i] = m.name end
  return out
end

-- with the capture's own error, when there was one: it often explains a miss
function Snap:context()
  local s = ("snapshot '%s'"):format(self.name)
  return self.error and ("%s (capture error: %s)"):format(s, self.error) or s
end

-- "ktstr_sc.bss" is what the kernel keeps of "ktstr_sched.bss": the
-- object name's prefix and the section.
local function truncation_of(m, want)
  local mp, ms = m:match("^([^.]+)(%..*)$")
  local wp, ws = want:match("^([^.]+)(%..*)$")
  if mp and wp then return ms == ws and wp:sub(1, #mp) == mp end
  return #want > NAME_MAX and want:sub(1, NAME_MAX) == m
end

local function name_matches(m, want)
  if want:sub(1, 1) == "." then return m:sub(-#want) == want end
  return m:sub(-#want - 1) == "." .. want or truncation_of(m, want)
end

local function wrap_map(snap, m)
  return setmetatable({ name = m.name, type = m.type, key_size = m.key_size,
    value_size = m.value_size, max_entries = m.max_entries,
    percpu = m.percpu or (m.type or ""):find("percpu") ~= nil, entries = m.entries or {},
    snap = snap }, Map)
end

-- snap:map(name) -> SnapshotMap: the exact name, else the one map whose
-- name ends in "." .. name ("bss", ".bss") or that the kernel truncated
-- name to.
function Snap:map(name)
  if type(name) ~= "string" or name == "" then
    V.raise("snap:map: expected a map name, got %s", show(name))
  end
  local found = {}
  for _, m in ipairs(self.raw.maps or {}) do
    if m.name == name then return wrap_map(self, m) end
    if name_matches(m.name, name) then found[#found + 1] = m end
  end
  if #found == 1 then return wrap_map(self, found[1]) end
  if #found > 1 then
    local names = {}
    for i, m in ipairs(found) do names[i] = m.name end
    V.raise("%s: map name '%s' is ambiguous: %s", self:context(), name, table.concat(names, ", "))
  end
  V.raise("%s", missing("map", name, " in " .. self:context(), self:map_names()))
end

-- The .bss, .data and .rodata maps with their rendered sections.
local function globals(snap)
  local out = {}
  for _, m in ipairs(snap.raw.maps or {}) do
    local section = m.name:match("%.(%a+)")
    local e = m.entries and m.entries[1]
    if GLOBAL_SECTIONS[section] and e and type(e.value) == "table" then
      out[#out + 1] = { name = m.name, vars = e.value }
    end
  end
  return out
end

-- snap:var("stats.dispatched") -> the value of a global variable (or a
-- path inside it), searched in .bss, .data and .rodata; a name in more
-- than one of them is an error.
function Snap:var(path)
  local parts = parse_path(path, "snap:var")
  local name = parts[1]
  if type(name) ~= "string" then V.raise("snap:var: path %s must start with a var name", path) end
  local secs, hits, all = globals(self), {}, {}
  if #secs == 0 then
    V.raise("%s has no .bss, .data or .rodata map (maps: %s)", self:context(),
      table.concat(self:map_names(), ", "))
  end
  for _, sec in ipairs(secs) do
    if sec.vars[name] ~= nil then hits[#hits + 1] = sec end
    for k in pairs(sec.vars) do all[k] = true end
  end
  if #hits == 0 then
    V.raise("%s", missing("var", name, " in " .. self:context(), V.sorted(all)))
  end
  if #hits > 1 then
    V.raise("%s: var '%s' is ambiguous: it is in %s and %s; read one with snap:map(name):get(path)",
      self:context(), name, hits[1].name, hits[2].name)
  end
  return walk(hits[1].vars[name], parts, 2, self:context() .. ": var", " ")
end

---------------------------------------------------------------- maps


function Map:__tostring()
  return ("map %s (%s, %d entries)"):format(self.name, tostring(self.type), #self.entries)
end

function Map:context()
  return ("%s: map '%s'%s"):format(self.snap:context(), self.name,
    self.narrowed and (" cpu %d"):format(self.narrowed) or "")
end

function Map:len() return #self.entries end

local function derive(map, entries, cpu)
  local m = setmetatable({}, Map)
  for k, v in pairs(map) do m[k] = v end
  m.entries, m.narrowed = entries, cpu or map.narrowed
  return m
end

local function entry(map, e)
  return setmetatable({ key = e.key, value = e.value, map = map }, Entry)
end

-- map:at(i) -> the entry at 0-based index i.
function Map:at(i)
  V.integer(i, "map:at: index", 0)
  if i >= #self.entries then
    V.raise("%s: index %d out of range (%d entries)", self:context(), i, #self.entries)
  end
  return entry(self, self.entries[i + 1])
end

local function check_fn(f, what)
  if type(f) ~= "function" then V.raise("%s: expected a function, got %s", what, show(f)) end
end

-- map:find(pred) -> the first entry with pred(value, key) true, or nil.
function Map:find(pred)
  check_fn(pred, "map:find")
  for _, e in ipairs(self.entries) do
    if pred(e.value, e.key) then return entry(self, e) end
  end
end

-- map:filter(pred) -> a map of the entries with pred(value, key) true.
function Map:filter(pred)
  check_fn(pred, "map:filter")
  local out = {}
  for _, e in ipairs(self.entries) do
    if pred(e.value, e.key) then out[#out + 1] = e end
  end
  return derive(self, out)
end

-- map:max_by(keyfn) -> the entry with the largest keyfn(value, key), or nil when empty.
function Map:max_by(keyfn)
  check_fn(keyfn, "map:max_by")
  local best, best_k
  for _, e in ipairs(self.entries) do
    local k = keyfn(e.value, e.key)
    if type(k) ~= "number" then
      V.raise("%s: max_by's function returned %s for key %s, expected a number", self:context(),
        show(k), num(e.key))
    end
    if not best or k > best_k then best, best_k = e, k end
  end
  return best and entry(self, best)
end

-- map:cpu(n) -> the same map with each per-CPU value narrowed to CPU n.
function Map:cpu(n)
  V.integer(n, "map:cpu", 0)
  if self.narrowed then V.raise("%s: already narrowed to one CPU", self:context()) end
  if not self.percpu then
    V.raise("%s is not a per-CPU map (type %s)", self:context(), tostring(self.type))
  end
  local out = {}
  for i, e in ipairs(self.entries) do
    if type(e.value) ~= "table" or n >= #e.value then
      V.raise("%s: cpu %d out of range for key %s (%d CPUs)", self:context(), n, num(e.key),
        type(e.value) == "table" and #e.value or 0)
    end
    out[i] = { key = e.key, value = e.value[n + 1] }
  end
  return derive(self, out, n)
end

-- map:get(path) -> the value at path in a single-entry map (.bss, .data, ...).
function Map:get(path)
  if #self.entries ~= 1 then
    V.raise("%s has %d entries: pick one with :at(i) or :find(pred) before :get", self:context(),
      #self.entries)
  end
  return self:at(0):get(path)
end

---------------------------------------------------------------- entries

-- entry:get(path) -> the value at path inside the entry's value.
function Entry:get(path)
  local parts = parse_path(path, "entry:get")
  local m = self.map
  if m.percpu and not m.narrowed then
    V.raise("%s is per-CPU: narrow it with map:cpu(n) before :get(%s)", m:context(), show(path))
  end
  return walk(self.value, parts, 1, ("%s key %s"):format(m:context(), num(self.key)), ": ")
end

---------------------------------------------------------------- series

-- series(list of snapshots) -> series ordered by t.
function M.series(list)
  V.list(list, "snapshot.series")
  local snaps = {}
  for i, s in ipairs(list) do
    snaps[i] = M.new(s)
    if not snaps[i].t then
      V.raise("snapshot.series: snapshot '%s' has no time t", snaps[i].name)
    end
  end
  table.sort(snaps, function(a, b)
    if a.t ~= b.t then return a.t < b.t end
    return a.name < b.name
  end)
  return setmetatable({ snaps = snaps }, Series)
end

function Series:len() return #self.snaps end

-- The error's text without the "file:line: " V.raise put in front.
local function bare(err)
  local s = tostring(err)
  return s:match("^[^:\n]+:%d+: (.*)$") or s
end

-- series:field(label, fn) -> SeriesField of fn(snap) over the series;
-- series:field(fn) labels it "field". A snapshot where fn raises or
-- returns nil is recorded in field.errors, not in the values.
function Series:field(label, fn)
  if type(label) == "function" then label, fn = "field", label end
  if type(label) ~= "string" then V.raise("series:field: expected a label, got %s", show(label)) end
  check_fn(fn, "series:field")
  local f = setmetatable({ label = label, values = {}, times = {}, names = {}, errors = {} }, Field)
  for _, s in ipairs(self.snaps) do
    local ok, v = pcall(fn, s)
    if ok and v == nil then ok, v = false, "no value (nil)" end
    if ok then
      local n = #f.values + 1
      f.values[n], f.times[n], f.names[n] = v, s.t, s.name
    else
      f.errors[#f.errors + 1] = { name = s.name, t = s.t, msg = bare(v) }
    end
  end
  return f
end

-- series:var(path) -> SeriesField of snap:var(path), labelled path.
function Series:var(path)
  parse_path(path, "series:var")
  return self:field(path, function(s) return s:var(path) end)
end

---------------------------------------------------------------- patterns

local function where(p)
  return ("%s (+%.1fs)"):format(p.name, p.t)
end

-- The samples as {v, t, name}; numeric patterns skip non-numbers and
-- projection errors (they are reported, as ktstr reports them in a Note).
local function points(f, numeric)
  local pts, skipped = {}, {}
  for _, e in ipairs(f.errors) do skipped[#skipped + 1] = e end
  for i, v in ipairs(f.values) do
    local p = { v = v, t = f.times[i], name = f.names[i] }
    if numeric and type(v) ~= "number" then
      skipped[#skipped + 1] = { name = p.name, t = p.t,
        msg = ("not a number (%s)"):format(show(v)) }
    else
      pts[#pts + 1] = p
    end
  end
  table.sort(skipped, function(a, b) return a.t < b.t end)
  return pts, skipped
end

local function skip_note(skipped)
  if #skipped == 0 then return "" end
  local s = skipped[1]
  return ("; %d sample%s skipped (%s: %s)"):format(#skipped, #skipped == 1 and "" or "s", s.name,
    s.msg)
end

-- A pass that still says something (skipped samples, report-only notes).
local function note(msg, check)
  return { status = "pass", details = { { check = check, status = "pass", msg = msg } } }
end

local function outcome(check, f, skipped, failure)
  if failure then return verdict.fail(failure .. skip_note(skipped), check) end
  if #skipped > 0 then return note(f.label .. ": " .. skip_note(skipped):sub(3), check) end
  return verdict.pass()
end

local function too_few(check, f, pts, skipped, need, scope)
  local have = #pts == 0 and "no samples" or
    ("%d sample%s"):format(#pts, #pts == 1 and "" or "s")
  return verdict.inconclusive(("%s: %s%s, need %d%s"):format(f.label, have, scope or "", need,
    skip_note(skipped)), check)
end

-- " (and 2 more)" after the first of several violations
local function more(n)
  return n > 1 and (" (and %d more)"):format(n - 1) or ""
end

-- Checks each consecutive pair; bad(prev, cur) -> message or nil.
local function pairwise(check, f, bad)
  local pts, skipped = points(f, true)
  if #pts < 2 then return too_few(check, f, pts, skipped, 2) end
  local first, n
  for i = 2, #pts do
    local msg = bad(pts[i - 1], pts[i])
    if msg then first, n = first or msg, (n or 0) + 1 end
  end
  return outcome(check, f, skipped, first and first .. more(n))
end

-- field:nondecreasing(): no sample below the one before it.
function Field:nondecreasing()
  return pairwise("nondecreasing", self, function(a, b)
    if b.v < a.v then
      return ("%s decreased from %s to %s between %s and %s"):format(self.label, num(a.v), num(b.v),
        where(a), where(b))
    end
  end)
end

-- field:strictly_increasing(): every sample above the one before it.
function Field:strictly_increasing()
  return pairwise("strictly_increasing", self, function(a, b)
    if b.v <= a.v then
      return ("%s did not increase: %s then %s between %s and %s"):format(self.label, num(a.v),
        num(b.v), where(a), where(b))
    end
  end)
end

-- field:rate_within(lo, hi): the change per millisecond between consecutive
-- samples stays in [lo, hi].
function Field:rate_within(lo, hi)
  V.number(lo, "rate_within: lo")
  V.number(hi, "rate_within: hi", lo)
  local pairs_seen = 0
  local v = pairwise("rate_within", self, function(a, b)
    local dt_ms = (b.t - a.t) * 1000
    if dt_ms <= 0 then return nil end
    pairs_seen = pairs_seen + 1
    local r = (b.v - a.v) / dt_ms
    if r < lo or r > hi then
      return ("%s rate %.4g/ms outside [%s, %s]/ms between %s and %s (%s to %s)"):format(self.label,
        r, num(lo), num(hi), where(a), where(b), num(a.v), num(b.v))
    end
  end)
  if v.status == "inconclusive" or pairs_seen > 0 then return v end
  return verdict.inconclusive(("%s: no two samples apart in time: rate undefined"):format(
    self.label), "rate_within")
end

-- field:steady_within(warmup_ms, tol): after warmup_ms into the workload,
-- every sample within tol (a fraction: 0.1 = 10%) of the samples' mean.
function Field:steady_within(warmup_ms, tol)
  V.number(warmup_ms, "steady_within: warmup_ms", 0)
  V.number(tol, "steady_within: tol", 0)
  local all, skipped = points(self, true)
  local pts = {}
  for _, p in ipairs(all) do
    if p.t * 1000 >= warmup_ms then pts[#pts + 1] = p end
  end
  if #pts < 2 then
    return too_few("steady_within", self, pts, skipped, 2, (" after the %sms warmup"):format(
      num(warmup_ms)))
  end
  local sum = 0
  for _, p in ipairs(pts) do sum = sum + p.v end
  local mean = sum / #pts
  local worst, worst_dev = nil, -1
  for _, p in ipairs(pts) do
    local dev = mean ~= 0 and math.abs(p.v - mean) / math.abs(mean) or (p.v == 0 and 0 or math.huge)
    if dev > worst_dev then worst, worst_dev = p, dev end
  end
  local failure
  if worst_dev > tol then
    failure = ("%s not steady after %sms: %s at %s is %.1f%% off the mean %s (tolerance %.1f%%)")
      :format(self.label, num(warmup_ms), num(worst.v), where(worst), worst_dev * 100, num(mean),
        tol * 100)
  end
  return outcome("steady_within", self, skipped, failure)
end

-- field:converges_to(target, tol, deadline_ms): 3 consecutive samples
-- within tol (absolute) of target, all by deadline_ms into the workload.
function Field:converges_to(target, tol, deadline_ms)
  V.number(target, "converges_to: target")
  V.number(tol, "converges_to: tol", 0)
  V.number(deadline_ms, "converges_to: deadline_ms", 0)
  local all, skipped = points(self, true)
  local pts = {}
  for _, p in ipairs(all) do
    if p.t * 1000 <= deadline_ms then pts[#pts + 1] = p end
  end
  local scope = (" by the %sms deadline"):format(num(deadline_ms))
  if #pts < 3 then return too_few("converges_to", self, pts, skipped, 3, scope) end
  local run, best = 0, 0
  for _, p in ipairs(pts) do
    run = math.abs(p.v - target) <= tol and run + 1 or 0
    best = math.max(best, run)
    if run == 3 then return outcome("converges_to", self, skipped) end
  end
  local last = pts[#pts]
  return outcome("converges_to", self, skipped, ("%s did not converge to %s ± %s%s: longest run " ..
    "in band %d of 3 samples; last %s at %s"):format(self.label, num(target), num(tol), scope, best,
    num(last.v), where(last)))
end

-- Strict patterns (always_true, at_least, at_most): a sample that could not
-- be read fails, as ktstr's `each` does.
local function strict(check, f, test)
  local pts = points(f, false)
  if #f.errors > 0 then
    local e = f.errors[1]
    return verdict.fail(("%s: could not read at %s: %s%s"):format(f.label, where(e), e.msg,
      more(#f.errors)), check)
  end
  if #pts == 0 then return too_few(check, f, pts, {}, 1) end
  local first, n = nil, 0
  for _, p in ipairs(pts) do
    local msg = test(p)
    if msg then first, n = first or msg, n + 1 end
  end
  if not first then return verdict.pass() end
  return verdict.fail(("%s (%d of %d samples)"):format(first, n, #pts), check)
end

-- field:always_true(pred): pred(value) holds at every sample.
function Field:always_true(pred)
  check_fn(pred, "always_true")
  return strict("always_true", self, function(p)
    if not pred(p.v) then
      return ("%s: predicate false at %s (value %s)"):format(self.label, where(p), num(p.v))
    end
  end)
end

local function bound(check, f, x, below)
  V.number(x, check)
  return strict(check, f, function(p)
    if type(p.v) ~= "number" then
      return ("%s is not a number at %s (%s)"):format(f.label, where(p), show(p.v))
    end
    if (below and p.v < x) or (not below and p.v > x) then
      return ("%s = %s %s %s at %s"):format(f.label, num(p.v), below and "below" or "above", num(x),
        where(p))
    end
  end)
end

-- field:at_least(x), field:at_most(x): every sample.
function Field:at_least(x) return bound("at_least", self, x, true) end
function Field:at_most(x) return bound("at_most", self, x, false) end

-- field:ratio_within(other, lo, hi): self / other in [lo, hi] at every
-- snapshot where both have a number and other is not zero.
function Field:ratio_within(other, lo, hi)
  if getmetatable(other) ~= Field then
    V.raise("ratio_within: expected another series field, got %s", show(other))
  end
  V.number(lo, "ratio_within: lo")
  V.number(hi, "ratio_within: hi", lo)
  local pts, skipped = points(self, true)
  local by_name = {}
  for i, n in ipairs(other.names) do by_name[n] = other.values[i] end
  local n, first, bad = 0, nil, 0
  for _, p in ipairs(pts) do
    local d = by_name[p.name]
    if type(d) == "number" and d ~= 0 then
      n = n + 1
      local r = p.v / d
      if r < lo or r > hi then
        bad = bad + 1
        first = first or ("%s / %s = %.4g outside [%s, %s] at %s (%s / %s)"):format(self.label,
          other.label, r, num(lo), num(hi), where(p), num(p.v), num(d))
      end
    else
      skipped[#skipped + 1] = { name = p.name, t = p.t, msg = ("%s is %s"):format(other.label,
        d == nil and "missing" or num(d)) }
    end
  end
  if n == 0 then
    return verdict.inconclusive(("%s / %s: no sample with both and a nonzero divisor%s"):format(
      self.label, other.label, skip_note(skipped)), "ratio_within")
  end
  return outcome("ratio_within", self, skipped, first and first .. more(bad))
end

---------------------------------------------------------------- post_vm

local Result = {}

-- The captured snapshots, ordered by time: result.snapshots is a list, or
-- a table by name.
local function captured(result)
  local list = {}
  for k, s in pairs(result.snapshots or {}) do
    if type(s) == "table" and type(k) == "string" and s.name == nil then
      local named = { name = k }
      for kk, vv in pairs(s) do named[kk] = vv end
      s = named
    end
    if type(s) == "table" then list[#list + 1] = s end
  end
  table.sort(list, function(a, b)
    if (a.t or 0) ~= (b.t or 0) then return (a.t or 0) < (b.t or 0) end
    return tostring(a.name) < tostring(b.name)
  end)
  return list
end

-- result:snapshot(name) -> snap
function Result.snapshot(result, name)
  local names = {}
  for _, s in ipairs(captured(result)) do
    if s.name == name then return M.new(s) end
    names[#names + 1] = s.name
  end
  if #names == 0 then
    V.raise("no snapshot %s: none were captured (ktstr.op.capture_snapshot(name) captures one)",
      show(name))
  end
  V.raise("%s", missing("snapshot", name, "", names))
end

-- result:periodic() -> series of the periodic_NNN snapshots
function Result.periodic(result)
  local list = {}
  for _, s in ipairs(captured(result)) do
    if s.name:match("^periodic_%d+$") then list[#list + 1] = s end
  end
  return M.series(list)
end

local RESULT_MT = { __index = Result }

-- result_api(result) -> result, with :snapshot(name) and :periodic() (a
-- metatable: the table itself stays plain data for JSON).
function M.result_api(result)
  if type(result) ~= "table" then
    V.raise("snapshot.result_api: expected a run result table, got %s", show(result))
  end
  return setmetatable(result, RESULT_MT)
end

return M
