-- Training-step throughput of seed 004's RBM and VAEs and seed 000's LSTM,
-- the same workloads as tests/bench/peers/rbm_cdk.py, vae_mlp.py,
-- vae_cnn.py, lstm_ar.py
-- (synthetic data of the course shapes, one warm-up, median of the timed
-- repetitions).  Prints one JSON line per workload; run.sh sets them beside
-- the PyTorch peers' lines.  BENCH_QUICK=1 shortens every run.
local G = require "genlab"
local nn, optim = G.nn, G.optim
local QUICK = os.getenv("BENCH_QUICK") == "1"
G.manual_seed(0)

-- The median over the repetitions (one when QUICK) of run(r), which returns
-- seconds and the last loss; seconds are multiplied by scale.
local function repeat_timed(run, scale)
  local ts, last = {}, nil
  for r = 1, QUICK and 1 or 3 do
    local t
    t, last = run(r)
    ts[#ts + 1] = t * (scale or 1)
  end
  table.sort(ts)
  return ts[(#ts + 1) // 2], last
end

local emit = dofile("tests/bench/common.lua").emit

-- One Adam step of a seed 004 VAE (genlab.vae, N_z = 20) on batch x: MSE(sum)
-- + KL, averaged over the batch, as the peers compute it.
local function vae_step(m, opt, x)
  local loss = m:loss(x)
  opt:zero_grad()
  loss:backward()
  opt:step()
  return loss
end

-- seed 004: 784-500-(2x20) tanh encoder, 20-500-784 sigmoid decoder
local function vae_mlp()
  local N, B = 60000, 128
  local data = G.rand(N, 784) ^ 3
  local m = G.vae.MLP{nz = 20}
  local opt = optim.Adam(m:parameters(), {lr = 1e-3})
  local function train(nb)
    local t0, loss = G.time()
    for i = 0, nb - 1 do
      local s = i * B
      loss = vae_step(m, opt, data:narrow(1, s + 1, math.min(B, N - s)))
    end
    return G.time() - t0, loss:item()
  end
  train(20)
  local t, last = repeat_timed(function() return train(math.ceil(N / B)) end)
  local macs = 784 * 500 + 500 * 40 + 20 * 500 + 500 * 784      -- forward, per row
  emit("vae_mlp", t, "s/epoch", string.format(', "last_loss": %.4f, "flops": %.6g', last,
                                              N * (3 * 2 * macs - 2 * 784 * 500)))
end

-- seed 004: the CNN of Tables 1-2
local function vae_cnn()
  local N, B, NB = 60000, 128, QUICK and 20 or 120
  local data = (G.rand(N, 1, 28, 28) ^ 3)
  local m = G.vae.CNN{nz = 20}
  local opt = optim.Adam(m:parameters(), {lr = 1e-3})
  local function train(nb, start)
    local t0, loss = G.time()
    for i = 0, nb - 1 do
      local s = ((start + i) * B) % (N - B + 1)
      loss = vae_step(m, opt, data:narrow(1, s + 1, B))
    end
    return G.time() - t0, loss:item()
  end
  train(10, 0)
  local t, last = repeat_timed(function(r) return train(NB, 10 + (r - 1) * NB) end, N / B / NB)
  -- forward multiply-adds per row, the convolutions as dense products, the
  -- transposed ones counted on their input positions; no input gradient for the first
  local macs = 28 * 28 * 8 * 9 + (14 * 14 + 7 * 7) * 8 * 8 * 9 + 72 * 40 + 20 * 72
               + (3 * 3 + 7 * 7 + 14 * 14) * 8 * 8 * 4 + 28 * 28 * 8 * 9
  emit("vae_cnn", t, "s/epoch", string.format(', "last_loss": %.4f, "flops": %.6g', last,
                                              N * (3 * 2 * macs - 2 * 28 * 28 * 8 * 9)))
end

-- seed 000: 2-layer LSTM (h = 32) over 25 binary pixels, teacher forcing
-- CD-k epochs of the seed 004 RBM (784 x 128, batch 64, SGD lr 0.01, float32)
-- on the peer's data: binary with density 0.13; BATCHES batches timed and
-- scaled to 60000 / 64 per epoch, after 20 of warm-up.
local function rbm_cdk()
  local NV, NH, B, N = 784, 128, 64, 60000
  local data = G.rand(N, NV, {generator = G.Generator(0)}):lt(0.13):to("float32")
  for _, kb in ipairs{{1, 300}, {5, 150}, {25, 40}} do
    local k, nb = kb[1], QUICK and math.max(10, kb[2] // 5) or kb[2]
    local rbm = G.models.RBM(NV, NH, {seed = k})
    local function train(batches, start)
      local t0, rec = G.time(), 0
      for i = 0, batches - 1 do
        local s = ((start + i) * B) % (N - B + 1)
        rec = rbm:cd_step(data:narrow(1, s + 1, B), k, {lr = 0.01})
      end
      return G.time() - t0, rec
    end
    train(20, 0)
    local t, rec = repeat_timed(function(r) return train(nb, 20 + (r - 1) * nb) end, N / B / nb)
    emit("rbm_cdk", t, "s/epoch", string.format(', "k": %d, "batches_timed": %d, "last_recon": %.3f, "flops": %.6g',
                                                k, nb, rec, N / B * (2 * k + 3) * 2 * B * NV * NH))
  end
end

local function lstm_ar()
  local T, Hd, B, STEPS = 25, 32, 32, 1000
  local base = G.rand(60000, 1, 7, 7)
  -- the peers' avg_pool2d(3, stride 1) of the noise, thresholded: a 5x5 field
  local acc = G.zeros(60000, 1, 5, 5)
  for i = 0, 2 do for j = 0, 2 do acc = acc + base:narrow(3, i + 1, 5):narrow(4, j + 1, 5) end end
  local data = (acc / 9):gt(0.5):reshape(60000, T)
  local lstm = nn.LSTM(1, Hd, {num_layers = 2, batch_first = true})
  local out = nn.Linear(Hd, 1)
  local params = lstm:parameters()
  for _, p in ipairs(out:parameters()) do params[#params + 1] = p end
  local opt = optim.Adam(params, {lr = 1e-2})
  local zeros = G.zeros(B, 1)
  local function train(nsteps, start)
    local t0, loss = G.time()
    for i = 0, nsteps - 1 do
      local s = ((start + i) * B) % (60000 - B + 1)
      local x = data:narrow(1, s + 1, B)
      local inp = G.cat({zeros, x:narrow(2, 1, T - 1)}, 2):unsqueeze(3)
      local y = lstm(inp)
      local logits = out(y):squeeze(3)
      loss = nn.binary_cross_entropy_with_logits(logits, x)
      opt:zero_grad()
      loss:backward()
      opt:step()
    end
    return G.time() - t0, loss:item()
  end
  train(20, 0)
  local t, last = repeat_timed(function(r) return train(STEPS, 20 + (r - 1) * STEPS) end)
  local macs = 4 * Hd * (1 + Hd) + 4 * Hd * 2 * Hd + Hd        -- per row and time step
  emit("lstm_ar", t, "s/1000steps", string.format(', "phase": "train", "last_loss": %.4f, "flops": %.6g',
                                                   last, STEPS * 3 * 2 * macs * T * B))
end

local only = os.getenv("ONLY")
for _, w in ipairs{{"rbm_cdk", rbm_cdk}, {"vae_mlp", vae_mlp}, {"vae_cnn", vae_cnn}, {"lstm_ar", lstm_ar}} do
  local name, f = w[1], w[2]
  if not only or only:find(name, 1, true) then f() end
end
