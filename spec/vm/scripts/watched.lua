-- Guests the host watches: each post_vm prints where the kernel landed and what the host read there.
--
-- kaslr_on/kaslr_off (spec/vm/kaslr_spec): KASLR on and off. restore_a/restore_b
-- (spec/vm/restore_spec): one vCPU each, one guest shape, so -j 2 restores one
-- saved guest twice at once.
local ktstr = require("ktstr")

local function fixture()
  return ktstr.scheduler{ name = "ktstr_sched", binary = "ktstr-sched", ops_name = "ktstr",
    watchdog_arg = "--watchdog-ms" }
end

-- The monitor sampled every CPU and a periodic snapshot read the fixture's .bss counter.
local function seen(name)
  return function(result)
    local samples = #result.monitor.samples
    if samples < 10 then return ktstr.fail(("%d monitor samples"):format(samples)) end
    local snaps = result:periodic().snaps
    if #snaps < 1 then return ktstr.fail("no periodic snapshot") end
    local n = snaps[#snaps]:var("nr_dispatched")
    if n <= 0 then return ktstr.fail("nr_dispatched is 0 in the last snapshot") end
    print(("%s: text %s samples %d nr_dispatched %d"):format(name,
      tostring(result.kernel_text), samples, n))
  end
end

local function test(name, cores, kaslr)
  ktstr.test{
    name = name, scheduler = fixture(), llcs = 1, cores = cores, duration_s = 2, num_snapshots = 2,
    kaslr = kaslr,
    defs = { ktstr.cgroup("spin"):workers(2):work(ktstr.work.spin_wait()) },
    post_vm = seen(name),
  }
end

test("kaslr_on", 2, nil)
test("kaslr_off", 2, false)
test("restore_a", 1, nil)
test("restore_b", 1, nil)
