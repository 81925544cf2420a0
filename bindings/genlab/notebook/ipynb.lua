-- ipynb.lua -- genlab.notebook's Jupyter side: a notebook's run written as an
-- .ipynb (nbformat 4.5, every cell with the outputs this run produced), and
-- an .ipynb whose code cells are Lua read back into the percent format.
--
--   local run = notebook.run(nb)
--   notebook.write_ipynb(nb, run, "out/notebooks/ps1/ps1.ipynb")
--   notebook.from_ipynb("hw1.ipynb", "notebooks-lua/hw1.lua")
--
-- JSON by genlab.json (keys sorted: one run gives one file byte for byte).
local G, notebook = ...

local lib = G._lib
local doc = lib.doc

local array, json = G.json.array, G.json

-- Jupyter's multi-line strings: a list of lines, each but the last with its "\n".
local function lines_of(text)
  local out = array()
  for line, nl in text:gmatch("([^\n]*)(\n?)") do
    if line == "" and nl == "" then break end
    out[#out + 1] = line .. nl
  end
  return out
end

-- ---- a run as cells ---------------------------------------------------------------------

local function code_outputs(r, count)
  local outs = array()
  if not r then return outs end
  if r.out and r.out ~= "" then
    outs[#outs + 1] = {output_type = "stream", name = "stdout", text = lines_of(r.out .. "\n")}
  end
  if r.value then
    outs[#outs + 1] = {output_type = "execute_result", execution_count = count, metadata = {},
                       data = {["text/plain"] = lines_of(r.value)}}
  end
  for _, png in ipairs(r.figures or {}) do
    local f = io.open(png, "rb")
    if f then
      local bytes = f:read("a")
      f:close()
      outs[#outs + 1] = {output_type = "display_data", metadata = {},
                         data = {["image/png"] = notebook._base64(bytes),
                                 ["text/plain"] = array{"<genlab figure>"}}}
    end
  end
  if r.flags and #r.flags > 0 then
    outs[#outs + 1] = {output_type = "stream", name = "stderr",
                       text = lines_of("warning: " .. table.concat(r.flags, "\nwarning: ") .. "\n")}
  end
  if r.error then
    local first = r.error:match("^[^\n]*")
    outs[#outs + 1] = {output_type = "error", ename = "LuaError", evalue = first,
                       traceback = array(lines_of(r.error))}
    for i, l in ipairs(outs[#outs].traceback) do outs[#outs].traceback[i] = l:gsub("\n$", "") end
  end
  return outs
end

local function source_of(c)
  local lines = {table.unpack(c.lines)}
  while #lines > 0 and not lines[#lines]:match("%S") do lines[#lines] = nil end
  return lines_of(table.concat(lines, "\n"))
end

notebook.ipynb = doc(function(nb, run)
  local cells, count = array(), 0
  local last = run and (run.failed or #nb.cells) or #nb.cells
  for k = 1, last do
    local c = nb.cells[k]
    local cell = {id = ("cell-%d"):format(k), metadata = c.title and {title = c.title} or {}}
    if c.kind == "markdown" then
      cell.cell_type, cell.source = "markdown", lines_of((notebook.prose(nb, run, k)))
    else
      local r = run and run.cells[k]
      if r then count = count + 1 end
      cell.cell_type, cell.source = "code", source_of(c)
      cell.execution_count = r and count or nil
      cell.outputs = code_outputs(r, count)
    end
    cells[#cells + 1] = cell
  end
  local meta = {
    kernelspec = {name = "genlab", display_name = "genlab (Lua 5.4)", language = "lua"},
    language_info = {name = "lua", version = _VERSION:match("%d+%.%d+"), file_extension = ".lua",
                     mimetype = "text/x-lua", codemirror_mode = "lua"},
    genlab = {source = nb.path, args = array(run and {table.unpack(run.args)} or {}),
              seconds = run and tonumber(("%.2f"):format(run.time)) or nil,
              completed = run and run.ok or nil},
  }
  return json.encode({cells = cells, metadata = meta, nbformat = 4, nbformat_minor = 5})
end, "notebook.ipynb(nb, [run]) -> string\n" ..
  "The notebook as Jupyter's .ipynb (nbformat 4.5): " ..
  "a markdown cell per prose cell ($...$ math as\n" ..
     "Jupyter renders it), a code cell per code cell " ..
     "(kernel \"genlab\", language Lua) with the run's\n" ..
     "outputs: printed text (stream), the final value " ..
     "(execute_result), each figure (image/png) and an\n" ..
     "error with its traceback; cells after a failing one are left out, as in the HTML report.")

notebook.write_ipynb = doc(function(nb, run, path)
  local f, err = io.open(path, "wb")
  if not f then error("notebook: cannot write " .. err, 0) end
  f:write(notebook.ipynb(nb, run))
  f:close()
  return path
end, "notebook.write_ipynb(nb, run, path) -> path\nWrite notebook.ipynb(nb, run) to path.")

-- ---- .ipynb in ----------------------------------------------------------------------------

local function decode(path)
  local text, why = notebook._read_text(path)
  if not text then error(why, 0) end
  local good, nb = pcall(json.decode, text, path)
  if not good then error("notebook: " .. tostring(nb):gsub("^json: ", ""), 0) end
  if type(nb) ~= "table" or type(nb.cells) ~= "table" then
    error(("notebook: %s is not a Jupyter notebook (no cells list)"):format(path), 0)
  end
  return nb
end

local function text_of(src, path, k)
  if type(src) == "string" then return src end
  if type(src) ~= "table" then error(("notebook: %s: cell %d has no source text"):format(path, k), 0) end
  for i, s in ipairs(src) do
    if type(s) ~= "string" then error(("notebook: %s: cell %d, source line %d is not text"):format(path, k, i), 0) end
  end
  return table.concat(src)
end

-- The notebook's language, as its metadata names it (nil when it does not).
local function language(nb)
  local m = type(nb.metadata) == "table" and nb.metadata or {}
  local li, ks = type(m.language_info) == "table" and m.language_info or {},
                 type(m.kernelspec) == "table" and m.kernelspec or {}
  local lang = li.name or ks.language
  return type(lang) == "string" and lang:lower() or nil
end

notebook.from_ipynb = doc(function(path)
  local nb = decode(path)
  local lang, out = language(nb), {}
  for k, c in ipairs(nb.cells) do
    if type(c) ~= "table" then error(("notebook: %s: cell %d is not an object"):format(path, k), 0) end
    local text = text_of(c.source, path, k):gsub("\n$", "")
    local title = type(c.metadata) == "table" and type(c.metadata.title) == "string" and c.metadata.title
    if c.cell_type == "code" then
      if lang and lang ~= "lua" then
        error(("notebook: %s: code cell %d is %s, not Lua (the notebook's language is %s); " ..
               "only Lua notebooks convert"):format(path, k, lang, lang), 0)
      end
      local ok, err = load(text, "=cell", "t")
      local head, last = text:match("^(.-)([^\n]*)%s*$")       -- a last line may be a bare value
      if not ok and load(head .. "\nreturn " .. last, "=cell", "t") then ok = true end
      if not ok then
        error(("notebook: %s: code cell %d is not Lua: %s"):format(path, k, err:gsub("^cell:", "line ")), 0)
      end
      out[#out + 1] = "-- %%" .. (title and (" " .. title) or "")
      out[#out + 1] = text
    else                                   -- markdown, and raw cells kept as prose
      out[#out + 1] = "-- %% [markdown]" .. (title and (" " .. title) or "")
      for line in (text .. "\n"):gmatch("([^\n]*)\n") do
        out[#out + 1] = line == "" and "--" or ("-- " .. line)
      end
    end
    out[#out + 1] = ""
  end
  return table.concat(out, "\n")
end, "notebook.from_ipynb(path) -> string\n" ..
  "An .ipynb whose code cells are Lua as a percent-format " ..
  "notebook: each markdown (or raw) cell\n" ..
     "as `-- %% [markdown]` and `-- ` prose, each code " ..
     "cell after `-- %%` (cell titles kept).  A\n" ..
     "notebook in another language, or a code cell that is not Lua, is refused naming that cell.")
