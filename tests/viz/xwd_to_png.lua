-- An xwd shot as a PNG at half size (the mean of each 2x2 block), for the
-- README's screenshots (tests/viz/screenshots.sh):  genlab xwd_to_png.lua in.xwd out.png
local G = require "genlab"
local X = dofile("tests/viz/xwd.lua")
local shot = X.grab(arg[1])
local w, h = shot.w - shot.w % 2, shot.h - shot.h % 2
local t = {}
for y = 0, h - 1 do
  for x = 0, w - 1 do
    local r, g, b = shot.pixel(x, y)
    t[#t + 1] = r; t[#t + 1] = g; t[#t + 1] = b
  end
end
local img = G.tensor(t):reshape(h // 2, 2, w // 2, 2, 3):mean(4):mean(2) / 255
G.data.write_png(arg[2], img)
print(arg[2], img.shape[1], img.shape[2])
