-- models.lua -- genlab.models: the Gaussian, the Gaussian mixture (fitted by
-- EM or by SGD through autodiff) and k-means of PS1 1.1 and lecture 3, over
-- the C kernels models._log_prob, _mstep and _kmeans_*.  Run once at start-up
-- with the genlab module and the models table.
--
--   local g = models.Gaussian.fit(X)                 -- closed-form MLE
--   print(g:nll(Xtest))                              -- nats per point
--   local gmm, info = models.GMM.fit_em(X, 16)       -- info.loglik per iteration
--   local S = gmm:sample(100)
local G, models = ...
local linalg, nn = G.linalg, G.nn

local lib = G._lib
local doc, raise, class = lib.doc, lib.raise, lib.class

-- Rows of X (N, d) in blocks of n, for work whose memory grows with N.
local function blocks(X, n)
  local N, i = X.shape[1], 1
  return function()
    if i > N then return nil end
    local b = X:narrow(1, i, math.min(n, N - i + 1))
    i = i + n
    return b
  end
end

local check_points = lib.check_points

-- Lower Cholesky factors of covs (K, d, d), or an error that names the
-- component and suggests the remedy.
local function factor(covs, where, hint)
  local ok, L = pcall(linalg.cholesky, covs)
  if not ok then
    raise(string.format("%s: a covariance is not positive definite (%s)%s", where,
                        tostring(L):gsub("^.-: ", ""), hint or ""))
  end
  return L
end

-- ---- Gaussian ------------------------------------------------------------------

local Gaussian = class("Gaussian")
models.Gaussian = Gaussian
function Gaussian:__init(mean, cov)
  self.mean, self.cov, self.d = mean, cov, mean.shape[1]
  self.chol = factor(cov:unsqueeze(1), "Gaussian"):squeeze(1)
end
doc(Gaussian, "models.Gaussian(mean, cov) -> Gaussian\n" ..
  "A multivariate normal N(mean, cov) for mean (d) " ..
  "and cov (d, d), kept with its Cholesky factor\n" ..
  "g.chol; fields g.mean, g.cov, g.d. models.Gaussian.fit(X) estimates one.")

Gaussian.fit = doc(function(X)
  check_points(X, nil, "Gaussian.fit")
  local _, mean, cov = models._mstep(X, nil, 0)
  return Gaussian(mean:squeeze(1), cov:squeeze(1))
end, "models.Gaussian.fit(X) -> Gaussian\n" ..
  "The closed-form maximum-likelihood estimate from the rows of X (N, d): the sample mean and\n" ..
  "the covariance divided by N (centred first, then one syrk).")

Gaussian.log_prob = doc(function(self, X)
  check_points(X, self.d, "Gaussian:log_prob")
  return models._log_prob(X, G.zeros(1, {dtype = X.dtype}), self.mean:unsqueeze(1),
                          self.chol:unsqueeze(1)):squeeze(2)
end, "g:log_prob(X) -> Tensor\n" ..
  "log N(x | mean, cov) of each row of X (N, d), " ..
  "through the Cholesky factor: a triangular solve\n" ..
  "for the Mahalanobis term and 2 sum log diag L for log det (no inverse, no det()).")

Gaussian.nll = doc(function(self, X)
  return -self:log_prob(X):mean():item()
end, "g:nll(X) -> number\nThe mean negative log-likelihood of the rows of X, in nats per point.")

Gaussian.eig = doc(function(self)
  local w, V = linalg.eigh(self.cov)
  local idx = G.arange(self.d, 0, -1)
  return w:index_select(1, idx), V:index_select(2, idx)
end, "g:eig() -> values, vectors\n" ..
  "Eigenvalues of the covariance in descending order and the matching eigenvectors as columns.")

