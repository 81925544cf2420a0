-- Lecture 3, interactive: EM for a Gaussian mixture that the class plays
-- with.  Click to add points (shift-click adds a small cluster), drag a
-- cluster of points to move it, + / - on the K slider, "re-init" (or r)
-- starts EM afresh from random responsibilities.  EM runs by itself; space
-- pauses, and n then runs one half-step at a time: an E step (the points
-- recoloured by their responsibilities) or an M step (the ellipses move).
-- The log-likelihood curve keeps growing, and never goes down within a run.
--
--   ./genlab scripts/lecture3_em_interactive.lua          live window
--   ./genlab scripts/lecture3_em_interactive.lua --smoke  scripted clicks, headless: the test
local G = require "genlab"
local C = require "common"
local o = C.options({K = 3, n = 300, seed = 3, steps = 60, delay = 0.08},
                    {K = 3, n = 300, seed = 3, steps = 60, delay = 0.08},
                    {K = 3, n = 300, seed = 3, steps = 60, delay = 0.08},
                    "Lecture 3, interactive: click points in, drag them, change K, watch EM")
local scripted = G.viz.headless()       -- no window: the class's clicks are scripted (the test)
local gen = G.Generator(o.seed)
local f64 = {dtype = "float64"}

-- the starting points: three blobs (the class adds more)
local X = G.cat({G.randn(o.n // 3, 2, {dtype = "float64", generator = gen}) * 0.6 + G.tensor({-3, 0}, f64),
                 G.randn(o.n // 3, 2, {dtype = "float64", generator = gen}) * 0.8 + G.tensor({2, 2}, f64),
                 G.randn(o.n - 2 * (o.n // 3), 2, {dtype = "float64", generator = gen}) * 0.5 + G.tensor({2, -2.5}, f64)}, 1)

local palette = G.tensor({{0.12, 0.47, 0.71}, {1.0, 0.5, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
                          {0.58, 0.4, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.5, 0.5, 0.5}}, f64)

local fig = G.viz.figure{title = "Lecture 3: EM, interactive (click: add a point; drag: move points; space, n, r)",
                         rows = 1, cols = 2, width = 1200, height = 560, name = "em_interactive"}
local K = fig:slider{name = "K (components)", min = 1, max = 8, value = o.K}

-- ---- EM in half-steps ---------------------------------------------------------------

local state = {}                    -- gmm, resp, ll (this run's curve), phase ("E" or "M")

local function m_step(resp)
  local Nk = resp:sum(1) + 1e-9
  local means = resp:t():matmul(X) / Nk:unsqueeze(2)
  local covs = {}
  for k = 1, resp.shape[2] do
    local D = X - means[k]
    local S = (D * resp[{{}, k}]:unsqueeze(2)):t():matmul(D) / Nk[k]
    covs[k] = S + G.eye(2, f64) * 1e-3                 -- a floor: a component on one point
  end
  return G.models.GMM(Nk / Nk:sum(), means, G.stack(covs))
end

local function restart()
  local k = math.floor(K:value() + 0.5)
  local r = G.rand(X.shape[1], k, {dtype = "float64", generator = gen}) + 0.1
  state = {resp = r / r:sum(2, true), ll = {}, phase = "M", k = k}
end

local function half_step()
  if math.floor(K:value() + 0.5) ~= state.k then restart() end
  if state.phase == "M" then
    state.gmm = m_step(state.resp)
    state.ll[#state.ll + 1] = state.gmm:log_prob(X):mean():item()
    state.phase = "E"
  else
    state.resp = state.gmm:responsibilities(X)
    state.phase = "M"
  end
end

-- ---- drawing ---------------------------------------------------------------------------

local ellipses = C.ellipses

local function draw()
  local colors = state.resp:matmul(palette:narrow(1, 1, state.resp.shape[2]))
  local xy, col, sizes = X, colors, G.full({X.shape[1]}, 4)
  if state.gmm then
    local e = ellipses(state.gmm)
    xy = G.cat({X, e}, 1)
    col = G.cat({colors, G.zeros(e.shape[1], 3, f64)}, 1)
    sizes = G.cat({sizes, G.full({e.shape[1]}, 1.5)})
  end
  fig:scatter(xy[{{}, 1}], xy[{{}, 2}], {panel = 1, colors = col, sizes = sizes, xlim = {-7, 7}, ylim = {-6, 6},
              title = string.format("K = %d, %d points; next: %s step", state.k, X.shape[1], state.phase)})
  if #state.ll > 0 then
    fig:line({y = G.tensor(state.ll), label = "log-likelihood per point"},
             {panel = 2, title = "this run's log-likelihood (never decreases)", xlabel = "M step"})
  end
end

-- ---- the class's input -------------------------------------------------------------------

local drag                          -- the points being dragged and where the drag is
fig:on("click", function(ev)
  if ev.panel ~= 1 or not ev.inside then return end
  if ev.nearest then                -- on a point: start dragging its neighbourhood
    local d = ((X - G.tensor({ev.x, ev.y}, f64)) ^ 2):sum(2)
    drag = {mask = d:lt(1.0):double():unsqueeze(2), x = ev.x, y = ev.y}
    return
  end
  local new = G.tensor({{ev.x, ev.y}}, f64)
  if ev.shift then new = G.randn(20, 2, {dtype = "float64", generator = gen}) * 0.4 + new end
  X = G.cat({X, new}, 1)
  state.resp = G.cat({state.resp, G.full({new.shape[1], state.resp.shape[2]}, 1 / state.resp.shape[2], f64)}, 1)
  state.ll, state.phase = {}, "M"   -- new data: the curve starts again (EM is monotone for fixed data)
  draw()
end)
fig:on("drag", function(ev)
  if not drag or not ev.x then return end
  X = X + drag.mask * G.tensor({ev.x - drag.x, ev.y - drag.y}, f64)
  drag.x, drag.y = ev.x, ev.y
  state.ll, state.phase = {}, "M"
  draw()
end)
fig:on("release", function() drag = nil end)
local function reinit() restart(); draw() end
fig:button("re-init (r)", reinit)
fig:key("r", reinit)

-- ---- the loop ------------------------------------------------------------------------------

restart()
draw()
local decreases, step = 0, 0
local function click(x, y, shift)
  local px, py = fig:pixel(1, x, y)
  fig:_event{kind = "press", x = px, y = py, shift = shift}
end
if scripted then                     -- what a class would do: three points, then a cluster
  for i = 1, 3 do click(5, 4 + i * 0.3) end
  click(-5, -4, true)
end
-- EM runs while the window is open (headless: o.steps half-steps); each
-- half-step is drawn, and space / n hold it or step it by hand
while (scripted and step < o.steps) or (not scripted and (step == 0 or fig:is_open())) do
  step = step + 1
  half_step()
  local ll = state.ll
  if state.phase == "E" and #ll > 1 and ll[#ll] < ll[#ll - 1] - 1e-9 then decreases = decreases + 1 end
  draw()
  fig:show()
  if not scripted then G.viz.pump(o.delay) end
end
draw()
print(string.format("EM: K = %d, %d points, %d M steps in this run, log-likelihood %.4f -> %.4f per point",
                    state.k, X.shape[1], #state.ll, state.ll[1], state.ll[#state.ll]))
print(string.format("decreases between M steps: %d (EM is monotone)", decreases))
print("figure: " .. (G.viz.headless() and fig:save() or "window"))
return {X = X, state = state, decreases = decreases}
