-- Layers, losses and optimizers against values PyTorch 1.13 computed
-- (tests/fixtures/torch/, made by make_fixtures.py there): forward outputs
-- and the gradients of sum(out * R), in float64, to 1e-10 relative to the
-- largest magnitude; float32 runs of the same cases to 1e-5.  Then modules,
-- parameter counts and checkpoints.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local nn = G.nn

local DIR = "tests/fixtures/torch/"
local function fx(case, name, dtype)
  local t = G.data.read_npy(DIR .. case .. "." .. name .. ".npy")
  return dtype == "float32" and t:float() or t
end

-- max |a - b| <= tol * max(1, max |b|)
local function close(a, b, tol, what)
  assert.are.same(b.shape, a.shape, what)
  local err = (a:double() - b:double()):abs():max():item()
  local scale = math.max(1, b:double():abs():max():item())
  assert(err <= tol * scale, string.format("%s: max error %.3g (scale %.3g)", what, err, scale))
end

local function tol(dtype) return dtype == "float32" and 1e-5 or 1e-10 end

-- tol32 replaces float32's tolerance where the case is ill-conditioned
local function check_case(case, dtype, run, inputs, tol32)
  local t = dtype == "float32" and tol32 or tol(dtype)
  local xs = {}
  for i, name in ipairs(inputs) do xs[i] = fx(case, name, dtype):requires_grad_() end
  local out = run(table.unpack(xs))
  close(out, fx(case, "out"), t, case .. " out")
  ;(out * fx(case, "R", dtype)):sum():backward()
  for i, name in ipairs(inputs) do
    close(xs[i].grad, fx(case, "g" .. name), t, case .. " grad " .. name)
  end
end

