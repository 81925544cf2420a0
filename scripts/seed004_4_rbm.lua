-- Seed 004 problem 4, the RBM part: a binary RBM with 128 hidden units on
-- binary MNIST (pixels above 0.5 set to 1), trained by CD-k for k = 1, 5, 25
-- with the same hyper-parameters for each: batch 64, SGD with lr 0.05 and
-- momentum 0.5 (Hinton's guide's starting values; the starter's are not in
-- the seed), W ~ N(0, 0.01^2), biases 0, seed 2025 ("do not change the seed").
-- Per epoch: the mean free energy of the training and test images and the
-- one-step reconstruction error, with 8x8 samples drawn live: chains of
-- Gibbs steps started at 64 test images, and at 64 random images whose
-- pixels are independent with the training set's pixel frequencies. At the end a
-- table per k: the test free energy (the graded number), log Z by AIS and
-- the test log-likelihood with its standard error, seconds per epoch; the
-- 128 hidden units' weights as 28x28 filters; and the effect of k, read off
-- the numbers. Checkpoints go to the hand-in folder, out/seed004_4_rbm/ (a notebook's own
-- when one runs it), listed in its manifest.json. The quality floors of a trained result:
-- every k's samples not degenerate (viz.degenerate), and the best k's test log-likelihood at
-- least 60 nats above the independent-pixel model's, fitted to the same training images.
--
--   ./genlab scripts/seed004_4_rbm.lua              all 60,000 and 10,000 images, 3 epochs (about a minute)
--   ./genlab scripts/seed004_4_rbm.lua --smoke      3,000 training images, 2 epochs: the tests' run
--   ./genlab scripts/seed004_4_rbm.lua --full       all 60,000 and the 10,000 test images, 20 epochs
--   ./genlab scripts/seed004_4_rbm.lua --k=1,25 --persistent=true
local G = require "genlab"
local C = require "common"
local o = C.options({k = "1,5,25", hidden = 128, epochs = 2, train = 3000, test = 1000, batch = 64, lr = 0.05,
                     momentum = 0.5, persistent = false, seed = 2025, steps = 200, ais_runs = 100, ais_betas = 500},
                    {k = "1,5,25", hidden = 128, epochs = 3, train = 60000, test = 10000, batch = 64, lr = 0.05,
                     momentum = 0.5, persistent = false, seed = 2025, steps = 1000, ais_runs = 100, ais_betas = 3000},
                    {k = "1,5,25", hidden = 128, epochs = 20, train = 60000, test = 10000, batch = 64, lr = 0.05,
                     momentum = 0.5, persistent = false, seed = 2025, steps = 1000, ais_runs = 100, ais_betas = 10000},
                    "Seed 004 problem 4: a binary RBM on binary MNIST by CD-k for several k",
                    {k = {numbers = true}})
local handin_dir = G.handin.folder("seed004_4_rbm")   -- the checkpoints to hand in, and manifest.json

