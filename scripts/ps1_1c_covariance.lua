-- PS1 1.1(c): Cov[P_p*, P_q] between one pixel p* and every pixel q of the
-- patch, as a heat map, and numeric checks of the claims around it:
--   (i)  stationarity: the covariance of two pixels depends (nearly) only
--        on their offset, not on where they sit in the patch;
--   (ii) if Sigma_ij = f(i - j) (circulant) the complex exponentials
--        v[u] = exp(i w u), w = 2 pi m / d, are eigenvectors of Sigma.
--
--   ./genlab scripts/ps1_1c_covariance.lua [--full] [--row=8 --col=8]
local G = require "genlab"
local C = require "common"
local o = C.options({n_train = 20000, row = 8, col = 8, seed = 0},
                    {n_train = 20000, row = 8, col = 8, seed = 0},
                    {n_train = 100000, row = 8, col = 8, seed = 0},
                    "PS1 1.1c: pixel covariances and circulant eigenvectors")
local S = 16

local X = C.patch_sets(o.n_train, 1, S, o.seed):double()
local Sigma = G.models.Gaussian.fit(X).cov
local p = (o.row - 1) * S + o.col
local cov_p = Sigma[p]:reshape(S, S)
print(string.format("Cov[P(%d,%d), P(q)]: %.4g at q = p*, %.4g at a neighbour, %.4g at the far corner",
      o.row, o.col, cov_p[o.row][o.col], cov_p[o.row][math.min(o.col + 1, S)], cov_p[S][S]))

-- (i) the covariance at a fixed offset, over every position where it fits
local function offset_stats(dr, dc)
  local vals = {}
  for r = 1, S - dr do
    for c = 1, S - dc do
      vals[#vals + 1] = Sigma[(r - 1) * S + c][(r - 1 + dr) * S + c + dc]
    end
  end
  local t = G.tensor(vals, {dtype = "float64"})
  return t:mean():item(), t:std():item()
end
print("(i) covariance by offset, over all positions (mean +- spread):")
for _, off in ipairs{{0, 1}, {1, 0}, {0, 4}, {4, 4}, {0, 12}} do
  local m, s = offset_stats(off[1], off[2])
  print(string.format("    offset (%2d,%2d): %.4g +- %.2g (%.1f%%)", off[1], off[2], m, s, 100 * s / m))
end

-- (ii) a circulant Sigma_ij = f((i - j) mod d) built from the patches' own
-- horizontal covariance, and the residual |Sigma v - lambda v| / |v| of
-- the real and imaginary parts of v[u] = exp(i w u)
local d = S
local f = {}
for k = 0, d - 1 do
  local m = offset_stats(0, math.min(k, d - k))      -- symmetric: f(k) = f(d - k)
  f[k] = m
end
local Cm = G.zeros(d, d, {dtype = "float64"})
for i = 1, d do for j = 1, d do Cm[i][j] = f[(i - j) % d] end end
local u = G.arange(d, {dtype = "float64"})
local lambdas, resid = {}, {}
for m = 0, d - 1 do
  local w = 2 * math.pi * m / d
  local lambda = 0
  for k = 0, d - 1 do lambda = lambda + f[k] * math.cos(w * k) end
  lambdas[#lambdas + 1] = math.abs(lambda)
  for _, v in ipairs{(u * w):cos(), (u * w):sin()} do
    local n = v:square():sum():sqrt():item()
    if n > 1e-9 then       -- sin vanishes for w = 0 and w = pi
      resid[#resid + 1] = (Cm:matmul(v) - v * lambda):square():sum():sqrt():item() / n
    end
  end
end
local worst = math.max(table.unpack(resid)) / math.max(table.unpack(lambdas))
print(string.format("(ii) circulant %dx%d: max |Sigma v - lambda v| / (|v| max|lambda|) = %.2e", d, d, worst))
print("     over the real and imaginary parts of all 16 exponentials: they are eigenvectors.")

local fig = G.viz.figure{title = "PS1 1.1c: pixel covariances", cols = 2, width = 1000,
                         height = 480, name = "covariance"}
fig:heatmap(cov_p, {panel = 1, title = string.format("Cov[P(%d,%d), P(q)]", o.row, o.col)})
fig:heatmap(Sigma, {panel = 2, title = "the full 256x256 covariance"})
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
