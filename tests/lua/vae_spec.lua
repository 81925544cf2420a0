-- genlab.vae, seed 004's VAEs: one training step of each model against
-- PyTorch from identical weights, inputs and eps (tests/fixtures/torch/
-- make_vae_fixtures.py), the KL against its closed form and Monte Carlo,
-- the ELBO against the exact log-likelihood of a 1-D linear-Gaussian VAE,
-- gradients by finite differences, the CNN's shapes, reproducibility, and
-- checkpoints read back by genlab, the independent reader and torch.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local nn, vae = G.nn, G.vae
local F64 = {dtype = "float64"}

local function have(cmd) return select(2, H.sh(cmd .. " >/dev/null 2>&1")) == 0 end
local PY = have("/usr/bin/python3 -c 'import zipfile'") and "/usr/bin/python3"
local TORCH = have("/usr/bin/python3 -c 'import torch'") and "/usr/bin/python3"

local function tmpname(ext)
  local p = H.tmpname()
  os.remove(p)
  return p .. ext
end

-- max |a - b| / max |b|
local function rel(a, b)
  local scale = b:double():abs():max():item()
  return (a:double() - b:double()):abs():max():item() / math.max(scale, 1e-300)
end

-- The fixture's model in genlab, its weights copied in, in dtype.
local function from_fixture(name, dtype)
  local f = G.load_pt("tests/fixtures/torch/" .. name .. ".pt")
  local m = name == "vae_mlp" and vae.MLP{nz = 3, hidden = 8, dtype = dtype} or vae.CNN{nz = 3, dtype = dtype}
  local sd = {}
  for pname in m:named_parameters() do sd[pname] = f["param." .. pname]:to(dtype) end
  m:load_state_dict(sd)
  return m, f
end

describe("vae: one training step against PyTorch (tests/fixtures/torch/vae_*.pt)", function()
  for _, case in ipairs{{"vae_mlp", "float64", 1e-10}, {"vae_mlp", "float32", 1e-5},
                        {"vae_cnn", "float64", 1e-10}, {"vae_cnn", "float32", 1e-5}} do
    local name, dtype, tol = case[1], case[2], case[3]
    it(string.format("%s in %s: loss, its terms and every parameter gradient within %g", name, dtype, tol), function()
      local m, f = from_fixture(name, dtype)
      local loss, rec, kl = m:loss(f.x, {eps = f.eps:to(dtype)})
      assert.is_true(rel(loss, f.loss) < tol, name .. " loss " .. loss:item() .. " vs " .. f.loss:item())
      assert.is_true(rel(rec, f.rec) < tol)
      assert.is_true(rel(kl, f.kl) < tol)
      loss:backward()
      local n = 0
      for pname, p in m:named_parameters() do
        local r = rel(p.grad, f["grad." .. pname])
        assert.is_true(r < tol, string.format("%s grad %s: relative error %.3g", name, pname, r))
        n = n + 1
      end
      assert.are.equal(name == "vae_mlp" and 8 or 18, n)
    end)
  end

  it("fails when a weight differs (the check can fail)", function()
    local m, f = from_fixture("vae_mlp", "float64")
    G.no_grad(function() m.dec["2"].bias:add_(1e-6) end)
    local loss = m:loss(f.x, {eps = f.eps})
    assert.is_true(rel(loss, f.loss) > 1e-10)
  end)
end)

