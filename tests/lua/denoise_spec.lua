-- genlab.denoise and the EPLL kernels against independent references, in
-- float64: the score against finite differences (1e-6 relative), the MAP
-- patch step against the Wiener filter by a dense solve (1e-10), K = 1
-- half-quadratic splitting and gradient descent against the linear filters
-- they must equal, built from an explicit patch-extraction matrix (1e-8), and
-- denoising of an image whose tiles come from a known mixture against the
-- oracle that knows each tile's component (within 25% of its MSE).
local G = require "genlab"
local M, linalg, D = G.models, G.linalg, G.denoise
local f64 = {dtype = "float64"}
local H = dofile("tests/lua/helpers.lua")

local function maxdiff(a, b) return (a - b):abs():max():item() end
local function relerr(a, b) return maxdiff(a, b) / b:abs():max():item() end

local function random_gmm(K, d, gen)
  local A = G.randn(K, d, d, {dtype = "float64", generator = gen})
  local covs = A:matmul(A:transpose(2, 3)) / d + G.eye(d, f64) * 0.05
  local w = G.rand(K, {dtype = "float64", generator = gen}) + 0.5
  return M.GMM(w, G.randn(K, d, {dtype = "float64", generator = gen}) * 0.5 + 0.5, covs)
end

-- The Wiener filter of one Gaussian: mu + S (S + v I)^-1 (y - mu), by solve.
local function wiener(g, Y, v)
  local S = g.covs[1]
  local Sn = S + G.eye(g.d, f64) * v
  local R = linalg.solve(Sn, (Y - g.means[1]):t())      -- (d, N)
  return S:matmul(R):t() + g.means[1]
end

-- max |X - W| where row n of W is the Wiener filter (by dense solve) of component
-- labels[n] of the mixture, applied to row n of Y; center = false leaves out the means.
local function wiener_err(X, gmm, Y, labels, v, center)
  local worst = 0
  for k = 1, gmm.K do
    local idx = G.arange(1, Y.shape[1] + 1, f64):masked_select(labels:eq(k))
    if idx.shape[1] > 0 then
      local mu = center == false and G.zeros(1, gmm.d, f64) or gmm.means[k]:unsqueeze(1)
      local gk = M.GMM(G.ones(1, f64), mu, gmm.covs[k]:unsqueeze(1))
      worst = math.max(worst, maxdiff(X:index_select(1, idx), wiener(gk, Y:index_select(1, idx), v)))
    end
  end
  return worst
end

-- The (np*d, H*W) matrix E with E vec(X) = vec(extract_patches(X, s)), by
-- extracting the patches of each unit image.
local function extraction_matrix(Hh, W, s)
  local cols = {}
  for p = 1, Hh * W do
    local e = G.zeros(Hh * W, f64)
    e[p] = 1
    cols[p] = G.data.extract_patches(e:reshape(Hh, W), s):reshape(-1)
  end
  return G.stack(cols, 2)
end

-- d log q / dx by central differences, one column per dimension
local function fd_grad(gmm, X)
  local h, cols = 1e-5, {}
  for j = 1, X.shape[2] do
    local e = G.zeros(1, X.shape[2], f64)
    e[1][j] = h
    cols[j] = (gmm:log_prob(X + e) - gmm:log_prob(X - e)) / (2 * h)
  end
  return G.stack(cols, 2)
end

describe("gmm:score", function()
  local gen = G.Generator(11)
  local gmm = random_gmm(4, 6, gen)
  local X = G.randn(9, 6, {dtype = "float64", generator = gen}) * 0.7 + 0.5

  it("gives log q and its gradient (central differences, 1e-6 relative)", function()
    local lq, g = gmm:score(X)
    assert.is_true(maxdiff(lq, gmm:log_prob(X)) < 1e-12)
    assert.is_true(relerr(g, fd_grad(gmm, X)) < 1e-6)
  end)

  it("leaves out only components whose responsibility is below 1e-20", function()
    -- far apart means: each row's gradient comes from one or two components
    local far = M.GMM(gmm.weights, gmm.means * 40, gmm.covs)
    local Xf = far.means:index_select(1, G.tensor({1, 2, 3, 4, 1, 2, 3, 4, 1}, f64)) + X - 0.5
    local _, g = far:score(Xf)
    assert.is_true(relerr(g, fd_grad(far, Xf)) < 1e-6)
    assert.is_true(far:responsibilities(Xf):lt(1e-20):sum():item() > 0, "some are left out")
  end)

  it("labels each row with its most responsible component, as gmm:predict", function()
    local _, _, lab = gmm:score(X)
    assert.are.equal(0, maxdiff(lab, gmm:predict(X)))
  end)

  it("agrees in float32 to 1e-4 relative", function()
    local lq, g = gmm:score(X)
    local lq32, g32 = gmm:to("float32"):score(X:float())
    assert.is_true(relerr(lq32:double(), lq) < 1e-4)
    assert.is_true(relerr(g32:double(), g) < 1e-4)
  end)
end)

