-- Seed 002 problem 1: 5x5 binary images generated pixel by pixel.
--   (a) ancestral sampling from the conditional probability tables (CPTs),
--       with the frequency of each picture against its true p(x);
--   (b) a 2-layer LSTM (hidden 32) trained on the same distribution, its
--       samples and its parameter count beside the CPTs' 67,108,862 values;
--   (c) why its loss never reaches 0: the entropy floor, KL(p || q) and the
--       mass q puts outside p's support.
-- The CPTs are genlab's (genlab.autoreg: 23 pictures with stated
-- probabilities), or the course's own file with --cpts=image_cpts.pkl (or an
-- .npz of the same 25 arrays).
--
--   ./genlab scripts/seed002_1_autoregression.lua          short: 20,000 samples, 400 steps
--   ./genlab scripts/seed002_1_autoregression.lua --full   100,000 samples, 4,000 steps
local G = require "genlab"
local C = dofile((arg[0]:match("^(.*/)") or "./") .. "common.lua")
local A = G.autoreg
local o = C.options({samples = 20000, steps = 400, lr = 1e-2, lr_end = 1e-3, seed = 2025, cpts = "", dtype = "float64"},
                    {samples = 100000, steps = 4000, lr = 1e-2, lr_end = 1e-4, seed = 2025, cpts = "", dtype = "float64"},
                    "Seed 002 problem 1: sampling 5x5 images from CPTs, then from a 2-layer LSTM",
                    {dtype = {"float64", "float32"}})

local pics = A.pictures()
local p = pics.p:totable()
local gen = G.Generator(o.seed)

-- (a) the CPTs and ancestral sampling --------------------------------------------------
local secs, cpts
if o.cpts ~= "" then
  secs, cpts = C.timed(function() return A.load_cpts(o.cpts) end)
  print(string.format("(a) read the course's CPTs from %s in %.2f s", o.cpts, secs))
else
  secs, cpts = C.timed(function() return A.cpts(pics, {dtype = o.dtype}) end)
  print(string.format("(a) built the 25 CPTs of %d pictures (%s) in %.2f s", #p, o.dtype, secs))
end
local entries = 0
for _, t in ipairs(cpts) do entries = entries + t:numel() end
print(string.format("    %d CPT entries, %.0f MB", entries, entries * (cpts[1].dtype == "float64" and 8 or 4) / 1e6))

local fig = G.viz.figure{title = "Seed 002 problem 1: image autoregression", rows = 2, cols = 2,
                         width = 1100, height = 1000, name = "autoregression"}
local X100 = A.sample_cpts(cpts, 100, {generator = gen})
fig:grid(X100, {panel = 1, rows = 10, cols = 10, norm = "none", title = "(a) 100 samples from the CPTs"})
fig:show()

local t_samp, X = C.timed(function() return A.sample_cpts(cpts, o.samples, {generator = gen}) end)
local fit = A.goodness(X, pics)
print(string.format("    %d more samples in %.3f s; frequency of each picture against p(x):", o.samples, t_samp))
print(string.format("    %-8s %7s %9s %8s", "picture", "p(x)", "frequency", "count"))
for k, name in ipairs(pics.names) do
  print(string.format("    %-8s %7.3f %9.4f %8d", name, p[k], fit.freq[k], fit.counts[k]))
end
print(string.format("    outside the %d pictures: %d samples", #p, fit.outside))
print(string.format("    chi-square %.2f on %d degrees of freedom, p-value %.3f; total variation %.4f",
                    fit.chi2, fit.dof, fit.pvalue, fit.tv))

-- (b) the LSTM ------------------------------------------------------------------------
local model = A.LSTM{seed = o.seed}
local params = model:num_parameters()
print(string.format("\n(b) LSTM(1, 32, 2 layers) + Linear(32, 1): %d parameters (as PyTorch counts them),\n" ..
                    "    against %d CPT entries: %.0f times fewer", params, entries, entries / params))
local H = A.entropy(pics)
local function draw_training(losses)
  fig:line({y = G.tensor(losses), label = "training loss"},
           {panel = 2, title = "(b, c) E_p[-log q(x)] against its floor", xlabel = "Adam step",
            ylabel = "nats / image (log scale)", logy = true, hline = H, hline_label = "H(p): the floor"})
end
local t_train, losses = C.timed(function()
  return A.train(model, pics, {steps = o.steps, lr = o.lr, lr_end = o.lr_end,
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
os.execute("mkdir -p out/models")
G.save_pt("out/models/autoreg_lstm.pt", model)
print("    model: out/models/autoreg_lstm.pt (torch.load + load_state_dict of a module with .lstm and .head)")

-- (c) why the loss stays above 0 ----------------------------------------------------------
local sc = A.score(model, pics)
print(string.format("\n(c) H(p) = %.4f nats per image (%.4f per pixel): the loss is E_p[-log q(x)] = H(p) + KL(p || q),\n" ..
                    "    and KL >= 0, so no model gets below H(p); even q = p scores H(p) > 0, since the data\n" ..
                    "    are %d different pictures, not one. The loss reaches 0 only if p puts all its mass on one image.",
                    H, H / 25, #p))
print(string.format("    final loss %.4f, %.4f above the floor (lowest on the way %.4f)", losses[#losses],
                    losses[#losses] - H, lowest))
print(string.format("    KL(p || q_LSTM) = %.4f nats; q puts %.4f of its mass outside p's support", sc.kl, sc.outside))
print(string.format("    %-8s %7s %8s", "picture", "p(x)", "q(x)"))
for k, name in ipairs(pics.names) do print(string.format("    %-8s %7.3f %8.4f", name, p[k], sc.q[k])) end

fig:scatter(pics.p, G.tensor(sc.q, {dtype = "float64"}), {panel = 4, title = "(c) q_LSTM(x) against p(x), per picture",
                                                        xlabel = "p(x)", ylabel = "q(x)", sizes = 6})
draw_training(losses)
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
fig:show()
return {fit = fit, losses = losses, entropy = H, score = sc, params = params, entries = entries, figure = fig}
