-- %% [markdown]
-- # Homework 1 (seed 004): variational inference, RBMs and VAEs
--
-- A genlab notebook. It runs as a plain script (`./genlab notebooks-lua/variational_rbm_vae.lua`)
-- and renders to a report with `./genlab notebook notebooks-lua/variational_rbm_vae.lua --pdf`;
-- `--full` gives each exercise its larger configuration. Problems 1 to 3 and EC-1 are
-- derivations: each answer is written out, then its exercise script checks it in numbers against
-- an independent reference (enumeration, closed forms, autodiff, the exact posterior) and fails
-- if a check does not hold.

-- %% setup
local G = require "genlab"
local C = dofile((arg[0]:match("^(.*/)") or "./") .. "../scripts/common.lua")
local o = C.options({}, {}, "Seed 004's notebook: problems 1-3 and EC-1 (the derivations, checked)")
local args = C.passed(o)

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
