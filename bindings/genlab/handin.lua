-- handin.lua -- genlab.handin: the folder of files a student hands in from
-- one run, and its manifest.  A script's run writes into out/<script>/, a
-- notebook's into out/notebooks/<name>/ (and the scripts it runs into that
-- same folder); manifest.json there lists each file with the configuration,
-- seed, commit and date of the run that wrote it, its sha256, and the metric
-- by which it was chosen.
--
-- A run never overwrites a file that a larger configuration wrote (full >
-- default > smoke): a default run beside an hour-long --full run writes
-- <stem>.default.<ext> instead and says so.
--
--   local dir = handin.folder("seed004_4_vae")
--   local path = handin.save(dir, "model_vae_seed2025.pt", function(p) G.save_pt(p, m) end,
--                            {config = "default", seed = 2025, rule = "lowest test reconstruction",
--                             metric = "reconstruction", value = 38.1})
local G, handin = ...

local lib = G._lib
local doc, raise = lib.doc, lib.raise

local RANK = {smoke = 1, default = 2, full = 3}

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

handin.folder = doc(function(name)
  local dir = handin.current or ("out/" .. name)
  if not os.execute("mkdir -p " .. q(dir) .. " 2>/dev/null") then raise("handin: cannot create " .. dir) end
  handin.manifest(dir)                 -- a damaged manifest stops the run now, not after training
  return dir
end, "handin.folder(name) -> dir\n" ..
  "The folder this run writes its hand-in files to: the rendering notebook's (handin.current,\n" ..
     "set while `genlab notebook` runs) or out/<name>; created if missing. Its manifest.json, if\n" ..
     "any, is read at once: a damaged one is an error before the run's work, not after it.")

handin.config = doc(function(o)
  return o.smoke and "smoke" or o.full and "full" or "default"
end, "handin.config(options) -> \"smoke\" | \"default\" | \"full\"\n" ..
  "The configuration a script's options (scripts/common.lua's) name.")

handin.covers = doc(function(config, wanted)
  return (RANK[config] or 0) >= (RANK[wanted] or 4)
end, "handin.covers(config, wanted) -> boolean\n" ..
  "Whether a run of configuration config is at least as large as wanted (full > default > smoke):\n" ..
     "whether its files may stand in for a wanted run's.")

local function manifest_path(dir) return dir .. "/manifest.json" end

handin.manifest = doc(function(dir)
  local f = io.open(manifest_path(dir), "rb")
  if not f then return {files = {}} end
  local text = f:read("a")
  f:close()
  local ok, m = pcall(G.json.decode, text, manifest_path(dir))
  if not ok or type(m) ~= "table" or type(m.files) ~= "table" then
    raise(("handin: %s is damaged (%s); mend or remove it: it records which run wrote each " ..
           "file here"):format(manifest_path(dir), ok and "no files table" or tostring(m):gsub("^json: ", "")))
  end
  return m
end, "handin.manifest(dir) -> {files = {[name] = {config, " ..
  "seed, commit, date, sha256, rule, metric, value}}}\n" ..
     "dir's manifest.json as written by handin.save (empty when there is none).")

local function sha256(path)
  local p = io.popen("sha256sum " .. q(path) .. " 2>/dev/null")
  local line = p and p:read("l")
  if p then p:close() end
  return line and line:match("^(%x+)") or nil
end

local function write_manifest(dir, m)
  G.data.write_file(manifest_path(dir), G.json.encode(m))
end

-- The name this run may write: name itself, or <stem>.<config>.<ext> when a
-- larger configuration's run wrote name.
local function writable_name(m, name, config)
  local prev = m.files[name]
  if not prev or (RANK[prev.config] or 0) <= RANK[config] then return name, nil end
  local stem, ext = name:match("^(.*)(%.[^./]+)$")
  return (stem or name) .. "." .. config .. (ext or ""), prev
end