Gaussian.sample = doc(function(self, n, opts)
  opts = lib.options(opts, {method = "eigh", generator = false}, "Gaussian:sample")
  local z = G.randn(n, self.d, {dtype = self.mean.dtype, generator = opts.generator or nil})
  if opts.method == "eigh" then
    local w, V = linalg.eigh(self.cov)
    return (z * w:clamp(0, math.huge):sqrt()):matmul(V:t()) + self.mean
  elseif opts.method == "cholesky" then
    return z:matmul(self.chol:t()) + self.mean
  end
  raise("Gaussian:sample: method must be \"eigh\" or \"cholesky\", got " .. tostring(opts.method))
end, "g:sample(n, [{method=\"eigh\"|\"cholesky\", generator=}]) -> Tensor\n" ..
  "n samples as rows: x = mean + V D^(1/2) z (the seed's Eq. 2, eigenvalues clamped at 0), or\n" ..
  "x = mean + L z with the Cholesky factor.")

function Gaussian:__tostring()
  return string.format("Gaussian(d=%d, %s)", self.d, self.mean.dtype)
end

-- ---- GMM -------------------------------------------------------------------------

local GMM = class("GMM")
-- self as the mixture of the given parameters; a model fit returns is made
-- by new_gmm, which skips the checks of GMM(weights, means, covs).
local function set_gmm(self, log_weights, means, covs, chol)
  self.log_weights, self.weights, self.means, self.covs = log_weights, log_weights:exp(), means, covs
  self.chol = chol or factor(covs, "GMM")
  self.K, self.d = means.shape[1], means.shape[2]
  return self
end

local function new_gmm(...) return set_gmm(setmetatable({}, GMM), ...) end

models.GMM = GMM
function GMM:__init(weights, means, covs)
  if not (G.is_tensor(weights) and G.is_tensor(means) and G.is_tensor(covs)) then
    raise("GMM(weights, means, covs): three tensors expected")
  end
  local K = weights.shape[1]
  if means.ndim ~= 2 or means.shape[1] ~= K or covs.ndim ~= 3 or covs.shape[1] ~= K then
    raise(string.format("GMM: weights (%s), means (%s), covs (%s): expected (K), (K, d), (K, d, d)",
          lib.shape_str(weights), lib.shape_str(means),
          lib.shape_str(covs)))
  end
  set_gmm(self, (weights / weights:sum()):log(), means, covs)
end
doc(GMM, "models.GMM(weights, means, covs) -> GMM\n" ..
  "A mixture of K Gaussians with full covariances: " ..
  "weights (K, normalised here), means (K, d),\n" ..
  "covs (K, d, d). Fields gmm.weights, log_weights, " ..
  "means, covs, chol (Cholesky factors), K, d.\n" ..
  "models.GMM.fit_em(X, K) fits one by EM; models.GMMDensity trains one by SGD.")

GMM.log_prob_components = doc(function(self, X)
  check_points(X, self.d, "GMM:log_prob_components")
  return models._log_prob(X, self.log_weights, self.means, self.chol)
end, "gmm:log_prob_components(X) -> Tensor\n" ..
  "(N, K): log pi_k + log N(x_n | mu_k, Sigma_k), one triangular solve per component.")

GMM.log_prob = doc(function(self, X)
  return self:log_prob_components(X):logsumexp(2)
end, "gmm:log_prob(X) -> Tensor\n" ..
  "log q(x) = logsumexp_k (log pi_k + log N(x | mu_k, Sigma_k)) of each row of X (N, d).")

GMM.nll = doc(function(self, X)
  local total = 0
  for b in blocks(X, 16384) do total = total - self:log_prob(b):sum():item() end
  return total / X.shape[1]
end, "gmm:nll(X) -> number\n" ..
  "The mean negative log-likelihood of the rows of X in nats per point (in blocks of rows).")

GMM.responsibilities = doc(function(self, X)
  return self:log_prob_components(X):softmax(2)
end, "gmm:responsibilities(X) -> Tensor\n" ..
  "(N, K) posterior probabilities p(k | x_n) = pi_k N(x_n | k) / q(x_n), through log space.")

GMM.predict = doc(function(self, X)
  local _, k = self:log_prob_components(X):max(2)
  return k
end, "gmm:predict(X) -> Tensor\n" ..
  "The hard assignment argmax_k pi_k N(x_n | mu_k, Sigma_k) of each row (1-based, as PS1 1.1h).")

