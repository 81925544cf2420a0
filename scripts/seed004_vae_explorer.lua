-- Seed 004, the VAE's latent space to play with: the test images' means of
-- q(z | x) as a scatter, coloured by digit, beside the decoder's image of
-- the point under the mouse, drawn as the mouse moves.  A click pins the
-- decoded digit, with its z, to the strip on the right (shift-click clears
-- it).  For N_z > 2 two sliders pick the plane: the latent dimensions on the
-- scatter's axes, every other one at 0, the prior's mean.
--
-- The model is VAE1 (or --model=cnn, VAE2) from seed004_4_vae.lua's hand-in
-- folder when that script has run (out/seed004_4_vae/model_vae_nz2_seed2025.ckpt),
-- or --checkpoint=FILE; otherwise it is trained here first.
--
--   ./genlab scripts/seed004_vae_explorer.lua              live window (trains ~10 s if no checkpoint)
--   ./genlab scripts/seed004_vae_explorer.lua --nz=20      a plane of a 20-dimensional code
--   ./genlab scripts/seed004_vae_explorer.lua --smoke      headless: scripted mouse moves, the test
local G = require "genlab"
local C = require "common"
local V = G.vae
local o = C.options({model = "mlp", nz = 2, checkpoint = "", train = 2000, test = 500, epochs = 1, seed = 2025},
                    {model = "mlp", nz = 2, checkpoint = "", train = 60000, test = 10000, epochs = 2, seed = 2025},
                    {model = "mlp", nz = 2, checkpoint = "", train = 60000, test = 10000, epochs = 30, seed = 2025},
                    "Seed 004: explore a VAE's latent space with the mouse",
                    {model = {"mlp", "cnn"}})
local scripted = G.viz.headless()      -- no window: the mouse is scripted (the test)
if o.nz < 2 then error("--nz must be at least 2: the scatter shows a plane of the code", 0) end

-- ---- the model: the hand-in folder's, a given file, or trained now -----------------------

G.manual_seed(o.seed)
local m = (o.model == "mlp" and V.MLP or V.CNN){nz = o.nz, seed = o.seed}
local Xte, yte = G.data.mnist{flat = true, split = "test", limit = o.test}
local ckpt = o.checkpoint ~= "" and o.checkpoint
             or string.format("out/seed004_4_vae/%s_nz%d_seed%d.ckpt", o.model == "mlp" and "model_vae" or "model_vae2",
                              o.nz, o.seed)
local fh = (o.checkpoint ~= "" or not o.smoke) and io.open(ckpt, "rb")   -- --smoke trains its own
if fh then
  fh:close()
  local ok, err = pcall(function() m:load_state_dict(G.load(ckpt)) end)
  if not ok then          -- another model's file, or not a checkpoint: say which model it must be
    C.usage_error("--checkpoint: %s is not a %s of N_z = %d (--model, --nz): %s", ckpt,
                  o.model == "mlp" and "VAE1" or "VAE2", o.nz, tostring(err):gsub("^[^\n]-:%d+: ", ""))
  end
  print("model: " .. ckpt)
elseif o.checkpoint ~= "" then
  C.usage_error("--checkpoint: cannot open %s", o.checkpoint)
else
  print(string.format("model: no checkpoint at %s: training %s, N_z = %d, %d epochs on %d images",
                      ckpt, o.model == "mlp" and "VAE1" or "VAE2", o.nz, o.epochs, o.train))
  V.fit(m, G.data.mnist{flat = true, limit = o.train}, Xte, {epochs = o.epochs, batch = 64, lr = 2e-3, seed = o.seed,
        on_epoch = function(e, h) print(string.format("  epoch %d: test reconstruction %.3f, KL %.3f", e, h.rec[e], h.kl[e])) end})
end
local mu = V.means(m, Xte)

-- ---- the figure ------------------------------------------------------------------------------

local fig = G.viz.figure{title = string.format("Seed 004: the latent space of %s, N_z = %d (hover: decode; click: pin)",
                                               o.model == "mlp" and "VAE1" or "VAE2", o.nz),
                         rows = 1, cols = 3, width = 1500, height = 560, name = "vae_explorer"}
