-- Reproducibility and the samplers' ranges, through Lua.
local G = require "genlab"

describe("random", function()
  it("repeats after manual_seed", function()
    G.manual_seed(42)
    local a = G.randn(5):totable()
    G.manual_seed(42)
    assert.are.same(a, G.randn(5):totable())
  end)

  it("gives the same numbers whatever the thread count", function()
    local before = G.get_num_threads()
    G.manual_seed(9)
    G.set_num_threads(1)
    local a = G.randn(64, 64):matmul(G.randn(64, 64)):totable()
    G.manual_seed(9)
    G.set_num_threads(2)
    local b = G.randn(64, 64):matmul(G.randn(64, 64)):totable()
    G.set_num_threads(before)
    assert.are.same(a, b)
  end)

  it("draws normals by Box-Muller on uniforms taken in order, in bulk as one at a time", function()
    -- the reference: float64 uniforms of the same stream, u1 = 1 - u, transformed by Lua's
    -- (libm's) log, sqrt, cos and sin; across chunks of 4,096 pairs, on 1 and 2 threads,
    -- and an odd count's spare sine carried into the next draw
    local before = G.get_num_threads()
    for _, nt in ipairs{1, 2} do
      G.set_num_threads(nt)
      local n = 2 * 4096 + 1001
      local u = G.rand(n + 1, {dtype = "float64", generator = G.Generator(3)}):totable()
      local g = G.Generator(3)
      local z = G.randn(n, {dtype = "float64", generator = g}):totable()
      local after = G.randn(1, {dtype = "float64", generator = g}):item()
      for i = 1, n + 1, 2 do
        local r, th = math.sqrt(-2.0 * math.log(1.0 - u[i])), 2.0 * math.pi * u[i + 1]
        local c, sn = r * math.cos(th), r * math.sin(th)
        assert(z[i] == c, string.format("%d threads, value %d: %.17g against %.17g", nt, i, z[i], c))
        local want = z[i + 1] or after
        assert(want == sn, string.format("%d threads, value %d: %.17g against %.17g", nt, i + 1, want, sn))
      end
      local one, g1 = {}, G.Generator(4)
      for i = 1, 7 do one[i] = G.randn(1, {generator = g1}):item() end
      local bulk = G.randn(7, {generator = G.Generator(4)}):totable()
      assert.are.same(bulk, one)
    end
    G.set_num_threads(before)
  end)

  it("keeps explicit generators independent of the default one", function()
    local g1, g2 = G.Generator(7), G.Generator(7)
    local a = G.rand(4, {generator = g1}):totable()
    G.randn(100)                                 -- default stream moves
    assert.are.same(a, G.rand(4, {generator = g2}):totable())
    g1:seed(7)
    assert.are.same(a, G.rand(4, {generator = g1}):totable())
  end)

  it("draws 1-based categories and permutations", function()
    local p = G.permutation(10):totable()
    table.sort(p)
    for i = 1, 10 do assert.are.equal(i, p[i]) end
    local d = G.multinomial(G.tensor{0, 0, 1}, 5, true):totable()
    assert.are.same({3, 3, 3, 3, 3}, d)
    local r = G.randint(1, 4, 1000)
    assert.are.equal(1, r:min():item())
    assert.are.equal(3, r:max():item())
    local b = G.bernoulli(G.full(1000, 0.25)):mean():item()
    assert.is_true(math.abs(b - 0.25) < 6 * math.sqrt(0.25 * 0.75 / 1000))
  end)

  it("rejects bad parameters", function()
    assert.has_error(function() G.bernoulli(G.tensor{1.5}) end)
    assert.has_error(function() G.multinomial(G.tensor{0, 0}) end)
    assert.has_error(function() G.randint(3, 3, 2) end)
  end)
end)
