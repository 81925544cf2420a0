-- Run under Xvfb by tests/lua/viz_spec.lua: open a figure, update it in a
-- loop as a training script would, grab the screen with xwd and count the
-- pixels of the figure's magenta tile.  Prints "magenta N, updates U, secs S".
local G = require "genlab"
local viz = G.viz
assert(not viz.headless(), "expected a display")

local tile = G.zeros(1, 16, 16, 3)
tile[{{}, {}, {}, 1}] = 1                       -- red
tile[{{}, {}, {}, 3}] = 1                       -- + blue = magenta
local fig = viz.figure{title = "window check", rows = 1, cols = 2, width = 600, height = 300}
fig:grid(tile, {norm = "none", pad = 0})

local t0, updates = G.time(), 0
for step = 1, 200 do
  local work = G.randn(64, 64):matmul(G.randn(64, 64))   -- a training step
  fig:line({y = G.arange(step):totable()}, {panel = 2, title = "step " .. step})
  fig:show()
  updates = updates + 1
end
local secs = G.time() - t0
local t1 = G.time()
while G.time() - t1 < 0.3 do fig:show() end           -- let the last frame land

local X = dofile("tests/viz/xwd.lua")
local shot = X.grab()
local magenta = X.count(shot, 255, 0, 255)
if os.getenv("SHOT_PNG") then X.save_png(shot, os.getenv("SHOT_PNG")) end   -- for looking at it
print(("magenta %d, updates %d, secs %.3f"):format(magenta, updates, secs))
fig:close()
