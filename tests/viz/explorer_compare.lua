-- Two xwd shots of the VAE explorer's window (tests/viz/explorer_check.sh):
-- the decoded panel (panel 2 of 3, x 504..996, y 70..550 of the 1500x560
-- canvas) shows a different digit in each.  Prints the fraction of its
-- pixels that differ by more than 32 grey levels, and each shot's range.
local X = dofile("tests/viz/xwd.lua")
local a, b = X.grab(arg[1]), X.grab(arg[2])
local differ, n, lo, hi = 0, 0, {255, 255}, {0, 0}
for y = 70, 550 do
  for x = 504, 996 do
    local ga, gb = a.pixel(x, y), b.pixel(x, y)
    if math.abs(ga - gb) > 32 then differ = differ + 1 end
    lo = {math.min(lo[1], ga), math.min(lo[2], gb)}
    hi = {math.max(hi[1], ga), math.max(hi[2], gb)}
    n = n + 1
  end
end
print(("shots %dx%d, decoded panels differ in %.3f of their pixels, ranges %d..%d and %d..%d")
      :format(a.w, a.h, differ / n, lo[1], hi[1], lo[2], hi[2]))
