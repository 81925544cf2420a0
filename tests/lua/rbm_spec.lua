-- models.RBM (seed 004 problem 4): the free energy against the sum over the
-- hidden states, the CD direction against central differences of the free
-- energy, the update against that direction, the exact log Z against brute
-- force over all (v, h), Gibbs samples against the exact p(v), AIS against
-- the exact log Z of a trained 784 x 16 RBM, bit-for-bit reproducibility,
-- and checkpoints read back by PyTorch and by a stdlib-only reader.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local M = G.models
local F64 = {dtype = "float64"}

local function have(cmd) local _, rc = H.sh(cmd) return rc == 0 end
local PY = have("/usr/bin/python3 -c 'import zipfile'") and "/usr/bin/python3"
local TORCH = have("/usr/bin/python3 -c 'import torch, numpy'") and "/usr/bin/python3"

local function maxdiff(a, b) return (a - b):abs():max():item() end

-- A small float64 RBM with non-zero biases.
local function tiny(nv, nh, seed)
  local g = G.Generator(seed)
  local r = M.RBM(nv, nh, {dtype = "float64", generator = g, std = 0.7})
  r.b = G.randn(nv, {dtype = "float64", generator = g}) * 0.5
  r.c = G.randn(nh, {dtype = "float64", generator = g}) * 0.5
  return r
end

-- bit i of s as a number
local function bit(s, i) return (s >> (i - 1)) & 1 end

-- -E(v, h) for integer-coded states
local function neg_energy(r, v, h)
  local e = 0
  for i = 1, r.nv do
    if bit(v, i) == 1 then
      e = e + r.b[i]
      for j = 1, r.nh do e = e + bit(h, j) * r.W[i][j] end
    end
  end
  for j = 1, r.nh do e = e + bit(h, j) * r.c[j] end
  return e
end

local function logsumexp(xs)
  local mx = -math.huge
  for _, x in ipairs(xs) do mx = math.max(mx, x) end
  local s = 0
  for _, x in ipairs(xs) do s = s + math.exp(x - mx) end
  return mx + math.log(s)
end

