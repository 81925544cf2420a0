-- genlab.notebook and `genlab notebook`: cells parsed from the percent
-- format, run in one state, and the report that comes out (HTML parsed back,
-- its figure decoded, its math typeset; the PDF read by poppler).
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local NB = G.notebook
local root = os.getenv("PWD")

local function has(cmd) return os.execute("command -v " .. cmd .. " >/dev/null 2>&1") end
local chromium = has("chromium")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Render a notebook into a fresh directory: output, status, the report's dir.
local dirs = {}
local function render(path, args)
  local dir = H.tmpname()
  os.remove(dir)
  dirs[#dirs + 1] = dir
  -- run from a folder of its own, so that what the exercises keep in out/models stays there
  local out, rc = H.sh(("cd %s && GENLAB_HEADLESS=1 %s notebook %s --out=%s %s"):format(
    H.tmpdir(), H.exe, path:sub(1, 1) == "/" and path or root .. "/" .. path, dir, args or ""))
  return out, rc, dir
end

local function base64_decode(s)
  local digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local out, bits, n = {}, 0, 0
  for ch in s:gmatch("[%w%+/]") do
    bits, n = bits << 6 | (digits:find(ch, 1, true) - 1), n + 6
    if n >= 8 then n = n - 8; out[#out + 1] = string.char(bits >> n & 255) end
  end
  return table.concat(out)
end

describe("notebook.parse", function()
  it("splits the percent format into cells with titles, kinds and prose", function()
    local nb = NB.parse("tests/notebooks/small.lua")
    local kinds, titles = {}, {}
    for k, c in ipairs(nb.cells) do kinds[k], titles[k] = c.kind, c.title or "" end
    assert.are.same({"markdown", "code", "code", "markdown", "code"}, kinds)
    assert.are.same({"", "printing", "a figure", "", "value"}, titles)
    assert.are.equal("A small notebook", nb.title)
    assert.are.equal(13, nb.cells[2].first)
    assert.matches("^# A small notebook\n\nProse with", nb.cells[1].text)
  end)
  it("refuses code inside a markdown cell, naming the line", function()
    local path = H.tmpname()
    local f = io.open(path, "w")
    f:write("-- %% [markdown]\n-- # t\nprint(1)\n")
    f:close()
    local msg = H.err(NB.parse, path)
    os.remove(path)
    assert.matches(path:gsub("%p", "%%%0") .. ":3: a markdown cell holds a line that is not a comment", msg)
  end)
end)

describe("notebook.run", function()
  local function run_source(src)
    local path = H.tmpname("-notebook.lua")
    local f = io.open(path, "w")
    f:write(src)
    f:close()
    local nb = NB.parse(path)
    local r = NB.run(nb, {}, {dir = H.tmpname("-nb"), quiet = true})
    os.remove(path)
    -- headless, a figure's show() also writes out/<notebook name>/, named after this temp file
    os.execute("rm -rf " .. r.dir .. " out/" .. path:match("([^/]+)%.lua$"))
    return r, nb
  end
  it("keeps locals across cells, a final expression's value, and settles \\r lines", function()
    local r = run_source("-- %%\nlocal a = 20\nio.write('1%\\r2%\\r3%\\n')\n-- %%\nlocal b = a + 1\nb * 2\n")
    assert.is_true(r.ok)
    assert.are.equal("3%", r.cells[1].out)
    assert.are.equal("42", r.cells[2].value)
  end)
  it("leaves a multi-line statement and a trailing comment intact", function()
    local r = run_source("-- %%\nlocal t = {1,\n  2}\nprint(#t,\n  t[2])\n-- %%\nlocal x = 3\nx + 1 -- four\n\n")
    assert.is_true(r.ok)
    assert.are.equal("2\t2", r.cells[1].out)
    assert.is_nil(r.cells[1].value)
    assert.are.equal("4", r.cells[2].value)
  end)
  it("does not print the object fig:show() or io.write hands back", function()
    local r = run_source("-- %%\nio.write('x\\n')\n")
    assert.is_nil(r.cells[1].value)
    assert.are.equal("x", r.cells[1].out)
  end)
  it("lays a syntax error at the cell that holds its line, before running anything", function()
    local r = run_source("-- %%\nprint(1)\n-- %%\nlocal x = = 2\n")
    assert.is_false(r.ok)
    assert.are.equal(2, r.failed)
    assert.matches(":4: unexpected symbol", r.cells[2].error)
    assert.is_nil(r.cells[1])                          -- nothing ran
  end)
  it("flags a degenerate image grid (flat tiles, identical images) and passes a healthy one", function()
    local r = run_source(table.concat({
      "-- %%",
      "local G = require 'genlab'",
      "local fig = G.viz.figure{rows = 1, cols = 3, name = 'flags'}",
      "fig:grid(G.full({16, 8, 8}, 0.45) + G.rand(16, 8, 8) * 0.01, {panel = 1, norm = 'none', title = 'grey'})",
      "fig:grid(G.rand(16, 8, 8), {panel = 2, norm = 'none', title = 'noise'})",
      "local same = G.rand(4, 8, 8); same[3] = same[1]",
      "fig:grid(same, {panel = 3, title = 'twins'})",
      "fig:show()", ""}, "\n"))
    assert.is_true(r.ok)
    local flags = r.cells[1].flags
    assert.are.equal(2, #flags, table.concat(flags, "\n"))
    assert.matches("figure 1, panel 1 \"grey\": degenerate image grid %(spread 0%.00%d < 0%.05", flags[1])
    assert.matches("figure 1, panel 3 \"twins\": degenerate image grid %(1 of 4 images repeat an earlier one %(first: 1 and 3%)%)", flags[2])
    local nb = {path = "x.lua", name = "x", cells = {{kind = "code", lines = {"x"}}}}
    local html = NB.html(nb, {cells = {r.cells[1]}, args = {}, time = 0, ok = true})
    assert.matches('<div class="flag">warning: figure 1, panel 1', html, 1, true)
    local ipynb = NB.ipynb(nb, {cells = {r.cells[1]}, args = {}, time = 0, ok = true})
    assert.matches('"name": "stderr"', ipynb, 1, true)
  end)
  it("fills prose templates from the run: values, formats, and claims the run does not show", function()
    local r, nb = run_source(table.concat({
      "-- %%", "local x = 41", "local t = {best = 25, ll = -89.34567}",
      "-- %% [markdown]",
      "-- x + 1 is {{ x + 1 }}, ll {{ t.ll | %.1f }} or {{ t.ll }}; {{! t.best == 25 | k = 25 wins }},",
      "-- {{! t.best == 1 | CD-1 wins }}. {{ nosuch.field }} {{ 1 + }}",
      "-- %%", "x = 0", "-- %% [markdown]", "-- later x is {{ x }}", ""}, "\n"))
    assert.is_true(r.ok)
    local text, unshown = NB.prose(nb, r, 2)
    assert.matches("x + 1 is 42, ll -89.3 or -89.35; k = 25 wins,", text, 1, true)
    assert.matches("CD-1 wins **(this run does not show this)**.", text, 1, true)
    assert.matches("**(template ` nosuch.field ` failed: attempt to index a nil value (global 'nosuch'))**", text, 1, true)
    assert.matches("**(template ` 1 + `: not a Lua expression)**", text, 1, true)
    assert.are.same({"CD-1 wins"}, unshown)
    assert.are.equal("later x is 0", (NB.prose(nb, r, 4)))       -- evaluated where the run reaches it
  end)
  it("puts print, io.write and the figure methods back afterwards", function()
    local p, w, show = print, io.write, debug.getregistry()["genlab.Figure"].__index.show
    run_source("-- %%\nerror('boom')\n")
    assert.are.equal(p, print)
    assert.are.equal(w, io.write)
    assert.are.equal(show, debug.getregistry()["genlab.Figure"].__index.show)
  end)
end)

describe("genlab notebook", function()
  teardown(function()
    for _, d in ipairs(dirs) do os.execute("rm -rf " .. d) end
  end)

  it("writes one HTML page with the cells in order, the figure inline and the math marked", function()
    local out, rc, dir = render("tests/notebooks/small.lua")
    assert.are.equal(0, rc, out)
    local html = read(dir .. "/index.html")
    -- the cells in their order: heading, printed text, figure, value
    local order = {}
    for _, needle in ipairs({"<h1>A small notebook</h1>", "the sum is 10", "<img", "<h2>The value of a last expression</h2>",
                             '<pre class="value">20.5</pre>'}) do
      order[#order + 1] = assert(html:find(needle, 1, true), "missing " .. needle)
    end
    for k = 2, #order do assert.is_true(order[k] > order[k - 1], "out of order at " .. k) end
    local printed = assert(html:match('<pre class="out">(.-)</pre>'))
    assert.are.equal("the sum is 10\nstep 3", printed)            -- a progress line's last state only
    -- the figure is a PNG that decodes to the 400 x 300 figure, not blank
    local b64 = assert(html:match('src="data:image/png;base64,([^"]+)"'))
    local png = H.tmpname(".png")
    local f = io.open(png, "wb")
    f:write(base64_decode(b64))
    f:close()
    local img = G.data.read_image(png, {gray = true})
    os.remove(png)
    assert.are.same({300, 400}, img.shape)
    assert.is_true(img:std():item() > 0.05)
    -- no $ of the prose is left to the reader: two inline formulas (one over a line break, whose
    -- second line starts with "- "), one display, a literal $5
    local _, spans = html:gsub('<span class="math[ "]', "")
    assert.are.equal(3, spans)
    assert.is_nil(html:find("<li>", 1, true))
    assert.is_truthy(html:find("$5", 1, true))
    assert.is_nil(html:find("$\\sigma", 1, true))
    assert.is_truthy(html:find("<code>a_b * c_d</code>", 1, true))
    assert.is_nil(html:find("<script src=", 1, true))          -- nothing fetched: it works offline
    assert.is_nil(html:find("url(fonts/", 1, true))
    if chromium then                                             -- typeset by KaTeX in the saved page
      local _, typeset = html:gsub('class="katex"', "")
      local _, display = html:gsub('class="katex%-display"', "")
      assert.are.equal(3, typeset)
      assert.are.equal(1, display)
    end
  end)

  it("stops at a failing cell: exit 1, the report up to it with the notebook's line", function()
    local out, rc, dir = render("tests/notebooks/fails.lua")
    assert.are.equal(1, rc)
    assert.matches("fails.lua:11: attempt to index a nil value", out)
    local html = read(dir .. "/index.html")
    assert.is_truthy(html:find("cell two ran", 1, true))
    assert.is_truthy(html:find("about to fail", 1, true))
    local err = assert(html:match('<pre class="error">(.-)</pre>'))
    assert.matches("fails.lua:11:", err)
    assert.matches("in main chunk", err)
    assert.is_nil(err:find("notebook.lua", 1, true))            -- the renderer's frames are gone
    assert.is_nil(html:find("never printed", 1, true))
    assert.is_nil(html:find("%-%- %%%% three"))
  end)

  it("keeps the message of an error raised inside fig:save, and warns of templates that fail", function()
    local path = H.tmpname("-nb.lua")
    local f = io.open(path, "w")
    f:write('-- %% a\nlocal G = require "genlab"\nlocal r = {loss = 1.2345}\n',
            '-- %% [markdown]\n-- The loss is {{ r.los }} and {{ r.loss | %d }}.\n',
            '-- %% save\nlocal fig = G.viz.figure{title = "x"}\nfig:line({y = G.tensor{1, 2, 3}})\n',
            'fig:save("/nonexistent/dir/x.png")\n')
    f:close()
    local out, rc, dir = render(path)
    assert.are.equal(1, rc, out)
    assert.matches("{{ r.los }}: gives nil", out, 1, true)
    assert.matches("{{ r.loss | %d }}: cannot format 1.2345 with %d", out, 1, true)
    local err = assert(read(dir .. "/index.html"):match('<pre class="error">(.-)</pre>'))
    assert.matches("^cannot write /nonexistent/dir/x%.png: No such file or directory", err)
    assert.matches("nb%.lua:9: in main chunk", err)
  end)

  it("refuses a misspelt flag of its own, an empty --out, and a missing file, in one line", function()
    for _, case in ipairs{{"--pfd", "unknown flag %-%-pfd: did you mean %-%-pdf%?", 2},
                          {"--out", "%-%-out takes its folder after =", 2},
                          {"--out=", "%-%-out= needs a folder", 2}} do
      local out, rc = H.sh(("%s notebook %s/tests/notebooks/small.lua %s"):format(H.exe, root, case[1]))
      assert.are.equal(case[3], rc, out)
      assert.matches(case[2], out)
    end
    local out, rc = H.sh(H.exe .. " notebook /nonexistent.lua")
    assert.are.equal(1, rc)
    assert.are.equal("notebook: cannot open /nonexistent.lua: No such file or directory\n", out)
  end)

  it("shows a quality floor that is not met beside its cell, writes the whole report, exits 1", function()
    local out, rc, dir = render("tests/notebooks/floors.lua")
    assert.are.equal(1, rc, out)
    assert.matches("notebook: 1 quality floor not met", out)
    assert.is_truthy(out:find("cell 3: floor: the answer 2 <= 1: NOT MET", 1, true), out)
    local html = read(dir .. "/index.html")
    assert.is_truthy(html:find("the notebook went on after the exercise: answer 2", 1, true), "the cells after it ran")
    assert.is_nil(html:find('<pre class="error">', 1, true))
    assert.is_truthy(html:find('<div class="flag">warning: floor: the answer 2 &lt;= 1: NOT MET</div>', 1, true), html)
    assert.is_truthy(html:find("1 quality floor not met (cell 3)", 1, true), "the header says so")
    assert.is_nil(html:find("warning: floor: the other answer", 1, true), "a met floor is not flagged")
    -- the closing cell lists both, and nothing raised: the renderer reports them
    assert.is_truthy(html:find("quality floors (default configuration): 1 met, 1 not met", 1, true), html)
    -- under --smoke the floors are printed, not checked
    out, rc, dir = render("tests/notebooks/floors.lua", "--smoke")
    assert.are.equal(0, rc, out)
    html = read(dir .. "/index.html")
    assert.is_truthy(html:find("floor: the answer 2 &lt;= 1: not checked (smoke)", 1, true), html)
    assert.is_nil(html:find('class="flag"', 1, true))
  end)

  it("prints a PDF whose first page shows the report", function()
    if not (chromium and has("pdftoppm") and has("pdftotext")) then
      pending("needs chromium and poppler-utils (vendor/packages.txt installs them)")
      return
    end
    local out, rc, dir = render("tests/notebooks/small.lua", "--pdf")
    assert.are.equal(0, rc, out)
    local pdf = dir .. "/small.pdf"
    assert.are.equal("%PDF", read(pdf):sub(1, 4))
    local text = H.sh("pdftotext " .. pdf .. " -")
    assert.matches("A small notebook", text)
    assert.matches("The value of a last expression", text)
    assert.matches("the sum is 10", text)
    assert.matches("20%.5", text)
    H.sh(("pdftoppm -r 40 -f 1 -l 1 -png %s %s/page"):format(pdf, dir))
    local page = G.data.read_image(dir .. "/page-1.png", {gray = true})
    assert.is_true(page:std():item() > 0.05, "the first page is blank")
  end)

  -- The course's notebooks, the tests' configuration (--smoke): every cell ran, every figure came out.
  local function report(name)
    local out, rc, dir = render("notebooks-lua/" .. name .. ".lua", "--smoke")
    assert.are.equal(0, rc, out)
    local html = read(dir .. "/index.html")
    assert.is_nil(html:find('<pre class="error">', 1, true))
    local _, figures = html:gsub('<img alt="figure" src="data:image/png;base64,', "")
    return html, figures
  end

  it("renders problem set 1's notebook: each exercise's figure, the checks and the answers' numbers", function()
    if os.getenv("GENLAB_LUA_PRELOAD") then   -- the sanitized suite: scripts_spec runs these exercises already
      pending("the PS1 notebook runs in the plain suite (its exercises run sanitized in scripts_spec)")
      return
    end
    local html, figures = report("simple_generative_models")
    assert.are.equal(8, figures)                       -- 1.1a, b, c, d, efg, h, 1.2, 1.3
    for _, h in ipairs({"1.1 Gaussian mixture models for image patches", "1.2 Denoising", "1.3 Probability foundations"}) do
      assert.is_truthy(html:find(h, 1, true), h)
    end
    assert.matches("all %d+ checks pass", html)
    local K, below = html:match("%(f%) the lowest test NLL is K = (%d+)'s, [-%d.]+ nats per patch, ([-%d.]+) below")
    assert.is_true(tonumber(K) > 1 and tonumber(below) > 0, "the mixture beats the Gaussian")
    for gain in html:gmatch("EPLL with K = %d+: [%d.]+ dB, ([-%d.]+) dB above the noisy image") do
      assert.is_true(tonumber(gain) > 1)
    end
  end)

  it("renders lecture 3's notebook: the bound is tight at the posterior and below it elsewhere", function()
    local html, figures = report("em_gaussian_mixtures")
    assert.are.equal(1, figures)
    local gap = tonumber(html:match("bound with the posterior responsibilities [-%d.]+ %(gap ([-%d.e+]+)%)"))
    assert.is_true(math.abs(gap) < 1e-9)
    local gaps = {}
    for g in html:gmatch("of the way to random weights%s+[-%d.]+ %(gap ([-%d.]+), below%)") do gaps[#gaps + 1] = tonumber(g) end
    assert.are.equal(4, #gaps)
    for k = 2, 4 do assert.is_true(gaps[k] > gaps[k - 1]) end
    assert.is_true(tonumber(html:match("smallest change between EM iterations: ([-%d.e+]+)")) > -1e-9)
  end)
end)
