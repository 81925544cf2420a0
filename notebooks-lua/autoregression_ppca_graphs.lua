-- %% [markdown]
-- # Homework 1 (seed 002): image autoregression, p-PCA, graphs
--
-- A genlab notebook: it runs as a plain script (`./genlab notebooks-lua/autoregression_ppca_graphs.lua`,
-- `--full` for the seed's sizes), and each `-- %%` starts a cell. It answers the seed's four
-- problems in order: image autoregression, p-PCA eigenfaces, classroom graphs and the
-- linear-Gaussian MLE.
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
local o = C.options({samples = 20000, steps = 400, lr_end = 1e-3, seed = 2025, cpts = "", faces = "", graphs = ""},
                    {samples = 100000, steps = 4000, lr_end = 1e-4, seed = 2025, cpts = "", faces = "", graphs = ""},
                    "Seed 002's notebook: image autoregression, p-PCA, classroom graphs, the linear-Gaussian MLE")
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

-- %% [markdown]
-- ## 2. Eigenfaces and probabilistic PCA
--
-- p-PCA says $\mathbf{z} \sim \mathcal{N}(\mathbf{0}, \mathbf{I}_d)$ and
-- $\mathbf{x} \mid \mathbf{z} \sim \mathcal{N}(\mathbf{W}\mathbf{z} + \boldsymbol{\mu}, \sigma^2 \mathbf{I}_m)$,
-- so $\mathbf{x} \sim \mathcal{N}(\boldsymbol{\mu}, \mathbf{C})$ with
-- $\mathbf{C} = \mathbf{W}\mathbf{W}^\top + \sigma^2 \mathbf{I}$. The faces are the 100 LFW faces at
-- $24 \times 24$, $m = 576$ (`--faces=eigenfaces.npy` reads the course's file).
--
-- ### (a) The MLE
--
-- From the eigendecomposition of $\mathbf{S}$ (divided by $n$): $\sigma^2$ is the mean of the
-- $m - d$ smallest eigenvalues and $\mathbf{W} = \mathbf{U}_d (\boldsymbol{\Lambda}_d - \sigma^2 \mathbf{I})^{1/2}$
-- (`models.PPCA.fit`). Everything after it solves with the Cholesky factor of the $d \times d$
-- matrix $\mathbf{M} = \mathbf{W}^\top\mathbf{W} + \sigma^2\mathbf{I}$, never an inverse: the
-- log-density uses Woodbury, $\mathbf{C}^{-1} = (\mathbf{I} - \mathbf{W}\mathbf{M}^{-1}\mathbf{W}^\top)/\sigma^2$,
-- and the determinant lemma, $\det \mathbf{C} = \sigma^{2(m-d)} \det \mathbf{M}$.

-- %% fit p-PCA for several d
local PPCA = G.models.PPCA
local faces = C.faces(o.faces)
local side = math.floor(math.sqrt(faces.shape[2]) + 0.5)
local fits = {}
for _, d in ipairs{2, 16, 32, 64} do
  fits[d] = PPCA.fit(faces, d)
  print(string.format("d = %2d: sigma^2 = %.5f, log p = %.2f nats per face", d, fits[d].sigma2, -fits[d]:nll(faces)))
end
print(string.format("rank of S: %d, so d must stay below it", fits[2].rank))

-- %% [markdown]
-- $\sigma^2$ falls from 0.0204 at $d = 2$ to 0.0013 at $d = 64$: it is the variance the model
-- leaves to noise. The 100 faces span only 99 directions, so $d \ge 99$ would make
-- $\sigma^2 = 0$; `PPCA.fit` refuses it with a message naming the rank.
--
-- ### (b) The latent space at $d = 2$
--
-- $\mathbb{E}[\mathbf{z} \mid \mathbf{x}] = \mathbf{M}^{-1}\mathbf{W}^\top(\mathbf{x} - \boldsymbol{\mu})$
-- for every face, over the $1\sigma$ and $2\sigma$ circles of $\mathcal{N}(\mathbf{0}, \mathbf{I})$.

-- %% d = 2 scatter
local p2 = fits[2]
local Z2, post2 = p2:posterior(faces)
local fig2 = G.viz.figure{title = "Seed 002 problem 2: p-PCA", rows = 2, cols = 2, width = 1100, height = 1100,
                          name = "notebook_ppca"}
local sx, sy, scol, ssz = C.scatter_with_circles(Z2:select(2, 1):totable(), Z2:select(2, 2):totable(),
                                                 {0.12, 0.35, 0.75}, 5, {1, 2})
fig2:scatter(sx, sy, {panel = 1, colors = scol, sizes = ssz, xlabel = "z1", ylabel = "z2",
                      title = "(b) E[z | x], d = 2, with N(0, I)'s 1 and 2 sigma circles"})
local Zc = Z2 - Z2:mean(1)
local zc = (Zc:t():matmul(Zc) / faces.shape[1]):totable()
local pc = post2:totable()
print(string.format("covariance of E[z|x]: [[%.3f %.3f] [%.3f %.3f]], posterior covariance diag(%.4f, %.4f)",
                    zc[1][1], zc[1][2], zc[2][1], zc[2][2], pc[1][1], pc[2][2]))
print(string.format("their sum: diag(%.4f, %.4f)", zc[1][1] + pc[1][1], zc[2][2] + pc[2][2]))
local r2 = (Z2 * Z2):sum(2)
print(string.format("%d of %d faces inside the 2 sigma circle", r2:le(4):sum():item(), faces.shape[1]))
fig2:show()

-- %% [markdown]
-- The cloud is round and centred, with about 86 of the 100 faces inside the $2\sigma$ circle
-- (a 2-d standard normal puts 86.5% there). Exactly, the covariance of $\mathbb{E}[\mathbf{z}\mid\mathbf{x}]$
-- (0.995 and 0.992 on the diagonal, 0 off it) plus the posterior covariance $\sigma^2\mathbf{M}^{-1}$
-- is $\mathbf{I}$: at the MLE the model's prior is the data's latent distribution.
--
-- ### (c) Reconstructions for $d = 16, 32, 64$
--
-- $\hat{\mathbf{z}} = \mathbb{E}[\mathbf{z} \mid \mathbf{x}]$, then $\mathbb{E}[\mathbf{x} \mid \hat{\mathbf{z}}] = \mathbf{W}\hat{\mathbf{z}} + \boldsymbol{\mu}$,
-- for 25 random faces.

-- %% reconstructions
local gen2 = G.Generator(o.seed)
local pick = G.randperm(faces.shape[1], {generator = gen2}):narrow(1, 1, 25)
local X25 = faces:index_select(1, pick)
local figc = G.viz.figure{title = "Seed 002 2(c): 25 faces and their reconstructions", rows = 1, cols = 4,
                          width = 1200, height = 340, name = "notebook_ppca_reconstructions"}
figc:grid(X25:reshape(25, side, side), {panel = 1, rows = 5, cols = 5, norm = "none", title = "25 faces"})
for k, d in ipairs{16, 32, 64} do
  local R = fits[d]:reconstruct(X25)
  local mse = ((R - X25) ^ 2):mean():item()
  print(string.format("d = %2d: mean squared error %.6f per pixel", d, mse))
  figc:grid(R:clamp(0, 1):reshape(25, side, side), {panel = k + 1, rows = 5, cols = 5, norm = "none",
                                                    title = string.format("d = %d, MSE %.5f", d, mse)})
end
figc:show()

-- %% [markdown]
-- The error halves from $d = 16$ (0.0081) to $d = 32$ (0.0038) and is 0.0012 at $d = 64$: each
-- dimension adds one principal direction. At $d = 16$ the faces keep pose, lighting and rough
-- shape but look alike and blurred; at $d = 64$ they are nearly the originals, glasses and
-- expressions included. These are the training faces, though: at $d = 98$ the error would be
-- almost 0, which is memory, not modelling.
--
-- ### (d) New faces
--
-- To choose $d$ for generation, fit on 80 faces and score the 20 others.

-- %% held-out likelihood, then 100 samples
local rows, best = C.ppca_heldout(faces, {2, 4, 8, 16, 32, 64}, gen2)
for _, r in ipairs(rows) do print(string.format("d = %2d: %8.2f nats per held-out face", r.d, r.loglik)) end
local S100 = (fits[best] or PPCA.fit(faces, best)):sample(100, {generator = gen2})
fig2:grid(S100:clamp(0, 1):reshape(100, side, side), {panel = 2, rows = 10, cols = 10, norm = "none",
                                                       title = string.format("(d) 100 new faces, d = %d", best)})
fig2:show()
print("chosen d = " .. best)

-- %% [markdown]
-- Held-out faces score best at $d = 16$ (404 nats against 393 at $d = 8$ and 271 at $d = 32$;
-- $d = 64$ collapses to $-2258$, its small $\sigma^2$ is fitted to the training faces). The 100
-- samples $\mathbb{E}[\mathbf{x} \mid \mathbf{z}]$, $\mathbf{z} \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$,
-- at $d = 16$ are all recognisably faces, with varied lighting and pose, slightly smoother than
-- real ones.
--
-- ### (e) Moving along one latent dimension
--
-- One face at $d = 16$, dimensions $z_1, \ldots, z_5$, 10 offsets each: at the seed's $\pm 0.05$
-- and at $\pm 3$, where the change is visible.

-- %% perturbations
local p16 = fits[16]
local z = p16:posterior(faces:narrow(1, 21, 1))
for k, span in ipairs{0.05, 3} do
  local imgs = C.ppca_perturb(p16, z, {1, 2, 3, 4, 5}, 10, span)
  print(string.format("offsets +-%g: largest pixel change %.4f", span, (imgs - p16:decode(z)):abs():max():item()))
  fig2:grid(imgs:clamp(0, 1):reshape(50, side, side), {panel = k + 2, rows = 5, cols = 10, norm = "none",
                                                       title = string.format("(e) face 21, z1..z5 +- %g", span)})
end
fig2:show()
if G.viz.headless() then print("figures: " .. fig2:save() .. ", " .. figc:save()) end

-- %% [markdown]
-- At $\pm 0.05$ nothing changes to the eye (at most 0.0096 of the pixel range): the posterior
-- means spread over about $\pm 1$, so 0.05 is a twentieth of a typical difference between faces.
-- At $\pm 3$ each row is one global change, linear in the offset: $z_1$ darkens or brightens face
-- and background together, $z_2$ sets the face against its background, $z_3$ moves the light
-- from one side to the other, and $z_4$, $z_5$ deepen the shadows of eyes, nose and mouth and
-- change the face's width. Far out (beyond about $\pm 2$) the face becomes a caricature of the change.
--
-- ## 3. Classroom friendship graphs
--
-- 100 classrooms of $n = 15$ students with features $\mathbf{x} \in [-1, 1]^3$;
-- $p(e_{ij} = 1) = \sigma(a\,\mathbf{x}_i^\top\mathbf{x}_j + b)$ independently for $i < j$. The data
-- are genlab's (`graphs.generate`, ground truth $a^* = 4$, $b^* = -1$) or the course's
-- `classroom_graphs.pkl` (`--graphs=`).
--
-- ### (a) The gradient
--
-- With $s_{ij} = a\,\mathbf{x}_i^\top\mathbf{x}_j + b$, $\log\sigma(s) = s - \log(1 + e^s)$ and
-- $\log(1 - \sigma(s)) = -\log(1 + e^s)$, so
-- $L(a, b) = \sum_{i<j} e_{ij} s_{ij} - \log(1 + e^{s_{ij}})$. Since
-- $\frac{d}{ds}\log(1 + e^s) = \sigma(s)$ and $\partial s_{ij}/\partial a = \mathbf{x}_i^\top\mathbf{x}_j$,
-- $\partial s_{ij}/\partial b = 1$:
--
-- $$\frac{\partial L}{\partial a} = \sum_{i<j} \big(e_{ij} - \sigma(s_{ij})\big)\,\mathbf{x}_i^\top\mathbf{x}_j, \qquad
--   \frac{\partial L}{\partial b} = \sum_{i<j} \big(e_{ij} - \sigma(s_{ij})\big).$$
--
-- Differentiating again (with $\sigma' = \sigma(1 - \sigma)$) gives the Hessian, minus the Fisher
-- information: $-\sum_{i<j} \sigma_{ij}(1 - \sigma_{ij}) \begin{pmatrix} s^2 & s \\ s & 1\end{pmatrix}$
-- with $s = \mathbf{x}_i^\top\mathbf{x}_j$. `graphs.gradient` computes the sums over all 100 graphs
-- at once, the $i < j$ pairs as a strictly lower-triangular mask over (100, 15, 15) tensors.

-- %% the gradient against central differences
local graphs = G.graphs
local D, truth = C.classroom_graphs(o.graphs)
local ga, gb = graphs.gradient(0.3, -0.2, D.X, D.E)
local h = 1e-5
local fa = (graphs.loglik(0.3 + h, -0.2, D.X, D.E) - graphs.loglik(0.3 - h, -0.2, D.X, D.E)) / (2 * h)
local fb = (graphs.loglik(0.3, -0.2 + h, D.X, D.E) - graphs.loglik(0.3, -0.2 - h, D.X, D.E)) / (2 * h)
print(string.format("at (0.3, -0.2): dL/da = %.6f (differences %.6f), dL/db = %.6f (%.6f)", ga, fa, gb, fb))

-- %% [markdown]
-- ### (b) Gradient ascent
--
-- From a random start, steps of 10 times the gradient averaged over the 10,500 pairs.

-- %% gradient ascent, the last 10 iterations
local fit = graphs.fit(D.X, D.E, {iters = 300, lr = 10, generator = G.Generator(o.seed)})
local hist = fit.history
print(string.format("start a = %.4f, b = %.4f, L = %.4f", fit.a0, fit.b0, hist.loglik[1]))
for it = #hist.loglik - 9, #hist.loglik do
  print(string.format("iter %3d  a = %.8f  b = %.8f  L = %.10f", it - 1, hist.a[it], hist.b[it], hist.loglik[it]))
end
local se_a, se_b = graphs.standard_errors(fit.a, fit.b, D.X, D.E)
print(string.format("a = %.4f +- %.4f, b = %.4f +- %.4f%s", fit.a, se_a, fit.b, se_b,
                    truth and string.format(" (truth %g, %g)", truth.a, truth.b) or ""))

-- %% [markdown]
-- $L$ climbs from $-8357$ at the random start $(-0.02, -1.78)$ and never decreases; by the last
-- 10 iterations it has settled at $-4220.7422795$ to double precision. The estimate
-- $a = 4.10 \pm 0.08$, $b = -1.034 \pm 0.030$ (standard errors from the inverse Fisher
-- information) lies 1.3 and 1.1 standard errors from the truth $(4, -1)$: as close as 10,500 pairs
-- allow. `tests/lua/graphs_spec.lua` checks the gradient against autodiff and the estimate against
-- Newton's method to $10^{-6}$.
--
-- ### (c) Sampling new classrooms
--
-- Features $\mathbf{x} \sim U[-1, 1]^3$, then each edge with its probability; node colour is the
-- RGB of $(\mathbf{x} + 1)/2$, as `graph_viz.py` draws it.

-- %% 5 sampled graphs
local S5 = graphs.sample(fit.a, fit.b, {count = 5, generator = G.Generator(o.seed + 1)})
local fig3 = G.viz.figure{title = string.format("Seed 002 3(c): classrooms sampled at a = %.2f, b = %.2f", fit.a, fit.b),
                          rows = 2, cols = 3, width = 1200, height = 820, name = "notebook_graphs"}
for g = 1, 5 do
  local list = graphs.edges(S5.E[g])
  fig3:graph((S5.X[g] + 1) / 2, list, {panel = g, seed = g, title = string.format("sample %d: %d edges", g, #list)})
  print(string.format("classroom %d: %d friendships", g, #list))
end
C.graph_similarity_panel(fig3, 6, fit.a, fit.b, D)
fig3:show()
if G.viz.headless() then print("figure: " .. fig3:save()) end

-- %% [markdown]
-- Each sampled classroom has 31 to 41 friendships of 105 pairs, as the data's 36%. Students of
-- similar colour cluster: with $a = 4.1$ a pair with $\mathbf{x}_i^\top\mathbf{x}_j = 1$ is friends
-- with probability $\sigma(3.07) = 0.96$, an opposite pair with $\sigma(-5.1) < 0.01$. The last
-- panel compares the fitted curve with the share of friends among the data's pairs, binned by
-- $\mathbf{x}_i^\top\mathbf{x}_j$.
--
-- ## 4. The linear-Gaussian model
--
-- For $p(y \mid \mathbf{x}) = \mathcal{N}(\mathbf{x}^\top\mathbf{w}, \sigma^2)$,
--
-- $$L(\mathbf{w}, \sigma^2) = \sum_{i=1}^n \log p(y^{(i)} \mid \mathbf{x}^{(i)})
--   = -\frac{n}{2}\log(2\pi\sigma^2) - \frac{1}{2\sigma^2}\sum_{i=1}^n (y^{(i)} - \mathbf{x}^{(i)\top}\mathbf{w})^2.$$
--
-- $\nabla_\mathbf{w} L = \frac{1}{\sigma^2}\sum_i \mathbf{x}^{(i)}(y^{(i)} - \mathbf{x}^{(i)\top}\mathbf{w}) = \mathbf{0}$
-- gives $\big(\sum_i \mathbf{x}^{(i)}\mathbf{x}^{(i)\top}\big)\mathbf{w} = \sum_i \mathbf{x}^{(i)} y^{(i)}$, the seed's
-- $\mathbf{w}$ whenever $\sum_i \mathbf{x}\mathbf{x}^\top$ is invertible; it does not depend on $\sigma^2$,
-- and $L$ is concave in $\mathbf{w}$, so this is the maximum. Then
-- $\partial L / \partial \sigma^2 = -\frac{n}{2\sigma^2} + \frac{1}{2\sigma^4}\sum_i (y^{(i)} - \mathbf{x}^{(i)\top}\mathbf{w})^2 = 0$
-- gives $\sigma^2 = \frac{1}{n}\sum_i (\mathbf{x}^{(i)\top}\mathbf{w} - y^{(i)})^2$, a maximum since
-- $L \to -\infty$ as $\sigma^2 \to 0$ or $\infty$. The same $\mathbf{w}$ minimises the squared error.
-- In numbers, on 200 generated points with an intercept and 3 features:

-- %% closed form, autodiff ascent, least squares
local LG = G.models.LinearGaussian
local gen4 = G.Generator(o.seed)
local F64 = {dtype = "float64"}
local X4 = G.cat({G.ones(200, 1, F64), G.randn(200, 3, {dtype = "float64", generator = gen4})}, 2)
local y4 = X4:matmul(G.linspace(-1.5, 2.0, 4, F64):unsqueeze(2)):squeeze(2) +
           G.randn(200, {dtype = "float64", generator = gen4}) * 0.7
local mle = LG.fit(X4, y4)
local w_ga, s2_ga, iters = C.linear_gaussian_ascent(X4, y4, 3000)
local w_ne = G.linalg.solve(X4:t():matmul(X4), X4:t():matmul(y4:unsqueeze(2))):squeeze(2)
print(string.format("closed form: sigma^2 = %.8f", mle.sigma2))
print(string.format("autodiff ascent (%d iterations): |w diff| %.1e, |sigma^2 diff| %.1e", iters,
                    (w_ga - mle.w):abs():max():item(), math.abs(s2_ga - mle.sigma2)))
print(string.format("normal equations by linalg.solve: |w diff| %.1e", (w_ne - mle.w):abs():max():item()))

-- %% [markdown]
-- The three agree to about $10^{-15}$, far inside $10^{-8}$ ($\sigma^2 = 0.5377$ against the
-- true 0.49). For 1-d $x$ the model is the seed's pair of pictures: a predictive distribution,
-- the mean with its $\pm 2\sigma$ band (116 of the 120 points fall inside, 97%; a Gaussian puts
-- 95.4% there), beside the point
-- prediction alone.

-- %% the seed's two pictures
local t = G.rand(120, {dtype = "float64", generator = gen4}) * 6 - 3
local y1 = t * 0.8 + 0.5 + G.randn(120, {dtype = "float64", generator = gen4}) * 0.6
local m1 = LG.fit(G.stack({G.ones(120, F64), t}, 2), y1)
local fig4 = G.viz.figure{title = "Seed 002 problem 4: the linear-Gaussian model", rows = 1, cols = 2,
                          width = 1100, height = 520, name = "notebook_linear_gaussian"}
C.linear_gaussian_panel(fig4, 1, t, y1, m1, true, "p(y | x): mean and +-2 sigma band")
C.linear_gaussian_panel(fig4, 2, t, y1, m1, false, "the point prediction x^T w")
fig4:show()
print(string.format("y = %.3f + %.3f x, sigma = %.3f", m1.w[1], m1.w[2], math.sqrt(m1.sigma2)))
local inside = ((y1 - m1:predict(G.stack({G.ones(120, F64), t}, 2))):abs():le(2 * math.sqrt(m1.sigma2))):sum():item()
print(string.format("%d of 120 points inside the +-2 sigma band", inside))
if G.viz.headless() then print("figure: " .. fig4:save()) end
