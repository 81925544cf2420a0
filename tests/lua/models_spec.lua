-- genlab.models against independent references: the Gaussian and mixture
-- densities against the textbook formula with an explicit inverse and
-- determinant (float64, 1e-10), sample moments against the parameters
-- (statistical tolerances stated per check), EM's monotonicity every
-- iteration (1e-9 relative) and its recovery of a known mixture, SGD against
-- the closed form (1%), and the messages of bad input.
local G = require "genlab"
local M, linalg = G.models, G.linalg
local f64 = {dtype = "float64"}
local H = dofile("tests/lua/helpers.lua")

local function maxdiff(a, b) return (a - b):abs():max():item() end

-- log N(x | mu, S) by the formula, with inv and det (the reference only)
local function direct_logpdf(X, mu, S)
  local d = mu.shape[1]
  local D = X - mu
  local q = D:matmul(linalg.inv(S)):mul(D):sum(2)
  local _, logdet = linalg.slogdet(S)
  return (q + d * math.log(2 * math.pi) + logdet:item()) * -0.5
end

local function random_spd(d, scale, gen)
  local R = G.randn(d, d, {dtype = "float64", generator = gen})
  return R:matmul(R:t()) * scale + G.eye(d, f64) * 0.1
end

-- a well separated K-component mixture in d dimensions
local function known_mixture(K, d, gen)
  local means, covs, w = {}, {}, {}
  for k = 1, K do
    local m = G.zeros(d, f64)
    m[1 + (k - 1) % d] = 8 * k
    means[k], covs[k], w[k] = m, random_spd(d, 0.3, gen), k
  end
  return M.GMM(G.tensor(w, f64), G.stack(means), G.stack(covs))
end

describe("models.Gaussian", function()
  it("fit is the sample mean and the covariance divided by N", function()
    local X = G.randn(500, 4, f64):matmul(G.randn(4, 4, f64)) + 3
    local g = M.Gaussian.fit(X)
    local mu = X:mean(1)
    local Xc = X - mu
    assert.is_true(maxdiff(g.mean, mu) < 1e-12)
    assert.is_true(maxdiff(g.cov, Xc:t():matmul(Xc) / 500) < 1e-12)
  end)

  it("log_prob equals the formula with inverse and determinant (1e-10)", function()
    local gen = G.Generator(1)
    local S = random_spd(5, 1, gen)
    local mu = G.randn(5, {dtype = "float64", generator = gen})
    local X = G.randn(40, 5, {dtype = "float64", generator = gen}) * 2
    local g = M.Gaussian(mu, S)
    assert.is_true(maxdiff(g:log_prob(X), direct_logpdf(X, mu, S)) < 1e-10)
    assert.is_true(math.abs(g:nll(X) + direct_logpdf(X, mu, S):mean():item()) < 1e-10)
  end)

  it("float32 log_prob agrees with float64 to 1e-4 relative", function()
    local S = random_spd(16, 0.2, G.Generator(2))
    local g64 = M.Gaussian(G.zeros(16, f64), S)
    local g32 = M.Gaussian(G.zeros(16), S:float())
    local X = G.randn(100, 16, f64)
    local a, b = g64:log_prob(X), g32:log_prob(X:float()):double()
    assert.is_true(maxdiff(a, b) / a:abs():max():item() < 1e-4)
  end)

  for _, method in ipairs{"eigh", "cholesky"} do
    it("samples by " .. method .. " have the mean and covariance (200,000 draws)", function()
      local S = random_spd(3, 1, G.Generator(3))
      local mu = G.tensor({1, -2, 0.5}, f64)
      local Z = M.Gaussian(mu, S):sample(200000, {method = method, generator = G.Generator(4)})
      local fit = M.Gaussian.fit(Z)
      -- standard error of a mean is sqrt(S_ii / n) < 0.01 here: allow 5 of them
      assert.is_true(maxdiff(fit.mean, mu) < 0.05)
      -- of a covariance entry about sqrt(2 / n) S_ii: 1.5% of the largest
      assert.is_true(maxdiff(fit.cov, S) < 0.015 * S:abs():max():item() * 2)
    end)
  end

  it("eig gives descending eigenvalues with their eigenvectors", function()
    local S = random_spd(6, 1, G.Generator(5))
    local w, V = M.Gaussian(G.zeros(6, f64), S):eig()
    local t = w:totable()
    for i = 2, 6 do assert.is_true(t[i] <= t[i - 1]) end
    assert.is_true(maxdiff(S:matmul(V), V * w) < 1e-10)
  end)

  it("refuses a covariance that is not positive definite, naming the problem", function()
    local msg = H.err(M.Gaussian, G.zeros(2, f64), G.tensor({{1, 2}, {2, 1}}, f64))
    assert.truthy(msg:find("not positive definite", 1, true))
  end)

  it("names the shapes when points do not fit", function()
    local g = M.Gaussian(G.zeros(3, f64), G.eye(3, f64))
    local msg = H.err(g.log_prob, g, G.zeros(4, 2, f64))
    assert.truthy(msg:find("points have 2 dimensions, the model 3", 1, true))
  end)
end)

