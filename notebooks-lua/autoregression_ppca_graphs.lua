-- %% [markdown]
-- # Homework 1 (seed 002): image autoregression, p-PCA, graphs
--
-- A genlab notebook: it runs as a plain script (`./genlab notebooks-lua/autoregression_ppca_graphs.lua`,
-- `--full` for the seed's sizes), and each `-- %%` starts a cell. This part answers problem 1;
-- problems 2 to 4 (p-PCA eigenfaces, classroom graphs, the linear-Gaussian MLE) join it with
-- their exercises.
--
-- ## 1. Image autoregression
--
-- A $5 \times 5$ binary image $\mathbf{x} \in \{0, 1\}^{25}$ is drawn pixel by pixel from
-- $p(\mathbf{x}) = \prod_{i=1}^{25} p(x_i \mid x_1, \ldots, x_{i-1})$. The course's
-- `image_cpts.pkl` holds the 25 conditional probability tables; genlab builds the same tables
-- exactly from its ground truth, 23 pictures with stated probabilities (`genlab.autoreg`), and
-- reads the course's file when it is given (`--cpts=image_cpts.pkl`).

-- %% setup
local G = require "genlab"
local C = dofile((arg[0]:match("^(.*/)") or "./") .. "../scripts/common.lua")
local A = G.autoreg
local o = C.options({samples = 20000, steps = 400, lr_end = 1e-3, seed = 2025, cpts = ""},
                    {samples = 100000, steps = 4000, lr_end = 1e-4, seed = 2025, cpts = ""},
                    "Seed 002's notebook: problem 1, image autoregression")
local pics = A.pictures()
local p = pics.p:totable()
local gen = G.Generator(o.seed)
local cpts = o.cpts ~= "" and A.load_cpts(o.cpts) or A.cpts(pics)
local entries = 0
for _, t in ipairs(cpts) do entries = entries + t:numel() end
print(string.format("%d CPTs, %d entries (%.0f MB)", #cpts, entries, entries * 8 / 1e6))

-- %% [markdown]
-- ### (a) Ancestral sampling
--
-- $x_1 \sim p(x_1)$ from CPT 1, then each $x_i$ by comparing a uniform number with CPT $i$ at the
-- prefix drawn so far. All images advance one pixel per step.

-- %% 100 samples from the CPTs
local fig = G.viz.figure{title = "Seed 002 problem 1", rows = 1, cols = 3, width = 1500, height = 520,
                         name = "notebook_autoregression"}
fig:grid(A.sample_cpts(cpts, 100, {generator = gen}), {panel = 1, rows = 10, cols = 10, norm = "none",
                                                      title = "(a) 100 samples from the CPTs"})
fig:show()

-- %% [markdown]
-- If the sampler is right, each picture appears with its probability. Pearson's test compares the
-- counts among many more samples with $n\,p(\mathbf{x})$.

-- %% frequencies against p(x)
local fit = A.goodness(A.sample_cpts(cpts, o.samples, {generator = gen}), pics)
for k, name in ipairs(pics.names) do
  print(string.format("%-8s p = %.3f   frequency %.4f", name, p[k], fit.freq[k]))
end
print(string.format("chi-square %.2f on %d dof (p-value %.3f), total variation %.4f, %d outside",
                    fit.chi2, fit.dof, fit.pvalue, fit.tv, fit.outside))

-- %% [markdown]
-- ### (b) A 2-layer LSTM
--
-- The input at step $i$ is $x_{i-1}$ ($0$ at step 1) and the output the logit of
-- $p(x_i \mid x_{<i})$. It is trained on the pictures weighted by $p$, so each step minimises the
-- exact cross-entropy $\mathbb{E}_p[-\log q(\mathbf{x})]$. (The bare set of unique pictures, the
-- seed's hint, would teach it a uniform distribution over them instead.)

-- %% train the LSTM
local model = A.LSTM{seed = o.seed}
local floor = A.entropy(pics)
local losses = A.train(model, pics, {steps = o.steps, lr = 1e-2, lr_end = o.lr_end})
print(string.format("%d parameters against %d CPT entries (%.0f times fewer)", model:num_parameters(),
                    entries, entries / model:num_parameters()))
print(string.format("loss %.4f -> %.4f nats per image", losses[1], losses[#losses]))
fig:grid(model:sample(100, {generator = gen}), {panel = 2, rows = 10, cols = 10, norm = "none",
                                                title = "(b) 100 samples from the LSTM"})
fig:line({y = G.tensor(losses), label = "training loss"},
         {panel = 3, title = "(c) loss against H(p)", xlabel = "Adam step", ylabel = "nats / image",
          logy = true, hline = floor, hline_label = "H(p)"})
fig:show()

-- %% [markdown]
-- ### (c) Why the loss never reaches 0
--
-- $\mathbb{E}_p[-\log q] = H(p) + \mathrm{KL}(p \,\|\, q) \ge H(p)$, and $H(p) > 0$ because the data
-- are many different pictures: even the perfect model $q = p$ pays $-\log p(\mathbf{x})$ nats for
-- each one. Only a data set of a single image would have $H(p) = 0$.

-- %% the floor, and how close the LSTM gets
local sc = A.score(model, pics)
print(string.format("H(p) = %.4f nats per image, %.4f per pixel", floor, floor / 25))
print(string.format("KL(p || q) = %.4f nats; q puts %.4f of its mass outside p's support", sc.kl, sc.outside))
if G.viz.headless() then print("figure: " .. fig:save()) end
