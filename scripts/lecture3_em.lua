-- Lecture 3: EM for a Gaussian mixture, watched.  2-D points from a known
-- mixture; EM starts from random responsibilities, and each iteration
-- redraws the components' 2-sigma ellipses, the points coloured by their
-- responsibilities, and the log-likelihood, which never decreases.  Beside
-- it, k-means (the lecture's "idea #1": hard assignments) on the same
-- points, and samples from the fitted mixture.
--
--   ./genlab scripts/lecture3_em.lua             600 points, 3 components
--   ./genlab scripts/lecture3_em.lua --full      3000 points, 5 components, slower animation
local G = require "genlab"
local C = require "common"
local o = C.options({n = 600, K = 3, iters = 40, delay = 0.15, seed = 3},
                    {n = 600, K = 3, iters = 40, delay = 0.15, seed = 3},
                    {n = 3000, K = 5, iters = 100, delay = 0.3, seed = 3},
                    "Lecture 3: EM and k-means on 2-D mixture data, animated")
if G.viz.headless() then o.delay = 0 end
local gen = G.Generator(o.seed)

-- the true mixture: centres on a circle, random covariances, unequal weights
local Kt = o.K
local means, covs, w = {}, {}, {}
for k = 1, Kt do
  local a = 2 * math.pi * k / Kt
  means[k] = {3 * math.cos(a), 3 * math.sin(a)}
  local R = G.randn(2, 2, {dtype = "float64", generator = gen}) * 0.6
  covs[k] = R:matmul(R:t()) + G.eye(2, {dtype = "float64"}) * 0.15
  w[k] = 1 + k / Kt
end
local truth = G.models.GMM(G.tensor(w, {dtype = "float64"}), G.tensor(means, {dtype = "float64"}),
                           G.stack(covs))
local X, z = truth:sample(o.n, {generator = gen})

local palette = G.tensor({{0.12, 0.47, 0.71}, {1.0, 0.5, 0.05}, {0.17, 0.63, 0.17},
                          {0.84, 0.15, 0.16}, {0.58, 0.4, 0.74}, {0.55, 0.34, 0.29}},
                         {dtype = "float64"}):narrow(1, 1, o.K)

local ellipses = C.ellipses

-- points in their colours, then extra points in black of size extra_size
local function with_outline(points, colors, extra, extra_size)
  local n = extra.shape[1]
  local xy = G.cat({points, extra}, 1)
  local col = G.cat({colors, G.zeros(n, 3, {dtype = "float64"})}, 1)
  local sizes = G.cat({G.full({points.shape[1]}, 3), G.full({n}, extra_size)})
  return xy[{{}, 1}], xy[{{}, 2}], col, sizes
end

local fig = G.viz.figure{title = "Lecture 3: EM for a Gaussian mixture", rows = 2, cols = 2,
                         width = 1100, height = 1000, name = "em"}
local function sleep(s) if s > 0 then local t = G.time() + s; while G.time() < t do end end end

-- k-means first (quick), drawn in panel 2
local _, _, kinfo = G.models.kmeans(X, o.K, {seed = o.seed, callback = function(it, centers, labels)
  local x, y, col, sz = with_outline(X, palette:index_select(1, labels), centers, 9)
  fig:scatter(x, y, {panel = 2, colors = col, sizes = sz,
                     title = string.format("k-means, iteration %d (hard assignments)", it)})
  fig:show()
  sleep(o.delay)
end})

-- EM from random responsibilities, every iteration drawn
local ll = {}
local gmm, info = G.models.GMM.fit_em(X, o.K, {init = "random", reg_covar = 0, tol = 1e-9,
  max_iter = o.iters, seed = o.seed,
  callback = function(it, g, l, resp)
    ll[#ll + 1] = l
    local x, y, col, sz = with_outline(X, resp:matmul(palette), ellipses(g), 1.5)
    fig:scatter(x, y, {panel = 1, colors = col, sizes = sz,
                       title = string.format("EM iteration %d: responsibilities, 2-sigma ellipses", it)})
    fig:line({x = G.arange(0, #ll), y = G.tensor(ll), label = "log-likelihood per point"},
             {panel = 3, title = "EM never decreases the log-likelihood", xlabel = "iteration",
              hline = truth:log_prob(X):mean():item(), hline_label = "true mixture"})
    fig:show()
    sleep(o.delay)
  end})

local worst = 0
for i = 2, #info.loglik do worst = math.min(worst, info.loglik[i] - info.loglik[i - 1]) end
local true_ll = truth:log_prob(X):mean():item()
print(string.format("EM: %d iterations, log-likelihood %.4f -> %.4f per point (true mixture %.4f)",
      info.iterations, info.loglik[1], info.loglik[#info.loglik], true_ll))
print(string.format("largest decrease between iterations: %.3g (EM is monotone)", -worst))
print(string.format("k-means: %d iterations, sum of squared distances %.2f -> %.2f", kinfo.iterations,
      kinfo.inertia[1], kinfo.inertia[#kinfo.inertia]))
print("fitted weights:", gmm.weights)

local S, comp = gmm:sample(o.n, {generator = gen})
fig:scatter(S[{{}, 1}], S[{{}, 2}], {panel = 4, colors = palette:index_select(1, comp),
            title = "samples from the fitted mixture (component, then Gaussian)"})
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
C.floor("EM log-likelihood per point, distance to the true mixture's", math.abs(info.loglik[#info.loglik] - true_ll),
        "<=", 0.1, string.format("%.4f against %.4f", info.loglik[#info.loglik], true_ll))
return C.finish{X = X, truth = truth, gmm = gmm, info = info, kmeans = kinfo}   -- for the notebook
