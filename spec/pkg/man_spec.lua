-- doc/ktstr.1: renders without a warning, and names what ktstr's own help and environment reads do.
local helpopts = require("support.helpopts")
local run = require("support.run")

local MAN = "doc/ktstr.1"

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

-- The page's text with roff escapes for hyphens, fonts and no-breaks removed.
local function plain(s)
  return (s:gsub("\\%-", "-"):gsub("\\%%", ""):gsub("\\f[BIRP]", ""):gsub("\\&", ""))
end

-- sections[name]: the text of `.SS "ktstr NAME ..."` or `.SH NAME`, up to the next heading.
local function sections(src)
  local out, name, buf = {}, nil, {}
  local function close()
    if name then out[name] = plain(table.concat(buf, "\n")) end
    buf = {}
  end
  for line in (src .. "\n"):gmatch("([^\n]*)\n") do
    local ss = line:match('^%.SS "ktstr (%a+)')
    local sh = line:match("^%.SH (.+)$")
    if ss or sh then
      close()
      name = ss or sh:gsub('"', "")
    else
      buf[#buf + 1] = line
    end
  end
  close()
  return out
end

local function mentions(text, word)
  return (" " .. text .. " "):find("[^%w%-_]" .. word:gsub("%p", "%%%0") .. "[^%w%-_]") ~= nil
end

describe("the man page", function()
  local src = read(MAN)
  local sec = sections(src)

  it("renders with man-db without a warning", function()
    local where = run.sh("command -v man")
    assert.are_not.equal("", where, "man-db is not installed (scripts/install-deps installs it)")
    local out, ok = run.sh("MANWIDTH=80 man --warnings -l " .. MAN .. " 2>&1 >/dev/null")
    assert.is_true(ok)
    assert.are.equal("", out)
    local page = run.sh("MANWIDTH=80 man -l " .. MAN .. " 2>/dev/null")
    for _, h in ipairs({ "NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS",
      "ENVIRONMENT", "FILES", "EXAMPLES" }) do
      assert.matches("\n" .. h .. "\n", page, 1, true)
    end
  end)

  it("carries ktstr's release", function()
    local release = require("ktstr.core").version()
    assert.matches('\n.TH KTSTR 1 "[^"]*" "ktstr ' .. release:gsub("%p", "%%%0") .. '"', "\n" .. src)
  end)

  it("has a section for every subcommand ktstr help lists", function()
    for _, cmd in ipairs(helpopts.commands()) do
      if cmd ~= "help" then
        assert.is_truthy(sec[cmd], MAN .. " has no section .SS \"ktstr " .. cmd .. " ...\"")
      end
      assert.is_true(mentions(sec.SYNOPSIS, cmd), "the synopsis lacks " .. cmd)
    end
  end)

  it("names, in each subcommand's section, every option its --help names", function()
    local missing = {}
    for _, cmd in ipairs(helpopts.commands()) do
      if sec[cmd] then
        local named = helpopts.options(cmd)
        for _, opt in ipairs(helpopts.sorted(named)) do
          if not mentions(sec[cmd], opt) then missing[#missing + 1] = cmd .. " " .. opt end
        end
      end
    end
    assert.are.same({}, missing)
  end)

  it("documents every KTSTR_ variable ktstr reads", function()
    local out = run.sh([[grep -rhoE 'getenv\("KTSTR_[A-Z_]+"\)' lua src vmm initramfs]])
    local vars = {}
    for v in out:gmatch("KTSTR_[%u_]+") do vars[v] = true end
    assert.is_truthy(vars.KTSTR_KERNEL, "the grep found nothing: " .. out)
    local missing = {}
    for _, v in ipairs(helpopts.sorted(vars)) do
      if not sec.ENVIRONMENT:find("\n.B " .. v .. "\n", 1, true) then
        missing[#missing + 1] = v
      end
    end
    assert.are.same({}, missing)
  end)
end)
