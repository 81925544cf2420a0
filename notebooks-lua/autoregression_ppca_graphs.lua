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
local C = require "common"
-- the sizes are each exercise's own for the configuration (--smoke, the default or --full)
local o = C.options({cpts = "", faces = "", graphs = ""},
                    {cpts = "", faces = "", graphs = ""},
                    {cpts = "", faces = "", graphs = ""},
                    "Seed 002's notebook: image autoregression, " ..
                    "p-PCA, classroom graphs, the linear-Gaussian MLE")
print(("configuration: %s (--smoke: the tests' seconds; the default: trained results in minutes; " ..
       "--full: the seed's sizes)"):format(G.handin.config(o)))
-- each problem runs its exercise with the notebook's configuration and the course's files
local function passed(extra)
  local args = C.passed(o)
  for k, v in pairs(extra or {}) do if v ~= "" then args[#args + 1] = "--" .. k .. "=" .. v end end
  return args
end

-- %% [markdown]
-- ### (a) Ancestral sampling
--
-- $x_1 \sim p(x_1)$ from CPT 1, then each $x_i$ by comparing a uniform number with CPT $i$ at the
-- prefix drawn so far; all images advance one pixel per step. If the sampler is right, each picture
-- appears with its probability: Pearson's test compares the counts among many more samples with
-- $n\,p(\mathbf{x})$.
--
-- ### (b) A 2-layer LSTM
--
-- The input at step $i$ is $x_{i-1}$ ($0$ at step 1) and the output the logit of
-- $p(x_i \mid x_{<i})$. It is trained on the pictures weighted by $p$, so each step minimises the
-- exact cross-entropy $\mathbb{E}_p[-\log q(\mathbf{x})]$. (The bare set of unique pictures, the
-- seed's hint, would teach it a uniform distribution over them instead.)

-- %% 1. CPT samples, the LSTM, and its loss against the floor
local ar = C.exercise("seed002_1_autoregression", passed{cpts = o.cpts})

-- %% [markdown]
-- ### (c) Why the loss never reaches 0
--
-- $\mathbb{E}_p[-\log q] = H(p) + \mathrm{KL}(p \,\|\, q) \ge H(p)$, and $H(p) > 0$ because the data
-- are many different pictures: even the perfect model $q = p$ pays $-\log p(\mathbf{x})$ nats for
-- each one. Only a data set of a single image would have $H(p) = 0$. The lines under (c) above
-- give this run's floor, how far above it the LSTM ended, and its $\mathrm{KL}(p \,\|\, q)$.

-- %% the floor, and how close the LSTM gets
print(string.format("H(p) = %.4f nats per image; the LSTM ends %.4f " ..
  "above it, with %d parameters against %d CPT entries",
                    ar.entropy, ar.losses[#ar.losses] - ar.entropy, ar.params, ar.entries))

-- %% [markdown]
-- ## 2. Eigenfaces and probabilistic PCA
--
-- p-PCA says $\mathbf{z} \sim \mathcal{N}(\mathbf{0}, \mathbf{I}_d)$ and
-- $\mathbf{x} \mid \mathbf{z} \sim \mathcal{N}(\mathbf{W}\mathbf{z} + \boldsymbol{\mu}, \sigma^2 \mathbf{I}_m)$,
-- so $\mathbf{x} \sim \mathcal{N}(\boldsymbol{\mu}, \mathbf{C})$ with
-- $\mathbf{C} = \mathbf{W}\mathbf{W}^\top + \sigma^2 \mathbf{I}$. The faces are the 100 LFW faces at
-- $24 \times 24$, $m = 576$ (`--faces=eigenfaces.npy` reads the course's file).
--
-- **(a) The MLE.** From the eigendecomposition of $\mathbf{S}$ (divided by $n$): $\sigma^2$ is the
-- mean of the $m - d$ smallest eigenvalues and
-- $\mathbf{W} = \mathbf{U}_d (\boldsymbol{\Lambda}_d - \sigma^2 \mathbf{I})^{1/2}$ (`models.PPCA.fit`).
-- Everything after it solves with the Cholesky factor of the $d \times d$ matrix
-- $\mathbf{M} = \mathbf{W}^\top\mathbf{W} + \sigma^2\mathbf{I}$, never an inverse: the log-density
-- uses Woodbury, $\mathbf{C}^{-1} = (\mathbf{I} - \mathbf{W}\mathbf{M}^{-1}\mathbf{W}^\top)/\sigma^2$,
-- and the determinant lemma, $\det \mathbf{C} = \sigma^{2(m-d)} \det \mathbf{M}$.
--
-- **(b)** $\mathbb{E}[\mathbf{z} \mid \mathbf{x}] = \mathbf{M}^{-1}\mathbf{W}^\top(\mathbf{x} - \boldsymbol{\mu})$
-- at $d = 2$ for every face, over the $1\sigma$ and $2\sigma$ circles of $\mathcal{N}(\mathbf{0}, \mathbf{I})$.
-- **(c)** 25 random faces and $\mathbb{E}[\mathbf{x} \mid \hat{\mathbf{z}}] = \mathbf{W}\hat{\mathbf{z}} + \boldsymbol{\mu}$
-- for $d = 16, 32, 64$. **(d)** 100 new faces $\mathbb{E}[\mathbf{x} \mid \mathbf{z}]$,
-- $\mathbf{z} \sim \mathcal{N}(\mathbf{0}, \mathbf{I})$, at the $d$ that held-out faces favour. **(e)** One face at
-- $d = 16$, dimensions $z_1, \ldots, z_5$, 10 offsets each, at the seed's $\pm 0.05$ and at $\pm 3$.
-- The cell runs `scripts/seed002_2_ppca.lua`.

-- %% p-PCA on the faces
local pp = C.exercise("seed002_2_ppca", passed{faces = o.faces})

-- %% [markdown]
-- **(a)** $\sigma^2$ falls from 0.0204 at $d = 2$ to 0.0013 at $d = 64$: it is the variance the
-- model leaves to noise. The 100 faces span only 99 directions, so $d \ge 99$ would make
-- $\sigma^2 = 0$; `PPCA.fit` refuses it with a message naming the rank.
--
-- **(b)** The cloud is round and centred, with 86 of the 100 faces inside the $2\sigma$ circle (a
-- 2-d standard normal puts 86.5% there). Exactly, the covariance of
-- $\mathbb{E}[\mathbf{z}\mid\mathbf{x}]$ (0.995 and 0.992 on the diagonal, 0 off it) plus the
-- posterior covariance $\sigma^2\mathbf{M}^{-1}$ is $\mathbf{I}$: at the MLE the prior is the
-- data's latent distribution.
--
-- **(c) How does the quality change with $d$?** The error halves from $d = 16$ (0.0081 per pixel)
-- to $d = 32$ (0.0038) and is 0.0012 at $d = 64$: each dimension adds one principal direction.
-- At $d = 16$ the faces keep pose, lighting and rough shape but look alike and blurred; at
-- $d = 64$ they are nearly the originals, expressions included. These are training faces,
-- though: at $d = 98$ the error would be almost 0, which is memory, not modelling.
--
-- **(d)** Fitted on 80 faces, the 20 others score best at $d = 16$ (404 nats per face against 393
-- at $d = 8$ and 271 at $d = 32$; $d = 64$ collapses to $-2258$, its small $\sigma^2$ fitted to
-- the training faces), so the new faces come from $d = 16$: all recognisably faces, with varied
-- lighting and pose, slightly smoother than real ones.
--
-- **(e)** At $\pm 0.05$ nothing changes to the eye (at most 0.0096 of the pixel range): posterior
-- means spread over about $\pm 1$, so 0.05 is a twentieth of a typical difference between faces.
-- At $\pm 3$ each row is one global change, linear in the offset: $z_1$ darkens or brightens face
-- and background together, $z_2$ sets the face against its background, $z_3$ moves the light
-- from one side to the other, $z_4$ and $z_5$ deepen the shadows of eyes, nose and mouth and change
-- the face's width. Beyond about $\pm 2$ the face becomes a caricature of the change. The numbers
-- the answers quote:

-- %% the numbers above
print(string.format("sigma^2: d = 2 %.4f, d = 64 %.4f; rank of S %d", pp.fits[2].sigma2, pp.fits[64].sigma2,
                    pp.fits[2].rank))
print(string.format("Cov E[z|x] + sigma^2 M^-1 = diag(%.4f, %.4f); %d faces within 2 sigma",
                    pp.latent_cov[1][1] + pp.posterior_cov[1][1], pp.latent_cov[2][2] + pp.posterior_cov[2][2],
                    pp.inside_2sigma))
print(string.format("MSE d = 16, 32, 64: %.4f %.4f %.4f; best held-out d = %d; largest change %.4f and %.4f",
                    pp.mse[16], pp.mse[32], pp.mse[64], pp.best_d, pp.change[1], pp.change[2]))

-- %% [markdown]
-- ## 3. Classroom friendship graphs
--
-- 100 classrooms of $n = 15$ students with features $\mathbf{x} \in [-1, 1]^3$;
-- $p(e_{ij} = 1) = \sigma(a\,\mathbf{x}_i^\top\mathbf{x}_j + b)$ independently for $i < j$. The data
-- are genlab's (`graphs.generate`, ground truth $a^* = 4$, $b^* = -1$) or the course's
-- `classroom_graphs.pkl` (`--graphs=`).
--
-- **(a) The gradient.** With $s_{ij} = a\,\mathbf{x}_i^\top\mathbf{x}_j + b$,
-- $\log\sigma(s) = s - \log(1 + e^s)$ and $\log(1 - \sigma(s)) = -\log(1 + e^s)$, so
-- $L(a, b) = \sum_{i<j} e_{ij} s_{ij} - \log(1 + e^{s_{ij}})$. Since
-- $\frac{d}{ds}\log(1 + e^s) = \sigma(s)$, $\partial s_{ij}/\partial a = \mathbf{x}_i^\top\mathbf{x}_j$ and
-- $\partial s_{ij}/\partial b = 1$:
--
-- $$\frac{\partial L}{\partial a} = \sum_{i<j} \big(e_{ij} - \sigma(s_{ij})\big)\,\mathbf{x}_i^\top\mathbf{x}_j, \qquad
--   \frac{\partial L}{\partial b} = \sum_{i<j} \big(e_{ij} - \sigma(s_{ij})\big).$$
--
-- Differentiating again (with $\sigma' = \sigma(1 - \sigma)$) gives the Hessian, minus the Fisher
-- information: $-\sum_{i<j} \sigma_{ij}(1 - \sigma_{ij}) \begin{pmatrix} s^2 & s \\ s & 1\end{pmatrix}$
-- with $s = \mathbf{x}_i^\top\mathbf{x}_j$. `graphs.gradient` computes the sums over all 100 graphs
-- at once, the $i < j$ pairs as a strictly lower-triangular mask over (100, 15, 15) tensors (numpy's
-- `tril_indices(n, k=-1)`), with no autodiff.
--
-- **(b)** Gradient ascent from a random start, steps of 10 times the gradient averaged over the
-- 10,500 pairs; **(c)** 5 new classrooms: features $\mathbf{x} \sim U[-1, 1]^3$, then each edge with
-- its probability, node colour the RGB of $(\mathbf{x} + 1)/2$ as `graph_viz.py` draws it. The cell
-- runs `scripts/seed002_3_graphs.lua`.

-- %% the graph model
local gr = C.exercise("seed002_3_graphs", passed{graphs = o.graphs})

-- %% [markdown]
-- The hand gradient agrees with central differences to $10^{-10}$ (and, in
-- `tests/lua/graphs_spec.lua`, with autodiff; the estimate with Newton's method to $10^{-6}$).
-- $L$ climbs from $-8357$ at the random start $(-0.02, -1.78)$ and never decreases; by the last 10
-- iterations it has settled at $-4220.7422795$ to double precision. The estimate
-- $a = 4.10 \pm 0.08$, $b = -1.034 \pm 0.030$ (standard errors from the inverse Fisher information)
-- lies 1.3 and 1.1 standard errors from the truth $(4, -1)$: as close as 10,500 pairs allow.
--
-- Each sampled classroom has 31 to 41 friendships of 105 pairs, as the data's 36%. Students of
-- similar colour cluster: with $a = 4.1$ a pair with $\mathbf{x}_i^\top\mathbf{x}_j = 1$ is friends with
-- probability $\sigma(3.07) = 0.96$, an opposite pair ($-1$) with $\sigma(-5.1) < 0.01$. The last
-- panel compares the fitted curve with the share of friends among the data's pairs, binned by
-- $\mathbf{x}_i^\top\mathbf{x}_j$.

-- %% the estimate
print(string.format("a = %.4f +- %.4f, b = %.4f +- %.4f; L %.4f -> %.7f", gr.fit.a, gr.se_a, gr.fit.b, gr.se_b,
                    gr.fit.history.loglik[1], gr.fit.loglik))
print(string.format("p(friends) at x_i^T x_j = 1: %.3f, at -1: %.4f", 1 / (1 + math.exp(-(gr.fit.a + gr.fit.b))),
                    1 / (1 + math.exp(gr.fit.a - gr.fit.b))))

-- %% [markdown]
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
--
-- In numbers, on 200 generated points with an intercept and 3 features: the closed form
-- (a Cholesky solve) against gradient ascent through autodiff and least squares; then the seed's
-- two pictures for 1-d $x$. The cell runs `scripts/seed002_4_linear_gaussian.lua`.

-- %% the linear-Gaussian MLE
local lg = C.exercise("seed002_4_linear_gaussian", passed())

-- %% [markdown]
-- The three agree to about $10^{-15}$, far inside $10^{-8}$ ($\sigma^2 = 0.5377$ against the true
-- 0.49). The left picture is a predictive distribution: the mean with its $\pm 2\sigma$ band, which
-- holds 116 of the 120 points (97%; a Gaussian puts 95.4% there); the right one is the point
-- prediction alone.

-- %% agreement
print(string.format("sigma^2 = %.4f; largest difference between the methods %.1e; %d of 120 inside the band",
                    lg.mle.sigma2, lg.worst, lg.inside))

-- %% [markdown]
-- ## Quality floors
--
-- The default and `--full` configurations must show trained results. Each exercise above printed
-- the figures that say so beside their floors (`floor: ... ok`); a floor that is not met is flagged
-- at its cell and makes the run fail once the report is written. Under `--smoke` (the tests' few
-- seconds of training) they are printed but not checked. All of this run's floors:

-- %% quality floors
local floors = C.finish(nil, {list = true}).floors