handin.save_results = doc(function(dir, name, results, info)
  return handin.save(dir, name, function(path)
    G.data.write_file(path, G.json.encode({results = results, config = info.config, seed = info.seed,
                                           commit = G.commit, date = os.date("!%Y-%m-%dT%H:%M:%SZ"),
                                           options = info.options}))
  end, info)
end, "handin.save_results(dir, name, results, {config=, seed=, options=}) -> path\n" ..
  "A run's numbers as JSON (name, e.g. \"results.json\"), " ..
  "with its configuration, seed, commit, date and\n" ..
     "options, through handin.save: what prose may cite from a longer run (handin.results).")

handin.results = doc(function(dirs, name, config)
  for _, dir in ipairs(dirs) do
    local ok, m = pcall(handin.manifest, dir)
    for file, e in pairs(ok and m.files or {}) do
      local stem, ext = name:match("^(.*)(%.[^.]+)$")
      if e.config == config and (file == name or file == stem .. "." .. config .. ext) then
        local f = io.open(dir .. "/" .. file, "rb")
        if f then
          local r = G.json.decode(f:read("a"), dir .. "/" .. file)
          f:close()
          r.path = dir .. "/" .. file
          return r
        end
      end
    end
  end
  return nil
end, "handin.results(dirs, name, config) -> {results, " ..
  "config, seed, commit, date, options, path} | nil\n" ..
     "The numbers a run of the given configuration saved " ..
     "as name (handin.save_results) in the first of\n" ..
     "dirs whose manifest lists one: how a notebook cites a --full run without typing its numbers.")

-- Figures this run has entered in a manifest, by path: each is entered once.
local entered = {}

handin.figure_path = doc(function(dir, file)
  local config = handin.run_config
  if not config then return dir .. "/" .. file end
  local m = handin.manifest(dir)
  local use, kept = writable_name(m, file, config)
  local path = dir .. "/" .. use
  if not entered[path] then
    entered[path] = true
    if kept then
      io.stderr:write(("handin: kept the figure %s/%s from the --%s run of %s; this %s run's is %s\n")
                      :format(dir, file, kept.config, kept.date or "?", config, path))
    end
    m.files[use] = {config = config, commit = G.commit, date = os.date("!%Y-%m-%dT%H:%M:%SZ"), note = "figure"}
    write_manifest(dir, m)
  end
  return path
end, "handin.figure_path(dir, file) -> path\n" ..
  "Where a figure's PNG goes (genlab.viz asks, for its default paths): dir/file, or\n" ..
     "dir/<stem>.<config>.png beside a figure that a larger configuration's run wrote; the first\n" ..
     "time, the manifest records it. Only while a script's run is known (handin.run_config, which\n" ..
     "scripts/common.lua's options set); else dir/file as it is.")

handin.save = doc(function(dir, name, writer, info)
  local config = info.config or "default"
  if not RANK[config] then raise("handin.save: config must be smoke, default or full, got " .. tostring(config)) end
  local m = handin.manifest(dir)
  local use, kept = writable_name(m, name, config)
  local path = dir .. "/" .. use
  writer(path)
  if kept then
    io.stderr:write(("handin: kept %s/%s from the --%s run of %s; this %s run's file is %s\n")
                    :format(dir, name, kept.config, kept.date or "?", config, path))
  end
  local entry = {config = config, seed = info.seed, commit = G.commit, date = os.date("!%Y-%m-%dT%H:%M:%SZ"),
                 sha256 = sha256(path), rule = info.rule, metric = info.metric, value = info.value,
                 note = info.note}
  m.files[use] = entry
  write_manifest(dir, m)
  return path
end, "handin.save(dir, name, writer, {config=\"default\", " ..
  "seed=, rule=, metric=, value=, note=}) -> path\n" ..
     "writer(path) writes the file dir/name, and manifest.json " ..
     "records it: configuration, seed, commit,\n" ..
     "UTC date, sha256, and the rule, metric and value it was chosen by.  A file that a larger\n" ..
     "configuration wrote (full > default > smoke) is " ..
     "kept: this run writes <stem>.<config>.<ext>\n" ..
     "beside it and says so on stderr.")
