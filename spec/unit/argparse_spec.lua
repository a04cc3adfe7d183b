-- ktstr.host.argparse: the option loop every subcommand uses.
local argparse = require("ktstr.host.argparse")

local SPEC = {
  valued = { ["--topo"] = "topo", ["--memory-mib"] = "memory_mib" },
  lists = { ["-i"] = "include", ["--include"] = "include" },
  flags = { ["-v"] = "verbose" },
}

local function with(positional, extra)
  local s = { positional = positional }
  for k, v in pairs(SPEC) do s[k] = v end
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end

describe("argparse.parse", function()
  it("reads --key VALUE, --key=VALUE, repeated lists and flags", function()
    local o, rest = argparse.parse({ "--topo", "1n2l2c1t", "--memory-mib=512", "-i", "a", "-v",
      "--include=b:c" }, with("stop"))
    assert.same({ topo = "1n2l2c1t", memory_mib = "512", include = { "a", "b:c" }, verbose = true }, o)
    assert.equal(8, rest)
  end)

  it("stops at the first operand or after --", function()
    local _, rest = argparse.parse({ "-v", "echo", "-v" }, with("stop"))
    assert.equal(2, rest)
    _, rest = argparse.parse({ "-v", "--", "-x" }, with("stop"))
    assert.equal(3, rest)
  end)

  it("collects operands anywhere, or rejects them with the reason", function()
    local o = argparse.parse({ "a.lua", "-v", "b.lua" }, with("collect", { collect = "files" }))
    assert.same({ "a.lua", "b.lua" }, o.files)
    local none, err = argparse.parse({ "x" }, with("reject", { reject = "chunks come on stdin" }))
    assert.is_nil(none)
    assert.equal("unexpected argument 'x' (chunks come on stdin)", err)
  end)

  it("names a missing value and an unknown option", function()
    assert.same({ nil, "option --topo needs a value" }, { argparse.parse({ "--topo" }, with("stop")) })
    assert.same({ nil, "unknown option '--nope'" }, { argparse.parse({ "--nope" }, with("stop")) })
  end)
end)

describe("argparse.positive", function()
  it("converts a positive number in place, an integer when asked", function()
    local o = { memory_mib = "512", timeout = "1.5" }
    assert.is_true(argparse.positive(o, "memory_mib", true))
    assert.is_true(argparse.positive(o, "timeout"))
    assert.same({ memory_mib = 512, timeout = 1.5 }, o)
    assert.is_true(argparse.positive({}, "absent"))
  end)

  it("names the option and the value it refuses", function()
    assert.same({ nil, "--memory-mib: expected a positive integer, got '1.5'" },
      { argparse.positive({ memory_mib = "1.5" }, "memory_mib", true) })
    assert.same({ nil, "--timeout: expected a positive number, got '-1'" },
      { argparse.positive({ timeout = "-1" }, "timeout") })
  end)
end)

describe("argparse.command", function()
  local SPEC_DOC = {
    synopsis = "FILE... [options]",
    valued = { ["--filter"] = "filter" },
    flags = { ["-v"] = "verbose", ["--verbose"] = "verbose" },
    positional = "collect", collect = "files",
    doc = { { "--filter PAT", "tests whose name contains PAT" },
      { "-v, --verbose", "say more" }, { "-h, --help", "this text" } },
  }

  local function spec(changes)
    local s = {}
    for k, v in pairs(SPEC_DOC) do s[k] = v end
    for k, v in pairs(changes or {}) do s[k] = v end
    return s
  end

  it("builds the help from the options it parses", function()
    local cmd = argparse.command("x", spec())
    assert.matches("^usage: ktstr x FILE%.%.%. %[options%]\n", cmd.help)
    assert.matches("\n  %-%-filter PAT +tests whose name contains PAT\n", cmd.help)
    assert.matches("\n  %-v, %-%-verbose +say more\n", cmd.help)
  end)

  it("refuses help that misses an option or names one the parser does not take", function()
    local flags = { ["-v"] = "verbose", ["--verbose"] = "verbose", ["--quiet"] = "quiet" }
    assert.has_error(function() argparse.command("x", spec({ flags = flags })) end,
      "ktstr x: option --quiet has no help")
    local doc = { { "--filter PAT", "" }, { "-v, --verbose", "" }, { "-h, --help", "" },
      { "--gone", "an option the parser dropped" } }
    assert.has_error(function() argparse.command("x", spec({ doc = doc })) end,
      "ktstr x: help names --gone, not an option")
  end)

  it("answers -h with the help (exit 0) and a bad option with the synopsis (exit 2)", function()
    local cmd = argparse.command("x", spec())
    -- luacheck: push ignore 122 (the streams are swapped to catch what is printed)
    local out, err, real_out, real_err = {}, {}, io.stdout, io.stderr
    io.stdout = { write = function(_, ...) for _, v in ipairs({ ... }) do out[#out + 1] = v end end }
    io.stderr = { write = function(_, ...) for _, v in ipairs({ ... }) do err[#err + 1] = v end end }
    local o1, c1 = cmd.parse({ "a.lua", "--help" })
    local o2, c2 = cmd.parse({ "--bogus" })
    io.stdout, io.stderr = real_out, real_err
    -- luacheck: pop
    assert.is_nil(o1)
    assert.are.equal(0, c1)
    assert.are.equal(cmd.help, table.concat(out))
    assert.is_nil(o2)
    assert.are.equal(2, c2)
    assert.are.equal("ktstr x: unknown option '--bogus'\nusage: ktstr x FILE... [options]\n" ..
      "(ktstr x --help lists the options)\n", table.concat(err))
  end)
end)
