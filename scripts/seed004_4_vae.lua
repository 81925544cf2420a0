-- Seed 004 problem 4, the VAE part: VAE1 (an MLP with one tanh hidden layer
-- of 500) and VAE2 (the CNN of Tables 1-2) on MNIST, for N_z = 2, 5, 10, 20.
-- The loss is the seed's -ELBO: MSE summed over the 784 pixels + the
-- closed-form KL, averaged over the batch; Adam, lr 1e-3, batch 128 (the
-- starter notebook's values are not in the seed: these are the course's
-- peers' and PyTorch's usual ones). Pixels are MNIST's intensities scaled
-- to [0, 1], not binarised: the MSE is a Gaussian likelihood.
-- The N_z of a model train side by side (genlab.jobs, vae.fit_job: one process per core).
-- For each model and N_z: per-epoch train -ELBO and test reconstruction loss
-- (the graded metric), 8x8 samples drawn live, test images beside their
-- reconstructions, and for N_z = 2 the latent means of the test set and the
-- decoded manifold. Checkpoints go to the hand-in folder, out/seed004_4_vae/ (a notebook's own
-- when one runs it), listed in its manifest.json. The quality floors of a trained result, at
-- N_z = 20: VAE1's test reconstruction <= 25 (and falling from N_z = 2), VAE2's <= 40 with a KL of
-- at least 5 nats (a code in use, not collapsed to the prior) and samples that are not degenerate.
--
--   ./genlab scripts/seed004_4_vae.lua               all 60,000 images, batch 64, lr 2e-3: VAE1 2 epochs,
--                                                    VAE2 1 (a couple of minutes)
--   ./genlab scripts/seed004_4_vae.lua --smoke       3,000 images, N_z = 2 and 20, 2 epochs: the tests' run
--   ./genlab scripts/seed004_4_vae.lua --full        all 60,000, 30 epochs, the 10,000 test images
--   ./genlab scripts/seed004_4_vae.lua --model=mlp --nz=2,20
local G = require "genlab"
local C = require "common"
local V = G.vae
-- epochs is VAE1's, cnn_epochs VAE2's: an epoch of the CNN costs about three of the MLP's, and
-- one epoch of 60,000 images at batch 64 takes it as far as two take the MLP. The default's
-- smaller batches and larger rate reach a trained model in fewer passes than --full's.
local o = C.options({model = "both", nz = "2,20", epochs = 2, cnn_epochs = 2, train = 3000, test = 1000, batch = 128,
                     lr = 1e-3, seed = 2025},
                    {model = "both", nz = "2,5,10,20", epochs = 2, cnn_epochs = 1, train = 60000, test = 10000, batch = 64,
                     lr = 2e-3, seed = 2025},
                    {model = "both", nz = "2,5,10,20", epochs = 30, cnn_epochs = 30, train = 60000, test = 10000, batch = 128,
                     lr = 1e-3, seed = 2025},
                    "Seed 004 problem 4: VAE1 (MLP) and VAE2 " ..
                    "(CNN) on MNIST for several latent sizes N_z",
                    {model = {"mlp", "cnn", "both"}})
local handin_dir = G.handin.folder("seed004_4_vae")   -- the checkpoints to hand in, and manifest.json

G.manual_seed(o.seed)
local n_train = G.data.mnist{flat = true, limit = o.train}.shape[1]    -- the jobs load their own copy
local Xte, yte = G.data.mnist{flat = true, split = "test", limit = o.test}
print(string.format("MNIST: %d training and %d test images of 784 pixels in [0, 1]; Adam lr %g, batch %d, " ..
                    "%d epochs (VAE1) and %d (VAE2), seed %d",
                    n_train, Xte.shape[1], o.lr, o.batch, o.epochs, o.cnn_epochs, o.seed))
