-- Seed 004 problem 4, the RBM part: a binary RBM with 128 hidden units on
-- binary MNIST (pixels above 0.5 set to 1), trained by CD-k for k = 1, 5, 25
-- with the same hyper-parameters for each: batch 64, SGD with lr 0.05 and
-- momentum 0.5 (Hinton's guide's starting values; the starter's are not in
-- the seed), W ~ N(0, 0.01^2), biases 0, seed 2025 ("do not change the seed").
-- The three k train side by side, the largest first (genlab.jobs, models.RBM.fit_job).
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
-- The two sets of chains of one k's latest epoch (models.RBM.fit_job draws them) in its panels.
local function draw_chains(k, i, when, chains)
  for row, which in ipairs{"data", "random"} do
    fig:grid(chains[which], {panel = (row - 1) * cols + i, rows = 8, cols = 8, norm = "none",
                             title = string.format("CD-%d, %s: %d Gibbs steps from %s", k, when, o.steps,
                                                   row == 1 and "test images" or "random pixels")})
  end
end

local function filters(Wt, k, panel)
  fig:grid(Wt, {panel = panel, rows = 8, cols = Wt.shape[1] // 8, norm = "tile", signed = true,
                title = string.format("CD-%d: the %d hidden units' weights", k, Wt.shape[1])})
end

local curves_te, curves_rec, results = {}, {}, {}
local function draw_curves()                   -- the k that have reported, in the order of ks
  local te, rec = {}, {}
  for i = 1, n do
    if curves_te[i] then te[#te + 1], rec[#rec + 1] = curves_te[i], curves_rec[i] end
  end
  if #te == 0 then return end
  fig:line(te, {panel = cols, title = "mean free energy of the test images", xlabel = "epoch", ylabel = "F(v)"})
  fig:line(rec, {panel = 2 * cols, title = "one-step reconstruction error", xlabel = "epoch",
                        ylabel = "sum of squares per image"})
end

-- One k's result, from its task's: the RBM, its numbers, its checkpoint and its last chains.
local function result(k, r, chains)
  local rbm = G.models.RBM(784, o.hidden, {seed = o.seed})
  rbm:load_state_dict(r.state)
  local h = r.history
  local secs = 0
  for _, s in ipairs(h.secs) do secs = secs + s end
  print(string.format("  CD-%-2d AIS: log Z = %.3f +- %.3f, test log-likelihood %.3f nats (%.1f s)", k, r.logZ, r.se,
                      r.ll, r.ais_secs))
  local path = G.handin.save(handin_dir, string.format("model_rbm_k%d_seed%d.pt", k, o.seed),
                             function(p) G.save_pt(p, rbm:state_dict()) end,
                             {config = G.handin.config(o), seed = o.seed, metric = "test free energy",
                              value = h.test_fe[#h.test_fe], note = string.format("CD-%d", k)})
  local health = {}
  for _, which in ipairs{"data", "random"} do
    C.not_degenerate(string.format("CD-%d's 64 samples from %s", k, which == "data" and "test images" or "random pixels"),
                     chains[which])
    health[which] = select(2, G.viz.degenerate(chains[which]))
  end
  return {k = k, rbm = rbm, test_fe = h.test_fe[#h.test_fe], train_fe = h.train_fe[#h.train_fe],
          recon = h.recon[#h.recon], logZ = r.logZ, se = r.se, ll = r.ll, secs = secs / #h.secs, path = path,
          chains = {data = health.data, random = health.random, images = chains}}
end

-- "the effect of k", from the numbers
local function effect_of_k(rs)
  if #rs < 2 then return nil end
  local lo, hi = rs[1], rs[#rs]
  local function change(a, b, unit)
    return string.format("%s from %.2f to %.2f%s", b > a and "rises" or "falls", a, b, unit or "")
  end
  return string.format("from k = %d to k = %d the test log-likelihood %s (log Z %.1f -> %.1f), the test free "
                       .. "energy %s, the reconstruction error %s; each update "
                       .. "runs %gx the Gibbs steps. A longer negative chain " ..
                         "moves further from the data towards the "
                       .. "model's own samples, so the update is less " ..
                         "biased and the modes that the data do not "
                       .. "support get pushed down (compare the chains in " ..
                         "the figure); the free energy alone ignores "
                       .. "log Z, so it cannot rank the models.",
                       lo.k, hi.k, change(lo.ll, hi.ll, " nats"), lo.logZ, hi.logZ, change(lo.test_fe, hi.test_fe),
                       change(lo.recon, hi.recon), hi.k / lo.k)
end

-- Every k trains as a genlab.jobs task, the largest k first (it takes longest); the others share
-- the second core. Each epoch's line, chains and filters arrive here as they are made.
local order, tasks, last_chains = {}, {}, {}
for i in ipairs(ks) do order[i] = i end
table.sort(order, function(a, b) return ks[a] > ks[b] end)
for t, i in ipairs(order) do
  tasks[t] = {fn = "genlab.models.RBM.fit_job", label = "CD-" .. ks[i],
              arg = {k = ks[i], hidden = o.hidden, epochs = o.epochs, train = o.train, test = o.test, batch = o.batch,
                     lr = o.lr, momentum = o.momentum, persistent = o.persistent, seed = o.seed, steps = o.steps,
                     ais_runs = o.ais_runs, ais_betas = o.ais_betas, live = not G.viz.headless()}}
end
print(string.format("\n%d values of k, %d at a time", #ks, G.jobs.workers(#ks)))
local tr, te = {}, {}
local done = G.jobs.run(tasks, {on_message = function(t, m)
  local i = order[t]
  local k = ks[i]
  if m.filters then filters(m.filters, k, 2 * cols + i) end
  if m.epoch then
    print(string.format("  CD-%-2d epoch %2d: free energy train %9.3f  test %9.3f   reconstruction %7.3f   %.2f s",
                        k, m.epoch, m.train_fe, m.test_fe, m.recon, m.secs))
    if m.chains then                        -- every epoch in a window; headless, the last one
      draw_chains(k, i, "epoch " .. m.epoch, m.chains)
      last_chains[i] = m.chains
    end
    tr[i], te[i] = tr[i] or {}, te[i] or {}
    tr[i][m.epoch], te[i][m.epoch] = m.recon, m.test_fe
    curves_te[i] = {y = G.tensor(te[i]), label = "CD-" .. k}
    curves_rec[i] = {y = G.tensor(tr[i]), label = "CD-" .. k}
    draw_curves()
  end
  fig:show()
end})
local task_of = {}
for t, i in ipairs(order) do task_of[i] = t end
for i, k in ipairs(ks) do results[i] = result(k, done[task_of[i]], last_chains[i]) end
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
if #results > 1 and G.jobs.workers(#results) > 1 then
  print(string.format("  s/epoch: wall time, with %d models training side by side", G.jobs.workers(#results)))
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