GMM.sample = doc(function(self, n, opts)
  opts = lib.options(opts, {generator = false}, "GMM:sample")
  local gen = opts.generator or nil
  local dtype = self.means.dtype
  local comp = G.categorical(self.weights, n, {generator = gen})
  local z = G.randn(n, self.d, {dtype = dtype, generator = gen})
  local x = G.zeros(n, self.d, {dtype = dtype})
  local rows = G.arange(1, n + 1, {dtype = "float64"})
  for k = 1, self.K do                    -- one GEMM per component
    local idx = rows:masked_select(comp:eq(k))
    local m = idx.shape[1]
    if m > 0 then
      local xk = z:index_select(1, idx):matmul(self.chol[k]:t()) + self.means[k]
      x:scatter_add_(1, idx:reshape(m, 1):expand(m, self.d), xk)
    end
  end
  return x, comp
end, "gmm:sample(n, [{generator=}]) -> X, components\n" ..
  "Two-step sampling: a component k ~ pi, then x = mu_k + L_k z with z ~ N(0, I).")

GMM.to = doc(function(self, dtype)
  if self.means.dtype == dtype then return self end
  -- a float32 factor is only good to float32: float64 factors again
  return new_gmm(self.log_weights:to(dtype), self.means:to(dtype), self.covs:to(dtype),
                 dtype == "float32" and self.chol:to(dtype) or nil)
end, "gmm:to(dtype) -> GMM\n" ..
  "The same mixture in \"float32\" or \"float64\" " ..
  "(itself when it already is). Going to float64\n" ..
  "factors the covariances again, so that the Cholesky factors have float64's precision.")

GMM.score = doc(function(self, X)
  check_points(X, self.d, "GMM:score")
  return models._score(X, self.log_weights, self.means, self.chol)
end, "gmm:score(X) -> logq, grad, labels\n" ..
  "log q(x) (N) and its gradient d log q / dx = -sum_k " ..
  "r_k Sigma_k^-1 (x - mu_k) (N, d) for the rows\n" ..
  "of X: the E-step pass, then Sigma_k^-1 applied only where the responsibility r_k >= 1e-20.\n" ..
  "labels (N, 1-based) are the most responsible components argmax_k r_k, as gmm:predict.")

GMM.noisy = doc(function(self, noise_var)
  if type(noise_var) ~= "number" or not (noise_var >= 0 and noise_var < math.huge) then
    raise("GMM:noisy: the noise variance must be a finite number >= 0, got " .. tostring(noise_var))
  end
  local memo = rawget(self, "_noisy")        -- the last one, for repeated filtering
  if memo and memo.var == noise_var then return memo.gmm end
  local eye = G.eye(self.d, {dtype = self.means.dtype})
  local covs = self.covs + eye * noise_var
  local nz = new_gmm(self.log_weights, self.means, covs, factor(covs, "GMM:noisy"))
  rawset(self, "_noisy", {var = noise_var, gmm = nz})
  return nz
end, "gmm:noisy(noise_var) -> GMM\n" ..
  "The distribution of x + e for x ~ gmm and e ~ " ..
  "N(0, noise_var I): every Sigma_k + noise_var I.\n" ..
  "The last one made is kept, so that repeated filtering at one noise level factors once.")

GMM.wiener = doc(function(self, Y, noise_var, labels, opts)
  check_points(Y, self.d, "GMM:wiener")
  opts = lib.options(opts, {center = true}, "GMM:wiener")
  local nz = self:noisy(noise_var)
  local means = opts.center and nz.means or G.zeros_like(nz.means)
  return models._wiener(Y, labels, nz.log_weights, means, nz.chol, noise_var)
end, "gmm:wiener(Y, noise_var, labels, [{center=true}]) -> X\n" ..
  "For each row y of Y, the Wiener filter of component k = labels[n] (1-based):\n" ..
  "x = mu_k + Sigma_k (Sigma_k + noise_var I)^-1 (y " ..
  "- mu_k), the posterior mean of a clean patch\n" ..
  "under that component. center=false leaves the " ..
  "means out: Sigma_k (Sigma_k + noise_var I)^-1 y.")

