-- genlab.linalg through Lua, in float64 against closed forms (tolerance
-- 1e-10) and float32 (1e-4), plus the messages of failures.
local G = require "genlab"
local linalg = G.linalg
local f64 = {dtype = "float64"}

local function maxdiff(a, b) return (a - b):abs():max():item() end

local H = dofile("tests/lua/helpers.lua")
local err = H.err

local function spd(n, batch)
  local a = batch and G.randn(batch, n, n, f64) or G.randn(n, n, f64)
  return a:matmul(a:transpose(-1, -2)) + G.eye(n, f64) * n
end

describe("linalg", function()
  before_each(function() G.manual_seed(5) end)

  it("eigh: ascending eigenvalues, A = V diag(w) V^T", function()
    local A = G.tensor({{2, 1, 0}, {1, 2, 0}, {0, 0, 5}}, f64)
    local w, V = linalg.eigh(A)
    assert.is_true(maxdiff(w, G.tensor({1, 3, 5}, f64)) < 1e-10)
    assert.is_true(maxdiff((V * w):matmul(V:t()), A) < 1e-10)
  end)

  it("eigh is batched", function()
    local A = spd(4, 3)
    local w, V = linalg.eigh(A)
    assert.are.same({3, 4}, w.shape)
    local R = (V * w:unsqueeze(2)):matmul(V:transpose(2, 3))
    assert.is_true(maxdiff(R, A) < 1e-10)
  end)

  it("cholesky round-trips and names the failing minor", function()
    local A = spd(5, 2)
    local L = linalg.cholesky(A)
    assert.is_true(maxdiff(L:matmul(L:transpose(2, 3)), A) < 1e-10)
    assert.are.equal(0, L[1][1][5])
    local U = linalg.cholesky(A, {upper = true})
    assert.is_true(maxdiff(U, L:transpose(2, 3)) < 1e-12)
    local bad = G.tensor({{1, 2}, {2, 1}}, f64)
    assert.matches("linalg_spec.lua:%d+: cholesky: matrix is not positive definite %(leading minor 2 of 2%)",
                   err(function() return linalg.cholesky(bad) end))
  end)

  it("solve, solve_triangular, cholesky_solve leave small residuals", function()
    local A, B = spd(6), G.randn(6, 2, f64)
    assert.is_true(maxdiff(A:matmul(linalg.solve(A, B)), B) < 1e-10)
    local b = G.randn(6, f64)
    local x = linalg.solve(A, b)
    assert.are.same({6}, x.shape)
    assert.is_true(maxdiff(A:mv(x), b) < 1e-10)
    local L = linalg.cholesky(A)
    assert.is_true(maxdiff(L:matmul(linalg.solve_triangular(L, B)), B) < 1e-10)
    assert.is_true(maxdiff(L:t():matmul(linalg.solve_triangular(L:t(), B, {upper = true})), B) < 1e-10)
    assert.is_true(maxdiff(A:matmul(linalg.cholesky_solve(B, L)), B) < 1e-10)
    assert.matches("solve: matrix is singular", err(function() return linalg.solve(G.ones(3, 3, f64), G.ones(3, f64)) end))
    assert.matches("A %(3x3%) and B %(4%) do not fit", err(function() return linalg.solve(spd(3), G.ones(4, f64)) end))
  end)

  it("slogdet of a product is the sum", function()
    local A, B = G.randn(5, 5, f64), G.randn(5, 5, f64)
    local sa, la = linalg.slogdet(A)
    local sb, lb = linalg.slogdet(B)
    local sab, lab = linalg.slogdet(A:matmul(B))
    assert.is_true(math.abs(lab:item() - la:item() - lb:item()) < 1e-10)
    assert.are.equal(sa:item() * sb:item(), sab:item())
    local s0, l0 = linalg.slogdet(G.zeros(3, 3, f64))
    assert.are.equal(0, s0:item())
    assert.are.equal(-math.huge, l0:item())
  end)

  it("inv, svd, lstsq", function()
    local A = spd(4)
    assert.is_true(maxdiff(A:matmul(linalg.inv(A)), G.eye(4, f64)) < 1e-10)
    local M = G.randn(7, 3, f64)
    local U, S, Vh = linalg.svd(M)
    assert.are.same({7, 3}, U.shape)
    assert.is_true(maxdiff((U * S):matmul(Vh), M) < 1e-10)
    -- a matrix with a zero-size side has no singular values; its full
    -- square factors are the identity (numpy), not memory left unwritten
    for _, dt in ipairs{"float64", "float32"} do
      for _ = 1, 20 do G.full({2, 3, 3}, 7, {dtype = dt}) end
      collectgarbage()
      local U0, S0, V0 = linalg.svd(G.zeros(2, 0, 3, {dtype = dt}), {full_matrices = true})
      assert.are.same({{2, 0, 0}, {2, 0}, {2, 3, 3}}, {U0.shape, S0.shape, V0.shape})
      assert.are.same(G.eye(3, {dtype = dt}):expand(2, 3, 3):totable(), V0:totable())
      local U1 = linalg.svd(G.zeros(3, 0, {dtype = dt}), {full_matrices = true})
      assert.are.same(G.eye(3, {dtype = dt}):totable(), U1:totable())
    end
    local x = G.linspace(0, 1, 11, f64)
    local D = G.stack({x, G.ones(11, f64)}, 2)
    local coef = linalg.lstsq(D, x * 3 + 0.5)
    assert.is_true(maxdiff(coef, G.tensor({3, 0.5}, f64)) < 1e-10)
  end)

  it("works in float32 to 1e-4", function()
    local a = G.randn(8, 8)
    local A = a:matmul(a:t()) + G.eye(8) * 8
    local L = linalg.cholesky(A)
    assert.are.equal("float32", L.dtype)
    assert.is_true(maxdiff(L:matmul(L:t()), A) / 8 < 1e-4)
  end)
end)
