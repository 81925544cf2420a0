-- Seed 004 problem 3: Bayesian linear regression y = beta'x + eps,
-- beta ~ N(0, I), eps ~ N(0, sigma^2), by mean-field VI with
-- q(beta) = prod_j N(mu_j, s_j^2), on generated data.
--   (a) the ELBO without expectations:
--       -n/2 log 2 pi sigma^2 - 1/(2 sigma^2) sum_i [(y_i - mu'x_i)^2 + sum_j x_ij^2 s_j^2]
--       - KL(q || N(0, I)),  KL = 1/2 sum_j (s_j^2 + mu_j^2 - 1 - log s_j^2);
--   (b) gradient ascent on (sigma, mu, s) with the gradients written by hand
--       (checked against autodiff of the same ELBO), step 1 / (the largest
--       curvature of the ELBO at the current point), halved if the ELBO
--       would fall (counted: it is a safeguard);
--   at the optimum: mu equals the exact posterior mean N(Lambda^-1 X'y / sigma^2,
--   Lambda^-1), Lambda = X'X / sigma^2 + I; s_j^2 = 1 / Lambda_jj, below the
--   true marginal variance (Lambda^-1)_jj; KL(q || posterior); sigma by VI against
--   the true sigma and against the maximiser of the exact marginal likelihood
--   y ~ N(0, XX' + sigma^2 I), evaluated through d x d matrices.
--
--   ./genlab scripts/seed004_3_blr.lua          default and --smoke: n = 200, d = 5
--   ./genlab scripts/seed004_3_blr.lua --full   n = 2000, d = 20
local G = require "genlab"
local C = require "common"
local o = C.options({n = 200, d = 5, sigma = 0.5, corr = 0.6, iters = 3000, seed = 2025},
                    {n = 200, d = 5, sigma = 0.5, corr = 0.6, iters = 3000, seed = 2025},
                    {n = 2000, d = 20, sigma = 0.5, corr = 0.6, iters = 6000, seed = 2025},
                    "Seed 004 problem 3: Bayesian linear regression by mean-field VI")
local f64 = {dtype = "float64"}
local gen = G.Generator(o.seed)
local L = G.linalg
local check = C.checks()

-- data: correlated inputs (so the posterior does not factorise), beta from the prior
local n, d = o.n, o.d
local mix = G.eye(d, f64) * (1 - o.corr) + o.corr / d
local X = G.randn(n, d, {dtype = "float64", generator = gen}):matmul(mix * math.sqrt(d))
local beta = G.randn(d, {dtype = "float64", generator = gen})
local y = X:matmul(beta) + G.randn(n, {dtype = "float64", generator = gen}) * o.sigma
local XtX, Xty, c = X:t():matmul(X), X:t():matmul(y), (X * X):sum(1)   -- c_j = sum_i x_ij^2

-- R = sum_i [(y_i - mu'x_i)^2 + sum_j x_ij^2 s_j^2]
local function residual(mu, s) return (y - X:matmul(mu)):pow(2):sum() + (c * s * s):sum() end
local function elbo(sigma, mu, s)
  local kl = ((s * s + mu * mu - 1) - (s * s):log()):sum() * 0.5
  return -n / 2 * math.log(2 * math.pi) - n * sigma:log() - residual(mu, s) / (sigma * sigma * 2) - kl
end
local function elbo_value(sigma, mu, s) return elbo(G.tensor(sigma, f64), mu, s):item() end

-- (b) the gradients by hand
local function gradients(sigma, mu, s)
  local R = residual(mu, s):item()
  local g_sigma = -n / sigma + R / sigma ^ 3
  local g_mu = (Xty - XtX:matmul(mu)) / sigma ^ 2 - mu
  local g_s = -(c / sigma ^ 2) * s - s + 1 / s
  return g_sigma, g_mu, g_s, R
end

-- against autodiff, at a random point
local sig0, mu0, s0 = 0.8, G.randn(d, {dtype = "float64", generator = gen}), G.rand(d, {dtype = "float64", generator = gen}) + 0.2
local sv, mv, ssv = G.tensor(sig0, f64):requires_grad_(), mu0:clone():requires_grad_(), s0:clone():requires_grad_()
elbo(sv, mv, ssv):backward()
local hs, hm, hss = gradients(sig0, mu0, s0)
local scale = math.max(math.abs(hs), hm:abs():max():item(), hss:abs():max():item())
local diff = math.max(math.abs(sv.grad:item() - hs), (mv.grad - hm):abs():max():item(), (ssv.grad - hss):abs():max():item())
check("(b) |hand gradients - autodiff| / their largest entry", diff / scale, 0, 1e-10)

-- largest curvature of the ELBO at (sigma, mu, s): the Hessian's diagonal blocks
local lmax_XtX = L.eigvalsh(XtX):max():item()
local function curvature(sigma, s, R)
  local k_mu = lmax_XtX / sigma ^ 2 + 1
  local k_s = ((c / sigma ^ 2) + 1 + 1 / (s * s)):max():item()
  local k_sigma = math.abs(n / sigma ^ 2 - 3 * R / sigma ^ 4)
  return math.max(k_mu, k_s, k_sigma)
end

local sigma, mu, s = 1.0, G.zeros(d, f64), G.ones(d, f64)
local e = elbo_value(sigma, mu, s)
local history, halvings, fall, iters = {e}, 0, 0, 0
for t = 1, o.iters do
  local gs, gm, gss, R = gradients(sigma, mu, s)
  if math.max(math.abs(gs), gm:abs():max():item(), gss:abs():max():item()) < 1e-10 then break end
  local eta0 = 1 / curvature(sigma, s, R)
  local eta, ns, nm, nss, ne = eta0
  repeat
    ns, nm, nss = sigma + eta * gs, mu + gm * eta, s + gss * eta
    ne = (ns > 0 and nss:min():item() > 0) and elbo_value(ns, nm, nss) or -math.huge
    if ne < e then eta, halvings = eta / 2, halvings + 1 end
  until ne >= e or eta < 1e-6 * eta0
  if ne < e then break end                       -- no ascent left at rounding level: converged
  fall = math.min(fall, ne - e)
  sigma, mu, s, e, iters = ns, nm, nss, ne, t
  history[#history + 1] = e
  if t % 200 == 0 or t <= 3 then print(string.format("    iteration %5d  ELBO %.10f  sigma %.8f", t, e, sigma)) end
end
print(string.format("    %d iterations, ELBO %.10f; step halvings (the safeguard): %d", iters, e, halvings))
check("(b) smallest ELBO change per iteration (must be >= 0)", math.min(fall, 0), 0, 0)
local gs, gm, gss, R = gradients(sigma, mu, s)
-- converged: the next step, |gradient| / curvature, moves no parameter by more than 1e-8
local left = math.max(math.abs(gs), gm:abs():max():item(), gss:abs():max():item()) / curvature(sigma, s, R)
check("(b) the step left at the end, |gradient| / curvature", left, 0, 1e-8)
check("    VI's sigma^2 / its stationarity R / n - 1", sigma ^ 2 / (R / n) - 1, 0, 1e-7)

-- the exact posterior at VI's sigma
local Lam = XtX / sigma ^ 2 + G.eye(d, f64)
local Lc = L.cholesky(Lam)
local m_exact = L.cholesky_solve((Xty / sigma ^ 2):reshape(d, 1), Lc):reshape(d)
local cov_exact = L.cholesky_solve(G.eye(d, f64), Lc)
local var_exact, lam_diag = cov_exact:diagonal(), Lam:diagonal()
check("mean field: |mu - exact posterior mean| (at convergence)", (mu - m_exact):abs():max():item(), 0, 1e-7)
check("mean field: |s_j^2 - 1 / Lambda_jj|", (s * s - 1 / lam_diag):abs():max():item(), 0, 1e-8)
local below = (s * s - var_exact):max():item()
check("mean field: max_j (s_j^2 - (Lambda^-1)_jj), must be < 0", math.min(below, 0), below, 0)
print(string.format("\n%4s %12s %12s %12s %12s", "j", "mu_j", "exact mean", "s_j^2", "exact var"))
local mt, et, st, vt = mu:totable(), m_exact:totable(), (s * s):totable(), var_exact:totable()
for j = 1, d do print(string.format("%4d %12.6f %12.6f %12.4e %12.4e", j, mt[j], et[j], st[j], vt[j])) end
-- KL(q || N(m, Lambda^-1)) = 1/2 [tr(Lambda S) + (mu-m)'Lambda(mu-m) - d - log det Lambda - log det S]
local _, logdet_lam = L.slogdet(Lam)
local dm = (mu - m_exact):reshape(d, 1)
local kl = 0.5 * ((lam_diag * s * s):sum():item() + (dm:t():matmul(Lam):matmul(dm)):item() - d
                  - logdet_lam:item() - (s * s):log():sum():item())
print(string.format("KL(q || exact posterior) = %.6f nats: the price of ignoring the posterior's correlations", kl))

-- sigma by the exact marginal likelihood log N(y; 0, XX' + sigma^2 I), through d x d matrices
-- (Woodbury and the determinant lemma, with Lambda = I + X'X / sigma^2), golden section in log sigma
local yty = (y * y):sum():item()
local function log_marginal(sg)
  local Lm = L.cholesky(XtX / sg ^ 2 + G.eye(d, f64))
  local a = L.solve_triangular(Lm, Xty:reshape(d, 1)) / sg ^ 2
  local quad = yty / sg ^ 2 - (a * a):sum():item()
  return -0.5 * quad - Lm:diagonal():log():sum():item() - n * math.log(sg) - n / 2 * math.log(2 * math.pi)
end
local lo, hi, gr = math.log(0.05), math.log(5), (math.sqrt(5) - 1) / 2
for _ = 1, 80 do
  local a, b = hi - gr * (hi - lo), lo + gr * (hi - lo)
  if log_marginal(math.exp(a)) > log_marginal(math.exp(b)) then hi = b else lo = a end
end
local sigma_ml = math.exp((lo + hi) / 2)
print(string.format("sigma: true %.4f, by VI %.6f, by the exact marginal likelihood %.6f", o.sigma, sigma, sigma_ml))
check("sigma by VI within 20% of the true sigma", sigma, o.sigma, 0.2 * o.sigma)
check("sigma by VI against the marginal-likelihood maximiser (within 10%)", sigma, sigma_ml, 0.1 * sigma_ml)

local fig = G.viz.figure{title = "Seed 004 problem 3: Bayesian linear regression by MFVI", cols = 2,
                         width = 1200, height = 480, name = "blr"}
local its, gap = {}, {}
for t = 1, #history do its[t], gap[t] = t - 1, math.max(history[#history] - history[t], 1e-16) end
fig:line({x = G.tensor(its, f64), y = G.tensor(gap, f64):log() / math.log(10), label = "log10(ELBO* - ELBO)"},
         {panel = 1, title = "gradient ascent: the ELBO climbs", xlabel = "iteration", ylabel = "log10 nats"})
local js = G.arange(1, d + 1, f64)
fig:line({{x = js, y = (s * s):log() / math.log(10), label = "MFVI s_j^2"},
          {x = js, y = var_exact:log() / math.log(10), label = "exact marginal variance"}},
         {panel = 2, title = "mean field underestimates the posterior variance", xlabel = "j", ylabel = "log10 variance"})
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
check.done()
