-- rbm.lua -- genlab.models.RBM, the binary restricted Boltzmann machine of
-- seed 004 problem 4: CD-k and persistent CD, free energy, Gibbs sampling,
-- the exact log Z of a small layer and AIS for a large one.  The work is in C
-- (core/models/rbm.c: models._rbm_*); this file holds the object, its
-- checks and the training loop.  The parameter names W (nv, nh), b (nv) and
-- c (nh) are those of the PyTorch module in README.md.  Run once at start-up
-- with the genlab module and the models table.
--
--   local rbm = models.RBM(784, 128, {seed = 2025})
--   local h = rbm:fit(X, {k = 1, epochs = 10, batch = 64, lr = 0.01})
--   local F = rbm:free_energy(Xtest):mean():item()        -- the graded number
--   local logZ, se = rbm:ais{data = X}                      -- then
--   local ll = rbm:log_likelihood(Xtest)                    -- nats per image
local G, models = ...
local nn = G.nn

local lib = G._lib
local doc, raise, kernel, positive_int = lib.doc, lib.raise, lib.try, lib.positive_int
local shape = lib.shape

local RBM = lib.class("RBM")

-- V must be (N, nv) of the model's dtype.
local function check_points(self, V, where, what)
  if not G.is_tensor(V) or V.ndim ~= 2 or V.shape[2] ~= self.nv then
    raise(string.format("%s: %s must be (N, %d), one row per image, got %s", where, what or "points",
                        self.nv, G.is_tensor(V) and shape(V) or type(V)))
  end
  if V.dtype ~= self.dtype then
    raise(string.format("%s: %s are %s, the RBM %s (convert with :to(\"%s\"))", where, what or "points",
                        V.dtype, self.dtype, self.dtype))
  end
end

-- The RBM's own generator, or the one in opts.
local function gen(self, opts) return (opts and opts.generator) or self.generator end

models.RBM = RBM
function RBM:__init(nv, nh, opts)
  positive_int(nv, "n_visible", "RBM")
  positive_int(nh, "n_hidden", "RBM")
  opts = lib.options(opts, {seed = false, generator = false, dtype = "float32", std = 0.01}, "RBM")
  local g = opts.generator or (opts.seed and G.Generator(opts.seed)) or nil
  self.nv, self.nh, self.dtype, self.generator = nv, nh, opts.dtype, g
  self.W = G.randn(nv, nh, {dtype = opts.dtype, generator = g}) * opts.std
  self.b = G.zeros(nv, {dtype = opts.dtype})
  self.c = G.zeros(nh, {dtype = opts.dtype})
end
doc(RBM, "models.RBM(n_visible, n_hidden, [{seed=, generator=, dtype=\"float32\", std=0.01}]) -> RBM\n" ..
  "A binary RBM, E(v, h) = -b^T v - c^T h - v^T W h, " ..
  "with W (nv, nh) ~ N(0, std^2) and the biases b (nv)\n" ..
  "and c (nh) zero, as the usual starter code initialises " ..
  "them. seed gives the RBM its own generator,\n" ..
  "used for the weights and for every draw unless a " ..
  "method is given another. Methods: free_energy,\n" ..
  "gibbs, sample, grad, cd_step, fit, log_partition_exact, ais, log_likelihood, state_dict.")

function RBM:__tostring()
  return string.format("RBM(%d visible, %d hidden, %s)", self.nv, self.nh, self.dtype)
end

RBM.free_energy = doc(function(self, V)
  check_points(self, V, "RBM:free_energy")
  return kernel(models._rbm_free_energy, V, self.W, self.b, self.c)
end, "rbm:free_energy(V) -> Tensor\n" ..
  "(N) F(v) = -b^T v - sum_j softplus(c_j + v^T W_:j) for the rows of V (N, nv), so that\n" ..
  "p(v) = e^-F(v) / Z. Stable for any finite input (softplus as max(x, 0) + log1p(e^-|x|)).")

RBM.hidden_probs = doc(function(self, V)
  check_points(self, V, "RBM:hidden_probs")
  return (V:matmul(self.W) + self.c):sigmoid()
end, "rbm:hidden_probs(V) -> Tensor\n(N, nh) p(h_j = 1 | v) = sigmoid(c_j + v^T W_:j).")

-- The parameters of the RBM at temperature T: p_T(v, h) ~ exp(-E(v, h) / T).
local function tempered(self, T, where)
  if type(T) ~= "number" or not (T > 0) or T == math.huge then
    raise(string.format("%s: temperature must be a positive number, got %s", where, tostring(T)))
  end
  if T == 1 then return self.W, self.b, self.c end
  return self.W / T, self.b / T, self.c / T
