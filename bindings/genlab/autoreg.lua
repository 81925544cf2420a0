-- autoreg.lua -- genlab.autoreg: seed 002 problem 1, 5x5 binary images drawn
-- pixel by pixel.  The ground truth p(x) is a fixed set of pictures with
-- stated probabilities; from it come the exact conditional probability
-- tables (CPTs) in the layout of the course's image_cpts.pkl, ancestral
-- sampling from them, and the 2-layer LSTM that learns the same p.  Run once
-- at start-up with the genlab module and the autoreg table.
--
--   local pics = autoreg.pictures()                  -- images (23, 25), p (23), names
--   local cpts = autoreg.cpts(pics)                  -- CPT i: i dims of size 2, 2^26 - 2 values
--   local X = autoreg.sample_cpts(cpts, 100)         -- (100, 25) of 0/1
--   local H = autoreg.cpts_entropy(cpts)             -- H(p) over all 2^25 images, in C
--   local d = autoreg.distribution(cpts)             -- the images p puts mass on, with p(x)
--   local m = autoreg.LSTM()                         -- nn.LSTM(1, 32, 2 layers) + Linear(32, 1)
--   autoreg.train(m, pics, {steps = 2000})           -- the exact expected NLL under p
local G, autoreg = ...
local nn, optim = G.nn, G.optim

local lib = G._lib
local doc, raise = lib.doc, lib.raise

local SIDE, NPIX = 5, 25

-- ---- the ground truth p(x) ---------------------------------------------------------------
-- Each picture is 5 rows of 5 pixels ('#' = 1, '.' = 0) with its weight; p(x)
-- is weight / 100.  Pixels are numbered row by row, x1 top left, x25 bottom
-- right, as in the seed.
local PICTURES = {
  {"zero", 8, ".###.", "#...#", "#...#", "#...#", ".###."},
  {"one", 7, "..#..", ".##..", "..#..", "..#..", ".###."},
  {"two", 6, "####.", "....#", ".###.", "#....", "#####"},
  {"three", 6, "####.", "....#", ".###.", "....#", "####."},
  {"four", 5, "#..#.", "#..#.", "#####", "...#.", "...#."},
  {"five", 5, "#####", "#....", "####.", "....#", "####."},
  {"six", 4, ".###.", "#....", "####.", "#...#", ".###."},
  {"seven", 4, "#####", "....#", "...#.", "..#..", "..#.."},
  {"eight", 3, ".###.", "#...#", ".###.", "#...#", ".###."},
  {"nine", 3, ".###.", "#...#", ".####", "....#", ".###."},
  {"heart", 6, ".#.#.", "#####", "#####", ".###.", "..#.."},
  {"smiley", 6, ".....", ".#.#.", ".....", "#...#", ".###."},
  {"arrow", 4, "..#..", ".###.", "#.#.#", "..#..", "..#.."},
  {"plus", 5, "..#..", "..#..", "#####", "..#..", "..#.."},
  {"cross", 4, "#...#", ".#.#.", "..#..", ".#.#.", "#...#"},
  {"diamond", 4, "..#..", ".#.#.", "#...#", ".#.#.", "..#.."},
  {"frame", 5, "#####", "#...#", "#...#", "#...#", "#####"},
  {"A", 3, ".###.", "#...#", "#####", "#...#", "#...#"},
  {"H", 3, "#...#", "#...#", "#####", "#...#", "#...#"},
  {"L", 2, "#....", "#....", "#....", "#....", "#####"},
  {"T", 3, "#####", "..#..", "..#..", "..#..", "..#.."},
  {"house", 2, "..#..", ".###.", "#####", "#...#", "#####"},
  {"stairs", 2, "#....", "##...", "###..", "####.", "#####"},
}

