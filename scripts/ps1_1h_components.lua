-- PS1 1.1(h): what the components of a patch GMM stand for.  Each patch is
-- assigned to argmax_k pi_k N(x | mu_k, Sigma_k); for a chosen component we
-- show the top eigenvectors of Sigma_k beside the patches assigned to it.
-- A ranking helps find (1) edges, (2) flat regions, (3) something else:
--   flatness     the mean standard deviation of the component's patches (low = flat);
--   edge energy  their mean gradient energy times the coherence of its
--                direction (structure tensor): high for a straight step,
--                low for texture, whose gradients point every way.
--
--   ./genlab scripts/ps1_1h_components.lua          a K = 32 mixture by EM on 10,000 patches
--   ./genlab scripts/ps1_1h_components.lua --full   the K = 64 model of ps1_1efg_gmm --full
--                                                   (trained here by EM if missing)
--   ... --show=5,17,40                              pick the components yourself
local G = require "genlab"
local C = require "common"
local o = C.options({K = 32, n_train = 10000, iters = 10, show = "auto", seed = 0},
                    {K = 32, n_train = 10000, iters = 10, show = "auto", seed = 0},
                    {K = 64, n_train = 100000, iters = 100, show = "auto", seed = 0},
                    "PS1 1.1h: eigenvectors and patches of chosen GMM components",
                    {show = {"auto", numbers = true}})

local X = C.patch_sets(o.n_train, 1, 16, o.seed)
local path, why = C.find_model(o, "gmm_K" .. o.K)
local gmm
if o.full and path then
  gmm = G.models.GMM.load(path)
  print("loaded " .. path)
else
  if o.full then print("not using " .. why .. "; fitting by EM") end
  gmm = G.models.GMM.fit_em(X, o.K, {reg_covar = 1e-4, max_iter = o.iters, seed = o.seed,
                                     verbose = true})
end
local labels = gmm:predict(X)

-- per component: count, flatness, gradient energy and coherence
local P = X:reshape(X.shape[1], 16, 16)
local gx = P:narrow(3, 2, 15):narrow(2, 1, 15) - P:narrow(3, 1, 15):narrow(2, 1, 15)
local gy = P:narrow(2, 2, 15):narrow(3, 1, 15) - P:narrow(2, 1, 15):narrow(3, 1, 15)
local Jxx, Jyy, Jxy = gx:square():sum(3):sum(2), gy:square():sum(3):sum(2), (gx * gy):sum(3):sum(2)
local energy = (Jxx + Jyy) / 225
local coherence = ((Jxx - Jyy):square() + Jxy:square() * 4):sqrt() / (Jxx + Jyy + 1e-12)
local spread = X:std(2)
local stats = {}
local lab = labels:totable()
local en, co, sp = energy:totable(), coherence:totable(), spread:totable()
for k = 1, gmm.K do stats[k] = {k = k, n = 0, flat = 0, edge = 0, energy = 0} end
for i, k in ipairs(lab) do
  local s = stats[k]
  s.n, s.flat, s.energy, s.edge = s.n + 1, s.flat + sp[i], s.energy + en[i], s.edge + en[i] * co[i]
end
local used = {}
for _, s in ipairs(stats) do
  if s.n > 0 then
    s.flat, s.energy, s.edge = s.flat / s.n, s.energy / s.n, s.edge / s.n
    s.texture = s.energy - s.edge          -- energy without a dominant direction
    used[#used + 1] = s
  end
end

local function ranked(key, descending)
  local t = {table.unpack(used)}
  table.sort(t, function(a, b)
    if descending then return a[key] > b[key] end
    return a[key] < b[key]
  end)
  return t
end
local by_flat, by_edge, by_texture = ranked("flat"), ranked("edge", true), ranked("texture", true)
print(string.format("\n%-22s %s", "ranking", "component (patches): score"))
for _, r in ipairs{{"flattest (std)", by_flat, "flat"}, {"most edge-like", by_edge, "edge"},
                   {"most textured", by_texture, "texture"}} do
  local parts = {}
  for i = 1, math.min(5, #r[2]) do
    local s = r[2][i]
    parts[i] = string.format("%d (%d): %.3g", s.k, s.n, s[r[3]])
  end
  print(string.format("%-22s %s", r[1], table.concat(parts, ", ")))
end

local picks, names = {}, {}
if o.show == "auto" then
  local function first_big(list)          -- a component with enough patches to look at
    for _, s in ipairs(list) do if s.n >= 12 then return s.k end end
    return list[1].k
  end
  picks = {first_big(by_edge), first_big(by_flat), first_big(by_texture)}
  names = {"(1) edges", "(2) flat", "(3) texture"}
else
  for k in tostring(o.show):gmatch("%d+") do
    picks[#picks + 1] = tonumber(k)
    names[#names + 1] = "component"
  end
end

local fig = G.viz.figure{title = string.format("PS1 1.1h: components of the K = %d GMM", gmm.K),
                         rows = #picks, cols = 2, width = 1000, height = 330 * #picks,
                         name = "components"}
for i, k in ipairs(picks) do
  if k < 1 or k > gmm.K then error(string.format("--show: component %d is outside 1..%d", k, gmm.K)) end
  local w, V = G.linalg.eigh(gmm.covs[k])
  local top = V:index_select(2, G.arange(gmm.d, gmm.d - 8, -1)):t()   -- 8 largest, descending
  fig:grid(top, {panel = 2 * i - 1, rows = 2, signed = true, norm = "tile",
                 title = string.format("%s: component %d, top eigenvectors of Sigma", names[i], k)})
  local idx = {}
  for j, l in ipairs(lab) do
    if l == k and #idx < 36 then idx[#idx + 1] = j end
  end
  if #idx > 0 then
    fig:grid(X:index_select(1, G.tensor(idx)), {panel = 2 * i, norm = "none",
             title = string.format("patches with argmax = %d (%d of %d)", k, #idx, stats[k].n)})
  end
end
fig:show()
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
