-- Payloads in a guest: stress-ng, fio and perf bench with the built-in parsers, a metrics function
-- that reads where its program ran; then failures: an exit code, a bound, a timeout.
local ktstr = require("ktstr")

-- Prints each payload's run-wide metrics, for the spec to read: "payload NAME: k=v ...".
local function print_metrics(result)
  local names = {}
  for name in pairs(result.payloads) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local p, kv = result.payloads[name], {}
    for k, v in pairs(p.metrics or {}) do
      if not k:find(".", 1, true) then kv[#kv + 1] = ("%s=%.6g"):format(k, v) end
    end
    table.sort(kv)
    print(("payload %s: cpus=%s %s"):format(name, p.cpus or "all", table.concat(kv, " ")))
  end
end

ktstr.test{
  name = "payload_programs",
  llcs = 1, cores = 2,
  duration_s = 3,
  defs = {
    ktstr.payload{ name = "stress", argv = { "stress-ng", "--cpu", 1, "--timeout", "2s" },
      metrics = "stress_ng", checks = { bogo_ops_per_s = { min = 1 }, ["cpu.bogo_ops"] = { min = 1 } } },
    ktstr.payload{ name = "fio", argv = { "fio", "--name=rw", "--filename=/tmp/payload-fio.dat",
      "--size=4M", "--rw=randrw", "--bs=4k", "--runtime=2", "--time_based" },
      metrics = "fio", checks = { read_iops = { min = 1 }, write_iops = { min = 1 } } },
    ktstr.payload{ name = "pipe", argv = { "perf", "bench", "sched", "pipe", "-l", 2000 },
      metrics = "perf_sched_pipe", checks = { ops_per_s = { min = 1 } } },
    ktstr.payload{ name = "messaging", argv = { "perf", "bench", "sched", "messaging", "-g", 1,
      "-l", 10 }, metrics = "perf_sched_messaging", checks = { total_s = { max = 60 } } },
    -- its own cgroup, nice and cpuset, as the program itself sees them
    ktstr.payload{ name = "where", argv = { "cat", "/proc/self/cgroup", "/proc/self/status",
      "/proc/self/stat" }, nice = 5, cpuset = ktstr.cpuset.exact("1"),
      metrics = function(out)
        local stat = out:match("\n%d+ %b() ([^\n]+)")
        local fields = {}
        for f in (stat or ""):gmatch("%S+") do fields[#fields + 1] = f end
        return { in_own_cgroup = out:find("0::/ktstr/where\n", 1, true) and 1 or 0,
          nice = tonumber(fields[17]), allowed_cpu = tonumber(out:match("Cpus_allowed_list:%s*(%d+)\n")) }
      end,
      checks = { in_own_cgroup = { min = 1 }, nice = { min = 5, max = 5 },
        allowed_cpu = { min = 1, max = 1 } } },
  },
  post_vm = print_metrics,
}

ktstr.test{
  name = "payload_failures",
  llcs = 1, cores = 2,
  duration_s = 2,
  defs = {
    ktstr.payload{ name = "bad", argv = { "stress-ng", "--cpu", 1, "--bogus-option" },
      metrics = "stress_ng" },
    ktstr.payload{ name = "bounded", argv = { "perf", "bench", "sched", "pipe", "-l", 1000 },
      metrics = "perf_sched_pipe", checks = { ops_per_s = { min = 1e12 } } },
    ktstr.payload{ name = "hang", argv = { "sleep", 60 }, timeout_s = 2 },
  },
}
