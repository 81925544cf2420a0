-- PS1 1.1(e-g): Gaussian mixtures of image patches, pi = softmax(w) and
-- Sigma_k = A_k A_k^T + 1e-4 I, trained by SGD (Adam) over all K components
-- at once, for several K: the test NLL against K and 10x10 sample grids per
-- K, drawn live as each model finishes.  Each model is saved for the
-- denoising exercise (out/models/gmm_K<K>.ckpt).
--
--   ./genlab scripts/ps1_1efg_gmm.lua                 default and --smoke: K = 1, 4, 16 on 10,000 patches
--   ./genlab scripts/ps1_1efg_gmm.lua --full          K = 1, 4, 16, 32, 64 on 100,000 patches
--   ./genlab scripts/ps1_1efg_gmm.lua --method=em     the same mixtures fitted by EM instead
local G = require "genlab"
local C = require "common"
local o = C.options(
  {Ks = "1,4,16", n_train = 10000, n_test = 5000, epochs = 4, batch = 512, lr = 1e-3,
   lr_end = 1e-4, method = "sgd", seed = 0},
  {Ks = "1,4,16", n_train = 10000, n_test = 5000, epochs = 4, batch = 512, lr = 1e-3,
   lr_end = 1e-4, method = "sgd", seed = 0},
  {Ks = "1,4,16,32,64", n_train = 100000, n_test = 20000, epochs = 20, batch = 512, lr = 1e-3,
   lr_end = 1e-5, method = "sgd", seed = 0},
  "PS1 1.1e-g: GMMs of image patches for several K, by SGD (or --method=em)",
  {method = {"sgd", "em"}})

local Ks = {}
for k in tostring(o.Ks):gmatch("%d+") do Ks[#Ks + 1] = tonumber(k) end
local Xtr, Xte = C.patch_sets(o.n_train, o.n_test, 16, o.seed)
local d = Xtr.shape[2]
local gauss = G.models.Gaussian.fit(Xtr:double())
local ref = gauss:nll(Xte:double())
print(string.format("closed-form Gaussian: test NLL %.2f nats per patch (%.3f bits/pixel)", ref,
                    C.bits_per_pixel(ref, d)))

local fig = G.viz.figure{title = "PS1 1.1e-g: GMMs of 16x16 patches (" .. o.method .. ")",
                         rows = 2, cols = math.ceil((#Ks + 1) / 2), width = 1300, height = 1000,
                         name = "gmm_" .. o.method}
local xs, test_nll = {}, {}
local function draw_curve()
  fig:line({x = G.tensor(xs), y = G.tensor(test_nll), label = "GMM test NLL"},
           {panel = 1, title = "test NLL against K", xlabel = "K", ylabel = "nats / patch",
            hline = ref, hline_label = "Gaussian, closed form"})
end

-- This K's samples and its train NLL so far, redrawn every epoch: the
-- window shows the mixture learning, not only each K's end state.
local function draw_progress(panel, K, gmm, train_nll, epoch)
  fig:grid(gmm:sample(100, {generator = G.Generator(o.seed)}),
           {panel = panel, norm = "none", title = string.format("K = %d samples, epoch %d", K, epoch)})
  local curves = {{x = G.tensor(xs), y = G.tensor(test_nll), label = "GMM test NLL"}}
  if #xs == 0 then curves = {} end
  curves[#curves + 1] = {y = G.tensor(train_nll), label = string.format("K = %d train NLL by epoch", K),
                         dashed = true}
  fig:line(curves, {panel = 1, title = "test NLL against K (dashed: this K by epoch)", xlabel = "K, or epoch",
                    ylabel = "nats / patch", hline = ref, hline_label = "Gaussian, closed form"})
  fig:show()
end

local function train(K, panel)
  if o.method == "em" then
    return G.models.GMM.fit_em(Xtr, K, {reg_covar = 1e-4, seed = o.seed, verbose = true,
                                        max_iter = o.full and 100 or 30})
  end
  local m = G.models.GMMDensity(K, d, {data = Xtr, init = "covariance", seed = o.seed + K})
  m:fit(Xtr, {epochs = o.epochs, batch_size = o.batch, lr = o.lr, lr_end = o.lr_end,
              seed = o.seed, on_step = function(i) if i % 20 == 0 then fig:show() end end,
              on_epoch = function(ep, hist) draw_progress(panel, K, m:to_gmm(), hist.train, ep) end})
  return m:to_gmm()
end

local rows = {}
for i, K in ipairs(Ks) do
  print(string.format("-- K = %d", K))
  local t, gmm = C.timed(function() return train(K, i + 1) end)
  local tr, te = gmm:nll(Xtr), gmm:nll(Xte)
  rows[#rows + 1] = string.format("%4d %10.2f %10.2f %12.3f %8.1f", K, tr, te,
                                  C.bits_per_pixel(te, d), t)
  xs[#xs + 1], test_nll[#test_nll + 1] = K, te
  C.save_model(o, "gmm_K" .. K, function(path) gmm:save(path) end)
  draw_curve()
  fig:grid(gmm:sample(100, {generator = G.Generator(o.seed)}),
           {panel = i + 1, norm = "none", title = string.format("K = %d samples", K)})
  fig:show()
end

print(string.format("\n%4s %10s %10s %12s %8s", "K", "train NLL", "test NLL", "bits/pixel", "seconds"))
print(string.format("%4s %10.2f %10.2f %12.3f", "G", gauss:nll(Xtr:double()), ref,
                    C.bits_per_pixel(ref, d)))
for _, r in ipairs(rows) do print(r) end
print("(f) a mixture models flat patches, edges and textures with separate covariances, so its")
print("    test NLL falls below the single Gaussian's, which must cover them all with one.")
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
local best = nil
for i, K in ipairs(xs) do if K > 1 and (not best or test_nll[i] < test_nll[best]) then best = i end end
if best then
  C.floor(string.format("GMM K=%d test NLL below the Gaussian's (nats per patch)", xs[best]), ref - test_nll[best], ">=", 50,
          string.format("%.2f against %.2f", test_nll[best], ref))
end
return C.finish{K = xs, test_nll = test_nll, gaussian = ref}     -- for the notebook
