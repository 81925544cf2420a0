-- common.lua -- what the course exercise scripts share: command-line
-- options (a short configuration by default, the seed's with --full), the
-- patch data sets of PS1 1.1, unit conversions, where models are kept, and
-- running an exercise from a notebook.
--
--   local C = dofile((arg[0]:match("^(.*/)") or "./") .. "common.lua")
--   local o = C.options({epochs = 2}, {epochs = 20}, "what the script does")
local G = require "genlab"

local C = {}
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"   -- scripts/

-- Options from arg: the short defaults, or the full ones with --full; any
-- --key=value overrides either.  A value is read by the form of its default:
-- a number (an integer when the default is one), true/false, a list of
-- numbers ("1,4,16") or any string; forms[key], when given, lists the words
-- the option takes ({"sgd", "em"}), with numbers = true when a list of
-- numbers is allowed besides them.  A wrong value stops the script before
-- any work, with one line naming the option, the value and the form wanted.
-- --help prints the options and exits.
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

function C.options(short, full, about, forms)
  forms = forms or {}
  local o, want_full, given = {}, false, {}
  for _, a in ipairs(arg or {}) do
    if a == "--full" then
      want_full = true
    elseif a == "--help" or a == "-h" then
      print(about .. "\n\nOptions (short default / --full):")
      local keys = {}
      for k in pairs(short) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do
        local words = forms[k] and ("  (" .. table.concat(forms[k], "|") .. (forms[k].numbers and "|n,n,..." or "") .. ")") or ""
        print(string.format("  --%s=%s / %s%s", k, tostring(short[k]), tostring(full[k]), words))
      end
      os.exit(0)
    else
      local k, v = a:match("^%-%-([%w_-]+)=(.*)$")
      k = k and k:gsub("-", "_")                     -- --save-graphs is --save_graphs
      if not k or short[k] == nil then
        io.stderr:write(string.format("%s: unknown argument '%s' (try --help)\n", arg[0], a))
        os.exit(2)
      end
      local value, wanted = convert(v, short[k], forms[k])
      if value == nil then
        io.stderr:write(string.format("%s: --%s=%s: expected %s\n", arg[0], k, v, wanted))
        os.exit(2)
      end
      given[k] = value
    end
  end
  for k, v in pairs(want_full and full or short) do o[k] = v end
  for k, v in pairs(given) do o[k] = v end
  o.full = want_full
  return o
end

-- Training and test patches (rows of size^2 pixels in [0, 1]) for PS1 1.1:
-- training patches from the training photos, test patches from the photo
-- held out for denoising, each photo downscaled by 2 so that a 16x16 patch
-- holds edges and texture rather than smooth gradients.
function C.patch_sets(n_train, n_test, size, seed)
  size, seed = size or 16, seed or 0
  local train = G.data.photos{split = "train", downscale = 2}
  local hold = G.data.photos{split = "holdout", downscale = 2}
  local Xtr = G.data.patches(train, size, {count = n_train, seed = seed})
  local Xte = G.data.patches(hold, size, {count = n_test, seed = seed + 1})
  return Xtr, Xte
end

-- Bits per pixel of an NLL in nats per patch of d pixels in [0, 1], at
-- 8-bit resolution: the density of the 0..255 values is 256^-d times ours.
function C.bits_per_pixel(nll, d)
  return nll / (d * math.log(2)) + 8
end

-- Where the patch models are saved (the denoising exercise reads them).
function C.model_path(name)
  os.execute("mkdir -p out/models")
  return "out/models/" .. name .. ".ckpt"
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
-- serves both, so a notebook never copies an exercise.
function C.exercise(name, args)
  local path = here .. name .. ".lua"
  local caller = arg
  arg = {[0] = path, table.unpack(args or {})}
  local ok, r = xpcall(dofile, debug.traceback, path)   -- the script's own lines in the message
  arg = caller
  if not ok then error(r, 0) end
  return r
end

-- The arguments that pass a notebook's configuration on to its exercises.
function C.passed(o)
  return o.full and {"--full"} or {}
end

return C
