-- x[...] entries: an integer selects (the dimension goes), {} is all, {i} is
-- element i kept as a size-1 dimension, {a, b} and {a, b, step} are
-- inclusive ranges, a tensor is a list of positions (index_select);
-- anything else is an error that lists these forms.  Expected values are
-- numpy's for the 0-based equivalents named beside each.
local G = require "genlab"
local H = dofile("tests/lua/helpers.lua")
local err = H.err

local x = G.arange(10, {dtype = "float64"})

describe("index ranges", function()
  it("take a step: {1, 10, 2} is x[0:10:2]", function()
    assert.are.same({0, 2, 4, 6, 8}, x[{{1, 10, 2}}]:totable())
    assert.are.same({1, 4, 7}, x[{{2, 9, 3}}]:totable())          -- x[1:9:3]
    assert.are.same({9}, x[{{10, 10, 5}}]:totable())
    assert.are.same({0, 9}, x[{{1, -1, 9}}]:totable())             -- x[0::9]
  end)
  it("{i} is one element kept as a dimension", function()
    local one = x[{{1}}]
    assert.are.same({1}, one.shape)
    assert.are.same({0}, one:totable())
    assert.are.same({9}, x[{{-1}}]:totable())
  end)
  it("{a, b} is inclusive and negative positions count from the end", function()
    assert.are.same({7, 8, 9}, x[{{-3, -1}}]:totable())
    assert.are.same({0}, x[{{3, 2}}].shape)                        -- empty, as x[2:2]
    assert.are.same(10, x[{{}}].shape[1])
  end)
  it("steps along any dimension, as views that share storage", function()
    local m = G.arange(12, {dtype = "float64"}):reshape(3, 4)
    assert.are.same({{0, 2}, {4, 6}, {8, 10}}, m[{{}, {1, 4, 2}}]:totable())  -- m[:, 0:4:2]
    assert.are.same({3, 11}, m[{{1, 3, 2}, -1}]:totable())          -- m[0:3:2, -1]
    local v = m[{{1, 3, 2}, {2, 4, 2}}]
    v:fill_(-1)
    assert.are.same({{0, -1, 2, -1}, {4, 5, 6, 7}, {8, -1, 10, -1}}, m:totable())
  end)
  it("assign through a stepped range", function()
    local y = G.zeros(6, {dtype = "float64"})
    y[{{2, 6, 2}}] = G.tensor({1, 2, 3}, {dtype = "float64"})
    assert.are.same({0, 1, 0, 2, 0, 3}, y:totable())
  end)
  it("differentiate: the gradient lands on the stepped positions", function()
    local w = G.arange(10, {dtype = "float64"}):requires_grad_()
    local s = (w[{{2, 10, 3}}] * G.tensor({1, 2, 3}, {dtype = "float64"})):sum()
    s:backward()
    assert.are.same({0, 1, 0, 0, 2, 0, 0, 3, 0, 0}, w.grad:totable())
  end)
end)

describe("index lists", function()
  it("a tensor entry is index_select, keeping the dimension", function()
    assert.are.same({0, 2, 4}, x[{G.tensor{1, 3, 5}}]:totable())   -- x[[0, 2, 4]]
    assert.are.same({9, 0, 9}, x[G.tensor{10, 1, 10}]:totable())
    local m = G.arange(6, {dtype = "float64"}):reshape(2, 3)
    assert.are.same({{2, 0}, {5, 3}}, m[{{}, G.tensor{3, 1}}]:totable())
  end)
  it("cannot be assigned through (it selects a copy)", function()
    local y = G.zeros(4)
    assert.matches("entry 1 is a list of positions, which selects a copy",
                   err(function() y[{G.tensor{1, 2}}] = 5 end))
  end)
end)

describe("bad index entries", function()
  it("a table of more than three numbers is an error listing the forms", function()
    local msg = err(function() return x[{{1, 2, 3, 4, 5}}] end)
    assert.matches("index range with 5 numbers; an index entry is an integer i", msg)
    assert.matches("{first, last, step}", msg, 1, true)
    assert.matches("a tensor of positions %(index_select%)", msg)
  end)
  it("a zero or negative step, a fraction, a string", function()
    assert.matches("the step must be 1 or more", err(function() return x[{{1, 5, 0}}] end))
    assert.matches("the step must be 1 or more", err(function() return x[{{1, 5, -1}}] end))
    assert.matches("index entry of type fraction", err(function() return x[{1.5}] end))
    assert.matches("entry 2 is a fraction", err(function() return x[{{1, 2.5}}] end))
    assert.matches("entry 1 is string", err(function() return x[{{"a"}}] end))
    assert.matches("tensor index 2.5 is not a whole number", err(function() return x[2.5] end))
  end)
  it("a whole float indexes as its integer does, as a Lua table key would (k from item())", function()
    local t = G.arange(10):reshape(2, 5)
    assert.are.equal(t[2][3], t[2.0][3.0])
    assert.are.same(t[{{1, 2}, {2, 4}}]:totable(), t[{{1.0, 2.0}, {2.0, 4.0}}]:totable())
    t[1.0][2.0] = 42
    assert.are.equal(42, t[1][2])
  end)
  it("an integer out of range names what was typed and the valid range", function()
    local t = G.zeros(3)
    assert.matches("index %-4 out of range for a dimension of size 3 %(valid: 1..3, or %-3..%-1",
                   err(function() return t[-4] end))
    assert.matches("index 4 out of range", err(function() return t[4] end))
    assert.matches("range {2, 4} out of bounds", err(function() return t[{{2, 4}}] end))
    local m = G.zeros(3, 4)
    assert.matches("3 index entries for a %(3x4%) tensor: at most one per dimension",
                   err(function() return m[{1, 2, 3}] end))
  end)
end)

describe("sort, argsort, topk and sign with NaN", function()
  -- numpy 1.24 and PyTorch 1.13 order NaN as the largest value
  local nan = 0 / 0
  local function same_nan(want, got)
    assert.are.equal(#want, #got)
    for i = 1, #want do
      if want[i] ~= want[i] then assert(got[i] ~= got[i], "entry " .. i .. " is not NaN")
      else assert.are.equal(want[i], got[i], "entry " .. i) end
    end
  end
  it("NaN is last ascending, first descending, and topk(1) agrees with max", function()
    local x = G.tensor({1, nan, 3, 2}, {dtype = "float64"})
    local v, i = x:sort()
    same_nan({1, 2, 3, nan}, v:totable())
    assert.are.same({1, 4, 3, 2}, i:totable())
    v, i = x:sort(1, true)
    same_nan({nan, 3, 2, 1}, v:totable())
    assert.are.same({2, 3, 4, 1}, i:totable())
    assert.are.same({2, 3, 4, 1}, x:argsort(1, true):totable())
    local tv, ti = x:topk(1)
    same_nan({nan}, tv:totable())
    assert.are.equal(x:argmax():item(), ti[1])
    tv = x:topk(2, 1, false)
    assert.are.same({1, 2}, tv:totable())
  end)
  it("sign keeps NaN (numpy), and 0 at zero", function()
    same_nan({1, nan, -1, 0}, G.tensor({3, nan, -2, 0}):sign():totable())
  end)
end)
