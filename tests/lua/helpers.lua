-- Helpers shared by the specs: running a command, catching an error.
local M = {}

-- Output (stdout and stderr together) and exit status of a shell command.
function M.sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("a")
  p:close()
  local body, rc = out:match("^(.-)rc=(%d+)%s*$")
  return body, tonumber(rc)
end

-- The message of the error that f(...) raises (the spec fails if none).
function M.err(f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "expected an error")
  return msg
end

-- A fresh empty directory under /tmp.
function M.tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. d))
  return d
end

-- A file's bytes, or nil when it cannot be read.
function M.slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- The genlab program, by absolute path (specs may cd elsewhere).
M.exe = os.getenv("GENLAB_EXE") or (os.getenv("PWD") .. "/genlab")

return M