describe("gmm:map_patches", function()
  it("picks the most likely component of the noisy model and applies its Wiener filter", function()
    local gen = G.Generator(5)
    local gmm = random_gmm(3, 5, gen)
    local Y = G.randn(40, 5, {dtype = "float64", generator = gen}) + 0.5
    local v = 0.2
    local Xh, lab = gmm:map_patches(Y, v)
    local _, want = gmm:noisy(v):log_prob_components(Y):max(2)
    assert.are.equal(0, maxdiff(lab, want))
    assert.is_true(wiener_err(Xh, gmm, Y, lab, v) < 1e-10)
  end)
end)

describe("gmm:wiener", function()
  local gen = G.Generator(6)
  local gmm = random_gmm(3, 5, gen)
  local Y = G.randn(20, 5, {dtype = "float64", generator = gen}) + 0.5
  local lab = G.tensor({1, 2, 3, 3, 2, 1, 1, 1, 2, 3, 3, 3, 2, 2, 1, 3, 2, 1, 2, 3}, f64)

  it("applies the given component's Wiener filter to each row (dense solve, 1e-10)", function()
    local v = 0.3
    assert.is_true(wiener_err(gmm:wiener(Y, v, lab), gmm, Y, lab, v) < 1e-10)
    assert.is_true(wiener_err(gmm:wiener(Y, v, lab, {center = false}), gmm, Y, lab, v, false) < 1e-10)
  end)

  it("rejects labels that name no component", function()
    assert.matches("label 4 of point 1 is not a component 0..2",
                   H.err(gmm.wiener, gmm, Y:narrow(1, 1, 2), 0.1, G.tensor({5, 1}, f64)), 1, true)
    assert.matches("label 0.5 of point 2",
                   H.err(gmm.wiener, gmm, Y:narrow(1, 1, 2), 0.1, G.tensor({1, 1.5}, f64)), 1, true)
    assert.matches("labels (3) do not fit 2 points",
                   H.err(gmm.wiener, gmm, Y:narrow(1, 1, 2), 0.1, G.ones(3, f64)), 1, true)
  end)
end)

