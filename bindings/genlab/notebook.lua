-- notebook.lua -- genlab.notebook: literate Lua notebooks.  A notebook is a
-- plain Lua file that also runs as a script; `-- %%` starts a code cell (a
-- title may follow) and `-- %% [markdown]` a prose cell of `-- `-prefixed
-- CommonMark with $...$ and $$...$$ math (the percent format of VS Code,
-- Spyder and Jupytext).  Run once at start-up with the genlab module and the
-- notebook table (its C half, lnotebook.c, gives _markdown and _base64).
--
--   local nb = notebook.parse("notebooks-lua/ps1.lua")   -- cells with their lines
--   local run = notebook.run(nb, {"--full"})              -- outputs, figures, values, times
--   notebook.render(nb, run, "out/notebooks/ps1")          -- index.html (and .pdf)
--
-- The whole file runs as one chunk, as the script would, so locals carry from
-- cell to cell and a traceback names the notebook's own lines: each cell's
-- marker line becomes a call that tells the recorder a new cell began, and
-- a final one-line expression is wrapped so its value is kept.  Neither
-- adds a line.
local G, notebook = ...

local lib = G._lib
local doc, raise = lib.doc, lib.raise

-- ---- parsing ---------------------------------------------------------------------------

-- The kind and title of a marker line, or nil.
local function marker(line)
  local rest = line:match("^%-%-%s*%%%%(.*)$")
  if not rest then return nil end
  local title = rest:match("^%s*%[markdown%]%s*(.-)%s*$")
  if title then return "markdown", title end
  return "code", rest:match("^%s*(.-)%s*$")
end

notebook._read_text = doc(function(path)
  local ok, text = pcall(G.data.read_file, path)
  if ok then return text end
  return nil, "notebook: " .. lib.bare(text):gsub("^read_file: ", "")
end, "notebook._read_text(path) -> text | nil, why\n" ..
  "path's text as data.read_file reads it (regular files only), or nil and why as the notebook's\n" ..
     "message; the percent-format and .ipynb readers both read so. Internal.")