describe("models.GMM", function()
  local gen = G.Generator(7)
  local K, d = 3, 2
  local covs = G.stack({random_spd(d, 1, gen), random_spd(d, 0.5, gen), random_spd(d, 2, gen)})
  local means = G.randn(K, d, {dtype = "float64", generator = gen}) * 3
  local weights = G.tensor({0.2, 0.5, 0.3}, f64)
  local gmm = M.GMM(weights, means, covs)
  local X = G.randn(50, d, {dtype = "float64", generator = gen}) * 4

  it("log_prob equals the brute-force sum of weighted densities (1e-10)", function()
    local sum = G.zeros(50, f64)
    for k = 1, K do
      sum = sum + direct_logpdf(X, means[k], covs[k]):exp() * weights[k]
    end
    assert.is_true(maxdiff(gmm:log_prob(X), sum:log()) < 1e-10)
  end)

  it("log_prob equals the brute-force sum at d = 11 (1e-10)", function()
    local g = G.Generator(9)
    local d11 = 11                                -- eight-wide sums and a tail of 3
    local C = G.stack({random_spd(d11, 1, g), random_spd(d11, 0.3, g)})
    local mu = G.randn(2, d11, {dtype = "float64", generator = g})
    local w = G.tensor({0.4, 0.6}, f64)
    local Y = G.randn(40, d11, {dtype = "float64", generator = g}) * 2
    local sum = direct_logpdf(Y, mu[1], C[1]):exp() * w[1]
                + direct_logpdf(Y, mu[2], C[2]):exp() * w[2]
    assert.is_true(maxdiff(M.GMM(w, mu, C):log_prob(Y), sum:log()) < 1e-10)
  end)

  it("responsibilities sum to 1 and predict is their argmax", function()
    local R = gmm:responsibilities(X)
    assert.is_true(maxdiff(R:sum(2), G.ones(50, f64)) < 1e-12)
    local _, am = R:max(2)
    assert.are.same(am:totable(), gmm:predict(X):totable())
  end)

  it("samples come from the components in proportion to the weights", function()
    local S, comp = gmm:sample(60000, {generator = G.Generator(8)})
    for k = 1, K do
      local mask = comp:eq(k)
      local frac = mask:sum():item() / 60000
      -- binomial standard error < 0.0021: allow 5
      assert.is_true(math.abs(frac - weights[k]) < 0.011)
      local idx = G.arange(1, 60001, f64):masked_select(mask)
      local fit = M.Gaussian.fit(S:index_select(1, idx))
      assert.is_true(maxdiff(fit.mean, means[k]) < 0.1)
    end
  end)

  it("saves and loads as a checkpoint", function()
    local path = H.tmpname()
    gmm:save(path)
    local back = M.GMM.load(path)
    os.remove(path)
    assert.is_true(maxdiff(back:log_prob(X), gmm:log_prob(X)) < 1e-12)
    local p2 = H.tmpname()
    G.save(p2, {x = G.zeros(2)})
    local msg = H.err(M.GMM.load, p2)
    assert.truthy(msg:find(p2 .. ": no 'weights' tensor", 1, true), msg)
    G.save(p2, {weights = G.ones(3) / 3, means = G.zeros(3, 2), covs = G.zeros(2, 2, 2)})
    msg = H.err(M.GMM.load, p2)                                  -- the shapes disagree: named, with the file
    os.remove(p2)
    assert.truthy(msg:find("GMM.load: " .. p2 .. ": ", 1, true), msg)
    assert.truthy(msg:find("expected (K), (K, d), (K, d, d)", 1, true), msg)
  end)

  it("refuses mismatched parameter shapes with the shapes named", function()
    local msg = H.err(M.GMM, weights, means, G.stack({covs[1], covs[2]}))
    assert.truthy(msg:find("expected (K), (K, d), (K, d, d)", 1, true))
    msg = H.err(M._log_prob, X, gmm.log_weights, gmm.means, gmm.chol:narrow(2, 1, 1))
    assert.truthy(msg:find("(50x2)", 1, true) and msg:find("(3x1x2)", 1, true))
  end)
end)

