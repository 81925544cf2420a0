-- Seed 004 problem 1: mean field for a Boltzmann machine with energy
-- E(x, z) = -x'Wz - x'Bx/2 - z'Az/2, checked in numbers.
--   (a)+(b) the ELBO of a factorised q(z) = prod Bernoulli(mu_j) in closed
--       form, its gradient by hand against autodiff, the fixed point
--       mu_j = sigmoid((W'x)_j + sum_l A_lj mu_l); the ELBO stays below the
--       exact log p~(x) = log sum_z exp(-E(x, z)) (z enumerated) at every
--       iterate, and the gap is KL(q || p(z | x)), enumerated too;
--   (c) iterating (5) from mu = 0.5 need not converge: synchronous updates
--       on two units with strong negative coupling settle into a 2-cycle,
--       sequential ones on the same problem climb the ELBO and converge; on
--       random problems the fraction that converge against the coupling,
--       and the sufficient condition 1/4 ||A||_2 < 1 (a contraction, as
--       sigmoid' <= 1/4), checked.
-- log Z cancels between the ELBO and log p(x), so both are written without it.
--
--   ./genlab scripts/seed004_1_mean_field.lua          default and --smoke: 10 hidden units, 40 problems per coupling
--   ./genlab scripts/seed004_1_mean_field.lua --full   16 hidden units, 200 problems per coupling
local G = require "genlab"
local C = require "common"
local o = C.options({D = 6, d = 10, problems = 40, seed = 2025},
                    {D = 6, d = 10, problems = 40, seed = 2025},
                    {D = 8, d = 16, problems = 200, seed = 2025},
                    "Seed 004 problem 1: mean-field fixed points, checked")
local f64 = {dtype = "float64"}
local gen = G.Generator(o.seed)
local check = C.checks()

-- A problem: x, W, A (symmetric, zero diagonal); h = W'x is all W and x enter through.
local function symmetric(d, scale)
  local R = G.randn(d, d, {dtype = "float64", generator = gen}) * scale
  local A = (R + R:t()) / math.sqrt(2)
  return A * (1 - G.eye(d, f64))                 -- zero diagonal
end

-- ELBO(mu) + log Z = h'mu + mu'A mu / 2 + H(q) (+ x'Bx/2, a constant left out of both sides)
local function elbo(h, A, mu)
  local m = mu:clamp(1e-300, 1 - 1e-16)
  local H = -(m * m:log() + (1 - m) * (1 - m):log()):sum()
  return (h * mu):sum() + (mu * A:matmul(mu)):sum() * 0.5 + H
end
local function grad_by_hand(h, A, mu) return h + A:matmul(mu) - (mu / (1 - mu)):log() end
local function fixed_point_map(h, A, mu) return (h + A:matmul(mu)):sigmoid() end

-- every z in {0, 1}^d as rows, and log p~(x) = log sum_z exp(h'z + z'Az/2)
local function states(d)
  local n = 2 ^ d
  local k = G.arange(n, f64):reshape(n, 1)
  local bit = (G.arange(d, f64) * -1 + (d - 1)):reshape(1, d)       -- z_1 is the top bit
  local q = (k / (bit * math.log(2)):exp()):floor()
  return q - (q / 2):floor() * 2
end
local function log_joint(h, A, Z) return Z:matmul(h) + (Z:matmul(A) * Z):sum(2) * 0.5 end

-- (a)+(b) ---------------------------------------------------------------------------------
local D, d = o.D, o.d
local W = G.randn(D, d, {dtype = "float64", generator = gen}) * 0.5
local x = (G.rand(D, {dtype = "float64", generator = gen}) - 0.5):sign():clamp(0, 1)
local h, A = x:matmul(W), symmetric(d, 0.3)
local Z = states(d)
local lj = log_joint(h, A, Z)
local log_px = lj:logsumexp():item()

local mu0 = G.rand(d, {dtype = "float64", generator = gen}) * 0.8 + 0.1
local mu = mu0:clone():requires_grad_()
elbo(h, A, mu):backward()
check("(b) |hand gradient - autodiff| of the ELBO at a random mu", (mu.grad - grad_by_hand(h, A, mu0)):abs():max():item(), 0, 1e-12)

-- sequential (coordinate) updates: each is the exact maximiser in mu_j
local function sequential_sweep(h_, A_, m)          -- h_, A_ as Lua tables
  local t = m:totable()
  for j = 1, #t do
    local s = h_[j]
    for l = 1, #t do if l ~= j then s = s + A_[l][j] * t[l] end end
    t[j] = 1 / (1 + math.exp(-s))
  end
  return G.tensor(t, f64)
end
local htab, Atab = h:totable(), A:totable()
local m, elbos, worst_gap, worst_rise = G.full({d}, 0.5, f64), {}, -math.huge, math.huge
for t = 1, 200 do
  local e = elbo(h, A, m):item()
  elbos[t] = e
  worst_gap = math.max(worst_gap, e - log_px)
  if t > 1 then worst_rise = math.min(worst_rise, e - elbos[t - 1]) end
  m = sequential_sweep(htab, Atab, m)
end
check("(a) max over iterates of ELBO - log p(x) (must be <= 0)", math.max(worst_gap, 0), 0, 1e-12)
local q = (Z * m:log() + (1 - Z) * (1 - m):log()):sum(2)           -- log q(z)
local log_post = lj - log_px                                        -- log p(z | x)
local kl = (q:exp() * (q - log_post)):sum():item()
local gap = log_px - elbo(h, A, m):item()
check("(a) log p(x) - ELBO = KL(q || p(z|x)), both enumerated", gap, kl, 1e-10)
check("(b) |mu - fixed-point map(mu)| after 200 sequential sweeps", (m - fixed_point_map(h, A, m)):abs():max():item(), 0, 1e-10)
print(string.format("    log p~(x) = %.6f, ELBO at the fixed point %.6f: " ..
  "gap %.3g > 0, as p(z|x) does not factorise (A != 0);",
                    log_px, log_px - gap, gap))
print(string.format("    the closest any iterate came to log p~(x): %.6f below", -worst_gap))

-- (c) a 2-unit counter-example -----------------------------------------------------------
local h2, A2 = G.tensor({4, 4}, f64), G.tensor({{0, -10}, {-10, 0}}, f64)
local T = 60
local sync, seq, e_sync, e_seq = {}, {}, {}, {}
local ms, mq = G.full({2}, 0.5, f64), G.full({2}, 0.5, f64)
for t = 1, T do
  sync[t], seq[t] = ms:totable(), mq:totable()
  e_sync[t], e_seq[t] = elbo(h2, A2, ms):item(), elbo(h2, A2, mq):item()
  ms = fixed_point_map(h2, A2, ms)
  mq = sequential_sweep(h2:totable(), A2:totable(), mq)
end
local a, b = sync[T - 1], sync[T]
print(string.format("    synchronous: the 2-cycle (%.6f, %.6f) <-> (%.6f, %.6f)", a[1], a[2], b[1], b[2]))
print(string.format("    sequential: converged to (%.6f, %.6f), a fixed point with one unit on", seq[T][1], seq[T][2]))
check("(c) synchronous: |mu(t+2) - mu(t)| at t = T - 2 (a cycle)", math.abs(sync[T][1] - sync[T - 2][1]), 0, 1e-12)
check("(c) synchronous: |mu(t+1) - mu(t)| stays large (no convergence)", math.abs(b[1] - a[1]) > 0.5 and 1 or 0, 1, 0)
local rise = math.huge
for t = 2, T do rise = math.min(rise, e_seq[t] - e_seq[t - 1]) end
check("(c) sequential: smallest ELBO change per sweep (must be >= 0)", math.min(rise, 0), 0, 1e-12)
check("(c) sequential: |mu - fixed-point map(mu)| at the end", (mq - fixed_point_map(h2, A2, mq)):abs():max():item(), 0, 1e-12)

-- random problems: the fraction that converge against the coupling ----------------------
local couplings, fractions, bound_ok = {}, {}, true
for i = 1, 16 do
  local c = 0.5 * i                              -- ||A||_2 is about 2c
  local converged = 0
  for _ = 1, o.problems do
    local Ar = symmetric(8, c / math.sqrt(8))
    local hr = G.randn(8, {dtype = "float64", generator = gen})
    local mr = G.full({8}, 0.5, f64)
    local step
    for _ = 1, 400 do
      local nxt = fixed_point_map(hr, Ar, mr)
      step = (nxt - mr):abs():max():item()
      mr = nxt
      if step < 1e-10 then break end
    end
    local contracts = 0.25 * G.linalg.eigvalsh(Ar):abs():max():item() < 1
    if step < 1e-10 then converged = converged + 1 elseif contracts then bound_ok = false end
  end
  couplings[i], fractions[i] = c, converged / o.problems
end
check("(c) every problem with ||A||_2 / 4 < 1 converged", bound_ok and 1 or 0, 1, 0)
for i = 1, #couplings do
  print(string.format("    coupling %.1f: %3.0f%% of %d random 8-unit problems converge", couplings[i], 100 * fractions[i], o.problems))
end
print("(c) No: synchronous updates can cycle forever; " ..
  "sequential updates are coordinate ascent on the")
print("    ELBO, which is bounded, so they converge; synchronous ones do when ||A||_2 < 4.")

local fig = G.viz.figure{title = "Seed 004 problem 1: mean field", cols = 3, width = 1500, height = 460, name = "mean_field"}
local ts = G.arange(1, T + 1, f64)
local function col(tab, k) local r = {} for t = 1, #tab do r[t] = tab[t][k] end return G.tensor(r, f64) end
fig:line({{x = ts, y = col(sync, 1), label = "synchronous mu1"}, {x = ts, y = col(sync, 2), label = "synchronous mu2"},
          {x = ts, y = col(seq, 1), label = "sequential mu1"}, {x = ts, y = col(seq, 2), label = "sequential mu2"}},
         {panel = 1, title = "(c) two units, A12 = -10 (synchronous: mu1 = mu2, a 2-cycle)", xlabel = "t", ylabel = "mu"})
fig:line({{x = ts, y = G.tensor(e_sync, f64), label = "synchronous"}, {x = ts, y = G.tensor(e_seq, f64), label = "sequential"}},
         {panel = 2, title = "ELBO + log Z per iteration", xlabel = "t", ylabel = "nats"})
fig:line({x = G.tensor(couplings, f64), y = G.tensor(fractions, f64), label = "synchronous updates converge"},
         {panel = 3, title = "random 8-unit problems", xlabel = "coupling (scale of A)", ylabel = "fraction",
          hline = 1, hline_label = "all"})
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
check.done()
