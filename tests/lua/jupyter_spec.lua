-- Notebooks as Jupyter sees them: `genlab notebook --ipynb` validated by
-- nbformat (Debian's python3-nbformat) and rendered by nbconvert with its
-- figures; `--from-ipynb` back to the percent format; and what it refuses.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local sh, exe = H.sh, H.exe

local SMALL = "tests/notebooks/small.lua"

local tmpdir = H.tmpdir
local function slurp(path) return assert(H.slurp(path), "cannot read " .. path) end

local function put(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local function has_python(module)
  return select(2, sh("/usr/bin/python3 -c 'import " .. module .. "'")) == 0
end

-- Run the small notebook once with --ipynb for the whole file.
local dir = tmpdir()
local out, rc = sh(exe .. " notebook " .. SMALL .. " --ipynb --headless --out=" .. dir)
local ipynb = dir .. "/small.ipynb"

describe("notebook --ipynb", function()
  it("writes <name>.ipynb beside the report", function()
    assert.are.equal(0, rc, out)
    assert.matches("small%.ipynb", out)
    assert.truthy(io.open(ipynb))
  end)

  it("validates as nbformat 4.5 with a genlab kernelspec and the run's outputs", function()
    if not has_python("nbformat") then return pending("skipped: python3-nbformat is not installed") end
    local check = [[
import json, sys, nbformat
nb = nbformat.read(sys.argv[1], as_version=4)
nbformat.validate(nb)
assert (nb.nbformat, nb.nbformat_minor) == (4, 5), (nb.nbformat, nb.nbformat_minor)
ks = nb.metadata.kernelspec
print(ks.name, ks.language, nb.metadata.language_info.name)
for c in nb.cells:
    kinds = ",".join(o.output_type for o in c.get("outputs", []))
    print(c.cell_type, c.get("execution_count"), kinds or "-")
code = [c for c in nb.cells if c.cell_type == "code"]
print("".join(code[0].outputs[0].text), end="")
print(code[2].outputs[0].data["text/plain"])
png = code[1].outputs[0].data["image/png"]
import base64; raw = base64.b64decode(png); print(raw[:8] == b"\x89PNG\r\n\x1a\n", len(raw) > 1000)
]]
    local py = dir .. "/check.py"
    put(py, check)
    local got, code = sh("/usr/bin/python3 " .. py .. " " .. ipynb)
    assert.are.equal(0, code, got)
    assert.are.equal(table.concat({
      "genlab lua lua",
      "markdown None -",
      "code 1 stream",
      "code 2 display_data",
      "markdown None -",
      "code 3 execute_result",
      "the sum is 10",
      "step 3",                      -- the \r-rewritten line at its last state
      "20.5",
      "True True", ""}, "\n"), got)
  end)

  it("renders to HTML with nbconvert, figure included", function()
    if select(2, sh("command -v jupyter-nbconvert")) ~= 0 then
      return pending("skipped: jupyter-nbconvert is not installed")
    end
    local got, code = sh("cd " .. dir .. " && jupyter-nbconvert --to html small.ipynb")
    assert.are.equal(0, code, got)
    local html = slurp(dir .. "/small.html")
    assert.matches('<img src="data:image/png;base64,iVBOR', html, 1, true)
    assert.matches("the sum is 10", html, 1, true)
    assert.matches("20.5", html, 1, true)
  end)

  it("is the same file byte for byte from the same run", function()
    local nb = G.notebook.parse(SMALL)
    local run = {cells = {}, args = {}, time = 0, ok = true}
    assert.are.equal(G.notebook.ipynb(nb, run), G.notebook.ipynb(nb, run))
  end)

  it("records an error as an error output with its traceback, and stops there", function()
    local d = tmpdir()
    local got, code = sh(exe .. " notebook tests/notebooks/fails.lua --ipynb --headless --out=" .. d)
    assert.are.equal(1, code, got)
    local text = slurp(d .. "/fails.ipynb")
    assert.matches('"output_type": "error"', text, 1, true)
    assert.matches('"ename": "LuaError"', text, 1, true)
    assert.matches('"traceback": %[', text)
  end)

  it("keeps any bytes a cell prints as valid UTF-8 JSON", function()
    local nb = {path = "x.lua", name = "x", cells = {{kind = "code", lines = {"io.write('\\255')"}}}}
    local run = {cells = {{out = "bad \255 byte \"q\" \1", figures = {}}}, args = {}, time = 0, ok = true}
    local text = G.notebook.ipynb(nb, run)
    assert.truthy(utf8.len(text))
    assert.matches('bad \u{FFFD} byte \\"q\\" \\u0001', text, 1, true)
  end)
end)

describe("notebook --from-ipynb", function()
  it("gives back the percent-format notebook it was exported from", function()
    local back = dir .. "/back.lua"
    local got, code = sh(exe .. " notebook --from-ipynb " .. ipynb .. " --out=" .. back)
    assert.are.equal(0, code, got)
    local function cells(text)           -- the notebook without blank lines
      return (text:gsub("\n%s*\n", "\n"):gsub("^\n", ""))
    end
    assert.are.equal(cells(slurp(SMALL)), cells(slurp(back)))
  end)

  it("never overwrites a file", function()
    local back = dir .. "/keep.lua"
    put(back, "precious\n")
    local got, code = sh(exe .. " notebook --from-ipynb " .. ipynb .. " --out=" .. back)
    assert.are.equal(1, code)
    assert.matches("keep%.lua exists; not overwritten", got)
    assert.are.equal("precious\n", slurp(back))
  end)

  it("refuses a Python notebook, naming its first code cell", function()
    local py = dir .. "/py.ipynb"
    put(py, [[{"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# hi"]},
      {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": null,
       "source": ["import numpy as np\n", "print(np.ones(3))"]}],
      "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
      "nbformat": 4, "nbformat_minor": 5}]])
    local got, code = sh(exe .. " notebook --from-ipynb " .. py .. " --out=" .. dir .. "/py.lua")
    assert.are.equal(1, code)
    assert.matches("py%.ipynb: code cell 2 is python, not Lua", got)
    assert.is_nil(io.open(dir .. "/py.lua"))
  end)

  it("refuses a code cell that is not Lua in a notebook that names no language", function()
    local nb = dir .. "/mixed.ipynb"
    put(nb, [[{"cells": [{"cell_type": "code", "metadata": {}, "source": "local x = 1\nx"},
      {"cell_type": "code", "metadata": {}, "source": "def f(x):\n    return x"}],
      "metadata": {}, "nbformat": 4, "nbformat_minor": 5}]])
    local msg = H.err(G.notebook.from_ipynb, nb)
    assert.matches("mixed%.ipynb: code cell 2 is not Lua: line 1:", msg)
  end)

  it("names the file when it is not JSON or not a notebook", function()
    local bad = dir .. "/bad.ipynb"
    put(bad, '{"cells": [1, 2')
    assert.matches("bad%.ipynb is not JSON", H.err(G.notebook.from_ipynb, bad))
    put(bad, '{"worksheets": []}')
    assert.matches("bad%.ipynb is not a Jupyter notebook %(no cells list%)", H.err(G.notebook.from_ipynb, bad))
    put(bad, '{"cells": [{"cell_type": "code", "source": 5}]}')
    assert.matches("bad%.ipynb: cell 1 has no source text", H.err(G.notebook.from_ipynb, bad))
    assert.matches("cannot open", H.err(G.notebook.from_ipynb, dir .. "/missing.ipynb"))
  end)
end)
