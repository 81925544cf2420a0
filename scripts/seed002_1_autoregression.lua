-- Seed 002 problem 1: 5x5 binary images generated pixel by pixel.
--   (a) ancestral sampling from the conditional probability tables (CPTs),
--       with the frequency of each image against its p(x) (Pearson's test);
--   (b) a 2-layer LSTM (hidden 32) trained on the same distribution, its
--       samples and its parameter count beside the CPTs' 67,108,862 values;
--   (c) why its loss never reaches 0: the entropy floor H(p), KL(p || q) and
--       the mass q puts outside p's support.
-- The CPTs are genlab's (genlab.autoreg: 23 pictures with stated
-- probabilities), or the course's own file with --cpts=image_cpts.pkl (also
-- image_cpts.pkl.gz as shipped, or an .npz of the same 25 arrays). Whichever
-- they are, p(x) is what they define: H(p) is summed over all 2^25 images in
-- C, and the images p puts mass on are the chi-square's reference and the
-- LSTM's training data (when there are more than 4,096 of them, the
-- chi-square bins the likely ones and the LSTM trains on the CPT samples).
--
--   ./genlab scripts/seed002_1_autoregression.lua          20,000 samples, 4,000 steps (about 15 s)
--   ./genlab scripts/seed002_1_autoregression.lua --smoke  20,000 samples, 400 steps: the tests' run
--   ./genlab scripts/seed002_1_autoregression.lua --full   100,000 samples, 4,000 steps
local G = require "genlab"
local C = require "common"
local A = G.autoreg
local o = C.options({samples = 20000, steps = 400, lr = 1e-2, lr_end = 1e-3, seed = 2025, cpts = "", dtype = "float64"},
                    {samples = 20000, steps = 4000, lr = 1e-2, lr_end = 1e-4, seed = 2025, cpts = "", dtype = "float64"},
                    {samples = 100000, steps = 4000, lr = 1e-2, lr_end = 1e-4, seed = 2025, cpts = "", dtype = "float64"},
                    "Seed 002 problem 1: sampling 5x5 images from CPTs, then from a 2-layer LSTM",
                    {dtype = {"float64", "float32"}})

local pics = A.pictures()
local gen = G.Generator(o.seed)
local LIST = 30                                        -- rows printed of a per-image table

-- (a) the CPTs and ancestral sampling --------------------------------------------------
local secs, cpts
local loaded = o.cpts ~= ""
if loaded then
  secs, cpts = C.timed(function() return A.load_cpts(o.cpts) end)
  print(string.format("(a) read the course's CPTs from %s in %.2f s", o.cpts, secs))
else
  secs, cpts = C.timed(function() return A.cpts(pics, {dtype = o.dtype}) end)
  print(string.format("(a) built the 25 CPTs of %d pictures (%s) in %.2f s", pics.images.shape[1], o.dtype, secs))
end
local entries = 0
for _, t in ipairs(cpts) do entries = entries + t:numel() end
print(string.format("    %d CPT entries, %.0f MB", entries, entries * (cpts[1].dtype == "float64" and 8 or 4) / 1e6))

