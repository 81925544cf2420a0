-- Run under Xvfb at 800x600 by tests/lua/viz_spec.lua: a figure taller and
-- wider than the screen (1000x900) opens shrunk to fit, so its bottom-right
-- panel, a magenta tile, is on the screen whole; its PNG keeps the full
-- size.  Prints the magenta pixels, their box, the screen's and the PNG's size.
local G = require "genlab"
local viz = G.viz
assert(not viz.headless(), "expected a display")
local tile = G.zeros(1, 16, 16, 3)
tile[{{}, {}, {}, 1}] = 1
tile[{{}, {}, {}, 3}] = 1
local fig = viz.figure{title = "too tall", rows = 2, cols = 2, width = 1000, height = 900}
fig:grid(tile, {panel = 4, norm = "none", pad = 0})
local t0 = G.time()
while G.time() - t0 < 0.5 do fig:show() end
local X = dofile("tests/viz/xwd.lua")
local shot = X.grab()
if os.getenv("SHOT_PNG") then X.save_png(shot, os.getenv("SHOT_PNG")) end
local path = os.tmpname()                 -- a file by that name exists: the PNG goes beside it
os.remove(path)
path = path .. ".png"
fig:save(path)
local png = G.data.read_image(path)
os.remove(path)
local x0, y0, x1, y1 = X.box(shot, 255, 0, 255)
print(("magenta %d, box %d %d %d %d, screen %dx%d, png %dx%d"):format(X.count(shot, 255, 0, 255), x0 or -1,
      y0 or -1, x1 or -1, y1 or -1, shot.w, shot.h, png.shape[2], png.shape[1]))
fig:close()
