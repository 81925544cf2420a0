-- nn.lua -- genlab.nn's modules: layers that own their parameters, the
-- containers that nest them, and losses, over the C functional forms
-- (nn.linear, nn.conv2d, ...).  Run once at start-up (lgenlab.c) with the
-- genlab module and the nn table.
--
--   local fc = nn.Linear(784, 500)          -- PyTorch's initialisation
--   local y = fc(x)                         -- = fc:forward(x)
--   print(fc)                               -- structure and parameter count
--   for name, p in fc:named_parameters() do ... end
local G, nn = ...

local lib = G._lib
local doc, raise, class, check_opts = lib.doc, lib.raise, lib.class, lib.check_opts
local shape_str = lib.shape_str

local function set(...) local s = {}; for _, k in ipairs{...} do s[k] = true end; return s end

-- a layer's size, checked at the line that built the layer
local positive_int = lib.positive_int

-- U(-bound, bound) samples of the given shape: PyTorch's default init for
-- weights (kaiming_uniform with a = sqrt(5)) and biases is bound = 1/sqrt(fan_in).
local function uniform(shape, bound, opts)
  local t = G.uniform(-bound, bound, shape, {dtype = opts.dtype, generator = opts.generator})
  return t:requires_grad_()
end

-- ---- Module ------------------------------------------------------------------

local Module = class("Module")
nn.Module = Module

-- Instances are callable (forward) and print themselves; subclasses made
-- by class(name, Module) copy these two down.
function Module.__fresh() return {_names = {}, _params = {}, _children = {}} end
function Module:__call(...) return self:forward(...) end
function Module:__tostring() return self:describe("") end

function Module:__init() end

