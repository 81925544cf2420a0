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
--   ./genlab scripts/ps1_2_denoise.lua                 default and --smoke: 8x8 patches, a 128x128 crop
--   ./genlab scripts/ps1_2_denoise.lua --full          16x16 as the seed, the whole photo
--   ./genlab scripts/ps1_2_denoise.lua --size=8 --full 8x8 (the paper's size), the whole photo
local G = require "genlab"
local C = require "common"
local D = G.denoise
local o = C.options(
  {Ks = "1,64", size = 8, crop = 128, sigma = 25 / 255, lambda = 1.0, n_train = 20000,
   n_test = 300, em_iter = 15, patch_steps = 200, gd_steps = 30, seed = 0},
  {Ks = "1,64", size = 8, crop = 128, sigma = 25 / 255, lambda = 1.0, n_train = 20000,
   n_test = 300, em_iter = 15, patch_steps = 200, gd_steps = 30, seed = 0},
  {Ks = "1,64", size = 16, crop = 0, sigma = 25 / 255, lambda = 1.0, n_train = 100000,
   n_test = 2000, em_iter = 50, patch_steps = 100, gd_steps = 20, seed = 0},
  "PS1 1.2: patch and whole-image denoising with the GMM prior (gradient descent and EPLL)")

local Ks = {}
for k in tostring(o.Ks):gmatch("%d+") do Ks[#Ks + 1] = tonumber(k) end
local size, sigma = o.size, o.sigma
local Xtr, Xte = C.patch_sets(o.n_train, o.n_test, size, o.seed)

local priors = {}
for _, K in ipairs(Ks) do priors[K] = C.patch_prior(K, size, Xtr, o):to("float32") end

local clean = C.holdout_photo(o.crop)
local noisy = D.add_noise(clean, sigma, {seed = o.seed})

local fig = G.viz.figure{title = string.format("PS1 1.2: denoising with GMM priors (%dx%d patches, sigma = 25/255)",
                                              size, size), rows = 2, cols = 2, width = 1400,
                         height = 1050, name = "denoise"}
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
                      ylabel = "dB", hline = D.psnr(noisy, clean), hline_label = "noisy"})
  end
  fig:show()
end

-- ---- (a) patches ----------------------------------------------------------------------

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
                 title = "(a) test patches: clean, noisy, then GD " ..
                   "denoised (lambda = 2 sigma^2) by row, K = " ..
                         table.concat(Ks, ", ")})

-- ---- (b) the whole image -----------------------------------------------------------------

local H, W = clean.shape[1], clean.shape[2]
print(string.format("\n(b) the held-out photo, %dx%d, noisy PSNR %.2f dB", H, W,
                    D.psnr(noisy, clean)))
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
      return D.epll(priors[K], noisy, {sigma = sigma, clean = clean, callback = cb})
    end
    return D.image_gd(priors[K], noisy, {lambda = o.lambda, steps = o.gd_steps, clean = clean,
                                         callback = cb})
  end)
  io.write("\n")
  local psnr = D.psnr(X:clamp(0, 1), clean)
  rows_b[#rows_b + 1] = string.format("%4d %-18s %6d %9.2f %9.2f %9.2f", K, method,
                                      #hist.psnr, psnr, psnr - D.psnr(noisy, clean), t)
  return X, psnr
end
local epll_psnr = {}
for _, K in ipairs(Ks) do
  run(K, "GD lambda=" .. o.lambda)
  local X, psnr = run(K, "EPLL")
  epll_psnr[#epll_psnr + 1] = {K = K, psnr = psnr}
  finals[#finals + 1], final_caps[#final_caps + 1] = X, string.format("EPLL K=%d: %.2f dB", K, psnr)
end
finals[#finals + 1], final_caps[#final_caps + 1] = clean, "clean"
fig:grid(finals, {panel = 3, norm = "none", rows = 2, captions = final_caps,
                  title = "(b) EPLL (half-quadratic splitting) against K"})
draw_live(finals[#finals - 1], "last run")

print(string.format("%4s %-18s %6s %9s %9s %9s", "K", "method", "iters", "PSNR dB", "gain dB",
                    "seconds"))
for _, r in ipairs(rows_b) do print(r) end
print("A mixture gives each patch the covariance of its kind (flat, edge, texture), so it removes")
print("noise along the directions that kind never varies in, where one Gaussian must keep them.")
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
local last = epll_psnr[#epll_psnr]
C.floor(string.format("EPLL K=%d PSNR gain over the noisy image (dB)", last.K), last.psnr - D.psnr(noisy, clean), ">=", 4,
        string.format("%.2f against %.2f dB", last.psnr, D.psnr(noisy, clean)))
return C.finish{epll = epll_psnr, noisy = D.psnr(noisy, clean)}   -- PSNRs in dB, for the notebook
