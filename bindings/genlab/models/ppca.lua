-- ppca.lua -- two linear-Gaussian models of seed 002 in genlab.models:
-- probabilistic PCA (problem 2, Tipping & Bishop) and the linear-Gaussian
-- regression y = x^T w + e (problem 4).  The work is in C: models._ppca_fit,
-- _ppca_log_prob and _ppca_posterior (core/models/ppca.c) over the Cholesky
-- factor of the d x d matrix M; nothing forms an inverse or an m x m matrix
-- beyond S.  Run once at start-up
-- with the genlab module and the models table.
--
--   local p = models.PPCA.fit(X, 16)                 -- closed-form MLE
--   local z, cov = p:posterior(X)                    -- E[z | x] (N, d), sigma^2 M^-1 (d, d)
--   local R = p:reconstruct(X)                       -- E[x | E[z | x]]
--   local lp = p:log_prob(X)                         -- Woodbury + determinant lemma, O(m d^2)
--   local lg = models.LinearGaussian.fit(X, y)       -- lg.w, lg.sigma2
local G, models = ...
local linalg, nn = G.linalg, G.nn

local lib = G._lib
local doc, raise, class = lib.doc, lib.raise, lib.class

local shape = lib.shape

-- X as p-PCA's points: (N, m), m the observed dimension.
local function check_points(X, m, where) lib.check_points(X, m, where, "m") end

-- ---- p-PCA -------------------------------------------------------------------------

local PPCA = class("PPCA")

-- self as the PPCA of W (m, d), mean (m) and sigma2 (> 0), with M = W^T W +
-- sigma2 I and its Cholesky factor, which every method uses.
local function set_ppca(self, W, mean, sigma2)
  local m, d = W.shape[1], W.shape[2]
  local M = W:t():matmul(W) + G.eye(d, {dtype = W.dtype}) * sigma2
  local ok, LM = pcall(linalg.cholesky, M)
  if not ok then raise("PPCA: W^T W + sigma^2 I is not positive definite: " .. tostring(LM)) end
  self.W, self.mean, self.sigma2, self.d, self.m, self.M, self.LM = W, mean, sigma2, d, m, M, LM
  return self
end

local function new_ppca(...) return set_ppca(setmetatable({}, PPCA), ...) end

models.PPCA = PPCA
function PPCA:__init(W, mean, sigma2)
  if not (G.is_tensor(W) and W.ndim == 2 and G.is_tensor(mean) and mean.ndim == 1
          and mean.shape[1] == W.shape[1]) then
    raise("PPCA(W, mean, sigma2): W (m, d) and mean (m) expected")
  end
  if type(sigma2) ~= "number" or not (sigma2 > 0 and sigma2 < math.huge) then
    raise("PPCA: sigma2 must be a finite number > 0, got " .. tostring(sigma2))
  end
  set_ppca(self, W, mean, sigma2)
end
doc(PPCA, "models.PPCA(W, mean, sigma2) -> PPCA\n" ..
  "Probabilistic PCA: z ~ N(0, I_d), x | z ~ N(W z " ..
  "+ mean, sigma2 I_m) for W (m, d), mean (m).\n" ..
  "Fields W, mean, sigma2, d, m, M = W^T W + sigma2 " ..
  "I (d, d) and its Cholesky factor LM; every\n" ..
  "method solves with LM, never an inverse. models.PPCA.fit(X, d) is the closed-form MLE.")

PPCA.fit = doc(function(X, d)
  check_points(X, nil, "PPCA.fit")
  local m = X.shape[2]
  if math.type(d) ~= "integer" or d <= 0 or d >= m then
    raise(string.format("PPCA.fit: the latent dimension d must be an integer with 0 < d < m = %d, got %s",
                        m, tostring(d)))
  end
  local ok, W, mean, lam, sigma2, rank = pcall(models._ppca_fit, X, d)
  if not ok then raise("PPCA.fit: " .. tostring(W):gsub("^.-ppca%.fit: ", "")) end
  local p = new_ppca(W, mean, sigma2)
  p.eigenvalues, p.rank = lam, rank
  return p
end, "models.PPCA.fit(X, d) -> PPCA\n" ..
  "The closed-form MLE for the rows of X (N, m): mean " ..
  "the sample mean, S the covariance divided by N,\n" ..
  "sigma2 the mean of its m - d smallest eigenvalues and W = U_d (Lambda_d - sigma2 I)^(1/2).\n" ..
  "Also sets p.eigenvalues (m, descending) and p.rank. " ..
  "d <= 0, d >= m, or d at or above the rank of S\n" ..
  "(N points give rank <= N - 1), where sigma2 would be 0, is an error.")

