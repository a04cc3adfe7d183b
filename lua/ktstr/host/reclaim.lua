-- What killed ktstr runs left (run dirs, cache scratch dirs, temporary files), reclaimed at start.
--
-- Each of those carries its owner: a run or scratch dir a locked .owner
-- file naming the pid, a temporary file a lock of its own (src/base/owner.c).
-- A lock dies with its process whatever killed it, so a free lock means a
-- dead owner and a held one a live run beside us, which is left alone; so
-- are kept dirs (--keep) and anything without an owner file.
local core = require("ktstr.core")

local M = {}

-- Temporary files are judged only once this old (s): a writer locks its file
-- right after making it, and a file that young may be in that instant.
M.MIN_AGE_S = 60

-- A path as a glob(3) pattern that matches only itself.
local function literal(path)
  return (path:gsub("[][*?\\]", "\\%0"))
end

-- Glob patterns of where ktstr makes what a dead run can leave: names with
-- mkdtemp's six characters, which are ours (a spec's ktstr-spec-XXXXXX is not).
function M.places()
  local places = {}
  for _, base in ipairs(require("ktstr.host.vm").run_dir_bases()) do
    places[#places + 1] = literal(base) .. "/ktstr-??????"
  end
  -- no cache dir (HOME unset) is not this sweep's to report
  local ok, cache = pcall(require("ktstr.host.kernel").cache_dir)
  if ok then
    cache = literal(cache)
    -- kernel.scratch: fetches, source unpacks (sources/VERSION/), scx and kernel builds
    for _, sub in ipairs({ "kernels", "sources", "sources/*", "scx", "builds" }) do
      places[#places + 1] = cache .. "/" .. sub .. "/.fetch-??????"
    end
    -- cpio_write's base images in the making
    places[#places + 1] = cache .. "/initramfs/*.cpio.??????"
    -- kmem.save_symbols' file in the making (milliseconds; never locked, so by age alone)
    places[#places + 1] = cache .. "/ksyms/*.json.tmp"
  end
  return places
end

-- Removes what dead owners left; returns the list of {path =, pid =} removed.
function M.sweep()
  local gone = {}
  for _, pattern in ipairs(M.places()) do
    for _, g in ipairs(core.owner_reclaim(pattern, M.MIN_AGE_S) or {}) do
      gone[#gone + 1] = g
    end
  end
  return gone
end

return M