local ks = {}
for v in tostring(o.k):gmatch("[^,]+") do
  local k = math.tointeger(tonumber(v))
  if not k or k < 1 then error("--k: Gibbs steps must be positive integers, got " .. v, 0) end
  ks[#ks + 1] = k
end

local Xtr = G.data.mnist{flat = true, binarize = true, limit = o.train}
local Xte = G.data.mnist{flat = true, binarize = true, split = "test", limit = o.test}
print(string.format("binary MNIST (threshold 0.5): %d training and %d test images; " ..
  "784 x %d RBM, batch %d, SGD lr %g%s, %d epochs, seed %d",
                    Xtr.shape[1], Xte.shape[1], o.hidden, o.batch, o.lr,
                    o.momentum > 0 and string.format(", momentum %g", o.momentum) or "", o.epochs, o.seed))
print(string.format("%s; samples: %d Gibbs steps from 64 test images and " ..
  "from 64 random images; AIS: %d runs, %d temperatures",
                    o.persistent and "persistent CD (PCD-k)" or "CD-k, chains started at the data", o.steps,
                    o.ais_runs, o.ais_betas))

local n = #ks
local cols = n + 1
local fig = G.viz.figure{title = "Seed 004: RBM (784 x " .. o.hidden .. ") on binary MNIST by CD-k", rows = 3, cols = cols,
                         width = 450 * cols, height = 1400, name = "rbm"}
local starts = Xte:narrow(1, 1, math.min(64, Xte.shape[1]))
local noise = G.rand(starts.shape[1], 784, {generator = G.Generator(o.seed)}):lt(Xtr:mean(1)):to("float32")

-- The same 64 chains every time (one generator seed), so the live panels
-- show the model changing, not the draw.  Returns how far each set of
-- chains is from degenerate (viz.degenerate: flat, or in one mode).
local function samples(rbm, k, i, when)
  local health, imgs = {}, {}
  for row, init in ipairs{starts, noise} do
    imgs[row] = rbm:sample(starts.shape[1], {steps = o.steps, init = init, generator = G.Generator(o.seed)})
    fig:grid(imgs[row], {panel = (row - 1) * cols + i, rows = 8, cols = 8, norm = "none",
                         title = string.format("CD-%d, %s: %d Gibbs steps from %s", k, when, o.steps,
                                               row == 1 and "test images" or "random pixels")})
    health[row] = select(2, G.viz.degenerate(imgs[row]))
  end
  return {data = health[1], random = health[2], images = {data = imgs[1], random = imgs[2]}}
end

local function filters(rbm, k, panel)
  fig:grid(rbm.W:t(), {panel = panel, rows = 8, cols = rbm.nh // 8, norm = "tile", signed = true,
                       title = string.format("CD-%d: the %d hidden units' weights", k, rbm.nh)})
end

local curves_te, curves_rec, results = {}, {}, {}
local function draw_curves()
  fig:line(curves_te, {panel = cols, title = "mean free energy of the test images", xlabel = "epoch", ylabel = "F(v)"})
  fig:line(curves_rec, {panel = 2 * cols, title = "one-step reconstruction error", xlabel = "epoch",
                        ylabel = "sum of squares per image"})
end

local function train(i, k)
  local rbm = G.models.RBM(784, o.hidden, {seed = o.seed})
  local chains
  local live = not G.viz.headless()
  local h = rbm:fit(Xtr, {k = k, epochs = o.epochs, batch = o.batch, lr = o.lr, momentum = o.momentum,
                          persistent = o.persistent, test = Xte,
    on_batch = function(b, nb, rec)
      if b % 50 == 0 or b == nb then
        io.write(string.format("\r  CD-%-2d batch %4d/%d: reconstruction error %7.3f ", k, b, nb, rec))
        io.flush()
        if live and b % 200 == 0 then filters(rbm, k, 2 * cols + i) fig:show() end
      end
    end,
    on_epoch = function(e, hist)
      print(string.format("\r  CD-%-2d epoch %2d: free energy train %9.3f " ..
        " test %9.3f   reconstruction %7.3f   %.2f s",
                          k, e, hist.train_fe[e], hist.test_fe[e], hist.recon[e], hist.secs[e]))
      chains = samples(rbm, k, i, "epoch " .. e)
      filters(rbm, k, 2 * cols + i)
      curves_te[i] = {y = G.tensor(hist.test_fe), label = "CD-" .. k}
      curves_rec[i] = {y = G.tensor(hist.recon), label = "CD-" .. k}
      draw_curves()
      fig:show()
    end})
  local secs = 0
  for _, s in ipairs(h.secs) do secs = secs + s end
  local t0 = G.time()
  local logZ, se = rbm:ais{runs = o.ais_runs, betas = o.ais_betas, data = Xtr, generator = G.Generator(o.seed)}
  local ll = rbm:log_likelihood(Xte)
  print(string.format("  CD-%-2d AIS: log Z = %.3f +- %.3f, test log-likelihood %.3f nats (%.1f s)", k, logZ, se, ll,
                      G.time() - t0))
  local path = G.handin.save(handin_dir, string.format("model_rbm_k%d_seed%d.pt", k, o.seed),
                             function(p) G.save_pt(p, rbm:state_dict()) end,
                             {config = G.handin.config(o), seed = o.seed, metric = "test free energy",
                              value = h.test_fe[#h.test_fe], note = string.format("CD-%d", k)})
  for _, which in ipairs{"data", "random"} do
    C.not_degenerate(string.format("CD-%d's 64 samples from %s", k, which == "data" and "test images" or "random pixels"),
                     chains.images[which])
  end
  return {k = k, rbm = rbm, test_fe = h.test_fe[#h.test_fe], train_fe = h.train_fe[#h.train_fe],
          recon = h.recon[#h.recon], logZ = logZ, se = se, ll = ll, secs = secs / #h.secs, path = path,
          chains = chains}
end

-- "the effect of k", from the numbers
local function effect_of_k(rs)
  if #rs < 2 then return nil end
  local lo, hi = rs[1], rs[#rs]
  local function change(a, b, unit)
    return string.format("%s from %.2f to %.2f%s", b > a and "rises" or "falls", a, b, unit or "")
  end
  return string.format("from k = %d to k = %d the test log-likelihood %s (log Z %.1f -> %.1f), the test free "
                       .. "energy %s, the reconstruction error %s; each epoch "
                       .. "costs %.1fx the time. A longer negative chain " ..
                         "moves further from the data towards the "
                       .. "model's own samples, so the update is less " ..
                         "biased and the modes that the data do not "
                       .. "support get pushed down (compare the chains in " ..
                         "the figure); the free energy alone ignores "
                       .. "log Z, so it cannot rank the models.",
                       lo.k, hi.k, change(lo.ll, hi.ll, " nats"), lo.logZ, hi.logZ, change(lo.test_fe, hi.test_fe),
                       change(lo.recon, hi.recon), hi.secs / lo.secs)
end

for i, k in ipairs(ks) do
  print(string.format("\nCD-%d", k))
  results[i] = train(i, k)
end
draw_curves()
local kx, lly = {}, {}
for i, r in ipairs(results) do kx[i], lly[i] = r.k, r.ll end
fig:line({x = G.tensor(kx), y = G.tensor(lly), label = "AIS estimate"},
         {panel = 3 * cols, title = "test log-likelihood by AIS against k", xlabel = "k (Gibbs steps of CD-k)",
          ylabel = "nats per image"})
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
fig:show()

print(string.format("\nRBM: test set (%d images), after %d epochs", Xte.shape[1], o.epochs))
print(string.format("  %3s  %12s  %12s  %18s  %18s  %14s  %8s", "k", "test F", "train F", "log Z (AIS)",
                    "test log p(v)", "reconstruction", "s/epoch"))
local best = results[1]
for _, r in ipairs(results) do
  print(string.format("  %3d  %12.3f  %12.3f  %11.3f +- %4.2f  %11.3f +- %4.2f  %14.3f  %8.2f", r.k, r.test_fe, r.train_fe,
                      r.logZ, r.se, r.ll, r.se, r.recon, r.secs))
  if r.test_fe < best.test_fe then best = r end
end
local effect = effect_of_k(results)
if effect then print("  effect of k: " .. effect) end

-- The floor against the simplest model: independent pixels, each a Bernoulli fitted to the same
-- training images (one pseudo-count each way), whose test log-likelihood is exact.
local indep = G.models.RBM.independent_log_likelihood(Xtr, Xte)
local best_ll = results[1]
for _, r in ipairs(results) do if r.ll > best_ll.ll then best_ll = r end end
print(string.format("  independent pixels (Bernoulli per pixel, fitted to " ..
  "the %d training images): test log-likelihood %.3f nats",
                    Xtr.shape[1], indep))
C.floor(string.format("RBM CD-%d test log-likelihood above independent pixels'", best_ll.k), best_ll.ll - indep, ">=", 60,
        string.format("%.2f against %.2f nats", best_ll.ll, indep))
local rows = G.json.array()
for i, r in ipairs(results) do
  rows[i] = {k = r.k, test_fe = r.test_fe, train_fe = r.train_fe, logZ = r.logZ, se = r.se, ll = r.ll,
             recon = r.recon, secs = r.secs, chains_degenerate = r.chains.data.degenerate or r.chains.random.degenerate,
             independent_ll = indep,
             spread_data = r.chains.data.spread, spread_random = r.chains.random.spread}
end
local saved = G.handin.save_results(handin_dir, "results.json", rows,
                                    {config = G.handin.config(o), seed = o.seed, options = o})
local rule = "the lowest mean test free energy, the graded number"
local graded = G.handin.save(handin_dir, string.format("model_rbm_seed%d.pt", o.seed),
                             function(p) G.save_pt(p, best.rbm:state_dict()) end,
                             {config = G.handin.config(o), seed = o.seed, rule = rule, metric = "test free energy",
                              value = best.test_fe, note = string.format("CD-%d", best.k)})
print(string.format("  checkpoint to hand in: %s = CD-%d (%s: %.3f); " ..
  "one per k beside it; list in %s/manifest.json",
                    graded, best.k, rule, best.test_fe, handin_dir))
return C.finish{results = results, chosen = best.k, graded = graded, effect = effect, figure = fig, options = o,
                results_file = saved, folder = handin_dir, independent_ll = indep}
