-- common.lua -- what the Lua benchmarks share: the JSON line that run.sh
-- sets beside the peers' lines, and a best-of timer.
--
--   local B = dofile("tests/bench/common.lua")
--   B.emit("gmm_em", B.best(3, f), "s/iter", ', "K": 64')
local G = require "genlab"
local B = {}

-- One measurement as a JSON line; extra is more fields, ', "K": 64' style.
function B.emit(workload, seconds, unit, extra)
  print(string.format('{"workload": "%s", "impl": "genlab", "seconds": %.6g, "unit": "%s"%s}',
                      workload, seconds, unit, extra or ""))
end

-- The fastest of reps timed calls of f (no warm-up: call f first if it needs one).
function B.best(reps, f)
  local t = math.huge
  for _ = 1, reps do
    local t0 = G.time()
    f()
    t = math.min(t, G.time() - t0)
  end
  return t
end

return B
