-- A two-minute tour of genlab, run by `make demo` (the course exercises will
-- take its place).  Run it yourself: ./genlab scripts/tour.lua
local G = require "genlab"
local linalg = G.linalg

local function step(title) io.write("\n== ", title, " ==\n") end
local function clock(f)
  local t0 = G.time()
  local r = table.pack(f())
  return G.time() - t0, table.unpack(r, 1, r.n)
end

G.manual_seed(0)
print(("genlab %s: %d BLAS threads"):format(G.version, G.get_num_threads()))

step("tensors print like numpy; indices are 1-based")
local x = G.arange(12):reshape(3, 4)
print(x)
print("x[2][3] =", x[2][3], " x[{{}, 2}] =", x[{{}, 2}]:totable()[3], "(third entry of column 2)")

step("broadcasting: centre the columns of a (3x4) matrix")
print(x - x:mean(1))

step("a Gaussian from samples (Problem Set 1, 1.1a in miniature)")
-- true covariance with a known spectrum: Q diag(4, 1, 0.25) Q^T
local _, V = linalg.eigh(G.tensor({{2, 1, 0}, {1, 2, 1}, {0, 1, 2}}, {dtype = "float64"}))
local Sigma = (V * G.tensor({4, 1, 0.25}, {dtype = "float64"})):matmul(V:t())
local L = linalg.cholesky(Sigma)
local N = 200000
local X = G.randn(N, 3, {dtype = "float64"}):matmul(L:t()) + G.tensor({1, -2, 0.5}, {dtype = "float64"})
local mu = X:mean(1)
local Xc = X - mu
local C = Xc:t():matmul(Xc) / (N - 1)
print("sample mean      ", mu)
print(("closed-form MLE covariance (%d samples), max error %.3g:"):format(N, (C - Sigma):abs():max():item()))
print(C)
local w, E = linalg.eigh(C)
print("eigenvalues (ascending, as numpy); true values 0.25, 1, 4:", w)

step("sampling x = mu + V D^(1/2) z, the seed's Eq. 2")
local Z = G.randn(5, 3, {dtype = "float64"})
print((Z * w:sqrt()):matmul(E:t()) + mu)

step("log-density through Cholesky, no inverse and no det()")
local Lc = linalg.cholesky(C)
local d = linalg.solve_triangular(Lc, Xc:narrow(1, 1, 4):t()):t()      -- (4x3) whitened
local logdet = 2 * Lc:diagonal():log():sum():item()
local logp = d:square():sum(2) * -0.5 - 0.5 * (3 * math.log(2 * math.pi) + logdet)
print("log p(x) of the first four samples:", logp)

step("BLAS speed")
for _, n in ipairs({256, 1024}) do
  local a, b = G.randn(n, n), G.randn(n, n)
  a:matmul(b)
  local t = clock(function() return a:matmul(b) end)
  print(("float32 %4d^3 matmul: %7.1f GFLOP/s"):format(n, 2 * n ^ 3 / t / 1e9))
end

step("help")
G.help(linalg.eigh)
print("\nNext: ./genlab for the REPL (help() lists everything), bindings/API.md for the reference.")
