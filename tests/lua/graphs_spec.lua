-- genlab.graphs (seed 002 problem 3): the vectorised L(a, b) against plain
-- loops over the pairs, the hand gradient against autodiff and central
-- differences, the Fisher information against the Hessian of L, gradient
-- ascent against an independent Newton optimiser, the generator's ground
-- truth recovered, and the course's file formats read.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local graphs = G.graphs
local F64 = {dtype = "float64"}

local D = graphs.generate()

-- L, its gradient and Hessian by plain loops over every graph and pair i < j:
-- an implementation that shares nothing with genlab.graphs.
local Xt, Et = D.X:totable(), D.E:totable()
local function loops(a, b)
  local L, ga, gb, haa, hab, hbb = 0, 0, 0, 0, 0, 0
  for g = 1, #Xt do
    local x, e = Xt[g], Et[g]
    for i = 1, #x do
      for j = i + 1, #x do
        local s = 0
        for k = 1, #x[i] do s = s + x[i][k] * x[j][k] end
        local z = a * s + b
        local p = 1 / (1 + math.exp(-z))
        L = L + (e[i][j] == 1 and math.log(p) or math.log(1 - p))
        ga, gb = ga + (e[i][j] - p) * s, gb + (e[i][j] - p)
        local v = p * (1 - p)
        haa, hab, hbb = haa - v * s * s, hab - v * s, hbb - v
      end
    end
  end
  return L, ga, gb, haa, hab, hbb
end

local function rel(x, y) return math.abs(x - y) / math.max(1, math.abs(y)) end

describe("graphs: the log-likelihood and its gradient", function()
  it("the masked (100, 15, 15) computation equals loops over the i < j pairs", function()
    for _, ab in ipairs{{0.3, -0.2}, {4, -1}, {-2, 1.5}} do
      local L, ga, gb = loops(ab[1], ab[2])
      local ga2, gb2 = graphs.gradient(ab[1], ab[2], D.X, D.E)
      assert.is_true(rel(graphs.loglik(ab[1], ab[2], D.X, D.E), L) < 1e-12)
      assert.is_true(rel(ga2, ga) < 1e-11 and rel(gb2, gb) < 1e-11)
    end
  end)

  it("the hand gradient equals autodiff and central differences", function()
    local S = D.X:bmm(D.X:transpose(2, 3))
    local i = G.arange(1, 16, F64)
    local mask = i:reshape(15, 1):gt(i:reshape(1, 15)):to("float64")
    for _, ab in ipairs{{0.3, -0.2}, {4, -1}} do
      local a, b = G.tensor({ab[1]}, F64):requires_grad_(), G.tensor({ab[2]}, F64):requires_grad_()
      local z = S * a + b
      local L = ((D.E * z:sigmoid():log() + (1 - D.E) * (1 - z:sigmoid()):log()) * mask):sum()
      L:backward()
      local ga, gb = graphs.gradient(ab[1], ab[2], D.X, D.E)
      assert.is_true(rel(ga, a.grad:item()) < 1e-10 and rel(gb, b.grad:item()) < 1e-10)
      local h = 1e-5
      local fa = (graphs.loglik(ab[1] + h, ab[2], D.X, D.E) - graphs.loglik(ab[1] - h, ab[2], D.X, D.E)) / (2 * h)
      local fb = (graphs.loglik(ab[1], ab[2] + h, D.X, D.E) - graphs.loglik(ab[1], ab[2] - h, D.X, D.E)) / (2 * h)
      assert.is_true(rel(ga, fa) < 1e-7 and rel(gb, fb) < 1e-7, string.format("%g %g / %g %g", ga, fa, gb, fb))
    end
  end)

  it("the Fisher information is minus the Hessian of L", function()
    local _, _, _, haa, hab, hbb = loops(4.1, -1.03)
    local Iaa, Iab, Ibb = graphs.fisher(4.1, -1.03, D.X, D.E)
    assert.is_true(rel(Iaa, -haa) < 1e-11 and rel(Iab, -hab) < 1e-11 and rel(Ibb, -hbb) < 1e-11)
  end)
end)

