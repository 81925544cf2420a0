-- Seed 002 problem 3: classroom friendship graphs (genlab.graphs).
--   (a) the hand-derived gradient of L(a, b) (printed, checked against central
--       differences here and against autodiff in tests/lua/graphs_spec.lua);
--   (b) gradient ascent from a random start over all 100 graphs at once: the
--       last 10 iterations with L, the estimate beside the ground truth, and
--       the standard errors from the Fisher information;
--   (c) 5 new classrooms of 15 students with 3 features sampled from the
--       fitted model, drawn with node colours = RGB of (x + 1) / 2.
-- The graphs are genlab's (graphs.generate: a* = 4, b* = -1, seed 552), or
-- the course's file with --graphs=classroom_graphs.pkl (or an .npz with X
-- (100, 15, 3) and E (100, 15, 15)); --save-graphs=path.npz writes ours.
--
--   ./genlab scripts/seed002_3_graphs.lua           default and --smoke: 300 iterations
--   ./genlab scripts/seed002_3_graphs.lua --full    1,000 iterations
local G = require "genlab"
local C = require "common"
local graphs = G.graphs
local o = C.options({iters = 300, lr = 10.0, seed = 2025, graphs = "", save_graphs = ""},
                    {iters = 300, lr = 10.0, seed = 2025, graphs = "", save_graphs = ""},
                    {iters = 1000, lr = 10.0, seed = 2025, graphs = "", save_graphs = ""},
                    "Seed 002 problem 3: the classroom " ..
                    "friendship-graph model, fitted by gradient ascent")

-- Seed 002 problem 3's graphs: genlab's (graphs.generate, with its ground
-- truth as the second result) or the course's file at path (no truth).
local function classroom_graphs(path)
  if path and path ~= "" then return G.graphs.load(path), nil end
  return G.graphs.generate(), G.graphs.TRUTH
end

