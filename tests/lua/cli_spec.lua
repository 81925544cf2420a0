-- The genlab program and the genlab.so module for stock Lua, run as a user
-- would run them.
local H = dofile("tests/lua/helpers.lua")
local sh, exe = H.sh, H.exe
local moddir = os.getenv("GENLAB_MODULE_DIR") or "build/lua"
local preload = os.getenv("GENLAB_LUA_PRELOAD")
local lua54 = (preload and ("LD_PRELOAD='" .. preload .. "' ") or "") .. "lua5.4"

local function script(src)
  local name = H.tmpname()
  local f = assert(io.open(name, "w"))
  f:write(src)
  f:close()
  return name
end

describe("genlab program", function()
  it("passes arguments as lua.c does", function()
    local s = script('print(arg[0] ~= nil, arg[1], arg[2], select("#", ...))')
    local out, rc = sh(exe .. " " .. s .. " alpha beta")
    os.remove(s)
    assert.are.equal(0, rc)
    assert.are.equal("true\talpha\tbeta\t2\n", out)
  end)

  it("takes its own flags after the script name out of arg, but not after --", function()
    local s = script('print(table.concat(arg, ","), os.getenv("GENLAB_HEADLESS"), os.getenv("GENLAB_NO_WAIT"))')
    local out, rc = sh("env -u GENLAB_HEADLESS -u GENLAB_NO_WAIT " .. exe .. " " .. s .. " a --headless b --no-wait")
    assert.are.equal(0, rc, out)
    assert.are.equal("a,b\t1\t1\n", out)
    out, rc = sh("env -u GENLAB_HEADLESS -u GENLAB_NO_WAIT " .. exe .. " " .. s .. " a -- --no-wait")
    os.remove(s)
    assert.are.equal(0, rc, out)
    assert.are.equal("a,--no-wait\tnil\tnil\n", out)
  end)

  it("documents every public function of every documented table (gendoc --check)", function()
    local out, rc = sh(exe .. " bindings/gendoc.lua --check")
    assert.are.equal(0, rc, out)
  end)

  it("keeps the design card's top level", function()
    local out, rc = sh("git ls-files | cut -d/ -f1 | sort -u | grep -v '^[.]' | tr '\\n' ' '")
    if rc ~= 0 or out == "" then return pending("skipped: not a git checkout") end
    assert.are.equal("LICENSE Makefile README.md bindings core notebooks-lua scripts tests vendor ", out)
  end)

  it("runs -e", function()
    local out, rc = sh(exe .. [[ -e 'print((require "genlab").ones(2):sum():item())']])
    assert.are.equal(0, rc)
    assert.are.equal("2.0\n", out)
  end)

  it("points the traceback at the user's line and exits non-zero", function()
    local s = script('local G = require "genlab"\nlocal x = G.zeros(2, 3)\nlocal y = x:matmul(G.zeros(2, 3))\n')
    local out, rc = sh(exe .. " " .. s)
    os.remove(s)
    assert.are.equal(1, rc)
    assert.matches(":3: matmul: %(2x3%) @ %(2x3%): inner dimensions differ", out)
    assert.matches("stack traceback", out)
  end)

  it("prints expressions in the REPL and keeps going after an error", function()
    local out, rc = sh("printf 'x = ones(2, 2) * 3\\nx:sum():item()\\nerror(\"boom\")\\n1 +\\n 1\\n' | " .. exe .. " -i")
    assert.are.equal(0, rc)
    assert.matches("genlab 0%.1 %(commit [%w+]+%), Lua 5%.4", out)
    assert.matches("12%.0", out)
    assert.matches("boom", out)
    assert.matches("\n2\n", out)       -- the two-line entry 1 + 1
  end)

  it("looks a dotted name up in help, with or without genlab.", function()
    local out = sh(exe .. [[ -e 'help("linalg.eigh"); help("genlab.nn.Linear"); help("nn.nope")']])
    assert.matches("^linalg%.eigh%(A%) %-> w, V\n", out)
    assert.matches("\nnn%.Linear%(in, out", out)
    assert.matches("no genlab function or method named 'nn%.nope'", out)
  end)

  it("completes fields and methods with Tab, even as the first input", function()
    local out, rc = sh("printf 'linalg.cholesky_s\\t\\nx = ones(2, 3)\\nx:nu\\t()\\n' | " .. exe .. " -i")
    assert.are.equal(0, rc)
    assert.matches("> linalg%.cholesky_solve\n", out)
    assert.matches("> x:numel%(%)\n6\n", out)
  end)

  it("loads from stock lua5.4 through LUA_CPATH", function()
    local out, rc = sh("LUA_CPATH='" .. moddir .. "/?.so;;' " .. lua54 ..
                       " -e 'local G = require \"genlab\"; print(G.randn(2, 2).shape[1])'")
    assert.are.equal(0, rc)
    assert.are.equal("2\n", out)
  end)

  it("prints tables by repr and each result on its own line; -e and piped input see the prompt's names", function()
    local out, rc = sh("printf 'x = {iters = 12, ll = {-3.2, -2.9}, name = \"em\"}\\nx\\n1, \"two\"\\n' | " .. exe .. " -i")
    assert.are.equal(0, rc, out)
    assert.matches('\n{iters = 12, ll = {%-3%.2, %-2%.9}, name = "em"}\n', out)
    assert.matches("\n1\ntwo\n", out)
    out = sh(exe .. [[ -e 'print(randn ~= nil, linalg ~= nil, type(ones(2)))']])
    assert.are.equal("true\ttrue\tuserdata\n", out)
    out = sh("echo 'print(zeros(2):sum():item())' | " .. exe)
    assert.are.equal("0.0\n", out)
  end)

  it("keeps the prompt's history in a fresh HOME, in a file only the user can read", function()
    local home = H.tmpname()
    os.remove(home)
    os.execute("mkdir -p " .. home)
    local out, rc = sh("printf 'a = 41\\na + 1\\n' | HOME=" .. home .. " " .. exe .. " -i")
    assert.are.equal(0, rc, out)
    local f = assert(io.open(home .. "/.genlab_history"))
    assert.are.equal("a = 41\na + 1\n", f:read("a"))
    f:close()
    assert.are.equal("600", (sh("stat -c %a " .. home .. "/.genlab_history"):gsub("%s+$", "")))
    os.execute("rm -rf " .. home)
  end)

  it("says that figure windows are open after Ctrl-D, and closes them on a second one", function()
    if not os.execute("command -v xvfb-run >/dev/null") then return pending("skipped: xvfb-run is not installed") end
    local out, rc = sh("printf 'fig = viz.figure{}\\nfig:line({1, 3, 2})\\nfig:show()\\n' | timeout 60 xvfb-run -a " ..
                       exe .. " -i")
    assert.are.equal(0, rc, out)
    assert.matches("1 figure window is still open: close it %(q in a window%), or press Ctrl%-D again to close it%.", out)
  end)

  it("answers --help and --version, and documents its exit statuses", function()
    local out, rc = sh(exe .. " --help")
    assert.are.equal(0, rc)
    assert.matches("usage: genlab %[options%]", out)
    assert.matches("Exit status: 0 ok, 1 a Lua error %(or a failed notebook cell, or a quality floor not met%),\n2 a usage error", out)
    out, rc = sh(exe .. " --version")
    assert.are.equal(0, rc)
    local commit = out:match("^genlab 0%.1 %(commit ([%w+]+)%), Lua 5%.4%.%d+, OpenBLAS %d+ threads %(%w+ kernels%)\n$")
    assert.is_truthy(commit, out)
    local head = H.sh("git rev-parse --short=12 HEAD")
    if head:match("^%x+\n$") then assert.are.equal(head:sub(1, 12), commit:sub(1, 12)) end
    out, rc = sh(exe .. [[ -e 'print(genlab.commit == "]] .. commit .. [[")']])
    assert.are.equal("true\n", out)
    out, rc = sh(exe .. " notebook --help")
    assert.are.equal(0, rc)
    assert.matches("usage: genlab notebook FILE.lua %[%-%-pdf%] %[%-%-ipynb%]", out)
  end)

  it("exits 2 on a usage error and 1 on a Lua error", function()
    local out, rc = sh(exe .. " --no-such-flag")
    assert.are.equal(2, rc)
    assert.matches("unrecognized option '%-%-no%-such%-flag'", out)
    assert.are.equal(2, select(2, sh(exe .. " -e")))
    assert.are.equal(2, select(2, sh(exe .. " notebook")))
    assert.are.equal(2, select(2, sh(exe .. " notebook --from-ipynb")))
    assert.are.equal(1, select(2, sh(exe .. [[ -e 'error("x")']])))
    assert.are.equal(1, select(2, sh(exe .. " /nonexistent/script.lua")))
  end)

  it("has a manual page that man can format, naming every option of --help", function()
    local page = assert(io.open("bindings/genlab.1")):read("a")
    local help = sh(exe .. " --help")
    for opt in help:gmatch("\n  (%-%-?[%w-]+)") do
      local roff = opt:gsub("%-", "\\%%-")
      assert.matches(roff, page, 1, false)
    end
    local out, rc = sh("command -v groff >/dev/null || exit 77; groff -man -Tutf8 -ww -z bindings/genlab.1")
    if rc == 77 then return pending("skipped: groff is not installed") end
    assert.are.equal(0, rc, out)
    assert.are.equal("", out)
  end)

  it("has bindings/API.md generated from the current docstrings", function()
    local out, rc = sh(exe .. " bindings/gendoc.lua")
    assert.are.equal(0, rc)
    local f = assert(io.open("bindings/API.md"))
    local committed = f:read("a")
    f:close()
    assert(out == committed, "bindings/API.md is stale: run `make docs`")
  end)
end)

describe("genlab.repr", function()
  local G = require "genlab"
  it("sorts keys after the list part, summarises tensors, quotes strings, names cycles", function()
    assert.are.equal('{10, 20, a = 1, b = "x\\ny", z = Tensor float64 (2x3)}',
                     G.repr({10, 20, z = G.zeros(2, 3, {dtype = "float64"}), b = "x\ny", a = 1}))
    local t = {}
    t.self = t
    assert.matches("^{self = <cycle: 0x%x+>}$", G.repr(t))
    assert.are.equal("{a = {b = {...}}}", G.repr({a = {b = {c = 1}}}, {depth = 2}))
    assert.are.equal("{1, 2, ... (3 more)}", G.repr({1, 2, 3, 4, 5}, {items = 2}))
    assert.are.equal("{[2.5] = true, [true] = 1}", G.repr({[2.5] = true, [true] = 1}))
  end)
  it("breaks a long table into lines of at most 78 columns", function()
    local big = {}
    for i = 1, 40 do big[i] = i * 1000 end
    local s = G.repr(big)
    assert.matches("^{\n", s)
    for line in s:gmatch("[^\n]+") do assert.is_true(#line <= 78, line) end
  end)
end)
