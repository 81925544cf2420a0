-- common.lua -- what the course exercise scripts share: command-line
-- options (a short configuration by default, the seed's with --full), the
-- patch data sets of PS1 1.1, unit conversions, where models are kept, and
-- running an exercise from a notebook; and the pieces of seed 002's problems 2
-- to 4 that its scripts and notebook share (faces, circles, perturbations,
-- graphs, the held-out choice of d, the linear-Gaussian ascent and panel).
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

-- Seed 002 problem 2's faces: genlab's 100 LFW faces, or the course's
-- eigenfaces.npy ((N, 576) or (N, 24, 24)) when path is given; (N, 576) float64.
function C.faces(path)
  if not path or path == "" then return G.data.faces{dtype = "float64"} end
  local F = G.data.read_npy(path)
  if F.ndim == 3 then F = F:reshape(F.shape[1], F.shape[2] * F.shape[3]) end
  if F.ndim ~= 2 then error(path .. ": expected faces as (N, 576) or (N, 24, 24), got " .. F.ndim .. " dims", 2) end
  return F:to("float64"):contiguous()
end

-- Points on circles of the given radii about 0 (for N(0, I)'s 1 and 2 sigma
-- contours beside a 2-d scatter): x, y, grey colours and sizes, appended to
-- the points px, py (tables) whose colours are col (an RGB table) and size sz.
function C.scatter_with_circles(px, py, col, sz, radii)
  local x, y, c, s = {}, {}, {}, {}
  for k = 1, #px do x[k], y[k], c[k], s[k] = px[k], py[k], col, sz end
  for _, r in ipairs(radii) do
    for k = 0, 359 do
      local t = 2 * math.pi * k / 360
      x[#x + 1], y[#y + 1], c[#c + 1], s[#s + 1] = r * math.cos(t), r * math.sin(t), {0.55, 0.55, 0.55}, 1
    end
  end
  return G.tensor(x, {dtype = "float64"}), G.tensor(y, {dtype = "float64"}), G.tensor(c, {dtype = "float64"}),
         G.tensor(s, {dtype = "float64"})
end

-- Latent perturbations of p-PCA (seed 002 2e): for z (1, d), rows = the
-- dimensions dims, columns = count offsets linearly spaced in [-span, span]
-- added to that dimension; the decoded images (#dims * count, m), row by row.
function C.ppca_perturb(p, z, dims, count, span)
  local rows = {}
  for _, i in ipairs(dims) do
    for k = 0, count - 1 do
      local zt = z:clone()
      zt[1][i] = z[1][i] + (-span + 2 * span * k / (count - 1))
      rows[#rows + 1] = zt
    end
  end
  return p:decode(G.cat(rows, 1))
end

-- Seed 002 problem 3's graphs: genlab's (graphs.generate, with its ground
-- truth as the second result) or the course's file at path (no truth).
function C.classroom_graphs(path)
  if path and path ~= "" then return G.graphs.load(path), nil end
  return G.graphs.generate(), G.graphs.TRUTH
end

-- Panel k of fig: the fitted sigma(a s + b) against s = x_i^T x_j beside the
-- share of friends among the data's pairs in 12 bins of s (a model check).
function C.graph_similarity_panel(fig, k, a, b, D)
  local n = D.X.shape[2]
  local S = D.X:bmm(D.X:transpose(2, 3)):totable()
  local E = D.E:totable()
  local lo, hi, nb = -3, 3, 12
  local cnt, hit = {}, {}
  for j = 1, nb do cnt[j], hit[j] = 0, 0 end
  for g = 1, #S do
    for i = 2, n do
      for j = 1, i - 1 do
        local bin = math.max(1, math.min(nb, math.floor((S[g][i][j] - lo) / (hi - lo) * nb) + 1))
        cnt[bin], hit[bin] = cnt[bin] + 1, hit[bin] + E[g][i][j]
      end
    end
  end
  local xs, fr, cx, cy = {}, {}, {}, {}
  for j = 1, nb do
    if cnt[j] >= 5 then
      xs[#xs + 1], fr[#fr + 1] = lo + (j - 0.5) * (hi - lo) / nb, hit[j] / cnt[j]
    end
  end
  for t = 0, 60 do
    local sv = lo + (hi - lo) * t / 60
    cx[#cx + 1], cy[#cy + 1] = sv, 1 / (1 + math.exp(-(a * sv + b)))
  end
  fig:line({{x = G.tensor(cx), y = G.tensor(cy), label = "fitted sigma(a s + b)"},
            {x = G.tensor(xs), y = G.tensor(fr), label = "friends among the data's pairs"}},
           {panel = k, title = "p(friends) against s = x_i^T x_j", xlabel = "s", ylabel = "probability"})
end

-- Seed 002 2(d): which d suits new faces?  Fit on the first 80% of a random
-- permutation of X's rows and score the rest for each d in ds: a table of
-- {d =, loglik = nats per held-out face}, the best d, and the split sizes.
function C.ppca_heldout(X, ds, gen)
  local N = X.shape[1]
  local perm = G.randperm(N, {generator = gen})
  local ntr = math.floor(0.8 * N)
  local Xtr = X:index_select(1, perm:narrow(1, 1, ntr))
  local Xte = X:index_select(1, perm:narrow(1, ntr + 1, N - ntr))
  local rows, best, best_ll = {}, nil, -math.huge
  for _, d in ipairs(ds) do
    if d < ntr - 1 then
      local ll = -G.models.PPCA.fit(Xtr, d):nll(Xte)
      rows[#rows + 1] = {d = d, loglik = ll}
      if ll > best_ll then best, best_ll = d, ll end
    end
  end
  return rows, best, ntr, N - ntr
end

-- Seed 002 4(1): the linear-Gaussian MLE by gradient ascent through autodiff
-- on the mean log-likelihood l = -1/2 (log 2 pi + s + mean (y - X w)^2 / e^s),
-- s = log sigma^2, from w = 0, s = 0: w steps by e^s / lambda_max(X^T X / n)
-- times dl/dw (1 / lambda_max on the squared error), s by dl/ds (its
-- curvature at the optimum is 1/2), until both gradients are below 1e-14.
-- Returns w, sigma^2, the iterations and the log-likelihood (summed).
function C.linear_gaussian_ascent(X, y, iters)
  local n, p = X.shape[1], X.shape[2]
  local lam_max = G.linalg.eigvalsh(X:t():matmul(X) / n)[p]
  local w = G.zeros(p, {dtype = "float64"}):requires_grad_()
  local s = G.zeros(1, {dtype = "float64"}):requires_grad_()
  local it, ll = 0, nil
  repeat
    it = it + 1
    local r = y - X:matmul(w:unsqueeze(2)):squeeze(2)
    local l = ((r * r):mean() / s:exp() + s + math.log(2 * math.pi)):sum() * -0.5
    w.grad, s.grad = nil, nil
    l:backward()
    local gw, gs = w.grad, s.grad
    ll = l:item() * n
    G.no_grad(function()
      w:sub_(gw * (-math.exp(s:item()) / lam_max))
      s:sub_(gs:clamp(-2, 2) * -1)
    end)
  until it >= iters or (gw:abs():max():item() < 1e-14 and math.abs(gs:item()) < 1e-14)
  return w:detach(), math.exp(s:item()), it, ll
end

-- Seed 002 4's pictures: panel k of fig, the points (t, y) (1-d x) with the
-- fitted mean w1 + w2 t and, when band, the +-2 sigma predictive band.
function C.linear_gaussian_panel(fig, k, t, y, lg, band, title)
  local wv, sd = lg.w:totable(), math.sqrt(lg.sigma2)
  local xs, ys, cs, ss = {}, {}, {}, {}
  local function add(x, yv, c, sz) xs[#xs + 1], ys[#ys + 1], cs[#cs + 1], ss[#ss + 1] = x, yv, c, sz end
  local tt, yy = t:totable(), y:totable()
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(tt) do lo, hi = math.min(lo, v), math.max(hi, v) end
  if band then
    for i = 0, 240 do
      local tv = lo + (hi - lo) * i / 240
      local mu = wv[1] + wv[2] * tv
      for j = -20, 20 do add(tv, mu + 2 * sd * j / 20, {0.80, 0.87, 0.97}, 2) end
      add(tv, mu + 2 * sd, {0.45, 0.55, 0.80}, 1)
      add(tv, mu - 2 * sd, {0.45, 0.55, 0.80}, 1)
    end
  end
  for i = 1, #tt do add(tt[i], yy[i], {0.15, 0.15, 0.15}, 4) end
  for i = 0, 400 do local tv = lo + (hi - lo) * i / 400 add(tv, wv[1] + wv[2] * tv, {0.85, 0.35, 0.1}, 2) end
  local F64 = {dtype = "float64"}
  fig:scatter(G.tensor(xs, F64), G.tensor(ys, F64), {panel = k, colors = G.tensor(cs, F64), sizes = G.tensor(ss, F64),
                                                     title = title, xlabel = "x", ylabel = "y"})
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
