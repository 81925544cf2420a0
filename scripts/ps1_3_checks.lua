-- PS1 1.3: the probability derivations, checked with numbers.
--   (a) the MLE of a Gaussian with diagonal covariance is the per-dimension
--       variance: autodiff's gradient vanishes there, and Adam, started
--       elsewhere, arrives there;
--   (b) the mean of a 1-D mixture is sum_i pi_i mu_i: against a million samples;
--   (c) whitening z = Sigma^-1/2 (x - mu) gives N(0, I): the change-of-variables
--       density, and the covariance of whitened samples;
--   (d) D_KL(N(0, 1) || N(mu, sigma)) = log sigma + (1 + mu^2) / (2 sigma^2) - 1/2:
--       against numerical integration (Simpson's rule).
-- Each check prints the value, its reference, the tolerance and ok / FAIL; the
-- script fails (exit status 1) if any does.
--
--   ./genlab scripts/ps1_3_checks.lua          default and --smoke: 8x8 patches, 200,000 samples
--   ./genlab scripts/ps1_3_checks.lua --full   16x16 patches, 2,000,000 samples
local G = require "genlab"
local C = require "common"
local o = C.options({size = 8, n_patches = 5000, samples = 200000, adam_steps = 600, seed = 0},
                    {size = 8, n_patches = 5000, samples = 200000, adam_steps = 600, seed = 0},
                    {size = 16, n_patches = 50000, samples = 2000000, adam_steps = 3000, seed = 0},
                    "PS1 1.3: numeric checks of the probability derivations")
local f64 = {dtype = "float64"}
local check = C.checks()

local fig = G.viz.figure{title = "PS1 1.3: the derivations, numerically", rows = 2, cols = 2,
                         width = 1200, height = 900, name = "checks"}

-- (a) diagonal Gaussian MLE ------------------------------------------------------------
local X = C.patch_sets(o.n_patches, 1, o.size, o.seed):double()
local N, d = X.shape[1], X.shape[2]
local mean, var = X:mean(1), X:var(1, false)             -- the closed form (divided by N)
local function nll(m, logs)                              -- mean NLL, sigma_j = exp(logs_j)
  local z = (X - m) / logs:exp()
  return (z:pow(2):sum(2) * 0.5):mean() + logs:sum() + 0.5 * d * math.log(2 * math.pi)
end
local m, s = mean:clone():requires_grad_(), (var:log() * 0.5):requires_grad_()
nll(m, s):backward()
local gmax = math.max(m.grad:abs():max():item(), s.grad:abs():max():item())
check("(a) |grad NLL| at mean, per-dimension variance", gmax, 0, 1e-9)
m, s = G.zeros(d, f64):requires_grad_(), G.zeros(d, f64):requires_grad_()
local opt = G.optim.Adam({m, s}, {lr = 0.02})
for step = 1, o.adam_steps do
  opt:zero_grad()
  nll(m, s):backward()
  opt:step()
  if step % 200 == 0 then print(string.format("    Adam step %d", step)) end
end
local var_adam = (s:detach() * 2):exp()
check("(a) Adam's sigma_j^2 / per-dimension variance - 1", (var_adam / var - 1):abs():max():item(),
      0, 1e-3)
fig:scatter(var:log(), var_adam:log(), {panel = 1, title = "(a) diagonal MLE: Adam against the closed form",
                                        xlabel = "log per-dimension variance", ylabel = "log sigma_j^2 by Adam"})

-- (b) mean of a 1-D mixture ----------------------------------------------------------------
local pi, mu, sd = G.tensor({0.2, 0.5, 0.3}, f64), G.tensor({-2, 0.5, 3}, f64), G.tensor({0.5, 1, 0.7}, f64)
local gmm1 = G.models.GMM(pi, mu:reshape(3, 1), sd:pow(2):reshape(3, 1, 1))
local xs = gmm1:sample(o.samples, {generator = G.Generator(o.seed)}):squeeze(2)
local m_closed = (pi * mu):sum():item()
local var_mix = (pi * (sd:pow(2) + mu:pow(2))):sum():item() - m_closed ^ 2
check("(b) sample mean of the mixture (tol 4 standard errors)", xs:mean():item(), m_closed,
      4 * math.sqrt(var_mix / o.samples))
local grid = G.linspace(-5, 6, 221, f64)
local pdf = gmm1:log_prob(grid:reshape(221, 1)):exp()
local nb, width = 110, 0.1                                -- a histogram over [-5, 6)
local bins = ((xs + 5) / width):floor():clamp(0, nb)      -- bin nb collects what falls outside
local counts = G.zeros(nb + 1, f64):scatter_add_(1, bins + 1, G.ones_like(xs))
local centres = G.arange(nb, f64) * width + (width / 2 - 5)
fig:line({{x = centres, y = counts:narrow(1, 1, nb) / (o.samples * width), label = "histogram of samples"},
          {x = grid, y = pdf, label = "mixture density"},
          {x = G.tensor({m_closed, m_closed}), y = G.tensor({0, pdf:max():item()}),
           label = string.format("sum pi_i mu_i = %.2f", m_closed)}},
         {panel = 2, title = "(b) a 1-D mixture and its mean", xlabel = "x", ylabel = "density"})

-- (c) whitening -------------------------------------------------------------------------------
local g = G.models.Gaussian.fit(X)
local w, V = G.linalg.eigh(g.cov)
local W = (V / w:sqrt()):matmul(V:t())                    -- Sigma^-1/2, symmetric
local Xs = g:sample(o.samples // 10, {generator = G.Generator(o.seed + 1)})
local Z = (Xs - g.mean):matmul(W)
-- change of variables: p_Z(z) = p_X(x) |det dx/dz| = p_X(x) det(Sigma)^1/2
local lz = G.models.Gaussian(G.zeros(d, f64), G.eye(d, f64)):log_prob(Z:narrow(1, 1, 100))
local lx = g:log_prob(Xs:narrow(1, 1, 100)) + w:log():sum():item() / 2
check("(c) log N(z; 0, I) - log N(x; mu, Sigma) - log det Sigma^1/2", (lz - lx):abs():max():item(), 0, 1e-8)
local n = Z.shape[1]
local covZ = Z:t():matmul(Z) / n
check("(c) |Cov(z) - I| over entries (tol 5 standard errors)", (covZ - G.eye(d, f64)):abs():max():item(),
      0, 5 * math.sqrt(2 / n))
fig:heatmap(covZ, {panel = 3, signed = true, title = "(c) covariance of whitened samples: I"})

-- (d) KL divergence ------------------------------------------------------------------------------
local function kl_closed(m_, s_) return math.log(s_) + (1 + m_ ^ 2) / (2 * s_ ^ 2) - 0.5 end
-- Simpson's rule over [-14, 14] with 20,001 points: weights h/3 (1, 4, 2, 4, ..., 4, 1)
local t = G.linspace(-14, 14, 20001, f64)
local wts = {}
for i = 1, 20001 do wts[i] = (i == 1 or i == 20001) and 1 or (i % 2 == 0 and 4 or 2) end
local simpson = G.tensor(wts, f64) * (28 / 20000 / 3)
local logp = t:pow(2) * -0.5 - 0.5 * math.log(2 * math.pi)
local function kl_numeric(m_, s_)
  local logq = ((t - m_) / s_):pow(2) * -0.5 - math.log(s_) - 0.5 * math.log(2 * math.pi)
  return (logp:exp() * (logp - logq) * simpson):sum():item()
end
local worst = 0
for _, ms in ipairs{{0, 1}, {1, 1}, {-0.5, 2}, {2, 0.7}, {0.3, 1.5}} do
  worst = math.max(worst, math.abs(kl_closed(ms[1], ms[2]) - kl_numeric(ms[1], ms[2])))
end
check("(d) max |KL closed form - Simpson| over 5 (mu, sigma)", worst, 0, 1e-9)
local series = {}
for _, s_ in ipairs{0.5, 1, 2} do
  local mus, closed, numeric = {}, {}, {}
  for i = 1, 21 do
    mus[i] = -2 + (i - 1) * 0.2
    closed[i], numeric[i] = kl_closed(mus[i], s_), kl_numeric(mus[i], s_)
  end
  series[#series + 1] = {x = G.tensor(mus), y = G.tensor(closed), label = "closed form, sigma = " .. s_}
  series[#series + 1] = {x = G.tensor(mus), y = G.tensor(numeric), label = "Simpson, sigma = " .. s_}
end
fig:line(series, {panel = 4, title = "(d) KL(N(0,1) || N(mu, sigma))", xlabel = "mu", ylabel = "nats"})

print("figure: " .. (G.viz.headless() and fig:save() or "window"))
check.done()                                              -- raises (exit status 1) if any failed
