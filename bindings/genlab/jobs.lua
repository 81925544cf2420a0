-- jobs.lua -- genlab.jobs: independent tasks (one model of a sweep, say) run
-- side by side in genlab processes, each on its share of the cores.  A task
-- is a function of a module that require finds, called as f(arg, send) in a
-- fresh process; send(msg) hands a message to the parent (progress, a
-- tensor to draw) and the function's return value comes back as the
-- task's result.  Messages and results are Lua values: numbers (exactly),
-- strings, booleans, tables of them, and tensors (through a temporary
-- checkpoint file).
--
-- Why processes: two models trained at once, each on one core, beat one
-- after the other on both cores, since every small kernel of a step then
-- runs with no fork-join or spinning between cores (the seed-004 sweeps:
-- DESIGN-notes).  With one worker the tasks run here, one after the other;
-- every number is the same either way, since no kernel's result depends on
-- the thread count.
--
--   local res = G.jobs.run({{fn = "genlab.vae.fit_job", arg = {kind = "mlp", nz = 2}}, ...},
--                          {on_message = function(k, msg) print(k, msg.epoch) end})
local G, jobs = ...

local lib = G._lib
local doc, raise = lib.doc, lib.raise

local MARK = "\30genlab.jobs "          -- a message line: the mark, then the packed value

-- ---- packing values as Lua text -------------------------------------------------------------

