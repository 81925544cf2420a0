-- PS1 1.2: the GMM of image patches as a prior for denoising, at noise
-- sigma = 25/255 on the held-out photo.
--   (a) each noisy test patch alone: min ||x - y||^2 - lambda log q(x) by gradient
--       descent, K = 1 against K = 64 (the seed's lambda = 1, and lambda = 2 sigma^2,
--       which makes x the MAP estimate);
--   (b) the whole image, two ways: gradient descent on the seed's loss
--       ||X - Y||^2 - lambda EPLL(X), and EPLL's half-quadratic splitting
--       (Zoran & Weiss 2011), live: noisy, current and clean side by side
--       with the PSNR curves.
-- The priors are the mixtures that ps1_1efg_gmm.lua saved (out/models/gmm_K<K>.ckpt,
-- 16x16); for another patch size, or when none is there, a mixture is fitted by EM
-- and saved for the next run with the same settings (gmm_K<K>_p<size>_n<N>_em<iters>).
--
-- Every run ends beside scikit-image's TV, NL-means and wavelet denoisers on the same
-- noisy image, each tuned on the clean one (tests/fixtures/denoise/, made with
-- python3-skimage by make_baselines.py there; the product itself runs no Python).
--
--   ./genlab scripts/ps1_2_denoise.lua                 default and --smoke: 8x8 patches, a 128x128 crop
--   ./genlab scripts/ps1_2_denoise.lua --full          16x16 as the seed, the whole photo
--   ./genlab scripts/ps1_2_denoise.lua --size=8 --full 8x8 (the paper's size), the whole photo
--   ./genlab scripts/ps1_2_denoise.lua --paper         the EPLL paper's prior: K = 200 on 8x8
--       patches less their means, EM in float32 on every overlapping patch of the training
--       photos (first on a random 200,000 of them, then on all, until the objective moves
--       less than em_tol = 0.02 nats per patch), and EPLL with the paper's schedule,
--       beta = (1, 4, 8, 16, 32) / sigma^2, on the whole photo; (a) and gradient descent
--       are left out
local G = require "genlab"
local C = require "common"
local D = G.denoise
local o = C.options(
  {Ks = "1,64", size = 8, crop = 128, sigma = 25 / 255, lambda = 1.0, n_train = 20000,
   n_test = 300, em_iter = 15, em_warm = 0, em_tol = 1e-3, patch_steps = 200, gd_steps = 30,
   seed = 0, paper = false},
  {Ks = "1,64", size = 8, crop = 128, sigma = 25 / 255, lambda = 1.0, n_train = 20000,
   n_test = 300, em_iter = 15, em_warm = 0, em_tol = 1e-3, patch_steps = 200, gd_steps = 30,
   seed = 0, paper = false},
  {Ks = "1,64", size = 16, crop = 0, sigma = 25 / 255, lambda = 1.0, n_train = 100000,
   n_test = 2000, em_iter = 50, em_warm = 0, em_tol = 1e-3, patch_steps = 100, gd_steps = 20,
   seed = 0, paper = false},
  "PS1 1.2: patch and whole-image denoising with the GMM prior (gradient descent and EPLL).\n" ..
  "--paper: the EPLL paper's prior, K = 200 on every overlapping 8x8 training patch\n" ..
  "(n_train = 0), and EPLL alone on the whole photo.")
if o.paper then                                    -- the options the command line left alone
  C.overlay(o, o.smoke and {Ks = "16", size = 8, crop = 64, n_train = 5000, em_iter = 5,
                            em_warm = 2000, em_tol = 0.02}
                        or {Ks = "200", size = 8, crop = 0, n_train = 0, em_iter = 200,
                            em_warm = 200000, em_tol = 0.02})
end
o.remove_mean = o.paper          -- the paper's prior is on patches less their means (C.patch_prior)

local Ks = {}
for k in tostring(o.Ks):gmatch("%d+") do Ks[#Ks + 1] = tonumber(k) end
local size, sigma = o.size, o.sigma
local Xtr, Xte = C.patch_sets(o.n_train, o.n_test, size, o.seed)

local priors = {}
for _, K in ipairs(Ks) do priors[K] = C.patch_prior(K, size, Xtr, o):to("float32") end

local clean = C.holdout_photo(o.crop)
local noisy = D.add_noise(clean, sigma, {seed = o.seed})
local noisy_psnr = D.psnr(noisy, clean)

local fig = G.viz.figure{title = string.format("PS1 1.2: denoising with GMM priors " ..
                                              "(%dx%d patches, sigma = 25/255)%s", size, size,
                                              o.paper and ", the EPLL paper's prior" or ""),
                         rows = 2, cols = 2, width = 1400, height = 1050, name = "denoise"}
local curves = {}
local function draw_live(X, label)
  fig:grid({noisy:clamp(0, 1), X:clamp(0, 1), clean}, {panel = 1, norm = "none", rows = 1,
           title = label, captions = {"noisy", "current", "clean"}})
  local series = {}
  for _, c in ipairs(curves) do
    if #c.y > 0 then series[#series + 1] = {y = G.tensor(c.y), label = c.label} end
  end
  if #series > 0 then
    fig:line(series, {panel = 2, title = "PSNR while denoising", xlabel = "iteration",
                      ylabel = "dB", hline = noisy_psnr, hline_label = "noisy"})
  end
  fig:show()
end

-- ---- (a) patches ----------------------------------------------------------------------

local function patches()
  local Yte = D.add_noise(Xte, sigma, {seed = o.seed + 7})
  local function patch_mse(X) return (X - Xte):pow(2):sum(2):mean():item() end
  local rows_a, shown = {}, {Xte:narrow(1, 1, 8), Yte:narrow(1, 1, 8):clamp(0, 1)}
  local function row_a(K, what, lam, X, steps, rel, t)
    rows_a[#rows_a + 1] = string.format("%4d %-14s %8s %11.3f %8.2f %6s %9s %8.2f", K, what,
                                        lam and string.format("%.4f", lam) or "", patch_mse(X),
                                        D.psnr(X, Xte), steps or "", rel and
                                        string.format("%.1e", rel) or "", t)
  end
  print(string.format("\n(a) %d noisy test patches: ||x0 - y||^2 = %.3f per patch", o.n_test,
                      patch_mse(Yte)))
  for _, K in ipairs(Ks) do
    -- float64: the stiff loss (lambda / lambda_min(Sigma_k) reaches 1e5) needs its precision
    for _, lam in ipairs{o.lambda, 2 * sigma ^ 2} do
      local t, X, hist = C.timed(function()
        return D.patches_gd(priors[K], Yte:double(), {lambda = lam, steps = o.patch_steps})
      end)
      row_a(K, "GD", lam, X:float(), hist.steps, hist.rel_grad, t)
      if lam ~= o.lambda then shown[#shown + 1] = X:float():narrow(1, 1, 8):clamp(0, 1) end
    end
    local t, X = C.timed(function() return priors[K]:map_patches(Yte, sigma ^ 2) end)
    row_a(K, "EPLL step", nil, X, nil, nil, t)
  end
  print(string.format("%4s %-14s %8s %11s %8s %6s %9s %8s", "K", "estimator", "lambda",
                      "||x0-x||^2", "PSNR dB", "steps", "|g|/|g0|", "seconds"))
  for _, r in ipairs(rows_a) do print(r) end
  print("GD with the seed's lambda = 1 weighs the prior 1/(2 sigma^2) = 52 times more than the")
  print("noise model does, and pulls patches to the modes of q; lambda = 2 sigma^2 gives the MAP")
  print("estimate. The joint mode of a mixture snaps to its sharpest components; EPLL's step picks")
  print("the component by the likelihood of the noisy patch, then takes its posterior mean.")
  local strip = G.stack(shown, 1):reshape(#shown * 8, size * size)
  fig:grid(strip, {panel = 4, rows = #shown, cols = 8, norm = "none",
                   title = "(a) test patches: clean, noisy, then GD denoised " ..
                           "(lambda = 2 sigma^2) by row, K = " .. table.concat(Ks, ", ")})
end
if not o.paper then patches() end

-- ---- (b) the whole image -----------------------------------------------------------------

local H, W = clean.shape[1], clean.shape[2]
print(string.format("\n(b) the held-out photo, %dx%d, noisy PSNR %.2f dB", H, W, noisy_psnr))
local rows_b, finals, final_caps = {}, {noisy:clamp(0, 1)}, {"noisy"}
local function run(K, method)
  local c = {y = {}, label = string.format("K=%d %s", K, method)}
  curves[#curves + 1] = c
  local cb = function(_, X, hist)
    c.y[#c.y + 1] = hist.psnr[#hist.psnr]
    io.write(string.format("\r  K = %d, %s: iteration %d, %.2f dB, %.1f s ", K, method, #c.y,
                           c.y[#c.y], hist.seconds[#hist.seconds]))
    io.flush()
    draw_live(X, string.format("K = %d, %s: %.2f dB", K, method, c.y[#c.y]))
  end
  local t, X, hist = C.timed(function()
    if method == "EPLL" then
      return D.epll(priors[K], noisy, {sigma = sigma, clean = clean, callback = cb,
                                       remove_mean = o.remove_mean})
    end
    return D.image_gd(priors[K], noisy, {lambda = o.lambda, steps = o.gd_steps, clean = clean,
                                         callback = cb})
  end)
  io.write("\n")
  local psnr = D.psnr(X:clamp(0, 1), clean)
  rows_b[#rows_b + 1] = string.format("%4d %-18s %6d %9.2f %9.2f %9.2f", K, method,
                                      #hist.psnr, psnr, psnr - noisy_psnr, t)
  return X, psnr
end
local epll_psnr = {}
for _, K in ipairs(Ks) do
  if not o.paper then run(K, "GD lambda=" .. o.lambda) end
  local X, psnr = run(K, "EPLL")
  epll_psnr[#epll_psnr + 1] = {K = K, psnr = psnr}
  finals[#finals + 1], final_caps[#final_caps + 1] = X, string.format("EPLL K=%d: %.2f dB", K, psnr)
end
finals[#finals + 1], final_caps[#final_caps + 1] = clean, "clean"
fig:grid(finals, {panel = 3, norm = "none", rows = #finals > 3 and 2 or 1,
                  captions = final_caps, title = "(b) EPLL (half-quadratic splitting) against K"})
draw_live(finals[#finals - 1], "last run")

print(string.format("%4s %-18s %6s %9s %9s %9s", "K", "method", "iters", "PSNR dB", "gain dB",
                    "seconds"))
for _, r in ipairs(rows_b) do print(r) end
print("A mixture gives each patch the covariance of its kind (flat, edge, texture), so it removes")
print("noise along the directions that kind never varies in, where one Gaussian must keep them.")
local last = epll_psnr[#epll_psnr]

-- ---- against classical denoisers ----------------------------------------------------------

-- scikit-image's denoisers on this very noisy image: the fixture's entry for this crop,
-- sigma and seed, when its fingerprint (the noisy image's PSNR and sum) is ours.
local fixture = (debug.getinfo(1, "S").source:match("^@(.-)scripts/[^/]+$") or "") ..
                "tests/fixtures/denoise/skimage_baselines.json"
local function baselines()
  local f = io.open(fixture, "rb")
  if not f then return nil, "no " .. fixture end
  local doc = G.json.decode(f:read("a"), fixture)
  f:close()
  for _, e in ipairs(doc.entries) do
    if e.crop == o.crop and math.abs(e.sigma - sigma) < 1e-12 and e.seed == o.seed and
       e.shape[1] == H and e.shape[2] == W then
      if math.abs(e.noisy_psnr - noisy_psnr) > 1e-4 or
         math.abs(e.noisy_sum - noisy:double():sum():item()) > 1e-6 * H * W then
        return nil, fixture .. " was made from another noisy image (regenerate it: " ..
                    "/usr/bin/python3 tests/fixtures/denoise/make_baselines.py)"
      end
      return e, doc.skimage
    end
  end
  return nil, string.format("%s has no entry for crop = %d, sigma = %.4g, seed = %d", fixture,
                            o.crop, sigma, o.seed)
end
local base, about = baselines()
local best
if base then
  print(string.format("\n(c) against scikit-image %s on the same noisy image, each tuned on the " ..
                      "clean one", about))
  print(string.format("  %-52s %8s %8s", "denoiser", "PSNR dB", "gain dB"))
  for _, b in ipairs(base.denoisers) do
    print(string.format("  %-52s %8.2f %8.2f", b.name .. " (" .. b.params .. ")", b.psnr,
                        b.psnr - noisy_psnr))
    if not best or b.psnr > best.psnr then best = b end
  end
  print(string.format("  %-52s %8.2f %8.2f   %+.2f dB over the best (%s)",
                      string.format("EPLL, K = %d", last.K), last.psnr, last.psnr - noisy_psnr,
                      last.psnr - best.psnr, best.name))
else
  print("\n(c) no scikit-image baselines: " .. about)
end
if o.paper then                    -- a close-up, where texture and edges show the difference
  local c = math.min(96, H, W)
  local function crop(X) return X:narrow(1, (H - c) // 2 + 1, c):narrow(2, (W - c) // 2 + 1, c) end
  fig:grid({crop(noisy):clamp(0, 1), crop(finals[#finals - 1]):clamp(0, 1), crop(clean)},
           {panel = 4, norm = "none", rows = 1, captions = {"noisy", "EPLL", "clean"},
            title = string.format("the centre %dx%d, enlarged", c, c)})
end
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
C.floor(string.format("EPLL K=%d PSNR gain over the noisy image (dB)", last.K),
        last.psnr - noisy_psnr, ">=", 4,
        string.format("%.2f against %.2f dB", last.psnr, noisy_psnr))
if o.paper then
  C.floor(string.format("EPLL K=%d gain over the best scikit-image denoiser (dB)", last.K),
          best and last.psnr - best.psnr or about, ">=", 0.8,
          best and string.format("%.2f against %s's %.2f dB", last.psnr, best.name, best.psnr))
end
return C.finish{epll = epll_psnr, noisy = noisy_psnr,   -- PSNRs in dB, for the notebook
                classical = best and best.psnr}
