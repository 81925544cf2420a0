-- optim.lua -- genlab.optim: SGD and Adam over a list of parameters, with
-- PyTorch's update rules and defaults, on the C kernels optim._sgd_step and
-- optim._adam_step.  Run once at start-up by lnn.c.
--
--   local opt = optim.Adam(model:parameters(), {lr = 1e-3})
--   opt:zero_grad(); loss:backward(); opt:step()
local G, optim = ...

local function doc(f, text) G._doc(f, text); return f end

-- Options checked (a misspelt one is an error) and defaults filled in.
local check = G.nn._options

local function param_list(params, where)
  if type(params) ~= "table" or #params == 0 then
    error(where .. ": expected a non-empty list of parameters (model:parameters())", 3)
  end
  for i, p in ipairs(params) do
    if not G.is_tensor(p) then error(string.format("%s: parameter %d is not a tensor", where, i), 3) end
    if not p.requires_grad then
      error(string.format("%s: parameter %d does not require grad", where, i), 3)
    end
  end
  return params
end

local Optimizer = {}
Optimizer.__index = Optimizer

function Optimizer:zero_grad()
  for _, p in ipairs(self.params) do p.grad = nil end
end

function Optimizer:set_lr(lr)
  if type(lr) ~= "number" or lr < 0 then error("set_lr: the learning rate must be a number >= 0", 2) end
  self.opts.lr = lr
end

function Optimizer:get_lr() return self.opts.lr end

-- {step = 0-d tensor, <buffer>.<i> = Tensor}: what save() writes, so that a
-- training run continues exactly after load_state_dict.
function Optimizer:state_dict()
  local sd = {step = G.tensor(self.t, {dtype = "float64"}), lr = G.tensor(self.opts.lr, {dtype = "float64"})}
  for _, name in ipairs(self.buffers) do
    for i, b in pairs(self.state[name]) do sd[name .. "." .. i] = b end
  end
  return sd
end

function Optimizer:load_state_dict(sd)
  if not sd.step then error("load_state_dict: the checkpoint has no optimizer 'step'", 2) end
  self.t = math.floor(sd.step:item())
  if sd.lr then self.opts.lr = sd.lr:item() end
  for _, name in ipairs(self.buffers) do
    self.state[name] = {}
    for i, p in ipairs(self.params) do
      local b = sd[name .. "." .. i]
      if b then
        if table.concat(b.shape, "x") ~= table.concat(p.shape, "x") then
          error(string.format("load_state_dict: %s.%d: checkpoint has %s, parameter has %s", name, i,
                              table.concat(b.shape, "x"), table.concat(p.shape, "x")), 2)
        end
        self.state[name][i] = b:to(p.dtype):clone()
      end
    end
  end
  return self
end

local function new(cls, params, opts)
  return setmetatable({params = params, opts = opts, t = 0, state = {}}, cls)
end

-- ---- SGD -------------------------------------------------------------------------

local SGD = setmetatable({}, {__index = Optimizer})
SGD.__index = SGD
SGD.buffers = {"momentum_buffer"}

optim.SGD = doc(function(params, opts)
  opts = check(opts, {lr = false, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false}, "SGD")
  if type(opts.lr) ~= "number" then error("SGD: give a learning rate, {lr = ...}", 2) end
  if opts.nesterov and (opts.momentum <= 0 or opts.dampening ~= 0) then
    error("SGD: nesterov needs momentum > 0 and dampening 0", 2)
  end
  local o = new(SGD, param_list(params, "SGD"), opts)
  o.state.momentum_buffer = {}
  return o
end, "optim.SGD(params, {lr=, [momentum=0], [dampening=0], [weight_decay=0], [nesterov=false]}) -> Optimizer\n" ..
  "Stochastic gradient descent as PyTorch's: d = g + wd p; with momentum, buf = m buf + (1 - dampening) d\n" ..
  "(buf = d at first) and d = buf (nesterov: d + m buf); p = p - lr d.")

function SGD:step()
  local o, bufs = self.opts, self.state.momentum_buffer
  self.t = self.t + 1
  for i, p in ipairs(self.params) do
    local g = p.grad
    if g then
      local first = false
      if o.momentum ~= 0 and not bufs[i] then bufs[i] = G.zeros_like(p); first = true end
      optim._sgd_step(p, g, o.momentum ~= 0 and bufs[i] or nil, first, o.lr, o.momentum,
                      o.dampening, o.weight_decay, o.nesterov)
    end
  end
end

-- ---- Adam ------------------------------------------------------------------------

local Adam = setmetatable({}, {__index = Optimizer})
Adam.__index = Adam
Adam.buffers = {"exp_avg", "exp_avg_sq"}

optim.Adam = doc(function(params, opts)
  opts = check(opts, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0}, "Adam")
  local o = new(Adam, param_list(params, "Adam"), opts)
  o.state.exp_avg, o.state.exp_avg_sq = {}, {}
  return o
end, "optim.Adam(params, [{lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0}]) -> Optimizer\n" ..
  "Adam with bias correction, as PyTorch's (weight decay is added to the gradient).\n" ..
  "opt:step(), opt:zero_grad(), opt:set_lr(lr), opt:get_lr(), opt:state_dict(), opt:load_state_dict(sd).")

function Adam:step()
  local o, m, v = self.opts, self.state.exp_avg, self.state.exp_avg_sq
  self.t = self.t + 1
  for i, p in ipairs(self.params) do
    local g = p.grad
    if g then
      if not m[i] then m[i], v[i] = G.zeros_like(p), G.zeros_like(p) end
      optim._adam_step(p, g, m[i], v[i], self.t, o.lr, o.betas[1], o.betas[2], o.eps, o.weight_decay)
    end
  end
end

doc(Optimizer.zero_grad, "opt:zero_grad()\nDrop the gradients of the optimizer's parameters (p.grad = nil).")
doc(Optimizer.set_lr, "opt:set_lr(lr)\nChange the learning rate from the next step on.")
doc(Optimizer.get_lr, "opt:get_lr() -> lr\nThe learning rate the next step uses.")
doc(Optimizer.state_dict, "opt:state_dict() -> {name = Tensor}\nStep count, learning rate and moment buffers, for genlab.save.")
doc(Optimizer.load_state_dict, "opt:load_state_dict(sd) -> opt\nRestore what state_dict gave, checking each buffer's shape.")
doc(SGD.step, "opt:step()\nUpdate every parameter that has a gradient.")
doc(Adam.step, "opt:step()\nUpdate every parameter that has a gradient.")
