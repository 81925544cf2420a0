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

-- Scratch paths: under one directory of /tmp per instance of this file
-- (each spec loads its own), removed with everything in it when the
-- instance is collected or the process ends, so that no run leaves files
-- behind (os.tmpname creates a file for every name it gives, and a name
-- with a suffix added left that file in /tmp).
local root, count
local function scratch()
  if not root then
    local p = io.popen("mktemp -d /tmp/genlab-spec.XXXXXX")
    root = p:read("l")
    p:close()
    assert(root and root:match("^/tmp/genlab%-spec%."), "cannot create a scratch directory in /tmp")
    count = 0
    M._cleanup = setmetatable({}, {__gc = function() os.execute("rm -rf '" .. root .. "'") end})
  end
  return root
end

-- A path that does not exist yet, ending in suffix (e.g. ".png").
function M.tmpname(suffix)
  local dir = scratch()
  count = count + 1
  return ("%s/%d%s"):format(dir, count, suffix or "")
end

-- A fresh empty directory.
function M.tmpdir()
  local d = M.tmpname()
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
