-- vae.lua -- genlab.vae: seed 004 problem 4's variational auto-encoders on
-- MNIST, VAE1 (an MLP) and VAE2 (the CNN of Tables 1-2), with the seed's
-- loss: -ELBO = MSE(sum over pixels) + KL(q(z|x) || N(0, I)), averaged over
-- the batch.  The layer lists live here and nowhere else; the parameter
-- names are those of the PyTorch classes in README.md, so a state dict
-- written by genlab.save_pt loads there with load_state_dict(strict=True).
-- Run once at start-up with the genlab module and the vae table.
--
--   local m = vae.MLP{nz = 20, seed = 2025}         -- or vae.CNN{nz = 20}
--   local opt = G.optim.Adam(m:parameters(), {lr = 1e-3})
--   vae.train_epoch(m, opt, X, {batch = 128, generator = g})
--   local s = m:elbo(Xtest)                         -- {rec, kl, neg_elbo}, no graph
--   local imgs = m:sample(64)                       -- (64, 784) or (64, 1, 28, 28)
local G, vae = ...
local nn = G.nn

local lib = G._lib
local doc, raise = lib.doc, lib.raise

local D, SIDE = 784, 28

-- ---- the loss -------------------------------------------------------------------------

vae.kl = doc(function(mean, logvar)
  return nn.gaussian_kl(mean, logvar)
end, "vae.kl(mean, logvar) -> (B)\n" ..
  "KL(N(mean, diag(exp(logvar))) || N(0, I)) of each row in closed form,\n" ..
  "-1/2 sum_j (1 + logvar_j - mean_j^2 - exp(logvar_j)) (nn.gaussian_kl: one op, the bits of\n" ..
  "((logvar + 1) - mean * mean - logvar:exp()):sum(2) * -0.5); differentiable. The encoder\n" ..
  "outputs the log-variance, so the variance exp(logvar) is positive without a constraint.")

-- ---- the base class -------------------------------------------------------------------

local VAE = nn.class("VAE")
vae.VAE = doc(VAE, "vae.VAE -> class\n" ..
  "The base of vae.MLP and vae.CNN: a subclass sets " ..
  "self.nz and self.shape (the input shape of one\n" ..
  "image) and defines encode_raw(x) -> (B, 2 nz) and " ..
  "decode(z); the loss, sampling and metrics come from here.")

local shape_str = lib.shape_str

-- Options shared by both constructors: a private generator from seed, the dtype.
local function layer_opts(opts, where, hidden)
  local defaults = {nz = 20, seed = false, generator = false, dtype = false}
  defaults.hidden = hidden
  opts = lib.options(opts, defaults, where)
  local g = opts.seed and G.Generator(opts.seed) or opts.generator or nil
  if math.type(opts.nz) ~= "integer" or opts.nz < 1 then
    raise(string.format("%s: nz must be a positive integer, got %s", where, tostring(opts.nz)))
  end
  return opts, {dtype = opts.dtype or nil, generator = g}
end

