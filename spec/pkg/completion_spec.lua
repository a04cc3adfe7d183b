-- scripts/ktstr-completion.bash: offers what each subcommand's --help says it takes, and test names.
local helpopts = require("support.helpopts")
local run = require("support.run")

-- What bash offers for the line words (the last one being completed), as a set.
local function complete(words)
  local q = { run.sh_quote(run.exe) }
  for _, w in ipairs(words) do q[#q + 1] = run.sh_quote(w) end
  local out, ok = run.sh("bash -c 'source scripts/ktstr-completion.bash; COMP_WORDS=(\"$@\"); " ..
    "COMP_CWORD=$(($# - 1)); _ktstr; printf \"%s\\n\" \"${COMPREPLY[@]}\"' _ " ..
    table.concat(q, " ") .. " 2>&1")
  assert.is_true(ok, out)
  local set = {}
  for w in out:gmatch("[^\n]+") do set[w] = true end
  return set
end

local function minus(a, b)
  local out = {}
  for k in pairs(a) do
    if not b[k] then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

describe("bash completion", function()
  it("offers the subcommands ktstr help lists", function()
    local offered = complete({ "" })
    local want = {}
    for _, c in ipairs(helpopts.commands()) do want[c] = true end
    assert.are.same({}, minus(want, offered))
  end)

  it("offers each option a subcommand's --help says it takes, and no other", function()
    local sub = { kernel = { "build", "path", "clean" }, stats = { "compare" } }
    local checked = 0
    for _, cmd in ipairs(helpopts.commands()) do
      -- help and version take no options
      if cmd == "help" or cmd == "version" then goto next end
      checked = checked + 1
      local _, takes, internal = helpopts.options(cmd)
      local offered = {}
      for _, s in ipairs(sub[cmd] or { false }) do
        for _, prefix in ipairs({ "-", "--" }) do
          local words = { cmd }
          if s then words[#words + 1] = s end
          words[#words + 1] = prefix
          for o in pairs(complete(words)) do
            if o:match("^%-") then offered[o] = true end
          end
        end
      end
      local want = {}
      for o in pairs(takes) do
        if not internal[o] then want[o] = true end
      end
      assert.are.same({}, minus(want, offered), "ktstr " .. cmd .. ": not offered")
      -- -h and --help: every subcommand takes them, whether or not its help says so
      takes["-h"], takes["--help"] = true, true
      assert.are.same({}, minus(offered, takes), "ktstr " .. cmd .. ": offered, not taken")
      for o in pairs(internal) do
        assert.is_nil(offered[o], "ktstr " .. cmd .. ": offers the internal " .. o)
      end
      ::next::
    end
    assert.are.equal(7, checked)
  end)

  it("offers the test names of the scripts on the line for --filter and --exact", function()
    assert.are.same({ mixed_workloads = true, step1_skeleton = true },
      complete({ "script", "tests/mixed.lua", "tests/step1_skeleton.lua", "--filter", "" }))
    assert.are.same({ step1_skeleton = true },
      complete({ "script", "tests/step1_skeleton.lua", "tests/mixed.lua", "--exact", "st" }))
    assert.are.same({}, complete({ "script", "--filter", "" }))
  end)

  it("offers script files and the gauntlet presets", function()
    assert.are.same({ ["tests/mixed.lua"] = true }, complete({ "script", "tests/mix" }))
    assert.is_true(complete({ "verifier", "--topo", "" })["4cpu-2llc-nosmt"])
  end)
end)
