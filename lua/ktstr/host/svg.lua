-- SVG for the HTML report: elements, colour scales, the plots (timeline of heat strips, bars).
local esc = require("ktstr.host.junit").esc

local M = {}

-- Text from anywhere (a test name, a phase label, the guest's words) as XML text.
M.esc = esc

-- A number as an attribute: at most two decimals, no trailing zeros.
function M.num(x)
  local s = ("%.2f"):format(x)
  s = s:gsub("0+$", ""):gsub("%.$", "")
  return s == "-0" and "0" or s
end

--[[
el(tag, attrs, body) -> "<tag a="1" b="x">body</tag>", attributes in name
order (numbers through num, strings escaped); without body "<tag .../>".
body is markup already: text goes through esc first.
]]
function M.el(tag, attrs, body)
  local out, keys = { "<", tag }, {}
  for k in pairs(attrs or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = attrs[k]
    out[#out + 1] = (' %s="%s"'):format(k, type(v) == "number" and M.num(v) or esc(v))
  end
  out[#out + 1] = body and ">" .. body .. "</" .. tag .. ">" or "/>"
  return table.concat(out)
end

-- A hover text: the first child of the element it describes.
local function title(s) return M.el("title", nil, esc(s)) end

-- Text that fits about px pixels at the plots' 11px font, cut with an ellipsis.
function M.fit(s, px)
  local n = math.max(1, math.floor(px / 6))
  s = tostring(s)
  if utf8.len(s) and utf8.len(s) > n then
    return s:sub(1, (utf8.offset(s, n) or #s + 1) - 1) .. "…"
  end
  if not utf8.len(s) and #s > n then return s:sub(1, n) .. "…" end
  return s
end

local function rgb(hex)
  return tonumber(hex:sub(2, 3), 16), tonumber(hex:sub(4, 5), 16), tonumber(hex:sub(6, 7), 16)
end

-- The colour a share f (0..1) of the way from hex colour a to b.
function M.mix(a, b, f)
  f = math.max(0, math.min(1, f))
  local r1, g1, b1 = rgb(a)
  local r2, g2, b2 = rgb(b)
  return ("#%02x%02x%02x"):format(math.floor(r1 + (r2 - r1) * f + 0.5),
    math.floor(g1 + (g2 - g1) * f + 0.5), math.floor(b1 + (b2 - b1) * f + 0.5))
end

M.EMPTY = "#eef0f3"

--[[
The heat scales: 0 is EMPTY (an idle CPU, an empty queue), 1 the light end,
max and above the dark end. A scale's top is at least its floor so a run
that never queued more than one task does not paint 1 as alarming.
]]
M.SCALES = {
  nr = { from = "#c6dbef", to = "#08306b", floor = 4, name = "nr_running" },
  dsq = { from = "#fdd0a2", to = "#7f2704", floor = 8, name = "local DSQ depth" },
}

function M.shade(scale, v, max)
  if v <= 0 then return M.EMPTY end
  local top = math.max(max, scale.floor)
  return M.mix(scale.from, scale.to, (v - 1) / math.max(1, top - 1))
end

-- Cgroup colours, by the cgroup's order in the run.
M.PALETTE = { "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7",
  "#9c755f" }

-- Tick times from t0 to t1: at most n, on a round step.
function M.ticks(t0, t1, n)
  local span, out = math.max(t1 - t0, 1e-3), {}
  local step
  for _, s in ipairs({ 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600 }) do
    step = s
    if span / s <= n then break end
  end
  local t = math.ceil(t0 / step - 1e-9) * step
  while t <= t1 + 1e-9 do
    out[#out + 1] = t
    t = t + step
  end
  return out, step
end

local function seconds(t, step)
  return step < 1 and ("+%.1fs"):format(t) or ("+%ds"):format(math.floor(t + 0.5))
end

local W, LEFT, RIGHT = 960, 150, 16
local STRIP, LANE = 10, 12

--[[
One strip of heat cells: cells are the run's cell start times t (one per
value), the last ending at t_end; values < 0 are missing (not drawn);
equal neighbours merge into one rect. Returns the <g> of the strip.
]]
local function strip(cls, label, t, t_end, values, max, y, x_of, scale, cpu)
  local body = { M.el("text", { x = LEFT - 6, y = y + STRIP - 1, class = "lbl" }, esc(label)) }
  local i = 1
  while i <= #values do
    local v, j = values[i], i
    while j < #values and values[j + 1] == v do j = j + 1 end
    if v >= 0 then
      local from, to = t[i], t[j + 1] or t_end
      local x0, x1 = x_of(from), x_of(to)
      body[#body + 1] = M.el("rect", { x = x0, y = y, width = math.max(0.5, x1 - x0),
        height = STRIP, fill = M.shade(scale, v, max) },
        title(("cpu%d %s..%s %s %d"):format(cpu, seconds(from, 0.1), seconds(to, 0.1),
          scale.name, v)))
    end
    i = j + 1
  end
  return M.el("g", { class = "strip " .. cls }, table.concat(body))
end

local function section(label, y)
  return M.el("text", { x = 4, y = y + 10, class = "sec" }, esc(label))
end

-- The deepest value in a heat kind (nr or dsq) over every CPU.
local function deepest(heat, kind)
  local max = 0
  for _, c in ipairs(heat.cpus) do
    for _, v in ipairs(c[kind]) do max = math.max(max, v) end
  end
  return max
end

-- The colour key of one scale: EMPTY, then a few steps up to its top.
local function legend(scale, max, x, y)
  local top = math.max(max, scale.floor)
  local out = { M.el("text", { x = x, y = y + 9, class = "lbl-l" }, esc(scale.name)) }
  x = x + 110
  local steps = { 0, 1 }
  for _, f in ipairs({ 0.5, 1 }) do
    local v = math.floor(1 + (top - 1) * f + 0.5)
    if v > steps[#steps] then steps[#steps + 1] = v end
  end
  for _, v in ipairs(steps) do
    out[#out + 1] = M.el("rect", { x = x, y = y, width = 14, height = 10,
      fill = M.shade(scale, v, max), stroke = "#999", ["stroke-width"] = 0.5 })
    out[#out + 1] = M.el("text", { x = x + 18, y = y + 9, class = "lbl-l" },
      esc(v == top and v > 1 and ("%d+"):format(v) or tostring(v)))
    x = x + 48
  end
  return table.concat(out), x
end

--[[
timeline(p) -> one SVG: time runs left to right from p.t0 to p.t1
(seconds on the host monitor's clock); from the top, the phases of the
steps, then scheduler events and snapshots as marker lines down the whole
plot, a heat strip per CPU of nr_running and one of the local DSQ depth
(p.heat: {t = {cell start}, t_end =, cpus = {{cpu =, nr = {}, dsq = {}}}};
nil: monitor off), stuck CPU episodes outlined on their strip, and a lane
per worker with its longest gap where it happened. p:
  phases = { {label =, from_t =, to_t =} }
  markers = { {t =, class = "sched"|"snapshot"|"stuck"|"error", label =, why =} }
  stuck = { {cpu =, from_t =, to_t =} }
  gaps = { {label =, ms =, from_t =, to_t =, cpu =} }  (from_t nil: not placed in time)
]]
function M.timeline(p)
  local t0, t1 = p.t0, math.max(p.t1, p.t0 + 1e-3)
  local plot_w = W - LEFT - RIGHT
  local function x_of(t) return LEFT + (math.max(t0, math.min(t1, t)) - t0) / (t1 - t0) * plot_w end
  local body, y = {}, 14
  local ticks, step = M.ticks(t0, t1, 10)
  local grid = {}
  for _, t in ipairs(ticks) do
    body[#body + 1] = M.el("text", { x = x_of(t), y = 10, class = "tick" }, esc(seconds(t, step)))
  end
  -- the phases of the steps: one band each
  y = y + 2
  body[#body + 1] = section("phases", y + 1)
  for i, ph in ipairs(p.phases or {}) do
    local x0, x1 = x_of(ph.from_t), x_of(ph.to_t)
    local w = math.max(0.5, x1 - x0)
    body[#body + 1] = M.el("g", { class = "phase" }, title(("%s %s..%s (%.1fs)"):format(ph.label,
      seconds(ph.from_t, 0.1), seconds(ph.to_t, 0.1), ph.to_t - ph.from_t)) ..
      M.el("rect", { x = x0, y = y, width = w, height = 16, fill = i % 2 == 1 and "#dfe7f1" or
        "#c9d6e6" }) ..
      (w > 14 and M.el("text", { x = x0 + 3, y = y + 12, class = "lbl-l" }, esc(M.fit(ph.label,
        w - 6))) or ""))
  end
  y = y + 18
  local marker_y = y
  body[#body + 1] = section("events", y + 2)
  y = y + 2 * LANE + 4
  local heat = p.heat
  local max_nr, max_dsq = 0, 0
  local strips_y = {}
  if heat and #heat.cpus > 0 then
    max_nr, max_dsq = deepest(heat, "nr"), deepest(heat, "dsq")
    for _, kind in ipairs({ "nr", "dsq" }) do
      body[#body + 1] = section(M.SCALES[kind].name, y)
      y = y + LANE + 2
      local max = kind == "nr" and max_nr or max_dsq
      for _, c in ipairs(heat.cpus) do
        if kind == "nr" then strips_y[c.cpu] = y end
        body[#body + 1] = strip(kind, ("cpu%d"):format(c.cpu), heat.t, heat.t_end, c[kind], max,
          y, x_of, M.SCALES[kind], c.cpu)
        y = y + STRIP + 1
      end
      y = y + 6
    end
  else
    body[#body + 1] = M.el("text", { x = LEFT, y = y + 10, class = "lbl-l" },
      esc("no monitor samples: " .. tostring(p.monitor_off or "monitor off")))
    y = y + LANE + 6
  end
  -- a stuck CPU: its nr_running strip outlined where the rq clock froze
  for _, e in ipairs(p.stuck or {}) do
    local sy = strips_y[e.cpu]
    if sy then
      local x0 = x_of(e.from_t)
      body[#body + 1] = M.el("rect", { class = "stuck", x = x0, y = sy - 1,
        width = math.max(1, x_of(e.to_t) - x0), height = STRIP + 2 },
        title(("cpu%d rq clock stuck %s..%s"):format(e.cpu, seconds(e.from_t, 0.1),
          seconds(e.to_t, 0.1))))
    end
  end
  if #(p.gaps or {}) > 0 then
    body[#body + 1] = section("max gap per worker", y)
    y = y + LANE + 2
    for _, g in ipairs(p.gaps) do
      local lane = { M.el("text", { x = LEFT - 6, y = y + STRIP - 1, class = "lbl" },
        esc(M.fit(g.label, LEFT - 10))),
        M.el("line", { x1 = LEFT, x2 = LEFT + plot_w, y1 = y + STRIP / 2, y2 = y + STRIP / 2,
          class = "base" }) }
      local what = ("%s: longest gap %.1fms"):format(g.label, g.ms)
      if g.cpu then what = what .. (" on cpu%d"):format(g.cpu) end
      if g.from_t then
        local x0, x1 = x_of(g.from_t), x_of(g.to_t)
        lane[#lane + 1] = M.el("rect", { class = "gap", x = math.min(x0, x1 - 2), y = y,
          width = math.max(2, x1 - x0), height = STRIP },
          title(("%s, %s..%s"):format(what, seconds(g.from_t, 0.1), seconds(g.to_t, 0.1))))
        local right = x1 + 4 < LEFT + plot_w - 60
        lane[#lane + 1] = M.el("text", { x = right and x1 + 4 or x0 - 4, y = y + STRIP - 1,
          class = right and "lbl-l" or "lbl" }, esc(("%.1fms"):format(g.ms)))
      else
        lane[#lane + 1] = M.el("text", { x = LEFT + 4, y = y + STRIP - 1, class = "lbl-l" },
          esc(("%.1fms (not placed: no guest clock)"):format(g.ms)))
      end
      body[#body + 1] = M.el("g", { class = "gaplane" }, table.concat(lane))
      y = y + STRIP + 2
    end
    y = y + 4
  end
  local bottom = y
  -- grid lines under everything else, markers over it
  for _, t in ipairs(ticks) do
    grid[#grid + 1] = M.el("line", { x1 = x_of(t), x2 = x_of(t), y1 = 14, y2 = bottom,
      class = "grid" })
  end
  -- a marker's label goes in the first of two rows where it overlaps none; else only its line
  local marks, ends = {}, { -math.huge, -math.huge }
  for _, mk in ipairs(p.markers or {}) do
    local x = x_of(mk.t)
    local label = M.fit(mk.label, 130)
    local w = (utf8.len(label) or #label) * 6
    local right = x + 3 + w <= LEFT + plot_w
    local from = right and x + 3 or x - 3 - w
    local row
    for r = 1, 2 do
      if not row and from >= ends[r] + 6 then row = r end
    end
    local text = mk.why and ("%s (+%.2fs): %s"):format(mk.label, mk.t, mk.why) or
      ("%s (+%.2fs)"):format(mk.label, mk.t)
    local parts = { title(text) }
    local top = marker_y + ((row or 2) - 1) * LANE
    parts[2] = M.el("line", { x1 = x, x2 = x, y1 = row and top + 2 or top + LANE, y2 = bottom })
    if row then
      ends[row] = from + w
      parts[3] = M.el("text", { x = right and x + 3 or x - 3, y = top + 10,
        class = right and "lbl-l" or "lbl" }, esc(label))
    end
    marks[#marks + 1] = M.el("g", { class = "marker " .. mk.class }, table.concat(parts))
  end
  if heat and #heat.cpus > 0 then
    local keys, x = {}, LEFT
    for _, kind in ipairs({ "nr", "dsq" }) do
      keys[#keys + 1], x = legend(M.SCALES[kind], kind == "nr" and max_nr or max_dsq, x, y + 2)
      x = x + 30
    end
    body[#body + 1] = M.el("g", { class = "legend" }, table.concat(keys))
    y = y + 16
  end
  return M.el("svg", { xmlns = "http://www.w3.org/2000/svg", width = W, height = y + 4,
    viewBox = ("0 0 %d %s"):format(W, M.num(y + 4)), class = "timeline", role = "img" },
    table.concat(grid) .. table.concat(body) .. table.concat(marks))
end

--[[
bars{rows = { {label =, value =, group =, title =, text =} }, unit =} ->
one SVG: rows grouped by their group (in the order groups first appear),
each group under its name in its colour; a bar per row, as long as its
value against the largest of its group (what a work unit is depends on
the work type, so only a group's bars compare), its text at its end.
]]
function M.bars(b)
  local groups, order = {}, {}
  for _, r in ipairs(b.rows) do
    local g = groups[r.group]
    if not g then
      g = { name = r.group, rows = {}, max = 0 }
      groups[r.group], order[#order + 1] = g, g
    end
    g.rows[#g.rows + 1], g.max = r, math.max(g.max, r.value)
  end
  local plot_w, body, y, h = W - LEFT - RIGHT - 130, {}, 2, 14
  for i, g in ipairs(order) do
    local colour = M.PALETTE[(i - 1) % #M.PALETTE + 1]
    local part = { M.el("text", { x = 4, y = y + 11, class = "sec" }, esc(g.name)) }
    y = y + 15
    for _, r in ipairs(g.rows) do
      local w = g.max > 0 and r.value / g.max * plot_w or 0
      part[#part + 1] = M.el("text", { x = LEFT - 6, y = y + h - 3, class = "lbl" },
        esc(M.fit(r.label, LEFT - 10))) ..
        M.el("rect", { class = "bar", x = LEFT, y = y, width = math.max(w, 0.5), height = h,
          fill = colour }, title(r.title or r.label)) ..
        M.el("text", { x = LEFT + w + 4, y = y + h - 3, class = "lbl-l" },
          esc(("%s %s"):format(r.text or M.num(r.value), b.unit or "")))
      y = y + h + 3
    end
    body[#body + 1] = M.el("g", { class = "bargroup" }, table.concat(part))
    y = y + 4
  end
  return M.el("svg", { xmlns = "http://www.w3.org/2000/svg", width = W, height = y + 2,
    viewBox = ("0 0 %d %d"):format(W, y + 2), class = "bars", role = "img" }, table.concat(body))
end

return M