describe("graphs: the MLE", function()
  -- Newton's method on the loops' L: (a, b) -= H^-1 g, 2 x 2 by Cramer's rule
  local function newton()
    local a, b = 0, 0
    for _ = 1, 30 do
      local _, ga, gb, haa, hab, hbb = loops(a, b)
      local det = haa * hbb - hab * hab
      a, b = a - (hbb * ga - hab * gb) / det, b - (haa * gb - hab * ga) / det
    end
    return a, b
  end
  local na, nb = newton()
  local fit = graphs.fit(D.X, D.E, {generator = G.Generator(2025)})

  it("gradient ascent from a random start agrees with Newton to 1e-6, L never decreasing", function()
    assert.is_true(math.abs(fit.a - na) < 1e-6 and math.abs(fit.b - nb) < 1e-6,
                   string.format("ascent (%.9f, %.9f), Newton (%.9f, %.9f)", fit.a, fit.b, na, nb))
    local ll = fit.history.loglik
    for k = 2, #ll do assert.is_true(ll[k] >= ll[k - 1] - 1e-9, "L fell at iteration " .. k - 1) end
    assert.is_true(ll[#ll] > ll[1])
  end)

  it("recovers the ground truth within 3 standard errors", function()
    local se_a, se_b = graphs.standard_errors(fit.a, fit.b, D.X, D.E)
    local Iaa, Iab, Ibb = graphs.fisher(fit.a, fit.b, D.X, D.E)
    assert.is_true(math.abs(se_a ^ 2 - Ibb / (Iaa * Ibb - Iab ^ 2)) < 1e-15)
    assert.is_true(se_a > 0.01 and se_a < 0.5 and se_b > 0.005 and se_b < 0.2)
    assert.is_true(math.abs(fit.a - graphs.TRUTH.a) < 3 * se_a and math.abs(fit.b - graphs.TRUTH.b) < 3 * se_b)
  end)
end)

describe("graphs: data", function()
  it("generate is reproducible; edges symmetric with an empty diagonal; sample follows sigma", function()
    local D2 = graphs.generate()
    assert.are.equal(0, (D2.X - D.X):abs():max():item())
    assert.are.equal(0, (D2.E - D.E):abs():max():item())
    assert.are.same({100, 15, 3}, D.X.shape)
    assert.are.equal(0, (D.E - D.E:transpose(2, 3)):abs():max():item())
    assert.are.equal(0, D.E:diagonal(0, 2, 3):abs():sum():item())
    assert.is_true(D.X:min():item() >= -1 and D.X:max():item() <= 1)
    -- a = 0: every pair is friends with probability sigma(b)
    local S = graphs.sample(0, 0.5, {count = 400, generator = G.Generator(9)})
    local share = S.E:sum():item() / (400 * 15 * 14)
    assert.is_true(math.abs(share - 1 / (1 + math.exp(-0.5))) < 0.01, share)
  end)

  it("edges lists the pairs i < j", function()
    local E = G.zeros(4, 4, F64)
    E[1][3], E[3][1], E[2][4], E[4][2] = 1, 1, 1, 1
    assert.are.same({{1, 3}, {2, 4}}, graphs.edges(E))
  end)

  it("reads the course's pickle as pairs or dicts (X as (m, n)), and .npz; save round-trips", function()
    local ref = G.data.read_npz("tests/fixtures/graphs/classroom.npz")
    for _, f in ipairs{"classroom_pairs.pkl", "classroom_dicts.pkl", "classroom_arrays.pkl", "classroom.npz"} do
      local g = graphs.load("tests/fixtures/graphs/" .. f)
      assert.are.same({3, 15, 3}, g.X.shape, f)
      assert.are.equal(0, (g.X - ref.X):abs():max():item(), f)
      assert.are.equal(0, (g.E - ref.E):abs():max():item(), f)
    end
    local path = H.tmpname(".npz")
    graphs.save(path, D)
    local back = graphs.load(path)
    os.remove(path)
    assert.are.equal(0, (back.E - D.E):abs():max():item())
    assert.matches("X must be %(count, n, m%) and E %(count, n, n%), got %(2x15x3%) and %(2x14x14%)",
                   H.err(graphs.loglik, 1, 0, G.zeros(2, 15, 3, F64), G.zeros(2, 14, 14, F64)))
  end)

  it("names the file and the graph when a pickle holds something else", function()
    local path = H.tmpname(".pkl")
    for src, want in pairs{["7"] = " holds a number, not a list of graphs",
                           ["[1, 2]"] = ": graph 1 is a number, not an (X, E) pair"} do
      H.sh(("/usr/bin/python3 -c 'import pickle; pickle.dump(%s, open(\"%s\", \"wb\"))'"):format(src, path))
      assert.matches("graphs.load: " .. path .. want, H.err(graphs.load, path), 1, true)
    end
    os.remove(path)
  end)
end)
