-- optim.lua -- genlab.optim: SGD and Adam over a list of parameters, with
-- PyTorch's update rules and defaults, on the C kernels optim._sgd_step and
-- optim._adam_step (bindings/loptim.c).
--
--   local opt = optim.Adam(model:parameters(), {lr = 1e-3})
--   opt:zero_grad(); loss:backward(); opt:step()
local G, optim = ...

local lib = G._lib
local doc, raise, class = lib.doc, lib.raise, lib.class

-- Options checked (a misspelt one is an error) and defaults filled in.
local check = lib.options

local function param_list(params, where)
  if type(params) ~= "table" or #params == 0 then
    raise(where .. ": expected a non-empty list of parameters (model:parameters())")
  end
  for i, p in ipairs(params) do
    if not G.is_tensor(p) then raise(string.format("%s: parameter %d is not a tensor", where, i)) end
    if not p.requires_grad then
      raise(string.format("%s: parameter %d does not require grad", where, i))
    end
  end
  return params
end

-- An optimizer: the parameters, the options, the step count and the
-- buffers, state[name][i] for parameter i.
local Optimizer = class("Optimizer")
function Optimizer.__fresh() return {t = 0, state = {}} end

function Optimizer:zero_grad()
  for _, p in ipairs(self.params) do p.grad = nil end
end

function Optimizer:set_lr(lr)
  if type(lr) ~= "number" or lr < 0 then raise("set_lr: the learning rate must be a number >= 0") end
  self.opts.lr = lr
end

function Optimizer:get_lr() return self.opts.lr end

-- {step = 0-d tensor, step.<i> = 0-d tensor, <buffer>.<i> = Tensor}: what
-- save() writes, so that a training run continues exactly after
-- load_state_dict.  step counts the optimizer's steps; step.<i> the steps
-- parameter i took (Adam's bias correction counts those, as PyTorch's does).
function Optimizer:state_dict()
  local f64 = {dtype = "float64"}
  local sd = {step = G.tensor(self.t, f64), lr = G.tensor(self.opts.lr, f64)}
  for i, n in pairs(self.state.step or {}) do sd["step." .. i] = G.tensor(n, f64) end
  for _, name in ipairs(self.buffers) do
    for i, b in pairs(self.state[name]) do sd[name .. "." .. i] = b end
  end
  return sd
end

function Optimizer:load_state_dict(sd)
  if not sd.step then raise("load_state_dict: the checkpoint has no optimizer 'step'") end
  self.t = math.floor(sd.step:item())
  if sd.lr then self.opts.lr = sd.lr:item() end
  if self.state.step then           -- a checkpoint without step.<i> had one count for all
    self.state.step = {}
    for i = 1, #self.params do
      local n = sd["step." .. i]
      self.state.step[i] = n and math.floor(n:item()) or (sd[self.buffers[1] .. "." .. i] and self.t or nil)
    end
  end
  for _, name in ipairs(self.buffers) do
    self.state[name] = {}
    for i, p in ipairs(self.params) do
      local b = sd[name .. "." .. i]
      if b then
        if lib.shape_str(b) ~= lib.shape_str(p) then
          raise(string.format("load_state_dict: %s.%d: checkpoint has %s, parameter has %s", name, i,
                              lib.shape_str(b), lib.shape_str(p)))
        end
        self.state[name][i] = b:to(p.dtype):clone()
      end
    end
  end
  return self
end

-- ---- SGD -------------------------------------------------------------------------

local SGD = class("SGD", Optimizer)
SGD.buffers = {"momentum_buffer"}

function SGD:__init(params, opts)
  opts = check(opts, {lr = false, momentum = 0, dampening = 0, weight_decay = 0, nesterov = false}, "SGD")
  if type(opts.lr) ~= "number" then raise("SGD: give a learning rate, {lr = ...}") end
  if opts.nesterov and (opts.momentum <= 0 or opts.dampening ~= 0) then
    raise("SGD: nesterov needs momentum > 0 and dampening 0")
  end
  self.params, self.opts = param_list(params, "SGD"), opts
  self.state.momentum_buffer = {}
end
optim.SGD = doc(SGD, "optim.SGD(params, {lr=, [momentum=0], [dampening=0], " ..
  "[weight_decay=0], [nesterov=false]}) -> Optimizer\n" ..
  "Stochastic gradient descent as PyTorch's: d = g + wd " ..
  "p; with momentum, buf = m buf + (1 - dampening) d\n" ..
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

local Adam = class("Adam", Optimizer)
Adam.buffers = {"exp_avg", "exp_avg_sq"}

function Adam:__init(params, opts)
  opts = check(opts, {lr = 1e-3, betas = {0.9, 0.999}, eps = 1e-8, weight_decay = 0}, "Adam")
  self.params, self.opts = param_list(params, "Adam"), opts
  self.state.exp_avg, self.state.exp_avg_sq, self.state.step = {}, {}, {}
end
optim.Adam = doc(Adam, "optim.Adam(params, [{lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0}]) -> Optimizer\n" ..
  "Adam with bias correction, as PyTorch's (weight decay is added to the gradient).\n" ..
  "Each parameter counts its own steps: one without a gradient on a step is skipped,\n" ..
  "and its bias correction later counts only the steps it took (PyTorch's rule).\n" ..
  "opt:step(), opt:zero_grad(), opt:set_lr(lr), " ..
  "opt:get_lr(), opt:state_dict(), opt:load_state_dict(sd).")

function Adam:step()
  local o, m, v, t = self.opts, self.state.exp_avg, self.state.exp_avg_sq, self.state.step
  self.t = self.t + 1
  for i, p in ipairs(self.params) do
    local g = p.grad
    if g then
      if not m[i] then m[i], v[i], t[i] = G.zeros_like(p), G.zeros_like(p), 0 end
      t[i] = t[i] + 1
      optim._adam_step(p, g, m[i], v[i], t[i], o.lr, o.betas[1], o.betas[2], o.eps, o.weight_decay)
    end
  end
end

doc(Optimizer.zero_grad, "opt:zero_grad()\n" ..
  "Drop the gradients of the optimizer's parameters (p.grad = nil).")
doc(Optimizer.set_lr, "opt:set_lr(lr)\nChange the learning rate from the next step on.")
doc(Optimizer.get_lr, "opt:get_lr() -> lr\nThe learning rate the next step uses.")
doc(Optimizer.state_dict, "opt:state_dict() -> {name = Tensor}\n" ..
  "Step counts (the optimizer's and, for Adam, each parameter's), learning rate and\n" ..
  "moment buffers, for genlab.save.")
doc(Optimizer.load_state_dict, "opt:load_state_dict(sd) -> opt\n" ..
  "Restore what state_dict gave, checking each buffer's shape.")
doc(SGD.step, "opt:step()\nUpdate every parameter that has a gradient.")
doc(Adam.step, "opt:step()\nUpdate every parameter that has a gradient.")
