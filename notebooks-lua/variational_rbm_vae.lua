-- %% [markdown]
-- # Homework 1 (seed 004): variational inference, RBMs and VAEs
--
-- A genlab notebook. It runs as a plain script (`./genlab notebooks-lua/variational_rbm_vae.lua`)
-- and renders to a report with `./genlab notebook notebooks-lua/variational_rbm_vae.lua --pdf`.
-- Each exercise runs in the notebook's configuration: the default trains the RBMs and VAEs on all
-- 60,000 training images for a few epochs, enough for trained results in minutes; `--full` gives
-- the seed's sizes (20 epochs for the RBMs, 30 for the VAEs); `--smoke` is the tests' run, seconds
-- on a few thousand images, too short to train.
-- Problems 1 to 3 and EC-1 are derivations: each answer is written out, then its exercise script
-- checks it in numbers against an independent reference (enumeration, closed forms, autodiff, the
-- exact posterior) and fails if a check does not hold. Problem 4 trains the RBM by CD-k on binary
-- MNIST (through `scripts/seed004_4_rbm.lua`) and the VAEs on MNIST (`scripts/seed004_4_vae.lua`
-- runs the same VAE experiment with every figure).

-- %% setup
local G = require "genlab"
local C = require "common"
-- the sizes are each exercise's own for the configuration (--smoke, the default or --full)
local o = C.options({seed = 2025}, {seed = 2025}, {seed = 2025},
                    "Seed 004's notebook: problems 1-3 and EC-1 checked, problem 4's RBM and VAEs")
local args = C.passed(o)
print(("configuration: %s (--smoke: the tests' seconds; the default: trained results in minutes; " ..
       "--full: the seed's sizes)"):format(G.handin.config(o)))

