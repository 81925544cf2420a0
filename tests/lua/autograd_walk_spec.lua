-- Every public function and Tensor method, met with an input that requires
-- grad: a differentiable op passes gradcheck (float64, central differences),
-- a constant-valued one (indices, masks, samples) returns a tensor that does
-- not require grad, an in-place one refuses, and the rest take no tensor to
-- differentiate.  A function that is in none of the lists fails the walk,
-- so a new op must say which it is.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local nn, la = G.nn, G.linalg

local F64 = {dtype = "float64"}
local gen = G.Generator(11)
local function leaf(...) return G.randn({...}, {dtype = "float64", generator = gen}):requires_grad_() end
local function pos(...) return (G.rand({...}, {dtype = "float64", generator = gen}) + 0.5):requires_grad_() end
local function spd(n)
  local B = G.randn(n, n, {dtype = "float64", generator = gen})
  return (B:matmul(B:t()) + G.eye(n, F64) * n):requires_grad_()
end
local function sym(a) return a + a:t() end
-- A positive definite matrix made of a: cholesky reads one triangle only, and
-- its rule (as PyTorch's) gives the symmetric gradient, so the walk goes
-- through a function of the whole of a
local function spd_of(a) return a:matmul(a:t()) + G.eye(a.shape[1], F64) * 3 end
local target = G.rand(3, 4, {dtype = "float64", generator = gen})
local idx = G.tensor({{2, 1, 3, 3}, {1, 1, 2, 3}})

-- name -> {f, {inputs}, [gradcheck options]}: f(inputs...) is differentiable
-- in every input (float32 round trips take a larger step)
local diff = {
  abs = {function(a) return a:abs() end, {leaf(3, 4)}},
  ceil = {function(a) return a:ceil() end, {leaf(3, 4)}},
  cos = {function(a) return a:cos() end, {leaf(3, 4)}},
  erf = {function(a) return a:erf() end, {leaf(3, 4)}},
  erfc = {function(a) return a:erfc() end, {leaf(3, 4)}},
  exp = {function(a) return a:exp() end, {leaf(3, 4)}},
  expm1 = {function(a) return a:expm1() end, {leaf(3, 4)}},
  floor = {function(a) return a:floor() end, {leaf(3, 4)}},
  log = {function(a) return a:log() end, {pos(3, 4)}},
  log1p = {function(a) return a:log1p() end, {pos(3, 4)}},
  neg = {function(a) return a:neg() end, {leaf(3, 4)}},
  reciprocal = {function(a) return a:reciprocal() end, {pos(3, 4)}},
  relu = {function(a) return a:relu() end, {leaf(3, 4)}},
  round = {function(a) return a:round() end, {leaf(3, 4)}},
  sigmoid = {function(a) return a:sigmoid() end, {leaf(3, 4)}},
  sign = {function(a) return a:sign() end, {leaf(3, 4)}},
  sin = {function(a) return a:sin() end, {leaf(3, 4)}},
  softplus = {function(a) return a:softplus() end, {leaf(3, 4)}},
  sqrt = {function(a) return a:sqrt() end, {pos(3, 4)}},
  square = {function(a) return a:square() end, {leaf(3, 4)}},
  tanh = {function(a) return a:tanh() end, {leaf(3, 4)}},
  clamp = {function(a) return a:clamp(-0.5, 0.5) end, {leaf(3, 4)}},
  add = {function(a, b) return a:add(b) end, {leaf(3, 4), leaf(4)}},
  sub = {function(a, b) return a:sub(b) end, {leaf(3, 4), leaf(3, 1)}},
  mul = {function(a, b) return a:mul(b) end, {leaf(3, 4), leaf(3, 4)}},
  div = {function(a, b) return a:div(b) end, {leaf(3, 4), pos(3, 4)}},
  pow = {function(a, b) return G.pow(a, b) end, {pos(3, 4), leaf(3, 4)}},
  maximum = {function(a, b) return a:maximum(b) end, {leaf(3, 4), leaf(3, 4)}},
  minimum = {function(a, b) return a:minimum(b) end, {leaf(3, 4), leaf(3, 4)}},
  where = {function(a, b) return G.where(a:detach():gt(0), a, b) end, {leaf(3, 4), leaf(3, 4)}},
  clone = {function(a) return a:clone() end, {leaf(3, 4)}},
  contiguous = {function(a) return a:t():contiguous() end, {leaf(3, 4)}},
  diagonal = {function(a) return a:diagonal() end, {leaf(3, 4)}},
  expand = {function(a) return a:expand(2, 3, 4) end, {leaf(3, 4)}},
  flatten = {function(a) return a:flatten() end, {leaf(3, 4)}},
  narrow = {function(a) return a:narrow(2, 2, 2) end, {leaf(3, 4)}},
  permute = {function(a) return a:permute(3, 1, 2) end, {leaf(2, 3, 4)}},
  reshape = {function(a) return a:reshape(4, 3) end, {leaf(3, 4)}},
  view = {function(a) return a:view(2, 6) end, {leaf(3, 4)}},
  select = {function(a) return a:select(1, 2) end, {leaf(3, 4)}},
  squeeze = {function(a) return a:squeeze(2) end, {leaf(3, 1, 4)}},
  unsqueeze = {function(a) return a:unsqueeze(2) end, {leaf(3, 4)}},
  t = {function(a) return a:t() end, {leaf(3, 4)}},
  transpose = {function(a) return a:transpose(1, 2) end, {leaf(3, 4)}},
  to = {function(a) return a:to("float32"):to("float64") end, {leaf(3, 4)}, {eps = 1e-2, rtol = 1e-3}},
  float = {function(a) return a:float():double() end, {leaf(3, 4)}, {eps = 1e-2, rtol = 1e-3}},
  double = {function(a) return a:double() end, {leaf(3, 4)}},
  cat = {function(a, b) return G.cat({a, b}, 1) end, {leaf(3, 4), leaf(2, 4)}},
  stack = {function(a, b) return G.stack({a, b}, 2) end, {leaf(3, 4), leaf(3, 4)}},
  index_select = {function(a) return a:index_select(2, {4, 1, 1}) end, {leaf(3, 4)}},
  gather = {function(a) return a:gather(1, idx) end, {leaf(3, 4)}},
  masked_select = {function(a) return a:masked_select(a:detach():gt(0)) end, {leaf(3, 4)}},
  scatter_add = {function(a, b) return a:scatter_add(1, idx, b) end, {leaf(3, 4), leaf(2, 4)}},
  sort = {function(a) return (a:sort(2, true)) end, {leaf(3, 4)}},
  topk = {function(a) return (a:topk(2, 1)) end, {leaf(3, 4)}},
  sum = {function(a) return a:sum({1, 3}, true) end, {leaf(2, 3, 4)}},
  mean = {function(a) return a:mean(2) end, {leaf(3, 4)}},
  prod = {function(a) return a:prod(2) end, {pos(3, 4)}},
  std = {function(a) return a:std(2) end, {leaf(3, 4)}},
  var = {function(a) return a:var(1) end, {leaf(3, 4)}},
  logsumexp = {function(a) return a:logsumexp({1, 2}) end, {leaf(2, 3, 4)}},
  max = {function(a) return (a:max(2)) end, {leaf(3, 4)}},
  min = {function(a) return a:min({1, 2}) end, {leaf(3, 4)}},
  cumsum = {function(a) return a:cumsum(2) end, {leaf(3, 4)}},
  log_softmax = {function(a) return a:log_softmax(2) end, {leaf(3, 4)}},
  softmax = {function(a) return a:softmax(1) end, {leaf(3, 4)}},
  matmul = {function(a, b) return a:matmul(b) end, {leaf(2, 3, 4), leaf(4, 2)}},
  mm = {function(a, b) return a:mm(b) end, {leaf(3, 4), leaf(4, 2)}},
  mv = {function(a, b) return a:mv(b) end, {leaf(3, 4), leaf(4)}},
  bmm = {function(a, b) return a:bmm(b) end, {leaf(2, 3, 4), leaf(2, 4, 2)}},
  dot = {function(a, b) return a:dot(b) end, {leaf(4), leaf(4)}},
  outer = {function(a, b) return a:outer(b) end, {leaf(3), leaf(4)}},
  ["linalg.cholesky"] = {function(a) return la.cholesky(spd_of(a)) end, {leaf(3, 3)}},
  ["linalg.cholesky_solve"] = {function(b, a) return la.cholesky_solve(b, la.cholesky(spd_of(a))) end, {leaf(3, 2), leaf(3, 3)}},
  ["linalg.eigh"] = {function(a) local w, V = la.eigh(sym(a)); return w:sum() + (V * V * G.tensor({1, 2, 3}, F64)):sum() end, {leaf(3, 3)}},
  ["linalg.eigvalsh"] = {function(a) return la.eigvalsh(sym(a)) end, {leaf(3, 3)}},
  ["linalg.inv"] = {function(a) return la.inv(a) end, {spd(3)}},
  ["linalg.lstsq"] = {function(a, b) return la.lstsq(a, b) end, {leaf(5, 3), leaf(5, 2)}},
  ["linalg.slogdet"] = {function(a) return select(2, la.slogdet(a)) end, {spd(3)}},
  ["linalg.solve"] = {function(a, b) return la.solve(a, b) end, {spd(3), leaf(3, 2)}},
  ["linalg.solve_triangular"] = {function(a, b) return la.solve_triangular(la.cholesky(spd_of(a)), b) end, {leaf(3, 3), leaf(3, 2)}},
  ["linalg.svd"] = {function(a) local U, S, Vh = la.svd(a); return (U * U):sum() + S:sum() * 2 + (Vh * Vh * 3):sum() end, {leaf(4, 3)}},
  ["nn.binary_cross_entropy_with_logits"] = {function(a) return nn.binary_cross_entropy_with_logits(a, target) end, {leaf(3, 4)}},
  ["nn.conv2d"] = {function(x, w, b) return nn.conv2d(x, w, b, {padding = 1}) end, {leaf(1, 2, 4, 4), leaf(3, 2, 3, 3), leaf(3)}},
  ["nn.conv_transpose2d"] = {function(x, w, b) return nn.conv_transpose2d(x, w, b, {stride = 2}) end, {leaf(1, 2, 3, 3), leaf(2, 3, 2, 2), leaf(3)}},
  ["nn.cross_entropy"] = {function(a) return nn.cross_entropy(a, G.tensor({1, 4, 2})) end, {leaf(3, 4)}},
  ["nn.gmm_log_density"] = {function(x, l, m, A) return nn.gmm_log_density(x, l, m, A) end, {leaf(4, 2), leaf(3), leaf(3, 2), leaf(3, 2, 2)}},
  ["nn.linear"] = {function(x, w, b) return nn.linear(x, w, b) end, {leaf(3, 4), leaf(2, 4), leaf(2)}},
  ["nn.lstm"] = {function(x, h, c, wi, wh) return (nn.lstm(x, h, c, wi, wh)) end, {leaf(2, 3, 2), leaf(2, 2), leaf(2, 2), leaf(8, 2), leaf(8, 2)}},
  ["nn.max_pool2d"] = {function(a) return nn.max_pool2d(a, 2) end, {leaf(1, 1, 4, 4)}},
  ["nn.mse_loss"] = {function(a, b) return nn.mse_loss(a, b) end, {leaf(3, 4), leaf(3, 4)}},
  -- their own generators, so the leaves above and below keep their values
  ["nn.gaussian_kl"] = {nn.gaussian_kl, {G.randn(3, 4, {dtype = "float64", generator = G.Generator(23)}):requires_grad_(),
                                          G.randn(3, 4, {dtype = "float64", generator = G.Generator(24)}):requires_grad_()}},
  ["nn.reparameterize"] = {nn.reparameterize, {G.randn(3, 4, {dtype = "float64", generator = G.Generator(25)}):requires_grad_(),
                                                G.randn(3, 4, {dtype = "float64", generator = G.Generator(26)}):requires_grad_(),
                                                G.randn(3, 4, {dtype = "float64", generator = G.Generator(27)}):requires_grad_()}},
  ["vae.kl"] = {G.vae.kl, {G.randn(3, 4, {dtype = "float64", generator = G.Generator(21)}):requires_grad_(),
                           G.randn(3, 4, {dtype = "float64", generator = G.Generator(22)}):requires_grad_()}},
}

-- constant-valued by definition: f(x) for x that requires grad
local constant = {
  argmax = function(x) return x:argmax(2) end, argmin = function(x) return x:argmin() end,
  argsort = function(x) return x:argsort() end, eq = function(x) return x:eq(0) end,
  ne = function(x) return x:ne(0) end, lt = function(x) return x:lt(0) end,
  le = function(x) return x:le(0) end, gt = function(x) return x:gt(0) end,
  ge = function(x) return x:ge(0) end, zeros_like = G.zeros_like, ones_like = G.ones_like,
  full_like = function(x) return G.full_like(x, 2) end, rand_like = G.rand_like,
  randn_like = G.randn_like, detach = function(x) return x:detach() end,
  bernoulli = function(x) return G.bernoulli(x:sigmoid()) end,
  multinomial = function(x) return G.multinomial(x:exp():reshape(-1), 2) end,
  categorical = function(x) return G.categorical(x:softmax(2)) end,
}

-- in place: refused on a tensor that requires grad
local inplace = {
  add_ = function(x) return x:add_(1) end, sub_ = function(x) return x:sub_(1) end,
  mul_ = function(x) return x:mul_(2) end, div_ = function(x) return x:div_(2) end,
  clamp_ = function(x) return x:clamp_(0, 1) end, fill_ = function(x) return x:fill_(1) end,
  zero_ = function(x) return x:zero_() end, copy_ = function(x) return x:copy_(G.zeros(3, 4, F64)) end,
  scatter_add_ = function(x) return x:scatter_add_(1, idx, G.ones(2, 4, F64)) end,
}

-- no tensor result to differentiate: creators, queries, files, modes, tools
local other = {}
for name in ([[Generator _doc arange doc enable_grad eye full get_default_dtype get_num_threads help
  is_grad_enabled linspace load load_pt manual_seed memory no_grad normal ones permutation rand randint
  randn randperm set_default_dtype set_grad_enabled set_num_threads tensor time uniform zeros item
  totable numel size stride dim is_contiguous is_tensor backward requires_grad_ zero_grad save save_pt repr
  nn._options nn._positive_int nn.class nn.gradcheck]]):gmatch("%S+") do other[name] = true end

local function weighted(t)
  if not G.is_tensor(t) then return t end
  local r = G.randn(t:numel(), {dtype = "float64", generator = G.Generator(5)})
  return t:to("float64") * (t.ndim == 0 and r:sum() or r:reshape(t.shape))
end

describe("autograd: every op", function()
  local mt = debug.getregistry()["genlab.Tensor"]
  local seen = {}
  local function cover(prefix, t)
    for k, v in pairs(t) do
      if type(v) == "function" then seen[prefix .. k] = true end
    end
  end
  cover("", G)
  cover("", mt.__methods)
  cover("linalg.", la)
  for k, v in pairs(nn) do
    if type(v) == "function" and k:match("^[_%l]") then seen["nn." .. k] = true end
  end

  it("is in exactly one list", function()
    for name in pairs(seen) do
      local n = (diff[name] and 1 or 0) + (constant[name] and 1 or 0) + (inplace[name] and 1 or 0) +
                (other[name] and 1 or 0)
      assert.are.equal(1, n, name .. " is in " .. n .. " lists of autograd_walk_spec.lua")
    end
  end)

  it("says in each op's doc whether it is differentiable", function()
    local function doc(name)
      local mod, fn = name:match("^(%a+)%.(.+)$")
      return G.doc(mod and G[mod][fn] or G[name] or mt.__methods[name]) or ""
    end
    for name in pairs(diff) do assert.matches("ifferentiable", doc(name), 1, true) end
    for name in pairs(constant) do assert.matches("constant", doc(name), 1, true) end
    for name in pairs(inplace) do assert.matches("efused on a tensor that requires grad", doc(name), 1, true) end
  end)

  for name, case in pairs(diff) do
    it(name .. " passes gradcheck", function()
      local f, inputs = case[1], case[2]
      local out = f(table.unpack(inputs))
      assert.is_true(out.requires_grad, name .. ": the result does not require grad")
      local ok, worst = nn.gradcheck(function(...) return weighted(f(...)) end, inputs, case[3])
      assert.is_true(ok, name .. ": " .. tostring(worst))
    end)
  end

  for name, f in pairs(constant) do
    it(name .. " returns a constant", function()
      local out = f(leaf(3, 4))
      assert.is_true(G.is_tensor(out))
      assert.is_false(out.requires_grad)
    end)
  end

  for name, f in pairs(inplace) do
    it(name .. " refuses a tensor that requires grad", function()
      assert.matches("in%-place", H.err(f, leaf(3, 4)))
      G.no_grad(function() f(leaf(3, 4)) end)              -- and works outside grad mode
    end)
  end

  it("the guard stops an op that would cut its result out of the graph", function()
    -- genlab.tensor(x) copies values only: under grad mode that is the guard's case
    local x = leaf(3, 4)
    assert.matches("tensor: no gradient is defined for this operation; wrap it in no_grad or detach its input",
                   H.err(G.tensor, x))
    assert.is_false(G.tensor(x:detach()).requires_grad)
    assert.is_false(G.no_grad(function() return G.tensor(x) end).requires_grad)
    -- the issue's first example: scatter_add now records for x and src
    local y = G.scatter_add(x, 2, G.tensor({{1}, {2}, {3}}), leaf(3, 1))
    assert.is_true(y.requires_grad)
  end)
end)

describe("autograd: parity with PyTorch (tests/fixtures/torch, float64)", function()
  local function fx(case, name) return G.data.read_npy("tests/fixtures/torch/" .. case .. "." .. name .. ".npy") end
  local function close(a, b, what)
    assert.are.same(b.shape, a.shape, what)
    local err = (a - b):abs():max():item()
    assert.is_true(err <= 1e-10 * math.max(1, b:abs():max():item()), what .. ": off by " .. err)
  end

  it("linalg.inv", function()
    local A = fx("inv", "A"):requires_grad_()
    local out = la.inv(A)
    close(out:detach(), fx("inv", "out"), "inv")
    local loss = (out * fx("inv", "R")):sum()
    loss:backward()
    close(A.grad, fx("inv", "gA"), "gA")
  end)

  it("linalg.eigh, values and vectors", function()
    local X = fx("eigh", "X"):requires_grad_()
    local w, V = la.eigh(X + X:t())
    close(w:detach(), fx("eigh", "w"), "w")
    local loss = ((w * fx("eigh", "Rw")):sum() + (V * V * fx("eigh", "RV")):sum())
    loss:backward()
    close(X.grad, fx("eigh", "gX"), "gX")
  end)

  it("linalg.svd, thin", function()
    local A = fx("svd", "A"):requires_grad_()
    local U, S, Vh = la.svd(A)
    close(S:detach(), fx("svd", "S"), "S")
    local loss = ((U * U * fx("svd", "RU")):sum() + (S * fx("svd", "RS")):sum() + (Vh * Vh * fx("svd", "RV")):sum())
    loss:backward()
    close(A.grad, fx("svd", "gA"), "gA")
  end)

  it("scatter_add, both inputs", function()
    local x, src = fx("scatter_add", "x"):requires_grad_(), fx("scatter_add", "src"):requires_grad_()
    local out = x:scatter_add(1, fx("scatter_add", "idx"), src)
    close(out:detach(), fx("scatter_add", "out"), "out")
    local loss = (out * fx("scatter_add", "R")):sum()
    loss:backward()
    close(x.grad, fx("scatter_add", "gx"), "gx")
    close(src.grad, fx("scatter_add", "gsrc"), "gsrc")
  end)

  it("refuse the vectors' gradient at tied values, and say so", function()
    local D = G.eye(3, F64):requires_grad_()
    local msg = H.err(function() local _, V = la.eigh(D); (V * V):sum():backward() end)
    assert.matches("eigh: the gradient of the vectors is not defined where two values are equal", msg)
    la.eigvalsh(D):sum():backward()                        -- the values alone are fine
    close(D.grad, G.eye(3, F64), "eigvalsh at a tie")
    local Z = G.zeros(3, 2, F64):requires_grad_()
    assert.matches("zero singular value", H.err(function() local U = la.svd(Z); (U * U):sum():backward() end))
    local r = G.ones(4, 2, F64):requires_grad_()            -- rank 1
    assert.matches("full column rank", H.err(function() la.lstsq(r, G.ones(4, F64)):sum():backward() end))
  end)
end)