-- p(x) is what the CPTs say, whoever made them: H(p) exactly over all 2^25
-- images, and the images p puts mass on (genlab's own: the 23 pictures).
local t_h, H, mass, support = C.timed(function() return A.cpts_entropy(cpts) end)
print(string.format("    H(p) summed exactly over the 2^25 images in " ..
  "%.2f s (prefixes of probability 0 skipped):\n" ..
                    "    p puts its mass on %d images, sum p(x) = %.12f", t_h, support, mass))
local dist = pics
if loaded then
  dist = A.distribution(cpts)
  if not dist.support then                             -- too many to list: those that expect >= 5 samples
    dist = A.distribution(cpts, {min_p = 5 / o.samples})
    print(string.format("    too many to list: the %d images with p(x) >= " ..
      "%.2g (%.4f of the mass) are the chi-square's\n" ..
                        "    bins, the rest one pooled bin", dist.images.shape[1], dist.min_p, 1 - dist.rest))
  end
end
local what = loaded and (dist.support and "images of p's support" or "listed images") or "pictures"
local K = dist.images.shape[1]

local fig = G.viz.figure{title = "Seed 002 problem 1: image autoregression", rows = 2, cols = 2,
                         width = 1100, height = 1000, name = "autoregression"}
local X100 = A.sample_cpts(cpts, 100, {generator = gen})
fig:grid(X100, {panel = 1, rows = 10, cols = 10, norm = "none", title = "(a) 100 samples from the CPTs"})
fig:show()

local t_samp, X = C.timed(function() return A.sample_cpts(cpts, o.samples, {generator = gen}) end)
local fit = A.goodness(X, dist)
local p = dist.p:totable()
print(string.format("    %d more samples in %.3f s; frequency of each %s against p(x):", o.samples, t_samp,
                    loaded and "image" or "picture"))
print(string.format("    %-8s %7s %9s %8s", loaded and "image" or "picture", "p(x)", "frequency", "count"))
for k = 1, math.min(K, LIST) do
  print(string.format("    %-8s %7.3f %9.4f %8d", dist.names[k], p[k], fit.freq[k], fit.counts[k]))
end
if K > LIST then print(string.format("    ... %d more", K - LIST)) end
print(string.format("    outside the %d %s: %d samples%s", K, what, fit.outside,
                    (dist.rest or 0) > 0 and string.format(" (%.0f expected)", o.samples * dist.rest) or ""))
if fit.chi2 then
  print(string.format("    chi-square %.2f on %d degrees of freedom, p-value %.3f; total variation %.4f",
                      fit.chi2, fit.dof, fit.pvalue, fit.tv))
  if fit.pooled > 0 or fit.rest > 0 then
    print(string.format("    (%d bins of at least 5 expected samples; %d rarer images%s pooled into one)", fit.bins, fit.pooled,
                        fit.rest > 0 and " and the unlisted rest" or ""))
  end
  print(fit.pvalue > 0.001 and "    the sampler's frequencies agree with the CPTs' p(x) (p-value above 0.001)"
                           or "    the sampler's frequencies disagree " ..
                             "with the CPTs' p(x) (p-value below 0.001)")
else
  print(string.format("    too few samples for a chi-square test (fewer " ..
    "than 2 bins expect 5); total variation %.4f", fit.tv))
end

-- (b) the LSTM ------------------------------------------------------------------------
local model = A.LSTM{seed = o.seed}
local params = model:num_parameters()
print(string.format("\n(b) LSTM(1, 32, 2 layers) + Linear(32, 1): %d parameters (as PyTorch counts them),\n" ..
                    "    against %d CPT entries: %.0f times fewer", params, entries, entries / params))
-- The training data: p's support weighted by p(x), so that each step
-- minimises E_p[-log q] exactly; when p has too many images to list, the
-- CPT samples weighted by their frequencies.
local data, batch = dist, nil
if loaded and not dist.support then
  data, batch = A.empirical(X), 256
  print(string.format("    trained on the %d samples drawn from the CPTs (%d distinct images), minibatches of %d",
                      o.samples, data.images.shape[1], batch))
else
  print(string.format("    trained on the %d %s, each weighted by its p(x): the exact E_p[-log q(x)]", K, what))
end
local function draw_training(losses)
  fig:line({y = G.tensor(losses), label = "training loss"},
           {panel = 2, title = "(b, c) E_p[-log q(x)] against its floor", xlabel = "Adam step",
            ylabel = "nats / image (log scale)", logy = true, hline = H, hline_label = "H(p): the floor"})
end
local t_train, losses = C.timed(function()
  return A.train(model, data, {steps = o.steps, lr = o.lr, lr_end = o.lr_end, batch = batch, generator = gen,
                               on_step = function(step, _, losses)
                                 if step % 25 == 0 or step == o.steps then
                                   draw_training(losses)
                                   fig:grid(model:sample(100, {generator = gen}), {panel = 3, rows = 10, cols = 10, norm = "none",
                                            title = string.format("(b) 100 LSTM samples, step %d", step)})
                                   fig:show()
                                 end
                               end})
end)
local lowest = math.huge
for _, l in ipairs(losses) do lowest = math.min(lowest, l) end
print(string.format("    %d Adam steps in %.2f s (lr %g to %g): loss %.4f -> %.4f nats per image",
                    o.steps, t_train, o.lr, o.lr_end, losses[1], losses[#losses]))
local t_lstm = C.timed(function() return model:sample(100, {generator = gen}) end)
print(string.format("    100 images sampled from the LSTM in %.1f ms", 1000 * t_lstm))
local exact_rate
if dist.support or not loaded then
  local Q = model:sample(1000, {generator = gen})
  local _, out = A.frequencies(Q, dist)
  exact_rate = 1 - out / 1000
  print(string.format("    %.1f%% of 1000 LSTM samples are exactly one of the %d %s", 100 * exact_rate, K, what))
end
local lstm_path = C.save_model(o, "autoreg_lstm", function(path) G.save_pt(path, model) end, ".pt")
print("    model: " .. lstm_path .. " (torch.load + load_state_dict of a module with .lstm and .head)")

-- (c) why the loss stays above 0 ----------------------------------------------------------
print(string.format("\n(c) H(p) = %.4f nats per image (%.4f per pixel): " ..
  "the loss is E_p[-log q(x)] = H(p) + KL(p || q),\n" ..
                    "    and KL >= 0, so no model gets below H(p); " ..
                    "even q = p scores H(p) > 0, since the data\n" ..
                    "    are %d different images, not one. The loss " ..
                    "reaches 0 only if p puts all its mass on one image.",
                    H, H / 25, support))
print(string.format("    final loss %.4f, %.4f above the floor (lowest on the way %.4f)", losses[#losses],
                    losses[#losses] - H, lowest))
local sc
if dist.support or not loaded then
  sc = A.score(model, dist)
  print(string.format("    KL(p || q_LSTM) = %.4f nats; q puts %.4f of its mass outside p's support", sc.kl, sc.outside))
  print(string.format("    %-8s %7s %8s", loaded and "image" or "picture", "p(x)", "q(x)"))
  for k = 1, math.min(K, LIST) do print(string.format("    %-8s %7.3f %8.4f", dist.names[k], p[k], sc.q[k])) end
  if K > LIST then print(string.format("    ... %d more", K - LIST)) end
else
  local kl, se = A.kl_estimate(model, cpts, X)
  sc = A.score(model, dist)
  sc.kl, sc.kl_se = kl, se
  print(string.format("    KL(p || q_LSTM) = %.4f +- %.4f nats (Monte " ..
    "Carlo over the %d CPT samples, one standard error)",
                      kl, se, o.samples))
end
if exact_rate then
  C.floor(string.format("LSTM samples that are one of the %d %s", K, what), exact_rate, ">=", 0.95,
          string.format("of 1000; KL(p || q) = %.4f nats", sc.kl))
end

fig:scatter(dist.p, G.tensor(sc.q, {dtype = "float64"}), {panel = 4, title = "(c) q_LSTM(x) against p(x), per image",
                                                        xlabel = "p(x)", ylabel = "q(x)", sizes = 6})
draw_training(losses)
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
fig:show()
return C.finish{fit = fit, losses = losses, entropy = H, score = sc, params = params, entries = entries, figure = fig,
                support = support, mass = mass, entropy_seconds = t_h, data = data, lstm_exact = exact_rate}
