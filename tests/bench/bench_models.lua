-- EM and SGD for the patch GMMs of PS1 1.1, the workloads of
-- ../shared/peers/w4_gmm_em.py (one EM iteration, K = 64, d = 256,
-- N = 100,000, against scikit-learn) and w3_gmm_sgd.py (Adam on the NLL,
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

local function emit(workload, seconds, unit, extra)
  print(string.format('{"workload": "%s", "impl": "genlab", "seconds": %.6g, "unit": "%s"%s}',
                      workload, seconds, unit, extra or ""))
end

-- One EM iteration as GMM.fit_em runs it: E step (log-densities, logsumexp,
-- responsibilities) then M step (weighted means, scatter, Cholesky).
for _, dtype in ipairs{"float64", "float32"} do
  local X = data(dtype)
  local K = 64
  local r = G.rand(N, K, {dtype = dtype, generator = G.Generator(1)})
  r = r / r:sum(2, true)
  local lw, mu, cov = M._mstep(X, r, 1e-6 * N / K)
  local gmm = M.GMM(lw:exp(), mu, cov)
  local t0 = G.time()
  local lp = gmm:log_prob_components(X)
  local lse = lp:logsumexp(2, true)
  local ll = lse:mean():item()
  local resp = (lp - lse):exp()
  local t1 = G.time()
  lw, mu, cov = M._mstep(X, resp, 1e-6 * N / K)
  gmm = M.GMM(lw:exp(), mu, cov)
  local t2 = G.time()
  emit("gmm_em", t2 - t0, "s/iter", string.format(
    ', "K": %d, "dtype": "%s", "e_step_seconds": %.4g, "m_step_seconds": %.4g, "mean_log_lik": %.4f',
    K, dtype, t1 - t0, t2 - t1, ll))
  X, r, lp, resp = nil, nil, nil, nil
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
