-- models.PPCA and models.LinearGaussian (seed 002 problems 2 and 4): log_prob
-- against a dense Gaussian log-density, the posterior against its dense
-- form, the MLE against perturbations, rotations and EM from a random
-- start, samples against their covariance, clear errors where sigma^2
-- would be 0; the linear-Gaussian MLE against least squares and autodiff.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local M, la = G.models, G.linalg
local F64 = {dtype = "float64"}

local faces = G.data.faces{dtype = "float64"}

-- log N(x | mu, C) with C dense (m, m): Cholesky, one triangular solve,
-- 2 sum log diag L -- written out here, independent of PPCA's Woodbury path.
local function dense_log_prob(X, mu, Cm)
  local L = la.cholesky(Cm)
  local V = la.solve_triangular(L, (X - mu):t())
  local m = X.shape[2]
  return ((V * V):sum(1) + 2 * L:diagonal():log():sum():item() + m * math.log(2 * math.pi)) * -0.5
end

local function maxdiff(a, b) return (a - b):abs():max():item() end

-- N points of m dimensions from a p-PCA with d latent dimensions
local function synthetic(N, m, d, s, seed)
  local gen = G.Generator(seed)
  local W = G.randn(m, d, {dtype = "float64", generator = gen})
  local Z = G.randn(N, d, {dtype = "float64", generator = gen})
  return Z:matmul(W:t()) + G.randn(N, m, {dtype = "float64", generator = gen}) * s + 1
end