-- (2^n, n) tensor of all binary states, row s + 1 = the bits of s
local function all_states(n)
  local rows = {}
  for s = 0, (1 << n) - 1 do
    local row = {}
    for i = 1, n do row[i] = bit(s, i) end
    rows[#rows + 1] = row
  end
  return G.tensor(rows, F64)
end

describe("models.RBM: energies", function()
  local r = tiny(8, 6, 1)

  it("free_energy is -log sum_h exp(-E(v, h)) to 1e-12 (all 256 v)", function()
    local V = all_states(8)
    local F = r:free_energy(V)
    for v = 0, 255, 17 do
      local terms = {}
      for h = 0, 63 do terms[#terms + 1] = neg_energy(r, v, h) end
      local want = -logsumexp(terms)
      assert.is_true(math.abs(F[v + 1] - want) < 1e-12, string.format("v = %d: %.15g vs %.15g", v, F[v + 1], want))
    end
  end)

  it("float32 0/1 rows (sums of W's rows) give the float64 free energy, as the GEMM's rows do", function()
    -- nh = 100: a block of 64 columns, two of 16, four single ones; 70 rows: three blocks
    local big = tiny(200, 100, 5)
    local r32 = M.RBM(200, 100, {dtype = "float32"})
    r32.W, r32.b, r32.c = big.W:float(), big.b:float(), big.c:float()
    local V = G.rand(70, 200, {generator = G.Generator(6)}):lt(0.13):double()
    local want = big:free_energy(V)
    local ones = r32:free_energy(V:float()):double()             -- every row by its ones
    local mixed = V:clone()
    mixed[41] = G.full({200}, 0.5, F64)                          -- from row 41 on, the GEMM
    local gemm_rows = r32:free_energy(mixed:float()):double()
    local tol = 2e-6 * want:abs():max():item()
    assert.is_true(maxdiff(ones, want) < tol, string.format("%.3g", maxdiff(ones, want)))
    local keep = G.cat({G.arange(1, 41), G.arange(42, 71)}, 1)
    assert.is_true(maxdiff(gemm_rows:index_select(1, keep), want:index_select(1, keep)) < tol)
    assert.is_true(math.abs(gemm_rows[41] - big:free_energy(mixed:narrow(1, 41, 1))[1]) < tol)
  end)

  it("free_energy stays finite and exact for inputs of size 1e4 (softplus(x) = x there)", function()
    local V = G.full({3, 8}, 1e4, F64)
    V[2] = G.full({8}, -1e4, F64)
    local F = r:free_energy(V)
    local A = V:matmul(r.W) + r.c
    local want = -(V:matmul(r.b:reshape(8, 1)):reshape(3)) - A:clamp(0, math.huge):sum(2)
    assert.is_true(maxdiff(F, want) < 1e-9 * 1e4)
  end)

  it("log_partition_exact equals brute force over all (v, h): 8x6 and 5x9 (the visible side summed)", function()
    for _, shape in ipairs{{8, 6, 2}, {5, 9, 3}} do
      local q = tiny(shape[1], shape[2], shape[3])
      local terms = {}
      for v = 0, (1 << q.nv) - 1 do
        for h = 0, (1 << q.nh) - 1 do terms[#terms + 1] = neg_energy(q, v, h) end
      end
      local want = logsumexp(terms)
      local got = q:log_partition_exact()
      assert.is_true(math.abs(got - want) < 1e-11, string.format("%dx%d: %.15g vs %.15g", q.nv, q.nh, got, want))
    end
  end)

  it("independent_log_likelihood is sum_i log Bernoulli(v_i; p_i), and an RBM with W = 0 and b = base_rates", function()
    local g = G.Generator(5)
    local X = G.rand(50, 7, {dtype = "float64", generator = g}):lt(0.3):double()
    local V = G.rand(9, 7, {dtype = "float64", generator = g}):lt(0.4):double()
    local mean, rows = M.RBM.independent_log_likelihood(X, V)
    local total = 0
    for n = 1, 9 do
      local lp = 0
      for i = 1, 7 do
        local p = (X[{{}, i}]:sum():item() + 1) / (50 + 2)
        lp = lp + (V[n][i] == 1 and math.log(p) or math.log(1 - p))
      end
      assert.is_true(math.abs(rows[n] - lp) < 1e-12, ("row %d: %.15g vs %.15g"):format(n, rows[n], lp))
      total = total + lp
    end
    assert.is_true(math.abs(mean - total / 9) < 1e-12)
    local q = M.RBM(7, 3, {dtype = "float64"})
    q.W, q.b = G.zeros(7, 3, F64), M.RBM.base_rates(X):double()
    local ll = q:log_likelihood(V, {logZ = q:log_partition_exact()})
    assert.is_true(math.abs(ll - mean) < 1e-12, ("%.15g vs %.15g"):format(ll, mean))
    assert.matches("X's nv columns", H.err(M.RBM.independent_log_likelihood, X, G.zeros(2, 5)))
  end)

  it("log_partition_exact refuses more than 24 units on both sides", function()
    local big = M.RBM(30, 25)
    assert.matches("2%^25 states, and is done only for a layer of at most 24 units %(use AIS%)",
                   H.err(big.log_partition_exact, big))
  end)
end)

describe("models.RBM: CD-k", function()
  local r = tiny(7, 5, 4)
  local g = G.Generator(9)
  local V0 = G.rand(6, 7, {dtype = "float64", generator = g}):lt(0.5):to("float64")
  local Vk = G.rand(6, 7, {dtype = "float64", generator = g}):lt(0.4):to("float64")

  -- the CD objective: mean F(V0) - mean F(Vk) at fixed Vk
  local function objective(q) return q:free_energy(V0):mean():item() - q:free_energy(Vk):mean():item() end

  it("grad writes its results whatever the memory it is given held (a block cache full of NaN)", function()
    local nv = 9000                          -- b of 72 KB: its storage comes from the block cache
    local big = G.models.RBM(nv, 2, {seed = 1, dtype = "float64"})
    local V = G.rand(4, nv, {dtype = "float64", generator = G.Generator(3)}):gt(0.5):double()
    local Vk = G.zeros(4, nv, {dtype = "float64"})
    for _ = 1, 8 do local t <close> = G.full({nv}, 0 / 0, {dtype = "float64"}) end
    local _, gb, gc = big:grad(V, Vk)
    assert.are.equal(0, gb:ne(gb):sum():item())                -- no NaN
    assert.are.equal(0, (gb - V:mean(1)):abs():max():item())   -- sum V0 - sum Vk over B, Vk = 0
    assert.are.equal(0, gc:ne(gc):sum():item())
  end)

  it("grad is minus the central difference of mean F(V0) - mean F(Vk), to 1e-8", function()
    local gW, gb, gc = r:grad(V0, Vk)
    local h = 1e-5
    for _, p in ipairs{{"W", gW}, {"b", gb}, {"c", gc}} do
      local t, gt = r[p[1]], p[2]
      local flat, gflat = t:reshape(-1), gt:reshape(-1)
      for i = 1, flat.shape[1] do
        local x = flat[i]
        flat[i] = x + h
        local up = objective(r)
        flat[i] = x - h
        local down = objective(r)
        flat[i] = x
        local fd = -(up - down) / (2 * h)
        assert.is_true(math.abs(fd - gflat[i]) < 1e-8, string.format("%s[%d]: %.10g vs %.10g", p[1], i, gflat[i], fd))
      end
    end
  end)

  it("cd_step moves W, b, c by lr times grad(V, its negative samples); momentum and weight decay as documented", function()
    local q = tiny(7, 5, 4)
    local W0, b0, c0 = q.W:clone(), q.b:clone(), q.c:clone()
    local _, Vs = q:cd_step(V0, 3, {lr = 0.1, samples = true, generator = G.Generator(1)})
    local gW, gb, gc = tiny(7, 5, 4):grad(V0, Vs)
    assert.is_true(maxdiff(q.W - W0, gW * 0.1) < 1e-15)
    assert.is_true(maxdiff(q.b - b0, gb * 0.1) < 1e-15)
    assert.is_true(maxdiff(q.c - c0, gc * 0.1) < 1e-15)
    -- two steps with momentum 0.5 and weight decay 0.01: vel = 0.5 vel + lr (g - wd W)
    local m = tiny(7, 5, 4)
    local vel = G.zeros_like(m.W)
    for s = 1, 2 do
      local Wb = m.W:clone()
      local before = M.RBM(7, 5, F64):load_state_dict(m:state_dict())
      local _, Vn = m:cd_step(V0, 2, {lr = 0.1, momentum = 0.5, weight_decay = 0.01, samples = true,
                                      generator = G.Generator(s)})
      local gWn = before:grad(V0, Vn)
      vel = vel * 0.5 + (gWn - Wb * 0.01) * 0.1
      assert.is_true(maxdiff(m.W - Wb, vel) < 1e-15, "step " .. s)
    end
  end)

  it("CD-k's negative samples are binary, and the reconstruction error is the one-step one", function()
    local q = tiny(7, 5, 4)
    local rec, Vs = q:cd_step(V0, 1, {lr = 0, samples = true, generator = G.Generator(3)})
    assert.are.equal(0, (Vs * (Vs - 1)):abs():max():item())
    -- with lr = 0, the mean over many draws of h0 of sum (v0 - p(v | h0))^2 is E[recon]:
    -- exact by summing over h0 for this 5-unit hidden layer
    local want = 0
    local P0 = q:hidden_probs(V0)
    local Hs = all_states(5)
    local PV = (Hs:matmul(q.W:t()) + q.b):sigmoid()                   -- (32, 7)
    for n = 1, 6 do
      local ph = (Hs * P0[n] + (Hs * -1 + 1) * (P0[n] * -1 + 1)):log():sum(2):exp()   -- p(h | v0_n)
      local d = ((PV - V0[n]) ^ 2):sum(2)
      want = want + (ph * d):sum():item() / 6
    end
    local mean = 0
    for s = 1, 400 do mean = mean + q:cd_step(V0, 1, {lr = 0, generator = G.Generator(100 + s)}) / 400 end
    assert.is_true(math.abs(mean - want) < 0.05 * want, string.format("%.4f vs %.4f", mean, want))
    assert.is_true(rec > 0)
  end)

  it("persistent chains carry over between steps and need the batch's shape", function()
    local q = tiny(7, 5, 4)
    q:cd_step(V0, 1, {persistent = true, lr = 0.01})
    local first = q.chain:clone()
    q:cd_step(V0, 1, {persistent = true, lr = 0.01})
    assert.is_true(maxdiff(first, q.chain) > 0)
    assert.are.equal(0, (q.chain * (q.chain - 1)):abs():max():item())
    assert.matches("models._rbm_cd_step: give all of vW, vb and vc", H.err(M._rbm_cd_step, V0, q.W, q.b, q.c, {vW = q.W}))
  end)

  it("float32 chains' visible means: sums of W^T's rows in order at most half ones, the GEMM above", function()
    -- hidden biases of +-1000 fix every hidden state to the set `on`; the
    -- visible means are then sigmoid(W[:, on] summed + b) in all 70 rows
    local function f32(x) return (string.unpack("f", string.pack("f", x))) end
    for _, case in ipairs{{200, 100, 30}, {200, 100, 50}, {200, 100, 80}, {70, 600, 200}, {70, 600, 450}} do
      local nv, nh, n_on = case[1], case[2], case[3]
      local big = tiny(nv, nh, 7)
      local on = G.randperm(nh, {generator = G.Generator(nh + n_on)}):narrow(1, 1, n_on)
      local Hs = G.zeros(nh, F64)
      for i = 1, n_on do Hs[math.tointeger(on[i])] = 1 end
      big.c = Hs * 2000 - 1000
      local r32 = M.RBM(nv, nh, {dtype = "float32"})
      r32.W, r32.b, r32.c = big.W:float(), big.b:float(), big.c:float()
      local V0 = G.rand(70, nv, {generator = G.Generator(8)}):lt(0.3):float()
      local _, PV = r32:gibbs(V0, 2, {generator = G.Generator(9)})
      local what = string.format("%d x %d, %d on", nv, nh, n_on)
      local want = (big.W:matmul(Hs) + big.b):sigmoid():reshape(1, nv):expand(70, nv)
      assert.is_true(maxdiff(PV:double(), want) < 2e-7 + 1e-8 * n_on, what)   -- float32's n_on roundings
      if 2 * n_on <= nh then
        -- each mean adds its row's weights in float32 from zero, hidden unit by unit
        local W, sums = r32.W, {}
        for i = 1, nv do
          local acc = 0.0
          for j = 1, nh do if Hs[j] == 1 then acc = f32(acc + W[i][j]) end end
          sums[i] = acc
        end
        local exact = (G.tensor(sums, {dtype = "float32"}) + r32.b):sigmoid():reshape(1, nv):expand(70, nv)
        assert.are.equal(0, maxdiff(PV, exact), what)
      end
    end
  end)

  it("float32 chains draw from one xoshiro256++ per row, 24 bits a uniform, two to a word (a Lua xoshiro)", function()
    local function splitmix(x)
      x = x + 0x9e3779b97f4a7c15
      local z = x
      z = (z ~ (z >> 30)) * 0xbf58476d1ce4e5b9
      z = (z ~ (z >> 27)) * 0x94d049bb133111eb
      return x, z ~ (z >> 31)
    end
    local function seeded(seed)
      local s = {}
      for i = 1, 4 do seed, s[i] = splitmix(seed) end
      return s
    end
    local function rotl(x, k) return (x << k) | (x >> (64 - k)) end
    local function next_word(s)
      local result = rotl(s[1] + s[4], 23) + s[1]
      local t = s[2] << 17
      s[3] = s[3] ~ s[1]; s[4] = s[4] ~ s[2]; s[2] = s[2] ~ s[3]; s[1] = s[1] ~ s[4]
      s[3] = s[3] ~ t; s[4] = rotl(s[4], 45)
      return result
    end
    -- 70 rows (blocks of 32, 32 and 6: lanes of 8 and a last 6), 203 visible
    -- and 100 hidden units (tails of 11 and 4 after the 16s); then rows and
    -- units below one vector or one lane group.  Hidden biases of +-1000 make
    -- h certain, so each row's first ceil(nh / 2) words go to h, the next to v
    for _, case in ipairs{{203, 100, 70}, {5, 3, 9}, {17, 1, 1}, {33, 7, 8}} do
      local nv, nh, N = case[1], case[2], case[3]
      local big = tiny(nv, nh, 3)
      big.c = (G.rand(nh, {generator = G.Generator(4)}):lt(0.3):double() * 2 - 1) * 1000
      local r32 = M.RBM(nv, nh, {dtype = "float32"})
      r32.W, r32.b, r32.c = big.W:float(), big.b:float(), big.c:float()
      local V0 = G.rand(N, nv, {generator = G.Generator(5)}):lt(0.3):float()
      local Vk, PV = r32:gibbs(V0, 1, {generator = G.Generator(9)})
      local base = next_word(seeded(9))
      local wrong = 0
      for r = 1, N do
        local s = seeded(base + (r - 1))
        for _ = 1, (nh + 1) // 2 do next_word(s) end
        local x
        for i = 1, nv do
          if i % 2 == 1 then x = next_word(s) end
          local u = (i % 2 == 1 and x >> 40 or (x >> 8) & 0xFFFFFF) * 2.0 ^ -24
          if (u < PV[r][i] and 1 or 0) ~= Vk[r][i] then wrong = wrong + 1 end
        end
      end
      assert.are.equal(0, wrong, string.format("%d x %d, %d rows", nv, nh, N))
    end
  end)

  it("Gibbs chains sample p(v) = e^-F(v) / Z: total variation under 0.02 over 2^6 states", function()
    local q = tiny(6, 4, 5)
    local logZ = q:log_partition_exact()
    local S = all_states(6)
    local p = (q:free_energy(S):neg() - logZ):exp()
    assert.is_true(math.abs(p:sum():item() - 1) < 1e-12)
    local n = 20000
    local Vk = q:gibbs(G.zeros(n, 6, F64), 30, {generator = G.Generator(6)})
    local code = Vk:matmul(G.tensor({1, 2, 4, 8, 16, 32}, F64):reshape(6, 1)):reshape(n)
    local counts = {}
    for i = 1, n do local c = math.tointeger(code[i]) counts[c] = (counts[c] or 0) + 1 end
    local tv = 0
    for s = 0, 63 do tv = tv + math.abs((counts[s] or 0) / n - p[s + 1]) / 2 end
    assert.is_true(tv < 0.02, string.format("total variation %.4f", tv))
  end)

  it("at temperature T the chains sample p(v)^(1/T) up to Z: exact from W, b, c divided by T", function()
    local q, T = tiny(6, 4, 5), 2.5
    local hot = G.models.RBM(6, 4, {dtype = "float64"})
    hot.W, hot.b, hot.c = q.W / T, q.b / T, q.c / T
    local S = all_states(6)
    local pT = (hot:free_energy(S):neg() - hot:log_partition_exact()):exp()
    local p1 = (q:free_energy(S):neg() - q:log_partition_exact()):exp()
    local n = 80000                     -- a flatter p: sampling alone gives a total variation near 0.008
    local Vk = q:gibbs(G.zeros(n, 6, F64), 30, {generator = G.Generator(6), temperature = T})
    local code = Vk:matmul(G.tensor({1, 2, 4, 8, 16, 32}, F64):reshape(6, 1)):reshape(n)
    local counts = {}
    for i = 1, n do local c = math.tointeger(code[i]) counts[c] = (counts[c] or 0) + 1 end
    local tv, apart = 0, 0
    for s = 0, 63 do
      tv = tv + math.abs((counts[s] or 0) / n - pT[s + 1]) / 2
      apart = apart + math.abs(p1[s + 1] - pT[s + 1]) / 2
    end
    assert.is_true(tv < 0.02, string.format("total variation %.4f", tv))
    assert.is_true(apart > 0.1, string.format("T = 1 and T = %g are only %.3f apart", T, apart))  -- the test can fail
    assert.matches("temperature must be a positive number, got 0", H.err(q.gibbs, q, Vk, 1, {temperature = 0}))
    assert.matches("temperature must be a positive number", H.err(q.sample, q, 2, {temperature = -1}))
  end)

  it("one seed gives the same model bit for bit, whatever the thread count", function()
    local X = G.data.mnist{flat = true, binarize = true, limit = 640}
    local function train(threads)
      local before = G.get_num_threads()
      G.set_num_threads(threads)
      local q = M.RBM(784, 64, {seed = 2025})
      q:fit(X, {k = 2, epochs = 1, batch = 64, momentum = 0.5})
      G.set_num_threads(before)
      return q
    end
    local a, b, c = train(2), train(2), train(1)
    assert.are.equal(0, maxdiff(a.W, b.W))
    assert.are.equal(0, maxdiff(a.W, c.W))
    assert.are.equal(0, maxdiff(a.c, c.c))
    assert.is_true(maxdiff(a.W, M.RBM(784, 64, {seed = 2025}).W) > 0)
  end)

  it("names the shapes that do not fit", function()
    local q = M.RBM(784, 16)
    assert.matches("RBM:free_energy: points must be %(N, 784%), one row per image, got %(5x10%)",
                   H.err(q.free_energy, q, G.zeros(5, 10)))
    assert.matches("points are float64, the RBM float32", H.err(q.free_energy, q, G.zeros(5, 784, F64)))
    assert.matches("k must be a positive integer, got 0", H.err(q.cd_step, q, G.zeros(4, 784), 0))
    assert.matches("need a finite lr, 0 <= momentum < 1", H.err(q.cd_step, q, G.zeros(4, 784), 1, {momentum = 1}))
    assert.matches("unknown option 'steps'", H.err(q.cd_step, q, G.zeros(4, 784), 1, {steps = 2}))
    assert.matches("log Z is unknown: run rbm:ais%(%)", H.err(q.log_likelihood, q, G.zeros(4, 784)))
    -- the core's errors name the caller's line, not the binding's
    assert.matches("^tests/lua/rbm_spec.lua:%d+: rbm.cd_step: the batch is empty",
                   H.err(function() q:cd_step(G.zeros(0, 784), 1) end))
    assert.matches("RBM:load_state_dict: W: checkpoint has %(784x8%), model has %(784x16%)",
                   H.err(q.load_state_dict, q, {W = G.zeros(784, 8), b = G.zeros(784), c = G.zeros(16)}))
  end)
end)

describe("models.RBM: AIS and checkpoints on MNIST", function()
  local X = G.data.mnist{flat = true, binarize = true, limit = 3000}:to("float64")
  local r = M.RBM(784, 16, {seed = 7, dtype = "float64"})
  r:fit(X, {k = 1, epochs = 10, batch = 64, lr = 0.01})

  it("AIS is within 0.5 nats of the exact log Z of a trained 784x16 RBM, and 3 s.e. cover it", function()
    local exact = r:log_partition_exact()
    local logZ, se, logw = r:ais{runs = 100, betas = 10000, data = X, generator = G.Generator(11)}
    assert.are.equal(100, logw.shape[1])
    assert.is_true(math.abs(logZ - exact) < 0.5, string.format("AIS %.4f vs exact %.4f", logZ, exact))
    assert.is_true(math.abs(logZ - exact) < 3 * se + 1e-3, string.format("AIS %.4f +- %.4f vs exact %.4f", logZ, se, exact))
    -- the training images are likelier under the RBM than under uniform pixels (-784 log 2)
    local ll, rows = r:log_likelihood(X)
    assert.is_true(ll < 0 and ll > -784 * math.log(2) + 100, "log-likelihood " .. ll)
    assert.is_true(math.abs(rows[1] + r:free_energy(X:narrow(1, 1, 1))[1] + logZ) < 1e-9)
  end)

  it("save_pt reads back in genlab, in PyTorch (strict) and in a stdlib reader: free energies to 1e-5", function()
    local q = M.RBM(784, 16, {seed = 7})
    q:load_state_dict(r:state_dict())
    local V = G.data.mnist{flat = true, binarize = true, split = "test", limit = 100}
    local F = q:free_energy(V)
    local pt, npy = H.tmpname(".pt"), H.tmpname(".npy")
    G.save_pt(pt, q:state_dict())
    G.data.write_npy(npy, V)
    local back = M.RBM(784, 16):load_state_dict(G.load_pt(pt))
    assert.are.equal(0, maxdiff(back:free_energy(V), F))
    local ck = H.tmpname(".ckpt")                            -- and genlab's own format
    G.save(ck, q:state_dict())
    assert.are.equal(0, maxdiff(M.RBM(784, 16):load_state_dict(G.load(ck)):free_energy(V), F))
    os.remove(ck)
    local function compare(cmd)
      local out, rc = H.sh(cmd)
      assert.are.equal(0, rc, out)
      local vals = {}
      for v in out:match("fe\t([^\n]*)"):gmatch("%S+") do vals[#vals + 1] = tonumber(v) end
      local ref = G.tensor(vals, F64)
      assert.are.equal(100, ref.shape[1])
      local rel = maxdiff(ref, F:to("float64")) / ref:abs():max():item()
      assert.is_true(rel < 1e-5, string.format("%s: relative difference %.3g", cmd, rel))
    end
    if PY then compare(PY .. " tests/fixtures/interchange/check_pt_rbm.py " .. pt .. " " .. npy .. " --stdlib") end
    if TORCH then
      compare(TORCH .. " tests/fixtures/interchange/check_pt_rbm.py " .. pt .. " " .. npy)
    else
      pending("skipped: python3-torch is not installed")
    end
    os.remove(pt)
    os.remove(npy)
  end)
end)

describe("models.RBM.fit_job", function()
  it("trains, samples and estimates log Z as the calls by hand do, in this process or another", function()
    local arg = {k = 2, hidden = 16, epochs = 2, train = 640, test = 128, batch = 64, seed = 5, steps = 20,
                 ais_runs = 10, ais_betas = 200}
    local msgs = {}
    local r = M.RBM.fit_job(arg, function(m) msgs[#msgs + 1] = m end)
    local Xtr = G.data.mnist{flat = true, binarize = true, limit = 640}
    local Xte = G.data.mnist{flat = true, binarize = true, split = "test", limit = 128}
    local rbm = M.RBM(784, 16, {seed = 5})
    local h = rbm:fit(Xtr, {k = 2, epochs = 2, batch = 64, lr = 0.05, momentum = 0.5, test = Xte})
    assert.are.same(h.test_fe, r.history.test_fe)
    assert.are.equal(0, (rbm.W - r.state.W):abs():max():item())
    local chains = rbm:sample(64, {steps = 20, init = Xte:narrow(1, 1, 64), generator = G.Generator(5)})
    assert.are.equal(2, #msgs)
    assert.is_nil(msgs[1].chains)                    -- not live: the last epoch's chains only
    assert.are.equal(0, (chains - msgs[2].chains.data):abs():max():item())
    local live = {}
    local live_arg = {live = true}
    for key, v in pairs(arg) do live_arg[key] = v end
    M.RBM.fit_job(live_arg, function(m) live[#live + 1] = m end)
    assert.are.equal(0, (live[2].chains.data - msgs[2].chains.data):abs():max():item())
    assert.are.same({64, 784}, live[1].chains.random.shape)
    assert.are.same({16, 784}, msgs[2].filters.shape)
    local logZ = rbm:ais{runs = 10, betas = 200, data = Xtr, generator = G.Generator(5)}
    assert.are.equal(logZ, r.logZ)
    assert.are.equal(rbm:log_likelihood(Xte), r.ll)
    local apart = G.jobs.run({{fn = "genlab.models.RBM.fit_job", arg = arg},
                              {fn = "genlab.models.RBM.fit_job", arg = {k = 1, hidden = 8, train = 128, test = 64,
                                                                        steps = 2, ais_runs = 2, ais_betas = 10}}},
                             {workers = 2})
    assert.are.equal(r.logZ, apart[1].logZ)
    assert.are.equal(0, (apart[1].state.W - r.state.W):abs():max():item())
  end)
end)