PPCA.fit_em = doc(function(X, d, opts)
  check_points(X, nil, "PPCA.fit_em")
  opts = lib.options(opts, {iters = 500, tol = 1e-10, generator = false, W = false, sigma2 = false},
                     "PPCA.fit_em")
  local N, m = X.shape[1], X.shape[2]
  if math.type(d) ~= "integer" or d <= 0 or d >= m then
    raise(string.format("PPCA.fit_em: d must be an integer with 0 < d < m = %d, got %s", m, tostring(d)))
  end
  local mean = X:mean(1)
  local Xc = X - mean
  local S = Xc:t():matmul(Xc) / N
  local trS = S:diagonal():sum():item()
  local W = opts.W or G.randn(m, d, {dtype = X.dtype, generator = opts.generator or nil})
  local s2 = opts.sigma2 or trS / m
  local loglik, prev = {}, -math.huge
  for it = 1, opts.iters do
    local p = new_ppca(W, mean, s2)
    local ll = p:log_prob(X):mean():item()
    loglik[it] = ll
    if math.abs(ll - prev) <= opts.tol * math.abs(ll) then break end
    prev = ll
    -- Tipping & Bishop (1999), eqs. 29-30, with solves for M^-1 and the d x d inverse
    local SW = S:matmul(W)                                                -- (m, d)
    local MiWSW = linalg.cholesky_solve(W:t():matmul(SW), p.LM)          -- M^-1 W^T S W
    local A = MiWSW + G.eye(d, {dtype = X.dtype}) * s2
    local Wn = linalg.solve(A:t(), SW:t()):t()                            -- S W A^-1
    local SWMi = linalg.cholesky_solve(SW:t(), p.LM):t()                  -- S W M^-1
    s2 = (trS - (SWMi * Wn):sum():item()) / m
    W = Wn:contiguous()
  end
  return new_ppca(W, mean, s2), {loglik = loglik}
end,
  "models.PPCA.fit_em(X, d, [{iters=500, tol=1e-10, generator=, W=, sigma2=}]) -> PPCA, info\n" ..
  "The EM algorithm for p-PCA (Tipping & Bishop 1999, " ..
  "eqs. 29-30) from W (default N(0, 1) entries)\n" ..
  "and sigma2 (default tr S / m): W <- S W (sigma2 I + M^-1 W^T S W)^-1,\n" ..
  "sigma2 <- tr(S - S W M^-1 W_new^T) / m, by solves. " ..
  "It stops when the mean log-likelihood changes\n" ..
  "by less than tol (relative); info.loglik holds it per iteration (nats per point).")

PPCA.posterior = doc(function(self, X)
  check_points(X, self.m, "PPCA:posterior")
  local cov = linalg.cholesky_solve(G.eye(self.d, {dtype = self.W.dtype}) * self.sigma2, self.LM)
  return models._ppca_posterior(X, self.W, self.mean, self.LM), cov
end, "p:posterior(X) -> mean, cov\n" ..
  "p(z | x) = N(M^-1 W^T (x - mean), sigma2 M^-1) " ..
  "for the rows of X (N, m): mean (N, d), and the\n" ..
  "covariance (d, d) that all points share, by Cholesky solves with M = W^T W + sigma2 I.")

PPCA.decode = doc(function(self, Z)
  if not G.is_tensor(Z) or Z.ndim ~= 2 or Z.shape[2] ~= self.d then
    raise(string.format("PPCA:decode: Z must be (N, %d), got %s", self.d, G.is_tensor(Z) and shape(Z) or type(Z)))
  end
  return Z:matmul(self.W:t()) + self.mean
end, "p:decode(Z) -> Tensor\nE[x | z] = W z + mean for the rows of Z (N, d): (N, m).")

PPCA.reconstruct = doc(function(self, X)
  return self:decode((self:posterior(X)))
end, "p:reconstruct(X) -> Tensor\nE[x | E[z | x]] for the rows of X: the posterior mean decoded.")