describe("vae.kl", function()
  it("equals the closed form of a hand-worked case", function()
    -- KL(N(1, 2) || N(0, 1)) = (2 + 1 - 1 - log 2) / 2; and 0 for the prior itself
    local kl = vae.kl(G.tensor({{1, 0}}, F64), G.tensor({{math.log(2), 0}}, F64))
    assert.is_true(math.abs(kl:item() - (2 - math.log(2)) / 2) < 1e-15)
  end)

  it("matches a Monte Carlo estimate of E_q[log q(z) - log p(z)] within 4 standard errors", function()
    local g = G.Generator(7)
    local mean = G.tensor({{0.5, -1.2, 0.1}, {2.0, 0.0, -0.3}}, F64)
    local logvar = G.tensor({{-1.0, 0.7, 0.0}, {0.3, -2.0, 1.1}}, F64)
    local closed = vae.kl(mean, logvar):totable()
    local N = 200000
    for r = 1, 2 do
      local mu, lv = mean[r], logvar[r]
      local sd = (lv * 0.5):exp()
      local eps = G.randn(N, 3, {dtype = "float64", generator = g})
      local z = mu + sd * eps
      -- log q - log p per draw: sum_j (-lv_j/2 - eps_j^2/2 + z_j^2/2)
      local d = ((z * z - eps * eps) * 0.5 - lv * 0.5):sum(2)
      local est, se = d:mean():item(), d:std():item() / math.sqrt(N)
      assert.is_true(math.abs(est - closed[r]) < 4 * se, string.format("row %d: MC %.5f +- %.5f, closed %.5f", r, est, se, closed[r]))
    end
  end)

  it("passes gradcheck in mean and log-variance", function()
    local g = G.Generator(8)
    local mean = G.randn(3, 4, {dtype = "float64", generator = g}):requires_grad_()
    local logvar = G.randn(3, 4, {dtype = "float64", generator = g}):requires_grad_()
    assert.is_true((nn.gradcheck(vae.kl, {mean, logvar})))
  end)
end)