for _, dtype in ipairs{"float64", "float32"} do
  describe("parity with PyTorch (" .. dtype .. ")", function()
    it("linear", function()
      check_case("linear", dtype, nn.linear, {"x", "w", "b"})
    end)

    it("conv2d with stride (2,1) and padding (1,0), and seed 004's 8->8 3x3 layer", function()
      check_case("conv2d_s21_p10", dtype, function(x, w, b)
        return nn.conv2d(x, w, b, {stride = {2, 1}, padding = {1, 0}}) end, {"x", "w", "b"})
      check_case("conv2d_seed004", dtype, function(x, w, b)
        return nn.conv2d(x, w, b, {padding = 1}) end, {"x", "w", "b"})
    end)

    it("conv_transpose2d: seed 004's 3 -> 7 with output_padding 1, and kernel 3 stride 2 padding 1", function()
      check_case("convt_3to7", dtype, function(x, w, b)
        return nn.conv_transpose2d(x, w, b, {stride = 2, output_padding = 1}) end, {"x", "w", "b"})
      assert.are.same({2, 8, 7, 7}, fx("convt_3to7", "out").shape)
      check_case("convt_k3_s2_p1", dtype, function(x, w, b)
        return nn.conv_transpose2d(x, w, b, {stride = 2, padding = 1}) end, {"x", "w", "b"})
    end)

    -- a covariance eigenvalue of 1.4e-3 costs float32 digits: 1e-4 there, as for the
    -- same function composed from cholesky and solve_triangular
    it("gmm_log_density: W3's mixture of A A^T + 1e-4 I covariances, every gradient", function()
      check_case("gmm_density", dtype, function(x, w, mu, A)
        return nn.gmm_log_density(x, w, mu, A, 1e-4) end, {"x", "logits", "mu", "A"}, 1e-4)
    end)

    it("max_pool2d", function()
      check_case("maxpool", dtype, function(x) return nn.max_pool2d(x, 2, 2) end, {"x"})
    end)

    it("a 2-layer batch-first LSTM: outputs, final states and every gradient", function()
      local lstm = nn.LSTM(1, 4, {num_layers = 2, batch_first = true, dtype = dtype})
      G.no_grad(function()
        for name, p in lstm:named_parameters() do p:copy_(fx("lstm", name, dtype)) end
      end)
      local x = fx("lstm", "x", dtype):requires_grad_()
      local y, state = lstm(x)
      close(y, fx("lstm", "y"), tol(dtype), "lstm y")
      close(state[1], fx("lstm", "h"), tol(dtype), "lstm h")
      close(state[2], fx("lstm", "c"), tol(dtype), "lstm c")
      local loss = (y * fx("lstm", "Ry", dtype)):sum() + (state[1] * fx("lstm", "Rh", dtype)):sum()
                   + (state[2] * fx("lstm", "Rc", dtype)):sum()
      loss:backward()
      close(x.grad, fx("lstm", "gx"), tol(dtype), "lstm gx")
      for name, p in lstm:named_parameters() do
        close(p.grad, fx("lstm", "g_" .. name), tol(dtype), "lstm grad " .. name)
      end
      -- the same model run time-first gives the same numbers
      lstm.batch_first = false
      local y2 = lstm(x:transpose(1, 2))
      close(y2:transpose(1, 2), fx("lstm", "y"), tol(dtype), "lstm time-first")
    end)

    -- above a million multiply-adds the walks through time run a share of the batch's rows
    -- on each thread; the shares must not change a bit (float32: glab_gemm_small's rows) or
    -- more than rounding (float64: BLAS per share). 33 rows: uneven shares; T = 25 and 24:
    -- the gradient of h0 ends in either of the backward's two buffers
    it("nn.lstm on 1, 2 and 3 threads: the same outputs and gradients", function()
      local threads = G.get_num_threads()
      for _, T in ipairs{25, 24} do
        local g = G.Generator(11)
        local function r(...) return G.randn({...}, {generator = g, dtype = dtype}) * 0.5 end
        local ins = {r(33, T, 3), r(33, 32), r(33, 32), r(128, 3), r(128, 32), r(128), r(128)}
        local Ry, Rh, Rc = r(33, T, 32), r(33, 32), r(33, 32)
        local function run(n)
          G.set_num_threads(n)
          local v = {}
          for i, t in ipairs(ins) do v[i] = t:clone():requires_grad_() end
          local y, h, c = nn.lstm(table.unpack(v))
          local loss = (y * Ry):sum() + (h * Rh):sum() + (c * Rc):sum()
          loss:backward()
          local out = {y, h, c}
          for i = 1, #v do out[#out + 1] = v[i].grad end
          return out
        end
        local ok, one = pcall(run, 1)
        local ok2, two = pcall(run, 2)
        local ok3, three = pcall(run, 3)
        G.set_num_threads(threads)
        assert(ok and ok2 and ok3, tostring(one) .. tostring(two) .. tostring(three))
        for i = 1, #one do
          for _, other in ipairs{two, three} do
            local d = (other[i] - one[i]):abs():max():item()
            if dtype == "float32" then assert.are.equal(0, d, "T " .. T .. " output " .. i)
            else assert.is_true(d < 1e-12, "T " .. T .. " output " .. i .. ": " .. d) end
          end
        end
        assert.is_true(one[5]:abs():max():item() > 0.1)             -- h0's gradient is there
      end
    end)

    it("BCE with logits at |z| = 40 and cross-entropy", function()
      local z = fx("bce", "z", dtype):requires_grad_()
      local loss = nn.binary_cross_entropy_with_logits(z, fx("bce", "t", dtype))
      close(loss, fx("bce", "loss"), tol(dtype), "bce")
      loss:backward()
      close(z.grad, fx("bce", "gz"), tol(dtype), "bce grad")
      z = fx("xent", "z", dtype):requires_grad_()
      loss = nn.cross_entropy(z, fx("xent", "target"))
      close(loss, fx("xent", "loss"), tol(dtype), "cross-entropy")
      loss:backward()
      close(z.grad, fx("xent", "gz"), tol(dtype), "cross-entropy grad")
    end)

    it("Adam and SGD (momentum, nesterov, dampening, weight decay) step for step", function()
      local makers = {
        adam = function(p) return G.optim.Adam({p}, {lr = 0.1, weight_decay = 0.01}) end,
        sgd_nesterov = function(p) return G.optim.SGD({p}, {lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 0.01}) end,
        sgd_damp = function(p) return G.optim.SGD({p}, {lr = 0.05, momentum = 0.5, dampening = 0.3}) end,
      }
      for case, make in pairs(makers) do
        local p = fx(case, "p0", dtype):requires_grad_()
        local opt, gs, ps = make(p), fx(case, "grads", dtype), fx(case, "params")
        for k = 1, gs.shape[1] do
          p.grad = gs[k]:clone()
          opt:step()
          close(p:detach(), ps[k], tol(dtype), case .. " step " .. k)
        end
      end
    end)
  end)
end

describe("modules", function()
  -- from 2^17 elements Adam's update is split among the threads, in whole lines; 2^17 + 5
  -- leaves the last share a rest. Each element's arithmetic is the same: the same bits on 1
  -- and 2 threads, and those of the unsplit update of the same elements (a 2^16 + 3 slice,
  -- under the split, run alone)
  it("Adam's update split among threads gives every element the bits it gets alone", function()
    local threads = G.get_num_threads()
    for _, dtype in ipairs{"float32", "float64"} do
      local g = G.Generator(5)
      local p0 = G.randn({2 ^ 17 + 5}, {generator = g, dtype = dtype})
      local grads = {G.randn({2 ^ 17 + 5}, {generator = g, dtype = dtype}),
                     G.randn({2 ^ 17 + 5}, {generator = g, dtype = dtype})}
      local function run(n, len)
        G.set_num_threads(n)
        local p = p0:narrow(1, 1, len):clone():requires_grad_()
        local opt = G.optim.Adam({p}, {lr = 0.01, weight_decay = 0.1})
        for _, gr in ipairs(grads) do
          p.grad = gr:narrow(1, 1, len):clone()
          opt:step()
        end
        return p, opt.state.exp_avg_sq[1]
      end
      local ok, p1, v1 = pcall(run, 1, 2 ^ 17 + 5)
      local ok2, p2, v2 = pcall(run, 2, 2 ^ 17 + 5)
      local ok3, p3 = pcall(run, 2, 2 ^ 16 + 3)
      G.set_num_threads(threads)
      assert(ok and ok2 and ok3, tostring(p1) .. tostring(p2) .. tostring(p3))
      p1, p2, p3 = p1:detach(), p2:detach(), p3:detach()
      assert.are.equal(0, (p2 - p1):abs():max():item(), dtype .. " p, 1 and 2 threads")
      assert.are.equal(0, (v2 - v1):abs():max():item(), dtype .. " v, 1 and 2 threads")
      assert.are.equal(0, (p2:narrow(1, 1, 2 ^ 16 + 3) - p3):abs():max():item(), dtype)
      assert.is_true((p2 - p0):abs():min():item() > 0, dtype .. ": every element moved")
    end
  end)

  it("Adam counts each parameter's own steps, skipped steps and checkpoints included (PyTorch 1.13)", function()
    -- p2 has no gradient on steps 1 and 4; torch.optim.Adam(lr = 0.1) on the same
    -- gradients gives p1 = 0.77736277412569676, p2 = 0.99424983516224241
    local f64, path = {dtype = "float64"}, H.tmpname()
    local grads = {{0.5}, {0.5, -0.25}, {-1.0, 0.5}, {0.25}, {0.5, 2.0}}
    local function run(stop_at)
      local p1, p2 = G.tensor({1}, f64):requires_grad_(), G.tensor({1}, f64):requires_grad_()
      local opt = G.optim.Adam({p1, p2}, {lr = 0.1})
      for k, g in ipairs(grads) do
        if k == stop_at then                 -- continue from a checkpoint of this state
          G.save(path, {p1 = p1:detach(), p2 = p2:detach(), optim = opt:state_dict()})
          local ck = G.load(path)
          p1, p2 = ck.p1:requires_grad_(), ck.p2:requires_grad_()
          opt = G.optim.Adam({p1, p2}, {lr = 0.1}):load_state_dict(ck.optim)
        end
        p1.grad = G.tensor({g[1]}, f64)
        p2.grad = g[2] and G.tensor({g[2]}, f64) or nil
        opt:step()
      end
      return p1:item(), p2:item()
    end
    for _, stop_at in ipairs{0, 2, 4} do
      local a, b = run(stop_at)
      assert.is_true(math.abs(a - 0.77736277412569676) < 1e-15, tostring(a))
      assert.is_true(math.abs(b - 0.99424983516224241) < 1e-15, tostring(b))
    end
  end)

  it("count parameters as PyTorch does (seed 000's LSTM, seed 004's VAEs)", function()
    local lstm = nn.LSTM(1, 32, {num_layers = 2})
    local out = nn.Linear(32, 1)
    -- 4H(I + H + 2) per layer: 4*32*(1+32+2) + 4*32*(32+32+2), plus 33
    assert.are.equal(4480 + 8448, lstm:num_parameters())
    assert.are.equal(33, out:num_parameters())
    local enc = G.vae.MLP{nz = 20}.enc                  -- Linear(784, 500), Tanh, Linear(500, 40)
    assert.are.equal(784 * 500 + 500 + 500 * 40 + 40, enc:num_parameters())
    local names = {}
    for name in enc:named_parameters() do names[#names + 1] = name end
    assert.are.same({"0.weight", "0.bias", "2.weight", "2.bias"}, names)
  end)

  it("initialise within PyTorch's bounds, reproducibly", function()
    G.manual_seed(3)
    local a = nn.Conv2d(8, 4, 3)
    G.manual_seed(3)
    local b = nn.Conv2d(8, 4, 3)
    assert.are.equal(0, (a.weight - b.weight):abs():max():item())
    local bound = 1 / math.sqrt(8 * 9)
    assert.is_true(a.weight:abs():max():item() <= bound)
    assert.is_true(a.weight:abs():max():item() > 0.8 * bound)
    local t = nn.ConvTranspose2d(8, 2, 2)
    assert.are.same({8, 2, 2, 2}, t.weight.shape)
    assert.is_true(t.weight:abs():max():item() <= 1 / math.sqrt(2 * 4))
  end)

  it("compose seed 004's CNN VAE shapes: 28 -> 14 -> 7 -> 3 and back to 1x28x28", function()
    local m = G.vae.CNN{nz = 20}                          -- the layer list lives in genlab.vae
    assert.are.same({5, 40}, m.enc(G.rand(5, 1, 28, 28)).shape)
    assert.are.same({5, 1, 28, 28}, m:decode(G.randn(5, 20)).shape)
    assert.matches("Conv2d%(1, 8, kernel=3x3", tostring(m.enc))
  end)

  it("max_pool2d 2x2: a window's first NaN, else its first maximum, in window order (value and gradient)", function()
    -- values from {0, 1, 2, NaN} make ties and NaNs in most windows; an even width runs the
    -- float32 pair kernel (with AVX-512: rows of 16 outputs and a masked rest, so 40 and 34
    -- wide too), an odd one the row kernel, float64 its own; 7 rows leave the last one out
    local rng = G.Generator(17)
    for _, dt in ipairs{"float32", "float64"} do
      for _, w in ipairs{8, 7, 40, 34} do
        local N, C, H = 3, 2, w > 8 and 7 or 6
        local u = G.rand(N, C, H, w, {generator = rng})
        local v = {}
        for i = 1, N * C * H * w do
          local k = math.floor(u:reshape(-1)[i] * 4)
          v[i] = k == 3 and 0 / 0 or k
        end
        local x = G.tensor(v):reshape(N, C, H, w):to(dt):requires_grad_()
        local y = nn.max_pool2d(x, 2, 2)
        y:sum():backward()
        local at = function(n, c, r, q) return v[((n * C + c) * H + r) * w + q + 1] end
        local hits = 0
        for n = 0, N - 1 do
          for c = 0, C - 1 do
            for oy = 0, H // 2 - 1 do
              for ox = 0, w // 2 - 1 do
                local best, br, bq
                for r = 2 * oy, 2 * oy + 1 do
                  for q = 2 * ox, 2 * ox + 1 do
                    local e = at(n, c, r, q)
                    if best == nil or (e ~= e and best == best) or e > best then best, br, bq = e, r, q end
                  end
                end
                local got = y[n + 1][c + 1][oy + 1][ox + 1]
                assert.is_true(got == best or (got ~= got and best ~= best),
                               string.format("%s w=%d window (%d,%d,%d,%d): %s, want %s", dt, w, n, c, oy, ox, got, best))
                assert.are.equal(1, x.grad[n + 1][c + 1][br + 1][bq + 1])
                hits = hits + 1
              end
            end
          end
        end
        assert.are.equal(hits, x.grad:sum():item())             -- and nowhere else
      end
    end
  end)

  it("make conv_transpose2d the adjoint of conv2d: <convT(x), y> = <x, conv2d(y)>, both paths", function()
    -- the transposed conv is defined as conv2d's adjoint; stride = kernel without padding runs
    -- the tiled kernels, the rest im2col + GEMM, and conv2d runs neither.  float32 agrees with
    -- float64 to its precision.
    G.manual_seed(13)
    local cases = {
      {{4, 8, 14, 14}, {8, 5, 2, 2}, {stride = 2}},                            -- seed 004's last layer
      {{3, 6, 3, 3}, {6, 8, 2, 2}, {stride = 2, output_padding = 1}},
      {{2, 3, 5, 7}, {3, 4, 3, 2}, {stride = {3, 2}, output_padding = {2, 1}}},
      {{2, 3, 5, 4}, {3, 2, 3, 3}, {stride = 2, padding = 1}},                  -- im2col path
      {{2, 3, 4, 19}, {3, 4, 2, 2}, {stride = 2, output_padding = 1}},          -- rows of 16 pairs and a rest
      {{2, 2, 3, 16}, {2, 3, 2, 2}, {stride = 2}},
    }
    for _, c in ipairs(cases) do
      local x = G.randn(table.unpack(c[1])):to("float64"):requires_grad_()
      local w = G.randn(table.unpack(c[2])):to("float64"):requires_grad_()
      local y64 = nn.conv_transpose2d(x, w, nil, c[3])
      local r = G.randn(table.unpack(y64.shape)):to("float64")
      local back = nn.conv2d(r, w:detach(), nil, {stride = c[3].stride, padding = c[3].padding})
      local lhs = (y64 * r):sum():item()
      local rhs = (x:detach() * back:narrow(3, 1, x.shape[3]):narrow(4, 1, x.shape[4])):sum():item()
      assert.is_true(math.abs(lhs - rhs) <= 1e-10 * (1 + math.abs(lhs)), string.format("%s vs %s", lhs, rhs))
      ;(y64 * r):sum():backward()
      local x32, w32 = x:detach():to("float32"):requires_grad_(), w:detach():to("float32"):requires_grad_()
      local y32 = nn.conv_transpose2d(x32, w32, nil, c[3])
      ;(y32 * r:to("float32")):sum():backward()
      for _, p in ipairs{{y32, y64}, {x32.grad, x.grad}, {w32.grad, w.grad}} do
        assert.is_true((p[1]:to("float64") - p[2]):abs():max():item() <= 1e-5 * (1 + p[2]:abs():max():item()))
      end
    end
  end)

  it("split a batch among threads and give every image the result it gets alone (1e-12)", function()
    -- 32 images of 8x28x28: enough work for convolutions and pooling to split the batch
    local threads = G.get_num_threads()
    G.set_num_threads(2)
    G.manual_seed(5)
    local f64 = "float64"
    for _, m in ipairs{nn.Conv2d(8, 8, 3, {padding = 1, dtype = f64}),
                       nn.ConvTranspose2d(8, 8, 2, {stride = 2, dtype = f64}), nn.MaxPool2d(2)} do
      local x = G.randn(32, 8, 28, 28, {dtype = "float64"}):requires_grad_()
      local y = m(x)
      local R = G.randn_like(y)
      ;(y * R):sum():backward()
      local gx, params = x.grad:clone(), m:parameters()
      local sums = {}
      for k, p in ipairs(params) do sums[k] = G.zeros_like(p) end
      local full = {}
      for k, p in ipairs(params) do full[k] = p.grad:clone() end
      for i = 1, 32 do
        m:zero_grad()
        local xi = x:detach():narrow(1, i, 1):requires_grad_()
        local yi = m(xi)
        close(y:detach():narrow(1, i, 1), yi:detach(), 1e-12, tostring(m) .. " image " .. i)
        ;(yi * R:narrow(1, i, 1)):sum():backward()
        close(gx:narrow(1, i, 1), xi.grad, 1e-12, tostring(m) .. " input grad " .. i)
        for k, p in ipairs(params) do sums[k] = sums[k] + p.grad end
      end
      for k = 1, #params do close(full[k], sums[k], 1e-12, tostring(m) .. " parameter grad " .. k) end
    end
    G.set_num_threads(threads)
  end)

  it("sum a batch's weight gradients to the same bits on one thread as on two", function()
    -- float32, 128 images: the sums over the batch are cut into fixed parts, not per thread
    local threads = G.get_num_threads()
    G.manual_seed(9)
    for _, m in ipairs{nn.Conv2d(8, 8, 3, {padding = 1}), nn.ConvTranspose2d(8, 8, 2, {stride = 2}),
                       nn.Conv2d(8, 4, 3, {stride = 2})} do
      local x = G.randn(128, 8, 14, 14)
      local R = G.randn_like(m(x))
      local grads = {}
      for _, t in ipairs{1, 2} do
        G.set_num_threads(t)
        m:zero_grad()
        ;(m(x) * R):sum():backward()
        grads[t] = {}
        for k, p in ipairs(m:parameters()) do grads[t][k] = p.grad:clone() end
      end
      for k = 1, #grads[1] do
        assert.are.equal(0, (grads[1][k] - grads[2][k]):abs():max():item(), tostring(m) .. " parameter " .. k)
      end
    end
    G.set_num_threads(threads)
  end)

  it("run a stride-1 conv in float32 as in float64 (1e-5): outputs in blocks of 8 and a rest, offsets in threes and a rest", function()
    -- float32 runs the vector kernels (blocks of 8 outputs, and with AVX-512 a weight gradient of
    -- 8 outputs by 3 offsets or by 3 inputs; a lone output over 4 strips at once), float64 the
    -- plain loops
    G.manual_seed(6)
    for _, c in ipairs{{O = 11, C = 3, k = {3, 2}, hw = {9, 7}, pad = {0, 1}},
                       {O = 17, C = 2, k = {2, 2}, hw = {8, 9}, pad = {1, 0}},
                       {O = 8, C = 1, k = {1, 5}, hw = {6, 12}, pad = {0, 2}},
                       {O = 9, C = 4, k = {2, 2}, hw = {7, 6}, pad = {0, 0}},    -- the fourth offset, inputs in threes
                       {O = 1, C = 8, k = {3, 3}, hw = {21, 19}, pad = {1, 1}}} do
      local N = 3
      local x = G.randn(N, c.C, c.hw[1], c.hw[2], {dtype = "float64"})
      local w, b = G.randn(c.O, c.C, c.k[1], c.k[2], {dtype = "float64"}), G.randn(c.O, {dtype = "float64"})
      local ho, wo = c.hw[1] + 2 * c.pad[1] - c.k[1] + 1, c.hw[2] + 2 * c.pad[2] - c.k[2] + 1
      local R = G.randn(N, c.O, ho, wo, {dtype = "float64"})
      local res = {}
      for _, dt in ipairs{"float64", "float32"} do
        local xs, ws, bs = x:to(dt):detach():requires_grad_(), w:to(dt):detach():requires_grad_(), b:to(dt):detach():requires_grad_()
        local y = nn.conv2d(xs, ws, bs, {padding = c.pad})
        ;(y * R:to(dt)):sum():backward()
        res[dt] = {y, xs.grad, ws.grad, bs.grad}
      end
      for k, what in ipairs{"output", "input grad", "weight grad", "bias grad"} do
        close(res.float32[k], res.float64[k], 1e-5, string.format("%d -> %d, %dx%d kernel: %s", c.C, c.O, c.k[1], c.k[2], what))
      end
    end
  end)

  it("fuse an activation (and a pooling) into the layer before: the same bits as the modules apart", function()
    -- Sequential hands ReLU/Sigmoid/Tanh after Linear, Conv2d or ConvTranspose2d to the layer
    -- (nn.linear's activation option), and a MaxPool2d(p) after a Conv2d (and its ReLU) to the
    -- conv (nn.conv2d's pool option); running each child by itself must give identical outputs
    -- and gradients, in both dtypes, for every combination, odd sizes and ties included.
    G.manual_seed(11)
    for _, dt in ipairs{"float64", "float32"} do
      local o = {dtype = dt}
      local layers = {
        {function() return nn.Linear(6, 5, o) end, {4, 6}},
        {function() return nn.Conv2d(3, 9, 3, {padding = 1, dtype = dt}) end, {5, 3, 7, 6}},
        {function() return nn.Conv2d(2, 4, 3, {stride = 2, dtype = dt}) end, {5, 2, 9, 9}},
        {function() return nn.ConvTranspose2d(3, 4, 2, {stride = 2, output_padding = 1, dtype = dt}) end,
         {5, 3, 3, 3}},
      }
      local cases = {}
      for _, l in ipairs(layers) do
        for _, act in ipairs{nn.ReLU, nn.Sigmoid, nn.Tanh} do
          cases[#cases + 1] = {function() return nn.Sequential(l[1](), act()) end, l[2]}
        end
      end
      local conv = function(ci, co) return nn.Conv2d(ci, co, 3, {padding = 1, dtype = dt}) end
      cases[#cases + 1] = {function() return nn.Sequential(conv(3, 8), nn.ReLU(), nn.MaxPool2d(2, 2)) end,
                           {6, 3, 7, 9}}                         -- 7x9 -> 3x4: the last row and column dropped
      cases[#cases + 1] = {function() return nn.Sequential(conv(8, 8), nn.ReLU(), nn.MaxPool2d(3)) end,
                           {3, 8, 12, 12}}
      cases[#cases + 1] = {function() return nn.Sequential(conv(2, 5), nn.MaxPool2d(2)) end, {4, 2, 6, 6}}
      cases[#cases + 1] = {function() return nn.Sequential(conv(1, 3), nn.ReLU(), nn.MaxPool2d(2, 2)) end,
                           {2, 1, 5, 35}}                       -- rows of 17 pooled outputs: 16 and 1
      for _, c in ipairs(cases) do
          local seq = c[1]()
          local x = G.randn(table.unpack(c[2])):to(dt)
          if #seq == 3 then x = x:round() end                    -- ties within the pooling windows
          local res = {}
          for pass, run in ipairs{function(xx) return seq(xx) end,
                                  function(xx)
                                    for k = 0, #seq - 1 do xx = seq[tostring(k)](xx) end
                                    return xx
                                  end} do
            seq:zero_grad()
            local xg = x:clone():requires_grad_()
            local y = run(xg)
            local shape = {table.unpack(y.shape)}
            shape[#shape + 1] = {generator = G.Generator(3)}
            local R = G.randn(table.unpack(shape)):to(dt)
            ;(y * R):sum():backward()
            res[pass] = {y:detach(), xg.grad, seq["0"].weight.grad:clone(), seq["0"].bias.grad:clone()}
          end
          for k, what in ipairs{"output", "input grad", "weight grad", "bias grad"} do
            local d = (res[1][k] - res[2][k]):abs():max():item()
            assert(d == 0, string.format("%s %s: %s differs by %g", dt, tostring(seq), what, d))
          end
      end
    end
    -- the fused output keeps what the activation's gradient needs: an in-place edit is caught
    local y = nn.conv2d(G.randn(1, 1, 4, 4):requires_grad_(), G.randn(2, 1, 3, 3), nil,
                        {padding = 1, activation = "relu"})
    G.no_grad(function() y:mul_(2) end)
    assert.matches("saved by conv2d .* modified in place", H.err(function() y:sum():backward() end))
    assert.matches("linear: activation must be \"relu\", \"sigmoid\" or \"tanh\", got gelu",
                   H.err(nn.linear, G.zeros(2, 3), G.zeros(4, 3), nil, {activation = "gelu"}))
    assert.matches("conv2d: activation must be .* got number",
                   H.err(nn.conv2d, G.zeros(1, 1, 3, 3), G.zeros(1, 1, 3, 3), nil, {activation = 5}))
  end)

  it("take mse_loss's sum or mean in one pass: the bits of its parts, forward and backward", function()
    -- the one-pass kernel must equal sub, square and sum (glab_reduce's order: 64 lanes, here
    -- over pieces of 1,024) and its gradient (d g) 2; the strided operand goes the old way
    -- and must agree too.  Sizes: under one lane, lanes and a rest, several pieces and a rest.
    local g = G.Generator(21)
    for _, dt in ipairs{"float32", "float64"} do
      for _, n in ipairs{1, 37, 64, 1000, 1024, 2500, 128 * 784} do
        local x0 = G.randn(n, {generator = g, dtype = dt})
        local y = G.rand(n, {generator = g, dtype = dt})
        local wide = G.randn(n, 2, {generator = g, dtype = dt})
        wide:select(2, 1):copy_(x0)
        for _, r in ipairs{"sum", "mean"} do
          for _, x in ipairs{x0, wide:select(2, 1)} do
            local xg = x:detach():requires_grad_()
            local l = nn.mse_loss(xg, y, r)
            local d = x - y
            local want = r == "sum" and (d * d):sum() or (d * d):mean()
            assert(l:item() == want:item(), string.format("%s n=%d %s: %.17g against %.17g",
                                                          dt, n, r, l:item(), want:item()))
            ;(l * 3):backward()
            local f = G.tensor(r == "sum" and 3 or 3 / n, {dtype = dt})
            local off = (xg.grad - d * f * 2):abs():max():item()
            assert(off == 0, string.format("%s n=%d %s: gradient off by %g", dt, n, r, off))
          end
        end
      end
    end
  end)

  it("give a VAE's latent terms in one op each: the bits of their tensor expressions, forward and backward", function()
    -- nn.gaussian_kl and nn.reparameterize against the expressions they replace, in the graph
    -- a VAE builds (mean and logvar two halves of one encoder output, both terms reading them,
    -- so their gradients meet), on rows under 64 latents (summed in order) and over (in
    -- glab_reduce's 64 lanes), both dtypes, then a 1-d latent and eps that requires grad.
    local g = G.Generator(31)
    for _, dt in ipairs{"float32", "float64"} do
      for _, sh in ipairs{{128, 20}, {3, 70}, {1, 5}} do
        local h0 = G.randn(sh[1], 2 * sh[2], {generator = g, dtype = dt}) * 2
        local eps = G.randn(sh[1], sh[2], {generator = g, dtype = dt})
        local wz = G.randn(sh[1], sh[2], {generator = g, dtype = dt})
        local res = {}
        for pass = 1, 2 do
          local h = h0:clone():requires_grad_()
          local mean, logvar = h:narrow(2, 1, sh[2]), h:narrow(2, sh[2] + 1, sh[2])
          local kl, z
          if pass == 1 then
            kl, z = nn.gaussian_kl(mean, logvar), nn.reparameterize(mean, logvar, eps)
          else
            kl = ((logvar + 1) - mean * mean - logvar:exp()):sum(2) * -0.5
            z = mean + (logvar * 0.5):exp() * eps
          end
          local loss = (z * wz):sum() / sh[1] + kl:sum() / sh[1]
          loss:backward()
          res[pass] = {kl:detach(), z:detach(), h.grad}
        end
        for k, what in ipairs{"kl", "z", "gradient"} do
          local d = (res[1][k] - res[2][k]):abs():max():item()
          assert(d == 0, string.format("%s %dx%d: %s differs by %g", dt, sh[1], sh[2], what, d))
        end
      end
    end
    local m, lv, e = G.randn(6):requires_grad_(), G.randn(6):requires_grad_(), G.randn(6):requires_grad_()
    local kl = nn.gaussian_kl(m, lv)
    assert.are.same({}, kl.shape)
    local want = -0.5 * (1 + lv:detach() - m:detach() ^ 2 - lv:detach():exp()):sum():item()
    assert(math.abs(kl:item() - want) <= 1e-5 * math.abs(want), kl:item() .. " against " .. want)
    nn.reparameterize(m, lv, e):sum():backward()
    assert.are.equal(0, (e.grad - (lv:detach() * 0.5):exp()):abs():max():item())
    assert.matches("gaussian_kl: mean %(2x3%) and logvar %(3x2%) must have one shape",
                   H.err(nn.gaussian_kl, G.zeros(2, 3), G.zeros(3, 2)))
    assert.matches("reparameterize: mean is float32 but eps is float64",
                   H.err(nn.reparameterize, G.zeros(2, 3), G.zeros(2, 3), G.zeros(2, 3, {dtype = "float64"})))
    assert.matches("gaussian_kl: the latents must have at least one dimension",
                   H.err(nn.gaussian_kl, G.tensor(1), G.tensor(2)))
  end)

  it("reject bad shapes and options with messages naming them", function()
    assert.matches("conv2d: input %(2x3x5x5%) has 3 channels, weight %(4x2x3x3%) expects 2",
                   H.err(nn.conv2d, G.zeros(2, 3, 5, 5), G.zeros(4, 2, 3, 3)))
    assert.matches("linear: input %(5x3%) and weight %(2x4%)", H.err(nn.linear, G.zeros(5, 3), G.zeros(2, 4)))
    -- option errors point at the caller's line, not into nn.lua
    assert.matches("nn_spec.lua:%d+: Conv2d: unknown option 'strid'",
                   H.err(function() local m = nn.Conv2d(1, 2, 3, {strid = 2}); return m end))
    assert.matches("nn_spec.lua:%d+: Adam: unknown option 'lrr'",
                   H.err(function() local o = G.optim.Adam({G.zeros(1):requires_grad_()}, {lrr = 1}); return o end))
    assert.matches("output_padding must be smaller than the stride",
                   H.err(nn.conv_transpose2d, G.zeros(1, 1, 3, 3), G.zeros(1, 1, 2, 2), nil, {output_padding = 1}))
    assert.matches("lstm: state h0 %(2x5%) must be", H.err(nn.lstm, G.zeros(3, 4, 1), G.zeros(2, 5),
                   G.zeros(3, 5), G.zeros(20, 1), G.zeros(20, 5)))
    assert.matches("lstm: input %(3x0x1%) has no time steps", H.err(nn.lstm, G.zeros(3, 0, 1),
                   G.zeros(3, 5), G.zeros(3, 5), G.zeros(20, 1), G.zeros(20, 5)))
    assert.matches("cross_entropy: target 2 is class 5, outside 1..3",
                   H.err(nn.cross_entropy, G.zeros(2, 3), {1, 5}))
    assert.matches("SGD: give a learning rate", H.err(G.optim.SGD, {G.zeros(1):requires_grad_()}))
  end)

  it("train: a tiny MLP fits XOR with Adam", function()
    G.manual_seed(0)
    local X = G.tensor{{0, 0}, {0, 1}, {1, 0}, {1, 1}}
    local y = G.tensor{{0}, {1}, {1}, {0}}
    local m = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    local opt = G.optim.Adam(m:parameters(), {lr = 0.05})
    local loss
    for _ = 1, 300 do
      opt:zero_grad()
      loss = nn.binary_cross_entropy_with_logits(m(X), y)
      loss:backward()
      opt:step()
    end
    assert.is_true(loss:item() < 0.05, "loss " .. loss:item())
  end)
end)

describe("checkpoints", function()
  local path = H.tmpname()
  after_each(function() os.remove(path) end)

  it("round-trip a model and its optimizer exactly, and training continues identically", function()
    G.manual_seed(1)
    local function model() return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)) end
    local m = model()
    local opt = G.optim.Adam(m:parameters(), {lr = 0.01})
    local x, t = G.randn(6, 3), G.randn(6, 2)
    local function step(mm, o)
      o:zero_grad()
      local l = nn.mse_loss(mm(x), t)
      l:backward()
      o:step()
      return l:item()
    end
    step(m, opt)
    G.save(path, {model = m:state_dict(), optim = opt:state_dict()})
    local ck = G.load(path)
    local m2 = model():load_state_dict(ck.model)
    local opt2 = G.optim.Adam(m2:parameters(), {lr = 0.5}):load_state_dict(ck.optim)
    assert.are.equal(0.01, opt2:get_lr())
    for _ = 1, 3 do assert.are.equal(step(m, opt), step(m2, opt2)) end
  end)

  it("keep dtype, shape and bytes of float32 and float64 tensors, scalars included", function()
    local a, b = G.randn(3, 1, 2), G.randn(5, {dtype = "float64"})
    G.save(path, {a = a, nest = {b = b, s = G.tensor(2.5)}})
    local ck = G.load(path)
    assert.are.same(a:totable(), ck.a:totable())
    assert.are.equal("float64", ck.nest.b.dtype)
    assert.are.same(b:totable(), ck.nest.b:totable())
    assert.are.equal(2.5, ck.nest.s:item())
  end)

  it("refuse names that would not come back as saved: twice the same, empty, or holding '/'", function()
    local t = G.ones(2)
    assert.matches("save: two entries are named 1", H.err(G.save, path, {[1] = t, ["1"] = t}))
    assert.matches('save: the key "a/b" at the top: a key may not be empty or hold "/"',
                   H.err(G.save, path, {a = {b = t}, ["a/b"] = t}))
    assert.matches('save: the key "" under w/', H.err(G.save, path, {w = {[""] = t}}))
  end)

  it("name the entry of a shape mismatch, and refuse unknown or missing ones", function()
    local m = nn.Linear(784, 500)
    G.save(path, nn.Linear(784, 400):state_dict())
    assert.matches("weight: checkpoint has 400x784, model has 500x784",
                   H.err(m.load_state_dict, m, G.load(path)))
    assert.matches("the checkpoint lacks bias", H.err(m.load_state_dict, m, {weight = G.zeros(500, 784)}))
    local sd = m:state_dict()
    sd.extra = G.zeros(1)
    assert.matches("has extra, which the model lacks", H.err(m.load_state_dict, m, sd))
    m:load_state_dict(sd, false)
  end)

  it("reject truncated and damaged files with the file's name and the problem", function()
    G.save(path, {w = G.ones(100)})
    local f = io.open(path, "rb")
    local bytes = f:read("a")
    f:close()
    local function write(s) local g = io.open(path, "wb"); g:write(s); g:close() end
    write(bytes:sub(1, #bytes - 10))
    assert.matches(path:gsub("%p", "%%%0") .. ": truncated: the header declares %d+ bytes, the file has %d+",
                   H.err(G.load, path))
    write(bytes .. "junk")
    assert.matches("4 bytes after the end that the header declares", H.err(G.load, path))
    write(bytes:sub(1, 30))
    assert.matches("header runs past the end", H.err(G.load, path))
    write("not a checkpoint at all, just text")
    assert.matches("not a genlab checkpoint", H.err(G.load, path))
    write(bytes:sub(1, 8) .. "\9" .. bytes:sub(10))
    assert.matches("format version 9 (this genlab reads 1 and 2)", H.err(G.load, path), 1, true)
    assert.matches("cannot open", H.err(G.load, path .. ".missing"))
    -- names that would nest into each other are refused as they are saved (the save spec below)
    assert.matches('the key "a/b" at the top', H.err(G.save, path, {a = G.ones(1), ["a/b"] = G.ones(2)}))
  end)

  it("refuse a table that contains itself, naming where the cycle closes", function()
    local t = {a = G.ones(2)}
    t.self = t
    assert.matches("save: self: a cycle: the top-level table contains itself", H.err(G.save, path, t), 1, true)
    local m = {w = G.ones(1), sub = {}}
    m.sub.back = m
    assert.matches("save: model/sub/back: a cycle: the table model contains itself",
                   H.err(G.save, path, {model = m}))
    local shared = {w = G.ones(3)}                      -- met twice, but not below itself
    G.save(path, {a = shared, b = {c = shared}})
    local ck = G.load(path)
    assert.are.same({1, 1, 1}, ck.a.w:totable())
    assert.are.same({1, 1, 1}, ck.b.c.w:totable())
  end)

  it("nest as deep as the 255-byte names allow, and say so beyond", function()
    local function nest(depth, key)
      local t = {w = G.arange(3)}
      for _ = 1, depth do t = {[key] = t} end
      return t
    end
    for _, depth in ipairs{20, 126} do                  -- "n/" 126 times + "w": 253 bytes
      G.save(path, nest(depth, "n"))
      local t = G.load(path)
      for _ = 1, depth do t = t.n end
      assert.are.same({0, 1, 2}, t.w:totable())
    end
    assert.matches("nested too deep: the names below it would pass the 255 bytes",
                   H.err(G.save, path, nest(200, "n")))
    assert.matches('save: the key "" at the top: a key may not be empty', H.err(G.save, path, nest(300, "")))
  end)

  -- Every byte of a small checkpoint, changed in several ways, must make the
  -- load fail with a message naming the file, or (for a byte nothing reads)
  -- give the same tensors: no damaged file loads as different values.
  it("carry a CRC-32: no one-byte damage loads silently", function()
    local saved = {a = G.randn(3, 2), b = {c = G.randn(2, {dtype = "float64"})}, s = G.tensor(2.5)}
    G.save(path, saved)
    local f = io.open(path, "rb")
    local bytes = f:read("a")
    f:close()
    local function same(t)
      return t.a and t.b and t.s and t.b.c and t.a.dtype == "float32" and t.b.c.dtype == "float64"
        and (t.a - saved.a):abs():max():item() == 0 and (t.b.c - saved.b.c):abs():max():item() == 0
        and t.s:item() == 2.5 and #t.a.shape == 2 and #t.s.shape == 0
    end
    local silent, failed, loads = 0, 0, 0
    for i = 1, #bytes do
      for _, x in ipairs{0x01, 0x80, 0xff, 0x5a} do
        local g = io.open(path, "wb")
        g:write(bytes:sub(1, i - 1), string.char(bytes:byte(i) ~ x), bytes:sub(i + 1))
        g:close()
        local ok, t = pcall(G.load, path)
        if ok then
          loads = loads + 1
          if not same(t) then silent = silent + 1 end
        else
          failed = failed + 1
          assert.matches(path, t, 1, true)
        end
      end
    end
    assert.are.equal(0, silent, "damaged files that loaded as different tensors")
    assert.are.equal(0, loads, "damaged files that loaded at all")
    local g = io.open(path, "wb")
    g:write(bytes:sub(1, 300), string.char(bytes:byte(301) ~ 4), bytes:sub(302))
    g:close()
    assert.matches(": checksum mismatch (file damaged)", H.err(G.load, path), 1, true)
  end)

  it("lay out version 2 as documented, and still read version 1 (no checksum)", function()
    local function entry(off) return string.pack("<I2", 1) .. "w" .. string.pack("<I1I1i8I8I8", 0, 1, 3, off, 12) end
    local head = "GLABCKPT" .. string.pack("<I4I4I8I8I8", 2, 1, #entry(128), 0, 144) .. entry(128)
    local body = head .. string.rep("\0", 128 - #head) .. string.pack("<fff", 1, 2, 3)
    G.save(path, {w = G.tensor({1, 2, 3})})
    local f = io.open(path, "rb")
    local bytes = f:read("a")
    f:close()
    assert.are.equal(body, bytes:sub(1, -5))
    assert.are.equal(144, #bytes)
    -- {w = [1, 2, 3]} as float32, laid out by the version 1 writer
    head = "GLABCKPT" .. string.pack("<I4I4I8", 1, 1, #entry(64)) .. entry(64)
    local v1 = head .. string.rep("\0", 64 - #head) .. string.pack("<fff", 1, 2, 3)
    local function write(s) local g = io.open(path, "wb"); g:write(s); g:close() end
    write(v1)
    assert.are.same({1, 2, 3}, G.load(path).w:totable())
    write(v1 .. "\0\0\0\0")
    assert.matches("4 bytes after the last tensor's data", H.err(G.load, path))
  end)

  it("never leave a half-written file: the old checkpoint survives a failed save", function()
    G.save(path, {w = G.ones(2)})
    assert.matches("only tensors", H.err(G.save, path, {w = G.ones(3), bad = "x"}))
    assert.are.same({1, 1}, G.load(path).w:totable())
  end)
end)

describe("nn.gmm_log_density", function()
  local f64 = {dtype = "float64"}
  local gen = G.Generator(21)
  local K, d, B = 3, 4, 6
  local x = G.randn(B, d, {dtype = "float64", generator = gen})
  local w = G.randn(K, {dtype = "float64", generator = gen})
  local mu = G.randn(K, d, {dtype = "float64", generator = gen}) * 0.5
  local A = G.randn(K, d, d, {dtype = "float64", generator = gen}) * 0.4 + G.eye(d, f64)

  it("equals the mixture density of models.GMM (1e-12)", function()
    local covs = A:matmul(A:transpose(2, 3)) + G.eye(d, f64) * 1e-3
    local want = G.models.GMM(w:softmax(1), mu, covs):log_prob(x)
    assert.is_true((nn.gmm_log_density(x, w, mu, A, 1e-3) - want):abs():max():item() < 1e-12)
    local nograd = G.no_grad(function() return nn.gmm_log_density(x, w, mu, A, 1e-3) end)
    assert.is_true((nograd - want):abs():max():item() < 1e-12)
  end)

  -- weights of one sign take the syrk path of the covariance gradient, mixed signs the gemm path
  for _, case in ipairs{{"negative weights (a loss -mean)", -1}, {"mixed-sign weights", 0}} do
    it("has gradients that match finite differences, " .. case[1], function()
      local c = case[2] == 0 and G.randn(B, {dtype = "float64", generator = gen}) or G.full({B}, -1 / B, f64)
      local ok, worst = nn.gradcheck(function(xx, ww, mm, AA)
        return nn.gmm_log_density(xx, ww, mm, AA, 1e-3) * c
      end, {x:clone():requires_grad_(), w:clone():requires_grad_(), mu:clone():requires_grad_(),
            A:clone():requires_grad_()})
      assert.is_true(ok, worst)
    end)
  end

  it("names the shapes that met, and a covariance that is not positive definite", function()
    assert.matches("gmm_log_density: x %(6x4%), logits %(3%), means %(2x4%), A %(3x4x4%)",
                   H.err(nn.gmm_log_density, x, w, mu:narrow(1, 1, 2), A))
    assert.matches("component 2 is not positive definite",
                   H.err(nn.gmm_log_density, x, w, mu, A * G.tensor({1, 0, 1}, f64):reshape(3, 1, 1), 0))
    assert.matches("must share a dtype", H.err(nn.gmm_log_density, x:float(), w, mu, A))
  end)
end)
