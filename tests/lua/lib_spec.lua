-- genlab._lib: the class, options and error helpers the Lua library shares,
-- and the table of modules that lgenlab.c opens.
local G = require "genlab"
local lib = G._lib

describe("_lib", function()
  it("is what every genlab.X is reached by: require names the same tables", function()
    for _, name in ipairs{"nn", "optim", "models", "vae", "autoreg", "graphs", "denoise", "json",
                          "handin", "notebook", "linalg", "data", "viz", "_lib"} do
      assert.are.equal(G[name], require("genlab." .. name), name)
    end
    assert.are.equal(G.viz, G.plot)
    assert.is_function(G.models.RBM.gibbs)          -- models/rbm.lua extended genlab.models
    assert.is_function(G.notebook.from_ipynb)       -- notebook/ipynb.lua extended genlab.notebook
    assert.is_function(G.data.read_pickle)          -- linterchange.c extended genlab.data
  end)

  it("class: __fresh then __init, methods through the parent, metamethods copied down", function()
    local Base = lib.class("Base")
    function Base.__fresh() return {log = {}} end
    function Base:__init(x) self.x = x end
    function Base:__tostring() return "Base(" .. self.x .. ")" end
    function Base:twice() return 2 * self.x end
    local Sub = lib.class("Sub", Base)
    function Sub:__init(x, y) Base.__init(self, x); self.y = y end
    local s = Sub(3, 4)
    assert.are.same({3, 4, 6}, {s.x, s.y, s:twice()})
    assert.are.same({}, s.log)
    assert.are.equal("Base(3)", tostring(s))      -- __tostring came down from Base
    assert.are.equal(Sub, getmetatable(s))
    assert.are_not.equal(Sub(1, 2).log, s.log)    -- each instance its own fresh table
  end)

  it("raise reports the user's line, however deep in the library it starts", function()
    local ok, err = pcall(function()
      local m = G.models.RBM(4, 3)
      m:gibbs(G.zeros(2, 5))                       -- the line the message must name
    end)
    assert.is_false(ok)
    local line = debug.getinfo(1, "l").currentline - 3
    assert.matches("lib_spec.lua:" .. line .. ": RBM:gibbs: start states must be %(N, 4%)", err)
    ok, err = pcall(function() G.nn.Linear(0, 3) end)
    assert.matches("lib_spec.lua:%d+: Linear: in must be a positive integer, got 0", err)
    assert.not_matches("bindings/genlab", err)
  end)

  it("options: defaults filled in, an unknown key named with the known ones", function()
    assert.are.same({a = 1, b = 5}, lib.options({b = 5}, {a = 1, b = 2}, "f"))
    local ok, err = pcall(lib.options, {c = 1}, {a = 1, b = 2}, "f")
    assert.is_false(ok)
    assert.matches("f: unknown option 'c' %(known: a, b%)", err)
    ok, err = pcall(lib.options, 3, {a = 1}, "g")
    assert.matches("g: options must be a table", err)
  end)

  it("try: the callee's error without its library position", function()
    local ok, err = pcall(lib.try, function() error("bindings/genlab/x.lua:12: boom", 0) end)
    assert.is_false(ok)
    assert.matches("lib_spec.lua:%d+: boom$", err)
    assert.are.same({1, 2}, {lib.try(function(a) return a, 2 end, 1)})
  end)

  it("shape_str and shape", function()
    assert.are.equal("3x4", lib.shape_str(G.zeros(3, 4)))
    assert.are.equal("scalar", lib.shape_str(G.tensor(1)))
    assert.are.equal("(2x1x5)", lib.shape(G.zeros(2, 1, 5)))
  end)
end)