local function read_lines(path)
  local text, why = notebook._read_text(path)
  if not text then raise(why) end
  local lines, at = {}, 1
  while at <= #text do                   -- the lines f:lines() gave, less a CR before each LF
    local nl = text:find("\n", at, true) or #text + 1
    lines[#lines + 1] = text:sub(at, nl - 1):gsub("\r$", "")
    at = nl + 1
  end
  return lines
end

-- The prose of a markdown cell, its `-- ` prefixes taken off.
local function prose(path, c)
  local out = {}
  for i, l in ipairs(c.lines) do
    local text = l:match("^%-%-%s?(.*)$")
    if not text and l:match("%S") then
      error(("notebook: %s:%d: a markdown cell holds a line that is not a comment"):format(path, c.first + i - 1), 0)
    end
    out[i] = text or ""
  end
  return table.concat(out, "\n")
end

-- The templates of a markdown cell's text: {expr =, fmt =, claim =, src =}.
local function templates(text)
  local out = {}
  for body in text:gmatch("{{(.-)}}") do
    local t = {src = body}
    local check, rest = body:match("^%s*!(.-)|(.*)$")
    if check then
      t.expr, t.claim = check, rest:match("^%s*(.-)%s*$")
    else
      local e, fmt = body:match("^(.*)|%s*(%%[%-+ #0]*%d*%.?%d*[dfgeEsxq])%s*$")
      t.expr, t.fmt = e or body, fmt
    end
    t.expr = t.expr:match("^%s*(.-)%s*$")
    out[#out + 1] = t
  end
  return out
end

notebook.parse = doc(function(path)
  local lines = read_lines(path)
  local cells, cur = {}, nil
  local function open(kind, title, at)
    cur = {kind = kind, title = title ~= "" and title or nil, marker = at, first = at + 1, lines = {}}
    cells[#cells + 1] = cur
  end
  for i, l in ipairs(lines) do
    local kind, title = marker(l)
    if kind then open(kind, title, i)
    else
      if not cur then open("code", "", 0) end
      cur.lines[#cur.lines + 1] = l
    end
  end
  local kept = {}
  for _, c in ipairs(cells) do
    if c.kind == "markdown" then c.text = prose(path, c); c.templates = templates(c.text) end
    if c.kind == "markdown" or table.concat(c.lines):match("%S") then kept[#kept + 1] = c end
  end
  local title
  for _, c in ipairs(kept) do
    title = title or (c.text and c.text:match("^%s*#%s+([^\n]+)"))
  end
  return {path = path, name = path:match("([^/]+)%.lua$") or path, title = title, lines = lines, cells = kept}
end, "notebook.parse(path) -> nb\n" ..
  "The cells of a notebook: nb.cells[k] = {kind = \"code\"|\"markdown\", title, first (its\n" ..
     "first line), lines, text (the prose of a markdown " ..
     "cell)}; nb.title is the first '# ' heading.")

-- ---- the chunk that runs -----------------------------------------------------------------

local function compiles(src) return load(src, "=check", "t") ~= nil end

-- The line (in the file) of a code cell's final expression, or nil: its last
-- line that is not blank or a comment, when it is an expression on its own
-- (or a call) and the cell without it still compiles.
local function final_expression(c)
  local j = #c.lines
  while j > 0 and (not c.lines[j]:match("%S") or c.lines[j]:match("^%s*%-%-")) do j = j - 1 end
  if j == 0 then return nil end
  local last = c.lines[j]
  if not compiles("return " .. last) then return nil end
  local is_call = last:match("[%)\"'%]}]%s*$") and compiles(last)
  if compiles(last) and not is_call then return nil end
  if not compiles(table.concat(c.lines, "\n", 1, j - 1)) then return nil end
  return c.first + j - 1
end

-- ---- prose that quotes its run ----------------------------------------------------------
-- A markdown cell may hold {{ expr }} (a Lua expression over what the cells
-- above computed, shown with tostring, or %.4g for a number), {{ expr | %.2f }}
-- (a format), and {{! cond | claim }} (the claim, with a visible note when
-- this run does not show it).  Each is evaluated when the run reaches the
-- cell, so prose never types a number the run computes.

-- The Lua that evaluates cell k's templates where the chunk reaches it: one
-- guarded function per template, so that one that fails leaves the others.
local function prose_call(k, ts)
  local fs = {}
  for i, t in ipairs(ts) do
    local ok = compiles("return (" .. t.expr .. ")")
    t.bad = not ok and "not a Lua expression" or nil
    fs[i] = ok and ("function() return (" .. t.expr .. ") end") or "false"
  end
  return ("__notebook_prose(%d, {%s}) "):format(k, table.concat(fs, ", "))
end

local function shown(v, fmt)
  if fmt then
    local ok, s = pcall(string.format, fmt, v)
    return ok and s or ("(cannot format %s with %s)"):format(tostring(v), fmt)
  end
  if math.type(v) == "float" then return ("%.4g"):format(v) end
  return tostring(v)
end

notebook.prose = doc(function(nb, run, k)
  local c, r = nb.cells[k], run and run.cells[k]
  local i, notes = 0, {}
  local text = c.text:gsub("{{(.-)}}", function()
    i = i + 1
    local t, v = c.templates[i], r and r.prose and r.prose[i]
    if t.bad then return ("**(template `%s`: %s)**"):format(t.src, t.bad) end
    if not v then return ("**(template `%s`: not evaluated, the run stopped before)**"):format(t.src) end
    if v.error then return ("**(template `%s` failed: %s)**"):format(t.src, v.error) end
    if t.claim then
      if v.value then return t.claim end
      notes[#notes + 1] = t.claim
      return t.claim .. " **(this run does not show this)**"
    end
    return shown(v.value, t.fmt)
  end)
  return text, notes
end, "notebook.prose(nb, run, k) -> text, unshown\n" ..
  "Markdown cell k with its templates filled from the run: {{ expr }} (tostring, %.4g for a\n" ..
     "number), {{ expr | %.2f }}, and {{! cond | claim " ..
     "}}, the claim with a visible note when cond is\n" ..
     "false in this run (unshown lists those claims). " ..
     " A template sees the locals of the cells above.")

-- The notebook's source with the recorder's calls in it, line for line.
-- Cell calls go in first, so a value's closing parenthesis, put at the head
-- of the line after it, comes before the next cell's call.
local function instrument(nb)
  local src = {}
  for i, l in ipairs(nb.lines) do src[i] = l end
  for k, c in ipairs(nb.cells) do
    if c.kind == "code" then
      if c.marker == 0 and src[1]:match("^#") then src[1] = "" end   -- a #! line
      local at = math.max(c.marker, 1)
      src[at] = ("__notebook_cell(%d) "):format(k) .. src[at]
    elseif #c.templates > 0 then
      src[c.marker] = prose_call(k, c.templates) .. src[c.marker]
    end
  end
  local tail = ""
  for k, c in ipairs(nb.cells) do
    local e = c.kind == "code" and final_expression(c)
    if e then
      src[e] = ("__notebook_value(%d, "):format(k) .. src[e]
      if e < #src then src[e + 1] = ") " .. src[e + 1] else tail = "\n)" end
    end
  end
  return table.concat(src, "\n") .. tail
end

-- ---- recording a run ---------------------------------------------------------------------

-- Terminal text as it last stood: a line rewritten with \r keeps its last state.
local function settle(text)
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do out[#out + 1] = line:match("([^\r]*)\r*$") end
  if out[#out] == "" then out[#out] = nil end
  return table.concat(out, "\n")
end

local function figure_meta()
  return debug.getregistry()["genlab.Figure"]
end

-- The notebook's traceback, without the recorder's own frames.
local function traceback(e)
  -- the message first, less a position in the recorder's wrappers (fig:save's own error)
  local msg = tostring(e):gsub("^[^\n]-bindings/genlab/notebook%.lua:%d+: ", "")
  local tb = debug.traceback(msg, 2)
  local keep, first = {}, true
  for line in tb:gmatch("[^\n]+") do
    if line:find("in main chunk", 1, true) then keep[#keep + 1] = line; break end
    if first or not line:find("bindings/genlab/notebook.lua", 1, true) then keep[#keep + 1] = line end
    first = first and not line:find("^stack traceback:")
  end
  return table.concat(keep, "\n")
end

-- Replace print, io.write, io.stdout and the figures' show and save while f
-- runs, so that what a cell writes and shows is recorded (and still reaches
-- the terminal and the windows); everything is put back afterwards.
local function recording(rec, f)
  local saved = {print = print, write = io.write, stdout = io.stdout}
  local real = io.stdout
  local meth = figure_meta().__index
  local show, save = meth.show, meth.save
  local function out(s)
    if not rec.quiet then real:write(s) end
    if rec.cell then rec.cell.out[#rec.cell.out + 1] = s end
  end
  print = function(...)
    local n, parts = select("#", ...), {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    out(table.concat(parts, "\t") .. "\n")
  end
  io.write = function(...)
    for i = 1, select("#", ...) do out(tostring((select(i, ...)))) end
    return io.stdout
  end
  io.stdout = setmetatable({write = function(_, ...) io.write(...); return io.stdout end},
                           {__index = function(_, k) local v = real[k]
                             return type(v) == "function" and function(_, ...) return v(real, ...) end or v end})
  local function noted(fig) rec:note(fig); return fig end
  meth.show = function(fig, ...) local r = show(fig, ...); noted(fig); return r end
  meth.save = function(fig, ...) local r = save(fig, ...); noted(fig); return r end
  local ok, err = xpcall(f, traceback)
  print, io.write, io.stdout = saved.print, saved.write, saved.stdout
  meth.show, meth.save = show, save
  return ok, err
end

local Recorder = {}
Recorder.__index = Recorder

local active                              -- the recorder of the run in progress, if any

function Recorder:note(fig)
  local c = self.cell
  if c and not c.seen[fig] then c.seen[fig] = true; c.figures[#c.figures + 1] = fig end
end

-- The warnings for the degenerate image grids of fig (viz.degenerate's rule:
-- flat tiles, or too many identical images), one line each.
local function grid_flags(fig, k)
  local flags = {}
  for _, h in ipairs(fig:health()) do
    if h.degenerate then
      flags[#flags + 1] = ("figure %d, panel %d%s: degenerate image grid (%s)"):format(k, h.panel,
        h.title ~= "" and (" \"" .. h.title .. "\"") or "",
        h.spread >= 0.05 and h.repeated
               or ("spread %.3f < 0.05: the tiles barely differ"):format(h.spread))
    end
  end
  return flags
end

-- Close the current cell: its time, its text, a PNG of each figure it drew,
-- in the state the cell left it, and a flag for each degenerate grid.
function Recorder:close(save)
  local c = self.cell
  if not c then return end
  c.time = G.time() - self.t0
  c.out = settle(table.concat(c.out))
  c.flags = c.notes
  for i, fig in ipairs(c.figures) do
    local path = ("%s/cell%02d-%d.png"):format(self.dir, c.index, i)
    save(fig, path)
    c.figures[i] = path
    for _, f in ipairs(grid_flags(fig, i)) do
      c.flags[#c.flags + 1] = f
      io.stderr:write(("notebook: warning: cell %d, %s\n"):format(c.index, f))
    end
  end
  c.seen, self.cell = nil, nil
end

function Recorder:open(k)
  local c = {index = k, out = {}, figures = {}, seen = {}, notes = {}}
  self.cells[k], self.cell, self.t0 = c, c, G.time()
  return c
end

notebook.flag = doc(function(text, opts)
  local rec = active
  if not (rec and rec.cell) then return false end
  local c = rec.cell
  c.notes[#c.notes + 1] = text
  if opts and opts.fails then rec.failing[#rec.failing + 1] = {cell = c.index, text = text} end
  io.stderr:write(("notebook: warning: cell %d, %s\n"):format(c.index, text))
  return true
end, "notebook.flag(text, [{fails=false}]) -> boolean\n" ..
  "While `genlab notebook` runs a cell, show text " ..
  "as a warning beside the cell's figures in the\n" ..
     "report (and on stderr); with fails, also end the " ..
     "render with exit status 1 once the report is\n" ..
     "written (scripts/common.lua's C.floor does this " ..
     "for a quality floor not met). False, and nothing\n" ..
     "shown, when no notebook is running.")

notebook.recording = doc(function()
  return active ~= nil
end, "notebook.recording() -> boolean\n" ..
  "Whether a `genlab notebook` run (notebook.run) is in progress in this Lua state.")

-- Record err at the cell it belongs to, and return that cell's index: the
-- cell that raised, or for a syntax error the cell holding the line named.
local function failure(nb, rec, err, raised)
  local failed = raised or #rec.cells
  local line = tonumber(tostring(err):match(":(%d+):"))
  if not raised and line then
    for k, c in ipairs(nb.cells) do if c.first - 1 <= line then failed = k end end
  end
  failed = math.max(failed, 1)
  rec.cells[failed] = rec.cells[failed] or {index = failed, out = "", figures = {}}
  rec.cells[failed].error = tostring(err)
  return failed
end

-- The configuration that args name, as a script's options would.
local function configuration(args)
  local o = {}
  for _, a in ipairs(args or {}) do
    if a == "--full" then o.full = true elseif a == "--smoke" then o.smoke = true end
  end
  return G.handin.config(o)
end

notebook.run = doc(function(nb, args, opts)
  opts = opts or {}
  local dir = opts.dir or ("out/notebooks/" .. nb.name)
  if dir == "" then raise("notebook: the output folder is empty (--out=DIR)") end
  local made = os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
  local probe, why = nil, "cannot create it"
  if made then probe, why = io.open(dir .. "/.genlab-write-test", "wb") end
  if not probe then
    raise(("notebook: cannot write into %s (%s); give --out=DIR"):format(dir, tostring(why):gsub("^.-: ", "")))
  end
  probe:close()
  os.remove(dir .. "/.genlab-write-test")
  local rec = setmetatable({cells = {}, dir = dir, quiet = opts.quiet, stdout = io.stdout, failing = {}}, Recorder)
  local save = figure_meta().__index.save
  local chunk, err = load(instrument(nb), "@" .. nb.path, "t")
  local ok = chunk ~= nil
  _G.__notebook_cell = function(k)
    rec:close(save)
    rec:open(k)
    if not opts.quiet then io.stderr:write(("notebook: cell %d/%d%s\n"):format(k, #nb.cells,
                                           nb.cells[k].title and (": " .. nb.cells[k].title) or "")) end
  end
  _G.__notebook_prose = function(k, fs)
    local values = {}
    for i, f in ipairs(fs) do
      local ok, v = true, nil
      if f then ok, v = pcall(f) end
      values[i] = ok and {value = v} or {error = lib.bare(v)}
    end
    rec.cells[k] = {index = k, prose = values}
    for i, t in ipairs(nb.cells[k].templates) do
      local v = values[i]
      local why = t.bad or v.error or (t.claim and not v.value and "this run does not show it")
                  or (not t.claim and v.value == nil and "gives nil (a misspelt name, or one set in a later cell?)")
                  or (t.fmt and not pcall(string.format, t.fmt, v.value)
                      and ("cannot format %s with %s"):format(tostring(v.value), t.fmt))
      if why then io.stderr:write(("notebook: warning: cell %d, {{%s}}: %s\n"):format(k, t.src, why)) end
    end
  end
  _G.__notebook_value = function(k, ...)
    local n = select("#", ...)
    if n == 0 or (n == 1 and (...) == nil) then return end
    local v = ...
    if n == 1 and (getmetatable(v) == figure_meta() or io.type(v) or v == io.stdout) then
      return                           -- fig:show() and io.write() hand back their object
    end
    local parts = {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    rec.cells[k].value = table.concat(parts, "\t")
    if not opts.quiet then rec.stdout:write(rec.cells[k].value, "\n") end
  end
  local t0 = G.time()
  local outer, outer_rec = G.handin.current, active
  if ok then
    arg = {[0] = nb.path, table.unpack(args or {})}
    G.handin.current = dir                   -- the exercises hand in here too
    active = rec
    ok, err = recording(rec, function() return chunk(table.unpack(args or {})) end)
    G.handin.current, active = outer, outer_rec
  end
  local current = rec.cell and rec.cell.index
  rec:close(save)
  _G.__notebook_cell, _G.__notebook_value, _G.__notebook_prose = nil, nil, nil
  local failed = not ok and failure(nb, rec, err, chunk and current) or nil
  return {cells = rec.cells, ok = ok, failed = failed, time = G.time() - t0, dir = dir, args = args or {},
          config = configuration(args), failing = rec.failing}
end, "notebook.run(nb, [args], [{dir=\"out/notebooks/<name>\", quiet=false}]) -> run\n" ..
     "Run every cell of a parsed notebook in order in " ..
     "this Lua state, arg = args (e.g. {\"--full\"}).\n" ..
     "run.cells[k] = {out (what it printed, \\r-rewritten lines at their last state), value (a\n" ..
     "final one-line expression, printed), figures " ..
     "(PNG paths of the figures it showed or saved,\n" ..
     "as it left them), flags (notebook.flag's lines, " ..
     "then a line per degenerate image grid in them,\n" ..
     "by viz.degenerate's rule; also warned on stderr " ..
     "and shown in the report), time (s), error (with\n" ..
     "the traceback)}; run.ok; run.failed (a cell index); run.failing ({cell=, text=} for each\n" ..
     "notebook.flag(text, {fails = true}): quality floors not met).\n" ..
     "What cells print reaches the terminal too, unless quiet.")

-- ---- HTML ---------------------------------------------------------------------------------

local KATEX = "/usr/share/javascript/katex"

local function esc(s)
  return (s:gsub("[&<>\"]", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;"}))
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Markdown with math: code spans and \$ are set aside, then $$...$$ and
-- $...$ (no space just inside the dollars, as pandoc reads them; inline math
-- may run over a line break but not over a blank line) become placeholders
-- that cmark passes through, so that a line of a formula that starts with
-- "- " or "+ " never reads as a list; then math spans for KaTeX.
local function markdown(text)
  local held, math = {}, {}
  local function hold(s) held[#held + 1] = s; return "GLABHELD" .. #held .. "X" end
  local function keep(tex, display) math[#math + 1] = {tex, display}; return "GLABMATH" .. #math .. "X" end
  text = text:gsub("(`+)(.-)%1", function(ticks, body) return hold(ticks .. body .. ticks) end)
  text = text:gsub("\\%$", function() return hold("\\$") end)
  text = text:gsub("%$%$(.-)%$%$", function(t) return keep(t, true) end)
  text = text:gsub("%$([^%s%$][^%$]-)%$", function(t)
    if t:match("%s$") or t:find("\n%s*\n") then return nil end
    return keep(t, false)
  end)
  text = text:gsub("GLABHELD(%d+)X", function(i) return held[tonumber(i)] end)
  local html = notebook._markdown(text)
  return (html:gsub("GLABMATH(%d+)X", function(i)
    local m = math[tonumber(i)]
    return ('<span class="math%s">%s</span>'):format(m[2] and " display" or "", esc(m[1]))
  end))
end

-- Lua source with its keywords, strings, comments and numbers in spans.
local KEYWORDS = {}
for w in ("and break do else elseif end false for function goto if in local nil not or repeat return " ..
          "then true until while"):gmatch("%S+") do KEYWORDS[w] = true end

local function long_bracket(src, i)          -- the end of a [[ ]] / [==[ ]==] starting at i
  local eq = src:match("^%[(=*)%[", i)
  if not eq then return nil end
  local _, stop = src:find("]" .. eq .. "]", i, true)
  return stop or #src
end

local function highlight(src)
  local out, i, n = {}, 1, #src
  local function span(class, j) out[#out + 1] = ('<span class="%s">%s</span>'):format(class, esc(src:sub(i, j))); i = j + 1 end
  while i <= n do
    local c = src:sub(i, i)
    if src:match("^%-%-", i) then
      span("com", long_bracket(src, i + 2) or (src:find("\n", i, true) or n + 1) - 1)
    elseif c == '"' or c == "'" then
      local j = i + 1
      while j <= n and src:sub(j, j) ~= c and src:sub(j, j) ~= "\n" do j = j + (src:sub(j, j) == "\\" and 2 or 1) end
      span("str", math.min(j, n))
    elseif c == "[" and long_bracket(src, i) then
      span("str", long_bracket(src, i))
    elseif src:match("^%d", i) or src:match("^%.%d", i) then
      span("num", select(2, src:find("^[%w%.]+", i)))
    elseif src:match("^[%a_]", i) then
      local _, j = src:find("^[%w_]+", i)
      if KEYWORDS[src:sub(i, j)] then span("kw", j) else out[#out + 1] = src:sub(i, j); i = j + 1 end
    else
      out[#out + 1] = esc(c); i = i + 1
    end
  end
  return table.concat(out)
end

-- KaTeX's style sheet with its woff2 fonts inline, and its script.
local function katex_assets()
  local css, js = slurp(KATEX .. "/katex.min.css"), slurp(KATEX .. "/katex.min.js")
  if not css or not js then return nil end
  css = css:gsub(",url%(fonts/[%w_%-]+%.woff%) format%(['\"]woff['\"]%)", "")
           :gsub(",url%(fonts/[%w_%-]+%.ttf%) format%(['\"]truetype['\"]%)", "")
           :gsub("url%(fonts/([%w_%-]+%.woff2)%)", function(f)
             local font = slurp(KATEX .. "/fonts/" .. f)
             return font and ("url(data:font/woff2;base64," .. notebook._base64(font) .. ")") or nil
           end)
  return css, js
end

local STYLE = [[
body { font: 16px/1.5 "DejaVu Serif", Georgia, serif; max-width: 52em; margin: 2em auto; padding: 0 1em; color: #222; }
header { border-bottom: 1px solid #bbb; margin-bottom: 1.5em; }
header h1 { margin: 0; } header p { margin: .2em 0 .6em; color: #666; font-size: 90%; }
pre { font: 13px/1.4 "DejaVu Sans Mono", monospace; padding: .5em .7em; overflow-x: auto; white-space: pre-wrap; margin: .3em 0; }
.cell { margin: 1em 0; } .cell > .title { font: 12px sans-serif; color: #777; }
pre.code { background: #f5f5f7; border-left: 3px solid #99a; }
pre.out { background: #fff; border-left: 3px solid #ddd; }
pre.value { border-left: 3px solid #6a6; }
pre.error { background: #fff0f0; border-left: 3px solid #c33; color: #900; }
.flag { font: 13px sans-serif; background: #fff6d8; border-left: 3px solid #d90; padding: .3em .7em; color: #630; }
.kw { color: #708; font-weight: bold; } .str { color: #a11; } .com { color: #777; font-style: italic; } .num { color: #164; }
figure { margin: .5em 0; text-align: center; } figure img { max-width: 100%; }
.time { font: 11px sans-serif; color: #999; text-align: right; }
.math.display { display: block; text-align: center; margin: .6em 0; }
pre.out, pre.value, pre.error, figure { break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
@page { margin: 16mm 14mm; }
]]

local TYPESET = [[
document.querySelectorAll(".math:not(.typeset)").forEach(function (e) {
  try { katex.render(e.textContent, e, {displayMode: e.classList.contains("display"), throwOnError: false}); }
  catch (x) {}
  e.classList.add("typeset");
});
]]

local function code_cell(c, r)
  local h = {'<div class="cell">'}
  if c.title then h[#h + 1] = '<div class="title">' .. esc(c.title) .. '</div>' end
  local lines = {table.unpack(c.lines)}
  while #lines > 0 and not lines[#lines]:match("%S") do lines[#lines] = nil end
  h[#h + 1] = '<pre class="code">' .. highlight(table.concat(lines, "\n")) .. '</pre>'
  if r then
    if r.out and r.out ~= "" then h[#h + 1] = '<pre class="out">' .. esc(r.out) .. '</pre>' end
    if r.value then h[#h + 1] = '<pre class="value">' .. esc(r.value) .. '</pre>' end
    for _, png in ipairs(r.figures or {}) do
      local bytes = slurp(png)
      if bytes then h[#h + 1] = '<figure><img alt="figure" src="data:image/png;base64,' .. notebook._base64(bytes) .. '"></figure>' end
    end
    for _, f in ipairs(r.flags or {}) do h[#h + 1] = '<div class="flag">warning: ' .. esc(f) .. '</div>' end
    if r.error then h[#h + 1] = '<pre class="error">' .. esc(r.error) .. '</pre>' end
    if r.time then h[#h + 1] = ('<div class="time">%.2f s</div>'):format(r.time) end
  end
  h[#h + 1] = '</div>'
  return table.concat(h, "\n")
end

-- The header's line for the quality floors this run did not meet, if any.
local function failing_note(run)
  local failing = run.failing or {}
  if #failing == 0 then return "" end
  local cells = {}
  for i, f in ipairs(failing) do cells[i] = tostring(f.cell) end
  return ('<div class="flag">%d quality floor%s not met (cell %s): see the warnings there</div>'):format(
    #failing, #failing > 1 and "s" or "", table.concat(cells, ", "))
end

notebook.html = doc(function(nb, run)
  local css, js = katex_assets()
  local title = nb.title or nb.name
  local h = {'<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
             '<title>' .. esc(title) .. '</title>', '<style>' .. STYLE .. (css or "") .. '</style>', '</head><body>',
             '<header><h1>' .. esc(title) .. '</h1><p>' ..
             esc(("%s, run %s%s in %.1f s%s"):format(nb.path, os.date("%Y-%m-%d %H:%M"),
                 #run.args > 0 and (" with " .. table.concat(run.args, " ")) or "", run.time,
                 run.ok and "" or (", stopped at cell " .. run.failed))) .. '</p>' ..
             failing_note(run) .. '</header>'}
  local last, titled = run.failed or #nb.cells, false
  for k = 1, last do
    local c = nb.cells[k]
    if c.kind == "markdown" then
      local text = notebook.prose(nb, run, k)
      if nb.title and not titled then        -- the header already shows it
        text, titled = text:gsub("^%s*#%s+[^\n]*\n?", "", 1), true
      end
      h[#h + 1] = '<div class="prose">' .. markdown(text) .. '</div>'
    else
      h[#h + 1] = code_cell(c, run.cells[k])
    end
  end
  if js then h[#h + 1] = '<script>' .. js .. '</script><script>' .. TYPESET .. '</script>' end
  h[#h + 1] = '</body></html>'
  return table.concat(h, "\n")
end, "notebook.html(nb, run) -> string\n" ..
  "The report as one self-contained HTML page: prose by cmark, math by KaTeX (its script and\n" ..
     "fonts inline), code highlighted, each cell's " ..
     "output, value, figures (inline PNGs), error and\n" ..
     "time, up to and including a failing cell; a header with the title and the date of the run.")

-- ---- Chromium: typesetting and PDF ---------------------------------------------------------

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function chromium()
  for _, name in ipairs({"chromium", "chromium-browser", "google-chrome"}) do
    if os.execute("command -v " .. name .. " >/dev/null 2>&1") then return name end
  end
end

local function absolute(path)
  if path:sub(1, 1) == "/" then return path end
  local p = io.popen("pwd")
  local cwd = p:read("l")
  p:close()
  return cwd .. "/" .. path
end

-- Chromium, headless, as a root user in a container can run it, given time
-- (virtual, so it does not wait in earnest) for KaTeX to typeset.
-- A file:// URL of an absolute path: bytes other than letters, digits and
-- -._~/ percent-encoded (a # or ? in a name would end the path).
local function file_url(path)
  return "file://" .. path:gsub("[^%w%-%._~/]", function(c) return ("%%%02X"):format(c:byte()) end)
end

local function headless(browser, args, html)
  local profile = os.tmpname()
  os.remove(profile)
  local cmd = ("%s --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run " ..
               "--user-data-dir=%s --virtual-time-budget=30000 %s %s 2>/dev/null")
              :format(browser, sh_quote(profile), args, sh_quote(file_url(absolute(html))))
  return cmd, function() os.execute("rm -rf " .. sh_quote(profile)) end
end

-- The page as Chromium leaves it after its scripts ran: the math typeset, so
-- the saved HTML shows it even where scripts are off.  nil without Chromium.
local function typeset(browser, html)
  local cmd, done = headless(browser, "--dump-dom", html)
  local p = io.popen(cmd)
  local dom = p:read("a")
  p:close()
  done()
  if dom and dom:find("</html>", 1, true) then return "<!DOCTYPE html>\n" .. dom end
end

local function write(path, text)
  local f, err = io.open(path, "wb")
  if not f then error("notebook: cannot write " .. err, 0) end
  f:write(text)
  f:close()
end

notebook.render = doc(function(nb, run, opts)
  opts = opts or {}
  local dir = opts.dir or run.dir
  local info = {config = run.config or "default", note = "the report of " .. nb.path}
  local browser = chromium()
  local html_path = G.handin.save(dir, "index.html", function(path)
    write(path, notebook.html(nb, run))
    local dom = browser and typeset(browser, path)
    if dom then write(path, dom) end
  end, info)
  local pdf_path
  if opts.pdf then
    if not browser then error("notebook: --pdf needs Chromium (Debian's chromium package)", 0) end
    pdf_path = G.handin.save(dir, nb.name .. ".pdf", function(path)
      os.remove(path)
      local cmd, done = headless(browser, "--no-pdf-header-footer --print-to-pdf=" .. sh_quote(absolute(path)), html_path)
      os.execute(cmd .. " >/dev/null")
      done()
      local f = io.open(path, "rb")
      if not f then error("notebook: Chromium wrote no PDF (" .. path .. ")", 0) end
      f:close()
    end, info)
  end
  local ipynb_path = opts.ipynb and G.handin.save(dir, nb.name .. ".ipynb", function(path)
    notebook.write_ipynb(nb, run, path)
  end, info)
  return html_path, pdf_path, ipynb_path
end, "notebook.render(nb, run, [{dir=run.dir, pdf=false, " ..
  "ipynb=false}]) -> html_path, pdf_path, ipynb_path\n" ..
     "Write index.html (typeset by headless Chromium " ..
     "when there is one, so the math shows without\n" ..
     "scripts), with pdf <name>.pdf printed by Chromium, " ..
     "with ipynb <name>.ipynb; each recorded in the\n" ..
     "folder's manifest.json by genlab.handin (a --full run's files are kept from smaller runs).")

local USAGE = [[
usage: genlab notebook FILE.lua [--pdf] [--ipynb] [--out=DIR] [--headless] [notebook args, e.g. --full]
       genlab notebook --from-ipynb FILE.ipynb [--out=FILE.lua]
Run every cell of the notebook in order and write DIR/index.html (default out/notebooks/<name>),
one self-contained page (figures, styles and math inline); --pdf also writes DIR/<name>.pdf by
headless Chromium, --ipynb DIR/<name>.ipynb for Jupyter (nbformat 4.5, with this run's outputs
and figures). Other arguments reach the notebook's arg as they would a script's.
--from-ipynb turns a Jupyter notebook whose code cells are Lua into a percent-format notebook
(default: FILE.lua beside it; an existing file is never overwritten).
Exit status: 0 ok, 1 a cell failed (the report then ends with that cell and its traceback) or
a quality floor was not met (the report is complete and shows it beside the cell), 2 a usage error.]]

-- `--from-ipynb FILE.ipynb [--out=FILE.lua]`.
local function convert(src, dst)
  dst = dst or (src:gsub("%.ipynb$", "") .. ".lua")
  local f = io.open(dst, "rb")
  if f then
    f:close()
    io.stderr:write(("notebook: %s exists; not overwritten (give another with --out=FILE.lua)\n"):format(dst))
    return false
  end
  local ok, text = pcall(notebook.from_ipynb, src)
  if not ok then io.stderr:write(tostring(text), "\n"); return false end
  local wrote, err = pcall(G.data.write_file, dst, text)
  if not wrote then
    io.stderr:write(("notebook: cannot write %s: %s\n"):format(dst, lib.bare(err)))
    return false
  end
  io.stderr:write(("notebook: %s -> %s\n"):format(src, dst))
  return true
end

-- The edit distance between a and b, a swap of two neighbours counting one
-- (a flag misspelt by a letter: --pfd, --ipnyb, --outt).
local function distance(a, b)
  local d = {}
  for i = 0, #a do d[i] = {[0] = i} end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local same = a:byte(i) == b:byte(j)
      d[i][j] = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (same and 0 or 1))
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        d[i][j] = math.min(d[i][j], d[i - 2][j - 2] + 1)
      end
    end
  end
  return d[#a][#b]
end

local OWN = {"--pdf", "--ipynb", "--out", "--from-ipynb", "--help"}

notebook.main = doc(function(args)
  local file, pass, opts, from = nil, {}, {}, nil
  local function usage(msg) io.stderr:write("notebook: ", msg, "\n", USAGE, "\n"); return false, 2 end
  for i, a in ipairs(args) do
    if a == "--pdf" then opts.pdf = true
    elseif a == "--ipynb" then opts.ipynb = true
    elseif a == "--from-ipynb" then from = args[i + 1] or ""
    elseif a:match("^%-%-out=") then
      opts.dir = a:match("^%-%-out=(.*)$")
      if opts.dir == "" then return usage("--out= needs a folder") end
    elseif a == "--out" then return usage("--out takes its folder after =, as --out=DIR")
    elseif a == "-h" or a == "--help" then print(USAGE); return true
    elseif a == from then -- the --from-ipynb argument
    elseif not file and not a:match("^%-") then file = a
    else
      for _, own in ipairs(OWN) do      -- a notebook's own flags are its own; ours misspelt are not
        local flag = a:match("^[^=]*")
        if flag ~= own and distance(flag, own) == 1 then
          return usage(("unknown flag %s: did you mean %s?"):format(a, own))
        end
      end
      pass[#pass + 1] = a
    end
  end
  if opts.pdf and not chromium() then
    return usage("--pdf needs Chromium (Debian's chromium package), and none is installed")
  end
  if from then
    if from == "" or file then io.stderr:write(USAGE, "\n"); return false, 2 end
    return convert(from, opts.dir)
  end
  if not file then io.stderr:write(USAGE, "\n"); return false, 2 end
  -- a file or folder that will not do is one line, not a traceback through this file
  local good, nb = pcall(notebook.parse, file)
  local run
  if good then good, run = pcall(notebook.run, nb, pass, {dir = opts.dir}) end
  if not good then
    io.stderr:write(lib.bare(run or nb):match("^[^\n]*"), "\n")    -- parse's error, or run's
    return false, 1
  end
  G.handin.current = run.dir        -- figures flushed as the process ends land here too
  local html, pdf, ipynb = notebook.render(nb, run, opts)
  io.stderr:write(("notebook: %s%s%s (%d cells, %.1f s)%s\n"):format(html, pdf and (", " .. pdf) or "",
                  ipynb and (", " .. ipynb) or "", #nb.cells, run.time,
                  run.ok and "" or (": cell " .. run.failed .. " failed")))
  if not run.ok then io.stderr:write(run.cells[run.failed].error, "\n") end
  if #run.failing > 0 then
    io.stderr:write(("notebook: %d quality floor%s not met:\n"):format(#run.failing, #run.failing > 1 and "s" or ""))
    for _, f in ipairs(run.failing) do io.stderr:write(("  cell %d: %s\n"):format(f.cell, f.text)) end
  end
  return run.ok and #run.failing == 0
end, "notebook.main(args) -> ok, [status]\n" ..
  "`genlab notebook FILE.lua [--pdf] [--ipynb] [--out=DIR] [args]` or `genlab notebook\n" ..
     "--from-ipynb FILE.ipynb [--out=FILE.lua]`: false " ..
     "when a cell failed (the report ends there) or a\n" ..
     "quality floor was not met (notebook.flag with fails; the report is complete),\n" ..
     "with status 2 for a usage error.")