-- %% [markdown]
-- ## 1. Mean field for a Boltzmann machine
--
-- $E(\mathbf{x}, \mathbf{z}) = -\mathbf{x}^\top W \mathbf{z} - \frac12 \mathbf{x}^\top B \mathbf{x} - \frac12 \mathbf{z}^\top A \mathbf{z}$.
--
-- **(a)** For any $q(\mathbf{z} \mid \mathbf{x})$, by Jensen's inequality for the concave $\log$,
-- $$\log p(\mathbf{x}) = \log \sum_{\mathbf{z}} q(\mathbf{z}|\mathbf{x}) \frac{p(\mathbf{x}, \mathbf{z})}{q(\mathbf{z}|\mathbf{x})}
--   \ge \mathbb{E}_q[\log p(\mathbf{x}, \mathbf{z})] + H(q),$$
-- and the gap is $\mathrm{KL}(q \,\|\, p(\mathbf{z} \mid \mathbf{x}))$.
--
-- **(b)** With $q = \prod_j \mathrm{Bernoulli}(\mu_j)$ and $A_{jj} = 0$,
-- $\mathbb{E}_q[-E] = \mathbf{x}^\top W \boldsymbol\mu + \frac12 \mathbf{x}^\top B \mathbf{x} + \frac12 \boldsymbol\mu^\top A \boldsymbol\mu$,
-- so the bound is that minus $\log Z$ plus $H(q) = -\sum_j [\mu_j \log \mu_j + (1 - \mu_j)\log(1 - \mu_j)]$.
-- Setting $\partial / \partial \mu_j = (W^\top \mathbf{x})_j + \sum_{\ell \ne j} A_{\ell j} \mu_\ell - \log \frac{\mu_j}{1 - \mu_j} = 0$
-- gives $\mu_j = \sigma\big(\sum_i W_{ij} x_i + \sum_{\ell \neq j} A_{\ell j} \mu_\ell\big)$.
--
-- **(c)** No. Updating all $\mu_j$ at once can cycle: two units with $A_{12} = -10$ and
-- $(W^\top\mathbf{x})_j = 4$, started at $0.5$, jump together between nearly off and nearly on
-- forever. Updating one unit at a time is coordinate ascent (each update is the exact maximiser
-- in $\mu_j$, the bound being concave in each $\mu_j$ alone), so the bound rises monotonically and,
-- being bounded, converges. The synchronous map does converge when it is a contraction: its
-- Jacobian is $\mathrm{diag}(\sigma') A$ with $\sigma' \le \frac14$, so $\frac14 \|A\|_2 < 1$ suffices.

-- %% 1. mean field, checked
C.exercise("seed004_1_mean_field", args)

-- %% [markdown]
-- ## 2. Gradient estimators for $\nabla_{\boldsymbol\mu} \mathbb{E}_{\mathbf{z} \sim N(\boldsymbol\mu, I)}[\frac12 \|\mathbf{z}\|^2]$
--
-- **(a)** Reparameterisation: draw $\boldsymbol\epsilon_1, \ldots, \boldsymbol\epsilon_L \sim N(0, I)$, set
-- $\mathbf{z}_l = \boldsymbol\mu + \boldsymbol\epsilon_l$ and average $\nabla_{\mathbf{z}} \frac12\|\mathbf{z}_l\|^2 = \mathbf{z}_l$.
-- One sample has mean $\boldsymbol\mu$ and total variance $\mathbb{E}\|\boldsymbol\epsilon\|^2 = d$.
--
-- **(b)** REINFORCE: draw $\mathbf{z}_l \sim N(\boldsymbol\mu, I)$ and average $f(\mathbf{z}_l) \nabla_{\boldsymbol\mu} \log N(\mathbf{z}_l; \boldsymbol\mu, I) = f(\mathbf{z}_l)(\mathbf{z}_l - \boldsymbol\mu)$.
-- Its mean is $\nabla_{\boldsymbol\mu} \mathbb{E} f = \boldsymbol\mu$. With $m = \|\boldsymbol\mu\|^2$ and the moments
-- $\mathbb{E}\|\boldsymbol\epsilon\|^{2k}$ of a $\chi^2_d$, its total variance is
-- $\frac14[m^2 d + 4m(d+2) + d(d+2)(d+4) + 2md(d+2)] - m$, which is $\frac14 d(d+2)(d+4) = \Omega(d^3)$ at $\boldsymbol\mu = 0$.
--
-- **(c)** Professor Guess is right here: $\frac12\|\mathbf{z}\|^2$ is smooth and its gradient is
-- integrable and locally dominated in $\boldsymbol\mu$, the condition for exchanging $\nabla$ and
-- $\mathbb{E}$ (dominated convergence; Glasserman, *Monte Carlo Methods in Financial Engineering*,
-- 2004, §7.2.2). The interchange fails for a discontinuous integrand, which the cell shows.

-- %% 2. estimators, checked
C.exercise("seed004_2_estimators", args)

-- %% [markdown]
-- ## 3. Bayesian linear regression by mean-field VI
--
-- **(a)** With $q(\boldsymbol\beta) = \prod_j N(\mu_j, s_j^2)$, $\mathbb{E}_q[(y_i - \boldsymbol\beta^\top\mathbf{x}_i)^2] = (y_i - \boldsymbol\mu^\top \mathbf{x}_i)^2 + \sum_j x_{ij}^2 s_j^2$, so
-- $$\mathrm{ELBO} = -\frac n2 \log 2\pi\sigma^2 - \frac{1}{2\sigma^2} \sum_i \Big[(y_i - \boldsymbol\mu^\top\mathbf{x}_i)^2 + \sum_j x_{ij}^2 s_j^2\Big]
--   - \frac12 \sum_j \big(s_j^2 + \mu_j^2 - 1 - \log s_j^2\big).$$
--
-- **(b)** With $R = \sum_i [\ldots]$ and $c_j = \sum_i x_{ij}^2$, gradient ascent at step $\eta$:
-- $$\sigma^{t+1} = \sigma^t + \eta\Big(-\frac{n}{\sigma} + \frac{R}{\sigma^3}\Big), \quad
--   \boldsymbol\mu^{t+1} = \boldsymbol\mu^t + \eta\Big(\frac{X^\top(\mathbf{y} - X\boldsymbol\mu)}{\sigma^2} - \boldsymbol\mu\Big), \quad
--   s_j^{t+1} = s_j^t + \eta\Big(-\frac{c_j s_j}{\sigma^2} - s_j + \frac{1}{s_j}\Big),$$
-- all at the values of iteration $t$. At the optimum $\boldsymbol\mu$ is the exact posterior mean,
-- $s_j^2 = 1/\Lambda_{jj}$ with $\Lambda = X^\top X/\sigma^2 + I$, and $\sigma^2 = R/n$.

-- %% 3. Bayesian linear regression, checked
C.exercise("seed004_3_blr", args)

-- %% [markdown]
-- ## EC-1. Noisy inputs
--
-- **(a)** $f_{X+E}(s) = \int_{-1}^{1} \frac12 \varphi(s - x)\,dx = \frac12\big(\Phi(s + 1) - \Phi(s - 1)\big)$.
--
-- **(b)** $f(\mathbf{0}) = \mathbb{E}_X[N(\mathbf{0}; X, I)] \ge \exp \mathbb{E}_X[\log N(\mathbf{0}; X, I)] = (2\pi)^{-d/2} e^{-d/2}$
-- by Jensen; since $\|\mathbf{x}\|^2 = d$ for every $\mathbf{x} \in \{-1, 1\}^d$ the bound is in fact the exact value.

-- %% EC-1. noisy inputs, checked
C.exercise("seed004_ec1_noisy_inputs", args)

-- %% [markdown]
-- ## 4. A restricted Boltzmann machine by CD-$k$
--
-- The RBM has binary visible units $\mathbf{v} \in \{0, 1\}^{784}$ (MNIST's pixels, set to 1 above
-- $0.5$), $d = 128$ binary hidden units $\mathbf{h}$ and the energy
-- $E(\mathbf{v}, \mathbf{h}) = -\mathbf{b}^\top\mathbf{v} - \mathbf{c}^\top\mathbf{h} - \mathbf{v}^\top W \mathbf{h}$.
-- Summing $\mathbf{h}$ out gives the free energy and the model's density,
--
-- $$F(\mathbf{v}) = -\mathbf{b}^\top\mathbf{v} - \sum_{j=1}^{128} \log\left(1 + e^{c_j + \mathbf{v}^\top W_{:j}}\right),
--   \qquad p(\mathbf{v}) = \frac{e^{-F(\mathbf{v})}}{Z}.$$
--
-- The units of one layer are independent given the other:
-- $p(h_j = 1 \mid \mathbf{v}) = \sigma(c_j + \mathbf{v}^\top W_{:j})$ and
-- $p(v_i = 1 \mid \mathbf{h}) = \sigma(b_i + W_{i:}\mathbf{h})$, so Gibbs sampling alternates two
-- blocks. The gradient of the log-likelihood is the data's statistics minus the model's,
-- $\partial \log p(\mathbf{v}) / \partial W = \mathbf{v}\, \sigma(\mathbf{c} + W^\top\mathbf{v})^\top
--  - \mathbb{E}_{p}\big[\mathbf{v}\, \sigma(\mathbf{c} + W^\top\mathbf{v})^\top\big]$;
-- CD-$k$ replaces the model's expectation by the state $\mathbf{v}_k$ that $k$ Gibbs steps reach from
-- each training image, $\Delta W \propto \mathbf{v}_0 \mathbf{p}_0^\top - \mathbf{v}_k \mathbf{p}_k^\top$
-- (and likewise $\mathbf{b}$, $\mathbf{c}$), written by hand, without autodiff.
--
-- The same hyper-parameters serve every $k$: batches of 64, SGD with learning rate $0.05$ and
-- momentum $0.5$, $W \sim \mathcal{N}(0, 0.01^2)$ and zero biases, seed 2025. The course grades the
-- mean free energy of the test images. $F$ leaves out $\log Z$, so it cannot rank two models; the
-- table also gives $\log Z$ by annealed importance sampling (Salakhutdinov & Murray 2008, 100 runs)
-- and the test log-likelihood $-F(\mathbf{v}) - \log Z$ with its standard error.

-- %% 4. the RBM for k = 1, 5, 25
local rbm = C.exercise("seed004_4_rbm", args)

-- %% what the prose below quotes from this run (and from a --full run, when there is one)
local function per_k(rows, field, fmt)
  local parts, ks = {}, {}
  for i, r in ipairs(rows) do parts[i], ks[i] = string.format(fmt, r[field]), r.k end
  return table.concat(parts, ", "):gsub(", ([^,]*)$", " and %1") .. " for $k = " .. table.concat(ks, ", ") .. "$"
end
local best_ll = rbm.results[1]
for _, r in ipairs(rbm.results) do if r.ll > best_ll.ll then best_ll = r end end
local stuck = {}
for _, r in ipairs(rbm.results) do
  if r.chains.data.degenerate or r.chains.random.degenerate then stuck[#stuck + 1] = "CD-" .. r.k end
end
local rbm_chains = #stuck == 0 and "every $k$'s chains still draw varied images"
  or (table.concat(stuck, ", ") .. "'s chains have collapsed (the samples barely differ, or many are identical)")
local full = G.handin.results({rbm.folder, "out/seed004_4_rbm"}, "results.json", "full")
local rbm_full = full and string.format("In a full run (`--full`, %s, commit %s: %d training images, %d epochs) " ..
    "the test log-likelihood is %s.", full.date:sub(1, 10), full.commit, full.options.train, full.options.epochs,
    per_k(full.results, "ll", "$%.1f$"))
  or "A `--full` run (all 60,000 images, 20 epochs) has not been " ..
    "made here; its numbers would be quoted in this place."

-- %% [markdown]
-- The first row of the figure runs chains from 64 test images, the second from images whose pixels
-- are independent with the training set's frequencies, the third shows each hidden unit's weights
-- $W_{:j}$ as a $28 \times 28$ filter (red positive, blue negative).
--
-- **The effect of $k$.** The line printed above reads it off this run's numbers: the test
-- log-likelihood, in nats, is {{ per_k(rbm.results, "ll", "$%.1f$") }}, highest for
-- $k = {{ best_ll.k }}$, and {{ rbm_chains }}.
-- {{! best_ll.k == rbm.results[#rbm.results].k | The longest chain gives the best model, as the argument below predicts }}.
-- CD-1's negative sample is one step from the data, so the update never sees the regions the model
-- wrongly favours far from the data: run for long, its chains can fall into such spurious modes
-- (images that look like no digit). Larger $k$ lets the negative chain wander towards the model's
-- own distribution, the update comes closer to the true gradient, and the spurious modes get pushed
-- down, at $k$ times the sampling cost per update. {{ rbm_full }} The graded free energy
-- ({{ per_k(rbm.results, "test_fe", "$%.1f$") }} here) moves with $\log Z$, which it leaves out, so
-- it cannot rank the models.

-- %% [markdown]
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

-- %% the VAEs' configuration
local vae_options
local function vaes(kind)
  local r = C.exercise("seed004_4_vae", {"--model=" .. kind, "--seed=" .. o.seed, table.unpack(args)})
  vae_options = r.options
  return r[kind]
end

-- %% [markdown]
-- ### VAE1: the MLP
--
-- For each $N_z$: the training $-\mathrm{ELBO}$ and the test reconstruction loss per epoch, then a
-- table of the test reconstruction loss, $-\mathrm{ELBO}$ and KL (per image, nats up to the constant)
-- with the training time per epoch. The figure shows 64 samples per $N_z$ (the same $\mathbf{z}$ each
-- epoch), the loss curves, test images beside their reconstructions and, for $N_z = 2$, the means of
-- $q(\mathbf{z} \mid \mathbf{x})$ of the test images coloured by digit and the decoder over a grid of
-- $\mathbf{z}$ (rows: $z_2$ from $2.5$ down to $-2.5$; columns: $z_1$ from $-2.5$ to $2.5$).

-- %% VAE1 for every N_z
local mlp = vaes("mlp")

-- %% [markdown]
-- ### VAE2: the CNN of Tables 1 and 2
--
-- The same sweep. VAE2 has a few thousand parameters against VAE1's 0.8 million, and its 8-channel
-- bottleneck of $3 \times 3$ makes it learn more slowly per step, while each step costs more: this
-- run trains it for {{ vae_options.cnn_epochs | %d }} epoch{{ vae_options.cnn_epochs == 1 and "" or "s" }} of
-- {{ vae_options.train | %d }} images at batch {{ vae_options.batch | %d }} (VAE1: {{ vae_options.epochs | %d }}
-- epochs). That is enough for digits
-- (the floors below its table check it), but the seed's 30 epochs (`--full`) are needed to compare
-- the two models.

-- %% VAE2 for every N_z
local cnn = vaes("cnn")

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
-- classes `VAE` and `ConvVAE` shown in README.md, for the $N_z$ with the lowest test reconstruction loss,
-- and `model_rbm_seed2025.pt`, the state dict of the `RBM` class there, which the RBM cell wrote for
-- the $k$ with the lowest test free energy.

-- %% checkpoints
for _, set in ipairs{{mlp, "VAE1"}, {cnn, "VAE2"}} do
  print(string.format("%s: N_z = %d, test reconstruction loss %.3f", set[1].graded, set[1].best.nz, set[1].best.rec))
end
for _, r in ipairs(rbm.results) do
  if r.k == rbm.chosen then
    print(string.format("%s: CD-%d, test free energy %.3f", rbm.graded, r.k, r.test_fe))
  end
end

-- %% [markdown]
-- ## Quality floors
--
-- The default and `--full` configurations must show trained results. Each exercise above printed
-- the figures that say so beside their floors (`floor: ... ok`): the RBM's samples for every $k$
-- are not degenerate and its best test log-likelihood is at least 60 nats above independent
-- pixels'; at $N_z = 20$ VAE1 reconstructs the test images within 25 and better than at $N_z = 2$,
-- and VAE2 within 40 with a KL of at least 5 nats and varied samples. A floor that is not met is
-- flagged at its cell and makes the run fail once the report is written. Under `--smoke` (the
-- tests' few seconds of training) they are printed but not checked. All of this run's floors:

-- %% quality floors
local floors = C.finish(nil, {list = true}).floors
