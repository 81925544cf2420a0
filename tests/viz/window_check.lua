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

local shot = os.tmpname()
assert(os.execute("xwd -root -silent -out " .. shot), "xwd failed")
local f = assert(io.open(shot, "rb"))
local data = f:read("a")
f:close()
os.remove(shot)

-- XWD: a big-endian header of 25 uint32, the window name, the colour map,
-- then ZPixmap rows of bytes_per_line.
local h = {string.unpack(">" .. string.rep("I4", 25), data)}
local header_size, w, hgt = h[1], h[5], h[6]
local byte_order, bpp, bpl = h[8], h[12], h[13]
local rmask, gmask, bmask, ncolors = h[15], h[16], h[17], h[20]
assert(bpp == 24 or bpp == 32, "expected 24 or 32 bits per pixel, got " .. bpp)
local base, bytes = header_size + 12 * ncolors, bpp // 8
local fmt = (byte_order == 0 and "<I" or ">I") .. bytes
local function channel(v, mask)
  local shift = 0
  while mask & 1 == 0 do mask = mask >> 1; shift = shift + 1 end
  return (v >> shift) & mask
end
local magenta = 0
for y = 0, hgt - 1 do
  for x = 0, w - 1 do
    local v = string.unpack(fmt, data, base + y * bpl + bytes * x + 1)
    if channel(v, rmask) == 255 and channel(v, gmask) == 0 and channel(v, bmask) == 255 then
      magenta = magenta + 1
    end
  end
end
if os.getenv("SHOT_PNG") then                       -- for looking at it
  local img = G.zeros(hgt, w, 3)
  for y = 0, hgt - 1 do
    for x = 0, w - 1 do
      local v = string.unpack(fmt, data, base + y * bpl + bytes * x + 1)
      img[y + 1][x + 1] = G.tensor{channel(v, rmask), channel(v, gmask), channel(v, bmask)} / 255
    end
  end
  G.data.write_png(os.getenv("SHOT_PNG"), img)
end
print(("magenta %d, updates %d, secs %.3f"):format(magenta, updates, secs))
fig:close()