end

RBM.gibbs = doc(function(self, V, k, opts)
  check_points(self, V, "RBM:gibbs", "start states")
  positive_int(k, "k", "RBM:gibbs")
  opts = lib.options(opts, {generator = false, temperature = 1}, "RBM:gibbs")
  local W, b, c = tempered(self, opts.temperature, "RBM:gibbs")
  return kernel(models._rbm_gibbs, V, k, W, b, c, {generator = gen(self, opts)})
end, "rbm:gibbs(V, k, [{generator=, temperature=1}]) -> Vk, PV\n" ..
  "k alternating block-Gibbs steps from each row of V (h ~ p(h | v), then v ~ p(v | h)):\n" ..
  "the binary states after the last step and their means p(v = 1 | h). Bernoulli draws compare\n" ..
  "uniforms with the probabilities; each row has its " ..
  "own stream, so the result does not depend on\n" ..
  "the thread count. " ..
  "At temperature T the chains sample p(v, h)^(1/T) " ..
  "(W, b and c divided by T): T > 1 flattens\n" ..
  "the modes and mixes faster, T < 1 sharpens them.")

RBM.sample = doc(function(self, n, opts)
  positive_int(n, "n", "RBM:sample")
  opts = lib.options(opts, {steps = 1000, init = "random", generator = false, temperature = 1}, "RBM:sample")
  positive_int(opts.steps, "steps", "RBM:sample")
  local g = gen(self, opts)
  local V0
  if opts.init == "random" then
    V0 = G.rand(n, self.nv, {dtype = self.dtype, generator = g}):lt(0.5):to(self.dtype)
  elseif G.is_tensor(opts.init) then
    check_points(self, opts.init, "RBM:sample", "init")
    if opts.init.shape[1] ~= n then
      raise(string.format("RBM:sample: init has %d rows for %d chains", opts.init.shape[1], n))
    end
    V0 = opts.init
  else
    raise("RBM:sample: init must be \"random\" or an (n, nv) tensor of start states")
  end
  local W, b, c = tempered(self, opts.temperature, "RBM:sample")
  local Vk, PV = kernel(models._rbm_gibbs, V0, opts.steps, W, b, c, {generator = g})
  return PV, Vk
end, "rbm:sample(n, [{steps=1000, init=\"random\"|V, " ..
  "generator=, temperature=1}]) -> images, states\n" ..
  "Runs n chains for steps Gibbs steps from uniform " ..
  "random binary states (or from the rows of V)\n" ..
  "and returns the visible means p(v = 1 | h) of the " ..
  "last step (n, nv), the images to look at, and\n" ..
  "the binary states.")

RBM.grad = doc(function(self, V0, Vk)
  check_points(self, V0, "RBM:grad", "positive states")
  check_points(self, Vk, "RBM:grad", "negative states")
  return kernel(models._rbm_cd_grad, V0, Vk, self.W, self.b, self.c)
end, "rbm:grad(V0, Vk) -> gW, gb, gc\n" ..
  "The CD direction for the data V0 and the negative samples Vk (both (B, nv)):\n" ..
  "gW = (V0^T P0 - Vk^T Pk) / B, gb = mean(V0 - Vk), gc = mean(P0 - Pk), P = sigmoid(V W + c),\n" ..
  "written by hand as in the seed's starter. It is " ..
  "minus the gradient of mean F(V0) - mean F(Vk) at\n" ..
  "fixed Vk, and cd_step ascends it.")

-- Momentum buffers and PCD chains live on the object between steps.
local function step_state(self, V, opts)
  local t = {k = opts.k, lr = opts.lr, momentum = opts.momentum, weight_decay = opts.weight_decay,
             generator = gen(self, opts), samples = opts.samples or nil}
  if opts.momentum > 0 then
    if not self.vW then
      self.vW, self.vb, self.vc = G.zeros_like(self.W), G.zeros_like(self.b), G.zeros_like(self.c)
    end
    t.vW, t.vb, t.vc = self.vW, self.vb, self.vc
  end
  if opts.persistent then
    if not self.chain or self.chain.shape[1] ~= V.shape[1] then self.chain = V:clone() end
    t.chain = self.chain
  end
  return t
end