-- v as a Lua expression; tensors are appended to the list ts and written as T(i).
local function pack_into(v, out, ts, depth)
  local t = type(v)
  if t == "number" or t == "boolean" or t == "string" then
    out[#out + 1] = (string.format("%q", v):gsub("\n", "n"))     -- one line: "\<newline>" -> "\n"
  elseif G.is_tensor(v) then
    ts[#ts + 1] = v
    out[#out + 1] = "T(" .. #ts .. ")"
  elseif t == "table" then
    if depth > 64 then raise("jobs: a message nests more than 64 tables deep (a cycle?)") end
    out[#out + 1] = "{"
    for k, x in pairs(v) do
      if type(k) ~= "string" and type(k) ~= "number" then
        raise("jobs: a message's table keys must be strings or numbers, got a " .. type(k))
      end
      out[#out + 1] = "["
      pack_into(k, out, ts, depth + 1)
      out[#out + 1] = "]="
      pack_into(x, out, ts, depth + 1)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
  elseif v == nil then
    out[#out + 1] = "nil"
  else
    raise("jobs: cannot send a " .. t .. " (numbers, strings, booleans, tensors and tables of them)")
  end
end

-- Where this process writes the tensors it sends: the run's folder (made by
-- the parent, removed by it at the end), with file names unique to the task.
local spool = {dir = nil, who = 0, n = 0}

-- v as one line of text: the name of the checkpoint file that holds its
-- tensors (in the run's folder; none has spaces) or "-", a space, and a chunk.
local function pack(v)
  local out, ts = {}, {}
  pack_into(v, out, ts, 0)
  local text = "local T = ...; return " .. table.concat(out)
  if #ts == 0 then return "- " .. text end
  spool.n = spool.n + 1
  local path, named = string.format("%s/%d-%d.ckpt", spool.dir, spool.who, spool.n), {}
  for i, t in ipairs(ts) do named[tostring(i)] = t end
  G.save(path, named)
  return path .. " " .. text
end

-- The value of a packed line (its tensor file read, then removed).
local function unpack(line, from)
  local path, text = line:match("^(%S+) (.*)$")
  local f, err = load(text or "", "=" .. from, "t", {})
  if not f then raise(string.format("jobs: %s sent a line that does not read: %s", from, err or line)) end
  local tensors
  if path ~= "-" then
    tensors = G.load(path)
    os.remove(path)
  end
  return f(function(i) return tensors[tostring(i)] end)
end

-- ---- the child's side -----------------------------------------------------------------------

-- The task's function: a module that require finds (the longest prefix of fn's dotted name),
-- then the fields below it ("genlab.models.RBM.fit_job").
local function resolve(fn)
  local parts = {}
  for p in tostring(fn):gmatch("[^.]+") do parts[#parts + 1] = p end
  if #parts < 2 then raise("jobs: a task's fn names module.function, got " .. tostring(fn)) end
  local why
  for cut = #parts - 1, 1, -1 do
    local ok, v = pcall(require, table.concat(parts, ".", 1, cut))
    if ok then
      for i = cut + 1, #parts do v = type(v) == "table" and v[parts[i]] or nil end
      if type(v) ~= "function" then
        raise(string.format("jobs: %s has no function %s", table.concat(parts, ".", 1, cut),
                            table.concat(parts, ".", cut + 1)))
      end
      return v
    end
    why = why or v
  end
  raise(string.format("jobs: cannot require %s for %s: %s", parts[1], fn, tostring(why)))
end

local function send_line(v)
  io.stdout:write(MARK, pack(v), "\n")
  io.stdout:flush()
end

jobs._child = doc(function()
  local spec = os.getenv("GENLAB_JOB")
  if not spec then raise("jobs._child: no GENLAB_JOB in the environment (jobs.run starts these)") end
  local task = unpack(spec, "the parent")
  spool.dir, spool.who = task.dir, task.k
  G.set_num_threads(task.threads)
  jobs._listen()
  local f = resolve(task.fn)
  local result = f(task.arg, function(msg) send_line{msg = msg} end)
  send_line{result = result}
end, "jobs._child()\nRun the task that jobs.run put in GENLAB_JOB, in this process. Internal.")

-- ---- the parent's side ----------------------------------------------------------------------

local function label(task, k) return task.label or string.format("task %d (%s)", k, tostring(task.fn)) end

-- A running task: its Job, the unfinished tail of its output, its result.
local function start(task, k, threads)
  if type(task.fn) ~= "string" then
    raise(string.format("jobs.run: %s: fn must name a module's function (\"module.name\") to run in " ..
                        "another process", label(task, k)))
  end
  local chunk = string.format("package.path = %q; package.cpath = %q; require('genlab').jobs._child()",
                              package.path, package.cpath)
  local spec = pack{fn = task.fn, arg = task.arg, threads = threads, dir = spool.dir, k = k}
  return {k = k, job = jobs._spawn(chunk, spec), tail = "", threads = threads}
end

-- Handle one line of a running task's output: a message, its result, or the
-- task's own printing (passed on).
local function take_line(r, line, tasks, results, on_message)
  local at = line:find(MARK, 1, true)      -- after the task's own unfinished line, if any
  if not at or at > 1 then io.stdout:write(line:sub(1, (at or 0) - 1), "\n") end
  if not at then return end
  local v = unpack(line:sub(at + #MARK), label(tasks[r.k], r.k))
  if v.result ~= nil or v.msg == nil then
    results[r.k], r.got = v.result, true
  elseif on_message then
    on_message(r.k, v.msg)
  end
end

-- Read what r's process has written; true when its output has ended.
local function drain(r, tasks, results, on_message)
  local bytes = r.job:read()
  if bytes == nil then
    if #r.tail > 0 then take_line(r, r.tail, tasks, results, on_message) end
    r.tail = ""
    return true
  end
  local text = r.tail .. bytes
  local from = 1
  for line, stop in text:gmatch("([^\n]*)\n()") do
    take_line(r, line, tasks, results, on_message)
    from = stop
  end
  r.tail = text:sub(from)
  return false
end

-- r's process after its output ended: an error unless it exited 0 with a result.
local function finish(r, tasks)
  local how, code = r.job:wait(true)
  local name = label(tasks[r.k], r.k)
  if how == "signal" then raise(string.format("jobs.run: %s was killed by signal %d", name, code)) end
  if code ~= 0 then raise(string.format("jobs.run: %s failed (exit status %d; its error is above)", name, code)) end
  if not r.got then raise(string.format("jobs.run: %s ended without sending its result", name)) end
end

local function run_here(tasks, results, on_message)
  for k, task in ipairs(tasks) do
    local f = resolve(task.fn)
    results[k] = f(task.arg, function(msg)          -- a copy, as a process would send it
      local copy = unpack(pack(msg), label(task, k))
      if on_message then on_message(k, copy) end
    end)
  end
  return results
end

jobs.workers = doc(function(n)
  return math.max(1, math.min(n or math.huge, G.get_num_threads()))
end, "jobs.workers([n]) -> count\n" ..
  "The processes jobs.run starts for n tasks by default: one per thread genlab may use\n" ..
  "(genlab.get_num_threads), at most n.")

jobs.run = doc(function(tasks, opts)
  opts = lib.options(opts, {workers = false, on_message = false}, "jobs.run")
  if type(tasks) ~= "table" then raise("jobs.run: tasks must be a list of {fn = \"module.name\", arg = ...}") end
  local workers = opts.workers or jobs.workers(#tasks)
  if math.type(workers) ~= "integer" or workers < 1 then
    raise("jobs.run: workers must be a positive integer, got " .. tostring(workers))
  end
  workers = math.min(workers, #tasks)
  local results, on_message = {}, opts.on_message or nil
  local outer = {spool.dir, spool.who, spool.n}               -- a task may run jobs of its own
  spool.dir, spool.n = jobs._tempdir(), 0
  local running, next_task = {}, 1
  jobs._guard(true)                       -- a SIGTERM or SIGHUP stops the loop, which cleans up
  local ok, err = pcall(function()
    if workers <= 1 then return run_here(tasks, results, on_message) end
    local threads = math.max(1, G.get_num_threads() // workers)
    while next_task <= #tasks or #running > 0 do
      while #running < workers and next_task <= #tasks do
        running[#running + 1] = start(tasks[next_task], next_task, threads)
        next_task = next_task + 1
      end
      local list = {}
      for i, r in ipairs(running) do list[i] = r.job end
      jobs._poll(list, 0.05)
      local sig = jobs._stopped()
      if sig then error(("jobs.run: stopped by signal %d"):format(sig), 0) end
      for i = #running, 1, -1 do
        local r = running[i]
        if drain(r, tasks, results, on_message) then
          table.remove(running, i)
          finish(r, tasks)
        end
      end
      if next_task > #tasks then             -- the last tasks: idle threads go to those still running
        local share = G.get_num_threads() // math.max(1, #running)
        for _, r in ipairs(running) do
          if share > r.threads then r.job:offer(share); r.threads = share end
        end
      end
      G.viz.pump()
    end
  end)
  for _, r in ipairs(running) do r.job:kill() end           -- after an error: leave no process behind
  jobs._remove(spool.dir)
  spool.dir, spool.who, spool.n = outer[1], outer[2], outer[3]
  local sig = jobs._stopped()
  jobs._guard(false)
  if sig then jobs._reraise(sig) end      -- then end as the signal would have ended it
  if not ok then error(err, 0) end
  return results
end, "jobs.run(tasks, [{workers=, on_message=function(k, msg)}]) -> results\n" ..
  "Run tasks {fn = \"module.name\", arg = value, label = text} side by side in genlab processes,\n" ..
  "workers at a time (default jobs.workers(#tasks)), each on its share of the threads; each calls\n" ..
  "fn(arg, send), send(msg) reaching on_message(k, msg) here (figure windows keep answering\n" ..
  "meanwhile), and results[k] is task k's return value. Values cross as Lua values (tensors\n" ..
  "too); what a task prints is passed on. With one worker the tasks run here in turn, with the\n" ..
  "same numbers. A task that fails stops the others and raises its label and exit status.")