local axis_a, axis_b
if o.nz > 2 then
  axis_a = fig:slider{name = "x axis: z dimension", min = 1, max = o.nz, value = 1}
  axis_b = fig:slider{name = "y axis: z dimension", min = 1, max = o.nz, value = 2}
end
local plane = {1, 2}
local function dims()
  if not axis_a then return 1, 2 end
  return math.floor(axis_a:value() + 0.5), math.floor(axis_b:value() + 0.5)
end

local lim = 3.5
local function draw_scatter()
  fig:scatter(mu:select(2, plane[1]), mu:select(2, plane[2]),
              {panel = 1, colors = yte + 1, sizes = 2, xlim = {-lim, lim}, ylim = {-lim, lim},
               legend = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
               title = "test means of q(z|x), colour = digit", xlabel = "z" .. plane[1], ylabel = "z" .. plane[2]})
end

local decodes, decode_secs, shown_z = 0, 0, nil
local function decode(x, y)
  local t0 = G.time()
  local z = G.zeros(1, o.nz, {dtype = m:dtype()})
  z[{1, plane[1]}] = x
  z[{1, plane[2]}] = y
  local img = G.no_grad(function() return m:decode(z) end):reshape(1, 28, 28)
  fig:grid(img, {panel = 2, norm = "none", title = string.format("decoded at z%d = %.2f, z%d = %.2f", plane[1], x, plane[2], y)})
  decodes, decode_secs, shown_z = decodes + 1, decode_secs + G.time() - t0, {x, y}
  return img
end

local pins, captions = {}, {}
local function draw_pins()
  if #pins == 0 then return fig:grid(G.zeros(1, 28, 28), {panel = 3, norm = "none", title = "pinned (click the scatter)"}) end
  fig:grid(G.cat(pins, 1), {panel = 3, norm = "none", rows = 4, cols = 4, captions = captions,
                            title = string.format("%d pinned (shift-click clears)", #pins)})
end

fig:on("hover", function(ev) if ev.panel == 1 and ev.inside then decode(ev.x, ev.y) end end)
fig:on("click", function(ev)
  if ev.panel ~= 1 or not ev.inside then return end
  if ev.shift then pins, captions = {}, {}
  else
    if #pins == 16 then table.remove(pins, 1); table.remove(captions, 1) end
    pins[#pins + 1] = decode(ev.x, ev.y)
    captions[#captions + 1] = string.format("%.1f, %.1f", ev.x, ev.y)
  end
  draw_pins()
end)

draw_scatter()
decode(0, 0)
draw_pins()

-- ---- scripted (headless) or live -------------------------------------------------------------

local function move(x, y, kind, shift)
  local px, py = fig:pixel(1, x, y)
  fig:_event{kind = kind or "move", x = px, y = py, shift = shift}
  G.viz.pump()
end

local out = {}
if scripted then                       -- the mouse across the plane's diagonal, two pins
  for i = 0, 60 do
    local t = -2 + 4 * i / 60
    move(t, t)
  end
  move(-1.5, -1.5, "press")
  move(1.5, 1.5, "press")
  out.first, out.second = pins[1], pins[2]
  out.difference = (pins[1] - pins[2]):abs():mean():item()
  print(string.format("pinned z = (-1.5, -1.5) and (1.5, 1.5): mean |difference| of the decoded digits %.3f",
                      out.difference))
  print("figure: " .. fig:save())
else
  print("move the mouse over the scatter; click pins a digit; q closes the window")
  fig:show()
  while fig:is_open() do
    local a, b = dims()
    if a ~= plane[1] or b ~= plane[2] then
      plane = {a, b}
      draw_scatter()
      decode(shown_z[1], shown_z[2])
    end
    G.viz.pump(0.01)
  end
end
out.decodes, out.rate = decodes, decodes / math.max(decode_secs, 1e-9)
print(string.format("decodes: %d, %.0f per second (decoder and panel update, without the window's drawing)",
                    decodes, out.rate))
return C.finish(out)