local nzs = {}
for v in o.nz:gmatch("[^,]+") do nzs[#nzs + 1] = math.tointeger(tonumber(v)) end

-- 32 test images, each row of 8 followed by its 8 reconstructions
local function beside(X, R)
  local rows = {}
  for r = 0, 3 do
    rows[#rows + 1] = X:narrow(1, 8 * r + 1, 8):reshape(8, 784)
    rows[#rows + 1] = R:narrow(1, 8 * r + 1, 8):reshape(8, 784)
  end
  return G.cat(rows, 1)
end

local function epochs(kind) return kind == "mlp" and o.epochs or o.cnn_epochs end

-- The models of one kind, one per N_z, trained side by side (genlab.jobs: a process per core);
-- each epoch's line and samples arrive here as the models train.
local function run_model(kind)
  local title = kind == "mlp" and "VAE1 (MLP, hidden 500)" or "VAE2 (CNN, Tables 1-2)"
  local file = kind == "mlp" and "model_vae" or "model_vae2"
  local fig = G.viz.figure{title = "Seed 004: " .. title .. " on MNIST", rows = 3, cols = 4, width = 1600,
                           height = 1250, name = "vae_" .. kind}
  local curves, recs, results, tasks = {}, {}, {}, {}
  print(string.format("\n%s: %d models, %d at a time", title, #nzs, G.jobs.workers(#nzs)))
  for k, nz in ipairs(nzs) do
    tasks[k] = {fn = "genlab.vae.fit_job", label = string.format("%s N_z = %d", title, nz),
                arg = {kind = kind, nz = nz, epochs = epochs(kind), batch = o.batch, lr = o.lr, seed = o.seed,
                       train = o.train, test = o.test}}
  end
  local samples = {}
  local done = G.jobs.run(tasks, {on_message = function(k, e)
    local nz = nzs[k]
    print(string.format("  N_z = %2d  epoch %2d: train -ELBO %8.3f   " ..
      "test reconstruction %8.3f   KL %6.3f   %.2f s", nz, e.epoch, e.train, e.rec, e.kl, e.secs))
    samples[k] = e.samples
    if k <= 4 then
      fig:grid(e.samples, {panel = k, rows = 8, cols = 8, norm = "none",
                           title = string.format("N_z = %d: 64 samples, epoch %d", nz, e.epoch)})
      fig:show()
    end
  end})
  for k, nz in ipairs(nzs) do
    local h, m = done[k].history, (kind == "mlp" and V.MLP or V.CNN){nz = nz, seed = o.seed}
    m:load_state_dict(done[k].state)
    local secs = 0
    for _, s in ipairs(h.secs) do secs = secs + s end
    results[k] = {nz = nz, rec = h.rec[#h.rec], neg_elbo = h.neg_elbo[#h.neg_elbo], kl = h.kl[#h.kl],
                  secs = secs / #h.secs, params = m:num_parameters(), samples = samples[k]}
    curves[#curves + 1] = {y = G.tensor(h.train), label = "N_z = " .. nz}
    recs[#recs + 1] = {y = G.tensor(h.rec), label = "N_z = " .. nz}
    if k <= 4 then
      local panel = ({7, 8, 11, 12})[k]
      fig:grid(beside(Xte, m:reconstruct(Xte:narrow(1, 1, 32))), {panel = panel, rows = 8, cols = 8, norm = "none",
               title = string.format("N_z = %d: test images (rows 1, 3, ...) and reconstructions", nz)})
    end
    if nz == 2 then
      local mu = V.means(m, Xte)
      fig:scatter(mu:select(2, 1), mu:select(2, 2), {panel = 9, colors = yte + 1, sizes = 2,
                  legend = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
                  title = "N_z = 2: test means of q(z|x), colour = digit", xlabel = "z1", ylabel = "z2"})
      fig:grid(V.manifold(m, 15), {panel = 10, rows = 15, cols = 15, norm = "none",
                                   title = "N_z = 2: decoded z over [-2.5, 2.5]^2"})
    end
    local stem, info = string.format("%s_nz%d_seed%d", file, nz, o.seed),
                       {config = G.handin.config(o), seed = o.seed, metric = "test reconstruction",
                        value = results[k].rec, note = string.format("N_z = %d", nz)}
    local path = G.handin.save(handin_dir, stem .. ".pt", function(p) G.save_pt(p, m) end, info)
    G.handin.save(handin_dir, stem .. ".ckpt", function(p) G.save(p, m:state_dict()) end, info)
    results[k].model, results[k].path = m, path
  end
  fig:line(curves, {panel = 5, title = "training -ELBO per epoch", xlabel = "epoch", ylabel = "nats (MSE + KL) / image"})
  fig:line(recs, {panel = 6, title = "test reconstruction loss per epoch", xlabel = "epoch", ylabel = "MSE summed over pixels"})
  print("figure: " .. (G.viz.headless() and fig:save() or "window"))
  fig:show()
  return results, file
end

-- The floors of a trained result, at N_z = 20 (when the run has it).
local function floors(kind, results)
  local first, last = results[1], results[#results]
  if last.nz ~= 20 then
    print("  floors: checked at N_z = 20, which this run does not train")
    return
  end
  if kind == "mlp" then
    C.floor("VAE1 N_z=20 test reconstruction", last.rec, "<=", 25)
    if first.nz < last.nz then
      C.floor(string.format("VAE1 test reconstruction from N_z=%d to N_z=20", first.nz), last.rec - first.rec, "<", 0,
              string.format("%.2f -> %.2f", first.rec, last.rec))
    end
  else
    C.floor("VAE2 N_z=20 test reconstruction", last.rec, "<=", 40)
    C.floor("VAE2 N_z=20 KL (nats, not collapsed)", last.kl, ">=", 5)
  end
  C.not_degenerate(string.format("%s N_z=20 64 samples", kind == "mlp" and "VAE1" or "VAE2"), last.samples)
end

local function report(kind, results, file)
  print(string.format("\n%s: test set, after %d epochs", kind == "mlp" and "VAE1 (MLP)" or "VAE2 (CNN)", epochs(kind)))
  print(string.format("  %4s  %14s  %10s  %8s  %9s  %10s", "N_z", "reconstruction", "-ELBO", "KL", "s/epoch", "parameters"))
  local best = results[1]
  for _, r in ipairs(results) do
    print(string.format("  %4d  %14.3f  %10.3f  %8.3f  %9.2f  %10d", r.nz, r.rec, r.neg_elbo, r.kl, r.secs, r.params))
    if r.rec < best.rec then best = r end
  end
  if #results > 1 and G.jobs.workers(#results) > 1 then
    print(string.format("  s/epoch: wall time, with %d models training side by side", G.jobs.workers(#results)))
  end
  if #results > 1 then print("  effect of N_z: " .. V.effect_of_nz(results)) end
  floors(kind, results)
  local rule = "the lowest test reconstruction loss"
  local graded = G.handin.save(handin_dir, string.format("%s_seed%d.pt", file, o.seed),
                               function(p) G.save_pt(p, best.model) end,
                               {config = G.handin.config(o), seed = o.seed, rule = rule,
                                metric = "test reconstruction", value = best.rec,
                                note = string.format("N_z = %d", best.nz)})
  print(string.format("  checkpoint to hand in: %s = N_z %d (%s: %.3f); " ..
    "one per N_z beside it; list in %s/manifest.json",
                      graded, best.nz, rule, best.rec, handin_dir))
  return {results = results, best = best, graded = graded}
end

-- per model kind, for a notebook: {results = {{nz, rec, neg_elbo, kl, secs, params, model, path}, ...}, best, graded}
local out = {options = o}
for _, kind in ipairs(o.model == "both" and {"mlp", "cnn"} or {o.model}) do
  out[kind] = report(kind, run_model(kind))
end
return C.finish(out)
