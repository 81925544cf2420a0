-- Tasks for jobs_spec.lua: genlab.jobs runs them in other genlab processes,
-- which find this file on the package.path the spec sets.
local G = require "genlab"
local T = {}

-- Three messages of awkward values, then a result built from arg.
function T.echo(arg, send)
  for i = 1, 3 do
    send{i = i, x = arg.x, t = G.arange(0, 6):reshape(2, 3) * i, text = "two\nlines \0 \"quoted\"",
         nan = 0 / 0, inf = -math.huge, tiny = 2 ^ -1074, int = math.maxinteger, list = {1.5, "a", true}}
  end
  io.write("a line the task leaves unfinished ")          -- the result's line comes after it
  return {x = arg.x, sq = arg.x * arg.x, threads = G.get_num_threads(), t = arg.t and arg.t * 2 or nil}
end

-- Five Adam steps of a small CNN on 64 images of 28x28 (enough work for its
-- convolutions to split the batch among threads), and the loss after them:
-- the same number in a process of one thread as in one of two.
function T.train(arg)
  G.manual_seed(arg.seed)
  local x = G.rand(64, 1, 28, 28)
  local nn = G.nn
  local m = nn.Sequential(nn.Conv2d(1, 8, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, {padding = 1}), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 49, 1))
  local opt = G.optim.Adam(m:parameters(), {lr = 1e-2})
  local loss
  for _ = 1, 5 do
    loss = (m(x) ^ 2):mean()
    opt:zero_grad()
    loss:backward()
    opt:step()
  end
  return {loss = loss:item()}
end

-- Waits (up to 10 s) until it may use arg.want threads: it starts with one, so
-- only the parent's offer gets it there.  (The offer may come before the task
-- starts: the process takes it at its first operation.)
function T.wait_for_threads(arg)
  local t0 = G.time()
  while G.get_num_threads() < arg.want and G.time() - t0 < 10 do os.execute("sleep 0.02") end
  return {now = G.get_num_threads()}
end

function T.fail(arg) error("task failed on purpose with " .. tostring(arg.x)) end

-- Writes its process id to arg.pidfile, then waits arg.secs: a task to stop.
function T.linger(arg)
  local f = io.open("/proc/self/stat", "r")
  local pid = f:read("n")
  f:close()
  G.data.write_file(arg.pidfile, tostring(pid))
  local t0 = G.time()
  while G.time() - t0 < arg.secs do os.execute("sleep 0.05") end
  return {}
end

-- Ends its own process with a signal.
function T.die() os.execute("kill -9 $PPID") end

-- Returns without a result line: exits before it.
function T.quit() os.exit(0) end

function T.cycle(_, send)
  local t = {}
  t.self = t
  send(t)
end

return T
