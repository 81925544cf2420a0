-- EM and SGD for the patch GMMs of PS1 1.1, the workloads of
-- tests/bench/peers/gmm_em.py (one EM iteration, K = 64, d = 256,
-- N = 100,000, against scikit-learn) and gmm_sgd.py (Adam on the NLL,
-- batch 512, K = 16 and 64, against PyTorch), on the same synthetic data.
-- One JSON line per measurement; run.sh sets them beside the peers' lines.
local G = require "genlab"
local M = G.models
local QUICK = os.getenv("BENCH_QUICK") == "1"

local N, D = 100000, 256

local function data(dtype)
  local g = G.Generator(0)
  local C = G.randn(D, D, {generator = g, dtype = dtype}) / math.sqrt(D)
  return G.randn(N, D, {generator = g, dtype = dtype}):matmul(C:t())
         + G.randn(D, {generator = g, dtype = dtype})
end

local bench = dofile("tests/bench/common.lua")
local emit = bench.emit

-- One EM iteration as GMM.fit_em runs it: E step (log-densities turned into
-- responsibilities block by block) then M step (weighted means, scatter,
-- Cholesky).  As
-- the peer: the points come from K clusters (centres 2 randn, one shared
-- covariance C C^T), and the mixture starts from a short fit on 4000 of them.
local function clusters(K, dtype)
  local g = G.Generator(0)
  local centres = G.randn(K, D, {generator = g, dtype = dtype}) * 2
  local C = G.randn(D, D, {generator = g, dtype = dtype}) / math.sqrt(D)
  local lab = G.randint(1, K + 1, N, {generator = g})
  return G.randn(N, D, {generator = g, dtype = dtype}):matmul(C:t()) + centres:index_select(1, lab)
end

for _, dtype in ipairs{"float64", "float32"} do
  local K = 64
  local X = clusters(K, dtype)
  -- the start in float64: 4000 points leave 256-dimensional covariances near singular
  local gmm = M.GMM.fit_em(X:narrow(1, 1, 4000):double(), K, {init = "random", max_iter = 1, reg_covar = 1e-6,
                                                              seed = 0}):to(dtype)
  local t0 = G.time()
  local resp, ll = M._estep(X, gmm.log_weights, gmm.means, gmm.chol)
  local t1 = G.time()
  local lw, mu, cov = M._mstep(X, resp, 1e-6 * N / K)
  gmm = M.GMM(lw:exp(), mu, cov)
  local t2 = G.time()
  emit("gmm_em", t2 - t0, "s/iter", string.format(
    ', "K": %d, "dtype": "%s", "e_step_seconds": %.4g, "m_step_seconds": %.4g, "mean_log_lik": %.4f, "resp_zero": %.3f',
    K, dtype, t1 - t0, t2 - t1, ll, resp:eq(0):double():mean():item()))
  X, resp = nil, nil
  collectgarbage()
end

-- Adam steps on minibatches of 512, timed after two warm-up steps and
-- scaled to one epoch, as the peer does.
local X = data("float32")
for _, spec in ipairs{{16, QUICK and 6 or 20}, {64, QUICK and 3 or 8}} do
  local K, batches = spec[1], spec[2]
  local m = M.GMMDensity(K, D, {data = X, seed = K})
  local opt = G.optim.Adam(m:parameters(), {lr = 1e-3})
  local function step(i)
    local s = ((i - 1) * 512) % (N - 512 + 1)
    local loss = -m(X:narrow(1, s + 1, 512)):mean()
    opt:zero_grad()
    loss:backward()
    opt:step()
    return loss:item()
  end
  step(1); step(2)
  local t0, last = G.time(), nil
  for i = 1, batches do last = step(2 + i) end
  local per_batch = (G.time() - t0) / batches
  emit("gmm_sgd", per_batch * N / 512, "s/epoch",
       string.format(', "K": %d, "dtype": "float32", "last_loss": %.4f', K, last))
end

-- EPLL on a 256x256 crop of the held-out photo with K = 64 and the seed's
-- 16x16 patches, float32, as tests/bench/peers/epll_gd.py (random valid
-- mixture: Sigma_k = A A^T / d + 0.01 I): seconds per half-quadratic
-- splitting iteration, its FLOPs and their share of the sgemm peak measured
-- here; seconds per gradient step on the seed's loss (the peer's workload);
-- and a whole denoise with the EPLL paper's 8x8 patches.
local best_of = bench.best

local A, B = G.randn(2048, 2048, {generator = G.Generator(3)}), G.randn(2048, 2048, {generator = G.Generator(4)})
A:matmul(B)
local peak = 2 * 2048 ^ 3 / best_of(3, function() A:matmul(B) end) / 1e9
emit("sgemm_peak", 2 * 2048 ^ 3 / (peak * 1e9), "s", string.format(', "gflops": %.1f', peak))

local function random_gmm(K, d, seed)
  local g = G.Generator(seed)
  local Am = G.randn(K, d, d, {generator = g})
  local covs = Am:matmul(Am:transpose(2, 3)) / d + G.eye(d) * 0.01
  return M.GMM(G.randn(K, {generator = g}):softmax(1), G.randn(K, d, {generator = g}) * 0.1 + 0.5, covs)
end
local Dn = G.denoise
local clean = G.data.photos{split = "holdout", downscale = 2}[1]:narrow(1, 77, 256):narrow(2, 129, 256):contiguous()
local sigma = 25 / 255
local noisy = Dn.add_noise(clean, sigma, {seed = 0})
local K, d = 64, 256
local gmm = random_gmm(K, d, 5)
local np = 241 * 241
local hqs = best_of(QUICK and 1 or 2, function() Dn.epll(gmm, noisy, {sigma = sigma, betas = {1}}) end)
-- E step: one trmm (d^2 flops a patch) per component; Wiener step: two trmm for the
-- chosen component; the noisy model's Cholesky factors and their inverses
local gflop = (K * np * d * d + 2 * np * d * d + K * d ^ 3) / 1e9
emit("epll_hqs", hqs, "s/iter", string.format(
  ', "K": %d, "patches": %d, "d": %d, "gflop": %.1f, "gflops": %.1f, "sgemm_peak_fraction": %.2f',
  K, np, d, gflop, gflop / hqs, gflop / hqs / peak))
local steps = QUICK and 1 or 3
local _, hist
local gd = best_of(1, function()
  _, hist = Dn.image_gd(gmm, noisy, {steps = steps, method = "plain"})
end) / hist.evals
emit("epll_gd", gd, "s/step", string.format(', "K": %d, "dtype": "float32", "gflops": %.1f', K,
                                             K * np * d * d / gd / 1e9))
local gmm8 = random_gmm(K, 64, 6)
local t8 = best_of(QUICK and 1 or 2, function() Dn.epll(gmm8, noisy, {sigma = sigma}) end)
emit("epll_denoise_8x8", t8, "s", string.format(', "K": %d, "iterations": 5', K))
