-- graphs.lua -- genlab.graphs: seed 002 problem 3, the classroom friendship
-- graphs.  Each classroom has n students with features x_i in [-1, 1]^m, and
-- each pair i < j is friends independently with probability
-- sigma(a x_i^T x_j + b).  The generator stands in for the course's
-- classroom_graphs.pkl with a stated ground truth (a*, b*) = (4, -1); the
-- log-likelihood, its hand-derived gradient and the Fisher information work
-- on all graphs at once, the i < j pairs as one strictly-lower-triangular mask
-- (numpy's tril_indices(n, k=-1)) over (count, n, n) tensors.  Run once at
-- start-up with the genlab module and the graphs table.
--
--   local D = graphs.generate()                       -- D.X (100, 15, 3), D.E (100, 15, 15)
--   local fit = graphs.fit(D.X, D.E, {iters = 200})   -- a, b, history of L
--   local se_a, se_b = graphs.standard_errors(fit.a, fit.b, D.X, D.E)
--   local S = graphs.sample(fit.a, fit.b, {count = 5})
local G, graphs = ...
local nn = G.nn

local lib = G._lib
local doc, raise = lib.doc, lib.raise

local F64 = {dtype = "float64"}
graphs.TRUTH = {a = 4.0, b = -1.0, count = 100, n = 15, m = 3, seed = 552}
G._doc(graphs.TRUTH, "graphs.TRUTH\n" ..
  "The ground truth of graphs.generate(): a* = 4, b* " ..
  "= -1, 100 graphs of n = 15 students with m = 3\n" ..
  "features, seed 552.")

local shape = lib.shape

-- The strictly lower triangle of an n x n matrix (i > j: each pair once).
local function pair_mask(n)
  local i = G.arange(1, n + 1, F64)
  return i:reshape(n, 1):gt(i:reshape(1, n)):to("float64")
end

local function check(X, E, where)
  if not (G.is_tensor(X) and X.ndim == 3 and G.is_tensor(E) and E.ndim == 3
          and E.shape[1] == X.shape[1] and E.shape[2] == X.shape[2] and E.shape[3] == X.shape[2]) then
    raise(string.format("%s: X must be (count, n, m) and E (count, n, n), got %s and %s", where,
                        G.is_tensor(X) and shape(X) or type(X), G.is_tensor(E) and shape(E) or type(E)))
  end
end

-- Pairwise inner products x_i^T x_j (count, n, n), the pair mask and the edges.
local function pairs_of(X, E, where)
  check(X, E, where)
  X, E = X:to("float64"), E:to("float64")
  return X:bmm(X:transpose(2, 3)), pair_mask(X.shape[2]), E
end

graphs.loglik = doc(function(a, b, X, E)
  local S, mask, Ef = pairs_of(X, E, "graphs.loglik")
  local s = S * a + b
  -- e log sigma(s) + (1 - e) log(1 - sigma(s)) = e s - log(1 + e^s)
  return ((Ef * s - s:softplus()) * mask):sum():item()
end, "graphs.loglik(a, b, X, E) -> number\n" ..
  "L(a, b) = sum over graphs and pairs i < j of e_ij " ..
  "log sigma(s_ij) + (1 - e_ij) log(1 - sigma(s_ij)),\n" ..
  "s_ij = a x_i^T x_j + b, as e s - softplus(s) (stable " ..
  "for any s). X (count, n, m), E (count, n, n).")

graphs.gradient = doc(function(a, b, X, E)
  local S, mask, Ef = pairs_of(X, E, "graphs.gradient")
  local r = (Ef - (S * a + b):sigmoid()) * mask
  return (r * S):sum():item(), r:sum():item()
end, "graphs.gradient(a, b, X, E) -> dL/da, dL/db\n" ..
  "The hand-derived gradient, no autodiff: dL/da = sum_{i<j} (e_ij - sigma_ij) x_i^T x_j and\n" ..
  "dL/db = sum_{i<j} (e_ij - sigma_ij), over all graphs as one masked computation.")

graphs.fisher = doc(function(a, b, X, E)
  local S, mask = pairs_of(X, E, "graphs.fisher")
  local p = (S * a + b):sigmoid()
  local v = p * (1 - p) * mask
  return (v * S * S):sum():item(), (v * S):sum():item(), v:sum():item()
end, "graphs.fisher(a, b, X, E) -> I_aa, I_ab, I_bb\n" ..
  "The Fisher information of (a, b), sum_{i<j} sigma_ij (1 - sigma_ij) [s^2, s; s, 1] with\n" ..
  "s = x_i^T x_j: for this model it is also minus the Hessian of L.")

graphs.standard_errors = doc(function(a, b, X, E)
  local Iaa, Iab, Ibb = graphs.fisher(a, b, X, E)
  local det = Iaa * Ibb - Iab * Iab
  if not (det > 0) then raise("graphs.standard_errors: the Fisher information is singular") end
  return math.sqrt(Ibb / det), math.sqrt(Iaa / det)
end, "graphs.standard_errors(a, b, X, E) -> se_a, se_b\n" ..
  "The square roots of the diagonal of the inverse " ..
  "Fisher information (closed form for 2 x 2),\n" ..
  "the asymptotic standard errors of the MLE.")

graphs.fit = doc(function(X, E, opts)
  opts = lib.options(opts, {iters = 300, lr = 10.0, a = false, b = false, generator = false,
                            on_step = false}, "graphs.fit")
  check(X, E, "graphs.fit")
  local n = X.shape[2]
  local npairs = X.shape[1] * n * (n - 1) / 2
  local init = G.randn(2, {dtype = "float64", generator = opts.generator or nil}):totable()
  local a, b = opts.a or init[1], opts.b or init[2]
  local hist = {a = {}, b = {}, loglik = {}}
  for it = 0, opts.iters do
    hist.a[it + 1], hist.b[it + 1], hist.loglik[it + 1] = a, b, graphs.loglik(a, b, X, E)
    if opts.on_step then opts.on_step(it, a, b, hist.loglik[it + 1]) end
    if it == opts.iters then break end
    local ga, gb = graphs.gradient(a, b, X, E)
    -- a step on the mean over pairs, so that lr does not depend on the data size
    a, b = a + opts.lr * ga / npairs, b + opts.lr * gb / npairs
  end
  return {a = a, b = b, a0 = hist.a[1], b0 = hist.b[1], history = hist, loglik = hist.loglik[#hist.loglik]}
end, "graphs.fit(X, E, [{iters=300, lr=10, a=, b=, generator=, on_step=}]) -> result\n" ..
  "Gradient ascent on L(a, b) with graphs.gradient " ..
  "from a random start (N(0, 1) each, or a, b),\n" ..
  "stepping by lr times the gradient divided by the " ..
  "number of pairs. result.a, .b, .a0, .b0, .loglik,\n" ..
  "and .history = {a = {...}, b = {...}, loglik = " ..
  "{...}} from iteration 0. on_step(it, a, b, L).")

graphs.sample = doc(function(a, b, opts)
  opts = lib.options(opts, {count = 5, n = 15, m = 3, generator = false}, "graphs.sample")
  local gen = opts.generator or nil
  local c, n = opts.count, opts.n
  local X = G.rand(c, n, opts.m, {dtype = "float64", generator = gen}) * 2 - 1
  local p = (X:bmm(X:transpose(2, 3)) * a + b):sigmoid()
  local lower = (G.rand(c, n, n, {dtype = "float64", generator = gen}):lt(p)):to("float64") * pair_mask(n)
  return {X = X, E = lower + lower:transpose(2, 3)}
end, "graphs.sample(a, b, [{count=5, n=15, m=3, generator=}]) -> {X =, E =}\n" ..
  "count classrooms: features x_i ~ U[-1, 1]^m (X " ..
  "(count, n, m)), then each pair i < j an edge with\n" ..
  "probability sigma(a x_i^T x_j + b), mirrored: E " ..
  "(count, n, n) symmetric 0/1 with a zero diagonal.")

graphs.generate = doc(function(opts)
  local T = graphs.TRUTH
  opts = lib.options(opts, {a = T.a, b = T.b, count = T.count, n = T.n, m = T.m, seed = T.seed}, "graphs.generate")
  local D = graphs.sample(opts.a, opts.b, {count = opts.count, n = opts.n, m = opts.m,
                                           generator = G.Generator(opts.seed)})
  D.a, D.b = opts.a, opts.b
  return D
end, "graphs.generate([{a=4, b=-1, count=100, n=15, m=3, seed=552}]) -> {X =, E =, a =, b =}\n" ..
  "The stand-in for classroom_graphs.pkl: graphs.sample " ..
  "at the ground truth graphs.TRUTH with a\n" ..
  "fixed seed, the same data on every machine.")

graphs.edges = doc(function(E)
  if not G.is_tensor(E) or E.ndim ~= 2 then raise("graphs.edges: E must be (n, n)") end
  local rows, out = E:totable(), {}
  for i = 1, #rows do
    for j = i + 1, #rows do if rows[i][j] ~= 0 then out[#out + 1] = {i, j} end end
  end
  return out
end, "graphs.edges(E) -> {{i, j}, ...}\n" ..
  "The edges i < j of one adjacency matrix E (n, n), 1-based, as fig:graph takes them.")

-- One graph of the course's pickle: a pair/list (X, E) or a table with
-- X/E, features/edges or x/e; X may be (m, n), as the seed writes it.
local function one_graph(g, k, path)
  local X = type(g) == "table" and (g.X or g.features or g.x or g[1])
  local E = type(g) == "table" and (g.E or g.edges or g.e or g.A or g[2])
  if not (G.is_tensor(X) and G.is_tensor(E)) then
    raise(string.format("graphs.load: %s: graph %d is a %s, not an (X, E) pair or a table with X and E",
                        path, k, G.is_tensor(g) and "tensor" or type(g)))
  end
  if X.ndim == 2 and X.shape[1] ~= E.shape[1] and X.shape[2] == E.shape[1] then X = X:t() end
  return X:to("float64"):contiguous(), E:to("float64"):contiguous()
end

graphs.load = doc(function(path)
  if path:match("%.npz$") then
    local z = G.data.read_npz(path)
    if not (z.X and z.E) then raise("graphs.load: " .. path .. " needs arrays X and E") end
    check(z.X, z.E, "graphs.load(" .. path .. ")")
    return {X = z.X:to("float64"), E = z.E:to("float64")}
  end
  local v = G.data.read_pickle(path)
  if type(v) ~= "table" then
    raise(("graphs.load: %s holds a %s, not a list of graphs"):format(path, G.is_tensor(v) and "tensor" or type(v)))
  end
  local X3, E3 = v.X or v[1], v.E or v[2]                  -- {X =, E =} or (X, E) of all graphs
  if G.is_tensor(X3) and X3.ndim == 3 and G.is_tensor(E3) then
    check(X3, E3, "graphs.load(" .. path .. ")")
    return {X = X3:to("float64"):contiguous(), E = E3:to("float64"):contiguous()}
  end
  local xs, es = {}, {}
  for k, g in ipairs(v.graphs or v) do xs[k], es[k] = one_graph(g, k, path) end
  if #xs == 0 then raise("graphs.load: no graphs in " .. path) end
  for k = 2, #xs do                         -- one size for all, as the exercise stacks them
    if lib.shape_str(xs[k]) ~= lib.shape_str(xs[1]) or lib.shape_str(es[k]) ~= lib.shape_str(es[1]) then
      raise(("graphs.load: %s: graph %d is X %s, E %s; graph 1 is X %s, E %s"):format(path, k,
            lib.shape(xs[k]), lib.shape(es[k]), lib.shape(xs[1]), lib.shape(es[1])))
    end
  end
  local D = {X = G.stack(xs), E = G.stack(es)}
  check(D.X, D.E, "graphs.load(" .. path .. ")")
  return D
end, "graphs.load(path) -> {X =, E =}\n" ..
  "The course's classroom_graphs.pkl (a list of (X, " ..
  "E) pairs or of tables with X and E, X may be\n" ..
  "(m, n); or one pair or dict of X (count, n, m) and " ..
  "E (count, n, n)) or an .npz with X and E, as\n" ..
  "float64.")

graphs.save = doc(function(path, D)
  check(D.X, D.E, "graphs.save")
  G.data.write_npz(path, {X = D.X, E = D.E})
  return path
end, "graphs.save(path, {X =, E =}) -> path\n" ..
  "Write the graphs as an .npz with X (count, n, " ..
  "m) and E (count, n, n), which graphs.load and\n" ..
  "numpy.load read.")