PPCA.sample = doc(function(self, n, opts)
  opts = lib.options(opts, {noise = false, generator = false}, "PPCA:sample")
  local gen = opts.generator or nil
  local Z = G.randn(n, self.d, {dtype = self.W.dtype, generator = gen})
  local X = self:decode(Z)
  if opts.noise then X = X + G.randn(n, self.m, {dtype = self.W.dtype, generator = gen}) * math.sqrt(self.sigma2) end
  return X, Z
end, "p:sample(n, [{noise=false, generator=}]) -> X, Z\n" ..
  "z ~ N(0, I) and x = E[x | z] = W z + mean (the seed's new faces), or x ~ p(x | z) with\n" ..
  "noise=true (W z + mean + sigma e). X (n, m), Z (n, d).")

PPCA.log_prob = doc(function(self, X)
  check_points(X, self.m, "PPCA:log_prob")
  return models._ppca_log_prob(X, self.W, self.mean, self.LM, self.sigma2)
end, "p:log_prob(X) -> Tensor\n" ..
  "log N(x | mean, C) with C = W W^T + sigma2 I for each row of X (N, m), through M alone:\n" ..
  "C^-1 = (I - W M^-1 W^T) / sigma2 (Woodbury) and " ..
  "det C = sigma2^(m-d) det M (the determinant\n" ..
  "lemma), so O(m d^2) per point and no m x m matrix.")

PPCA.nll = doc(function(self, X)
  return -self:log_prob(X):mean():item()
end, "p:nll(X) -> number\nThe mean negative log-likelihood of the rows of X, in nats per point.")

PPCA.covariance = doc(function(self)
  return self.W:matmul(self.W:t()) + G.eye(self.m, {dtype = self.W.dtype}) * self.sigma2
end, "p:covariance() -> Tensor\n" ..
  "The marginal covariance C = W W^T + sigma2 I (m, m), dense: for checks and small m.")

function PPCA:__tostring()
  return string.format("PPCA(m=%d, d=%d, sigma2=%.4g, %s)", self.m, self.d, self.sigma2, self.W.dtype)
end

-- ---- linear-Gaussian regression ---------------------------------------------------

local LinearGaussian = class("LinearGaussian")
models.LinearGaussian = LinearGaussian
function LinearGaussian:__init(w, sigma2)
  self.w, self.sigma2, self.p = w, sigma2, w.shape[1]
end
doc(LinearGaussian, "models.LinearGaussian(w, sigma2) -> LinearGaussian\n" ..
  "p(y | x) = N(x^T w, sigma2) for w (p). Fields " ..
  "w, sigma2, p. models.LinearGaussian.fit(X, y)\n" ..
  "is the MLE.")

local function check_xy(X, y, where)
  check_points(X, nil, where)
  if not G.is_tensor(y) or y.ndim ~= 1 or y.shape[1] ~= X.shape[1] then
    raise(string.format("%s: X %s and y %s: expected (N, p) and (N)", where, shape(X),
                        G.is_tensor(y) and shape(y) or type(y)))
  end
end

LinearGaussian.fit = doc(function(X, y)
  check_xy(X, y, "LinearGaussian.fit")
  local ok, L = pcall(linalg.cholesky, X:t():matmul(X))
  if not ok then
    raise(string.format("LinearGaussian.fit: sum x x^T is singular (X %s has rank below %d): %s",
                        shape(X), X.shape[2], tostring(L)))
  end
  local w = linalg.cholesky_solve(X:t():matmul(y:unsqueeze(2)), L):squeeze(2)
  local r = X:matmul(w:unsqueeze(2)):squeeze(2) - y
  return LinearGaussian(w, (r * r):mean():item())
end, "models.LinearGaussian.fit(X, y) -> LinearGaussian\n" ..
  "The MLE for rows x of X (N, p) and targets y (N): " ..
  "w = (sum x x^T)^-1 sum x y by a Cholesky solve,\n" ..
  "sigma2 the mean squared residual. A rank-deficient X is an error.")

LinearGaussian.predict = doc(function(self, X)
  check_points(X, self.p, "LinearGaussian:predict")
  return X:matmul(self.w:unsqueeze(2)):squeeze(2)
end, "lg:predict(X) -> Tensor\nThe mean x^T w of p(y | x) for each row of X (N, p).")

LinearGaussian.log_prob = doc(function(self, X, y)
  check_xy(X, y, "LinearGaussian:log_prob")
  local r = y - self:predict(X)
  return (r * r / self.sigma2 + math.log(2 * math.pi * self.sigma2)) * -0.5
end, "lg:log_prob(X, y) -> Tensor\nlog N(y | x^T w, sigma2) for each row x of X and target in y.")
