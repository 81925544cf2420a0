-- Seed 002 problem 4: the linear-Gaussian model p(y | x) = N(x^T w, sigma^2)
-- and its MLE, checked in numbers on generated data.  The closed form
--   w = (sum x x^T)^-1 sum x y   (a Cholesky solve),  sigma^2 = mean squared residual
-- (models.LinearGaussian.fit) against
--   (1) gradient ascent on the log-likelihood through autodiff, in (w, log sigma^2);
--   (2) least squares: the normal equations by linalg.solve (LU) and linalg.lstsq (SVD).
-- All agree to 1e-8. The figure is the seed's pair of pictures for 1-d x: the
-- data with the mean x^T w and the +-2 sigma predictive band, beside the point
-- prediction alone.
--
--   ./genlab scripts/seed002_4_linear_gaussian.lua           default and --smoke: n = 200
--   ./genlab scripts/seed002_4_linear_gaussian.lua --full    n = 5,000
local G = require "genlab"
local C = require "common"
local LG = G.models.LinearGaussian
local o = C.options({n = 200, p = 4, iters = 3000, seed = 2025},
                    {n = 200, p = 4, iters = 3000, seed = 2025},
                    {n = 5000, p = 8, iters = 3000, seed = 2025},
                    "Seed 002 problem 4: the linear-Gaussian MLE, " ..
                    "closed form against autodiff and least squares")
local F64 = {dtype = "float64"}
local gen = G.Generator(o.seed)

-- Seed 002 4(1): the linear-Gaussian MLE by gradient ascent through autodiff
-- on the mean log-likelihood l = -1/2 (log 2 pi + s + mean (y - X w)^2 / e^s),
-- s = log sigma^2, from w = 0, s = 0: w steps by e^s / lambda_max(X^T X / n)
-- times dl/dw (1 / lambda_max on the squared error), s by dl/ds (its
-- curvature at the optimum is 1/2), until both gradients are below 1e-14.
-- Returns w, sigma^2, the iterations and the log-likelihood (summed).
local function autodiff_ascent(X, y, iters)
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
local function band_panel(fig, k, t, y, lg, band, title)
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

-- data: x = (1, t_1, ..., t_{p-1}) with t ~ N(0, 1), y = x^T w* + sigma* e
local n, p = o.n, o.p
local X = G.cat({G.ones(n, 1, F64), G.randn(n, p - 1, {dtype = "float64", generator = gen})}, 2)
local w_true = G.linspace(-1.5, 2.0, p, F64)
local sigma_true = 0.7
local y = X:matmul(w_true:unsqueeze(2)):squeeze(2) + G.randn(n, {dtype = "float64", generator = gen}) * sigma_true
print(string.format("n = %d points, p = %d (an intercept and %d N(0, 1) " ..
  "features); w* = linspace(-1.5, 2, %d), sigma* = %g",
                    n, p, p - 1, p, sigma_true))

-- the closed form -------------------------------------------------------------------------
local mle = LG.fit(X, y)
local function fmt(w) local t = {} for i, v in ipairs(w:totable()) do t[i] = string.format("%.5f", v) end return table.concat(t, " ") end
print("\nclosed form (Cholesky solve of sum x x^T):")
print("    w       = " .. fmt(mle.w))
print("    w*      = " .. fmt(w_true))
print(string.format("    sigma^2 = %.8f (sigma* ^2 = %.4f); log-likelihood %.6f", mle.sigma2, sigma_true ^ 2,
                    mle:log_prob(X, y):sum():item()))

-- (1) gradient ascent through autodiff ----------------------------------------------------
local w_ga, s2_ga, iters, ll = autodiff_ascent(X, y, o.iters)
print(string.format("\n(1) gradient ascent through autodiff: %d iterations, log-likelihood %.6f", iters, ll))
print(string.format("    max |w - w_closed| = %.2e, |sigma^2 - sigma^2_closed| = %.2e",
                    (w_ga - mle.w):abs():max():item(), math.abs(s2_ga - mle.sigma2)))

-- (2) least squares -----------------------------------------------------------------------
local w_ne = G.linalg.solve(X:t():matmul(X), X:t():matmul(y:unsqueeze(2))):squeeze(2)
local w_ls = G.linalg.lstsq(X, y:unsqueeze(2)):squeeze(2)
local function mse(wv) local r = y - X:matmul(wv:unsqueeze(2)):squeeze(2) return (r * r):mean():item() end
print("\n(2) least squares, minimising the squared error:")
print(string.format("    normal equations (linalg.solve, LU): max |w - w_closed| = %.2e, |MSE - sigma^2| = %.2e",
                    (w_ne - mle.w):abs():max():item(), math.abs(mse(w_ne) - mle.sigma2)))
print(string.format("    linalg.lstsq (SVD of X):              max |w - w_closed| = %.2e, |MSE - sigma^2| = %.2e",
                    (w_ls - mle.w):abs():max():item(), math.abs(mse(w_ls) - mle.sigma2)))
local worst = math.max((w_ga - mle.w):abs():max():item(), math.abs(s2_ga - mle.sigma2),
                       (w_ne - mle.w):abs():max():item(), (w_ls - mle.w):abs():max():item())
print(string.format("all methods agree: largest difference %.2e (%s 1e-8)", worst, worst < 1e-8 and "below" or "ABOVE"))
print("The MLE of w is the least-squares weights: log p(y | " ..
  "X) = -n/2 log(2 pi sigma^2) - SSE / (2 sigma^2),\n" ..
      "so for any sigma^2 it is largest where the sum of " ..
      "squared errors is smallest; then dL/dsigma^2 = 0\n" ..
      "gives sigma^2 = SSE / n.")

-- the seed's pictures, for 1-d x -----------------------------------------------------------
local n1 = 120
local t = G.rand(n1, {dtype = "float64", generator = gen}) * 6 - 3
local y1 = t * 0.8 + 0.5 + G.randn(n1, {dtype = "float64", generator = gen}) * 0.6
local m1 = LG.fit(G.stack({G.ones(n1, F64), t}, 2), y1)
local wv = m1.w:totable()
print(string.format("\n1-d example: y = %.3f + %.3f t, sigma = %.3f (truth 0.5 + 0.8 t, 0.6)", wv[1], wv[2], math.sqrt(m1.sigma2)))
local inside = ((y1 - m1:predict(G.stack({G.ones(n1, F64), t}, 2))):abs():le(2 * math.sqrt(m1.sigma2))):sum():item()
print(string.format("    %d of %d points inside the +-2 sigma band (a Gaussian puts 95.4%% there)", inside, n1))
local fig_lg = G.viz.figure{title = "Seed 002 problem 4: the linear-Gaussian model", rows = 1, cols = 2,
                            width = 1100, height = 520, name = "linear_gaussian"}
band_panel(fig_lg, 1, t, y1, m1, true, "p(y | x) = N(x^T w, sigma^2): mean and +-2 sigma band")
band_panel(fig_lg, 2, t, y1, m1, false, "the point prediction x^T w alone")
fig_lg:show()
print("figure: " .. (G.viz.headless() and fig_lg:save() or "window"))
return {mle = mle, w_ascent = w_ga, sigma2_ascent = s2_ga, iters = iters, worst = worst, w_true = w_true,
        model_1d = m1, inside = inside}   -- for the notebook