GMM.map_patches = doc(function(self, Y, noise_var)
  check_points(Y, self.d, "GMM:map_patches")
  local nz = self:noisy(noise_var)
  return models._map_patches(Y, nz.log_weights, nz.means, nz.chol, noise_var)
end, "gmm:map_patches(Y, noise_var) -> X, labels\n" ..
  "EPLL's approximate MAP estimate of clean patches from the rows of Y observed with Gaussian\n" ..
  "noise of variance noise_var: the most likely " ..
  "component k of the noisy model (gmm:noisy) and its\n" ..
  "Wiener filter x = mu_k + Sigma_k (Sigma_k + noise_var I)^-1 (y - mu_k). labels are 1-based.")

GMM.max_precision = doc(function(self)
  return 1 / linalg.eigvalsh(self.covs):min():item()
end, "gmm:max_precision() -> number\n" ..
  "max_k of the largest eigenvalue of Sigma_k^-1 = " ..
  "1 / min_k lambda_min(Sigma_k): a bound on the\n" ..
  "curvature of -log q, which sets a safe gradient-descent step.")

GMM.state_dict = doc(function(self)
  return {weights = self.weights, means = self.means, covs = self.covs}
end, "gmm:state_dict() -> {weights=, means=, covs=}\n" ..
  "The tensors that define the mixture, for genlab.save.")

GMM.save = doc(function(self, path)
  G.save(path, self:state_dict())
end, "gmm:save(path)\n" ..
  "Write the mixture as a checkpoint (genlab.save); models.GMM.load reads it back.")

GMM.load = doc(function(path)
  local sd = G.load(path)
  for _, k in ipairs{"weights", "means", "covs"} do
    if not G.is_tensor(sd[k]) then
      raise(string.format("GMM.load: %s: no '%s' tensor (not a GMM checkpoint?)", path, k))
    end
  end
  local ok, gmm = pcall(GMM, sd.weights, sd.means, sd.covs)
  if not ok then raise(("GMM.load: %s: %s"):format(path, lib.bare(gmm))) end
  return gmm
end, "models.GMM.load(path) -> GMM\nRead a mixture written by gmm:save.")

function GMM:__tostring()
  return string.format("GMM(K=%d, d=%d, %s)", self.K, self.d, self.means.dtype)
end

-- ---- k-means --------------------------------------------------------------------