RBM.cd_step = doc(function(self, V, k, opts)
  check_points(self, V, "RBM:cd_step", "the batch")
  positive_int(k, "k", "RBM:cd_step")
  opts = lib.options(opts, {lr = 0.01, momentum = 0, weight_decay = 0, persistent = false, generator = false,
                            samples = false}, "RBM:cd_step")
  opts.k = k
  return kernel(models._rbm_cd_step, V, self.W, self.b, self.c, step_state(self, V, opts))
end, "rbm:cd_step(V, k, [{lr=0.01, momentum=0, weight_decay=0, " ..
  "persistent=false, generator=, samples=false}]) -> recon, [Vk]\n" ..
  "One CD-k update from the batch V (B, nv), in place: " ..
  "the negative chain runs k Gibbs steps from\n" ..
  "the data (or, persistent=true, from the chains the " ..
  "last call left, the first call starting them\n" ..
  "at its batch: PCD), then\n" ..
  "theta += lr g (plus momentum vel and -lr weight_decay W; g = rbm:grad(V, Vk)). Returns the\n" ..
  "one-step reconstruction error, the batch mean of " ..
  "sum_i (v_i - p(v_i = 1 | h0))^2 with h0 ~ p(h | v),\n" ..
  "and, with samples=true, after it the negative samples Vk.")

RBM.fit = doc(function(self, X, opts)
  check_points(self, X, "RBM:fit", "training images")
  opts = lib.options(opts, {k = 1, epochs = 1, batch = 64, lr = 0.01, momentum = 0, weight_decay = 0,
                            persistent = false, generator = false, test = false, on_epoch = false,
                            on_batch = false}, "RBM:fit")
  positive_int(opts.k, "k", "RBM:fit")
  positive_int(opts.epochs, "epochs", "RBM:fit")
  positive_int(opts.batch, "batch", "RBM:fit")
  if opts.test then check_points(self, opts.test, "RBM:fit", "test images") end
  local N = X.shape[1]
  local nb = N // opts.batch
  if nb < 1 then raise(string.format("RBM:fit: %d images make no batch of %d", N, opts.batch)) end
  local g = gen(self, opts)
  local step = {lr = opts.lr, momentum = opts.momentum, weight_decay = opts.weight_decay,
                persistent = opts.persistent, generator = g}
  local h = {train_fe = {}, test_fe = {}, recon = {}, secs = {}}
  for e = 1, opts.epochs do
    local t0 = G.time()
    local perm = G.randperm(N, {generator = g})
    local rec = 0
    for i = 1, nb do
      local V = X:index_select(1, perm:narrow(1, (i - 1) * opts.batch + 1, opts.batch))
      rec = rec + self:cd_step(V, opts.k, step)
      if opts.on_batch then opts.on_batch(i, nb, rec / i) end
    end
    h.secs[e] = G.time() - t0
    h.recon[e] = rec / nb
    h.train_fe[e] = self:free_energy(X):mean():item()
    h.test_fe[e] = opts.test and self:free_energy(opts.test):mean():item() or nil
    if opts.on_epoch then opts.on_epoch(e, h) end
  end
  return h
end, "rbm:fit(X, [{k=1, epochs=1, batch=64, lr=0.01, momentum=0, weight_decay=0, " ..
  "persistent=false, generator=, test=, on_epoch=, on_batch=}]) -> history\n" ..
  "Trains by CD-k (or PCD) on the rows of X: each " ..
  "epoch shuffles X and takes its floor(N / batch)\n" ..
  "full batches (the rest waits for another epoch's shuffle). history holds per epoch the mean\n" ..
  "reconstruction error (recon), the mean free energy " ..
  "of X (train_fe) and of test (test_fe) and\n" ..
  "the seconds the updates took (secs); on_epoch(e, history) runs after each epoch and\n" ..
  "on_batch(i, nbatches, mean recon so far) after each batch.")

