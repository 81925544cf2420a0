-- genlab.jobs: tasks in other processes, values passed back exactly, and
-- every failure named, with no process or file left behind.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")

package.path = "tests/lua/?.lua;" .. package.path

local function leftover_dirs()
  local p = io.popen("ls -d " .. (os.getenv("TMPDIR") or "/tmp") .. "/genlab-jobs-* 2>/dev/null")
  local names = {}
  for line in p:lines() do names[line] = true end
  p:close()
  return names
end

local function no_new_dirs(before)
  for d in pairs(leftover_dirs()) do assert.is_true(before[d] ~= nil, "left behind: " .. d) end
end

describe("genlab.jobs", function()
  it("run tasks in two processes and pass every value back exactly, tensors too", function()
    local before = leftover_dirs()
    local seen = {{}, {}}
    local res = G.jobs.run({{fn = "jobs_tasks.echo", arg = {x = 3}},
                            {fn = "jobs_tasks.echo", arg = {x = 0.1, t = G.tensor{1.5, -2}}}},
                           {workers = 2, on_message = function(k, m) seen[k][#seen[k] + 1] = m end})
    assert.are.equal(9, res[1].sq)
    assert.are.equal(math.type(9), math.type(res[1].sq))
    assert.are.equal(0.1 * 0.1, res[2].sq)                      -- to the last bit
    assert.are.same({3, -4}, {res[2].t[1], res[2].t[2]})
    -- each starts on its share; the one that finishes last may have been given the other's
    -- threads by then, but the first to finish cannot (no task had ended before it)
    local share = math.max(1, G.get_num_threads() // 2)
    assert.are.equal(share, math.min(res[1].threads, res[2].threads))
    assert.is_true(math.max(res[1].threads, res[2].threads) <= G.get_num_threads())
    for k = 1, 2 do
      assert.are.equal(3, #seen[k])                             -- in order, each once
      for i, m in ipairs(seen[k]) do
        assert.are.equal(i, m.i)
        assert.are.equal("two\nlines \0 \"quoted\"", m.text)
        assert.is_true(m.nan ~= m.nan)
        assert.are.equal(-math.huge, m.inf)
        assert.are.equal(2 ^ -1074, m.tiny)
        assert.are.equal(math.maxinteger, m.int)
        assert.are.same({1.5, "a", true}, m.list)
        assert.are.same({2, 3}, m.t.shape)
        assert.are.equal(5 * i, m.t[2][3])
      end
    end
    no_new_dirs(before)
  end)

  it("give the same numbers with one worker (the tasks run here) as in processes of one thread", function()
    local tasks = {{fn = "jobs_tasks.train", arg = {seed = 1}}, {fn = "jobs_tasks.train", arg = {seed = 2}}}
    local apart = G.jobs.run(tasks, {workers = 2})
    local here = G.jobs.run(tasks, {workers = 1})
    for k = 1, 2 do assert.are.equal(here[k].loss, apart[k].loss) end
    assert.are_not.equal(apart[1].loss, apart[2].loss)
  end)

  it("give the last task running the threads of the finished ones", function()
    local threads = G.get_num_threads()
    G.set_num_threads(2)
    local r = G.jobs.run({{fn = "jobs_tasks.wait_for_threads", arg = {want = 2}},
                          {fn = "jobs_tasks.echo", arg = {x = 1}}}, {workers = 2})
    G.set_num_threads(threads)
    assert.are.equal(1, r[2].threads)                          -- each started with one of the two
    assert.are.equal(2, r[1].now)
  end)

  it("stop on a failed task, naming it, its exit status or signal, and leave nothing behind", function()
    local before = leftover_dirs()
    local msg = H.err(G.jobs.run, {{fn = "jobs_tasks.echo", arg = {x = 1}},
                                   {fn = "jobs_tasks.fail", arg = {x = 7}, label = "the failing one"}},
                      {workers = 2})
    assert.matches("jobs.run: the failing one failed %(exit status 1", msg)
    msg = H.err(G.jobs.run, {{fn = "jobs_tasks.die"}, {fn = "jobs_tasks.echo", arg = {x = 1}}}, {workers = 2})
    assert.matches("task 1 %(jobs_tasks.die%) was killed by signal 9", msg)
    msg = H.err(G.jobs.run, {{fn = "jobs_tasks.quit"}, {fn = "jobs_tasks.quit"}}, {workers = 2})
    assert.matches("ended without sending its result", msg)
    msg = H.err(G.jobs.run, {{fn = "jobs_tasks.cycle"}, {fn = "jobs_tasks.echo", arg = {x = 1}}}, {workers = 2})
    assert.matches("task 1 %(jobs_tasks.cycle%) failed", msg)
    no_new_dirs(before)
  end)

  it("leave no task running and no folder behind when the parent is stopped by a signal", function()
    local before = leftover_dirs()
    local dir = H.tmpdir()
    local script = dir .. "/sweep.lua"
    G.data.write_file(script, ('package.path = "%s/tests/lua/?.lua;" .. package.path\n'):format(os.getenv("PWD")) ..
      'local G = require "genlab"\nG.jobs.run({{fn = "jobs_tasks.linger", arg = {pidfile = "' .. dir .. '/1", secs = 30}},\n' ..
      '            {fn = "jobs_tasks.linger", arg = {pidfile = "' .. dir .. '/2", secs = 30}}}, {workers = 2})\n')
    local function alive(k)
      local f = io.open(dir .. "/" .. k)
      if not f then return false end
      local pid = f:read("a")
      f:close()
      local st = io.open("/proc/" .. pid .. "/stat")      -- gone, or a zombie (dead, not yet reaped)
      local state = st and st:read("a"):match("^%d+ %b() (%a)")
      if st then st:close() end
      return state ~= nil and state ~= "Z"
    end
    for _, sig in ipairs{"TERM", "HUP", "KILL"} do
      os.remove(dir .. "/1"); os.remove(dir .. "/2")
      local out = H.sh(("%s %s & P=$!; for i in $(seq 100); do [ -e %s/1 ] && [ -e %s/2 ] && break; sleep 0.05; done; " ..
                        "kill -%s $P; wait $P; echo status $?"):format(H.exe, script, dir, dir, sig))
      local want = ({TERM = 143, HUP = 129, KILL = 137})[sig]
      assert.matches("status " .. want, out)
      os.execute("sleep 0.3")
      assert.is_false(alive(1), sig .. ": task 1 runs on")
      assert.is_false(alive(2), sig .. ": task 2 runs on")
      if sig ~= "KILL" then no_new_dirs(before) end       -- (a SIGKILL leaves no time to clean)
    end
    for d in pairs(leftover_dirs()) do if not before[d] then os.execute("rm -rf " .. d) end end
  end)

  it("reject what cannot run in another process, before starting one", function()
    assert.matches("unknown option 'worker'", H.err(G.jobs.run, {}, {worker = 2}))
    assert.matches("workers must be a positive integer", H.err(G.jobs.run, {{fn = "a.b"}}, {workers = 0}))
    assert.matches("fn must name a module's function",
                   H.err(G.jobs.run, {{fn = print}, {fn = print}}, {workers = 2}))
    assert.matches("cannot require no_such_module", H.err(G.jobs.run, {{fn = "no_such_module.f"}}, {workers = 1}))
    assert.matches("jobs_tasks has no function nope", H.err(G.jobs.run, {{fn = "jobs_tasks.nope"}}, {workers = 1}))
    assert.matches("nests more than 64 tables deep",
                   H.err(G.jobs.run, {{fn = "jobs_tasks.cycle"}}, {workers = 1}))
    assert.are.same({}, G.jobs.run({}))
  end)
end)