models.kmeans = doc(function(X, K, opts)
  check_points(X, nil, "kmeans")
  opts = lib.options(opts, {max_iter = 100, tol = 1e-6, seed = 0, generator = false,
                            callback = false}, "kmeans")
  local gen = opts.generator or G.Generator(opts.seed)
  local centers = models._kmeans_init(X, K, {generator = gen})
  local inertia, labels, d2 = {}, nil, nil
  for it = 1, opts.max_iter do
    labels, d2 = models._kmeans_assign(X, centers)
    inertia[it] = d2:sum():item()
    if opts.callback then opts.callback(it, centers, labels, inertia[it]) end
    if it > 1 and inertia[it - 1] - inertia[it] <= opts.tol * inertia[it - 1] then break end
    models._kmeans_update(centers, X, labels)
  end
  return centers, labels, {inertia = inertia, iterations = #inertia}
end, "models.kmeans(X, K, [{max_iter=100, tol=1e-6, seed=0, " ..
  "generator=, callback=}]) -> centers, labels, info\n" ..
  "Lloyd's algorithm from k-means++ seeds: hard assignment to the nearest centre, then each\n" ..
  "centre to the mean of its points, until the sum " ..
  "of squared distances (info.inertia, one per\n" ..
  "iteration) improves by less than tol relative. " ..
  "callback(it, centers, labels, inertia) each step.")

-- ---- EM ----------------------------------------------------------------------------

local function one_hot(labels, K, dtype)
  local N = labels.shape[1]
  return G.zeros(N, K, {dtype = dtype}):scatter_add_(2, labels:reshape(N, 1),
                                                      G.ones(N, 1, {dtype = dtype}))
end

local function initial_resp(X, K, opts, gen)
  local N = X.shape[1]
  if opts.init == "kmeans" then
    local _, labels = models.kmeans(X, K, {generator = gen, max_iter = opts.kmeans_iter})
    return one_hot(labels, K, X.dtype)
  elseif opts.init == "random" then
    local r = G.rand(N, K, {dtype = X.dtype, generator = gen})
    return r / r:sum(2, true)
  end
  raise("GMM.fit_em: init must be \"kmeans\", \"random\" or a GMM, got " .. tostring(opts.init))
end

-- The M step with the prior lambda = reg_covar N / K on every covariance:
-- a component of average size N / K gets Sigma_k = S_k / N_k + reg_covar I.
local function mstep(X, resp, reg)
  local lw, means, covs = models._mstep(X, resp, reg * X.shape[1] / resp.shape[2])
  local hint = string.format("; raise reg_covar (now %g)", reg)
  return new_gmm(lw, means, covs, factor(covs, "GMM.fit_em", hint))
end

-- The prior's log density per point: -(lambda / 2N) sum_k tr(Sigma_k^-1),
-- with tr(Sigma^-1) = |L^-1|_F^2 by a triangular solve.
local function log_prior(gmm, reg)
  if reg == 0 then return 0 end
  local I = G.eye(gmm.d, {dtype = gmm.means.dtype}):expand(gmm.K, gmm.d, gmm.d)
  local tr = linalg.solve_triangular(gmm.chol, I):square():sum():item()
  return -0.5 * reg / gmm.K * tr
end

GMM.fit_em = doc(function(X, K, opts)
  check_points(X, nil, "GMM.fit_em")
  opts = lib.options(opts, {init = "kmeans", max_iter = 100, tol = 1e-3, reg_covar = 1e-6,
                            seed = 0, generator = false, kmeans_iter = 20, callback = false,
                            verbose = false}, "GMM.fit_em")
  if not (type(opts.reg_covar) == "number" and opts.reg_covar >= 0) then
    raise("GMM.fit_em: reg_covar must be a number >= 0")
  end
  local t0 = G.time()
  local gmm
  if getmetatable(opts.init) == GMM then          -- EM goes on from a given mixture
    local g = opts.init
    if g.d ~= X.shape[2] or g.K ~= K then
      raise(string.format("GMM.fit_em: init is a mixture of %d components in %d dimensions, " ..
                          "but K = %d and the points are (%d, %d)", g.K, g.d, K, X.shape[1],
                          X.shape[2]))
    end
    gmm = g:to(X.dtype)
  else
    local gen = opts.generator or G.Generator(opts.seed)
    gmm = mstep(X, initial_resp(X, K, opts, gen), opts.reg_covar)
  end
  local loglik, objective, converged = {}, {}, false
  while true do
    local resp, ll = models._estep(X, gmm.log_weights, gmm.means, gmm.chol)
    local it = #loglik + 1
    loglik[it] = ll
    objective[it] = loglik[it] + log_prior(gmm, opts.reg_covar)
    if opts.verbose then
      print(string.format("EM %3d  log-likelihood %.6g per point%s%s  %.1f s", it - 1, loglik[it],
            it > 1 and string.format(" (%+.3g)", loglik[it] - loglik[it - 1]) or "",
            opts.reg_covar > 0 and it > 1 and
              string.format(", objective %+.3g", objective[it] - objective[it - 1]) or "",
            G.time() - t0))
    end
    if opts.callback then opts.callback(it - 1, gmm, loglik[it], resp, objective[it]) end
    converged = it > 1 and math.abs(objective[it] - objective[it - 1]) < opts.tol
    if converged or it > opts.max_iter then break end
    gmm = mstep(X, resp, opts.reg_covar)
  end
  return gmm, {loglik = loglik, objective = objective, iterations = #loglik - 1,
               converged = converged}
end, "models.GMM.fit_em(X, K, [{init=\"kmeans\"|\"random\"|GMM, " ..
  "max_iter=100, tol=1e-3, reg_covar=1e-6,\n" ..
  "  seed=0, generator=, kmeans_iter=20, callback=, verbose=false}]) -> GMM, info\n" ..
  "Expectation-maximisation from k-means (or random) " ..
  "responsibilities, or from the mixture init (K\n" ..
  "components in X's dimension, e.g. one fitted on a subset of X). Each iteration computes\n" ..
  "responsibilities in log space (E) and the weighted " ..
  "MLE (M). reg_covar keeps a component that\n" ..
  "collapses onto a flat region or a few points invertible: each M step adds lambda I to the\n" ..
  "scatter before dividing by N_k, lambda = reg_covar " ..
  "N / K, so that a component of average size\n" ..
  "gets Sigma_k = S_k / N_k + reg_covar I. That is the MAP step under the prior\n" ..
  "p(Sigma_k) ~ exp(-lambda/2 tr Sigma_k^-1), so EM never decreases the penalised objective\n" ..
  "info.objective = loglik - lambda/(2N) sum_k tr " ..
  "Sigma_k^-1 (per point); with reg_covar = 0 it is\n" ..
  "the log-likelihood itself. info.loglik holds the " ..
  "mean log-likelihood of the initial and every\n" ..
  "later mixture. Stops when the objective changes " ..
  "by less than tol or after max_iter M steps;\n" ..
  "callback(it, gmm, loglik, resp, objective) sees each mixture.")

-- ---- GMM by SGD -------------------------------------------------------------------

local GMMDensity = nn.class("GMMDensity")
models.GMMDensity = GMMDensity

-- K components in d dimensions: means (K, d), A (K, d, d) with
-- Sigma_k = A_k A_k^T + eps I, logits (K) with pi = softmax(logits).
function GMMDensity:__init(K, d, opts)
  opts = lib.options(opts, {data = false, init = "identity", scale = false, eps = 1e-4,
                            dtype = false, generator = false, seed = false}, "GMMDensity")
  local gen = opts.generator or (opts.seed and G.Generator(opts.seed)) or nil
  local dtype = opts.dtype or (opts.data and opts.data.dtype) or G.get_default_dtype()
  local X = opts.data
  local means, A0, scale
  if X then
    means = X:index_select(1, G.randperm(X.shape[1], {generator = gen}):narrow(1, 1, K)):clone()
    scale = opts.scale or X:std(1):mean():item()
  else
    means = G.zeros(K, d, {dtype = dtype})
    scale = opts.scale or 1
  end
  if opts.init == "covariance" then
    if not X then raise("GMMDensity: init = \"covariance\" needs data") end
    local _, _, cov = models._mstep(X, nil, opts.eps * X.shape[1])   -- S / N + eps I
    A0 = linalg.cholesky(cov):to(dtype)
  elseif opts.init == "identity" then
    A0 = G.eye(d, {dtype = dtype}):unsqueeze(1) * scale
  else
    raise("GMMDensity: init must be \"identity\" or \"covariance\", got " .. tostring(opts.init))
  end
  local A = A0:expand(K, d, d) + G.randn(K, d, d, {dtype = dtype, generator = gen}) * (0.01 * scale)
  self.K, self.d, self.eps = K, d, opts.eps
  self.eye = G.eye(d, {dtype = dtype})
  self:add("means", means:to(dtype))
  self:add("A", A)
  self:add("logits", G.zeros(K, {dtype = dtype}))
end

function GMMDensity:covariances()
  return self.A:matmul(self.A:transpose(2, 3)) + self.eye * self.eps
end

-- log q(x) of each row of x (B, d): one fused op over the K components.
function GMMDensity:forward(x)
  return nn.gmm_log_density(x, self.logits, self.means, self.A, self.eps)
end

function GMMDensity:nll(X)
  return G.no_grad(function()
    local total = 0
    for b in blocks(X, 2048) do total = total - self:forward(b):sum():item() end
    return total / X.shape[1]
  end)
end

function GMMDensity:to_gmm()
  return G.no_grad(function()
    local covs = self:covariances():detach()
    return new_gmm(self.logits:log_softmax(1):detach(), self.means:detach():clone(), covs)
  end)
end

function GMMDensity:fit(X, opts)
  opts = lib.options(opts, {epochs = 20, batch_size = 512, lr = 1e-3, lr_end = false, test = false,
                            generator = false, seed = 0, on_epoch = false, on_step = false,
                            verbose = true}, "GMMDensity:fit")
  local gen = opts.generator or G.Generator(opts.seed)
  local opt = G.optim.Adam(self:parameters(), {lr = opts.lr})
  local hist = {train = {}, test = {}, step = {}}
  local t0 = G.time()
  for ep = 1, opts.epochs do
    if opts.lr_end and opts.epochs > 1 then
      opt:set_lr(opts.lr * (opts.lr_end / opts.lr) ^ ((ep - 1) / (opts.epochs - 1)))
    end
    local sum, n = 0, 0
    for xb in G.data.batches(X, opts.batch_size, {generator = gen}) do
      local loss = -self:forward(xb):mean()
      opt:zero_grad()
      loss:backward()
      opt:step()
      local l = loss:item()
      sum, n = sum + l * xb.shape[1], n + xb.shape[1]
      hist.step[#hist.step + 1] = l
      if opts.on_step then opts.on_step(#hist.step, l) end
    end
    hist.train[ep] = sum / n
    hist.test[ep] = opts.test and self:nll(opts.test) or nil
    if opts.verbose then
      print(string.format("epoch %d/%d  train NLL %.2f%s nats  %.1f s", ep, opts.epochs,
            hist.train[ep], hist.test[ep] and string.format("  test %.2f", hist.test[ep]) or "",
            G.time() - t0))
    end
    if opts.on_epoch then opts.on_epoch(ep, hist) end
  end
  return hist
end

doc(GMMDensity, "models.GMMDensity(K, d, [{data=, init=\"identity\"|\"covariance\", " ..
  "scale=, eps=1e-4, dtype=, seed=,\n" ..
  "  generator=}]) -> module\n" ..
  "A GMM as an nn module for training by gradient descent, in PS1 1.1d-e's parameterisation:\n" ..
  "means (K, d), A (K, d, d) with Sigma_k = A_k A_k^T " ..
  "+ eps I, and logits (K) with pi = softmax.\n" ..
  "Forward gives log q(x) (B) for x (B, d) by " ..
  "nn.gmm_log_density: one differentiable op over the K\n" ..
  "components, with the closed-form gradient. With data, " ..
  "the means start at K random rows and each A_k at\n" ..
  "scale I (scale: the data's mean per-dimension std) " ..
  "or, with init=\"covariance\", at the Cholesky\n" ..
  "factor of the data's covariance; a little noise (1% of scale) breaks the symmetry.\n" ..
  "K = 1 is the Gaussian of 1.1d.")
doc(GMMDensity.covariances, "m:covariances() -> Tensor\n" ..
  "Sigma (K, d, d) = A A^T + eps I, differentiable.")
doc(GMMDensity.nll, "m:nll(X) -> number\n" ..
  "Mean negative log-likelihood of the rows of X in nats, without a graph, in blocks.")
doc(GMMDensity.to_gmm, "m:to_gmm() -> GMM\n" ..
  "A models.GMM with the current parameters (detached), for sampling, predict, saving.")
doc(GMMDensity.fit,
  "m:fit(X, [{epochs=20, batch_size=512, lr=1e-3, lr_end=, test=, seed=0, generator=,\n" ..
  "  on_epoch=, on_step=, verbose=true}]) -> history\n" ..
  "Adam on the mean NLL over shuffled minibatches, " ..
  "the learning rate going geometrically from lr\n" ..
  "in the first epoch to lr_end in the last when lr_end is " ..
  "given; history.train and .test (when test is given)\n" ..
  "hold the NLL per epoch and .step per step. on_epoch(epoch, history) runs after each epoch.")