-- X as the model takes it (B rows of self.shape, e.g. (B, 784) or (B, 1, 28,
-- 28)), in the parameters' dtype; any shape with that many values a row is
-- accepted ((B, 28, 28) for either model).
function VAE:input(X)
  if not G.is_tensor(X) then raise(self.__name .. ": expected a tensor of images, got a " .. type(X)) end
  local want, per = {X.shape[1] or 0}, 1
  for _, n in ipairs(self.shape) do want[#want + 1], per = n, per * n end
  if X.ndim < 2 or X:numel() ~= want[1] * per then
    raise(string.format("%s: expected (B, %s) images (%d values a row), got %s", self.__name,
                        table.concat(self.shape, ", "), per, X.ndim == 0 and "a scalar" or shape_str(X)))
  end
  local dt = self:dtype()
  X = X.dtype == dt and X or X:to(dt)
  return X:reshape(table.unpack(want))
end

function VAE:dtype() return self:parameters()[1].dtype end

function VAE:encode(X)
  local h = self:encode_raw(self:input(X))
  return h:narrow(2, 1, self.nz), h:narrow(2, self.nz + 1, self.nz)
end

-- The reparameterisation z = mean + exp(logvar / 2) eps, eps ~ N(0, I).
function VAE:forward(X, eps, opts)
  local x = self:input(X)
  local mean, logvar = self:encode(x)
  if eps == nil then
    eps = G.randn(x.shape[1], self.nz, {dtype = mean.dtype, generator = opts and opts.generator})
  elseif shape_str(eps) ~= shape_str(mean) then
    raise(string.format("%s: eps is %s, the latent means are %s", self.__name, shape_str(eps), shape_str(mean)))
  end
  local z = nn.reparameterize(mean, logvar, eps)          -- mean + (logvar * 0.5):exp() * eps
  return self:decode(z), mean, logvar, z
end

function VAE:loss(X, opts)
  opts = opts or {}
  local x = self:input(X)
  local xr, mean, logvar = self:forward(x, opts.eps, opts)
  local B = x.shape[1]
  local rec = nn.mse_loss(xr, x, "sum") / B
  local kl = vae.kl(mean, logvar):sum() / B
  return rec + kl, rec, kl
end

-- Blocks of opts.batch rows of X, each through f(x) under no_grad.
local function in_blocks(X, batch, f)
  local n = X.shape[1]
  G.no_grad(function()
    for s = 1, n, batch do f(X:narrow(1, s, math.min(batch, n - s + 1))) end
  end)
end

function VAE:elbo(X, opts)
  opts = opts or {}
  local n, rec, kl = X.shape[1], 0, 0
  in_blocks(X, opts.batch or 256, function(x)             -- a CNN's activations of 256 images stay in cache
    local _, r, k = self:loss(x, {generator = opts.generator})
    rec, kl = rec + r:item() * x.shape[1], kl + k:item() * x.shape[1]
  end)
  return {rec = rec / n, kl = kl / n, neg_elbo = (rec + kl) / n, n = n}
end

function VAE:reconstruct(X, opts)
  opts = opts or {}
  local parts = {}
  in_blocks(X, opts.batch or 1000, function(x)
    if opts.sample then
      parts[#parts + 1] = self:forward(x, nil, opts)
    else
      parts[#parts + 1] = self:decode((self:encode(x)))
    end
  end)
  return G.cat(parts, 1)
end

function VAE:sample(n, opts)
  opts = opts or {}
  local z = G.randn(n, self.nz, {dtype = self:dtype(), generator = opts.generator})
  return G.no_grad(function() return self:decode(z) end)
end

doc(VAE.input, "m:input(X) -> Tensor\n" ..
  "X reshaped to the model's input, (B, 784) for the " ..
  "MLP or (B, 1, 28, 28) for the CNN (either takes\n" ..
  "any of those and (B, 28, 28)), and cast to its dtype; " ..
  "a row of another size is an error naming the shape.")
doc(VAE.dtype, "m:dtype() -> \"float32\" | \"float64\"\nThe dtype of the parameters.")
doc(VAE.encode, "m:encode(X) -> mean, logvar\n" ..
  "The parameters of q(z | x) for each image of X: two (B, nz) tensors, differentiable.")
doc(VAE.forward, "m(X, [eps], [{generator=}]) -> xr, mean, logvar, z\n" ..
  "One pass: encode, z = mean + exp(logvar / 2) eps " ..
  "(eps ~ N(0, I) drawn with the generator when not\n" ..
  "given, or the (B, nz) tensor passed), decode. xr has the model's image shape.")
doc(VAE.loss, "m:loss(X, [{eps=, generator=}]) -> loss, rec, kl\n" ..
  "The seed's -ELBO on a batch, as scalar tensors with " ..
  "their graph: rec = sum over pixels of (xr - x)^2,\n" ..
  "kl = KL(q(z|x) || N(0, I)) in closed form, both averaged over the batch; loss = rec + kl.\n" ..
  "(The MSE is -log p(x|z) for p(x|z) = N(xr, I/2) up to the constant (784/2) log pi.)")
doc(VAE.elbo, "m:elbo(X, [{batch=256, generator=}]) -> {rec, kl, neg_elbo, n}\n" ..
  "Test metrics per image over all of X, in blocks of " ..
  "batch rows without a graph: the reconstruction\n" ..
  "loss (the graded metric: MSE summed over pixels, z " ..
  "drawn from q once per image), the KL, their sum.")
doc(VAE.reconstruct, "m:reconstruct(X, [{batch=1000, sample=false, generator=}]) -> Tensor\n" ..
  "The decoded images of X, through z = mean (or a draw " ..
  "from q with sample = true), in blocks, no graph.")
doc(VAE.sample, "m:sample(n, [{generator=}]) -> Tensor\n" ..
  "n images decoded from z ~ N(0, I), without a graph.")

-- ---- VAE1: the MLP ---------------------------------------------------------------------

local MLP = nn.class("VAE_MLP", VAE)
vae.MLP = doc(MLP, "vae.MLP([{nz=20, hidden=500, seed=, generator=, dtype=}]) -> Module\n" ..
  "Seed 004's VAE1: enc = Sequential(Linear(784, hidden), " ..
  "Tanh, Linear(hidden, 2 nz)) giving the mean and\n" ..
  "log-variance; dec = Sequential(Linear(nz, hidden), " ..
  "Tanh, Linear(hidden, 784), Sigmoid). Images are\n" ..
  "(B, 784). PyTorch's init and names (enc.0.weight ... dec.2.bias): the class VAE in README.md.")

function MLP:__init(opts)
  local o, lo = layer_opts(opts, "vae.MLP", 500)
  self.nz, self.shape = o.nz, {D}
  self:add("enc", nn.Sequential(nn.Linear(D, o.hidden, lo), nn.Tanh(), nn.Linear(o.hidden, 2 * o.nz, lo)))
  self:add("dec", nn.Sequential(nn.Linear(o.nz, o.hidden, lo), nn.Tanh(), nn.Linear(o.hidden, D, lo), nn.Sigmoid()))
end

function MLP:encode_raw(x) return self.enc(x) end
function MLP:decode(z) return self.dec(z) end
doc(MLP.encode_raw, "m:encode_raw(x) -> (B, 2 nz)\n" ..
  "The encoder's output, the means then the log-variances.")
doc(MLP.decode, "m:decode(z) -> (B, 784)\n" ..
  "The decoder's pixel means in (0, 1) for latents z (B, nz).")

-- ---- VAE2: the CNN of Tables 1 and 2 ----------------------------------------------------

local CNN = nn.class("VAE_CNN", VAE)
vae.CNN = doc(CNN, "vae.CNN([{nz=20, seed=, generator=, dtype=}]) -> Module\n" ..
  "Seed 004's VAE2, Tables 1-2: enc = 3 x [Conv2d(., 8, 3, " ..
  "padding 1), ReLU, MaxPool2d(2, 2)] (28 -> 14 -> 7 -> 3),\n" ..
  "Flatten (72), Linear(72, 2 nz) (the mean and " ..
  "log-variance); fc = Linear(nz, 72), viewed as (8, 3, 3);\n" ..
  "dec = ConvTranspose2d(8, 8, 2, stride 2, output_padding " ..
  "1) (-> 7), ReLU, ConvTranspose2d(8, 8, 2, stride 2)\n" ..
  "(-> 14), ReLU, ConvTranspose2d(8, 8, 2, stride 2) (-> " ..
  "28), ReLU, Conv2d(8, 1, 3, padding 1), Sigmoid.\n" ..
  "Images are (B, 1, 28, 28). PyTorch's init and names: the class ConvVAE in README.md.")

function CNN:__init(opts)
  local o, lo = layer_opts(opts, "vae.CNN")
  self.nz, self.shape = o.nz, {1, SIDE, SIDE}
  local conv = {padding = 1, dtype = lo.dtype, generator = lo.generator}
  local enc = {}
  for _, cin in ipairs{1, 8, 8} do
    enc[#enc + 1] = nn.Conv2d(cin, 8, 3, conv)
    enc[#enc + 1] = nn.ReLU()
    enc[#enc + 1] = nn.MaxPool2d(2, 2)
  end
  enc[#enc + 1] = nn.Flatten()
  enc[#enc + 1] = nn.Linear(72, 2 * o.nz, lo)
  self:add("enc", nn.Sequential(table.unpack(enc)))
  self:add("fc", nn.Linear(o.nz, 72, lo))
  local up = {stride = 2, dtype = lo.dtype, generator = lo.generator}
  local up1 = {stride = 2, output_padding = 1, dtype = lo.dtype, generator = lo.generator}
  self:add("dec", nn.Sequential(nn.ConvTranspose2d(8, 8, 2, up1), nn.ReLU(),
                                nn.ConvTranspose2d(8, 8, 2, up), nn.ReLU(),
                                nn.ConvTranspose2d(8, 8, 2, up), nn.ReLU(),
                                nn.Conv2d(8, 1, 3, conv), nn.Sigmoid()))
end

function CNN:encode_raw(x) return self.enc(x) end
function CNN:decode(z) return self.dec(self.fc(z):reshape(z.shape[1], 8, 3, 3)) end
doc(CNN.encode_raw, "m:encode_raw(x) -> (B, 2 nz)\n" ..
  "The encoder's output for x (B, 1, 28, 28), the means then the log-variances.")
doc(CNN.decode, "m:decode(z) -> (B, 1, 28, 28)\n" ..
  "fc, viewed as (B, 8, 3, 3), then the transposed convolutions: pixel means in (0, 1).")

-- ---- training ---------------------------------------------------------------------------

vae.train_epoch = doc(function(model, opt, X, opts)
  opts = opts or {}
  local g, total, n, k = opts.generator, 0, 0, 0
  for xb in G.data.batches(X, opts.batch or 128, {generator = g}) do
    local loss = model:loss(xb, {generator = g})
    local v = loss:item()
    k = k + 1
    if v ~= v or v == math.huge then
      raise(string.format("vae.train_epoch: -ELBO is %s at batch %d (lower the learning rate)", tostring(v), k))
    end
    opt:zero_grad()
    loss:backward()
    opt:step()
    total, n = total + v * xb.shape[1], n + xb.shape[1]
    if opts.on_batch then opts.on_batch(k, v) end
  end
  return total / n
end, "vae.train_epoch(model, opt, X, [{batch=128, generator=, " ..
  "on_batch=function(k, loss)}]) -> mean loss\n" ..
  "One epoch of the optimiser over shuffled minibatches " ..
  "of X, each step on m:loss (eps drawn with the\n" ..
  "same generator, so a seed fixes every number); returns " ..
  "the mean training -ELBO per image. A loss that\n" ..
  "turns inf or nan stops with the batch number.")

vae.fit = doc(function(model, Xtr, Xte, opts)
  opts = lib.options(opts, {epochs = 1, batch = 128, lr = 1e-3, seed = 2025, on_epoch = false}, "vae.fit")
  local g, geval = G.Generator(opts.seed), G.Generator(opts.seed + 1)
  local opt = G.optim.Adam(model:parameters(), {lr = opts.lr})
  local h = {train = {}, rec = {}, kl = {}, neg_elbo = {}, secs = {}}
  for e = 1, opts.epochs do
    local t0 = G.time()
    h.train[e] = vae.train_epoch(model, opt, Xtr, {batch = opts.batch, generator = g})
    h.secs[e] = G.time() - t0
    geval:seed(opts.seed + 1)                    -- the same eps every epoch: the curve shows the model only
    local s = model:elbo(Xte, {generator = geval})
    h.rec[e], h.kl[e], h.neg_elbo[e] = s.rec, s.kl, s.neg_elbo
    if opts.on_epoch then opts.on_epoch(e, h) end
  end
  return h
end, "vae.fit(model, Xtrain, Xtest, [{epochs=1, batch=128, lr=1e-3, " ..
  "seed=2025, on_epoch=function(e, history)}]) -> history\n" ..
  "Adam over epochs of vae.train_epoch (shuffling and " ..
  "eps from a generator seeded with seed), then\n" ..
  "m:elbo on the test set after each epoch (its eps from " ..
  "seed + 1, the same every epoch). history holds\n" ..
  "per-epoch lists train (-ELBO), rec (test reconstruction " ..
  "loss), kl, neg_elbo (test) and secs (training time).")

vae.fit_job = doc(function(arg, send)
  local o = lib.options(arg, {kind = "mlp", nz = 20, epochs = 1, batch = 128, lr = 1e-3, seed = 2025,
                              train = 60000, test = 10000, samples = 64}, "vae.fit_job")
  if o.kind ~= "mlp" and o.kind ~= "cnn" then raise("vae.fit_job: kind must be \"mlp\" or \"cnn\", got " .. tostring(o.kind)) end
  local Xtr = G.data.mnist{flat = true, limit = o.train}
  local Xte = G.data.mnist{flat = true, split = "test", limit = o.test}
  local m = (o.kind == "mlp" and vae.MLP or vae.CNN){nz = o.nz, seed = o.seed}
  local gs = G.Generator(o.seed)
  local h = vae.fit(m, Xtr, Xte, {epochs = o.epochs, batch = o.batch, lr = o.lr, seed = o.seed,
                                  on_epoch = function(e, h)
    gs:seed(o.seed)                                       -- the same z every epoch: one set of samples
    send{epoch = e, train = h.train[e], rec = h.rec[e], kl = h.kl[e], neg_elbo = h.neg_elbo[e],
         secs = h.secs[e], samples = o.samples > 0 and m:sample(o.samples, {generator = gs}) or nil}
  end})
  return {history = h, state = m:state_dict(), n_train = Xtr.shape[1]}
end, "vae.fit_job({kind=\"mlp\"|\"cnn\", nz=20, epochs=1, batch=128, lr=1e-3, seed=2025, " ..
  "train=60000, test=10000,\nsamples=64}, send) -> {history, state, n_train}\n" ..
  "One model of a sweep as a genlab.jobs task: the first train and test images of MNIST, the model\n" ..
  "(vae.MLP or vae.CNN, initialised from seed) trained by vae.fit; after each epoch send{epoch,\n" ..
  "train, rec, kl, neg_elbo, secs, samples} (samples: decoded from the same z every epoch, drawn\n" ..
  "with a generator seeded with seed). Returns fit's history, the trained state_dict and the\n" ..
  "number of training images.")

vae.means = doc(function(model, X, opts)
  local parts = {}
  in_blocks(X, opts and opts.batch or 1000, function(x) parts[#parts + 1] = (model:encode(x)) end)
  return G.cat(parts, 1)
end, "vae.means(model, X, [{batch=1000}]) -> (n, nz)\n" ..
  "The means of q(z | x) for every image of X, in " ..
  "blocks without a graph (the latent map of N_z = 2).")

vae.manifold = doc(function(model, n, opts)
  opts = opts or {}
  if model.nz ~= 2 then raise("vae.manifold: the model has nz = " .. model.nz .. ", not 2") end
  local lim, rows = opts.limit or 2.5, {}
  for i = 1, n do
    for j = 1, n do
      -- top row: the largest z2, as on a plot's axes
      rows[#rows + 1] = {-lim + 2 * lim * (j - 1) / (n - 1), lim - 2 * lim * (i - 1) / (n - 1)}
    end
  end
  local z = G.tensor(rows, {dtype = model:dtype()})
  return G.no_grad(function() return model:decode(z) end)
end, "vae.manifold(model, n, [{limit=2.5}]) -> (n*n, ...) images\n" ..
  "The decoder over an n x n grid of z in [-limit, " ..
  "limit]^2 (z1 left to right, z2 top to bottom,\n" ..
  "largest first), row by row: the classic picture of a 2-D latent space. nz must be 2.")

vae.effect_of_nz = doc(function(results)
  local first, last, rise = results[1], results[#results], nil
  for k = 2, #results do
    if not rise and results[k].rec > results[k - 1].rec then rise = k end
  end
  local s = string.format("from N_z = %d to %d the test reconstruction loss goes %.2f -> %.2f and the KL %.2f -> %.2f",
                          first.nz, last.nz, first.rec, last.rec, first.kl, last.kl)
  if not rise then
    return s .. ":\n" ..
      "  each wider code keeps more of an image " ..
      "(sharper reconstructions) and pays for it in KL;" ..
                        "\n  samples from N(0, I) get less typical as N_z grows, " ..
             "since q need not fill every direction of the prior."
  end
  local a, b = results[rise - 1], results[rise]
  return s .. ":\n" ..
    string.format("  not falling at every step of N_z: from N_z = %d to %d it goes %.2f -> %.2f, the KL %.2f -> %.2f;",
                  a.nz, b.nz, a.rec, b.rec, a.kl, b.kl) ..
    "\n  a VAE trained to convergence reconstructs better with a wider code, paying in KL, so the wider" ..
    "\n  model has not got there in these epochs" ..
    (b.kl < a.kl and " (its KL fell too: the wider model encodes less of an image so far)."
     or b.kl - a.kl < 1 and " (its KL hardly grew: the extra dimensions stay close to the prior)." or ".")
end, "vae.effect_of_nz(results) -> text\n" ..
  "The effect of N_z read from results {{nz=, rec=, kl=}, " ..
  "...} (in increasing N_z): the change of the test\n" ..
  "reconstruction loss and KL, and whether the reconstruction " ..
  "improves at every step (a converged VAE's\n" ..
  "behaviour) or, if not, the first step where it does not and what the KL did there.")
