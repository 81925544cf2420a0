-- `make bench` (under Xvfb when available): how much fig:show() every
-- iteration slows a training-like loop (a 128x784 @ 784x500 matmul and an
-- update per step), with the figure of bench_viz.c.
local G = require "genlab"
local viz = G.viz
local steps = 1000
local x, w = G.randn(128, 784), G.randn(784, 500)
local imgs = G.rand(100, 28, 28)

local function loop(fig)
  local t0, y = G.time(), nil
  for step = 1, steps do
    y = x:matmul(w)
    w:mul_(0.9999)
    if fig then
      if step % 50 == 0 then fig:line({{y = {step, step / 2}, label = "train"}}, {panel = 2}) end
      fig:show()
    end
  end
  return G.time() - t0
end

local fig = viz.figure{title = "VAE samples", rows = 1, cols = 2, width = 2320, height = 1200}
fig:grid(imgs, {rows = 10, norm = "none"})
fig:line({{y = {1, 2, 3}, label = "train"}, {y = {2, 3, 4}, label = "test"}, {y = {1, 1, 1}, label = "KL"}}, {panel = 2})
loop(nil)
fig:show()                                -- the window opens outside the timing
local base, with = math.huge, math.huge
for _ = 1, 5 do                           -- interleaved: the machine's drift hits both
  base = math.min(base, loop(nil))
  with = math.min(with, loop(fig))
end
print("genlab bench: figures in a loop (" .. (viz.headless() and "headless, PNG files" or "window") .. ")")
print(("%d steps: %.3f s without show(), %.3f s with show() every step: %+.1f%%"):format(
  steps, base, with, (with / base - 1) * 100))
fig:close()
