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

-- The genlab program, by absolute path (specs may cd elsewhere).
M.exe = os.getenv("GENLAB_EXE") or (os.getenv("PWD") .. "/genlab")

return M
