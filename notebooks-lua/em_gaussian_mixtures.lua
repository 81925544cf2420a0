-- %% [markdown]
-- # Lecture 3 (seed 001): Gaussian mixtures and EM
--
-- A genlab notebook. It runs as a plain script (`./genlab notebooks-lua/em_gaussian_mixtures.lua`)
-- and renders to a report with `./genlab notebook notebooks-lua/em_gaussian_mixtures.lua --pdf`;
-- `--full` uses 3,000 points from 5 components instead of 600 from 3. The lecture's steps in
-- order: sampling from a mixture, k-means (hard assignments), EM (soft assignments), and the
-- lower bound that makes EM monotone.

-- %% setup
local G = require "genlab"
local C = require "common"
local o = C.options({}, {}, {}, "Lecture 3's notebook: EM, k-means, sampling and the bound")
local args = C.passed(o)
print(("configuration: %s (--smoke: the tests' seconds; the default: trained results in minutes; " ..
       "--full: the seed's sizes)"):format(G.handin.config(o)))

-- %% [markdown]
-- ## A mixture as a latent-variable model
--
-- $p(\mathbf{x}) = \sum_{k=1}^K \pi_k\, \mathcal{N}(\mathbf{x}; \boldsymbol\mu_k, \Sigma_k)$. To sample:
-- (1) pick the component $z \sim \mathrm{Categorical}(\pi_1, \ldots, \pi_K)$, (2) draw
-- $\mathbf{x} \sim \mathcal{N}(\boldsymbol\mu_z, \Sigma_z)$. The latent $z$ is never observed.
--
-- ## Learning it: hard, then soft assignments
--
-- *Idea 1* (k-means): assign each $\mathbf{x}_i$ to one component, refit each from its points.
-- *Idea 2* (EM): the responsibilities
-- $$r_{ik} = p_\theta(z_i = k \mid \mathbf{x}_i) = \frac{\pi_k \mathcal{N}(\mathbf{x}_i; \boldsymbol\mu_k, \Sigma_k)}{\sum_j \pi_j \mathcal{N}(\mathbf{x}_i; \boldsymbol\mu_j, \Sigma_j)}$$
-- are soft assignments (E step); each component is refitted by the $r_{ik}$-weighted mean and
-- covariance, $\pi_k = \frac1N \sum_i r_{ik}$ (M step). The cell draws points from a known
-- mixture, runs k-means and EM from random responsibilities on them, and samples the fit.

-- %% k-means, EM and samples
local r = C.exercise("lecture3_em", args)

-- %% [markdown]
-- EM's colours blend where components overlap; k-means must cut there. The log-likelihood per
-- point climbs to that of the true mixture (the horizontal line) and never goes down, and the
-- samples of the fit, component first and then the Gaussian, look like the data.
--
-- ## Why EM never decreases the likelihood
--
-- For any weights $r_{ik} \ge 0$ with $\sum_k r_{ik} = 1$, Jensen's inequality for the concave
-- $\log$ gives the lower bound
-- $$\log p_\theta(\mathbf{x}_i) = \log \sum_k r_{ik} \frac{\pi_k \mathcal{N}(\mathbf{x}_i; \boldsymbol\mu_k, \Sigma_k)}{r_{ik}}
--   \;\ge\; \sum_k r_{ik} \log \frac{\pi_k \mathcal{N}(\mathbf{x}_i; \boldsymbol\mu_k, \Sigma_k)}{r_{ik}} ,$$
-- with equality when $r_{ik}$ is the posterior. The E step makes the bound tight at the current
-- $\theta$; the M step maximises the bound over $\theta$; so the likelihood after the M step is
-- at least the bound, which is at least the likelihood before. The cell checks both facts on the
-- fitted mixture: weights moved from the posterior towards random ones give a bound below the
-- log-likelihood, further below the further they move; the posterior gives it exactly; and the
-- recorded EM iterations never decrease.

-- %% the bound in numbers
local X, gmm = r.X, r.gmm
local joint = gmm:log_prob_components(X)                    -- (N, K): log pi_k + log N(x_i | k)
local loglik = gmm:log_prob(X):mean():item()
local function bound(resp)                                  -- mean over i of the Jensen bound
  local safe = resp:clamp(1e-300, 1)
  return (resp * (joint - safe:log())):sum(2):mean():item()
end
local gen = G.Generator(7)
print(("log-likelihood per point                 %.6f"):format(loglik))
print(("bound with the posterior responsibilities %.6f (gap %.2e)"):format(bound(gmm:responsibilities(X)),
      loglik - bound(gmm:responsibilities(X))))
local post = gmm:responsibilities(X)
local random = G.randn(X.shape[1], gmm.K, {dtype = "float64", generator = gen}):softmax(2)
for _, a in ipairs({0.01, 0.1, 0.5, 1}) do
  local b = bound(post * (1 - a) + random * a)
  print(("bound, %3d%% of the way to random weights  %.6f (gap %.4f, %s)"):format(100 * a, b, loglik - b,
        b <= loglik and "below" or "ABOVE: a bug"))
end
local ll, worst = r.info.loglik, math.huge
for i = 2, #ll do worst = math.min(worst, ll[i] - ll[i - 1]) end
print(("smallest change between EM iterations: %.3g over %d iterations"):format(worst, #ll - 1))

-- %% [markdown]
-- ## Quality floors
--
-- The default and `--full` configurations must show trained results. Each exercise above printed
-- the figures that say so beside their floors (`floor: ... ok`); a floor that is not met is flagged
-- at its cell and makes the run fail once the report is written. Under `--smoke` (the tests' few
-- seconds of training) they are printed but not checked. All of this run's floors:

-- %% quality floors
local floors = C.finish(nil, {list = true}).floors