autoreg.pictures = doc(function()
  local rows, p, names = {}, {}, {}
  for k, pic in ipairs(PICTURES) do
    local px = {}
    for r = 1, SIDE do
      for c = 1, SIDE do px[#px + 1] = pic[2 + r]:sub(c, c) == "#" and 1 or 0 end
    end
    rows[k], p[k], names[k] = px, pic[2] / 100, pic[1]
  end
  return {images = G.tensor(rows, {dtype = "float64"}), p = G.tensor(p, {dtype = "float64"}), names = names}
end, "autoreg.pictures() -> {images = (23, 25), p = (23), names = {...}}\n" ..
  "The ground truth of seed 002 problem 1: 23 distinct " ..
  "5x5 binary pictures (the digits 0-9, a heart,\n" ..
  "a smiley, an arrow, a plus, a cross, a diamond, a " ..
  "frame, A, H, L, T, a house, stairs), pixels row\n" ..
  "by row, with probabilities from 0.02 to 0.08 (weights / 100, written beside each picture in\n" ..
  "bindings/genlab/autoreg.lua). float64.")

-- ---- conditional probability tables -----------------------------------------------------

-- The prefix code of the first i pixels of a picture: x1 is the most
-- significant bit, as CPT i's first index is x1 (C order).
local function prefix_code(px, i)
  local c = 0
  for j = 1, i do c = 2 * c + px[j] end
  return c
end

local function picture_rows(pics)
  local rows = pics.images:totable()
  local p = pics.p:totable()
  for k, r in ipairs(rows) do
    for j, v in ipairs(r) do
      if v ~= 0 and v ~= 1 then raise(string.format("autoreg: picture %d pixel %d is %g, not 0 or 1", k, j, v)) end
    end
  end
  return rows, p
end

autoreg.cpts = doc(function(pics, opts)
  opts = opts or {}
  pics = pics or autoreg.pictures()
  local rows, p = picture_rows(pics)
  local dtype = opts.dtype or "float64"
  local cpts = {}
  local mass_prev = {[0] = 1}                            -- prefix code -> probability mass
  for i = 1, NPIX do
    local mass = {}
    for k, px in ipairs(rows) do
      local c = prefix_code(px, i)
      mass[c] = (mass[c] or 0) + p[k]
    end
    -- p(x_i = b | prefix c) at flat position 2c + b; unseen prefixes keep 1/2
    local idx, val, seen = {}, {}, {}
    for k, px in ipairs(rows) do
      local c = prefix_code(px, i - 1)
      if not seen[c] and mass_prev[c] > 0 then
        seen[c] = true
        for b = 0, 1 do
          idx[#idx + 1] = 2 * c + b + 1
          val[#val + 1] = (mass[2 * c + b] or 0) / mass_prev[c] - 0.5
        end
      end
    end
    local shape = {}
    for d = 1, i do shape[d] = 2 end
    local cpt = G.full(shape, 0.5, {dtype = dtype})
    if #idx > 0 then
      cpt:view(-1):scatter_add_(1, G.tensor(idx, {dtype = "float64"}), G.tensor(val, {dtype = dtype}))
    end
    cpts[i] = cpt
    mass_prev = mass
  end
  return cpts
end, "autoreg.cpts([pictures], [{dtype=\"float64\"}]) -> {CPT 1, ..., CPT 25}\n" ..
  "The exact conditional probability tables of a picture " ..
  "set (default autoreg.pictures()), laid out as\n" ..
  "the course's image_cpts.pkl: CPT i has i dims of " ..
  "size 2, indexed [x1]..[xi] (1-based here, so\n" ..
  "cpt[i][x1+1]...[xi+1]), holding p(x_i | x_1..x_{i-1}). " ..
  "Prefixes that p never produces hold 1/2\n" ..
  "for both values (any number would do: sampling never reaches them). 2^26 - 2 values in all,\n" ..
  "537 MB in float64; dtype=\"float32\" halves it.")

autoreg.check_cpts = doc(function(cpts, what)
  what = what or "CPTs"
  if type(cpts) ~= "table" then raise(what .. ": expected a list of 25 CPTs, got a " .. type(cpts)) end
  if #cpts ~= NPIX then raise(string.format("%s: expected 25 CPTs, found %d", what, #cpts)) end
  for i, t in ipairs(cpts) do
    local want = {}
    for d = 1, i do want[d] = 2 end
    local shape = G.is_tensor(t) and lib.shape_str(t) or type(t)
    if shape ~= table.concat(want, "x") then
      raise(string.format("%s: CPT %d has shape %s, expected %s (%d dims of size 2, indexed [x1]..[x%d])",
                          what, i, shape, table.concat(want, "x"), i, i))
    end
    local lo, hi = t:min():item(), t:max():item()
    if not (lo >= 0 and hi <= 1) then
      raise(string.format("%s: CPT %d holds %g to %g: not probabilities", what, i, lo, hi))
    end
    local pairs_ = t:view(-1, 2):double():sum(2)
    local off = (pairs_ - 1):abs():max():item()
    if off > 1e-5 then
      raise(string.format("%s: CPT %d: p(x%d = 0 | ...) + p(x%d = 1 | ...) is off 1 by %.3g", what, i, i, i, off))
    end
  end
  return cpts
end, "autoreg.check_cpts(cpts, [what]) -> cpts\n" ..
  "Check a list of 25 CPTs: CPT i has i dims of size " ..
  "2, entries in [0, 1], and the two entries of each\n" ..
  "prefix sum to 1 (within 1e-5). An error names the CPT and the expected shape.")

autoreg.load_cpts = doc(function(path)
  local cpts
  if path:match("%.npz$") then
    local z = G.data.read_npz(path)
    local names = {}
    for k in pairs(z) do names[#names + 1] = k end
    -- np.savez(path, *cpts) names them arr_0..arr_24: order by the number in the name
    table.sort(names, function(a, b)
      local na, nb = tonumber(a:match("(%d+)$")), tonumber(b:match("(%d+)$"))
      if na and nb and na ~= nb then return na < nb end
      return a < b
    end)
    cpts = {}
    for i, k in ipairs(names) do cpts[i] = z[k] end
  else
    cpts = G.data.read_pickle(path)
  end
  return autoreg.check_cpts(cpts, path)
end, "autoreg.load_cpts(path) -> cpts\n" ..
  "The course's CPTs: image_cpts.pkl (a pickled list of " ..
  "25 numpy arrays, read by data.read_pickle) or an\n" ..
  ".npz of the same arrays (np.savez(path, *cpts): " ..
  "arr_0 .. arr_24), checked by autoreg.check_cpts.")

-- Flat position (1-based) of each row's prefix in CPT i: 2 * code + x_i + 1.
autoreg.sample_cpts = doc(function(cpts, n, opts)
  opts = opts or {}
  local g = opts.generator
  local code = G.zeros(n, {dtype = "float64"})          -- the prefix drawn so far, as a number
  local cols = {}
  for i = 1, #cpts do
    local flat = cpts[i]:view(-1)
    local q = flat:index_select(1, code * 2 + 2):double()                  -- p(x_i = 1 | prefix)
    local x = G.rand(n, {dtype = "float64", generator = g}):lt(q):double()
    cols[i] = x
    code = code * 2 + x
  end
  return G.stack(cols, 2)
end, "autoreg.sample_cpts(cpts, n, [{generator=}]) -> (n, 25) float64 of 0/1\n" ..
  "Ancestral sampling as the seed does it: x1 from CPT 1, " ..
  "then each x_i ~ p(x_i | x_1..x_{i-1}) by comparing\n" ..
  "a uniform number with CPT i at the prefix drawn " ..
  "so far. All n images advance one pixel per step.")

-- Each picture's code (x1 most significant) as a float64 number, exact to 2^53.
local function codes(X)
  local w = {}
  for j = 1, X.shape[2] do w[j] = 2.0 ^ (X.shape[2] - j) end
  return X:double():matmul(G.tensor(w, {dtype = "float64"}))
end

autoreg.frequencies = doc(function(X, pics)
  local seen = {}                                       -- code -> rows of X, one pass
  for _, code in ipairs(codes(X):totable()) do seen[code] = (seen[code] or 0) + 1 end
  local counts, known = {}, 0
  for k, code in ipairs(pics.images.shape[1] > 0 and codes(pics.images):totable() or {}) do
    counts[k] = seen[code] or 0
    known = known + counts[k]
  end
  return counts, X.shape[1] - known
end, "autoreg.frequencies(X, pictures) -> counts, outside\n" ..
  "How many rows of X (n, 25) equal each picture, and how many match none of them.")

-- log Gamma(x) for x > 0 by Lanczos' approximation (g = 7, 9 terms; about
-- 1e-15 relative), with the reflection formula below 1/2.
local LANCZOS = {0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
                 -176.61502916214059, 12.507343278686905, -0.13857109526572012,
                 9.9843695780195716e-6, 1.5056327351493116e-7}
local function lgamma(x)
  if x < 0.5 then return math.log(math.pi / math.abs(math.sin(math.pi * x))) - lgamma(1 - x) end
  x = x - 1
  local a, t = LANCZOS[1], x + 7.5
  for i = 2, 9 do a = a + LANCZOS[i] / (x + i - 1) end
  return 0.5 * math.log(2 * math.pi) + (x + 0.5) * math.log(t) - t + math.log(a)
end

-- Q(a, x): the regularised upper incomplete gamma function, by its series
-- for x < a + 1 and by Lentz's continued fraction beyond.
local function gamma_q(a, x)
  if x <= 0 then return 1 end
  local lg = a * math.log(x) - x - lgamma(a)
  if x < a + 1 then
    local sum, term, ap = 1 / a, 1 / a, a
    for _ = 1, 1000 do
      ap = ap + 1
      term = term * x / ap
      sum = sum + term
      if math.abs(term) < math.abs(sum) * 1e-15 then break end
    end
    return 1 - sum * math.exp(lg)
  end
  local tiny = 1e-300
  local b, c, d = x + 1 - a, 1 / tiny, 1 / (x + 1 - a)
  local h = d
  for i = 1, 1000 do
    local an = -i * (i - a)
    b = b + 2
    d = an * d + b
    if math.abs(d) < tiny then d = tiny end
    c = b + an / c
    if math.abs(c) < tiny then c = tiny end
    d = 1 / d
    local del = d * c
    h = h * del
    if math.abs(del - 1) < 1e-15 then break end
  end
  return math.exp(lg) * h
end

autoreg.chi2_sf = doc(function(x, dof) return gamma_q(dof / 2, x / 2) end,
  "autoreg.chi2_sf(x, dof) -> number\n" ..
  "P(X > x) for X chi-square with dof degrees of " ..
  "freedom (the regularised upper incomplete gamma\n" ..
  "function Q(dof/2, x/2)): the p-value of a chi-square statistic x.")

autoreg.chi_square = doc(function(counts, p)
  local n, stat = 0, 0
  for _, c in ipairs(counts) do n = n + c end
  for k, c in ipairs(counts) do
    local e = n * p[k]
    stat = stat + (c - e) ^ 2 / e
  end
  return stat, #counts - 1, autoreg.chi2_sf(stat, #counts - 1)
end, "autoreg.chi_square(counts, p) -> statistic, dof, p_value\n" ..
  "Pearson's goodness-of-fit test of observed counts against probabilities p (a Lua list each).")

-- Pearson's test over bins of at least 5 expected samples: each listed image
-- with n p(x) >= 5 is its own bin; the others, the images dist does not list
-- (its rest) and the samples outside the list share one pooled bin, which
-- joins the smallest bin when it expects fewer than 5.  A pooled bin that
-- expects nothing but holds samples gives chi-square = inf (p-value 0).
local function pooled_chi_square(counts, p, outside, rest, n)
  local obs, exp_, po, pe, pooled = {}, {}, outside, n * rest, 0
  for k = 1, #p do
    if n * p[k] >= 5 then
      obs[#obs + 1], exp_[#exp_ + 1] = counts[k], n * p[k]
    else
      po, pe, pooled = po + counts[k], pe + n * p[k], pooled + 1
    end
  end
  if pe == 0 and po > 0 then return math.huge, math.max(#obs - 1, 1), 0, #obs, pooled end
  if pe >= 5 or (#obs == 0 and pe > 0) then
    obs[#obs + 1], exp_[#exp_ + 1] = po, pe
  elseif pe > 0 then
    local s = 1
    for k = 2, #exp_ do if exp_[k] < exp_[s] then s = k end end
    obs[s], exp_[s] = obs[s] + po, exp_[s] + pe
  end
  if #obs < 2 then return nil, 0, nil, #obs, pooled end
  local q = {}
  for k, e in ipairs(exp_) do q[k] = e / n end
  local stat, dof, pvalue = autoreg.chi_square(obs, q)
  return stat, dof, pvalue, #obs, pooled
end

autoreg.goodness = doc(function(X, dist)
  local p = dist.p:totable()
  local counts, outside = autoreg.frequencies(X, dist)
  local n, freq, rest = X.shape[1], {}, dist.rest or 0
  local tv = math.abs(outside / n - rest)
  for k = 1, #p do
    freq[k] = counts[k] / n
    tv = tv + math.abs(freq[k] - p[k])
  end
  local chi2, dof, pvalue, bins, pooled = pooled_chi_square(counts, p, outside, rest, n)
  return {counts = counts, freq = freq, outside = outside, chi2 = chi2, dof = dof, pvalue = pvalue, tv = tv / 2,
          bins = bins, pooled = pooled, rest = rest}
end, "autoreg.goodness(X, dist) -> {counts, freq, outside, " ..
  "chi2, dof, pvalue, tv, bins, pooled, rest}\n" ..
  "How well samples X (n, 25) follow p, given as dist = " ..
  "{images (K, 25), p (K), [rest]}: the pictures, or\n" ..
  "autoreg.distribution(cpts), whose rest is the mass " ..
  "of the images it does not list. Per-image counts\n" ..
  "and frequencies, samples outside the list, Pearson's " ..
  "chi-square with its p-value over the bins\n" ..
  "that expect at least 5 samples (the others, the " ..
  "rest and the samples outside pooled into one;\n" ..
  "chi2 is nil when fewer than 2 bins remain), and " ..
  "the total variation distance between the sample\n" ..
  "frequencies and p: exact when dist lists all of " ..
  "p's support (rest = 0), else over the listed\n" ..
  "images plus one bin for the rest, a lower bound.")

autoreg.entropy = doc(function(pics)
  local h = 0
  for _, pk in ipairs(pics.p:totable()) do if pk > 0 then h = h - pk * math.log(pk) end end
  return h
end, "autoreg.entropy(pictures) -> nats\n" ..
  "H(p) = -sum p(x) log p(x) of the picture " ..
  "distribution, per image (divide by 25 for per pixel).")

-- ---- the distribution that a list of CPTs defines --------------------------------------

autoreg.cpts_entropy = doc(function(cpts)
  return G.models._autoreg_entropy(cpts)
end, "autoreg.cpts_entropy(cpts) -> H, mass, support\n" ..
  "H(p) = -sum_x p(x) log p(x) in nats of the distribution the CPTs define, exactly: a C walk\n" ..
  "over the tree of prefixes visits every one of the " ..
  "2^25 images (skipping prefixes of probability 0)\n" ..
  "in float64 log space on all cores, about a second " ..
  "for tables without zeros. Also sum_x p(x) (1 up\n" ..
  "to the tables' rounding) and the number of images " ..
  "with p(x) > 0. A reached entry outside [0, 1]\n" ..
  "is an error naming the CPT and the prefix.")

-- genlab's picture names by code, for naming the images of a loaded file.
local known_names
local function picture_name(code)
  if not known_names then
    local pics = autoreg.pictures()
    known_names = {}
    for k, c in ipairs(codes(pics.images):totable()) do known_names[c] = pics.names[k] end
  end
  return known_names[code]
end

-- A distribution table from rows X (K, n) and their probabilities p (Lua list or tensor).
local function listing(X, p)
  local names = {}
  for k, c in ipairs(X.shape[1] > 0 and codes(X):totable() or {}) do names[k] = picture_name(c) or ("#" .. k) end
  return {images = X, p = G.is_tensor(p) and p or G.tensor(p, {dtype = "float64"}), names = names}
end

autoreg.distribution = doc(function(cpts, opts)
  opts = opts or {}
  local min_p = opts.min_p or 0
  local max = opts.max or (min_p > 0 and math.floor(1 / min_p) + 1 or 4096)
  local X, p, complete = G.models._autoreg_states(cpts, min_p, max)
  local d = listing(X, p)
  local listed = X.shape[1] > 0 and p:sum():item() or 0
  d.complete, d.min_p = complete, min_p
  d.support = complete and min_p == 0
  d.rest = d.support and 0 or math.max(0, 1 - listed)
  return d
end, "autoreg.distribution(cpts, [{min_p=0, max=}]) -> {images " ..
  "(K, 25), p (K), names, rest, complete, support, min_p}\n" ..
  "The images of the CPTs' distribution with p(x) >= " ..
  "min_p, in code order (x1 most significant), found\n" ..
  "by a C walk that never descends below min_p: with " ..
  "min_p = 0, all of p's support. complete is\n" ..
  "false when more than max (default 4096, or 1/min_p " ..
  "+ 1, which always suffices) qualify; support\n" ..
  "is true when the list is all of p's support; rest = 1 - sum p of the list (0 when support).\n" ..
  "An image that is one of autoreg.pictures() has its " ..
  "name, the others #k. Goes to autoreg.goodness,\n" ..
  "autoreg.train and autoreg.score as a picture set does.")

autoreg.log_prob = doc(function(cpts, X)
  local n = X.shape[1]
  local code, lp = G.zeros(n, {dtype = "float64"}), G.zeros(n, {dtype = "float64"})
  local Xd = X:double()
  for i = 1, #cpts do
    code = code * 2 + Xd:select(2, i)
    lp = lp + cpts[i]:view(-1):index_select(1, code + 1):double():log()
  end
  return lp
end, "autoreg.log_prob(cpts, X) -> (n) float64\n" ..
  "log p(x) = sum_i log CPT_i[x_1..x_i] for each row of X (n, 25); -inf where p(x) = 0.")

autoreg.empirical = doc(function(X)
  local count, order = {}, {}
  for _, c in ipairs(codes(X):totable()) do
    if not count[c] then order[#order + 1], count[c] = c, 0 end
    count[c] = count[c] + 1
  end
  table.sort(order)
  local rows, p, m = {}, {}, X.shape[2]
  for k, c in ipairs(order) do
    p[k] = count[c] / X.shape[1]
    local px = {}
    for j = m, 1, -1 do px[j], c = c % 2, c // 2 end
    rows[k] = px
  end
  return listing(G.tensor(rows, {dtype = "float64"}), p)
end, "autoreg.empirical(X) -> {images (K, 25), p (K), names}\n" ..
  "The distinct rows of X (n, 25) in code order with " ..
  "their frequencies: samples as a training set\n" ..
  "for autoreg.train.")

-- ---- the LSTM ---------------------------------------------------------------------------

local LSTM = nn.class("AutoregLSTM")
autoreg.LSTM = doc(LSTM, "autoreg.LSTM([{hidden=32, layers=2, seed=, dtype=}]) -> Module\n" ..
  "The seed's model: at step i the input is x_{i-1} " ..
  "(0 at step 1, a start symbol) and the output the\n" ..
  "logit of p(x_i = 1 | x_<i): lstm = nn.LSTM(1, hidden, " ..
  "{num_layers = layers}), head = nn.Linear(hidden, 1).\n" ..
  "PyTorch's names and parameter count (12,961 for " ..
  "the defaults). m:logits(X), m:nll(X), m:sample(n).")

function LSTM:__init(opts)
  opts = opts or {}
  local g = opts.seed and G.Generator(opts.seed) or opts.generator
  local o = {num_layers = opts.layers or 2, dtype = opts.dtype, generator = g}
  self:add("lstm", nn.LSTM(1, opts.hidden or 32, o))
  self:add("head", nn.Linear(opts.hidden or 32, 1, {dtype = opts.dtype, generator = g}))
end

-- The inputs of a batch X (B, 25): x shifted right by one, 0 first, as (25, B, 1).
local function inputs(X)
  local B = X.shape[1]
  local shifted = G.cat({G.zeros(B, 1, {dtype = X.dtype}), X:narrow(2, 1, X.shape[2] - 1)}, 2)
  return shifted:t():reshape(X.shape[2], B, 1)
end

function LSTM:logits(X)
  local y = self.lstm(inputs(X))                          -- (25, B, hidden)
  local T, B = y.shape[1], y.shape[2]
  return self.head(y:reshape(T * B, -1)):reshape(T, B):t()
end
doc(LSTM.logits, "m:logits(X) -> (B, 25)\n" ..
  "The logits of p(x_i = 1 | x_<i) for every row of X (B, 25) and every pixel, in one pass.")

function LSTM:nll(X)
  local z = self:logits(X)
  return nn.binary_cross_entropy_with_logits(z, X:to(z.dtype), "none"):sum(2)
end
doc(LSTM.nll, "m:nll(X) -> (B)\n-log q(x) in nats of each row of X under the model.")

-- One pixel per step for all n images: each layer's nn.lstm runs a single
-- time step from its own (h, c), without the module's per-call reshaping.
function LSTM:sample(n, opts)
  opts = opts or {}
  return G.no_grad(function()
    local lstm, dt = self.lstm, self.head.weight.dtype
    local H, L = lstm.hidden_size, lstm.num_layers
    local h, c = {}, {}
    for k = 1, L do
      h[k] = G.zeros(n, H, {dtype = dt})
      c[k] = h[k]
    end
    local x, cols = G.zeros(n, 1, 1, {dtype = dt}), {}
    for i = 1, NPIX do
      local y = x
      for k = 0, L - 1 do
        y, h[k + 1], c[k + 1] = nn.lstm(y, h[k + 1], c[k + 1], lstm["weight_ih_l" .. k],
                                        lstm["weight_hh_l" .. k], lstm["bias_ih_l" .. k], lstm["bias_hh_l" .. k])
      end
      local q = self.head(y:reshape(n, H)):sigmoid():reshape(n)
      cols[i] = G.rand(n, {dtype = dt, generator = opts.generator}):lt(q):to(dt)
      x = cols[i]:reshape(n, 1, 1)
    end
    return G.stack(cols, 2)
  end)
end
doc(LSTM.sample, "m:sample(n, [{generator=}]) -> (n, 25) of 0/1\n" ..
  "Autoregressive sampling, all n images one pixel per " ..
  "step: sigmoid of the logit, then a uniform draw.")

autoreg.kl_estimate = doc(function(model, cpts, X)
  local dt = model.head.weight.dtype
  local nll = G.no_grad(function() return model:nll(X:to(dt)) end):double()
  local d = autoreg.log_prob(cpts, X) + nll
  local n = X.shape[1]
  return d:mean():item(), d:std():item() / math.sqrt(n)
end, "autoreg.kl_estimate(model, cpts, X) -> kl, se\n" ..
  "KL(p || q) by Monte Carlo over samples X (n, 25) drawn from the CPTs: the mean of\n" ..
  "log p(x) - log q(x) and its standard error, for when p's support is too large to list.")

autoreg.score = doc(function(model, pics)
  local dt = model.head.weight.dtype
  local nll = G.no_grad(function() return model:nll(pics.images:to(dt)) end):double():totable()
  local p, q = pics.p:totable(), {}
  local kl, ce, mass = 0, 0, 0
  for k = 1, #p do
    q[k] = math.exp(-nll[k])
    kl = kl + p[k] * (math.log(p[k]) + nll[k])
    ce = ce + p[k] * nll[k]
    mass = mass + q[k]
  end
  return {q = q, kl = kl, cross_entropy = ce, outside = 1 - mass}
end, "autoreg.score(model, pictures) -> {q, kl, cross_entropy, outside}\n" ..
  "The model against p, exactly, by scoring every picture in one batch: q(x) per picture,\n" ..
  "KL(p || q) and E_p[-log q] in nats, and the probability mass q puts outside p's support.")

autoreg.train = doc(function(model, pics, opts)
  opts = opts or {}
  local steps, lr = opts.steps or 2000, opts.lr or 1e-2
  local dt = model.head.weight.dtype
  local X, w = pics.images:to(dt), pics.p:to(dt)
  local batch = opts.batch and X.shape[1] > opts.batch and opts.batch
  local pw = batch and pics.p:double()
  local opt = optim.Adam(model:parameters(), {lr = lr})
  local losses = {}
  for step = 1, steps do
    if opts.lr_end then opt:set_lr(lr * (opts.lr_end / lr) ^ ((step - 1) / math.max(1, steps - 1))) end
    opt:zero_grad()
    local loss
    if batch then                                         -- an unbiased estimate of the same
      local idx = G.categorical(pw, batch, {generator = opts.generator})
      loss = model:nll(X:index_select(1, idx)):mean()
    else
      loss = (model:nll(X) * w):sum()                     -- E_p[-log q(x)], exactly
    end
    loss:backward()
    opt:step()
    losses[step] = loss:item()
    if opts.on_step then opts.on_step(step, losses[step], losses) end
  end
  return losses
end, "autoreg.train(model, pictures, [{steps=2000, lr=1e-2, lr_end=, batch=, " ..
  "generator=, on_step=function(step, loss, losses)}]) -> losses\n" ..
  "Adam on the exact cross-entropy E_p[-log q(x)] = " ..
  "sum_k p_k nll(x_k), nats per image: the pictures\n" ..
  "(or any {images, p}: autoreg.distribution, " ..
  "autoreg.empirical) weighted by p, one full batch a step.\n" ..
  "Its floor is H(p) (autoreg.entropy, autoreg.cpts_entropy), " ..
  "reached when q = p. With batch = B and\n" ..
  "more than B images, each step draws B of them by p " ..
  "instead (an unbiased estimate of the same loss).\n" ..
  "(The seed's hint, the bare unique set, would fit a " ..
  "uniform distribution over the pictures instead.)")
