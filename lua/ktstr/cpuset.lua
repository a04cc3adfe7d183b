-- Cpuset specs (ktstr.cpuset.*) and their resolution against a topology into a cpulist.
local V = require("ktstr.validate")

local M = {}

-- The one cpulist parser is C's (src/base/cpulist.c); a plain lua5.4 loading
-- the vocabulary has none, and parse says so when called.
local has_core, core = pcall(require, "ktstr.core")

-- "0-1,4" <-> {0, 1, 4}. parse returns nil, message on bad syntax or an empty list.
function M.parse(s)
  if type(s) ~= "string" then return nil, ("bad cpulist %s"):format(tostring(s)) end
  if not has_core then error("cpuset.parse needs ktstr.core (run under ktstr)", 2) end
  local cpus, err = core.cpulist_parse(s, true)
  return cpus, err
end

function M.format(cpus)
  local out, i = {}, 1
  while i <= #cpus do
    local j = i
    while cpus[j + 1] == cpus[j] + 1 do j = j + 1 end
    out[#out + 1] = j > i and ("%d-%d"):format(cpus[i], cpus[j]) or tostring(cpus[i])
    i = j + 1
  end
  return table.concat(out, ",")
end

-- "1n2l2c1t" from anything with numa_nodes, llcs, cores, threads (a test, a topology).
function M.topo_name(t)
  return ("%dn%dl%dc%dt"):format(t.numa_nodes, t.llcs, t.cores, t.threads)
end

local function partition(spec, what, index, of)
  if index == nil and of == nil then return { kind = spec } end
  of = V.integer(of, what .. ": of", 1)
  return { kind = spec, index = V.integer(index, what .. ": index", 0, of - 1), of = of }
end

-- The public constructors: ktstr.cpuset.llc(0), ...; each returns a plain table.
M.api = V.strict({
  llc = function(i) return { kind = "llc", index = V.integer(i, "ktstr.cpuset.llc", 0) } end,
  numa = function(i) return { kind = "numa", index = V.integer(i, "ktstr.cpuset.numa", 0) } end,
  range = function(lo, hi)
    local w = "ktstr.cpuset.range: %s (a fraction of the usable CPUs; exact() takes CPU numbers)"
    V.number(lo, w:format("lo"), 0, 1)
    V.number(hi, w:format("hi"), 0, 1)
    if hi <= lo then V.raise("ktstr.cpuset.range: lo (%s) must be below hi (%s)", lo, hi) end
    return { kind = "range", lo = lo, hi = hi }
  end,
  disjoint = function(index, of)
    return partition("disjoint", "ktstr.cpuset.disjoint", index, of)
  end,
  overlap = function(frac, index, of)
    local p = partition("overlap", "ktstr.cpuset.overlap", index, of)
    p.frac = V.number(frac, "ktstr.cpuset.overlap: frac", 0, 1, true)
    return p
  end,
  exact = function(list)
    if type(list) == "table" then
      for _, c in ipairs(V.list(list, "ktstr.cpuset.exact")) do
        V.integer(c, "ktstr.cpuset.exact: cpu", 0)
      end
      list = table.concat(list, ",")
    end
    local cpus, err = M.parse(list)
    if not cpus then V.raise("ktstr.cpuset.exact: %s", err) end
    return { kind = "exact", cpus = cpus }
  end,
}, "ktstr.cpuset", "cpuset kind")

-- Is this a value the constructors above made?
function M.is(spec)
  return type(spec) == "table" and rawget(M.api, spec.kind) ~= nil
end

-- Needs a cgroup position (disjoint/overlap without explicit index, of)?
function M.positional(spec)
  return spec.index == nil and (spec.kind == "disjoint" or spec.kind == "overlap")
end

local function span(first, count)
  local cpus = {}
  for c = first, first + count - 1 do cpus[#cpus + 1] = c end
  return cpus
end

-- "2 LLCs (0-1)", "1 LLC (0)"
local function count(n, word)
  return ("%d %s%s (%s)"):format(n, word, n == 1 and "" or "s", n == 1 and "0" or "0-" .. (n - 1))
end

-- resolve(spec, topo, cgroup_index, ncgroups) -> "0-1" | nil, message.
-- CPUs number threads first, then cores, LLCs, nodes (as vmm/topology.h);
-- cgroup_index is 0-based among ncgroups (used by disjoint/overlap without
-- their own index). range/disjoint/overlap split the usable CPUs, which
-- leave the last CPU to the root cgroup (the agent) when there are more
-- than 2.
function M.resolve(spec, topo, cgroup_index, ncgroups)
  local per_llc = topo.cores * topo.threads
  local total = topo.llcs * per_llc
  local usable = total > 2 and total - 1 or total
  local kind = spec.kind
  if kind == "llc" or kind == "numa" then
    local n = kind == "llc" and topo.llcs or topo.numa_nodes
    if spec.index >= n then
      return nil, ("%s(%d) out of range: the topology has %s"):format(kind, spec.index,
        count(n, kind == "llc" and "LLC" or "NUMA node"))
    end
    local size = kind == "llc" and per_llc or total // n
    return M.format(span(spec.index * size, size))
  elseif kind == "range" then
    local lo = math.min(math.floor(spec.lo * usable), usable - 1)
    local hi = math.max(math.floor(spec.hi * usable), lo + 1)
    return M.format(span(lo, hi - lo))
  elseif kind == "disjoint" or kind == "overlap" then
    local i, n = spec.index or cgroup_index, spec.of or ncgroups
    if not i then return nil, kind .. "() needs the cgroup's position: give it (index, of) here" end
    if n > usable then
      return nil, ("not enough usable CPUs (%d) for %d partitions"):format(usable, n)
    end
    local lo, hi = i * usable // n, (i + 1) * usable // n
    if kind == "overlap" then
      local k = math.ceil(spec.frac * (hi - lo))
      lo, hi = math.max(0, lo - k), math.min(usable, hi + k)
    end
    return M.format(span(lo, hi - lo))
  end
  local last = spec.cpus[#spec.cpus]
  if last >= total then
    return nil, ("exact(%s): cpu %d out of range: the topology has %s"):format(
      M.format(spec.cpus), last, count(total, "CPU"))
  end
  return M.format(spec.cpus)
end

local function llc_of(cpu, topo) return cpu // (topo.cores * topo.threads) end

--[[
intent(name, topo, allowed, n) -> { cpulist per worker } | nil, message.
The named affinities, resolved per worker over the cgroup's allowed CPUs
(a sorted list): single_cpu pins worker i to the i-th allowed CPU (round
robin); llc_aligned gives it the allowed CPUs of that CPU's LLC;
cross_cgroup every CPU of the guest (the cpuset still bounds it, so the
kernel sees an affinity wider than the cgroup); smt_sibling_pair puts
workers 2k and 2k+1 on the two threads of the k-th allowed core.
]]
function M.intent(name, topo, allowed, n)
  local out = {}
  if #allowed == 0 then return nil, name .. ": the cgroup has no CPUs" end
  if name == "single_cpu" then
    for i = 1, n do out[i] = tostring(allowed[(i - 1) % #allowed + 1]) end
  elseif name == "llc_aligned" then
    for i = 1, n do
      local llc, same = llc_of(allowed[(i - 1) % #allowed + 1], topo), {}
      for _, c in ipairs(allowed) do
        if llc_of(c, topo) == llc then same[#same + 1] = c end
      end
      out[i] = M.format(same)
    end
  elseif name == "cross_cgroup" then
    local all = M.format(span(0, topo.llcs * topo.cores * topo.threads))
    for i = 1, n do out[i] = all end
  elseif name == "smt_sibling_pair" then
    if topo.threads < 2 then
      return nil, "smt_sibling_pair needs SMT: the topology has threads = 1"
    end
    local pairs_, seen = {}, {}
    for _, c in ipairs(allowed) do
      local first = c - c % topo.threads
      if not seen[first] and c % topo.threads == 0 then
        local sib = first + 1
        for _, d in ipairs(allowed) do
          if d == sib then pairs_[#pairs_ + 1], seen[first] = { first, sib }, true end
        end
      end
    end
    if #pairs_ == 0 then return nil, "smt_sibling_pair: no whole core among the allowed CPUs" end
    for i = 1, n do
      local p = pairs_[(i - 1) // 2 % #pairs_ + 1]
      out[i] = tostring(p[(i - 1) % 2 + 1])
    end
  else
    return nil, "unknown affinity intent " .. tostring(name)
  end
  return out
end

return M