describe("models.PPCA", function()
  it("log_prob is the dense Gaussian log-density of W W^T + sigma^2 I to 1e-10", function()
    for _, d in ipairs{2, 16, 64} do
      local p = M.PPCA.fit(faces, d)
      local dense = dense_log_prob(faces, p.mean, p:covariance())
      local err = maxdiff(p:log_prob(faces), dense)
      assert.is_true(err < 1e-10, string.format("d = %d: off by %.3g", d, err))
    end
  end)

  it("log_prob and posterior hold over several blocks of rows (N = 2500) and in float32", function()
    local X = synthetic(2500, 20, 4, 0.5, 8)
    local p = M.PPCA.fit(X, 4)
    assert.is_true(maxdiff(p:log_prob(X), dense_log_prob(X, p.mean, p:covariance())) < 1e-10)
    local Cm = p:covariance()
    local Z = p:posterior(X)
    assert.is_true(maxdiff(Z, p.W:t():matmul(la.solve(Cm, (X - p.mean):t())):t()) < 1e-9)
    local f32 = faces:to("float32")
    local p32, p64 = M.PPCA.fit(f32, 16), M.PPCA.fit(faces, 16)
    assert.are.equal("float32", p32:log_prob(f32).dtype)
    assert.is_true(math.abs(p32.sigma2 - p64.sigma2) < 1e-6 * 1e2 * p64.sigma2)
    local rel = maxdiff(p32:log_prob(f32):to("float64"), p64:log_prob(faces)) / p64:log_prob(faces):abs():max():item()
    assert.is_true(rel < 1e-4, "float32 log_prob off by " .. rel)
  end)

  it("fit is the seed's closed form: sigma^2 the mean of the discarded eigenvalues, W W^T = U (L - s2) U^T", function()
    local p = M.PPCA.fit(faces, 16)
    local Xc = faces - faces:mean(1)
    local w, V = la.eigh(Xc:t():matmul(Xc) / 100)                     -- ascending
    local lam = w:totable()
    local rest = 0
    for j = 1, 576 - 16 do rest = rest + math.max(lam[j], 0) end
    assert.is_true(math.abs(p.sigma2 - rest / 560) < 1e-14)
    local U = V:narrow(2, 561, 16)
    local D = w:narrow(1, 561, 16) - p.sigma2
    assert.is_true(maxdiff(p.W:matmul(p.W:t()), (U * D):matmul(U:t())) < 1e-12)
    assert.is_true(maxdiff(p.mean, faces:mean(1)) < 1e-15)
    assert.are.equal(99, p.rank)
  end)

  it("no random perturbation of W or sigma^2 beats the MLE; rotations of W tie it", function()
    local p = M.PPCA.fit(faces, 8)
    local best = -p:nll(faces)
    local gen = G.Generator(7)
    for k = 1, 20 do
      local eps = 10 ^ (-1 - k % 4)
      local W = p.W + G.randn(576, 8, {dtype = "float64", generator = gen}) * eps
      assert.is_true(-M.PPCA(W, p.mean, p.sigma2):nll(faces) < best, "a perturbed W won")
      local f = 1 + (k % 2 == 0 and eps or -eps)
      assert.is_true(-M.PPCA(p.W, p.mean, p.sigma2 * f):nll(faces) < best, "a perturbed sigma^2 won")
    end
    local A = G.randn(8, 8, {dtype = "float64", generator = gen})
    local _, Rot = la.eigh(A + A:t())                                  -- orthogonal
    local rot = -M.PPCA(p.W:matmul(Rot), p.mean, p.sigma2):nll(faces)
    assert.is_true(math.abs(rot - best) < 1e-9, "W R: " .. rot - best)
  end)

  it("EM (Tipping & Bishop) from a random start reaches the closed form's log-likelihood", function()
    local cases = {{faces, 2, 1e-5}, {synthetic(400, 12, 3, 0.5, 3), 3, 1e-6}}
    for _, c in ipairs(cases) do
      local X, d, tol = c[1], c[2], c[3]
      local ll = -M.PPCA.fit(X, d):nll(X)
      local q, info = M.PPCA.fit_em(X, d, {generator = G.Generator(11), iters = 5000, tol = 1e-13})
      local em = -q:nll(X)
      assert.is_true(math.abs(em - ll) < tol, string.format("d = %d: EM %.10f, MLE %.10f", d, em, ll))
      assert.is_true(em <= ll + 1e-9, "EM above the maximum")
      for k = 2, #info.loglik do                                      -- EM never goes down
        assert.is_true(info.loglik[k] >= info.loglik[k - 1] - 1e-9, "EM decreased at " .. k)
      end
    end
  end)

  it("posterior is N(W^T C^-1 (x - mu), I - W^T C^-1 W), the dense form", function()
    local p = M.PPCA.fit(faces, 16)
    local Z, cov = p:posterior(faces)
    local Cm = p:covariance()
    local CiR = la.solve(Cm, (faces - p.mean):t())                      -- dense, for the check only
    assert.is_true(maxdiff(Z, p.W:t():matmul(CiR):t()) < 1e-8)
    local dense_cov = G.eye(16, F64) - p.W:t():matmul(la.solve(Cm, p.W))
    assert.is_true(maxdiff(cov, dense_cov) < 1e-10)
    assert.is_true(maxdiff(p:reconstruct(faces), p:decode(Z)) < 1e-14)
    -- E[z | x] over the data plus the posterior covariance is N(0, I)'s
    local Zc = Z - Z:mean(1)
    assert.is_true(maxdiff(Zc:t():matmul(Zc) / 100 + cov, G.eye(16, F64)) < 1e-8)
  end)

  it("reconstruction error falls with d and is sigma^2-sized", function()
    local prev = math.huge
    for _, d in ipairs{2, 16, 32, 64} do
      local p = M.PPCA.fit(faces, d)
      local e = ((p:reconstruct(faces) - faces) ^ 2):mean():item()
      assert.is_true(e < prev and e < p.sigma2 * 1.01, string.format("d = %d: %.5g (sigma^2 %.5g)", d, e, p.sigma2))
      prev = e
    end
  end)

  it("sample has covariance W W^T (noise=false) or W W^T + sigma^2 I, reproducibly", function()
    local p = M.PPCA.fit(synthetic(300, 6, 2, 0.4, 5), 2)
    local n = 40000
    local X1 = p:sample(n, {generator = G.Generator(1)})
    local X2 = p:sample(n, {generator = G.Generator(1)})
    assert.are.equal(0, maxdiff(X1, X2))
    local function cov(X) local Xc = X - X:mean(1) return Xc:t():matmul(Xc) / n end
    local WWt = p.W:matmul(p.W:t())
    local scale = WWt:abs():max():item()
    assert.is_true(maxdiff(cov(X1), WWt) < 0.05 * scale)
    local Xn = p:sample(n, {noise = true, generator = G.Generator(2)})
    assert.is_true(maxdiff(cov(Xn), p:covariance()) < 0.05 * scale)
    assert.is_true(maxdiff(X1:mean(1), p.mean) < 0.05 * math.sqrt(scale))
  end)

  it("d <= 0, d >= m, d at or above the rank, or a fraction is a clear error; d = rank - 1 has no NaN", function()
    assert.matches("0 < d < m = 576, got 0", H.err(M.PPCA.fit, faces, 0))
    assert.matches("0 < d < m = 576, got 576", H.err(M.PPCA.fit, faces, 576))
    assert.matches("0 < d < m = 576, got %-3", H.err(M.PPCA.fit, faces, -3))
    assert.matches("got 2.5", H.err(M.PPCA.fit, faces, 2.5))
    assert.matches("d = 99 is at or above the rank 99 of the covariance %(100 points in 576 dimensions%)",
                   H.err(M.PPCA.fit, faces, 99))
    assert.matches("at or above the rank 99", H.err(M.PPCA.fit, faces, 200))
    assert.matches("points must be an %(N, m%) tensor, got %(576%)", H.err(M.PPCA.fit, faces[1], 2))
    local p = M.PPCA.fit(faces, 98)
    local lp = p:log_prob(faces)
    assert.is_true(p.sigma2 > 0 and lp:ne(lp):sum():item() == 0 and lp:abs():max():item() < math.huge)
    assert.matches("points have 10 dimensions, the model 576", H.err(p.log_prob, p, G.zeros(3, 10, F64)))
    assert.matches("Z must be %(N, 98%), got %(3x4%)", H.err(p.decode, p, G.zeros(3, 4, F64)))
    assert.matches("sigma2 must be a finite number > 0, got 0", H.err(M.PPCA, p.W, p.mean, 0))
  end)
end)