-- Panel k of fig: the fitted sigma(a s + b) against s = x_i^T x_j beside the
-- share of friends among the data's pairs in 12 bins of s (a model check).
local function similarity_panel(fig, k, a, b, D)
  local n = D.X.shape[2]
  local S = D.X:bmm(D.X:transpose(2, 3)):totable()
  local E = D.E:totable()
  local lo, hi, nb = -3, 3, 12
  local cnt, hit = {}, {}
  for j = 1, nb do cnt[j], hit[j] = 0, 0 end
  for g = 1, #S do
    for i = 2, n do
      for j = 1, i - 1 do
        local bin = math.max(1, math.min(nb, math.floor((S[g][i][j] - lo) / (hi - lo) * nb) + 1))
        cnt[bin], hit[bin] = cnt[bin] + 1, hit[bin] + E[g][i][j]
      end
    end
  end
  local xs, fr, cx, cy = {}, {}, {}, {}
  for j = 1, nb do
    if cnt[j] >= 5 then
      xs[#xs + 1], fr[#fr + 1] = lo + (j - 0.5) * (hi - lo) / nb, hit[j] / cnt[j]
    end
  end
  for t = 0, 60 do
    local sv = lo + (hi - lo) * t / 60
    cx[#cx + 1], cy[#cy + 1] = sv, 1 / (1 + math.exp(-(a * sv + b)))
  end
  fig:line({{x = G.tensor(cx), y = G.tensor(cy), label = "fitted sigma(a s + b)"},
            {x = G.tensor(xs), y = G.tensor(fr), label = "friends among the data's pairs"}},
           {panel = k, title = "p(friends) against s = x_i^T x_j", xlabel = "s", ylabel = "probability"})
end

local D, truth = classroom_graphs(o.graphs)
if o.save_graphs ~= "" then print("graphs written to " .. graphs.save(o.save_graphs, D)) end
local count, n, m = D.X.shape[1], D.X.shape[2], D.X.shape[3]
local edges = D.E:sum():item() / 2
print(string.format("%d classrooms of %d students with %d features, %d friendships (%.1f%% of the pairs)%s",
                    count, n, m, edges, 100 * edges / (count * n * (n - 1) / 2),
                    truth and string.format("; ground truth a* = %g, b* = %g", truth.a, truth.b) or ""))

-- (a) ----------------------------------------------------------------------------------
print("\n(a) with s_ij = a x_i^T x_j + b and sigma' = sigma (1 - sigma):\n" ..
      "    L(a, b) = sum_{i<j} e_ij s_ij - log(1 + exp(s_ij))\n" ..
      "    dL/da = sum_{i<j} (e_ij - sigma(s_ij)) x_i^T " ..
      "x_j,   dL/db = sum_{i<j} (e_ij - sigma(s_ij))")
local ga, gb = graphs.gradient(0.3, -0.2, D.X, D.E)
local h = 1e-5
local fa = (graphs.loglik(0.3 + h, -0.2, D.X, D.E) - graphs.loglik(0.3 - h, -0.2, D.X, D.E)) / (2 * h)
local fb = (graphs.loglik(0.3, -0.2 + h, D.X, D.E) - graphs.loglik(0.3, -0.2 - h, D.X, D.E)) / (2 * h)
print(string.format("    at (0.3, -0.2): dL/da = %.6f (central differences %.6f), dL/db = %.6f (%.6f)", ga, fa, gb, fb))
print(string.format("    gradient check: largest relative difference %.1e",
                    math.max(math.abs(ga - fa) / math.abs(fa), math.abs(gb - fb) / math.abs(fb))))

-- (b) ----------------------------------------------------------------------------------
local figa = G.viz.figure{title = "Seed 002 3(b): gradient ascent on L(a, b)", rows = 1, cols = 2,
                          width = 1100, height = 460, name = "graphs_ascent"}
local trace = {a = {}, b = {}, L = {}}
local function draw_ascent()
  figa:line({y = G.tensor(trace.L), label = "L(a, b)"},
            {panel = 1, title = "log-likelihood per iteration", xlabel = "iteration", ylabel = "L"})
  local series = {{y = G.tensor(trace.a), label = "a"}, {y = G.tensor(trace.b), label = "b"}}
  figa:line(series, {panel = 2, title = "a and b per iteration" .. (truth and " (truth 4, -1)" or ""),
                     xlabel = "iteration", ylabel = "value"})
  figa:show()
end
local fit = graphs.fit(D.X, D.E, {iters = o.iters, lr = o.lr, generator = G.Generator(o.seed),
                                  on_step = function(it, a, b, L)
                                    trace.a[it + 1], trace.b[it + 1], trace.L[it + 1] = a, b, L
                                    if it % 10 == 0 then draw_ascent() end
                                  end})
draw_ascent()
print("figure: " .. (G.viz.headless() and figa:save() or "window"))
local hist = fit.history
print(string.format("\n(b) gradient ascent from the random start a = %.4f, b = %.4f, lr %g on the mean over pairs;",
                    fit.a0, fit.b0, o.lr))
print("    the last 10 iterations:")
print(string.format("    %5s %12s %12s %18s %11s", "iter", "a", "b", "L(a, b)", "rise"))
for it = #hist.loglik - 9, #hist.loglik do
  do
    print(string.format("    %5d %12.8f %12.8f %18.10f %11.3e", it - 1, hist.a[it], hist.b[it], hist.loglik[it],
                        hist.loglik[it] - hist.loglik[it - 1]))
  end
end
local all_rising = true
for it = 2, #hist.loglik do if hist.loglik[it] < hist.loglik[it - 1] - 1e-9 then all_rising = false end end
local settled = #hist.loglik
for it = 2, #hist.loglik do
  if hist.loglik[it] - hist.loglik[it - 1] < 1e-9 then settled = it - 1; break end
end
print(string.format("    L never decreased: %s (from %.4f at iteration 0); it rose by less than 1e-9 from\n" ..
                    "    iteration %d on: the ascent has converged to double precision", tostring(all_rising),
                    hist.loglik[1], settled))
local se_a, se_b = graphs.standard_errors(fit.a, fit.b, D.X, D.E)
local ga1, gb1 = graphs.gradient(fit.a, fit.b, D.X, D.E)
print(string.format("    final a = %.6f +- %.4f, b = %.6f +- %.4f (standard errors from the Fisher information)",
                    fit.a, se_a, fit.b, se_b))
print(string.format("    gradient at the estimate: (%.1e, %.1e)", ga1, gb1))
if truth then
  print(string.format("    ground truth a* = %g, b* = %g: %.2f and %.2f standard errors away", truth.a, truth.b,
                      (fit.a - truth.a) / se_a, (fit.b - truth.b) / se_b))
end

-- (c) ----------------------------------------------------------------------------------
local S = graphs.sample(fit.a, fit.b, {count = 5, n = n, m = 3, generator = G.Generator(o.seed + 1)})
local fig = G.viz.figure{title = string.format("Seed 002 3(c): 5 classrooms sampled at a = %.2f, b = %.2f", fit.a, fit.b),
                         rows = 2, cols = 3, width = 1200, height = 820, name = "graphs"}
print("\n(c) 5 sampled classrooms (node colour = RGB of (x + 1) / 2):")
for g = 1, 5 do
  local E = S.E[g]
  local list = graphs.edges(E)
  print(string.format("    classroom %d: %d friendships", g, #list))
  fig:graph((S.X[g] + 1) / 2, list, {panel = g, seed = g, title = string.format("sample %d: %d edges", g, #list)})
end
similarity_panel(fig, 6, fit.a, fit.b, D)
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
return {data = D, truth = truth, fit = fit, se_a = se_a, se_b = se_b, rising = all_rising, settled = settled,
        gradient = {ga, gb}, differences = {fa, fb}, samples = S}   -- for the notebook
