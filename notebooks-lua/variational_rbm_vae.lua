-- %% [markdown]
-- # Homework 1 (seed 004): variational inference, RBMs and VAEs
--
-- A genlab notebook: it runs as a plain script (`./genlab notebooks-lua/variational_rbm_vae.lua`,
-- `--full` for the seed's sizes), and each `-- %%` starts a cell. This part answers the VAE half of
-- problem 4 (VAE1 and VAE2 on MNIST); the written problems 1 to 3 and the RBM of problem 4 join it
-- with their exercises. `scripts/seed004_4_vae.lua` runs the same experiment with every figure.
--
-- ## 4. Variational auto-encoders on MNIST
--
-- Both models have a Gaussian encoder $q_\phi(\mathbf{z} \mid \mathbf{x}) =
-- \mathcal{N}(\boldsymbol\mu_\phi(\mathbf{x}), \operatorname{diag} e^{\boldsymbol\ell_\phi(\mathbf{x})})$,
-- whose network outputs the mean and the *log*-variance $\boldsymbol\ell$ (so the variance is positive
-- without a constraint), the prior $p(\mathbf{z}) = \mathcal{N}(\mathbf{0}, I)$, and a decoder
-- $\hat{\mathbf{x}}_\theta(\mathbf{z}) \in (0, 1)^{784}$. The seed's loss per image is
--
-- $$-\mathrm{ELBO} = \|\mathbf{x} - \hat{\mathbf{x}}_\theta(\mathbf{z})\|^2
--   + \tfrac12 \sum_{j=1}^{N_z} \left(e^{\ell_j} + \mu_j^2 - 1 - \ell_j\right),
--   \qquad \mathbf{z} = \boldsymbol\mu + e^{\boldsymbol\ell / 2} \odot \boldsymbol\epsilon,\;
--   \boldsymbol\epsilon \sim \mathcal{N}(\mathbf{0}, I),$$
--
-- the squared error summed over the 784 pixels (it is $-\log p(\mathbf{x} \mid \mathbf{z})$ for
-- $\mathcal{N}(\hat{\mathbf{x}}, \tfrac12 I)$ up to the constant $392 \log \pi$) plus the KL in closed
-- form, averaged over the batch. The pixels are MNIST's intensities scaled to $[0, 1]$, not binarised.
-- Adam with learning rate $10^{-3}$ and batches of 128 (the starter's values are not in the seed).
--
-- * **VAE1** (`genlab.vae.MLP`): encoder Linear(784, 500)–tanh–Linear(500, $2N_z$), decoder
--   Linear($N_z$, 500)–tanh–Linear(500, 784)–sigmoid.
-- * **VAE2** (`genlab.vae.CNN`, Tables 1–2): three Conv(3×3, 8 channels, padding 1)–ReLU–MaxPool(2)
--   blocks take $28 \to 14 \to 7 \to 3$; a linear layer maps the 72 features to the mean and
--   log-variance. The decoder maps $\mathbf{z}$ to 72 numbers, viewed as $8 \times 3 \times 3$, and three
--   ConvTranspose(2×2, stride 2)–ReLU layers take $3 \to 7$ (output padding 1) $\to 14 \to 28$, then
--   Conv(3×3, 1 channel)–sigmoid.
--
-- The graded metric is the test-set reconstruction loss, the first term above with $\mathbf{z}$ drawn
-- from $q$, per image.

-- %% setup
local G = require "genlab"
local C = dofile((arg[0]:match("^(.*/)") or "./") .. "../scripts/common.lua")
local V = G.vae
local o = C.options({nz = "2,5,10,20", epochs = 2, train = 3000, test = 1000, seed = 2025},
                    {nz = "2,5,10,20", epochs = 30, train = 60000, test = 10000, seed = 2025},
                    "Seed 004's notebook: problem 4, the VAEs")
local Xtr = G.data.mnist{flat = true, limit = o.train}
local Xte, yte = G.data.mnist{flat = true, split = "test", limit = o.test}
local nzs = {}
for v in o.nz:gmatch("[^,]+") do nzs[#nzs + 1] = math.tointeger(tonumber(v)) end
print(string.format("%d training and %d test images, %d epochs per model, seed %d", Xtr.shape[1], Xte.shape[1], o.epochs, o.seed))

-- Train one kind of model for every N_z: its table of test metrics, the models and their samples.
local function sweep(make, name)
  local results = {}
  print(string.format("%-5s %4s %14s %9s %7s %8s", name, "N_z", "reconstruction", "-ELBO", "KL", "s/epoch"))
  for k, nz in ipairs(nzs) do
    local m = make{nz = nz, seed = o.seed}
    local h = V.fit(m, Xtr, Xte, {epochs = o.epochs, seed = o.seed})
    local secs = 0
    for _, s in ipairs(h.secs) do secs = secs + s end
    results[k] = {nz = nz, rec = h.rec[#h.rec], kl = h.kl[#h.kl], model = m, train = h.train}
    print(string.format("%-5s %4d %14.3f %9.3f %7.3f %8.2f", "", nz, h.rec[#h.rec], h.neg_elbo[#h.neg_elbo], h.kl[#h.kl], secs / #h.secs))
  end
  return results
end

-- 8x8 samples of each model, one panel per N_z, from the same z.
local function samples_figure(results, title, name)
  local fig = G.viz.figure{title = title, rows = 1, cols = #results, width = 380 * #results, height = 430, name = name}
  for k, r in ipairs(results) do
    fig:grid(r.model:sample(64, {generator = G.Generator(o.seed)}), {panel = k, rows = 8, cols = 8, norm = "none",
             title = string.format("N_z = %d", r.nz)})
  end
  fig:show()
  if G.viz.headless() then print("figure: " .. fig:save()) end
end

-- %% [markdown]
-- ### VAE1: the MLP
--
-- For each $N_z$ the table gives the test reconstruction loss, the test $-\mathrm{ELBO}$ and KL (per
-- image, nats up to the constant) and the training time per epoch.

-- %% VAE1 for every N_z
local mlp = sweep(V.MLP, "VAE1")
print("effect of N_z: " .. V.effect_of_nz(mlp))
samples_figure(mlp, "VAE1 (MLP): 64 samples per N_z", "notebook_vae1_samples")

-- %% [markdown]
-- For $N_z = 2$ the code can be drawn: the means of $q(\mathbf{z} \mid \mathbf{x})$ of the test images,
-- coloured by digit, and the decoder over a grid of $\mathbf{z}$ (rows: $z_2$ from $2.5$ down to $-2.5$;
-- columns: $z_1$ from $-2.5$ to $2.5$).

-- %% the 2-D latent space of VAE1
local two
for _, r in ipairs(mlp) do if r.nz == 2 then two = r.model end end
if two then
  local fig = G.viz.figure{title = "VAE1, N_z = 2", rows = 1, cols = 2, width = 1100, height = 560, name = "notebook_vae1_latent"}
  local mu = V.means(two, Xte)
  fig:scatter(mu:select(2, 1), mu:select(2, 2), {panel = 1, colors = yte + 1, sizes = 2, xlabel = "z1", ylabel = "z2",
                                                 title = "test means of q(z|x), colour = digit"})
  fig:grid(V.manifold(two, 15), {panel = 2, rows = 15, cols = 15, norm = "none", title = "decoded z over [-2.5, 2.5]^2"})
  fig:show()
  if G.viz.headless() then print("figure: " .. fig:save()) end
end

-- %% [markdown]
-- ### VAE2: the CNN of Tables 1 and 2
--
-- The same sweep. VAE2 has a few thousand parameters against VAE1's 0.8 million, and its 8-channel
-- bottleneck of $3 \times 3$ makes it learn more slowly: in the short configuration it has barely
-- started, and the seed's 30 epochs (`--full`) are needed to compare the two.

-- %% VAE2 for every N_z
local cnn = sweep(V.CNN, "VAE2")
print("effect of N_z: " .. V.effect_of_nz(cnn))
samples_figure(cnn, "VAE2 (CNN): 64 samples per N_z", "notebook_vae2_samples")

-- %% [markdown]
-- ### The effect of $N_z$, and the checkpoints
--
-- A larger $N_z$ lets the encoder keep more of each image, so a converged model's reconstruction loss
-- falls as $N_z$ grows while the KL, the price of the code, rises; the printed lines above say whether
-- this run's numbers already show it. Samples go the other way: with $N_z = 2$ the aggregate posterior
-- fills the prior and every $\mathbf{z}$ decodes to a (blurry) digit, while for $N_z = 20$ much of
-- $\mathcal{N}(\mathbf{0}, I)$ lies where no training image was encoded, and samples mix strokes.
--
-- The course collects `model_vae_seed2025.pt` and `model_vae2_seed2025.pt`: PyTorch state dicts of the
-- classes `VAE` and `ConvVAE` shown in README.md, for the $N_z$ with the lowest test reconstruction loss.

-- %% checkpoints
os.execute("mkdir -p out/models")
for _, set in ipairs{{mlp, "model_vae"}, {cnn, "model_vae2"}} do
  local best = set[1][1]
  for _, r in ipairs(set[1]) do if r.rec < best.rec then best = r end end
  local path = string.format("out/models/%s_seed%d.pt", set[2], o.seed)
  G.save_pt(path, best.model)
  print(string.format("%s: N_z = %d, test reconstruction loss %.3f", path, best.nz, best.rec))
end
