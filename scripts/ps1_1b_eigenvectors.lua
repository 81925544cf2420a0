-- PS1 1.1(b): the covariance of image patches as a dictionary.  Sampling is
-- x = mu + V D^(1/2) z, so the columns of V are directions and D their
-- variances: the top 10 eigenvectors drawn as 16x16 tiles (blue negative,
-- red positive) and the eigenvalue spectrum on a log axis.
--
--   ./genlab scripts/ps1_1b_eigenvectors.lua [--full]
local G = require "genlab"
local C = require "common"
local o = C.options({n_train = 20000, top = 10, seed = 0},
                    {n_train = 20000, top = 10, seed = 0},
                    {n_train = 100000, top = 10, seed = 0},
                    "PS1 1.1b: eigenvectors of the patch covariance")

local X = C.patch_sets(o.n_train, 1, 16, o.seed):double()
local g = G.models.Gaussian.fit(X)
local vals, vecs = g:eig()
local total = vals:sum():item()
print(string.format("top %d eigenvalues of the %dx%d covariance (%d patches):", o.top, g.d, g.d,
                    X.shape[1]))
local cum = 0
for i = 1, o.top do
  local v = vals[i]
  cum = cum + v
  print(string.format("  %2d  %10.4g   %5.1f%% of the variance, %5.1f%% so far", i, v,
                      100 * v / total, 100 * cum / total))
end
print("The first is nearly flat (the patch's brightness); the next ones are smooth")
print("horizontal and vertical gradients, then ever finer oscillations: a Fourier-like basis.")

local fig = G.viz.figure{title = "PS1 1.1b: eigenvectors of the patch covariance", cols = 2,
                         width = 1100, height = 480, name = "eigenvectors"}
local captions = {}
for i = 1, o.top do captions[i] = string.format("%d", i) end
fig:grid(vecs:narrow(2, 1, o.top):t(), {panel = 1, rows = 2, signed = true, norm = "tile",
                                        captions = captions, title = "top eigenvectors"})
fig:line({y = vals:clamp(1e-12, math.huge), label = "eigenvalue"},
         {panel = 2, logy = true, xlabel = "index (descending)", ylabel = "variance",
          title = "eigenvalue spectrum"})
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
