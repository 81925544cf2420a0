-- Reproducers that the differential tester (tests/diff) shrank from random programs where genlab
-- and numpy or PyTorch disagreed. The expected values are numpy's (1.24) and PyTorch's (1.13)
-- for the same statements.
local G = require "genlab"

local function f64(v) return G.tensor(v, {dtype = "float64"}) end

local function near(want, got, what)
  assert.are.equal(#want, #got, what)
  for i = 1, #want do
    assert(math.abs(want[i] - got[i]) <= 1e-12 * (1 + math.abs(want[i])),
           ("%s [%d]: want %.17g, got %.17g"):format(what, i, want[i], got[i]))
  end
end

describe("assignment through an index of an expanded tensor", function()
  -- The rule is about the tensor written: x[{2}] is one row, not expanded.
  it("x[{2}] = v writes the row, which is not expanded, as x:select(1, 2):fill_(v) does", function()
    local c = f64({{1}, {2}, {3}, {4}, {5}})
    local x = c:t():expand(2, 5)
    x[{2}] = -3
    -- numpy: x = np.broadcast_to(c.T, (2, 5)) made writable; x[1, ...] = -3
    assert.are.same({{-3}, {-3}, {-3}, {-3}, {-3}}, c:totable())
  end)
  it("x[{{1}, {}}] = t writes the one row of a size-1 range", function()
    local c = f64({1, 2})
    local x = c:expand(2, 2)
    x[{{1}, {}}] = f64({5, 6})
    assert.are.same({5, 6}, c:totable())
    assert.are.same({{5, 6}, {5, 6}}, x:totable())
  end)
  it("still raises when the indexed view repeats an element", function()
    local c = f64({1, 2})
    local x = c:expand(3, 2)
    assert.has_error(function() x[{{1, 2}, {}}] = 0 end)
  end)
end)

describe("in-place ops on float32 with a float64 operand", function()
  -- numpy (same_kind casting) and PyTorch compute, then store float32.
  it("add_, sub_, mul_, div_ of a float64 tensor cast the result to float32", function()
    local a = G.tensor({1, 2, 3}, {dtype = "float32"})
    a:add_(f64({0.5, 0.5, 0.5}))
    assert.are.same({1.5, 2.5, 3.5}, a:totable())
    a:sub_(f64({0.5, 0.5, 0.5}))
    a:mul_(f64({2, 2, 2}))
    a:div_(f64({4, 4, 4}))
    assert.are.same({0.5, 1, 1.5}, a:totable())
    assert.are.equal("float32", a.dtype)
  end)
  it("a float64 scalar tensor too", function()
    local a = G.tensor({1, 2, 3}, {dtype = "float32"})
    a:mul_(f64(2))
    assert.are.same({2, 4, 6}, a:totable())
  end)
end)

describe("prod's gradient where an entry is 0", function()
  -- d/dx_i prod(x) = prod of the others, also where x_i = 0 (PyTorch's answer).
  it("one zero: its gradient is the product of the rest, the others get 0", function()
    for _, case in ipairs({{{0, 2}, {2, 0}}, {{2, 0, 3}, {0, 6, 0}}, {{0, 0, 3}, {0, 0, 0}}}) do
      local w = f64(case[1]):requires_grad_()
      w:prod():backward()
      assert.are.same(case[2], w.grad:totable(), table.concat(case[1], ","))
    end
  end)
  it("along a dim", function()
    local w = f64({{0, 2}, {3, 4}}):requires_grad_()
    w:prod(2):sum():backward()
    assert.are.same({{2, 0}, {4, 3}}, w.grad:totable())
  end)
end)

describe("clamp's gradient outside [min, max]", function()
  -- PyTorch selects (where) rather than multiplies by a 0/1 mask, so an infinite incoming
  -- gradient still gives 0 where the input was clamped.
  it("is 0 even where the incoming gradient is infinite", function()
    local w = f64({-1, 0.5, 3}):requires_grad_()
    local y = (1 / f64({0, 1, 0})) * w:clamp(0, 1)
    y:sum():backward()
    assert.are.same({0, 1, 0}, w.grad:totable())
  end)
end)

-- PyTorch saves what a rule reads: exp, sigmoid, tanh and relu their result, abs and square
-- their input, neg nothing, mul and matmul an operand only for the other's gradient, max/min
-- along a dim the indices. A change to anything else is legal, and the gradient is that of the values
-- at the forward. genlab refuses these backward passes ("a tensor saved by exp ... was modified
-- in place").
describe("backward after a change to a tensor that the rule does not read", function()
  local function w() return f64({0.5, -1, 2}):requires_grad_() end
  local function bump(x, f) G.no_grad(function() f(x) end) end
  it("exp, sigmoid, tanh: the input changed after the forward", function()
    local x = w()
    local y = x:exp()
    bump(x, function(t) t:add_(1) end)
    y:sum():backward()
    near({math.exp(0.5), math.exp(-1), math.exp(2)}, x.grad:totable(), "exp")
    x = w()
    y = x:sigmoid()
    bump(x, function(t) t:add_(1) end)
    y:sum():backward()
    near({0.2350037122015945, 0.19661193324148185, 0.10499358540350662}, x.grad:totable(),
         "sigmoid")
    x = w()
    y = x:tanh()
    bump(x, function(t) t:add_(1) end)
    y:sum():backward()
    near({0.7864477329659274, 0.41997434161402614, 0.07065082485316443}, x.grad:totable(), "tanh")
  end)
  it("relu: the input changed after the forward", function()
    local x = w()
    local y = x:relu()
    bump(x, function(t) t:mul_(-1) end)
    y:sum():backward()
    assert.are.same({1, 0, 1}, x.grad:totable())
  end)
  it("abs, square, neg: the result changed through detach()", function()
    local x = w()
    local y = x:abs()
    y:detach():zero_()
    y:sum():backward()
    assert.are.same({1, -1, 1}, x.grad:totable())
    x = w()
    y = x:square()
    y:detach():mul_(2)
    y:sum():backward()
    assert.are.same({1, -2, 4}, x.grad:totable())
    x = w()
    y = x:neg()
    y:detach():mul_(2)
    y:sum():backward()
    assert.are.same({-1, -1, -1}, x.grad:totable())
  end)
  it("mul by a constant: the operand that requires grad changed (its gradient is the constant)",
     function()
    local x = w()
    local y = x * f64({1, 2, 3})
    bump(x, function(t) t:zero_() end)
    y:sum():backward()
    assert.are.same({1, 2, 3}, x.grad:totable())
    x = w()
    y = G.mul(x:view(-1, 1), f64({1, 2, 3}):sum(1, true))
    bump(x, function(t) t:zero_() end)
    y:sum():backward()
    assert.are.same({6, 6, 6}, x.grad:totable())
  end)
  it("matmul with a constant: the operand that requires grad changed", function()
    local x = w()
    local y = x:matmul(f64({1, 2, 3}))
    bump(x, function(t) t:zero_() end)
    y:backward()
    assert.are.same({1, 2, 3}, x.grad:totable())
  end)
  it("max along a dim: the input changed after the forward", function()
    local x = w()
    local v = x:max(1)
    bump(x, function(t) t:zero_() end)
    v:backward()
    assert.are.same({0, 0, 1}, x.grad:totable())
  end)
end)
