-- common.lua -- what the course exercise scripts share: command-line
-- options (three configurations: --smoke for the tests, the default for a
-- person, --full for the seed's sizes), the quality floors a trained result
-- must reach, the patch data sets of PS1 1.1, unit conversions, where models
-- are kept, and running an exercise from a notebook.
--
--   local C = require "common"      -- genlab puts scripts/ on package.path
--   local o = C.options({epochs = 1}, {epochs = 5}, {epochs = 20}, "what the script does")
--   ...
--   C.floor("VAE1 N_z=20 test reconstruction", rec, "<=", 25)
--   return C.finish({...})     -- the script's results, with its floors; fails a run that missed one
local G = require "genlab"

local C = {}
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"   -- scripts/

-- Options from arg, in three configurations, each for one reader:
--   --smoke   the tests: seconds, tiny data; checks that the code runs
--   (none)    the default, for a person: trains to a result that looks trained, in minutes
--   --full    the seed's sizes
-- smoke, default and full are tables of the same keys; any --key=value
-- overrides the chosen one (C.given holds those), and a bare --key sets a
-- true/false option to true.  A value is read by the form of its default:
-- a number (an integer when the default is one), true/false, a list of
-- numbers ("1,4,16") or any string; forms[key], when given, lists the words
-- the option takes ({"sgd", "em"}), with numbers = true when a list of
-- numbers is allowed besides them.  A wrong value stops the script before
-- any work, with one line naming the option, the value and the form wanted.
-- --help prints the options with their three values and exits.
-- o.smoke and o.full say which configuration runs (genlab.handin.config(o)
-- names it), and C.floor reads it from here.
local function is_list(v) return type(v) == "string" and v:find(",") and v:match("^[%d%s,.eE+-]+$") end

local function list_of_numbers(v)
  for item in (v .. ","):gmatch("([^,]*),") do
    if not tonumber(item) then return false end
  end
  return true
end

-- v (a string) converted by the form of default, or nil and what was expected.
local function convert(v, default, form)
  if form then
    for _, word in ipairs(form) do if v == word then return v end end
    if form.numbers and list_of_numbers(v) then return v end
    return nil, "one of " .. table.concat(form, ", ") .. (form.numbers and ", or a list of numbers such as 1,2,3" or "")
  end
  if type(default) == "number" then
    local n = tonumber(v)
    if math.type(default) == "integer" then
      n = n and math.tointeger(n)
      return n, not n and "an integer" or nil
    end
    return n, not n and "a number" or nil
  elseif type(default) == "boolean" then
    if v == "true" or v == "false" then return v == "true" end
    return nil, "true or false"
  elseif is_list(default) then
    if list_of_numbers(v) then return v end
    return nil, "a list of numbers such as " .. default
  end
  return v
end

-- Whether every number that v (a number or a list such as "2,5,10") holds
-- passes ok, and there is at least one.
local function all_numbers(v, ok)
  local any = false
  for item in (tostring(v) .. ","):gmatch("([^,]*),") do
    local n = tonumber(item)
    if not n or not ok(n) then return false end
    any = true
  end
  return any
end

local function positive(n) return n > 0 end
local function positive_integer(n) return n > 0 and math.tointeger(n) ~= nil end

-- Where the three configurations' values of an option are all positive (a
-- count, a size, a rate), or all positive integers, a given value must be too:
-- --epochs=0 or --nz=2.5 would fail much later, or not at all.  (Not a seed:
-- 0 is one.)
local function out_of_range(value, s, d, f)
  for _, rule in ipairs{{positive_integer, "positive integers"}, {positive, "positive numbers"}} do
    if type(value) ~= "boolean" and all_numbers(s, rule[1]) and all_numbers(d, rule[1])
       and all_numbers(f, rule[1]) then
      if not all_numbers(value, rule[1]) then return rule[2] end
      return nil
    end
  end
end

local function usage_error(fmt, ...)
  io.stderr:write(string.format("%s: " .. fmt .. "\n", arg[0], ...))
  os.exit(2)
end
C.usage_error = usage_error       -- a script's own check of its options: one line, status 2