describe("models EM", function()
  -- responsibilities for N points and K components, about 90% exactly 0,
  -- the last component with no points at all
  local function sparse_resp(N, K, g)
    local R = G.rand(N, K, {dtype = "float64", generator = g}):pow(8)
    R = G.where(R:gt(0.3), R, G.zeros_like(R))
    R:narrow(2, K, 1):zero_()
    return R / R:sum(2, true):clamp(1e-300, math.huge)
  end

  -- M._mstep against the weighted MLE by dense products, to tol relative
  local function check_mstep(N, d, K, dtype, tol)
    local g = G.Generator(12)
    local X = G.randn(N, d, {dtype = "float64", generator = g})
    local R = sparse_resp(N, K, g)
    local lw, mu, cov = M._mstep(X:to(dtype), R:to(dtype), 0.1)
    local Nk = R:sum(1) + 10 * 2.220446049250313e-16
    assert.is_true(maxdiff(lw:double(), (Nk / N):log()) < tol)
    local want_mu = R:t():matmul(X) / Nk:unsqueeze(2)
    assert.is_true(maxdiff(mu:double(), want_mu) < tol * math.max(1, want_mu:abs():max():item()))
    for k = 1, K do
      local D = X - want_mu[k]
      local S = (D * R:select(2, k):unsqueeze(2)):t():matmul(D) + G.eye(d, f64) * 0.1
      local scale = math.max(1, S:abs():max():item() / Nk[k])
      assert.is_true(maxdiff(cov[k]:double(), S / Nk[k]) < tol * scale, "component " .. k)
    end
    assert.is_true(R:eq(0):double():mean():item() > 0.85, "the sparse case is exercised")
  end

  it("M step equals the weighted MLE by dense products, most responsibilities exactly 0", function()
    check_mstep(300, 5, 4, "float64", 1e-10)
  end)

  it("M step over several blocks of rows and groups of components (two threads)", function()
    -- 9000 points fill blocks of 4096 rows; 7 components make groups of 3, 3 and 1
    local nt = G.get_num_threads()
    G.set_num_threads(2)
    local ok, err = pcall(function()
      check_mstep(9000, 11, 7, "float64", 1e-10)
      check_mstep(9000, 11, 7, "float32", 1e-4)
    end)
    G.set_num_threads(nt)
    assert(ok, err)
  end)

  it("E step in one pass equals softmax of the log-densities, with the mean log q", function()
    -- 9000 rows span several blocks on two threads; float32 against the float64 pass
    local g = G.Generator(21)
    local mix = known_mixture(5, 4, g)
    local P = mix:sample(9000, {generator = g})
    local nt = G.get_num_threads()
    G.set_num_threads(2)
    local ok, err = pcall(function()
      for _, case in ipairs{{"float64", 1e-12, 1e-12}, {"float32", 2e-5, 1e-6}} do
        local dt, tol, ltol = case[1], case[2], case[3]
        local m = M.GMM(mix.weights:to(dt), mix.means:to(dt), mix.covs:to(dt))
        local Xd = P:to(dt)
        local resp, ll = M._estep(Xd, m.log_weights, m.means, m.chol)
        local lp = M.GMM(mix.weights, mix.means, mix.covs):log_prob_components(Xd:double())
        assert.is_true(maxdiff(resp:double(), lp:softmax(2)) < tol, dt)
        local ref = lp:logsumexp(2):mean():item()
        assert.is_true(math.abs(ll - ref) < ltol * math.abs(ref), string.format("%s: %.10g %.10g", dt, ll, ref))
        assert.is_true(maxdiff(resp:sum(2):double(), G.ones(9000, f64)) < 10 * tol)
      end
    end)
    G.set_num_threads(nt)
    assert(ok, err)
  end)

  local gen = G.Generator(11)
  local truth = known_mixture(3, 3, gen)
  local X = truth:sample(3000, {generator = gen})

  it("never decreases the log-likelihood (reg_covar = 0, every iteration, 1e-9 relative)", function()
    local _, info = M.GMM.fit_em(X, 3, {init = "random", reg_covar = 0, tol = 0, max_iter = 40,
                                        seed = 2})
    assert.are.equal(41, #info.loglik)
    for i = 2, #info.loglik do
      local a, b = info.loglik[i - 1], info.loglik[i]
      assert.is_true(b >= a - 1e-9 * math.abs(a), string.format("iteration %d: %.12g -> %.12g", i, a, b))
    end
  end)

  it("never decreases the penalised objective with reg_covar > 0", function()
    local P = G.data.patches({G.rand(64, 64, f64):cumsum(1):cumsum(2) / 400}, 4, {count = 2000, seed = 1})
    local _, info = M.GMM.fit_em(P, 6, {init = "random", reg_covar = 1e-3, tol = 0, max_iter = 25,
                                        seed = 3})
    for i = 2, #info.objective do
      local a, b = info.objective[i - 1], info.objective[i]
      assert.is_true(b >= a - 1e-9 * math.abs(a), string.format("iteration %d: %.12g -> %.12g", i, a, b))
    end
  end)

  it("recovers the weights and means of a known mixture", function()
    local fit = M.GMM.fit_em(X, 3, {seed = 1})
    -- match components by their nearest true mean
    for k = 1, 3 do
      local dist = (fit.means - truth.means[k]):square():sum(2)
      local _, j = dist:min(1)
      j = math.tointeger(j:item())
      assert.is_true(maxdiff(fit.means[j], truth.means[k]) < 0.15)
      -- 3000 points: binomial standard error of a weight < 0.009
      assert.is_true(math.abs(fit.weights[j] - truth.weights[k]) < 0.04)
      assert.is_true(maxdiff(fit.covs[j], truth.covs[k]) < 0.25 * truth.covs[k]:abs():max():item())
    end
  end)

  it("stops on tol, and the same seed gives the same mixture", function()
    local a, ia = M.GMM.fit_em(X, 3, {seed = 4, tol = 1e-6})
    local b = M.GMM.fit_em(X, 3, {seed = 4, tol = 1e-6})
    assert.is_true(ia.converged)
    assert.are.equal(0, maxdiff(a.means, b.means))
  end)

  it("goes on from a given mixture: the same iterations as one longer run", function()
    local a = M.GMM.fit_em(X, 3, {seed = 4, tol = 0, max_iter = 3})
    local b, ib = M.GMM.fit_em(X, 3, {init = a, tol = 0, max_iter = 4})
    local c, ic = M.GMM.fit_em(X, 3, {seed = 4, tol = 0, max_iter = 7})
    assert.is_true(maxdiff(b.means, c.means) < 1e-12)
    assert.is_true(math.abs(ib.loglik[1] - ic.loglik[4]) < 1e-12 * math.abs(ic.loglik[4]))
    local f = M.GMM.fit_em(X:float(), 3, {init = a, tol = 0, max_iter = 1})  -- float32 from f64
    assert.are.equal("float32", f.means.dtype)
  end)

  it("float32 EM on the same data reaches the float64 log-likelihood (1e-4 relative)", function()
    local a, ia = M.GMM.fit_em(X, 3, {seed = 1})
    local b, ib = M.GMM.fit_em(X:float(), 3, {seed = 1})
    local la, lb = ia.loglik[#ia.loglik], ib.loglik[#ib.loglik]
    assert.is_true(math.abs(la - lb) < 1e-4 * math.abs(la))
  end)

  it("explains a collapsed component and the remedy", function()
    local Y = G.cat({G.full({20, 2}, 100, f64), G.randn(30, 2, f64)}, 1)
    local msg = H.err(M.GMM.fit_em, Y, 2, {reg_covar = 0, init = "kmeans"})
    assert.truthy(msg:find("raise reg_covar", 1, true))
    msg = H.err(M.GMM.fit_em, Y, 2, {init = "spectral"})
    assert.truthy(msg:find('init must be "kmeans", "random" or a GMM', 1, true))
    msg = H.err(M.GMM.fit_em, Y, 3, {init = M.GMM.fit_em(Y, 2, {reg_covar = 1e-3})})
    assert.truthy(msg:find("init is a mixture of 2 components in 2 dimensions, but K = 3", 1, true))
    msg = H.err(M.GMM.fit_em, Y, 2, {max_iters = 3})
    assert.truthy(msg:find("unknown option 'max_iters'", 1, true))
  end)
end)

describe("models.kmeans", function()
  it("finds separated clusters and never increases the inertia", function()
    local gen = G.Generator(12)
    local truth = known_mixture(4, 2, gen)
    local X, z = truth:sample(2000, {generator = gen})
    local C, labels, info = M.kmeans(X, 4, {seed = 5})
    for i = 2, #info.inertia do assert.is_true(info.inertia[i] <= info.inertia[i - 1] * (1 + 1e-12)) end
    -- each found cluster is one true component: labels agree up to renaming
    local map = {}
    local zl, ll = z:totable(), labels:totable()
    local agree = 0
    for i = 1, #zl do
      map[ll[i]] = map[ll[i]] or zl[i]
      if map[ll[i]] == zl[i] then agree = agree + 1 end
    end
    assert.is_true(agree / #zl > 0.99)
    -- the inertia is the sum of squared distances to the assigned centres
    local D = (X - C:index_select(1, labels)):square():sum()
    assert.is_true(math.abs(D:item() - info.inertia[#info.inertia]) < 1e-8 * D:item())
  end)

  it("seeds the same centres on one thread as on two, one data row per separated cluster", function()
    -- 5000 rows: blocks of 1024 rows, the last one short; 12 clusters 100 apart
    local g = G.Generator(13)
    local centres = G.randn(12, 3, {dtype = "float64", generator = g}) * 100
    local lab = G.randint(1, 13, 5000, {generator = g})
    local X = centres:index_select(1, lab) + G.randn(5000, 3, {dtype = "float64", generator = g})
    local nt = G.get_num_threads()
    local seeds = {}
    for i, n in ipairs{1, 2} do
      G.set_num_threads(n)
      seeds[i] = M._kmeans_init(X, 12, {generator = G.Generator(3)})
    end
    G.set_num_threads(nt)
    assert.are.equal(0, maxdiff(seeds[1], seeds[2]))
    local near = {}
    for k = 1, 12 do
      local d2, row = (X - seeds[1][k]):square():sum(2):min(1)
      assert.are.equal(0, d2:item())                       -- a row of X
      local _, c = (centres - seeds[1][k]):square():sum(2):min(1)
      near[math.tointeger(c:item())] = true
    end
    for k = 1, 12 do assert.is_true(near[k], "no seed in cluster " .. k) end
  end)

  it("refuses K larger than the number of points", function()
    local msg = H.err(M.kmeans, G.randn(3, 2), 5)
    assert.truthy(msg:find("K = 5 must be between 1 and the 3 points", 1, true))
  end)
end)

describe("models.GMMDensity (SGD)", function()
  it("gives the same log-density as the GMM built from its parameters (1e-10)", function()
    local X = G.randn(30, 4, f64)
    local m = M.GMMDensity(3, 4, {data = X, seed = 1})
    local lp = G.no_grad(function() return m(X) end)
    assert.is_true(maxdiff(lp, m:to_gmm():log_prob(X)) < 1e-10)
  end)

  it("has gradients that match finite differences", function()
    local X = G.randn(6, 3, f64)
    local m = M.GMMDensity(2, 3, {data = X, seed = 2})
    local ok, worst = G.nn.gradcheck(function(mu, A, w)
      m.means, m.A, m.logits = mu, A, w
      return m(X)
    end, {m.means, m.A, m.logits})
    assert.is_true(ok, worst)
  end)

  it("trained by Adam reaches the closed-form NLL within 1%", function()
    local gen = G.Generator(13)
    local S = random_spd(4, 2, gen)
    local X = G.randn(2000, 4, {dtype = "float64", generator = gen}):matmul(linalg.cholesky(S):t()) + 1
    local ref = M.Gaussian.fit(X):nll(X)
    local m = M.GMMDensity(1, 4, {data = X, seed = 3})
    m:fit(X, {epochs = 100, batch_size = 200, lr = 0.05, lr_end = 0.001, verbose = false})
    local got = m:nll(X)
    assert.is_true(got >= ref - 1e-9, "the MLE is the minimum")
    assert.is_true((got - ref) / math.abs(ref) < 0.01, string.format("%.5f against %.5f", got, ref))
  end)
end)