-- Register a parameter (a tensor, made to require grad) or a child module
-- under name; registration order is the order of parameters().
function Module:add(name, value)
  if self._params[name] == nil and self._children[name] == nil then
    self._names[#self._names + 1] = name
  end
  if G.is_tensor(value) then
    if not value.requires_grad then value:requires_grad_() end
    self._params[name] = value
  else
    self._children[name] = value
  end
  self[name] = value
  return value
end

-- Every parameter with its dotted name ("enc.1.weight"), in order.
function Module:named_parameter_list(prefix, out)
  out = out or {}
  prefix = prefix or ""
  for _, name in ipairs(self._names) do
    if self._params[name] then
      out[#out + 1] = {prefix .. name, self._params[name]}
    else
      self._children[name]:named_parameter_list(prefix .. name .. ".", out)
    end
  end
  return out
end

function Module:named_parameters()
  local list, i = self:named_parameter_list(), 0
  return function()
    i = i + 1
    if list[i] then return list[i][1], list[i][2] end
  end
end

function Module:parameters()
  local ps = {}
  for _, np in ipairs(self:named_parameter_list()) do ps[#ps + 1] = np[2] end
  return ps
end

function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:parameters()) do n = n + p:numel() end
  return n
end

function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do p.grad = nil end
end

function Module:forward()
  raise(self.__name .. ": forward is not defined")
end

-- {name = tensor} of every parameter (shared, not copied).
function Module:state_dict()
  local sd = {}
  for _, np in ipairs(self:named_parameter_list()) do sd[np[1]] = np[2] end
  return sd
end

-- Copy the tensors of sd into the parameters of the same names.  Every
-- mismatch is an error naming the parameter: a missing entry, a different
-- shape, or (strict, the default) an entry the model does not have.
function Module:load_state_dict(sd, strict)
  if strict == nil then strict = true end
  local mine = self:named_parameter_list()
  local known = {}
  for _, np in ipairs(mine) do
    local name, p = np[1], np[2]
    known[name] = true
    local v = sd[name]
    if v == nil then raise("load_state_dict: the checkpoint lacks " .. name) end
    if not G.is_tensor(v) then raise("load_state_dict: " .. name .. " is not a tensor") end
    if shape_str(v) ~= shape_str(p) then
      raise(string.format("load_state_dict: %s: checkpoint has %s, model has %s", name,
                          shape_str(v), shape_str(p)))
    end
  end
  if strict then
    local extra = {}
    for k in pairs(sd) do if not known[k] then extra[#extra + 1] = k end end
    table.sort(extra)
    if #extra > 0 then
      raise("load_state_dict: the checkpoint has " .. table.concat(extra, ", ") ..
            ", which the model lacks (pass strict = false to ignore)")
    end
  end
  G.no_grad(function()
    for _, np in ipairs(mine) do np[2]:copy_(sd[np[1]]) end
  end)
  return self
end

function Module:extra_repr() return "" end

function Module:describe(indent)
  local head = self.__name .. "(" .. self:extra_repr()
  if next(self._children) == nil then return head .. ")" end
  local lines = {head}
  for _, name in ipairs(self._names) do
    local c = self._children[name]
    if c then lines[#lines + 1] = indent .. "  (" .. name .. "): " .. c:describe(indent .. "  ") end
  end
  lines[#lines + 1] = indent .. ")"
  return table.concat(lines, "\n")
end

-- ---- layers ----------------------------------------------------------------------

local Linear = class("Linear", Module)
nn.Linear = doc(Linear, "nn.Linear(in, out, [{bias=true, dtype=, generator=}]) -> Module\n" ..
  "y = x W^T + b with W (out, in), b (out), initialised U(-1/sqrt(in), 1/sqrt(in)) as PyTorch.")

function Linear:__init(nin, nout, opts)
  opts = check_opts(opts, set("bias", "dtype", "generator"), "Linear")
  self.in_features = positive_int(nin, "in", "Linear")
  self.out_features = positive_int(nout, "out", "Linear")
  local bound = 1 / math.sqrt(nin)
  self:add("weight", uniform({nout, nin}, bound, opts))
  if opts.bias ~= false then self:add("bias", uniform({nout}, bound, opts)) end
end

function Linear:forward(x) return nn.linear(x, self.weight, self.bias) end

function Linear:extra_repr()
  return string.format("%d, %d%s", self.in_features, self.out_features,
                       self.bias and "" or ", bias=false")
end

local function pair(v) return type(v) == "table" and v or {v, v} end

local Conv2d = class("Conv2d", Module)
nn.Conv2d = doc(Conv2d, "nn.Conv2d(cin, cout, kernel, [{stride=1, padding=0, " ..
  "bias=true, dtype=, generator=}]) -> Module\n" ..
  "2-d convolution with weight (cout, cin, kh, kw); kernel, stride and padding are integers or\n" ..
  "{h, w}. PyTorch's initialisation: U(+-1/sqrt(cin kh kw)).")

function Conv2d:__init(cin, cout, k, opts)
  opts = check_opts(opts, set("stride", "padding", "bias", "dtype", "generator"), "Conv2d")
  positive_int(cin, "cin", "Conv2d")
  positive_int(cout, "cout", "Conv2d")
  local kk = pair(k)
  self.cin, self.cout, self.kernel = cin, cout, kk
  self.opts = {stride = opts.stride or 1, padding = opts.padding or 0}
  local bound = 1 / math.sqrt(cin * kk[1] * kk[2])
  self:add("weight", uniform({cout, cin, kk[1], kk[2]}, bound, opts))
  if opts.bias ~= false then self:add("bias", uniform({cout}, bound, opts)) end
end

function Conv2d:forward(x) return nn.conv2d(x, self.weight, self.bias, self.opts) end

function Conv2d:extra_repr()
  return string.format("%d, %d, kernel=%dx%d, stride=%s, padding=%s", self.cin, self.cout,
                       self.kernel[1], self.kernel[2], table.concat(pair(self.opts.stride), "x"),
                       table.concat(pair(self.opts.padding), "x"))
end

local ConvTranspose2d = class("ConvTranspose2d", Module)
nn.ConvTranspose2d = doc(ConvTranspose2d,
  "nn.ConvTranspose2d(cin, cout, kernel, [{stride=1, padding=0, " ..
  "output_padding=0, bias=true, dtype=, generator=}]) -> Module\n" ..
  "Transposed convolution with weight (cin, cout, kh, kw): an input of size H gives\n" ..
  "(H-1) stride - 2 padding + kernel + output_padding. PyTorch's init: U(+-1/sqrt(cout kh kw)).")

function ConvTranspose2d:__init(cin, cout, k, opts)
  opts = check_opts(opts, set("stride", "padding", "output_padding", "bias", "dtype", "generator"),
                    "ConvTranspose2d")
  positive_int(cin, "cin", "ConvTranspose2d")
  positive_int(cout, "cout", "ConvTranspose2d")
  local kk = pair(k)
  self.cin, self.cout, self.kernel = cin, cout, kk
  self.opts = {stride = opts.stride or 1, padding = opts.padding or 0,
               output_padding = opts.output_padding or 0}
  local bound = 1 / math.sqrt(cout * kk[1] * kk[2])
  self:add("weight", uniform({cin, cout, kk[1], kk[2]}, bound, opts))
  if opts.bias ~= false then self:add("bias", uniform({cout}, bound, opts)) end
end

function ConvTranspose2d:forward(x)
  return nn.conv_transpose2d(x, self.weight, self.bias, self.opts)
end

function ConvTranspose2d:extra_repr()
  return string.format("%d, %d, kernel=%dx%d, stride=%s, output_padding=%s", self.cin, self.cout,
                       self.kernel[1], self.kernel[2], table.concat(pair(self.opts.stride), "x"),
                       table.concat(pair(self.opts.output_padding), "x"))
end

local MaxPool2d = class("MaxPool2d", Module)
nn.MaxPool2d = doc(MaxPool2d, "nn.MaxPool2d(kernel, [stride=kernel]) -> Module\n" ..
  "Maximum over kernel windows moved by stride (integers or {h, w}).")

function MaxPool2d:__init(k, stride) self.kernel, self.stride = k, stride or k end
function MaxPool2d:forward(x) return nn.max_pool2d(x, self.kernel, self.stride) end
function MaxPool2d:extra_repr()
  return "kernel=" .. table.concat(pair(self.kernel), "x") .. ", stride=" ..
         table.concat(pair(self.stride), "x")
end

local LSTM = class("LSTM", Module)
nn.LSTM = doc(LSTM, "nn.LSTM(input, hidden, [{num_layers=1, batch_first=false, " ..
  "bias=true, dtype=, generator=}]) -> Module\n" ..
  "Stacked LSTM. lstm(x, [state]) -> y, state with x " ..
  "(T, B, input) or, batch_first, (B, T, input);\n" ..
  "y holds the last layer's h_t for every t; state = {h, c}, each (num_layers, B, hidden), is\n" ..
  "what a next call continues from (nil: zeros). Parameters per layer k (0-based, as PyTorch):\n" ..
  "weight_ih_l<k> (4H, in), weight_hh_l<k> (4H, H), " ..
  "bias_ih_l<k>, bias_hh_l<k> (4H); gates i, f, g, o;\n" ..
  "all initialised U(+-1/sqrt(hidden)).")

function LSTM:__init(nin, hidden, opts)
  opts = check_opts(opts, set("num_layers", "batch_first", "bias", "dtype", "generator"), "LSTM")
  self.input_size = positive_int(nin, "input size", "LSTM")
  self.hidden_size = positive_int(hidden, "hidden size", "LSTM")
  self.num_layers = positive_int(opts.num_layers or 1, "num_layers", "LSTM")
  self.batch_first = opts.batch_first or false
  local bound = 1 / math.sqrt(hidden)
  for k = 0, self.num_layers - 1 do
    local isz = k == 0 and nin or hidden
    self:add("weight_ih_l" .. k, uniform({4 * hidden, isz}, bound, opts))
    self:add("weight_hh_l" .. k, uniform({4 * hidden, hidden}, bound, opts))
    if opts.bias ~= false then
      self:add("bias_ih_l" .. k, uniform({4 * hidden}, bound, opts))
      self:add("bias_hh_l" .. k, uniform({4 * hidden}, bound, opts))
    end
  end
end

function LSTM:forward(x, state)
  if x.ndim ~= 3 then
    raise(string.format("LSTM: input (%s) must be 3-d: (time, batch, features), or (batch, time, " ..
                        "features) with batch_first", shape_str(x)))
  end
  if not self.batch_first then x = x:transpose(1, 2) end
  local B, H = x.shape[1], self.hidden_size
  local hs, cs = {}, {}
  for k = 0, self.num_layers - 1 do
    local h0, c0
    if state then
      h0, c0 = state[1][k + 1], state[2][k + 1]
    else
      h0 = G.zeros(B, H, {dtype = x.dtype})
      c0 = h0
    end
    local y, h, c = nn.lstm(x, h0, c0, self["weight_ih_l" .. k], self["weight_hh_l" .. k],
                            self["bias_ih_l" .. k], self["bias_hh_l" .. k])
    x, hs[k + 1], cs[k + 1] = y, h, c
  end
  if not self.batch_first then x = x:transpose(1, 2) end
  return x, {G.stack(hs, 1), G.stack(cs, 1)}
end

function LSTM:extra_repr()
  return string.format("%d, %d, num_layers=%d%s", self.input_size, self.hidden_size,
                       self.num_layers, self.batch_first and ", batch_first=true" or "")
end

-- Parameter-free layers: one forward each.
local function simple(name, f, text, repr)
  local c = class(name, Module)
  function c:__init(...) self.args = {...} end
  function c:forward(x) return f(x, table.unpack(self.args)) end
  if repr then c.extra_repr = repr end
  nn[name] = doc(c, text)
  return c
end

simple("Tanh", function(x) return x:tanh() end, "nn.Tanh() -> Module\nElementwise tanh.")
simple("ReLU", function(x) return x:relu() end, "nn.ReLU() -> Module\nElementwise max(x, 0).")
simple("Sigmoid", function(x) return x:sigmoid() end, "nn.Sigmoid() -> Module\n" ..
  "Elementwise 1 / (1 + e^-x).")
simple("Flatten", function(x, first, last) return x:flatten(first or 2, last or -1) end,
       "nn.Flatten([first=2], [last=-1]) -> Module\n" ..
       "Merge dims first..last (the batch dim 1 stays).")
simple("Unflatten", function(x, dim, sizes)
  local shape = {}
  for i = 1, x.ndim do
    if i == dim then for _, s in ipairs(sizes) do shape[#shape + 1] = s end
    else shape[#shape + 1] = x.shape[i] end
  end
  return x:reshape(shape)
end, "nn.Unflatten(dim, sizes) -> Module\n" ..
  "Split dim into the given sizes: Unflatten(2, {8, 3, 3}) turns (N, 72) into (N, 8, 3, 3).")

local Sequential = class("Sequential", Module)
nn.Sequential = doc(Sequential, "nn.Sequential(m1, m2, ...) -> Module\n" ..
  "Applies its modules in order; they are named 0, 1, " ..
  "... as in PyTorch (parameters \"0.weight\", ...),\n" ..
  "so a state dict saved with save_pt loads into torch.nn.Sequential of the same layers.")

function Sequential:__init(...)
  for i, m in ipairs{...} do self:add(tostring(i - 1), m) end
end

-- A layer followed by one of these activations applies it to its own output
-- in the same pass (nn.linear's activation option), and a Conv2d then takes
-- a following MaxPool2d(p) (kernel = stride = p) too, with a relu or no
-- activation between (nn.conv2d's pool option): the values and gradients of
-- the modules apart, memory passes and tensors less.  Only the classes
-- themselves fuse: a subclass that overrides forward runs as written.
local ACTIVATION = {[nn.ReLU] = "relu", [nn.Sigmoid] = "sigmoid", [nn.Tanh] = "tanh"}
-- The layer's options (m.opts, if any) with the fused activation and pooling.
local function fused_opts(m, act, pool)
  local o = {activation = act, pool = pool}
  for k, v in pairs(m.opts or {}) do o[k] = v end
  return o
end
local FUSED = {
  [Linear.forward] = function(m, x, act)
    return nn.linear(x, m.weight, m.bias, fused_opts(m, act))
  end,
  [Conv2d.forward] = function(m, x, act, pool)
    return nn.conv2d(x, m.weight, m.bias, fused_opts(m, act, pool))
  end,
  [ConvTranspose2d.forward] = function(m, x, act)
    return nn.conv_transpose2d(x, m.weight, m.bias, fused_opts(m, act))
  end,
}

-- p when module m is a MaxPool2d of kernel = stride = p x p (p >= 2), else nil.
local function square_pool(m)
  if getmetatable(m) ~= MaxPool2d then return nil end
  local k, s = pair(m.kernel), pair(m.stride)
  if k[1] == k[2] and s[1] == k[1] and s[2] == k[1] and k[1] >= 2 then return k[1] end
end

function Sequential:forward(x)
  local names, kids, i = self._names, self._children, 1
  while i <= #names do
    local m = kids[names[i]]
    local fused = FUSED[m.forward]
    local act = fused and kids[names[i + 1]] and ACTIVATION[getmetatable(kids[names[i + 1]])]
    local n = act and 2 or 1
    local pool = m.forward == Conv2d.forward and (act == nil or act == "relu")
                 and square_pool(kids[names[i + n]])
    if pool then n = n + 1 end
    if n > 1 then
      x = fused(m, x, act, pool or nil)
    else
      x = m(x)
    end
    i = i + n
  end
  return x
end

function Sequential:__len() return #self._names end

-- ---- losses --------------------------------------------------------------------------

local function loss(name, f, text)
  local c = class(name, Module)
  function c:__init(opts)
    opts = check_opts(opts, set("reduction"), name)
    self.reduction = opts.reduction or "mean"
  end
  function c:forward(x, y) return f(x, y, self.reduction) end
  function c:extra_repr() return "reduction=" .. self.reduction end
  nn[name] = doc(c, text)
end

loss("MSELoss", nn.mse_loss, "nn.MSELoss([{reduction=\"mean\"}]) -> Module\n" ..
  "loss(x, y): nn.mse_loss.")
loss("BCEWithLogitsLoss", nn.binary_cross_entropy_with_logits,
     "nn.BCEWithLogitsLoss([{reduction=\"mean\"}]) -> Module\n" ..
     "loss(logits, y): nn.binary_cross_entropy_with_logits.")
loss("CrossEntropyLoss", nn.cross_entropy,
     "nn.CrossEntropyLoss([{reduction=\"mean\"}]) -> Module\n" ..
     "loss(logits, target): nn.cross_entropy, 1-based classes.")

-- ---- docs of the Module methods -------------------------------------------------------

doc(Module, "nn.Module -> class\n" ..
  "The base of every layer: parameters() and " ..
  "named_parameters(), state_dict(), zero_grad(), printing.\n" ..
  "Derive models with nn.class.")
nn.class = doc(function(name, parent) return class(name, parent or Module) end,
  "nn.class(name, [parent=nn.Module]) -> class\n" ..
  "A new module class. Define C:__init(...) (register " ..
  "parts with self:add(name, module or tensor))\n" ..
  "and C:forward(...); then C(...) constructs and m(...) runs forward:\n" ..
  "  local VAE = nn.class(\"VAE\")\n" ..
  "  function VAE:__init() self:add(\"enc\", nn.Linear(784, 40)) end\n" ..
  "  function VAE:forward(x) return self.enc(x) end")
doc(Module.forward, "m:forward(...) -> ...\nWhat calling m(...) runs; each layer defines it.")
doc(Module.extra_repr, "m:extra_repr() -> string\n" ..
  "The arguments shown when m is printed: Linear(784, 500).")
doc(Module.describe, "m:describe(indent) -> string\n" ..
  "m and its children, one per line, as tostring(m) prints them.")
doc(Module.named_parameter_list,
  "m:named_parameter_list([prefix], [out]) -> {{name, Tensor}, ...}\n" ..
  "The list behind named_parameters().")
doc(Module.add, "m:add(name, value) -> value\n" ..
  "Register a parameter (a tensor, made to require grad) or a child module; order is kept.")
doc(Module.parameters, "m:parameters() -> {Tensor, ...}\n" ..
  "Every parameter of m and its children, in registration order.")
doc(Module.named_parameters, "m:named_parameters() -> iterator\n" ..
  "for name, p in m:named_parameters() do ... end, names dotted (\"enc.1.weight\").")
doc(Module.num_parameters, "m:num_parameters() -> n\nThe number of scalars in all parameters.")
doc(Module.zero_grad, "m:zero_grad()\nDrop every parameter's gradient (p.grad = nil).")
doc(Module.state_dict, "m:state_dict() -> {name = Tensor}\n" ..
  "The parameters by dotted name, shared (save with genlab.save).")
doc(Module.load_state_dict, "m:load_state_dict(sd, [strict=true]) -> m\n" ..
  "Copy sd's tensors into the parameters; names a missing entry, a shape mismatch\n" ..
  "(\"fc1.weight: checkpoint has 500x784, model has 400x784\") or, strict, an unknown entry.")
nn.gradcheck = doc(function(f, inputs, opts)
  opts = check_opts(opts, set("eps", "atol", "rtol"), "gradcheck")
  local eps, atol, rtol = opts.eps or 1e-6, opts.atol or 1e-5, opts.rtol or 1e-3
  for i, x in ipairs(inputs) do
    if x.dtype ~= "float64" then raise("gradcheck: input " .. i .. " must be float64") end
  end
  local function value()
    return G.no_grad(function() return f(table.unpack(inputs)):double():sum():item() end)
  end
  for _, x in ipairs(inputs) do x.grad = nil end
  f(table.unpack(inputs)):sum():backward()
  local worst, where = 0, nil
  for i, x in ipairs(inputs) do
    local g = x.grad or G.zeros_like(x)
    local flat, gflat = x:detach():view(-1), g:reshape(-1)
    for k = 1, flat:numel() do
      local v = flat[k]
      G.no_grad(function() flat[k] = v + eps end)
      local fp = value()
      G.no_grad(function() flat[k] = v - eps end)
      local fm = value()
      G.no_grad(function() flat[k] = v end)
      local num, ana = (fp - fm) / (2 * eps), gflat[k]
      local err = math.abs(num - ana) / (atol + rtol * math.abs(num))
      if err > worst then
        worst = err
        where = string.format("input %d element %d: analytic %.10g, numeric %.10g", i, k, ana, num)
      end
    end
  end
  return worst <= 1, where, worst
end, "nn.gradcheck(f, {x1, x2, ...}, [{eps=1e-6, atol=1e-5, rtol=1e-3}]) -> ok, worst, ratio\n" ..
  "Compare the gradients backward() gives for sum(f(x1, ...)) with central differences, for\n" ..
  "float64 inputs that require grad. ok when |num - ana| <= atol + rtol |num| everywhere;\n" ..
  "worst describes the element that came nearest to failing.")
