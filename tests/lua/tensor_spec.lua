-- The Tensor surface: creation, 1-based indexing and views, operators,
-- reductions, printing, and the messages of bad calls.
local G = require "genlab"

local function near(a, b, tol, what)
  assert(math.abs(a - b) <= tol, ("%s: got %.17g, want %.17g (tol %g)"):format(what or "value", a, b, tol))
end

local H = dofile("tests/lua/helpers.lua")
local err = H.err

describe("creation", function()
  it("builds from nested tables and back", function()
    local t = G.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.are.same({2, 3}, t.shape)
    assert.are.equal("float32", t.dtype)
    assert.are.same({{1, 2, 3}, {4, 5, 6}}, t:totable())
    assert.are.equal("float64", G.tensor({1}, {dtype = "float64"}).dtype)
  end)
  it("names the ragged row", function()
    local msg = err(function() return G.tensor{{1, 2}, {3}} end)
    assert.matches("element %[2%] has 1 entries, expected 2", msg)
    assert.matches("element %[1%]%[2%] is a string", err(function() return G.tensor{{1, "x"}} end))
    -- an empty first row sets the shape (2x0) the later rows must follow
    assert.matches("element %[2%] has 2 entries, expected 0", err(function() return G.tensor{{}, {1, 2}} end))
    assert.are.same({2, 0}, G.tensor{{}, {}}.shape)
    assert.matches("arange: 0 to 1e%+20 by 1 is 1e%+20 values %(at most 2%^62%)",
                   err(function() return G.arange(0, 1e20) end))
    for _, f in ipairs{"argmax", "argmin", "max"} do
      assert.matches("^[^:]*:%d+: " .. f .. ": reduction over an empty dimension",
                     err(function() return G.zeros(3, 0)[f](G.zeros(3, 0), 2) end))
    end
    assert.are.same({0}, G.tensor{}.shape)
  end)
  it("accepts sizes as integers or a table", function()
    assert.are.same({3, 4}, G.zeros(3, 4).shape)
    assert.are.same({3, 4}, G.ones{3, 4}.shape)
    assert.are.same({2}, G.full(2, 7).shape)
    assert.are.equal(7, G.full({2, 2}, 7)[2][2])
    assert.are.same({2, 2}, G.zeros(2, 2, {dtype = "float64"}).shape)
  end)
  it("rejects negative and non-integer sizes", function()
    assert.matches("bad argument #2 to 'zeros' %(negative size %-1%)", err(function() return G.zeros(3, -1) end))
    assert.matches("size must be an integer", err(function() return G.zeros(2.5) end))
  end)
  it("reports impossible allocations instead of aborting", function()
    assert.matches("cannot allocate .* %(50000x6000000%) float32 tensor", err(function() return G.zeros(50000, 6000000) end))
  end)
  it("makes ranges as numpy does", function()
    assert.are.same({0, 1, 2, 3}, G.arange(4):totable())
    assert.are.same({2, 4}, G.arange(2, 6, 2):totable())
    local l = G.linspace(0, 1, 5, {dtype = "float64"})
    near(l[4], 0.75, 0, "linspace")
    assert.are.same({{1, 0}, {0, 1}, {0, 0}}, G.eye(3, 2):totable())
  end)
end)

describe("indexing", function()
  it("returns views for x[i] and numbers at the last dim", function()
    local x = G.arange(12):reshape(3, 4)
    local row = x[2]
    assert.are.same({4}, row.shape)
    assert.are.equal(6, x[2][3])
    row[3] = 100                        -- writes through to x
    assert.are.equal(100, x[2][3])
    assert.are.equal(11, x[-1][-1])     -- negative counts from the end
  end)
  it("takes tables of indices and ranges", function()
    local x = G.arange(12):reshape(3, 4)
    assert.are.same({{5, 6}, {9, 10}}, x[{{2, 3}, {2, 3}}]:totable())
    assert.are.same({1, 5, 9}, x[{{}, 2}]:totable())
    x[{{}, 1}] = -1
    assert.are.same({-1, -1, -1}, x:select(2, 1):totable())
  end)
  it("says which index is out of range", function()
    local x = G.zeros(2, 3)
    assert.matches("index 3 out of range for a dimension of size 2", err(function() return x[3] end))
    assert.matches("dimension 3 out of range for a 2%-d tensor", err(function() return x:sum(3) end))
    assert.matches("dimensions are numbered from 1", err(function() return x:sum(0) end))
  end)
  it("has 1-based narrow, select, index_select, gather", function()
    local x = G.tensor{{1, 2, 3}, {4, 5, 6}}
    assert.are.same({{2, 3}, {5, 6}}, x:narrow(2, 2, 2):totable())
    assert.are.same({4, 5, 6}, x:select(1, 2):totable())
    assert.are.same({{3, 1}, {6, 4}}, x:index_select(2, {3, 1}):totable())
    assert.are.same({{3}, {4}}, x:gather(2, G.tensor{{3}, {1}}):totable())
  end)
end)

