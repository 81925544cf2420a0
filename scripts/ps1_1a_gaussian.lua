-- PS1 1.1(a): a multivariate Gaussian fitted to 16x16 natural-image patches
-- by its closed form, its NLL on training and test patches, and samples
-- from it beside real patches (the lecture's "not so great" picture).
--
--   ./genlab scripts/ps1_1a_gaussian.lua          default and --smoke: 20,000 patches
--   ./genlab scripts/ps1_1a_gaussian.lua --full   100,000 patches
local G = require "genlab"
local C = require "common"
local o = C.options({n_train = 20000, n_test = 5000, seed = 0},
                    {n_train = 20000, n_test = 5000, seed = 0},
                    {n_train = 100000, n_test = 20000, seed = 0},
                    "PS1 1.1a: closed-form Gaussian of image patches")

local Xtr, Xte = C.patch_sets(o.n_train, o.n_test, 16, o.seed)
Xtr, Xte = Xtr:double(), Xte:double()
local d = Xtr.shape[2]
local t, g = C.timed(function() return G.models.Gaussian.fit(Xtr) end)
print(string.format("fitted mean and covariance of %d patches (d = %d) in %.2f s",
                    Xtr.shape[1], d, t))

local nll_tr, nll_te = g:nll(Xtr), g:nll(Xte)
print(string.format("%-6s %12s %14s", "", "NLL (nats)", "bits / pixel"))
print(string.format("%-6s %12.2f %14.3f", "train", nll_tr, C.bits_per_pixel(nll_tr, d)))
print(string.format("%-6s %12.2f %14.3f", "test", nll_te, C.bits_per_pixel(nll_te, d)))

local samples = g:sample(100, {generator = G.Generator(o.seed)})
local fig = G.viz.figure{title = "PS1 1.1a: patches and Gaussian samples", cols = 2,
                         width = 1000, height = 540, name = "gaussian_samples"}
fig:grid(Xtr:narrow(1, 1, 100), {panel = 1, norm = "none", title = "training patches"})
fig:grid(samples, {panel = 2, norm = "none", title = "samples x = mu + V D^1/2 z"})
fig:show()
C.save_model(o, "gaussian", function(path) G.save(path, {mean = g.mean, cov = g.cov}) end)
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
return {nll_train = nll_tr, nll_test = nll_te, d = d}   -- for the notebook (C.exercise)
