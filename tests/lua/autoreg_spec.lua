-- genlab.autoreg (seed 002 problem 1): the CPTs reproduce p(x) exactly,
-- sampling from them passes a chi-square test, the chi-square tail matches
-- its closed forms, the LSTM has PyTorch's parameter count, samples what its
-- logits say, and trains towards (never below) the entropy floor.
local G = require "genlab"
local A = G.autoreg
local H = dofile("tests/lua/helpers.lua")

local pics = A.pictures()
local cpts = A.cpts(pics)

-- The CPT entry p(x_i = px[i] | px[1..i-1]) along a picture.
local function chain(c, px)
  local prod, code = 1, 0
  for i = 1, 25 do
    code = 2 * code + px[i]
    prod = prod * c[i]:view(-1):index_select(1, {code + 1}):item()
  end
  return prod
end

describe("autoreg: the picture set and its CPTs", function()
  teardown(function()                                   -- 537 MB: give it back to the later specs
    cpts = nil
    collectgarbage()
  end)
  it("has fewer than 30 distinct pictures with probabilities summing to 1", function()
    local n = pics.images.shape[1]
    assert.is_true(n < 30)
    assert.is_true(math.abs(pics.p:sum():item() - 1) < 1e-12)
    local seen = {}
    for _, r in ipairs(pics.images:totable()) do
      local key = table.concat(r)
      assert.is_nil(seen[key], "a picture appears twice")
      seen[key] = true
    end
    local lo, hi = pics.p:min():item(), pics.p:max():item()
    assert.is_true(lo < hi, "p is not uniform")
  end)

  it("lays out CPT i as i dims of size 2 holding probabilities", function()
    assert.are.equal(25, #cpts)
    local total = 0
    for i, t in ipairs(cpts) do
      assert.are.equal(i, t.ndim)
      assert.are.equal("float64", t.dtype)
      total = total + t:numel()
    end
    assert.are.equal(2 ^ 26 - 2, total)
    A.check_cpts(cpts)
  end)

  it("reproduces p(x) along every picture to 1e-12, and nothing outside", function()
    local p, sum = pics.p:totable(), 0
    for k, px in ipairs(pics.images:totable()) do
      local q = chain(cpts, px)
      assert.is_true(math.abs(q - p[k]) < 1e-12, pics.names[k] .. ": " .. q .. " against " .. p[k])
      sum = sum + q
    end
    assert.is_true(math.abs(sum - 1) < 1e-12)
    local blank = {}
    for i = 1, 25 do blank[i] = 0 end
    assert.are.equal(0, chain(cpts, blank))                    -- an image p never draws
  end)

  it("builds float32 CPTs that agree to float32 precision", function()
    local c32 = A.cpts(pics, {dtype = "float32"})
    assert.are.equal("float32", c32[25].dtype)
    for _, i in ipairs{1, 7, 25} do
      assert.is_true((c32[i]:double() - cpts[i]):abs():max():item() < 1e-7)
    end
  end)

  it("samples every picture at its frequency: chi-square at the 0.001 level", function()
    local X = A.sample_cpts(cpts, 100000, {generator = G.Generator(7)})
    assert.are.same({100000, 25}, X.shape)
    local counts, outside = A.frequencies(X, pics)
    assert.are.equal(0, outside)
    local stat, dof, pval = A.chi_square(counts, pics.p:totable())
    assert.are.equal(#counts - 1, dof)
    assert.is_true(pval > 0.001, ("chi-square %.2f on %d dof: p = %.2g"):format(stat, dof, pval))
    local again = A.sample_cpts(cpts, 100000, {generator = G.Generator(7)})
    assert.are.equal(0, (again - X):abs():max():item())       -- one seed, one sample
  end)

  it("rejects CPTs of the wrong count, shape or range, naming the CPT", function()
    assert.matches("expected 25 CPTs, found 2", H.err(A.check_cpts, {cpts[1], cpts[2]}))
    local bad = {}
    for i = 1, 25 do bad[i] = cpts[i] end
    bad[3] = G.full({2, 2}, 0.5, {dtype = "float64"})
    assert.matches("CPT 3 has shape 2x2, expected 2x2x2", H.err(A.check_cpts, bad, "f.pkl"))
    bad[3] = G.full({2, 2, 2}, 0.7, {dtype = "float64"})
    assert.matches("CPT 3: p%(x3 = 0 | ...%) %+ p%(x3 = 1 | ...%) is off 1 by 0.4", H.err(A.check_cpts, bad))
    bad[3] = G.full({2, 2, 2}, -0.5, {dtype = "float64"})
    assert.matches("CPT 3 holds %-0.5 to %-0.5: not probabilities", H.err(A.check_cpts, bad))
  end)

  it("reads the same CPTs back from an .npz (np.savez(path, *cpts) names)", function()
    local c32 = A.cpts(pics, {dtype = "float32"})
    local named = {}
    for i, t in ipairs(c32) do named["arr_" .. (i - 1)] = t end
    local path = H.tmpname(".npz")
    G.data.write_npz(path, named)
    local back = A.load_cpts(path)
    os.remove(path)
    for _, i in ipairs{1, 10, 25} do assert.are.equal(0, (back[i] - c32[i]):abs():max():item()) end
  end)
end)

describe("autoreg: the chi-square tail", function()
  it("matches the closed forms for 2 and 4 degrees of freedom to 1e-12", function()
    for _, x in ipairs{0.1, 1, 3.7, 12, 40} do
      assert.is_true(math.abs(A.chi2_sf(x, 2) - math.exp(-x / 2)) < 1e-12)
      assert.is_true(math.abs(A.chi2_sf(x, 4) - math.exp(-x / 2) * (1 + x / 2)) < 1e-12)
    end
  end)
  it("gives 0.001 at the tabulated critical values", function()
    -- critical values at 0.001 from the standard tables (scipy.stats.chi2.isf(0.001, dof))
    for dof, x in pairs{[1] = 10.828, [10] = 29.588, [22] = 48.268} do
      assert.is_true(math.abs(A.chi2_sf(x, dof) - 0.001) < 2e-6, dof .. ": " .. A.chi2_sf(x, dof))
    end
  end)
end)

describe("autoreg: the LSTM", function()
  it("has PyTorch's parameter count and names", function()
    local m = A.LSTM{seed = 1}
    -- sum(p.numel() for p in [*nn.LSTM(1, 32, num_layers=2).parameters(), *nn.Linear(32, 1).parameters()])
    assert.are.equal(12961, m:num_parameters())
    local names = {}
    for name in m:named_parameters() do names[#names + 1] = name end
    assert.are.same({"lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0",
                     "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.bias_ih_l1", "lstm.bias_hh_l1",
                     "head.weight", "head.bias"}, names)
  end)

  it("samples by the probabilities its logits give (one model, two code paths)", function()
    local m = A.LSTM{seed = 2, dtype = "float64"}
    -- With a generator of uniforms u, x_i = [u_i < q_i]; replay the same
    -- uniforms through the batched logits of the sampled images.
    local X = m:sample(50, {generator = G.Generator(3)})
    local U = {}
    local g = G.Generator(3)
    for i = 1, 25 do U[i] = G.rand(50, {dtype = "float64", generator = g}) end
    local q = G.no_grad(function() return m:logits(X):sigmoid() end)
    for i = 1, 25 do
      local want = U[i]:lt(q:select(2, i)):double()
      assert.are.equal(0, (want - X:select(2, i)):abs():max():item(), "pixel " .. i)
    end
  end)

  it("trains towards the entropy floor and never below it", function()
    local m = A.LSTM{seed = 3, dtype = "float64"}
    local floor = A.entropy(pics)
    assert.is_true(math.abs(floor - 3.0670517507605) < 1e-9)
    local losses = A.train(m, pics, {steps = 250, lr = 1e-2})
    for i, l in ipairs(losses) do assert.is_true(l >= floor - 1e-6, "step " .. i .. ": " .. l) end
    assert.is_true(losses[#losses] < losses[1] / 2, losses[1] .. " -> " .. losses[#losses])
    -- the loss is exactly sum_k p_k nll_k: the same number from the model's nll
    local nll = G.no_grad(function() return m:nll(pics.images) end)
    local direct = (nll * pics.p):sum():item()
    local kl = direct - floor
    assert.is_true(kl > 0)
  end)
end)

-- A CPT file in the course's layout with known content (tests/fixtures/autoreg/make_cpts.py):
-- three pictures with p = 1/3 each, gzip-compressed as the course ships image_cpts.pkl.gz.
describe("autoreg: a course-layout CPT file drives everything", function()
  local DIR = "tests/fixtures/autoreg/"
  local three = A.load_cpts(DIR .. "three.pkl.gz")
  local dist = A.distribution(three)
  teardown(function()
    three = nil
    collectgarbage()
  end)

  it("reads the 25 float64 arrays of the pickle", function()
    assert.are.equal(25, #three)
    assert.are.equal("float64", three[25].dtype)
    assert.are.same({2, 2, 2}, three[3].shape)
  end)

  it("has H(p) = log 3 exactly, summed over all 2^25 images in C", function()
    local h, mass, support = A.cpts_entropy(three)
    assert.is_true(math.abs(h - math.log(3)) < 1e-9, h .. " against " .. math.log(3))
    assert.is_true(math.abs(mass - 1) < 1e-12)
    assert.are.equal(3, support)
  end)

  it("lists its support: the three pictures, p = 1/3 each, in code order", function()
    assert.is_true(dist.support and dist.complete)
    assert.are.equal(0, dist.rest)
    assert.are.same({"eight", "nine", "zero"}, dist.names)
    local want = G.data.read_npy(DIR .. "three_images.npy")       -- zero, eight, nine
    local order = G.tensor({2, 3, 1}, {dtype = "float64"})
    assert.are.equal(0, (dist.images - want:index_select(1, order)):abs():max():item())
    assert.is_true((dist.p - 1 / 3):abs():max():item() < 1e-15)
    local lp = A.log_prob(three, G.cat({dist.images, G.zeros(1, 25, {dtype = "float64"})}, 1)):totable()
    for k = 1, 3 do assert.is_true(math.abs(lp[k] + math.log(3)) < 1e-14) end
    assert.are.equal(-math.huge, lp[4])
  end)

  it("samples the three pictures at 1/3 each: chi-square passes, total variation small", function()
    local X = A.sample_cpts(three, 20000, {generator = G.Generator(11)})
    local fit = A.goodness(X, dist)
    assert.are.equal(0, fit.outside)
    assert.are.equal(2, fit.dof)
    assert.is_true(fit.pvalue > 0.001, ("chi-square %.2f: p = %.2g"):format(fit.chi2, fit.pvalue))
    assert.is_true(fit.tv < 0.02, "total variation " .. fit.tv)
    -- against genlab's own 23 pictures the same samples fail, as they should
    local wrong = A.goodness(X, pics)
    assert.is_true(wrong.pvalue < 1e-6)
  end)

  it("trains the LSTM on the three pictures, which it then samples", function()
    local m = A.LSTM{seed = 4}
    local losses = A.train(m, dist, {steps = 1200, lr = 1e-2, lr_end = 1e-3})
    for i, l in ipairs(losses) do assert.is_true(l >= math.log(3) - 1e-5, "step " .. i .. ": " .. l) end
    local _, outside = A.frequencies(m:sample(1000, {generator = G.Generator(5)}), dist)
    assert.is_true(outside <= 50, outside .. " of 1000 LSTM samples are none of the three pictures")
    local sc = A.score(m, dist)
    local kl, se = A.kl_estimate(m, three, A.sample_cpts(three, 4000, {generator = G.Generator(6)}))
    assert.is_true(math.abs(kl - sc.kl) < 4 * se + 1e-3, ("Monte Carlo %.4f +- %.4f, exact %.4f"):format(kl, se, sc.kl))
  end)

  it("names the file and the fault of a malformed one", function()
    assert.matches(DIR .. "bad_count.pkl: expected 25 CPTs, found 3", H.err(A.load_cpts, DIR .. "bad_count.pkl"), 1, true)
    assert.matches(DIR .. "bad_shape.pkl: CPT 3 has shape 2x2, expected 2x2x2", H.err(A.load_cpts, DIR .. "bad_shape.pkl"), 1, true)
    assert.matches(DIR .. "bad_range.pkl: CPT 2 holds -0.5 to 1.5: not probabilities", H.err(A.load_cpts, DIR .. "bad_range.pkl"), 1, true)
    assert.matches("cannot open " .. DIR .. "none.pkl", H.err(A.load_cpts, DIR .. "none.pkl"), 1, true)
  end)
end)

describe("autoreg: chi-square over a partial list", function()
  it("pools the images under 5 expected samples with the unlisted rest", function()
    local pics3 = {images = pics.images:narrow(1, 1, 3), p = G.tensor({0.4, 0.3, 0.0001}, {dtype = "float64"})}
    pics3.rest = 1 - 0.7001
    -- 10,000 rows: 4,000 and 3,000 of the first two, 1 of the third, 2,999 others
    local rows = {}
    local imgs = pics3.images:totable()
    for _ = 1, 4000 do rows[#rows + 1] = imgs[1] end
    for _ = 1, 3000 do rows[#rows + 1] = imgs[2] end
    rows[#rows + 1] = imgs[3]
    for k = 1, 2999 do rows[#rows + 1] = pics.images:select(1, 4 + k % 20):totable() end
    local X = G.tensor(rows, {dtype = "float64"})
    local fit = A.goodness(X, pics3)
    assert.are.equal(3, fit.bins)                          -- image 1, image 2, the pool
    assert.are.equal(1, fit.pooled)
    assert.is_true(fit.chi2 < 1e-9 and fit.pvalue > 0.99, fit.chi2)
    assert.is_true(math.abs(fit.tv) < 1e-9)
    pics3.rest = 0                                          -- the same samples where p has 1e-4 left
    assert.is_true(A.goodness(X, pics3).pvalue < 1e-100)
    local two = {images = pics.images:narrow(1, 1, 2), p = G.tensor({0.5, 0.5}, {dtype = "float64"})}
    local fit2 = A.goodness(X:narrow(1, 4001, 6000), two)   -- 3,000 of image 2, 3,000 where p has nothing
    assert.are.equal(math.huge, fit2.chi2)
    assert.are.equal(0, fit2.pvalue)
  end)

  it("gives up below 2 bins and draws minibatches by p", function()
    local fit = A.goodness(pics.images:narrow(1, 1, 3), pics)
    assert.is_nil(fit.chi2)
    local e = A.empirical(G.cat({pics.images:narrow(1, 1, 2), pics.images:narrow(1, 1, 1)}, 1))
    assert.are.same({1 / 3, 2 / 3}, e.p:totable())          -- code order: one's x2 = 0
    assert.are.same({"one", "zero"}, e.names)
    local m = A.LSTM{seed = 7}
    local losses = A.train(m, pics, {steps = 3, batch = 8, generator = G.Generator(8)})
    assert.are.equal(3, #losses)
  end)
end)