describe("views", function()
  it("share storage and know their strides", function()
    local x = G.zeros(2, 3)
    local t = x:t()
    assert.are.same({1, 3}, t:stride())
    assert.is_false(t:is_contiguous())
    t[3][2] = 5
    assert.are.equal(5, x[2][3])
    assert.are.same({3, 2}, x.T.shape)
  end)
  it("reshape, view, flatten, permute, squeeze, expand", function()
    local x = G.arange(24):reshape(2, 3, 4)
    assert.are.same({6, 4}, x:view(-1, 4).shape)
    assert.are.same({2, 12}, x:flatten(2).shape)
    assert.are.same({4, 2, 3}, x:permute(3, 1, 2).shape)
    assert.are.same({3}, G.zeros(1, 3, 1):squeeze().shape)
    assert.are.same({1, 3}, G.zeros(3):unsqueeze(1).shape)
    assert.are.same({4, 3}, G.tensor{1, 2, 3}:expand(4, 3).shape)
    -- a view whose element count would pass 2^62 (numel and reshape count it)
    assert.matches("expand: %(4294967296x4294967296%) would have more than 2%^62 elements",
                   err(function() return G.ones(1, 1):expand(2^32, 2^32) end))
    assert.are.same({0, 2^40}, G.ones(0, 1):expand(0, 2^40).shape)
    assert.matches("use reshape", err(function() return x:transpose(1, 3):view(24) end))
    local m = G.arange(12):reshape(3, 4)
    assert.are.same({0, 5, 10}, m:diagonal():totable())
    m:diagonal():fill_(-1)                 -- a view: writes reach m
    assert.are.equal(-1, m[3][3])
    assert.are.same({{0, 3}, {4, 7}}, G.arange(8):reshape(2, 2, 2):diagonal():totable())
  end)
  it("frees at once with <close>", function()
    local y
    do
      local x <close> = G.ones(3)
      y = x
    end
    assert.matches("closed", err(function() return y + 1 end))
  end)
end)

describe("operators", function()
  it("broadcast like numpy, with numbers on either side", function()
    local a = G.tensor{{1}, {2}}          -- (2x1)
    local b = G.tensor{10, 20, 30}        -- (3)
    assert.are.same({{11, 21, 31}, {12, 22, 32}}, (a + b):totable())
    assert.are.same({{1, 0.5}}, (1 / G.tensor{{1, 2}}):totable())
    assert.are.same({4, 9}, (G.tensor{2, 3} ^ 2):totable())
    assert.are.same({-2}, (-G.tensor{2}):totable())
    assert.are.same({0, 1}, G.tensor{1, 2}:gt(1.5):totable())
  end)
  it("names both shapes when they do not broadcast", function()
    assert.matches("add: shapes %(3x4%) and %(5%) do not broadcast",
                   err(function() return G.zeros(3, 4) + G.zeros(5) end))
    assert.matches("matmul: %(512x256%) @ %(128x64%): inner dimensions differ",
                   err(function() return G.zeros(512, 256):matmul(G.zeros(128, 64)) end))
  end)
  it("promotes float32 with float64 to float64", function()
    assert.are.equal("float64", (G.ones(2) + G.ones(2, {dtype = "float64"})).dtype)
    assert.are.equal("float32", (G.ones(2) * 2.5).dtype)
  end)
  it("uses identity for ==", function()
    local x = G.ones(2)
    assert.is_true(x == x)
    assert.is_false(x == G.ones(2))
  end)
  it("computes where and in-place updates", function()
    local m = G.tensor{1, 0, 1}
    assert.are.same({1, 20, 3}, G.where(m, G.tensor{1, 2, 3}, G.tensor{10, 20, 30}):totable())
    local x = G.ones(3)
    x:add_(2):mul_(G.tensor{1, 2, 3})
    assert.are.same({3, 6, 9}, x:totable())
  end)
end)

