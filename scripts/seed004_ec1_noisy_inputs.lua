-- Seed 004 EC-1: densities of noisy inputs, checked in numbers.
--   (a) X ~ U[-1, 1], E ~ N(0, 1): X + E has density
--       f(s) = 1/2 (Phi(s + 1) - Phi(s - 1)), Phi(t) = erfc(-t / sqrt 2) / 2,
--       and CDF F(s) = 1/2 (Psi(s + 1) - Psi(s - 1)), Psi(t) = t Phi(t) + phi(t)
--       (an antiderivative of Phi); a histogram of many samples against the
--       exact probability of every bin, in standard errors.
--   (b) X uniform on {-1, +1}^d, E ~ N(0, I): every x has |x|^2 = d, so the
--       density at the origin is exactly (2 pi)^(-d/2) e^(-d/2), and the
--       Jensen bound log E_X[N(0; x, I)] >= E_X[log N(0; x, I)] is tight
--       (its integrand is constant).  Monte Carlo over X in log space
--       (logsumexp) for d = 1, 2, 5, 10, 50, and for d = 1, 2 the fraction of
--       samples of X + E in a small box around 0 against the box's exact
--       probability (the coordinates are independent).
--
--   ./genlab scripts/seed004_ec1_noisy_inputs.lua          default and --smoke: 200,000 samples
--   ./genlab scripts/seed004_ec1_noisy_inputs.lua --full   1,000,000 samples
local G = require "genlab"
local C = require "common"
local o = C.options({samples = 200000, seed = 2025},
                    {samples = 200000, seed = 2025},
                    {samples = 1000000, seed = 2025},
                    "Seed 004 EC-1: the densities of noisy inputs")
local f64 = {dtype = "float64"}
local gen = G.Generator(o.seed)
local check = C.checks()
local N = o.samples

local function Phi(t) return (t * (-1 / math.sqrt(2))):erfc() * 0.5 end
local function phi(t) return (t * t * -0.5):exp() / math.sqrt(2 * math.pi) end
local function density(s) return (Phi(s + 1) - Phi(s - 1)) * 0.5 end
local function Psi(t) return t * Phi(t) + phi(t) end
local function cdf(s) return (Psi(s + 1) - Psi(s - 1)) * 0.5 end

-- (a) ---------------------------------------------------------------------------------------
local Y = G.rand(N, {dtype = "float64", generator = gen}) * 2 - 1 + G.randn(N, {dtype = "float64", generator = gen})
local lo, width, nb = -5, 0.1, 100
local edges = G.arange(nb + 1, f64) * width + lo
local p = cdf(edges:narrow(1, 2, nb)) - cdf(edges:narrow(1, 1, nb))          -- exact bin probabilities
local bins = ((Y - lo) / width):floor():clamp(-1, nb)                          -- -1 and nb: outside
local inside = bins:ge(0) * bins:lt(nb)
local counts = G.zeros(nb, f64):scatter_add_(1, (bins:clamp(0, nb - 1) + 1), inside:double())
local z = (counts - p * N) / (p * (1 - p) * N):sqrt()
check("(a) |F(inf) - F(-inf)| = 1 (the CDF's total mass)", (cdf(G.tensor({40}, f64)) - cdf(G.tensor({-40}, f64))):item(), 1, 1e-14)
local total = 1 - (cdf(G.tensor({5}, f64)) - cdf(G.tensor({-5}, f64))):item()
check("(a) the density integrates to the CDF (Simpson over [-5, 5] against F)",
      (function()                                  -- weights h/3 (1, 4, 2, 4, ..., 4, 1)
        local w = {}
        for i = 1, 2001 do w[i] = (i == 1 or i == 2001) and 1 or (i % 2 == 0 and 4 or 2) end
        return (density(G.linspace(-5, 5, 2001, f64)) * G.tensor(w, f64)):sum():item() * (10 / 2000) / 3
      end)(), 1 - total, 1e-10)
local zmax = z:abs():max():item()
check("(a) largest |histogram - exact| over 100 bins, in standard errors", zmax, 0, 5)
local centres = edges:narrow(1, 1, nb) + width / 2
local dev = ((counts / (N * width)) - density(centres)):abs():max():item()
print(string.format("    largest density deviation at a bin centre %.4f; one standard error there is about %.4f",
                    dev, math.sqrt(density(G.tensor({0}, f64)):item() / (N * width))))

-- (b) ---------------------------------------------------------------------------------------
print(string.format("\n%5s %16s %16s %16s", "d", "exact log f(0)", "Jensen bound", "Monte Carlo"))
local worst = 0
for _, d in ipairs({1, 2, 5, 10, 50}) do
  local exact = -d / 2 * math.log(2 * math.pi) - d / 2
  local M = math.min(N, 20000)
  local Xb = (G.rand(M, d, {dtype = "float64", generator = gen}) - 0.5):sign()
  local logn = (Xb * Xb):sum(2) * -0.5 - d / 2 * math.log(2 * math.pi)       -- log N(0; x, I)
  local mc = logn:logsumexp():item() - math.log(M)
  local jensen = logn:mean():item()
  worst = math.max(worst, math.abs(mc - exact), math.abs(jensen - exact))
  print(string.format("%5d %16.10f %16.10f %16.10f", d, exact, jensen, mc))
end
check("(b) |Monte Carlo - exact| and |Jensen - exact|, worst over d", worst, 0, 1e-9)
local r = 0.05
for _, d in ipairs({1, 2}) do
  local Xb = (G.rand(N, d, {dtype = "float64", generator = gen}) - 0.5):sign()
  local Yb = Xb + G.randn(N, d, {dtype = "float64", generator = gen})
  local hit = Yb:abs():lt(r):double():prod(2):mean():item()
  local p1 = 0.5 * ((Phi(G.tensor({r - 1}, f64)) - Phi(G.tensor({-r - 1}, f64)))        -- P(|Y_1| < r)
            + (Phi(G.tensor({r + 1}, f64)) - Phi(G.tensor({-r + 1}, f64)))):item()
  local pd = p1 ^ d
  check(("(b) d = %d: fraction of X + E in the box |y| < %.2f against its probability (5 s.e.)"):format(d, r),
        hit, pd, 5 * math.sqrt(pd * (1 - pd) / N))
  print(string.format("    d = %d: density at 0 from the box %.5f, exact %.5f", d, hit / (2 * r) ^ d,
                      (2 * math.pi) ^ (-d / 2) * math.exp(-d / 2)))
end
print("(b) The bound E_X[log N(0; x, I)] = -d/2 log 2 pi - d/2 is not just a lower bound: it is the")
print("    density's log, since N(0; x, I) is the same for every x in {-1, +1}^d.")

local fig = G.viz.figure{title = "Seed 004 EC-1: X ~ U[-1, 1] plus N(0, 1) noise", width = 900, height = 560, name = "noisy_inputs"}
local grid = G.linspace(-5, 5, 401, f64)
fig:line({{x = centres, y = counts / (N * width), label = string.format("histogram of %d samples", N)},
          {x = grid, y = density(grid), label = "(Phi(s + 1) - Phi(s - 1)) / 2"},
          {x = grid, y = grid:abs():le(1):double() * 0.5, label = "the density of X alone"}},
         {xlabel = "s", ylabel = "density"})
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
check.done()
