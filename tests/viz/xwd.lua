-- xwd.lua -- the screen as X sees it, for the window checks run under Xvfb:
--   local X = dofile("tests/viz/xwd.lua")
--   local shot = X.grab()                      -- {w =, h =, pixel = function(x, y) -> r, g, b}
--   X.count(shot, 255, 0, 255)                 -- pixels of exactly that colour
--   X.save_png(shot, "screen.png")             -- to look at it
local G = require "genlab"
local X = {}

-- XWD: a big-endian header of 25 uint32, the window name, the colour map,
-- then ZPixmap rows of bytes_per_line.
function X.grab(file)                   -- file: an .xwd already taken, else the screen now
  local path = file or os.tmpname()
  if not file then assert(os.execute("xwd -root -silent -out " .. path), "xwd failed") end
  local f = assert(io.open(path, "rb"))
  local data = f:read("a")
  f:close()
  if not file then os.remove(path) end
  local h = {string.unpack(">" .. string.rep("I4", 25), data)}
  local header_size, w, hgt = h[1], h[5], h[6]
  local byte_order, bpp, bpl = h[8], h[12], h[13]
  local masks, ncolors = {h[15], h[16], h[17]}, h[20]
  assert(bpp == 24 or bpp == 32, "expected 24 or 32 bits per pixel, got " .. bpp)
  local base, bytes = header_size + 12 * ncolors, bpp // 8
  local fmt = (byte_order == 0 and "<I" or ">I") .. bytes
  local shifts = {}
  for i, m in ipairs(masks) do
    local s = 0
    while m & 1 == 0 do m = m >> 1; s = s + 1 end
    shifts[i], masks[i] = s, m
  end
  local shot = {w = w, h = hgt}
  function shot.pixel(x, y)
    local v = string.unpack(fmt, data, base + y * bpl + bytes * x + 1)
    return (v >> shifts[1]) & masks[1], (v >> shifts[2]) & masks[2], (v >> shifts[3]) & masks[3]
  end
  return shot
end

function X.count(shot, r, g, b)
  local n = 0
  for y = 0, shot.h - 1 do
    for x = 0, shot.w - 1 do
      local pr, pg, pb = shot.pixel(x, y)
      if pr == r and pg == g and pb == b then n = n + 1 end
    end
  end
  return n
end

-- The bounding box (x0, y0, x1, y1) of the pixels of that colour, or nil.
function X.box(shot, r, g, b)
  local x0, y0, x1, y1
  for y = 0, shot.h - 1 do
    for x = 0, shot.w - 1 do
      local pr, pg, pb = shot.pixel(x, y)
      if pr == r and pg == g and pb == b then
        x0, y0 = math.min(x0 or x, x), math.min(y0 or y, y)
        x1, y1 = math.max(x1 or x, x), math.max(y1 or y, y)
      end
    end
  end
  return x0, y0, x1, y1
end

function X.save_png(shot, path)
  local img = G.zeros(shot.h, shot.w, 3)
  for y = 0, shot.h - 1 do
    for x = 0, shot.w - 1 do
      local r, g, b = shot.pixel(x, y)
      img[y + 1][x + 1] = G.tensor{r, g, b} / 255
    end
  end
  G.data.write_png(path, img)
end

return X