RBM.fit_job = doc(function(arg, send)
  local o = lib.options(arg, {k = 1, hidden = 128, epochs = 1, train = 60000, test = 10000, batch = 64, lr = 0.05,
                              momentum = 0.5, persistent = false, seed = 2025, steps = 1000, ais_runs = 100,
                              ais_betas = 10000, live = false}, "RBM.fit_job")
  local Xtr = G.data.mnist{flat = true, binarize = true, limit = o.train}
  local Xte = G.data.mnist{flat = true, binarize = true, split = "test", limit = o.test}
  local starts = Xte:narrow(1, 1, math.min(64, Xte.shape[1]))
  local noise = G.rand(starts.shape[1], 784, {generator = G.Generator(o.seed)}):lt(Xtr:mean(1)):to("float32")
  local rbm = RBM(784, o.hidden, {seed = o.seed})
  local function chains()                  -- the same chains every epoch: the model changes, not the draw
    local out = {}
    for name, init in pairs{data = starts, random = noise} do
      out[name] = rbm:sample(starts.shape[1], {steps = o.steps, init = init, generator = G.Generator(o.seed)})
    end
    return out
  end
  local h = rbm:fit(Xtr, {k = o.k, epochs = o.epochs, batch = o.batch, lr = o.lr, momentum = o.momentum,
                          persistent = o.persistent, test = Xte,
    on_batch = function(b)
      if o.live and b % 200 == 0 then send{filters = rbm.W:t()} end
    end,
    on_epoch = function(e, hist)                -- unwatched, only the last epoch's chains are seen
      send{epoch = e, train_fe = hist.train_fe[e], test_fe = hist.test_fe[e], recon = hist.recon[e],
           secs = hist.secs[e], chains = (o.live or e == o.epochs) and chains() or nil, filters = rbm.W:t()}
    end})
  local t0 = G.time()
  local logZ, se = rbm:ais{runs = o.ais_runs, betas = o.ais_betas, data = Xtr, generator = G.Generator(o.seed)}
  return {history = h, state = rbm:state_dict(), logZ = logZ, se = se, ll = rbm:log_likelihood(Xte),
          ais_secs = G.time() - t0}
end, "models.RBM.fit_job({k=1, hidden=128, epochs=1, train=60000, test=10000, batch=64, lr=0.05, " ..
  "momentum=0.5,\npersistent=false, seed=2025, steps=1000, ais_runs=100, ais_betas=10000, live=false}, send)\n" ..
  "  -> {history, state, logZ, se, ll, ais_secs}\n" ..
  "Seed 004's RBM for one k as a genlab.jobs task: binary MNIST (the first train and test images),\n" ..
  "RBM(784, hidden) from seed trained by rbm:fit with the test set; after each epoch send{epoch,\n" ..
  "train_fe, test_fe, recon, secs, chains = {data, random}, filters}: steps Gibbs steps from the\n" ..
  "first 64 test images and from 64 images of independent pixels at the training set's rates\n" ..
  "(generators seeded with seed, so the last epoch's are the same whichever epochs draw them),\n" ..
  "and W^T. With live (a window watches), chains every epoch and W^T every 200 batches too;\n" ..
  "without, chains after the last epoch only (they cost 2 x 64 x steps Gibbs steps). Then log Z\n" ..
  "by AIS (base rates of the training images) and the test log-likelihood.")

RBM.log_partition_exact = doc(function(self)
  return kernel(models._rbm_log_partition, self.W, self.b, self.c)
end, "rbm:log_partition_exact() -> number\n" ..
  "log Z, summed exactly over the states of the " ..
  "smaller layer (at most 24 units: 2^24 terms of\n" ..
  "O(nv nh) each) in blocks, in log space and double " ..
  "precision. The time doubles with each unit:\n" ..
  "0.3 s for 784 x 16 on two cores, 5 s for 784 x 20, about 90 s for 784 x 24.")

RBM.base_rates = doc(function(X)
  if not G.is_tensor(X) or X.ndim ~= 2 then
    raise("RBM.base_rates: X must be an (N, nv) tensor of binary images")
  end
  local p = (X:sum(1) + 1) / (X.shape[1] + 2)
  return (p / (1 - p)):log()
end, "models.RBM.base_rates(X) -> Tensor\n" ..
  "The visible biases of AIS's base-rate model: the " ..
  "log-odds log(p_i / (1 - p_i)) of each pixel's\n" ..
  "frequency in X with one pseudo-count each way, " ..
  "p_i = (sum_n x_ni + 1) / (N + 2), so finite for\n" ..
  "pixels that never (or always) fire.")

RBM.independent_log_likelihood = doc(function(X, V)
  if not G.is_tensor(V) or V.ndim ~= 2 or V.shape[2] ~= X.shape[2] then
    raise("RBM.independent_log_likelihood: V must be an (N, nv) tensor with X's nv columns")
  end
  local logit = RBM.base_rates(X):double()                     -- log(p / (1 - p))
  local log1m = logit:exp():log1p():neg()                      -- log(1 - p) = -log(1 + p / (1 - p))
  local lp = V:double():matmul(logit:reshape(-1, 1)):reshape(-1) + log1m:sum():item()
  return lp:mean():item(), lp
end, "models.RBM.independent_log_likelihood(X, V) -> mean, per_row\n" ..
  "The exact log-likelihood (nats) of the binary rows " ..
  "of V under the independent-pixel model fitted\n" ..
  "to X: each pixel a Bernoulli with p_i = (sum_n x_ni " ..
  "+ 1) / (N + 2) (RBM.base_rates' frequencies, AIS's\n" ..
  "starting model), log p(v) = sum_i v_i log p_i + (1 " ..
  "- v_i) log(1 - p_i): the baseline an RBM must beat.")