-- A 1-D linear-Gaussian VAE: p(z) = N(0, 1), p(x | z) = N(w z + b, 1/2) (the
-- seed's MSE is -log p(x|z) up to log(pi)/2), q(z | x) = N(a x + c, e^s);
-- log p(x) = log N(x; b, w^2 + 1/2) is known exactly.
local Lin = nn.class("LinearVAE", vae.VAE)
function Lin:__init(w, b, a, c, s)
  self.nz, self.shape = 1, {1}
  self:add("enc", nn.Linear(1, 2, F64))
  self:add("dec", nn.Linear(1, 1, F64))
  G.no_grad(function()
    self.enc.weight:copy_(G.tensor({{a}, {0}}, F64)); self.enc.bias:copy_(G.tensor({c, s}, F64))
    self.dec.weight:copy_(G.tensor({{w}}, F64)); self.dec.bias:copy_(G.tensor({b}, F64))
  end)
end
function Lin:encode_raw(x) return self.enc(x) end
function Lin:decode(z) return self.dec(z) end

describe("vae: the ELBO of a 1-D linear-Gaussian VAE", function()
  local w, b, x0, N = 1.5, 0.3, 1.1, 100000
  local v = w * w + 0.5
  local logp = -0.5 * math.log(2 * math.pi * v) - (x0 - b) ^ 2 / (2 * v)
  local X = G.full({N, 1}, x0, F64)
  local function elbo(m) -- the ELBO in nats (up to its standard error), from m:elbo on N copies of x0
    local s = m:elbo(X, {generator = G.Generator(3)})
    return -s.neg_elbo - 0.5 * math.log(math.pi)
  end

  it("never exceeds log p(x), for several encoders", function()
    for _, q in ipairs{{0, 0, 0}, {0.5, -0.2, -1}, {-1, 1, 0.5}, {0.3, 0.1, -3}} do
      local e = elbo(Lin(w, b, q[1], q[2], q[3]))
      assert.is_true(e < logp + 0.01, string.format("ELBO %.4f > log p(x) %.4f for q = %s", e, logp, table.concat(q, ",")))
    end
  end)

  it("equals log p(x) when q is the exact posterior, and falls short by KL otherwise", function()
    -- posterior precision 1 + 2 w^2, mean 2 w (x - b) / (1 + 2 w^2)
    local prec = 1 + 2 * w * w
    local exact = Lin(w, b, 2 * w / prec, -2 * w * b / prec, -math.log(prec))
    assert.is_true(math.abs(elbo(exact) - logp) < 0.01, elbo(exact) .. " vs " .. logp)
    local off = Lin(w, b, 0, 0, 0)                       -- q = the prior: the gap is KL(prior || posterior)
    local pm, pv = 2 * w * (x0 - b) / prec, 1 / prec
    local gap = 0.5 * (1 / pv + pm * pm / pv - 1 + math.log(pv))
    assert.is_true(math.abs((logp - elbo(off)) - gap) < 0.02, (logp - elbo(off)) .. " vs " .. gap)
  end)
end)

describe("vae: models", function()
  it("give PyTorch's parameter names and counts", function()
    local m = vae.MLP{nz = 20}
    assert.are.equal(784 * 500 + 500 + 500 * 40 + 40 + 20 * 500 + 500 + 500 * 784 + 784, m:num_parameters())
    local names = {}
    for name in vae.CNN{nz = 2}:named_parameters() do names[#names + 1] = name end
    assert.are.same({"enc.0.weight", "enc.0.bias", "enc.3.weight", "enc.3.bias", "enc.6.weight", "enc.6.bias",
                     "enc.10.weight", "enc.10.bias", "fc.weight", "fc.bias", "dec.0.weight", "dec.0.bias",
                     "dec.2.weight", "dec.2.bias", "dec.4.weight", "dec.4.bias", "dec.6.weight", "dec.6.bias"}, names)
  end)

  it("take the CNN through 28 -> 14 -> 7 -> 3 and back to 1x28x28", function()
    local m = vae.CNN{nz = 5, seed = 1}
    local x, sizes = G.rand(2, 1, 28, 28), {}
    for i = 0, #m.enc - 1 do
      local layer = m.enc[tostring(i)]
      x = layer(x)
      if layer.__name == "MaxPool2d" then sizes[#sizes + 1] = x.shape[3] .. "x" .. x.shape[4] end
    end
    assert.are.same({"14x14", "7x7", "3x3"}, sizes)
    assert.are.same({2, 10}, x.shape)
    local y, ups = m.fc(G.randn(2, 5)):reshape(2, 8, 3, 3), {}
    for i = 0, #m.dec - 1 do
      local layer = m.dec[tostring(i)]
      y = layer(y)
      if layer.__name == "ConvTranspose2d" then ups[#ups + 1] = y.shape[3] end
    end
    assert.are.same({7, 14, 28}, ups)
    assert.are.same({2, 1, 28, 28}, y.shape)
    assert.are.same({3, 1, 28, 28}, m:sample(3).shape)
    assert.are.same({4, 784}, vae.MLP{nz = 2}:reconstruct(G.rand(4, 1, 28, 28)).shape)
  end)

  it("pass gradcheck through m:loss in a layer of each kind, with fixed eps (float64)", function()
    G.manual_seed(2)
    for _, m in ipairs{vae.MLP{nz = 2, hidden = 3, dtype = "float64"}, vae.CNN{nz = 2, dtype = "float64"}} do
      local x, eps = G.rand(2, 784, F64), G.randn(2, 2, F64)
      -- gradcheck perturbs the parameters in place, so m:loss sees every perturbation
      -- a layer of each kind (the PyTorch fixture checks every gradient; these are 2 passes each)
      local ps = m.__name == "VAE_MLP" and {m.enc["0"].bias, m.enc["2"].weight, m.enc["2"].bias, m.dec["0"].weight, m.dec["0"].bias}
                 or {m.enc["0"].weight, m.enc["0"].bias, m.enc["10"].weight, m.fc.bias, m.dec["0"].weight, m.dec["6"].weight}
      local ok, worst = nn.gradcheck(function() return m:loss(x, {eps = eps}) end, ps)
      assert.is_true(ok, m.__name .. ": " .. tostring(worst))
    end
  end)

  it("give the same numbers bit for bit from the same seed", function()
    local function run()
      local m = vae.CNN{nz = 2, seed = 9}
      local opt = G.optim.Adam(m:parameters(), {lr = 1e-3})
      local g = G.Generator(9)
      local X = G.rand(300, 784, {generator = G.Generator(1)})
      local l = vae.train_epoch(m, opt, X, {batch = 128, generator = g})
      return l, m:elbo(X, {generator = G.Generator(2)}).rec
    end
    local a1, b1 = run()
    local a2, b2 = run()
    assert.are.equal(a1, a2)
    assert.are.equal(b1, b2)
  end)

  it("refuse bad input with the shapes named", function()
    local m = vae.MLP{nz = 2}
    assert.matches("VAE_MLP: expected %(B, 784%) images %(784 values a row%), got 3x10", H.err(m.loss, m, G.rand(3, 10)))
    assert.matches("VAE_CNN: expected %(B, 1, 28, 28%) images", H.err(vae.CNN{nz = 2}.encode, vae.CNN{nz = 2}, G.rand(2, 3, 28, 28)))
    assert.matches("eps is 3x5, the latent means are 3x2", H.err(m.forward, m, G.rand(3, 784), G.randn(3, 5)))
    assert.matches("nz must be a positive integer, got 0", H.err(vae.MLP, {nz = 0}))
    assert.matches("unknown option 'hidden'", H.err(vae.CNN, {hidden = 5}))
  end)
end)

describe("vae: checkpoints", function()
  -- the inputs check_pt_vae.py rebuilds
  local function fixed_inputs(nz, dtype)
    local xs, zs = {}, {}
    for k = 0, 2 * 784 - 1 do xs[k + 1] = (k % 97) / 97 end
    for k = 0, 2 * nz - 1 do zs[k + 1] = k / (2 * nz) - 0.5 end
    return G.tensor(xs, F64):reshape(2, 784):to(dtype), G.tensor(zs, F64):reshape(2, nz):to(dtype)
  end

  for _, kind in ipairs{"mlp", "cnn"} do
    it(kind .. ": G.save and G.save_pt read back with the same outputs; torch loads it strictly", function()
      local nz = 3
      local m = kind == "mlp" and vae.MLP{nz = nz, hidden = 20, seed = 4} or vae.CNN{nz = nz, seed = 4}
      local x, z = fixed_inputs(nz, "float32")
      local mean, logvar = G.no_grad(function() return m:encode(x) end)
      local dec = G.no_grad(function() return m:decode(z) end)
      -- genlab's own format and the .pt, read back by genlab
      local p1, p2 = tmpname(".ckpt"), tmpname(".pt")
      G.save(p1, m:state_dict())
      G.save_pt(p2, m)
      for _, back in ipairs{G.load(p1), G.load_pt(p2)} do
        local m2 = kind == "mlp" and vae.MLP{nz = nz, hidden = 20} or vae.CNN{nz = nz}
        m2:load_state_dict(back)
        local mean2 = G.no_grad(function() return m2:encode(x) end)
        assert.are.equal(0, (mean2 - mean):abs():max():item())
        assert.are.equal(0, (G.no_grad(function() return m2:decode(z) end) - dec):abs():max():item())
      end
      if PY then
        local out, rc = H.sh(PY .. " tests/fixtures/interchange/check_pt.py " .. p2)
        assert.are.equal(0, rc, out)
        local n = 0
        for line in out:gmatch("[^\n]+") do
          n = n + 1
          assert.are.equal(m:named_parameter_list()[n][1], line:match("^([^\t]+)"))
        end
        assert.are.equal(#m:parameters(), n)
      end
      if TORCH then
        local out, rc = H.sh(string.format("%s tests/fixtures/interchange/check_pt_vae.py %s %s %d 20", TORCH, p2, kind, nz))
        assert.are.equal(0, rc, out)
        local got = {}
        for name, vals in out:gmatch("(%a+)\t([^\n]*)") do
          local t = {}
          for v in vals:gmatch("%S+") do t[#t + 1] = tonumber(v) end
          got[name] = G.tensor(t, F64)
        end
        assert.is_true(rel(got.mean, mean:reshape(-1)) < 1e-5, out)
        assert.is_true(rel(got.logvar, logvar:reshape(-1)) < 1e-5, out)
        assert.is_true(rel(got.decode, dec:reshape(-1)) < 1e-5, out)
        if kind == "mlp" then                            -- and torch refuses the other class's checkpoint
          local _, rc2 = H.sh(string.format("%s tests/fixtures/interchange/check_pt_vae.py %s cnn %d", TORCH, p2, nz))
          assert.are.equal(1, rc2)
        end
      else
        pending("skipped: python3-torch is not installed")
      end
      os.remove(p1)
      os.remove(p2)
    end)
  end
end)

describe("vae.effect_of_nz", function()
  it("reads the trend, and names the first step where the reconstruction does not fall", function()
    local falling = G.vae.effect_of_nz{{nz = 2, rec = 30, kl = 4}, {nz = 5, rec = 22, kl = 8}, {nz = 20, rec = 17, kl = 12}}
    assert.matches("from N_z = 2 to 20 the test reconstruction loss goes 30.00 -> 17.00 and the KL 4.00 -> 12.00", falling, 1, true)
    assert.matches("each wider code keeps more of an image", falling, 1, true)
    local flat = G.vae.effect_of_nz{{nz = 2, rec = 32.33, kl = 4.73}, {nz = 10, rec = 17.03, kl = 11.84},
                                    {nz = 20, rec = 17.26, kl = 12.15}, {nz = 30, rec = 17.5, kl = 15}}
    assert.matches("from N_z = 10 to 20 it goes 17.03 -> 17.26, the KL 11.84 -> 12.15", flat, 1, true)
    assert.matches("its KL hardly grew: the extra dimensions stay close to the prior", flat, 1, true)
    assert.is_nil(flat:find("each wider code", 1, true))
    local fell = G.vae.effect_of_nz{{nz = 10, rec = 33.02, kl = 7.01}, {nz = 20, rec = 36.87, kl = 5.71}}
    assert.matches("the KL 7.01 -> 5.71;", fell, 1, true)
    assert.matches("its KL fell too: the wider model encodes less of an image so far", fell, 1, true)
    assert.is_nil(fell:find("hardly grew", 1, true))
    local grown = G.vae.effect_of_nz{{nz = 10, rec = 17, kl = 10}, {nz = 20, rec = 18, kl = 14}}
    assert.matches("has not got there in these epochs.", grown, 1, true)
    assert.is_nil(grown:find("close to the prior", 1, true))
  end)
end)

describe("vae.fit_job", function()
  it("trains as vae.fit does, and gives the same numbers in a process of its own", function()
    local arg = {kind = "cnn", nz = 3, epochs = 2, batch = 64, lr = 2e-3, seed = 11, train = 256, test = 128, samples = 4}
    local msgs = {}
    local r = G.vae.fit_job(arg, function(m) msgs[#msgs + 1] = m end)
    -- the same model trained by hand
    local Xtr = G.data.mnist{flat = true, limit = 256}
    local Xte = G.data.mnist{flat = true, split = "test", limit = 128}
    local m = G.vae.CNN{nz = 3, seed = 11}
    local h = G.vae.fit(m, Xtr, Xte, {epochs = 2, batch = 64, lr = 2e-3, seed = 11})
    assert.are.same(h.rec, r.history.rec)
    assert.are.same(h.train, r.history.train)
    assert.are.equal(2, #msgs)
    assert.are.equal(h.kl[2], msgs[2].kl)
    assert.are.same({4, 1, 28, 28}, msgs[2].samples.shape)
    assert.are.equal(0, (m:state_dict()["dec.0.weight"] - r.state["dec.0.weight"]):abs():max():item())
    -- and as one of two jobs, each in a process of its own
    local other = {kind = "mlp", nz = 2, epochs = 1, batch = 64, seed = 3, train = 128, test = 64, samples = 0}
    local both = G.jobs.run({{fn = "genlab.vae.fit_job", arg = arg}, {fn = "genlab.vae.fit_job", arg = other}},
                            {workers = 2})
    assert.are.same(r.history.rec, both[1].history.rec)
    assert.are.equal(0, (both[1].state["dec.0.weight"] - r.state["dec.0.weight"]):abs():max():item())
    assert.are.equal(128, both[2].n_train)
  end)

  it("names a kind it does not know", function()
    local ok, msg = pcall(G.vae.fit_job, {kind = "gan"}, function() end)
    assert.is_false(ok)
    assert.matches('kind must be "mlp" or "cnn", got gan', msg, 1, true)
  end)
end)
