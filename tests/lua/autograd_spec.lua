-- Gradients of every differentiable operation against central differences
-- (nn.gradcheck, float64: |numeric - analytic| <= 1e-5 + 1e-3 |numeric|),
-- plus the engine's rules: accumulation, retain_graph, no_grad, errors.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local nn = G.nn

local function leaf(...) return G.randn({...}, {dtype = "float64"}):requires_grad_() end
local function pos(...) return (G.rand({...}, {dtype = "float64"}) + 0.5):requires_grad_() end

local function check(f, inputs)
  local ok, worst = nn.gradcheck(f, inputs)
  assert(ok, worst)
end

-- SPD matrices built inside f, so the gradient flows through A = M M^T + n I.
local function spd(M)
  local n = M.shape[#M.shape]
  return M:matmul(M:transpose(-1, -2)) + G.eye(n, {dtype = "float64"}) * n
end

describe("autograd gradients match finite differences", function()
  before_each(function() G.manual_seed(7) end)

  it("elementwise binary ops, broadcasting included", function()
    local a, b = leaf(3, 4), leaf(4)
    check(function(x, y) return x + y end, {a, b})
    check(function(x, y) return x - y end, {a, b})
    check(function(x, y) return x * y end, {a, b})
    check(function(x, y) return x / (y * y + 1) end, {a, b})
    check(function(x, y) return G.maximum(x, y) end, {a, b})
    check(function(x, y) return G.minimum(x, y) end, {a, b})
    local p, q = pos(3, 1), leaf(1, 4)
    check(function(x, y) return x ^ y end, {p, q})
  end)

  it("scalar forms and unary ops", function()
    local a, p = leaf(2, 5), pos(2, 5)
    check(function(x) return 2 - x * 3 + 1 / (x * x + 2) end, {a})
    check(function(x) return x ^ 3 + 2 ^ x end, {a})
    for _, f in ipairs{"neg", "exp", "tanh", "sigmoid", "softplus", "square", "sin", "cos", "abs", "relu", "expm1"} do
      check(function(x) return x[f](x) end, {a})
    end
    for _, f in ipairs{"log", "sqrt", "log1p", "reciprocal"} do
      check(function(x) return x[f](x) end, {p})
    end
    check(function(x) return x:clamp(-0.5, 0.7) end, {a})
    for _, f in ipairs{"sign", "floor", "ceil", "round"} do   -- flat: .grad is zeros, not nil
      local x = G.tensor({1.5, -2.5}, {dtype = "float64"}):requires_grad_()
      x[f](x):sum():backward()
      assert.are.same({0, 0}, x.grad:totable(), f)
    end
    check(function(x, y) return G.where(x:gt(0), x, y * 2) end, {a, leaf(5)})
  end)

  it("reductions over a dim and over everything, and scans", function()
    local a = leaf(3, 4, 2)
    for _, f in ipairs{"sum", "mean", "logsumexp", "var", "std"} do
      check(function(x) return x[f](x, 2) end, {a})
      check(function(x) return x[f](x) end, {a})
    end
    check(function(x) return x:sum(3, true) end, {a})
    check(function(x) return x:prod(1) end, {pos(3, 2)})
    check(function(x) return x:max() + x:min() end, {a})
    check(function(x) return (x:max(2)) end, {a})
    check(function(x) return (x:min(-1, true)) end, {a})
    check(function(x) return x:max({1, 3}) end, {a})
    check(function(x) return x:min({3, 2}, true) end, {a})
    -- a tie shares the gradient evenly over a list of dims, as over everything
    local t = G.tensor({{1, 1}, {1, 0}}, {dtype = "float64"}):requires_grad_()
    t:max({1, 2}):backward()
    assert.are.same({{1 / 3, 1 / 3}, {1 / 3, 0}}, t.grad:totable())
    for _, f in ipairs{"cumsum", "softmax", "log_softmax"} do
      check(function(x) return x[f](x, 2) * G.arange(1, 5, {dtype = "float64"}):view(4, 1) end, {a})
    end
    -- a 0-d input scans as one value: slopes 1, 0 and 0
    for f, slope in pairs{cumsum = 1, softmax = 0, log_softmax = 0} do
      local z = G.tensor(0.7, {dtype = "float64"}):requires_grad_()
      z[f](z, 1):backward()
      assert.are.equal(slope, z.grad:item(), f)
    end
  end)

  it("matmul in every form: 2-d, batched, broadcast, vectors; dot and outer", function()
    check(function(x, y) return x:matmul(y) end, {leaf(3, 4), leaf(4, 2)})
    check(function(x, y) return x:matmul(y) end, {leaf(2, 3, 4), leaf(4, 5)})
    check(function(x, y) return x:matmul(y) end, {leaf(2, 1, 3, 4), leaf(3, 4, 2)})
    check(function(x, y) return x:matmul(y) end, {leaf(4), leaf(4, 3)})
    check(function(x, y) return x:matmul(y) end, {leaf(2, 3, 4), leaf(4)})
    check(function(x, y) return x:matmul(y) end, {leaf(4), leaf(4)})
    check(function(x, y) return x:matmul(y:t()) end, {leaf(3, 4), leaf(2, 4)})
    check(function(x, y) return G.dot(x, y) end, {leaf(5), leaf(5)})
    check(function(x, y) return G.outer(x, y) end, {leaf(3), leaf(4)})
  end)

  it("views, copies and indexing", function()
    local a = leaf(3, 4, 2)
    check(function(x) return x:reshape(4, 6) * G.arange(24, {dtype = "float64"}):view(4, 6) end, {a})
    check(function(x) return x:transpose(1, 3):contiguous() * G.arange(24, {dtype = "float64"}):view(2, 4, 3) end, {a})
    check(function(x) return x:permute(2, 3, 1) * G.arange(24, {dtype = "float64"}):view(4, 2, 3) end, {a})
    check(function(x) return x:narrow(2, 2, 2) * 3 end, {a})
    check(function(x) return x:select(1, 2) * x:select(3, -1):sum() end, {a})
    check(function(x) return x[{2, {2, 3}}] ^ 2 end, {a})
    check(function(x) return x:unsqueeze(2):squeeze(2):flatten() ^ 2 end, {a})
    check(function(x) return x:expand(3, 4):clone() * G.arange(12, {dtype = "float64"}):view(3, 4) end, {leaf(3, 1)})
    check(function(x) return x:diagonal() ^ 2 end, {leaf(2, 3, 3)})
    check(function(x) return G.index_select(x, 2, {3, 1, 3}) * G.arange(18, {dtype = "float64"}):view(3, 3, 2) end, {a})
    check(function(x) return G.gather(x, 2, G.tensor{{1, 1}, {4, 2}, {3, 3}}) ^ 2 end, {leaf(3, 4)})
    check(function(x, y) return G.cat({x, y, x}, 2) ^ 2 end, {leaf(2, 3), leaf(2, 1)})
    check(function(x, y) return G.stack({x, y}, 1) ^ 2 end, {leaf(2, 3), leaf(2, 3)})
    -- more inputs needing grad than a node has edges: joined in chunks
    local many = {}
    for i = 1, 20 do many[i] = leaf(2) end
    check(function(...) return G.cat({...}, 1) ^ 2 end, many)
    check(function(...) return G.stack({...}, 2) ^ 2 end, many)
  end)

  it("a dtype conversion hands back a gradient in the input's dtype", function()
    -- (not by differences: float32 rounding swamps a 1e-6 step)
    local x = leaf(3)
    ;(x:float() * 2):sum():backward()
    assert.are.equal("float64", x.grad.dtype)
    assert.are.same({2, 2, 2}, x.grad:totable())
  end)

  it("pow at a zero exponent or a zero base: PyTorch 1.13's values, not NaN", function()
    -- (where differences cannot look: x^0 and 0^x are flat, or infinite, there)
    local d64 = {dtype = "float64"}
    local function grads(f, ...)
      local xs = {}
      for i, v in ipairs{...} do xs[i] = G.tensor(v, d64):requires_grad_() end
      f(table.unpack(xs)):sum():backward()
      local out = {}
      for i, x in ipairs(xs) do out[i] = x.grad:totable() end
      return table.unpack(out)
    end
    assert.are.same({0, 0}, grads(function(x) return x ^ 0 end, {0, 2}))
    assert.are.same({0, 0}, grads(function(x) return x:pow(G.zeros(2, d64)) end, {0, 2}))
    assert.are.same({-math.huge, 0, 0}, grads(function(x) return 0 ^ x end, {-1, 0, 2}))
    local gz, ge = grads(function(z, e) return z:pow(e) end, {0, 0, 3}, {-1, 0, 2})
    assert.are.same({-math.huge, 0, 6}, gz)
    assert.are.same({-math.huge, 0}, {ge[1], ge[2]})
    assert.is_true(math.abs(ge[3] - 9 * math.log(3)) < 1e-12)
    -- sum_k x^k, k = 0..3, has slope 1 at x = 0
    assert.are.same({1, 17}, grads(function(x)
      local s = x * 0
      for k = 0, 3 do s = s + x ^ k end
      return s
    end, {0, 2}))
  end)

  it("linear algebra, batched: cholesky, triangular solves, cholesky_solve, solve, slogdet", function()
    local L = G.linalg
    check(function(m) return L.cholesky(spd(m)) end, {leaf(3, 4, 4)})
    check(function(m) return L.cholesky(spd(m), {upper = true}) end, {leaf(4, 4)})
    for _, upper in ipairs{false, true} do
      for _, left in ipairs{true, false} do
        check(function(m, b)
          local A = L.cholesky(spd(m), {upper = upper})
          return L.solve_triangular(A, left and b or b:transpose(-1, -2), {upper = upper, left = left})
        end, {leaf(2, 3, 3), leaf(2, 3, 2)})
      end
    end
    check(function(m, b) return L.cholesky_solve(b, L.cholesky(spd(m))) end, {leaf(2, 3, 3), leaf(2, 3, 2)})
    check(function(m, b) return L.cholesky_solve(b, L.cholesky(spd(m), {upper = true}), {upper = true}) end, {leaf(3, 3), leaf(3, 2)})
    -- a raw factor whose other triangle is not zero: the forward reads one
    -- triangle, so the gradient must not depend on the other
    local raw = (G.randn(3, 3, {dtype = "float64"}) + G.eye(3, {dtype = "float64"}) * 4):requires_grad_()
    for _, upper in ipairs{false, true} do
      check(function(f, b) return L.cholesky_solve(b, f, {upper = upper}) end, {raw, leaf(3, 2)})
    end
    -- a vector right-hand side, as the forward takes it
    check(function(m, b) return L.cholesky_solve(b, L.cholesky(spd(m))) end, {leaf(3, 3), leaf(3)})
    check(function(m, b) return L.cholesky_solve(b, L.cholesky(spd(m))) end, {leaf(2, 3, 3), leaf(2, 3)})
    check(function(m, b) return L.solve(m + G.eye(3, {dtype = "float64"}) * 3, b) end, {leaf(2, 3, 3), leaf(2, 3, 2)})
    check(function(m, b) return L.solve(m + G.eye(3, {dtype = "float64"}) * 3, b) end, {leaf(3, 3), leaf(3)})
    check(function(m) local _, la = L.slogdet(spd(m)); return la end, {leaf(3, 4, 4)})
    check(function(m) local _, la = L.slogdet(m); return la end, {leaf(4, 4)})
  end)

  it("the GMM negative log-likelihood through batched Cholesky", function()
    -- K components, Sigma_k = A_k A_k^T + I, logits w: the exercise's parametrisation
    local K, d, N = 3, 2, 5
    local X = G.randn(N, d, {dtype = "float64"})
    local function nll(w, mu, A)
      local S = A:matmul(A:transpose(-1, -2)) + G.eye(d, {dtype = "float64"})
      local Lc = G.linalg.cholesky(S)                              -- (K, d, d)
      local diff = (X:unsqueeze(1) - mu:unsqueeze(2)):transpose(-1, -2)   -- (K, d, N)
      local z = G.linalg.solve_triangular(Lc, diff, {upper = false}) -- (K, d, N)
      local maha = (z * z):sum(2)                                   -- (K, N)
      local logdet = Lc:diagonal():log():sum(-1) * 2                 -- (K)
      local logp = (maha + logdet:unsqueeze(2) + d * math.log(2 * math.pi)) * -0.5
      local lw = w:log_softmax(1):unsqueeze(2)                       -- (K, 1)
      return -(logp + lw):logsumexp(1):mean()
    end
    check(nll, {leaf(K), leaf(K, d), leaf(K, d, d)})
  end)

  it("fused layers and losses", function()
    check(nn.linear, {leaf(4, 3), leaf(2, 3), leaf(2)})
    check(function(x, w) return nn.linear(x, w) end, {leaf(2, 5, 3), leaf(2, 3)})
    check(function(x, w, b) return nn.conv2d(x, w, b, {stride = {2, 1}, padding = 1}) end,
          {leaf(2, 2, 5, 4), leaf(3, 2, 3, 2), leaf(3)})
    -- stride 1 (shifted plane sums): 10 outputs are blocks of 4 and a rest of 2,
    -- padding 2 with a 2x2 kernel makes the output larger than the input
    check(function(x, w, b) return nn.conv2d(x, w, b, {padding = {0, 1}}) end,
          {leaf(2, 3, 5, 4), leaf(10, 3, 3, 2), leaf(10)})
    check(function(x, w, b) return nn.conv2d(x, w, b, {padding = 2}) end,
          {leaf(1, 2, 3, 3), leaf(3, 2, 2, 2), leaf(3)})
    check(function(x, w, b) return nn.conv_transpose2d(x, w, b, {stride = 2, padding = 1, output_padding = 1}) end,
          {leaf(2, 2, 3, 3), leaf(2, 3, 3, 3), leaf(3)})
    -- stride = kernel, no padding (the tiled path): a 2x3 kernel, the margin output_padding
    -- adds, and 5x5 = 25 input pixels (a strip of 16 and a rest)
    check(function(x, w, b) return nn.conv_transpose2d(x, w, b, {stride = {2, 3}, output_padding = {1, 2}}) end,
          {leaf(2, 3, 5, 5), leaf(3, 2, 2, 3), leaf(2)})
    check(function(x) return nn.max_pool2d(x, 2) end, {leaf(2, 2, 4, 5)})
    check(function(x, h, c, wi, wh, bi, bh)
      local y, hT, cT = nn.lstm(x, h, c, wi, wh, bi, bh)
      return G.cat({y:reshape(-1), hT:reshape(-1) * 2, cT:reshape(-1) * 3}, 1)
    end, {leaf(2, 3, 2), leaf(2, 3), leaf(2, 3), leaf(12, 2), leaf(12, 3), leaf(12), leaf(12)})
    for _, r in ipairs{"mean", "sum", "none"} do
      check(function(x, y) return nn.mse_loss(x, y, r) end, {leaf(3, 2), leaf(3, 2)})
      check(function(z, y) return nn.binary_cross_entropy_with_logits(z, y, r) end,
            {leaf(3, 2), G.rand(3, 2, {dtype = "float64"}):requires_grad_()})
      check(function(z) return nn.cross_entropy(z, {2, 1, 3}, r) end, {leaf(3, 3)})
    end
  end)
end)

describe("the backward engine", function()
  it("accumulates into .grad until it is dropped", function()
    local x = G.tensor({1, 2, 3}, {dtype = "float64"}):requires_grad_()
    ;(x * x):sum():backward()
    ;(x * 3):sum():backward()
    assert.are.same({5, 7, 9}, x.grad:totable())
    x.grad = nil
    ;(x * 3):sum():backward()
    assert.are.same({3, 3, 3}, x.grad:totable())
  end)

  it("sums the gradients of a value used twice, and of a many-output op's unused outputs", function()
    local x = G.tensor({2}, {dtype = "float64"}):requires_grad_()
    local y = x * x
    ;(y + y * y):sum():backward()            -- d/dx (x^2 + x^4) = 2x + 4x^3
    assert.are.equal(4 + 32, x.grad[1])
  end)

  it("gives relu, sigmoid and tanh their closed-form gradients, in place or not, split or not", function()
    -- 300 x 500 values is past the size at which the threads share the work;
    -- y used twice sums two gradients that share one buffer (f32 rounding)
    local threads = G.get_num_threads()
    G.set_num_threads(2)
    G.manual_seed(11)
    for _, n in ipairs{300, 3} do
      for _, act in ipairs{"relu", "sigmoid", "tanh"} do
        local x, R = G.randn(n, 500):requires_grad_(), G.randn(n, 500)
        local y = x[act](x)
        local yd = y:detach()
        local d = act == "relu" and x:detach():gt(0) or act == "sigmoid" and yd * (1 - yd) or 1 - yd * yd
        ;(y * R):sum():backward()
        local worst = (x.grad - R * d):abs():max():item()
        assert(worst <= 1e-6, string.format("%s %dx500: off by %g", act, n, worst))
        x.grad = nil
        y = x[act](x)
        ;((y + y) * R):sum():backward()
        worst = (x.grad - R * d * 2):abs():max():item()
        assert(worst <= 1e-5, string.format("%s %dx500 through a shared gradient: off by %g", act, n, worst))
      end
    end
    G.set_num_threads(threads)
  end)

  it("frees the graph after backward unless asked to keep it", function()
    local x = G.tensor({1, 2}, {dtype = "float64"}):requires_grad_()
    local y = (x:exp()):sum()
    y:backward({retain_graph = true})
    y:backward()
    assert.is_true(math.abs(x.grad[1] - 2 * math.exp(1)) < 1e-12)
    assert.matches("second pass through sum", H.err(y.backward, y))
  end)

  it("records nothing under no_grad, and restores the mode after an error", function()
    local x = G.ones(2):requires_grad_()
    local y = G.no_grad(function() return x * 2 end)
    assert.is_false(y.requires_grad)
    assert.is_false(pcall(G.no_grad, function() error("boom") end))
    assert.is_true(G.is_grad_enabled())
    assert.is_true((x * 2).requires_grad)
    assert.are.equal("mul", (x * 2).grad_fn)
    assert.is_false(x:detach().requires_grad)
  end)

  it("explains what went wrong", function()
    local x = G.ones(2, 3):requires_grad_()
    assert.matches("needs a gradient argument", H.err((x * 2).backward, x * 2))
    assert.matches("does not require grad", H.err(G.ones(1).backward, G.ones(1)))
    assert.matches("in%-place change of a tensor that requires grad", H.err(x.add_, x, 1))
    assert.matches("only a leaf", H.err(function() (x * 2).requires_grad = false end))
    assert.matches("grad: a float32 %(2%) gradient for a float32 %(2x3%) tensor",
                   H.err(function() x.grad = G.ones(2) end))
    G.no_grad(function() x:add_(1) end)      -- allowed where nothing is recorded
    assert.are.equal(2, x[{1, 1}])
  end)

  it("says what backward accepts when given something else", function()
    local x = G.ones(3):requires_grad_()
    local y = (x * 2):sum()
    for _, bad in ipairs{5, "x", true} do
      local msg = H.err(y.backward, y, bad)
      assert.matches("backward: the gradient must be a Tensor of x's shape, got a " .. type(bad), msg, 1, true)
      assert.matches("call x:backward(), x:backward(gradient), x:backward(gradient, {retain_graph = true}) "
                     .. "or x:backward{retain_graph = true}", msg, 1, true)
    end
    assert.matches("unknown option 'retain'", H.err(y.backward, y, {retain = true}))
    local v = x * 2
    assert.matches("backward: a %(2%) gradient for a %(3%) tensor", H.err(v.backward, v, G.ones(2)))
    y:backward(G.tensor(1), {retain_graph = true})
    y:backward(nil, {retain_graph = true})
    y:backward{retain_graph = true}
    assert.are.same({6, 6, 6}, x.grad:totable())
  end)

  it("leaves every .grad as it was when a pass fails half-way", function()
    -- b = x * c saves c; writing c afterwards stops the pass at b's rule,
    -- after (order 1) or before (order 2) the a = x * 2 branch reached x
    for order = 1, 2 do
      local x = G.tensor({1, 2}, {dtype = "float64"}):requires_grad_()
      local w = G.tensor({5, 5}, {dtype = "float64"}):requires_grad_()
      ;(x * w):sum():backward()               -- .grad from an earlier pass
      local c = G.tensor({3, 3}, {dtype = "float64"})
      local a, b = x * 2 + w, x * c
      local y = order == 1 and (a + b):sum() or (b + a):sum()
      c:mul_(10)
      assert.matches("modified in place", H.err(y.backward, y))
      assert.are.same({5, 5}, x.grad:totable())
      assert.are.same({1, 2}, w.grad:totable())
      local fresh = G.tensor({1, 2}, {dtype = "float64"}):requires_grad_()
      local y2 = (fresh * 2):sum() + (fresh * c):sum()
      c:mul_(2)
      assert.matches("modified in place", H.err(y2.backward, y2))
      assert.is_nil(fresh.grad)
    end
  end)

  it("a given output gradient weights the result", function()
    local x = G.tensor({1, 2, 3}, {dtype = "float64"}):requires_grad_()
    ;(x * x):backward(G.tensor({1, 0, -1}, {dtype = "float64"}))
    assert.are.same({2, 0, -6}, x.grad:totable())
  end)

  it("walks a chain of 100000 operations without exhausting the C stack", function()
    local x = G.ones(1, {dtype = "float64"}):requires_grad_()
    local y = x
    for _ = 1, 100000 do y = y + 1e-5 end
    y:sum():backward()
    assert.are.equal(1, x.grad[1])
    y = nil
    collectgarbage()
  end)
end)