describe("models.LinearGaussian", function()
  local gen = G.Generator(4)
  local X = G.cat({G.ones(150, 1, F64), G.randn(150, 3, {dtype = "float64", generator = gen})}, 2)
  local y = X:matmul(G.tensor({1, -2, 0.5, 3}, F64):unsqueeze(2)):squeeze(2) + G.randn(150, {dtype = "float64", generator = gen}) * 0.3

  it("fit is least squares (lstsq) and sigma^2 the mean squared residual", function()
    local lg = M.LinearGaussian.fit(X, y)
    local w = la.lstsq(X, y:unsqueeze(2)):squeeze(2)
    assert.is_true(maxdiff(lg.w, w) < 1e-12)
    local r = y - X:matmul(w:unsqueeze(2)):squeeze(2)
    assert.is_true(math.abs(lg.sigma2 - (r * r):mean():item()) < 1e-14)
  end)

  it("the log-likelihood's gradient vanishes at the MLE (autodiff), and is lower elsewhere", function()
    local lg = M.LinearGaussian.fit(X, y)
    local w = lg.w:clone():requires_grad_()
    local s2 = G.tensor({lg.sigma2}, F64):requires_grad_()
    local r = y - X:matmul(w:unsqueeze(2)):squeeze(2)
    local L = ((r * r) / s2 + (s2 * 2 * math.pi):log()):sum() * -0.5
    L:backward()
    assert.is_true(w.grad:abs():max():item() < 1e-9 and math.abs(s2.grad:item()) < 1e-9)
    assert.is_true(math.abs(L:item() - lg:log_prob(X, y):sum():item()) < 1e-9)
    local worse = M.LinearGaussian(lg.w + 0.01, lg.sigma2):log_prob(X, y):sum():item()
    assert.is_true(worse < L:item())
  end)

  it("a rank-deficient X or mismatched y is a clear error", function()
    local Xr = G.cat({X, X:narrow(2, 2, 1)}, 2)
    assert.matches("sum x x%^T is singular", H.err(M.LinearGaussian.fit, Xr, y))
    assert.matches("X %(150x4%) and y %(10%): expected %(N, p%) and %(N%)", H.err(M.LinearGaussian.fit, X, G.zeros(10, F64)))
  end)
end)