describe("denoise.patches_gd", function()
  it("for one Gaussian converges to the Wiener filter with noise variance lambda/2", function()
    local gen = G.Generator(2)
    local g1 = random_gmm(1, 6, gen)
    local Y = G.randn(30, 6, {dtype = "float64", generator = gen}) + 0.5
    for _, run in ipairs{{1, "bb"}, {0.05, "bb"}, {0.05, "nesterov"}, {1, "newton"}} do
      local lam = run[1]
      local Xh, hist = D.patches_gd(g1, Y, {lambda = lam, steps = 3000, tol = 1e-12, method = run[2]})
      assert.is_true(hist.rel_grad < 1e-10, run[2] .. " converged")
      assert.is_true(maxdiff(Xh, wiener(g1, Y, lam / 2)) < 1e-8)
      assert.is_true(hist.loss[#hist.loss] < hist.loss[1])
    end
  end)

  it("by Newton steps ends in one step for one Gaussian", function()
    local gen = G.Generator(3)
    local g1 = random_gmm(1, 6, gen)
    local Y = G.randn(30, 6, {dtype = "float64", generator = gen})
    local Xh, hist = D.patches_gd(g1, Y, {lambda = 0.7, tol = 1e-10})
    assert.are.equal(1, hist.steps)
    assert.is_true(maxdiff(Xh, wiener(g1, Y, 0.35)) < 1e-12)
  end)

  it("by Newton steps reaches a stationary point of a stiff mixture, never raising a loss", function()
    local gen = G.Generator(4)
    local g = random_gmm(4, 6, gen)
    g = M.GMM(g.weights, g.means, g.covs * 1e-3)           -- precisions up to ~1e4
    local Y = G.randn(50, 6, {dtype = "float64", generator = gen}) * 0.3 + 0.5
    local seen = {}
    local Xn, hist = D.patches_gd(g, Y, {lambda = 1, steps = 100, tol = 1e-10,
                                        callback = function(_, X) seen[#seen + 1] = X end})
    assert.is_true(hist.rel_grad < 1e-10, "converged in " .. hist.steps .. " steps")
    local function losses(X)
      return (X - Y):pow(2):sum(2) - g:log_prob(X)
    end
    local prev = losses(Y)
    for _, X in ipairs(seen) do
      local cur = losses(X)
      assert.are.equal(0, cur:gt(prev + prev:abs() * 1e-12):sum():item(), "each row's loss falls")
      prev = cur
    end
    assert.is_true(hist.steps <= 10, hist.steps .. " steps")
    -- the loss's gradient there by central differences of log q
    local fd = (Xn - Y) * 2 - fd_grad(g, Xn)
    assert.is_true(fd:abs():max():item() < 1e-6 * hist.grad_norm[1], "stationary")
  end)
end)

describe("denoise on whole images, one Gaussian (linear filters built directly)", function()
  local gen = G.Generator(8)
  local g1 = random_gmm(1, 9, gen)                    -- 3x3 patches
  local Hh, W, s = 6, 7, 3
  local E = extraction_matrix(Hh, W, s)                -- (np*9, 42)
  local np = E.shape[1] / 9
  local Y = G.rand(Hh, W, {dtype = "float64", generator = gen})
  local y = Y:reshape(-1)
  local mu_rep = g1.means[1]:reshape(1, 9):expand(np, 9):reshape(-1)

  it("one HQS step is the Wiener filter of every patch, averaged with Y", function()
    local sigma, lam = 0.3, 2.0
    local X = D.epll(g1, Y, {sigma = sigma, lambda = lam, betas = {1}, clip = false})
    local beta = 1 / sigma ^ 2
    local Z = wiener(g1, (E:matmul(y:unsqueeze(2))):reshape(np, 9), 1 / beta):reshape(-1)
    local cover = E:t():matmul(G.ones(np * 9, 1, f64)):squeeze(2)
    local want = (y * lam + E:t():matmul(Z:unsqueeze(2)):squeeze(2) * beta) / (cover * beta + lam)
    assert.is_true(maxdiff(X:reshape(-1), want) < 1e-10)
  end)

  it("with remove_mean, one HQS step filters each patch less its mean, then adds it", function()
    local sigma, lam = 0.3, 2.0
    local X = D.epll(g1, Y, {sigma = sigma, lambda = lam, betas = {1}, clip = false,
                             remove_mean = true})
    local beta = 1 / sigma ^ 2
    local P = (E:matmul(y:unsqueeze(2))):reshape(np, 9)
    local m = P:mean(2, true)
    local Z = (wiener(g1, P - m, 1 / beta) + m):reshape(-1)
    local cover = E:t():matmul(G.ones(np * 9, 1, f64)):squeeze(2)
    local want = (y * lam + E:t():matmul(Z:unsqueeze(2)):squeeze(2) * beta) / (cover * beta + lam)
    assert.is_true(maxdiff(X:reshape(-1), want) < 1e-10)
    -- so a constant added to the image comes out added, over the whole schedule
    local X2 = D.epll(g1, Y + 0.25, {sigma = sigma, clip = false, remove_mean = true})
    local X3 = D.epll(g1, Y, {sigma = sigma, clip = false, remove_mean = true})
    assert.is_true(maxdiff(X2, X3 + 0.25) < 1e-10)
  end)

  it("gradient descent reaches the minimiser of ||X - Y||^2 - lambda EPLL(X)", function()
    local lam = 3.0
    local X, hist = D.image_gd(g1, Y, {lambda = lam, steps = 5000, tol = 1e-12})
    assert.is_true(hist.rel_grad < 1e-10, "converged")
    -- (2 I + lam/np E^T Lam E) x = 2 y + lam/np E^T Lam (1 x mu), Lam block diagonal
    local Lam = linalg.inv(g1.covs[1])
    local blocks = G.zeros(np * 9, np * 9, f64)
    for i = 0, np - 1 do blocks:narrow(1, i * 9 + 1, 9):narrow(2, i * 9 + 1, 9):copy_(Lam) end
    local A = G.eye(Hh * W, f64) * 2 + E:t():matmul(blocks):matmul(E) * (lam / np)
    local b = y * 2 + E:t():matmul(blocks):matmul(mu_rep:unsqueeze(2)):squeeze(2) * (lam / np)
    local want = linalg.solve(A, b:unsqueeze(2)):squeeze(2)
    assert.is_true(maxdiff(X:reshape(-1), want) < 1e-8)
  end)
end)

describe("denoising an image built from a known mixture", function()
  -- 4x4 tiles drawn from three components of smooth patterns (horizontal,
  -- vertical and flat), so that the right component matters; EPLL runs with
  -- stride 4, on exactly those tiles.
  local d, s = 16, 4
  local function known()
    local r = G.arange(0, 4, f64)
    local dist = (r:reshape(4, 1) - r:reshape(1, 4)):abs()
    local near = (-dist / 1.5):exp()                          -- correlation along one axis
    local ones = G.ones(4, 4, f64)
    local function kron(A, B) return (A:reshape(4, 1, 4, 1) * B:reshape(1, 4, 1, 4)):reshape(16, 16) end
    local eye16 = G.eye(16, f64)
    local covs = G.stack{kron(ones * 0.98 + G.eye(4, f64) * 0.02, near) * 0.04 + eye16 * 1e-3,
                         kron(near, ones * 0.98 + G.eye(4, f64) * 0.02) * 0.04 + eye16 * 1e-3,
                         kron(ones, ones) * 0.05 + eye16 * 1e-3}
    local means = G.stack{G.full({16}, 0.3, f64), G.full({16}, 0.7, f64), G.full({16}, 0.5, f64)}
    return M.GMM(G.tensor({1, 1, 1}, f64), means, covs)
  end
  local gmm = known()
  local tiles = gmm:sample(256, {generator = G.Generator(4)})       -- 16 x 16 tiles of 4x4
  local X0 = tiles:reshape(16, 16, 4, 4):permute(1, 3, 2, 4):reshape(64, 64):contiguous()
  local sigma = 0.1
  local Y = D.add_noise(X0, sigma, {seed = 1})

  it("add_noise has the stated deviation and is reproducible", function()
    local sd = (Y - X0):pow(2):mean():sqrt():item()
    assert.is_true(math.abs(sd - sigma) < 3 * sigma / math.sqrt(2 * 4096))
    assert.are.equal(0, maxdiff(Y, D.add_noise(X0, sigma, {seed = 1})))
    assert.is_true(math.abs(D.psnr(Y, X0) - 20) < 0.2)
  end)

  it("EPLL with the true mixture comes within 25% of the oracle's MSE and beats one Gaussian", function()
    -- the oracle knows each tile's component: the expected MSE of its Wiener
    -- filter is tr(S - S (S + sigma^2 I)^-1 S) / d, averaged over components
    local oracle = 0
    for k = 1, 3 do
      local S = gmm.covs[k]
      local post = S - S:matmul(linalg.solve(S + G.eye(d, f64) * sigma ^ 2, S))
      oracle = oracle + post:diagonal():sum():item() / d / 3
    end
    local X = D.epll(gmm, Y, {sigma = sigma, stride = s, clip = false})
    local g1 = M.GMM(G.ones(1, f64), tiles:mean(1):unsqueeze(1),
                     M.Gaussian.fit(tiles).cov:unsqueeze(1))
    local X1 = D.epll(g1, Y, {sigma = sigma, stride = s, clip = false})
    local mix, one = D.mse(X, X0), D.mse(X1, X0)
    assert.is_true(mix < 1.25 * oracle, string.format("mixture MSE %.5f, oracle %.5f", mix, oracle))
    assert.is_true(D.psnr(X, X0) - D.psnr(X1, X0) > 1,
                   string.format("mixture MSE %.5f, one Gaussian %.5f", mix, one))
    assert.is_true(D.psnr(X, X0) - D.psnr(Y, X0) > 4.5)
  end)

  it("records PSNR per iteration and calls back", function()
    local calls = 0
    local X, hist = D.epll(gmm, Y, {sigma = sigma, clean = X0, betas = {1, 4}, stride = s,
                                     callback = function() calls = calls + 1 end})
    assert.are.equal(2, calls)
    assert.are.equal(2, #hist.psnr)
    assert.is_true(hist.psnr[2] > hist.psnr[1])
    -- the curve's last point is the table's number: the PSNR of the image clamped to [0, 1]
    assert.are.equal(D.psnr(X:clamp(0, 1), X0), hist.psnr[2])
  end)
end)

describe("denoise errors", function()
  local gmm = random_gmm(2, 9, G.Generator(1))
  it("name the mismatch", function()
    assert.matches("prior models 9 pixels per patch, the patches have 16",
                   H.err(D.patches_gd, gmm, G.zeros(3, 16, f64)))
    assert.matches("option 'sigma'", H.err(D.epll, gmm, G.zeros(8, 8, f64), {}))
    assert.matches("must be a models.GMM", H.err(D.epll, {}, G.zeros(8, 8, f64), {sigma = 1}))
    assert.matches("3x3 patches do not fit", H.err(D.image_gd, gmm, G.zeros(2, 8, f64)))
    assert.matches("unknown option", H.err(D.epll, gmm, G.zeros(8, 8, f64), {sigma = 1, beta = 2}))
    assert.matches("noise variance", H.err(gmm.map_patches, gmm, G.zeros(3, 9, f64), -1))
  end)
end)
