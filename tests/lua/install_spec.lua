-- Installing as a Lua user would: `luarocks make` of a clean clone into a
-- temporary tree gives a `require "genlab"` that works from stock lua5.4 and
-- a genlab executable in the tree's bin/; `make install` puts the same files
-- under a DESTDIR and `make uninstall` takes them away again.
local H = dofile("tests/lua/helpers.lua")
local sh = H.sh

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local root = os.getenv("PWD")
-- The builds below are plain ones, whatever the suite runs under (SAN=1 comes in the environment).
local plain = "env -u SAN -u MAKEFLAGS -u MAKELEVEL -u MFLAGS "

local work = H.tmpname()
os.remove(work)

-- A clone of HEAD with the data folder of this checkout beside it.
local function clone()
  local _, rc = sh("git -C " .. q(root) .. " rev-parse HEAD")
  if rc ~= 0 then return nil end
  local dir = work .. "/src"
  local out, code = sh("mkdir -p " .. q(work) .. " && git clone -q " .. q(root) .. " " .. q(dir))
  assert.are.equal(0, code, out)
  return dir
end

-- File names under dir, relative, sorted.
local function files(dir)
  local out = sh("cd " .. q(dir) .. " && find . -type f | sort")
  return out
end

describe("installation", function()
  local src

  it("luarocks make builds a clean clone into a tree: require from lua5.4, and the executable", function()
    if select(2, sh("command -v luarocks")) ~= 0 then return pending("skipped: luarocks is not installed") end
    src = clone()
    if not src then return pending("skipped: not a git checkout") end
    local tree = work .. "/tree"
    local out, rc = sh("cd " .. q(src) .. " && " .. plain .. "MAKEFLAGS=-j2 luarocks --lua-version=5.4 make --tree=" ..
                       q(tree) .. " vendor/genlab-scm-1.rockspec")
    assert.are.equal(0, rc, out)
    assert.matches("genlab scm%-1 is now installed", out)
    out, rc = sh("LUA_CPATH=" .. q(tree .. "/lib/lua/5.4/?.so") .. " lua5.4 -e " ..
                 q('local G = require "genlab"; print(G.version, G.arange(5):sum():item())'))
    assert.are.equal(0, rc, out)
    assert.are.equal("0.1\t10.0\n", out)
    out, rc = sh(q(tree .. "/bin/genlab") .. " -e " .. q('print(genlab.linalg.cholesky(genlab.eye(3) * 4):sum():item())'))
    assert.are.equal(0, rc, out)
    assert.are.equal("6.0\n", out)
    out, rc = sh(q(tree .. "/bin/genlab") .. " --version")
    assert.matches("^genlab 0%.1 %(commit %x+%)", out)
    local manual = sh("find " .. q(tree) .. " -name genlab.1")
    assert.matches("share/man/man1/genlab%.1\n$", manual)
  end)

  it("make install puts the same three files under PREFIX, and make uninstall removes them", function()
    if not src then return pending("skipped: needs the clone the luarocks build made") end
    local dest = work .. "/dest"
    local out, rc = sh(plain .. "make -C " .. q(src) .. " install DESTDIR=" .. q(dest) .. " PREFIX=/usr/local")
    assert.are.equal(0, rc, out)
    assert.are.equal("./usr/local/bin/genlab\n./usr/local/lib/lua/5.4/genlab.so\n" ..
                     "./usr/local/share/man/man1/genlab.1\n", files(dest))
    local tree = work .. "/tree"
    local rock = sh("cd " .. q(tree) .. " && ls bin/genlab lib/lua/5.4/genlab.so " ..
                    "lib/luarocks/rocks-5.4/genlab/scm-1/share/man/man1/genlab.1")
    assert.are.equal("bin/genlab\nlib/lua/5.4/genlab.so\nlib/luarocks/rocks-5.4/genlab/scm-1/share/man/man1/genlab.1\n", rock)
    out, rc = sh(plain .. "make -C " .. q(src) .. " uninstall DESTDIR=" .. q(dest) .. " PREFIX=/usr/local")
    assert.are.equal(0, rc, out)
    assert.are.equal("", files(dest))
  end)

  teardown(function() os.execute("rm -rf " .. q(work)) end)
end)