describe("reductions", function()
  local x = G.tensor({{1, 5, 3}, {4, 2, 6}}, {dtype = "float64"})
  it("reduce over 1-based dims or everything", function()
    assert.are.equal(21, x:sum():item())
    assert.are.same({5, 7, 9}, x:sum(1):totable())
    assert.are.same({{9}, {12}}, x:sum(2, true):totable())
    near(x:var():item(), 3.5, 1e-12, "unbiased var")
    near(x:var(nil, false):item(), 35 / 12, 1e-12, "population var")
  end)
  it("return 1-based positions", function()
    local v, i = x:max(2)
    assert.are.same({5, 6}, v:totable())
    assert.are.same({2, 3}, i:totable())
    assert.are.equal(6, x:argmax():item())
    local s, order = G.tensor{3, 1, 2}:sort()
    assert.are.same({1, 2, 3}, s:totable())
    assert.are.same({2, 3, 1}, order:totable())
    local tv, ti = G.tensor{3, 1, 2}:topk(2)
    assert.are.same({3, 2}, tv:totable())
    assert.are.same({1, 3}, ti:totable())
  end)
  it("agree with plain Lua loops down columns, along rows in blocks of 64, and over vectors", function()
    -- 70 rows of 10 cross the kernels' 64-row lane blocks; rows of 130 go one at
    -- a time in 64-value chunks
    local ref = {
      sum = function(v) local s = 0 for _, a in ipairs(v) do s = s + a end return s end,
      max = function(v) local m = -math.huge for _, a in ipairs(v) do m = math.max(m, a) end return m end,
      min = function(v) local m = math.huge for _, a in ipairs(v) do m = math.min(m, a) end return m end,
      prod = function(v) local p = 1 for _, a in ipairs(v) do p = p * a end return p end,
    }
    ref.mean = function(v) return ref.sum(v) / #v end
    ref.logsumexp = function(v)
      local m, s = ref.max(v), 0
      for _, a in ipairs(v) do s = s + math.exp(a - m) end
      return m + math.log(s)
    end
    ref.var = function(v)
      local mu, q = ref.mean(v), 0
      for _, a in ipairs(v) do q = q + (a - mu) ^ 2 end
      return q / (#v - 1)
    end
    ref.std = function(v) return math.sqrt(ref.var(v)) end
    G.manual_seed(3)
    for _, dt in ipairs{"float64", "float32"} do
      local tol = dt == "float64" and 1e-12 or 1e-5
      for _, shape in ipairs{{70, 130}, {70, 10}, {1, 130}, {5, 1}} do
        local x = G.rand(shape[1], shape[2], {dtype = "float64"}) + 0.5
        local t, rows, cols, all = x:totable(), {}, {}, {}
        for j = 1, shape[2] do cols[j] = {} end
        for i = 1, shape[1] do
          rows[i] = t[i]
          for j = 1, shape[2] do cols[j][i] = t[i][j]; all[#all + 1] = t[i][j] end
        end
        x = x:to(dt)
        for op, f in pairs(ref) do
          local what = string.format("%s %s (%dx%d)", op, dt, shape[1], shape[2])
          near(x[op](x):item(), f(all), tol * math.abs(f(all)) + tol, what .. " over all")
          local along = x[op](x, 2):totable()
          for i = 1, shape[1] do
            local want = f(rows[i])          -- NaN: the variance of one value
            if want ~= want then assert.is_true(along[i] ~= along[i], what)
            else near(along[i], want, tol * math.abs(want) + tol, what .. " along rows") end
          end
          if shape[1] > 1 then
            local down = x[op](x, 1):totable()
            for j = 1, shape[2] do near(down[j], f(cols[j]), tol * math.abs(f(cols[j])) + tol, what .. " down columns") end
          end
        end
        local _, at = x:max(2)
        for i, a in ipairs(at:totable()) do assert.are.equal(ref.max(rows[i]), rows[i][a]) end
      end
    end
  end)
  it("logsumexp is stable and softmax normalises", function()
    local big = G.tensor({1000, 1000}, {dtype = "float64"})
    near(big:logsumexp():item(), 1000 + math.log(2), 1e-12, "logsumexp")
    local p = G.tensor{{1, 2, 3}}:softmax(2)
    near(p:sum():item(), 1, 1e-6, "softmax sums to 1")
  end)
  it("cat and stack", function()
    assert.are.same({4, 2}, G.cat({G.zeros(1, 2), G.ones(3, 2)}).shape)
    assert.are.same({2, 3}, G.stack({G.zeros(3), G.ones(3)}).shape)
    assert.matches("element 2 of the list is a number", err(function() return G.cat({G.zeros(1), 3}) end))
  end)
end)

describe("printing", function()
  it("shows dtype, shape and aligned columns", function()
    local s = tostring(G.tensor{{1.5, -2}, {3, 4}})
    assert.are.equal("float32 (2x2)\n[[ 1.5000 -2.0000]\n [ 3.0000  4.0000]]", s)
    assert.are.equal("float32 (3)\n[0 1 2]", tostring(G.arange(3)))
    assert.are.equal("2 (float32 scalar)", tostring(G.ones(2):sum()))
  end)
  it("summarises large tensors", function()
    local s = tostring(G.zeros(100, 100))
    assert.matches("%.%.%.", s)
    assert.is_true(#s < 400)
  end)
end)

describe("help", function()
  it("knows every public function", function()
    local missing = {}
    for name, f in pairs(G) do
      if type(f) == "function" and name ~= "randperm" and not G.doc(f) then missing[#missing + 1] = name end
    end
    for _, mod in ipairs{"linalg", "data", "viz", "nn", "optim"} do
      for name, f in pairs(G[mod]) do
        if (type(f) == "function" or (type(f) == "table" and mod == "nn")) and not G.doc(f) then
          missing[#missing + 1] = mod .. "." .. name
        end
      end
    end
    for _, cls in ipairs{G.nn.Module, getmetatable(G.optim.SGD({G.zeros(1):requires_grad_()}, {lr = 1}))} do
      for name, f in pairs(cls) do
        if type(f) == "function" and name:sub(1, 2) ~= "__" and not G.doc(f) then
          missing[#missing + 1] = "method " .. name
        end
      end
    end
    assert.are.same({}, missing)
    assert.matches("^linalg.eigh%(A%) %-> w, V", G.doc(G.linalg.eigh))
  end)
end)

describe("floating point", function()
  it("flushes float32 subnormals to zero on every BLAS thread", function()
    -- products of 1e-21 are subnormal (1e-42); with FTZ/DAZ they are 0.
    -- 512^3 is shared between both threads, each computing part of the
    -- rows, so a worker without FTZ leaves non-zero rows.
    local before = G.get_num_threads()
    G.set_num_threads(2)
    local a = G.full({512, 512}, 1e-21)
    local nonzero = a:matmul(a):ne(0):sum():item()
    G.set_num_threads(before)
    assert.are.equal(0, nonzero)
  end)
end)

describe("matrix products on the threads", function()
  -- A product worth sharing is cut into blocks of C's rows or columns, one
  -- per thread; each element must be the sum one BLAS call computes, bit for
  -- bit, whichever block it falls in (so a model trains to the same numbers
  -- on any thread count).  Shapes: the MLP VAE's (rows split at 784 or
  -- columns at 500, and its first weight's gradient, 500 x 128 x 784, whose
  -- rows are cut though it is wider than tall), blocks that do not fall on the 16-element alignment,
  -- products whose blocks would fall under OpenBLAS's small-matrix limit
  -- (128 x 400 x 32 in halves, the LSTM's 128 x 825 x 32 in thirds), each
  -- operand transposed, a batch of two, in both dtypes: a float64 product
  -- whose n is not a multiple of 16 runs its last n mod 16 columns as a call
  -- of their own (dgemm sums the edge columns differently in a cut call), so
  -- it too keeps its bits.

  -- run() on one thread, then on two and three: every result it returns must
  -- keep its bits, unless checked(i) is false; gives the one-thread results
  local function same_on_threads(run, label, names, checked)
    G.set_num_threads(1)
    local one = run()
    for nt = 2, 3 do
      G.set_num_threads(nt)
      local other = run()
      for i = 1, #one do
        if checked(i) then
          local diff = (one[i] - other[i]):abs():max():item()
          assert(diff == 0, string.format("%s, %s: 1 and %d threads differ by %g",
                                          label, names and names[i] or "layout " .. i, nt, diff))
        end
      end
    end
    G.set_num_threads(1)
    return one
  end

  it("gives the same bits on one thread as on two or three, for every layout", function()
    local before = G.get_num_threads()
    local g = G.Generator(5)
    local shapes = {{128, 784, 500}, {784, 128, 500}, {128, 500, 20}, {77, 301, 45},
                    {301, 77, 45}, {1000, 33, 17}, {33, 1000, 17}, {128, 400, 32}, {128, 825, 32},
                    {1000, 100, 100}, {600, 300, 37}, {37, 300, 600}, {130, 500, 130}, {128, 784, 512},
                    {500, 128, 784}, {250, 64, 1000}}
    for _, dt in ipairs{"float32", "float64"} do
      for _, s in ipairs(shapes) do
        local m, k, n = s[1], s[2], s[3]
        local a, b = G.randn(m, k, {generator = g, dtype = dt}), G.randn(k, n, {generator = g, dtype = dt})
        local at, bt = a:t():contiguous():t(), b:t():contiguous():t()   -- same values, transposed layouts
        local ab = G.randn(2, m, k, {generator = g, dtype = dt})
        local function products()
          return {a:matmul(b), at:matmul(b), a:matmul(bt), at:matmul(bt), ab:matmul(b)}
        end
        same_on_threads(products, string.format("%s %dx%dx%d", dt, m, k, n), nil,
                        function() return true end)
      end
    end
    G.set_num_threads(before)
  end)

  it("gives each block of a layer its bias and activation (nn.linear): the same bits on any thread count", function()
    -- forward, glab_gemm_bias_act fills a thread's block with the bias, multiplies and
    -- applies the activation; backward, the gradients through the shared products.  Blocks of
    -- columns (128 rows) and of rows (300, 200), odd widths, both dtypes; the unfused layer
    -- as a reference.
    local before = G.get_num_threads()
    local g = G.Generator(8)
    for _, dt in ipairs{"float32", "float64"} do
      for _, s in ipairs{{128, 784, 500}, {300, 200, 333}, {128, 100, 784}, {200, 160, 496}} do
        local x = G.randn(s[1], s[2], {generator = g, dtype = dt})
        local w = G.randn(s[3], s[2], {generator = g, dtype = dt}) * 0.1
        local b = G.randn(s[3], {generator = g, dtype = dt})
        local R = G.randn(s[1], s[3], {generator = g, dtype = dt})
        local what = table.concat(s, "x")
        local function run(act, fused)
          local xg, wg, bg = x:clone():requires_grad_(), w:clone():requires_grad_(), b:clone():requires_grad_()
          local y
          if fused then y = G.nn.linear(xg, wg, bg, act and {activation = act} or nil)
          else
            y = xg:matmul(wg:t()) + bg
            if act then y = y[act](y) end
          end
          ;(y * R):sum():backward()
          return {y:detach(), xg.grad, wg.grad, bg.grad}
        end
        local names = {"output", "input grad", "weight grad", "bias grad"}
        for _, act in ipairs{"tanh", "sigmoid", "relu", false} do
          local one = same_on_threads(function() return run(act, true) end,
                                      string.format("%s %s %s", dt, what, act), names,
                                      function() return true end)
          local ref = run(act, false)
          for k, name in ipairs(names) do
            local scale = math.max(1, ref[k]:abs():max():item())
            local off = (one[k] - ref[k]):abs():max():item() / scale
            assert(off <= (dt == "float32" and 1e-5 or 1e-13),
                   string.format("%s %s %s: %s off the unfused layer by %g", dt, what, act, name, off))
          end
        end
      end
    end
    G.set_num_threads(before)
  end)

  it("computes the right numbers in every block", function()
    -- an independent reference: integer values, whose sums are exact in
    -- float32, multiplied by broadcasting and summed without BLAS; cut by
    -- rows (301 x 450 x 77, and 250 x 450 x 301: enough rows to cut though
    -- wider) and by columns (77 x 450 x 301), each layout
    local before = G.get_num_threads()
    G.set_num_threads(2)
    for _, s in ipairs{{301, 450, 77}, {250, 450, 301}, {77, 450, 301}} do
      local m, k, n = s[1], s[2], s[3]
      local a = (G.rand(m, k, {generator = G.Generator(1)}) * 7):floor()
      local b = (G.rand(k, n, {generator = G.Generator(2)}) * 7):floor()
      local ref = (a:unsqueeze(3) * b:unsqueeze(1)):sum(2)
      local at, bt = a:t():contiguous():t(), b:t():contiguous():t()
      for i, c in ipairs{a:matmul(b), at:matmul(b), a:matmul(bt), at:matmul(bt)} do
        local off = (c - ref):abs():max():item()
        assert(off == 0, string.format("%dx%dx%d layout %d: off by %g", m, k, n, i, off))
      end
    end
    G.set_num_threads(before)
  end)
end)

describe("options", function()
  it("name a misspelt option and the ones that exist", function()
    local ok, msg = pcall(function() return G.randn(3, {dtpye = "float64"}) end)
    assert.is_false(ok)
    assert.matches("tensor_spec.lua:%d+: unknown option 'dtpye' %(options here: dtype, generator%)", msg)
    ok, msg = pcall(function() return G.data.mnist{limt = 3} end)
    assert.matches("unknown option 'limt' %(options here: split, binarize, limit, flat%)", msg)
    ok, msg = pcall(function() return G.linalg.cholesky(G.eye(2), {uper = true}) end)
    assert.matches("unknown option 'uper'", msg)
  end)
end)

describe("memory", function()
  it("stays bounded in a loop of large temporaries", function()
    -- 100 x 64 MiB = 6.4 GB allocated in all; Lua alone would not collect
    -- the small handles in time, the pacing keeps about twice the live set.
    collectgarbage()
    local base, peak = G.memory().live, 0               -- what earlier specs still hold
    for _ = 1, 100 do
      local t = G.zeros(4096, 4096)
      peak = math.max(peak, G.memory().live - base)
    end
    assert.is_true(peak < 512 * 2^20 + base / 4, ("peak live %.0f MiB above %.0f MiB"):format(peak / 2^20, base / 2^20))
  end)
  it("reuses freed blocks of the same size", function()
    collectgarbage()
    local a = G.zeros(1024, 1024)
    a = nil
    collectgarbage()
    local cached = G.memory().cached
    assert.is_true(cached >= 4 * 2^20)
    local b = G.zeros(1024, 1024)
    assert.are.equal(cached - 4 * 2^20, G.memory().cached)
  end)
end)

describe("erf and erfc", function()
  -- mpmath.erf / mpmath.erfc at 30 digits (/usr/bin/python3 -c "import mpmath; ...")
  local ref = {{0.5, 0.520499877813046537682746653892, 0.479500122186953462317253346108},
               {1, 0.842700792949714869341220635083, 0.157299207050285130658779364917},
               {3, 0.99997790950300141455862722387, 2.20904969985854413727761295823e-5},
               {5, 0.99999999999846254020557196515, 1.53745979442803485018834348538e-12},
               {10, 1.0, 2.08848758376254475700078629496e-45},
               {-2, -0.995322265018952734162069256367, 1.99532226501895273416206925637},
               {26, 1.0, 5.66319240885614284647572789693e-296}}
  it("match a 30-digit reference to 1e-15 relative, erfc in the far tail too", function()
    local x = G.tensor((function() local t = {} for i, r in ipairs(ref) do t[i] = r[1] end return t end)(),
                       {dtype = "float64"})
    local e, c = x:erf():totable(), G.erfc(x):totable()
    for i, r in ipairs(ref) do
      assert.is_true(math.abs(e[i] - r[2]) <= 1e-15 * math.abs(r[2]), "erf " .. r[1])
      assert.is_true(math.abs(c[i] - r[3]) <= 1e-14 * r[3], "erfc " .. r[1])
    end
  end)
  it("gives the normal CDF 0.5 erfc(-x / sqrt 2) and a float32 erf", function()
    local x = G.tensor({-1.959963984540054, 0, 1})
    local phi = ((x * (-1 / math.sqrt(2))):erfc() * 0.5):totable()
    assert.are.near(0.025, phi[1], 1e-7)
    assert.are.near(0.5, phi[2], 1e-7)
    assert.are.near(0.841344746068543, phi[3], 1e-7)
    assert.are.equal("float32", x:erf().dtype)
  end)
end)