RBM.ais = doc(function(self, opts)
  opts = lib.options(opts, {runs = 100, betas = 10000, data = false, base = false, generator = false}, "RBM:ais")
  positive_int(opts.runs, "runs", "RBM:ais")
  positive_int(opts.betas, "betas", "RBM:ais")
  local base = opts.base
  if not base and opts.data then
    check_points(self, opts.data, "RBM:ais", "data")
    base = RBM.base_rates(opts.data)
  end
  base = base or G.zeros(self.nv, {dtype = self.dtype})
  local logZ, se, logw = kernel(models._rbm_ais, self.W, self.b, self.c, base:to(self.dtype):contiguous(), opts.runs,
                                         opts.betas, {generator = gen(self, opts)})
  self.logZ, self.logZ_se = logZ, se
  return logZ, se, logw
end, "rbm:ais([{runs=100, betas=10000, data=, base=, generator=}]) -> logZ, se, logw\n" ..
  "Annealed importance sampling (Salakhutdinov & Murray 2008) of log Z: runs chains from the\n" ..
  "base-rate model (independent pixels with biases " ..
  "base, or RBM.base_rates(data), or 0) through\n" ..
  "betas intermediate models p_beta(v) ~ exp((1 - beta) base^T " ..
  "v + beta b^T v) prod_j (1 + e^(beta (c_j + v^T W_:j))),\n" ..
  "beta spaced evenly within [0, 0.5], [0.5, 0.9], " ..
  "[0.9, 1] in the ratio 500 : 4000 : 10000 of the\n" ..
  "steps. Returns log Z, its delta-method standard " ..
  "error sd(w) / (sqrt(runs) mean(w)) and the runs'\n" ..
  "log weights (runs, float64), and keeps logZ and logZ_se on the RBM for log_likelihood.")

RBM.log_likelihood = doc(function(self, V, opts)
  check_points(self, V, "RBM:log_likelihood")
  opts = lib.options(opts, {logZ = false}, "RBM:log_likelihood")
  local logZ = opts.logZ or self.logZ
  if not logZ then
    raise("RBM:log_likelihood: log Z is unknown: run rbm:ais() " ..
      "or pass {logZ = rbm:log_partition_exact()}")
  end
  local lp = self:free_energy(V):neg() - logZ
  return lp:mean():item(), lp
end, "rbm:log_likelihood(V, [{logZ=}]) -> mean, per_row\n" ..
  "log p(v) = -F(v) - log Z in nats for the rows of V: the mean and the (N) values. log Z is\n" ..
  "opts.logZ, else the last rbm:ais() estimate (whose standard error, rbm.logZ_se, carries over).")

RBM.state_dict = doc(function(self)
  return {W = self.W, b = self.b, c = self.c}
end, "rbm:state_dict() -> {W=, b=, c=}\n" ..
  "The parameters under the PyTorch module's names (README.md), for genlab.save and\n" ..
  "genlab.save_pt: torch's load_state_dict(strict=True) takes the .pt.")

RBM.load_state_dict = doc(function(self, sd)
  local names = {W = {self.nv, self.nh}, b = {self.nv}, c = {self.nh}}
  for name, want in pairs(names) do
    local t = sd[name]
    if not G.is_tensor(t) then raise("RBM:load_state_dict: the checkpoint lacks " .. name) end
    if t.ndim ~= #want or t.shape[1] ~= want[1] or (want[2] and t.shape[2] ~= want[2]) then
      raise(string.format("RBM:load_state_dict: %s: checkpoint has %s, model has (%s)", name, shape(t),
                          table.concat(want, "x")))
    end
  end
  for k in pairs(sd) do
    if not names[k] then raise("RBM:load_state_dict: the checkpoint has an unknown entry " .. tostring(k)) end
  end
  self.W, self.b, self.c = sd.W:to(self.dtype):clone(), sd.b:to(self.dtype):clone(), sd.c:to(self.dtype):clone()
  self.vW, self.vb, self.vc, self.chain, self.logZ, self.logZ_se = nil, nil, nil, nil, nil, nil
  return self
end, "rbm:load_state_dict(sd) -> rbm\n" ..
  "Copies W, b and c from a state dict (G.load or " ..
  "G.load_pt), checking each shape; an unknown or\n" ..
  "missing entry is an error. Momentum, chains and log Z are reset.")
