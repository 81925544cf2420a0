-- Seed 004 problem 2: two estimators of grad_mu E_{z ~ N(mu, I)}[f(z)],
-- f(z) = |z|^2 / 2, whose true value is mu.
--   reparameterisation  z = mu + eps, g = grad_z f(z) = z
--   REINFORCE           g = f(z) (z - mu)   (the score of N(mu, I) is z - mu)
--   REINFORCE, baseline g = (f(z) - b)(z - mu), b = E f = (|mu|^2 + d) / 2
-- For d = 1, 2, 4, ..., L single-sample estimates each (one (L, d) tensor
-- per d): the empirical mean against mu and the total variance against the
-- closed forms, with m = |mu|^2,
--   reparameterisation  d
--   REINFORCE           (m^2 d + 4m(d + 2) + d(d + 2)(d + 4) + 2m d(d + 2)) / 4 - m
--                       (d(d + 2)(d + 4) / 4 at mu = 0: Omega(d^3))
--   with the baseline   m(d + 2) + d(d + 4) / 2 - m
-- from E|eps|^2 = d, E|eps|^4 = d(d + 2), E|eps|^6 = d(d + 2)(d + 4) and
-- E[(mu'eps)^2 |eps|^2] = m(d + 2).  Then (c): the interchange of gradient and
-- expectation, which holds here and fails for a step function.
--
--   ./genlab scripts/seed004_2_estimators.lua          default and --smoke: d up to 256, L = 20,000
--   ./genlab scripts/seed004_2_estimators.lua --full   d up to 1024, L = 100,000
local G = require "genlab"
local C = require "common"
local o = C.options({max_d = 256, L = 20000, seed = 2025},
                    {max_d = 256, L = 20000, seed = 2025},
                    {max_d = 1024, L = 100000, seed = 2025},
                    "Seed 004 problem 2: reparameterisation against REINFORCE")
local f64 = {dtype = "float64"}
local gen = G.Generator(o.seed)
local check = C.checks()

local function closed_forms(d, m)
  return {reparam = d,
          reinforce = (m * m * d + 4 * m * (d + 2) + d * (d + 2) * (d + 4) + 2 * m * d * (d + 2)) / 4 - m,
          baseline = m * (d + 2) + d * (d + 4) / 2 - m}
end

-- (L, d) single-sample estimates of each kind at mu
local function estimates(mu, L)
  local d = mu.shape[1]
  local eps = G.randn(L, d, {dtype = "float64", generator = gen})
  local z = eps + mu
  local f = (z * z):sum(2, true) * 0.5
  local b = ((mu * mu):sum():item() + d) / 2
  return {reparam = z, reinforce = eps * f, baseline = eps * (f - b)}
end

-- total variance sum_j Var(g_j) and its standard error, from the samples
local function total_variance(g)
  local L = g.shape[1]
  local dev2 = ((g - g:mean(1, true)):pow(2)):sum(2)            -- |g - mean|^2 per sample
  local v = dev2:sum():item() / (L - 1)
  return v, dev2:std():item() / math.sqrt(L)
end

local kinds = {"reparam", "reinforce", "baseline"}
local ds, var, ref = {}, {reparam = {}, reinforce = {}, baseline = {}}, {reparam = {}, reinforce = {}, baseline = {}}
local worst_mean, worst_var = {reparam = 0, reinforce = 0, baseline = 0}, {reparam = 0, reinforce = 0, baseline = 0}
print(string.format("\n%6s %12s %12s %14s %14s %14s %14s", "d", "reparam", "closed", "REINFORCE", "closed",
                    "baseline", "closed"))
local d = 1
while d <= o.max_d do
  local mu = G.full({d}, 0.5, f64)
  local m = (mu * mu):sum():item()
  local est, cf = estimates(mu, o.L), closed_forms(d, m)
  local row = {}
  for _, k in ipairs(kinds) do
    local v, se = total_variance(est[k])
    var[k][#var[k] + 1], ref[k][#ref[k] + 1] = v, cf[k]
    -- the mean: |mean - mu|^2 against its expectation V / L (chi-square-like, d dof)
    local err2 = (est[k]:mean(1) - mu):pow(2):sum():item() / (cf[k] / o.L)
    worst_mean[k] = math.max(worst_mean[k], err2 / (1 + 10 * math.sqrt(2 / d)))
    worst_var[k] = math.max(worst_var[k], math.abs(v - cf[k]) / (5 * se))
    row[#row + 1] = v
    row[#row + 1] = cf[k]
  end
  ds[#ds + 1] = d
  print(string.format("%6d %12.5g %12.5g %14.5g %14.5g %14.5g %14.5g", d, table.unpack(row)))
  d = d * 2
end
print("")
for _, k in ipairs(kinds) do
  check(("(ii) %s: worst |mean - mu|^2 / (V/L) / (1 + 10 sqrt(2/d))"):format(k), worst_mean[k], 0, 1)
  check(("(iii) %s: worst |variance - closed form| / 5 s.e."):format(k), worst_var[k], 0, 1)
end

-- slopes of log variance against log d (least squares over d >= 8)
local function slope(k)
  local xs, ys = {}, {}
  for i, dd in ipairs(ds) do if dd >= 8 then xs[#xs + 1], ys[#ys + 1] = math.log(dd), math.log(var[k][i]) end end
  local n, sx, sy, sxx, sxy = #xs, 0, 0, 0, 0
  for i = 1, n do sx, sy, sxx, sxy = sx + xs[i], sy + ys[i], sxx + xs[i] ^ 2, sxy + xs[i] * ys[i] end
  return (n * sxy - sx * sy) / (n * sxx - sx * sx)
end
local slopes = {reparam = slope("reparam"), reinforce = slope("reinforce"), baseline = slope("baseline")}
check("(a) slope of log Var(reparameterisation) in log d (1)", slopes.reparam, 1, 0.05)
check("(b) slope of log Var(REINFORCE) in log d (3 as d grows)", slopes.reinforce, 3, 0.35)
check("    slope of log Var(REINFORCE with the baseline) (2 as d grows)", slopes.baseline, 2, 0.35)
print(string.format("    at d = %d: REINFORCE's variance is %.3g times " ..
  "the reparameterisation's (the baseline: %.3g)",
                    ds[#ds], var.reinforce[#ds] / var.reparam[#ds], var.baseline[#ds] / var.reparam[#ds]))

-- (c) the interchange -----------------------------------------------------------------------
-- Here grad_mu E f(mu + eps) = E grad_z f(mu + eps) = E z = mu holds (f smooth, its gradient
-- integrable and dominated locally in mu: the dominated-convergence condition; Glasserman,
-- Monte Carlo Methods in Financial Engineering, 2004, section 7.2.2). For the step f(z) = 1[z > 0]
-- in 1-D, grad_z f = 0 wherever it exists, so the pathwise estimator is 0, while
-- grad_mu P(mu + eps > 0) = phi(mu): the interchange fails; REINFORCE still gets it right.
local mu1 = 0.3
local eps = G.randn(o.L * 5, {dtype = "float64", generator = gen})
local step = (eps + mu1):gt(0):double()
local score = step * eps
local phi = math.exp(-mu1 * mu1 / 2) / math.sqrt(2 * math.pi)
check("(c) f = 1[z > 0]: REINFORCE's mean against phi(mu) (5 s.e.)", score:mean():item(), phi,
      5 * score:std():item() / math.sqrt(eps.shape[1]))
print(string.format("    pathwise (reparameterised) estimate: exactly " ..
  "0, as grad_z 1[z > 0] = 0 almost everywhere,"))
print(string.format("    while the true gradient is phi(%.1f) = %.4f: " ..
  "exchanging grad and E needs a smooth integrand.", mu1, phi))
print("(c) Professor Guess is right for f = |z|^2 / 2: both estimators' means equal mu above.")

local fig = G.viz.figure{title = "Seed 004 problem 2: gradient estimators", width = 900, height = 600, name = "estimators"}
local lx = G.tensor(ds, f64):log()
local series = {}
for _, k in ipairs(kinds) do
  series[#series + 1] = {x = lx, y = G.tensor(var[k], f64):log(), label = k .. string.format(" (slope %.2f)", slopes[k])}
  series[#series + 1] = {x = lx, y = G.tensor(ref[k], f64):log(), label = k .. ", closed form"}
end
fig:line(series, {title = "total variance of one-sample estimates", xlabel = "log d", ylabel = "log variance"})
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
check.done()
