-- PS1 1.1(d): the Gaussian of 1.1a fitted instead by stochastic gradient
-- descent on the NLL, with Sigma = A A^T + 1e-4 I and Adam, while a live
-- plot shows the training and test NLL against the closed-form solution.
--
-- The seed suggests Adam at 1e-4; a rate decaying geometrically from 3e-3
-- gets closer in the same number of epochs (Sigma is badly conditioned).
--
--   ./genlab scripts/ps1_1d_gaussian_sgd.lua          default and --smoke: 20,000 patches, 8 epochs
--   ./genlab scripts/ps1_1d_gaussian_sgd.lua --full   100,000 patches, 20 epochs, batch 512
local G = require "genlab"
local C = require "common"
local o = C.options({n_train = 20000, n_test = 5000, epochs = 8, batch = 512, lr = 3e-3, lr_end = 1e-4, seed = 0},
                    {n_train = 20000, n_test = 5000, epochs = 8, batch = 512, lr = 3e-3, lr_end = 1e-4, seed = 0},
                    {n_train = 100000, n_test = 20000, epochs = 20, batch = 512, lr = 1e-3, lr_end = 1e-3, seed = 0},
                    "PS1 1.1d: the patch Gaussian by SGD (Adam) against the closed form")

local Xtr, Xte = C.patch_sets(o.n_train, o.n_test, 16, o.seed)
local d = Xtr.shape[2]
local closed = G.models.Gaussian.fit(Xtr:double())
local ref_tr, ref_te = closed:nll(Xtr:double()), closed:nll(Xte:double())
print(string.format("closed form: train NLL %.2f, test NLL %.2f nats per patch", ref_tr, ref_te))

local model = G.models.GMMDensity(1, d, {data = Xtr, seed = o.seed})
local fig = G.viz.figure{title = "PS1 1.1d: Gaussian by SGD", cols = 2, width = 1100,
                         height = 460, name = "gaussian_sgd"}
local steps = {}
local function draw_steps()
  fig:line({y = G.tensor(steps), label = "minibatch NLL"},
           {panel = 2, title = "NLL per step", xlabel = "step", ylabel = "nats / patch",
            hline = ref_tr, hline_label = "closed form (train)"})
end
local function draw(hist)
  local series = {{y = hist.train, label = "train"}}
  if #hist.test > 0 then series[2] = {y = hist.test, label = "test"} end
  fig:line(series, {panel = 1, title = "NLL per epoch", xlabel = "epoch", ylabel = "nats / patch",
                    hline = ref_te, hline_label = "closed form (test)"})
  draw_steps()
  fig:show()
end
local hist = model:fit(Xtr, {epochs = o.epochs, batch_size = o.batch, lr = o.lr, lr_end = o.lr_end,
                             test = Xte, seed = o.seed,
                             on_step = function(i, l)
                               steps[i] = l
                               if i % 10 == 0 then draw_steps(); fig:show() end
                             end,
                             on_epoch = function(_, h) draw(h) end})

local sgd_tr, sgd_te = model:nll(Xtr), hist.test[#hist.test]
print(string.format("%-12s %10s %10s", "", "train", "test"))
print(string.format("%-12s %10.2f %10.2f", "closed form", ref_tr, ref_te))
print(string.format("%-12s %10.2f %10.2f", "SGD (Adam)", sgd_tr, sgd_te))
print(string.format("gap on test: %.2f nats (%.2f%%)", sgd_te - ref_te,
                    100 * (sgd_te - ref_te) / math.abs(ref_te)))
draw(hist)
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
return {closed = ref_te, sgd = sgd_te}                 -- test NLLs, for the notebook
