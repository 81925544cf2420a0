-- Seed 004, an RBM's Gibbs chains to play with: 64 chains run while you
-- watch, each tile the visible means p(v = 1 | h) of one chain.  Two sliders
-- steer them as they run: k, the Gibbs steps between frames, and the
-- temperature T (the chains sample p(v, h)^(1/T): hot chains wander between
-- digits, cold ones freeze into one).  Click a chain to follow it: its last
-- 16 frames fill the strip beside the grid.  The curve is the chains' mean
-- free energy F(v) at T = 1, which falls as they find the model's modes.
-- space pauses, n steps one frame, r restarts the chains from random pixels.
--
-- The RBM is the one seed004_4_rbm.lua hands in (out/seed004_4_rbm/model_rbm_seed2025.pt)
-- when it has run, or --checkpoint=FILE (a .pt of {W, b, c}); otherwise one is trained here.
--
--   ./genlab scripts/seed004_rbm_chains.lua            live window
--   ./genlab scripts/seed004_rbm_chains.lua --smoke    headless: scripted clicks and slider moves, the test
local G = require "genlab"
local C = require "common"
local o = C.options({checkpoint = "", hidden = 128, k = 5, train = 3000, epochs = 2, frames = 30, seed = 2025},
                    {checkpoint = "", hidden = 128, k = 5, train = 60000, epochs = 3, frames = 200, seed = 2025},
                    {checkpoint = "", hidden = 128, k = 25, train = 60000, epochs = 20, frames = 200, seed = 2025},
                    "Seed 004: steer an RBM's Gibbs chains (k, temperature) and follow one")
local scripted = G.viz.headless()

-- ---- the RBM: the hand-in folder's, a given file, or trained now -------------------------

local rbm = G.models.RBM(784, o.hidden, {seed = o.seed})
local ckpt = o.checkpoint ~= "" and o.checkpoint or string.format("out/seed004_4_rbm/model_rbm_seed%d.pt", o.seed)
local fh = (o.checkpoint ~= "" or not o.smoke) and io.open(ckpt, "rb")     -- --smoke trains its own
if fh then
  fh:close()
  local sd = G.load_pt(ckpt)
  local W = type(sd) == "table" and sd.W
  if not (G.is_tensor(W) and W.ndim == 2 and W.shape[1] == 784 and G.is_tensor(sd.b) and G.is_tensor(sd.c)) then
    C.usage_error("--checkpoint: %s is not an RBM of MNIST's 784 pixels ({W (784, hidden), b, c}, as " ..
                  "seed004_4_rbm.lua saves it)", ckpt)
  end
  if C.given.hidden and C.given.hidden ~= W.shape[2] then
    C.usage_error("--hidden=%d: the checkpoint %s has %d hidden units", C.given.hidden, ckpt, W.shape[2])
  end
  rbm = G.models.RBM(784, W.shape[2], {seed = o.seed})
  rbm:load_state_dict(sd)
  print("model: " .. ckpt)
elseif o.checkpoint ~= "" then
  C.usage_error("--checkpoint: cannot open %s", o.checkpoint)
else
  print(string.format("model: no checkpoint at %s: training CD-%d, %d hidden units, %d epochs on %d images",
                      ckpt, o.k, o.hidden, o.epochs, o.train))
  local X = G.data.mnist{flat = true, binarize = true, limit = o.train}
  rbm:fit(X, {k = o.k, epochs = o.epochs, batch = 64, lr = 0.05, momentum = 0.5,
              on_epoch = function(e, h) print(string.format("  epoch %d: free energy %.2f", e, h.train_fe[e])) end})
end

-- ---- the figure and its controls -----------------------------------------------------------

local fig = G.viz.figure{title = "Seed 004: an RBM's Gibbs chains (click a chain to follow it; r restarts)",
                         rows = 1, cols = 3, width = 1500, height = 600, name = "rbm_chains"}
local k_slider = fig:slider{name = "k (Gibbs steps a frame)", min = 1, max = 50, value = o.k}
local t_slider = fig:slider{name = "temperature T", min = 0.5, max = 3, value = 1}
local gen = G.Generator(o.seed)
local n = 64
local V, PV, followed, trail, fe, frame

local function restart()
  V = G.rand(n, 784, {generator = gen}):lt(0.5):to(rbm.dtype)
  PV, trail, fe, frame = V, {}, {}, 0
end

local function draw()
  local k, T = math.floor(k_slider:value() + 0.5), t_slider:value()
  local which = followed and string.format("; following row %d, column %d", (followed - 1) // 8 + 1,
                                           (followed - 1) % 8 + 1) or ""
  fig:grid(PV, {panel = 1, rows = 8, cols = 8, norm = "none",
                title = string.format("64 chains, frame %d: k = %d, T = %.2f%s", frame, k, T, which)})
  if followed and #trail > 0 then
    fig:grid(G.stack(trail), {panel = 2, rows = 4, cols = 4, norm = "none",
                              title = string.format("chain %d, its last %d frames (oldest first)", followed, #trail)})
  end
  if #fe > 1 then
    fig:line({y = G.tensor(fe), label = "mean F(v) of the chains"},
             {panel = 3, title = "the chains' mean free energy at T = 1", xlabel = "frame", ylabel = "F(v)"})
  end
end

-- one frame: k Gibbs steps at the slider's temperature
local function step()
  local k, T = math.floor(k_slider:value() + 0.5), t_slider:value()
  V, PV = rbm:gibbs(V, k, {generator = gen, temperature = T})
  frame = frame + 1
  fe[#fe + 1] = rbm:free_energy(V):mean():item()
  if followed then
    trail[#trail + 1] = PV[followed]:clone()
    if #trail > 16 then table.remove(trail, 1) end
  end
end

fig:on("click", function(ev)
  if ev.panel == 1 and ev.tile then
    followed, trail = ev.tile, {}
    draw()
  end
end)
fig:key("r", function() restart(); draw() end)

restart()
draw()

-- ---- scripted (headless) or live ---------------------------------------------------------------

local out = {}
local function frames(count) for _ = 1, count do step(); draw(); fig:show() end end
if scripted then                       -- follow chain 10, run cold, then hot
  local px, py = fig:pixel(1, 14, 14, 10)                 -- the centre of tile 10
  fig:_event{kind = "press", x = px, y = py}
  G.viz.pump()
  out.followed = followed
  frames(o.frames)
  out.cold = {fe = fe[#fe], T = t_slider:value()}
  -- how decided the pixels are: the mean |p(v = 1 | h) - 1/2|, 1/2 for black-and-white digits
  out.cold.decided = (PV - 0.5):abs():mean():item()
  print("figure at T = 1: " .. fig:save(G.viz.outdir() .. "/rbm_chains_T1.png"))
  t_slider:set(3)
  frames(o.frames)
  out.hot = {fe = fe[#fe], T = t_slider:value(), decided = (PV - 0.5):abs():mean():item()}
  out.trail = #trail
  print(string.format("followed chain %d: %d frames in its trail", out.followed or -1, out.trail))
  print(string.format("T = %.1f: mean free energy %.2f, pixels decided %.3f", out.cold.T, out.cold.fe, out.cold.decided))
  print(string.format("T = %.1f: mean free energy %.2f, pixels decided %.3f", out.hot.T, out.hot.fe, out.hot.decided))
  print("figure: " .. fig:save())
else
  print("k and T steer the chains; click one to follow " ..
    "it; r restarts; space pauses, n steps; q closes")
  fig:show()                           -- opens the window: is_open() is true from here on
  while fig:is_open() do frames(1) end
end
return C.finish(out)
