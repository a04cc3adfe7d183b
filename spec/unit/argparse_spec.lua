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
