-- Payload runs on the host: judged (exit, metrics, bounds), summed up for the report and record.
local payload = require("ktstr.payload")

local M = {}

-- Lines of a failed payload's output the report shows, per stream.
M.LINES = 20

-- result.payloads in the order they started: { {name =, run =}, ... }.
local function runs(result)
  local out = {}
  for name, r in pairs(type(result.payloads) == "table" and result.payloads or {}) do
    out[#out + 1] = { name = name, run = r }
  end
  table.sort(out, function(a, b)
    if a.run.started_s ~= b.run.started_s then return a.run.started_s < b.run.started_s end
    return a.name < b.name
  end)
  return out
end

local function last_line(s)
  local last
  for l in (s or ""):gmatch("[^\n]+") do
    if l:match("%S") then last = l end
  end
  return last
end

-- How it ended, in a few words: "exit 0", "signal 9", "timed out", "stopped by an op".
local function ending(r)
  if r.by_op then return "stopped by an op" end
  if r.timed_out then return "timed out" end
  local e = r.exit or {}
  if e.signal then return ("signal %d"):format(e.signal) end
  if e.code then return ("exit %d"):format(e.code) end
  return "never ended"
end

-- Why a payload's run failed (a sentence naming it), or nil: exit, timeout, nothing parsed.
function M.failure(name, r)
  if r.by_op then return nil end
  local e, q = r.exit or {}, ("payload '%s'"):format(name)
  local said = last_line(r.stderr_tail) or last_line(r.stdout_tail)
  local tail = said and ": " .. said or " (and printed nothing)"
  if r.timed_out then
    return ("%s was still running %.0fs after it started (its timeout_s): killed%s")
      :format(q, (r.ended_s or r.started_s) - r.started_s, tail)
  end
  if e.signal then return ("%s was killed by signal %d%s"):format(q, e.signal, tail) end
  if e.code ~= 0 then return ("%s exited with code %s%s"):format(q, e.code or "?", tail) end
  if r.parser and not r.metrics then
    return ("%s gave no metrics: %s"):format(q, r.parse_error or "none found in its output")
  end
end

local function fmt(x)
  if math.type(x) == "integer" or (x == math.floor(x) and math.abs(x) < 1e15) then
    return ("%d"):format(x)
  end
  if math.abs(x) >= 100 then return ("%.1f"):format(x) end
  return ("%.4g"):format(x)
end

--[[
judge(test, result, add): each payload run, add(status, fmt, ...) for a
failed run (fail) and each bound of its declaration (the host's, never the
guest's word) that the metrics break (fail) or cannot show (a metric the
run did not give: inconclusive).
]]
function M.judge(test, result, add)
  for _, it in ipairs(runs(result)) do
    local name, r = it.name, it.run
    local why = M.failure(name, r)
    if why then add("fail", "%s", why) end
    -- a failed run's metrics are not judged: its failure says it all
    local def = not why and payload.by_name(test, name)
    local bounds = def and def.payload.checks or {}
    local keys = {}
    for k in pairs(bounds) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local b, v = bounds[k], r.metrics and r.metrics[k]
      if r.by_op then
        add("inconclusive", "payload '%s' was stopped by an op: %s not judged", name, k)
      elseif v == nil then
        local have = {}
        for m in pairs(r.metrics or {}) do have[#have + 1] = m end
        table.sort(have)
        add("inconclusive", "payload '%s' gave no metric %s this run (it gave: %s)", name, k,
          #have > 0 and table.concat(have, ", ", 1, math.min(#have, 12)) ..
          (#have > 12 and ", ..." or "") or "none")
      elseif b.min and v < b.min then
        add("fail", "payload '%s' %s %s below min %s", name, k, fmt(v), fmt(b.min))
      elseif b.max and v > b.max then
        add("fail", "payload '%s' %s %s above max %s", name, k, fmt(v), fmt(b.max))
      end
    end
  end
end

--[[
The stats roll-up's payloads: { {name, parser, ended = "exit 0", wall_s,
metrics = {...}}, ... } in start order (the record keeps them, `ktstr
stats` compares their metrics).
]]
function M.stats(result)
  local out = {}
  for _, it in ipairs(runs(result)) do
    local r = it.run
    out[#out + 1] = { name = it.name, parser = r.parser, ended = ending(r),
      wall_s = r.ended_s and r.ended_s - r.started_s, metrics = r.metrics or {} }
  end
  return out
end

-- The --- stats --- line of one payload: its run-wide metrics (ITEM.x ones are in the record).
function M.stats_line(p)
  local keys = {}
  for k in pairs(p.metrics) do
    if not k:find(".", 1, true) then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = ("%s=%s"):format(k, fmt(p.metrics[k])) end
  return ("payload %s: %s%s%s"):format(p.name, p.ended,
    p.wall_s and (" after %.1fs"):format(p.wall_s) or "",
    #parts > 0 and " " .. table.concat(parts, " ") or "")
end

-- The output of each failed payload, for the report: "--- payload NAME stderr ---" blocks.
function M.output_lines(out, result)
  for _, it in ipairs(runs(result)) do
    if M.failure(it.name, it.run) then
      for _, stream in ipairs({ "stderr", "stdout" }) do
        local text = it.run[stream .. "_tail"]
        if text and text:match("%S") then
          local lines = {}
          for l in text:gmatch("[^\n]*") do lines[#lines + 1] = l end
          while #lines > 0 and lines[#lines] == "" do lines[#lines] = nil end
          local from = math.max(1, #lines - M.LINES + 1)
          out[#out + 1] = ("--- payload %s %s (last %d lines) ---"):format(it.name, stream,
            #lines - from + 1)
          table.move(lines, from, #lines, #out + 1, out)
        end
      end
    end
  end
end

return M