-- The three tables must name the same options: a key missing from one is the
-- script's mistake, said before any work.
local function same_keys(smoke, default, full)
  for name, t in pairs{smoke = smoke, full = full} do
    for k in pairs(default) do
      if t[k] == nil then error(("C.options: option %s has a default but no %s value"):format(k, name), 2) end
    end
    for k in pairs(t) do
      if default[k] == nil then error(("C.options: option %s has a %s value but no default"):format(k, name), 2) end
    end
  end
end

local function help(smoke, default, full, about, forms)
  print(about .. "\n\n" ..
    "Configurations: --smoke (the tests: seconds, tiny data), the default (trained results" ..
        "\nin minutes), --full (the seed's sizes). Options (--smoke / default / --full):")
  local keys = {}
  for k in pairs(default) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local words = forms[k] and ("  (" .. table.concat(forms[k], "|") .. (forms[k].numbers and "|n,n,..." or "") .. ")") or ""
    print(string.format("  --%s=%s / %s / %s%s", k, tostring(smoke[k]), tostring(default[k]), tostring(full[k]), words))
  end
  os.exit(0)
end

-- Values for the keys of preset that the command line did not give: a
-- preset within a configuration (ps1_2_denoise.lua's --paper).
function C.overlay(o, preset)
  for k, v in pairs(preset) do
    if o[k] == nil then error("C.overlay: no option " .. k, 2) end
    if C.given[k] == nil then o[k] = v end
  end
  return o
end

function C.options(smoke, default, full, about, forms)
  forms = forms or {}
  same_keys(smoke, default, full)
  local o, want, given = {}, nil, {}
  for _, a in ipairs(arg or {}) do
    if a == "--full" or a == "--smoke" then
      if want and want ~= a then usage_error("--smoke and --full cannot be given together") end
      want = a
    elseif a == "--help" or a == "-h" then
      help(smoke, default, full, about, forms)
    else
      local k, v = a:match("^%-%-([%w_-]+)=(.*)$")
      if not k then                                  -- a bare --name sets a true/false option
        k = a:match("^%-%-([%w_-]+)$")
        v = k and type(default[k:gsub("-", "_")]) == "boolean" and "true" or nil
        k = v and k
      end
      k = k and k:gsub("-", "_")                     -- --save-graphs is --save_graphs
      if not k or default[k] == nil then usage_error("unknown argument '%s' (try --help)", a) end
      local value, wanted = convert(v, default[k], forms[k])
      if value == nil then usage_error("--%s=%s: expected %s", k, v, wanted) end
      local range = not forms[k] and not k:find("seed") and out_of_range(value, smoke[k], default[k], full[k])
      if range then
        usage_error("--%s=%s: expected %s (the configurations use %s / %s / %s)", k, v, range,
                    tostring(smoke[k]), tostring(default[k]), tostring(full[k]))
      end
      given[k] = value
    end
  end
  for k, v in pairs(want == "--full" and full or want == "--smoke" and smoke or default) do o[k] = v end
  for k, v in pairs(given) do o[k] = v end
  o.full, o.smoke = want == "--full", want == "--smoke"
  C.given = given
  C.config = G.handin.config(o)
  G.handin.run_config = C.config             -- figures too keep a larger run's (handin.figure_path)
  C.nested = arg and arg.exercise_of ~= nil      -- run by C.exercise from a notebook or another script
  C.started = G.time()
  return o
end

-- ---- Quality floors ----------------------------------------------------------------------
-- A floor is a figure that a trained result must reach at the default and
-- full configurations ("VAE2 N_z=20 test reconstruction <= 40").  C.floor
-- prints one line, "floor: NAME VALUE OP BOUND: ok" (or NOT MET, or "not
-- checked (smoke)" under --smoke, whose runs are too short to train),
-- records it in C.floors (C.finish hands them back in the script's results),
-- and, while `genlab notebook` renders, shows a floor that is not met beside
-- the cell's figures and makes the render's exit status 1.  C.finish ends a
-- script: when a checked floor was not met, it lists them under FLOOR NOT
-- MET and raises (exit status 1), unless a notebook or another script ran
-- it, whose own C.finish (or the renderer) reports them.
C.floors = {}

local OPS = {["<="] = function(a, b) return a <= b end, [">="] = function(a, b) return a >= b end,
             ["<"] = function(a, b) return a < b end, [">"] = function(a, b) return a > b end}

local function num(x) return math.type(x) == "integer" and tostring(x) or string.format("%.4g", x) end

local function record(f)
  f.checked = C.config ~= "smoke"
  f.status = not f.checked and "not checked (smoke)" or f.ok and "ok" or "NOT MET"
  f.line = ("floor: %s: %s"):format(f.text, f.status)
  C.floors[#C.floors + 1] = f
  print(f.line)
  if f.checked and not f.ok then G.notebook.flag(f.line, {fails = true}) end
  return f.ok
end

function C.floor(name, value, op, bound, note)
  if not OPS[op] then error("C.floor: op must be <=, >=, < or >, got " .. tostring(op), 2) end
  if type(value) ~= "number" or value ~= value then
    return record{name = name, value = value, op = op, bound = bound, ok = false,
                  text = ("%s %s %s %s%s"):format(name, tostring(value), op, num(bound), note and (" (" .. note .. ")") or "")}
  end
  return record{name = name, value = value, op = op, bound = bound, ok = OPS[op](value, bound),
                text = ("%s %s %s %s%s"):format(name, num(value), op, num(bound), note and (" (" .. note .. ")") or "")}
end

-- The floor "images are not degenerate", by viz.degenerate's rule (the one
-- the notebook runner flags grids by): the mean over pixels of the standard
-- deviation across the images at least 0.05, and at most an eighth of the
-- images identical to an earlier one.
function C.not_degenerate(name, images, opts)
  local degenerate, h = G.viz.degenerate(images, opts)
  return record{name = name .. " not degenerate", value = h.spread, op = ">=", bound = 0.05, ok = not degenerate,
                same = h.same, text = ("%s not degenerate: spread %.3f >= 0.05, %s"):format(name, h.spread,
                                                                                       h.repeated)}
end

-- The floors not met among those checked.
function C.unmet()
  local bad = {}
  for _, f in ipairs(C.floors) do if f.checked and not f.ok then bad[#bad + 1] = f end end
  return bad
end

-- End a script (or a notebook run as one): results.floors = this run's
-- floors (its own and its exercises'); a summary line; and in the default
-- and full configurations, when a floor was not met and nothing above this
-- run reports it, the list under FLOOR NOT MET and an error (exit status 1).
-- opts.list prints every floor again (a notebook's closing cell).
function C.finish(results, opts)
  results = results or {}
  results.floors = C.floors
  local bad = C.unmet()
  if opts and opts.list then
    for _, f in ipairs(C.floors) do print("  " .. f.line) end
  end
  if C.started then                     -- the whole run, data loading and figures included
    results.wall_seconds = G.time() - C.started
    print(("wall time (%s configuration): %.1f s"):format(C.config, results.wall_seconds))
  end
  if #C.floors > 0 then
    print(C.config == "smoke" and ("quality floors: %d, not checked (smoke)"):format(#C.floors)
          or ("quality floors (%s configuration): %d met, %d not met"):format(C.config, #C.floors - #bad, #bad))
  end
  if #bad > 0 and not C.nested and not G.notebook.recording() then
    print("FLOOR NOT MET:")
    for _, f in ipairs(bad) do print("  " .. f.line) end
    error(("%d quality floor%s not met in the %s configuration (the floor: lines above)")
          :format(#bad, #bad > 1 and "s" or "", C.config), 0)
  end
  return results
end

-- Training and test patches (rows of size^2 pixels in [0, 1]) for PS1 1.1:
-- training patches from the training photos, test patches from the photo
-- held out for denoising, each photo downscaled by 2 so that a 16x16 patch
-- holds edges and texture rather than smooth gradients.  n_train = 0 takes
-- every overlapping training patch (1.2 million of 8x8), in photo order.
function C.patch_sets(n_train, n_test, size, seed)
  size, seed = size or 16, seed or 0
  local train = G.data.photos{split = "train", downscale = 2}
  local hold = G.data.photos{split = "holdout", downscale = 2}
  local Xtr
  if n_train == 0 then
    local all = {}
    for i, img in ipairs(train) do all[i] = G.data.extract_patches(img, size, {stride = 1}) end
    Xtr = G.cat(all, 1)
  else
    Xtr = G.data.patches(train, size, {count = n_train, seed = seed})
  end
  local Xte = G.data.patches(hold, size, {count = n_test, seed = seed + 1})
  return Xtr, Xte
end

-- The held-out photo (downscaled by 2, as the training patches), or its
-- centre crop x crop when crop > 0: the image the denoising exercises use.
function C.holdout_photo(crop)
  local clean = G.data.photos{split = "holdout", downscale = 2}[1]
  if crop > 0 then
    local H, W = clean.shape[1], clean.shape[2]
    local c = math.min(crop, H, W)
    clean = clean:narrow(1, (H - c) // 2 + 1, c):narrow(2, (W - c) // 2 + 1, c):contiguous()
  end
  return clean
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The patch prior with K components on size x size patches: ps1_1efg_gmm.lua's
-- (16x16, out/models/gmm_K<K>.ckpt), else one fitted by EM with the same
-- settings before (gmm_K<K>_p<size>_n<n_train>_em<em_iter>, then _w<em_warm>,
-- _tol<em_tol> and _dc when given), else one fitted now on Xtr (the rows
-- C.patch_sets gives) and saved for the next run.  EM runs at most em_iter
-- iterations, until the objective moves less than em_tol (1e-3) per point;
-- with em_warm > 0 it first runs so on a random em_warm of the rows and then
-- goes on from there on all of them, which saves most of the iterations
-- over a million rows.  With remove_mean, each row's mean is taken out first:
-- a prior for denoise.epll{remove_mean = true}.
function C.patch_prior(K, size, Xtr, opts)
  local function load(path, why)
    if not path then
      if why and not why:match("does not exist$") then print(("K = %d: not using %s"):format(K, why)) end
      return nil
    end
    local gmm = G.models.GMM.load(path)
    if gmm.d ~= size * size or gmm.K ~= K then return nil end
    print(string.format("K = %d: %s", K, path))
    return gmm
  end
  local N, warm, tol = Xtr.shape[1], opts.em_warm or 0, opts.em_tol or 1e-3
  warm = warm < N and warm or 0
  -- ps1_1efg_gmm.lua's mixtures keep the patches' means
  local gmm = size == 16 and not opts.remove_mean and load(C.find_model(opts, "gmm_K" .. K))
  local name = string.format("gmm_K%d_p%d_n%d_em%d%s%s%s", K, size, N, opts.em_iter,
                             warm > 0 and "_w" .. warm or "",
                             tol ~= 1e-3 and ("_tol%g"):format(tol) or "",
                             opts.remove_mean and "_dc" or "")
  local path = C.model_path(name)
  gmm = gmm or load(exists(path) and path or nil)
  if gmm then return gmm end
  print(string.format("K = %d: fitting by EM on %d %s patches%s (%d iterations at most), " ..
                      "saved as %s", K, N, Xtr.dtype,
                      opts.remove_mean and " less their means" or "", opts.em_iter, path))
  if opts.remove_mean then Xtr = Xtr - Xtr:mean(2, true) end
  local fit = {reg_covar = 1e-4, seed = opts.seed, max_iter = opts.em_iter, tol = tol,
               verbose = K > 1}
  local t0 = G.time()
  if warm > 0 then
    print(string.format("K = %d: first on a random %d of them", K, warm))
    local rows = G.randperm(N, {generator = G.Generator(opts.seed)}):narrow(1, 1, warm)
    fit.init = G.models.GMM.fit_em(Xtr:index_select(1, rows), K, fit)
    print(string.format("K = %d: then on all %d", K, N))
  end
  local info
  gmm, info = G.models.GMM.fit_em(Xtr, K, fit)
  print(string.format("K = %d: EM %s after %d iterations on all the patches, %.1f s in all", K,
                      info.converged and "converged" or "stopped", info.iterations, G.time() - t0))
  gmm:save(path)
  return gmm
end

-- Bits per pixel of an NLL in nats per patch of d pixels in [0, 1], at
-- 8-bit resolution: the density of the 0..255 values is 256^-d times ours.
function C.bits_per_pixel(nll, d)
  return nll / (d * math.log(2)) + 8
end

-- Where the patch models are saved (the denoising exercise reads them).
function C.model_path(name, ext)
  os.execute("mkdir -p out/models")
  return "out/models/" .. name .. (ext or ".ckpt")
end

-- Models that one exercise saves for another (the denoising reads
-- ps1_1efg_gmm's mixtures) go to out/models through genlab.handin: a run
-- never overwrites a larger configuration's model (a --smoke run after a
-- --full one writes <name>.smoke.ckpt beside it and says so), and
-- out/models/manifest.json records who wrote each.  writer(path) writes the file.
function C.save_model(o, name, writer, ext)
  C.model_path(name, ext)                       -- (makes out/models)
  return G.handin.save("out/models", name .. (ext or ".ckpt"), writer,
                       {config = G.handin.config(o), seed = o.seed})
end

-- The path of out/models/<name> when a run of o's configuration may use it:
-- one at least as large wrote it (a --full run does not rest on a --smoke
-- run's mixture), or its writer is unknown (a file from before the
-- manifest); else nil and why.
function C.find_model(o, name, ext)
  local file = name .. (ext or ".ckpt")
  local path = "out/models/" .. file
  if not exists(path) then return nil, path .. " does not exist" end
  local ok, m = pcall(G.handin.manifest, "out/models")
  local e = ok and m.files[file]
  local config = G.handin.config(o)
  if e and not G.handin.covers(e.config, config) then
    return nil, ("%s is from a --%s run (%s); this is a --%s run"):format(path, e.config, e.date or "?", config)
  end
  return path
end

-- Points of the 2-sigma ellipse of each component of a 2-D mixture, 60
-- each, stacked (K*60, 2): mu + 2 L [cos t, sin t] (lecture 3's figures).
function C.ellipses(gmm)
  local t = G.linspace(0, 2 * math.pi, 60, {dtype = "float64"})
  local circle = G.stack({t:cos(), t:sin()}, 1) * 2                      -- (2, 60)
  local pts = {}
  for k = 1, gmm.K do pts[k] = gmm.chol[k]:matmul(circle):t() + gmm.means[k] end
  return G.cat(pts, 1)
end

-- "1.23 s" style timing of f(); returns its results after the seconds.
function C.timed(f)
  local t0 = G.time()
  local r = table.pack(f())
  return G.time() - t0, table.unpack(r, 1, r.n)
end

-- A table of numeric checks.  check(name, value, reference, tol) prints one
-- row, value beside reference, |diff| beside tol, ok or FAIL; check:done()
-- prints the verdict and raises (exit status 1) if any failed.
function C.checks()
  print(string.format("%-58s %14s %14s %9s %9s", "check", "value", "reference", "|diff|", "tol"))
  local failed, n = 0, 0
  local check = {}
  function check.done()
    print(failed == 0 and string.format("all %d checks pass", n) or string.format("%d of %d checks FAIL", failed, n))
    if failed > 0 then error(string.format("%d checks failed", failed), 0) end
  end
  return setmetatable(check, {__call = function(_, name, value, ref, tol)
    local err = math.abs(value - ref)
    local ok = err <= tol
    n, failed = n + 1, failed + (ok and 0 or 1)
    print(string.format("%-58s %14.8g %14.8g %9.1e %9.1e  %s", name, value, ref, err, tol, ok and "ok" or "FAIL"))
    return ok
  end})
end

-- Run the exercise scripts/<name>.lua from a notebook (or another script)
-- as the command line would with args, e.g. {"--full"}: its printing and its
-- figures land where the caller's do, and its result comes back.  One script
-- serves both, so a notebook never copies an exercise.  The floors it checked
-- join the caller's (C.floors), whose C.finish reports them.  The exercise's
-- require "common" loads a C of its own (its options, its floors), as it
-- would from the command line.
function C.exercise(name, args)
  local path = here .. name .. ".lua"
  local caller, shared = arg, package.loaded.common
  arg = {[0] = path, exercise_of = caller and caller[0] or "?", table.unpack(args or {})}
  package.loaded.common = nil
  local ok, r = xpcall(dofile, debug.traceback, path)   -- the script's own lines in the message
  arg, package.loaded.common = caller, shared
  if not ok then error(r, 0) end
  for _, f in ipairs(type(r) == "table" and r.floors or {}) do C.floors[#C.floors + 1] = f end
  return r
end

-- The arguments that pass a notebook's configuration on to its exercises.
function C.passed(o)
  return o.full and {"--full"} or o.smoke and {"--smoke"} or {}
end

return C
