-- Results for CI: JUnit XML (one testcase per test run) and TAP lines.
local M = {}

local function hex(c) return ("\\x%02x"):format(c:byte()) end

-- Bytes that are not UTF-8 as \xNN: an XML parser refuses the whole file for one.
local function utf8_only(s)
  if utf8.len(s) then return s end
  local out, i = {}, 1
  while i <= #s do
    local seq = s:match("^[\xC2-\xF4][\x80-\xBF]*", i)
    if seq and utf8.len(seq) == 1 then
      out[#out + 1] = seq
      i = i + #seq
    else
      local c = s:sub(i, i)
      out[#out + 1] = c:byte() < 0x80 and c or hex(c)
      i = i + 1
    end
  end
  return table.concat(out)
end

-- XML 1.0 text: the five entities escaped, control characters it cannot hold shown as \xNN.
local function esc(s)
  s = utf8_only(tostring(s or ""))
  s = s:gsub("[%z\1-\8\11\12\14-\31\127]", hex)
  return (s:gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
    ['"'] = "&quot;", ["'"] = "&apos;" }))
end
-- the HTML report writes the guest's words through it too
M.esc = esc

-- Where a verdict goes in JUnit: a scheduler's failure is a failure, bad input and an
-- inconclusive run are errors of their kind (CI must not read them as passes), skip skipped.
local ELEMENT = { fail = "failure", error = "error", inconclusive = "error", skip = "skipped" }

--[[
render{name =, time =, cases = { {name =, classname =, time =, status =
"pass"|"fail"|"error"|"inconclusive"|"skip", message = root-cause line, output
= the report} }} -> the XML document.
]]
function M.render(suite)
  local counts = { tests = #suite.cases, failures = 0, errors = 0, skipped = 0 }
  for _, c in ipairs(suite.cases) do
    local el = ELEMENT[c.status]
    if el == "failure" then counts.failures = counts.failures + 1
    elseif el == "error" then counts.errors = counts.errors + 1
    elseif el == "skipped" then counts.skipped = counts.skipped + 1 end
  end
  local out = { '<?xml version="1.0" encoding="UTF-8"?>\n',
    ('<testsuites name="%s" tests="%d" failures="%d" errors="%d" skipped="%d" time="%.3f">\n')
      :format(esc(suite.name), counts.tests, counts.failures, counts.errors, counts.skipped,
        suite.time or 0),
    ('  <testsuite name="%s" tests="%d" failures="%d" errors="%d" skipped="%d" time="%.3f">\n')
      :format(esc(suite.name), counts.tests, counts.failures, counts.errors, counts.skipped,
        suite.time or 0) }
  for _, c in ipairs(suite.cases) do
    out[#out + 1] = ('    <testcase name="%s" classname="%s" time="%.3f"')
      :format(esc(c.name), esc(c.classname or suite.name), c.time or 0)
    local el = ELEMENT[c.status]
    if not el and not c.output then
      out[#out + 1] = "/>\n"
    else
      out[#out + 1] = ">\n"
      if el == "skipped" then
        out[#out + 1] = ('      <skipped message="%s"/>\n'):format(esc(c.message))
      elseif el then
        out[#out + 1] = ('      <%s type="%s" message="%s">%s</%s>\n'):format(el, c.status,
          esc(c.message), esc(c.output), el)
      end
      if c.output then
        out[#out + 1] = ("      <system-out>%s</system-out>\n"):format(esc(c.output))
      end
      out[#out + 1] = "    </testcase>\n"
    end
  end
  out[#out + 1] = "  </testsuite>\n</testsuites>\n"
  return table.concat(out)
end

-- One TAP line per case (numbered from 1), then the plan: ok, not ok, # SKIP.
function M.tap(cases)
  local out = {}
  for i, c in ipairs(cases) do
    local line
    if c.status == "pass" then
      line = ("ok %d - %s"):format(i, c.name)
    elseif c.status == "skip" then
      line = ("ok %d - %s # SKIP %s"):format(i, c.name, c.message or "")
    else
      line = ("not ok %d - %s # %s: %s"):format(i, c.name, c.status:upper(), c.message or "")
    end
    out[#out + 1] = line:gsub("[\r\n]", " ")
  end
  out[#out + 1] = ("1..%d"):format(#cases)
  return table.concat(out, "\n") .. "\n"
end

return M
